// Backups of the embedded database while shudi runs. PGlite is one connection owned by the running process, so only
// that process can copy it: it listens on a local socket, DATA_DIR/shudi.sock (mode 0600: whoever may read the data
// directory may take a backup of it), and `npm run backup` asks there. The process answers with a consistent copy of
// its data directory (db.snapshot: taken while no transaction can run) and the row counts read in the same instant.
// The archive itself (uploads, manifest) is assembled by scripts/backup.ts.
import { createServer, createConnection, type Server, type Socket } from 'node:net';
import { chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { Db, Queryable } from './db.js';
import type { Logger } from './log.js';

/** Tables whose row counts go into the manifest: a restore is checked against them. */
export const COUNTED_TABLES = ['readings', 'readings_hourly', 'alarms', 'incidents', 'incident_events', 'attachments', 'devices', 'villages', 'users'] as const;

export type RowCounts = Record<string, number>;

export interface Snapshot {
	/** The database server's clock at the snapshot point. */
	snapshot_at: string;
	/** Highest migration applied in the copy. */
	schema_version: number;
	counts: RowCounts;
}

/** What every table in COUNTED_TABLES holds, read through `q` (one snapshot: a transaction or the embedded lock). */
export async function countRows(q: Queryable): Promise<Snapshot> {
	const present = await q.query<{ name: string }>(
		"SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND tablename = ANY($1::text[])",
		[[...COUNTED_TABLES]]
	);
	const names = COUNTED_TABLES.filter((t) => present.rows.some((r) => r.name === t));
	const counts: RowCounts = {};
	if (names.length) {
		// Table names come from the constant list above, never from input.
		const r = await q.query<Record<string, number>>(`SELECT ${names.map((t) => `(SELECT count(*)::int8 FROM ${t}) AS ${t}`).join(', ')}`);
		for (const t of names) counts[t] = Number(r.rows[0][t]);
	}
	const meta = await q.query<{ now: Date; version: number | null }>('SELECT now() AS now, (SELECT max(version) FROM schema_migrations) AS version');
	return { snapshot_at: new Date(meta.rows[0].now).toISOString(), schema_version: Number(meta.rows[0].version ?? 0), counts };
}

/** A gzip tarball of the embedded data directory and the counts read at the same instant. */
export async function snapshotEmbedded(db: Db): Promise<{ snapshot: Snapshot; pgdata: Buffer; lockedMs: number }> {
	if (!db.snapshot) throw new Error('this database cannot copy its data directory (not the embedded PGlite)');
	const t0 = performance.now();
	const { result, tar } = await db.snapshot((q) => countRows(q));
	const lockedMs = performance.now() - t0;
	// Compressed outside the lock, in libuv's thread pool: ingest resumes while this runs.
	const pgdata = await promisify(gzip)(Buffer.from(await tar.arrayBuffer()));
	return { snapshot: result, pgdata, lockedMs };
}

export function socketPath(dataDir: string): string {
	return join(dataDir, 'shudi.sock');
}

// sockaddr_un.sun_path holds 108 bytes on Linux, 104 on macOS.
const MAX_SOCKET_PATH = 100;
const MAX_REQUEST = 1024;

interface Header {
	ok: boolean;
	error?: string;
	snapshot?: Snapshot;
	bytes?: number;
}

/**
 * Serves live backups on DATA_DIR/shudi.sock. One request per connection: the line `{"op":"backup"}`; the answer is
 * one JSON line (ok, snapshot, bytes) followed by that many bytes of the gzipped data directory. Returns the stop.
 */
export async function serveBackups(dataDir: string, db: Db, log: Logger): Promise<() => Promise<void>> {
	const path = socketPath(dataDir);
	if (!db.snapshot) return async () => {};
	if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
		log.warn({ path }, 'data directory path too long for a local socket: live backups are off (move DATA_DIR to a shorter path)');
		return async () => {};
	}
	// A socket left by a process that died: the pid file (runtime.ts) already says whether one runs.
	rmSync(path, { force: true });
	let busy = false;
	const server: Server = createServer((sock) => {
		let buf = '';
		sock.setEncoding('utf8');
		sock.on('error', () => sock.destroy());
		sock.on('data', (chunk: string) => {
			buf += chunk;
			if (buf.length > MAX_REQUEST) return answer(sock, { ok: false, error: 'request too long' });
			const nl = buf.indexOf('\n');
			if (nl < 0) return;
			sock.removeAllListeners('data');
			let op: unknown;
			try {
				op = (JSON.parse(buf.slice(0, nl)) as { op?: unknown }).op;
			} catch {
				op = undefined;
			}
			if (op !== 'backup') return answer(sock, { ok: false, error: 'unknown request' });
			if (busy) return answer(sock, { ok: false, error: '另一个备份正在进行 another backup is running' });
			busy = true;
			snapshotEmbedded(db)
				.then(({ snapshot, pgdata, lockedMs }) => {
					log.info({ bytes: pgdata.length, lockedMs: Math.round(lockedMs), counts: snapshot.counts }, 'backup snapshot taken');
					answer(sock, { ok: true, snapshot, bytes: pgdata.length }, pgdata);
				})
				.catch((err: Error) => {
					log.error({ err: err.message }, 'backup snapshot failed');
					answer(sock, { ok: false, error: err.message });
				})
				.finally(() => (busy = false));
		});
	});
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(path, () => {
			server.off('error', reject);
			resolve();
		});
	});
	chmodSync(path, 0o600);
	log.debug({ path }, 'live backups served on a local socket');
	return () =>
		new Promise<void>((resolve) => {
			server.close(() => resolve());
			rmSync(path, { force: true });
		});
}

function answer(sock: Socket, header: Header, body?: Buffer): void {
	sock.write(JSON.stringify(header) + '\n');
	if (body) sock.write(body);
	sock.end();
}

/** Asks the running process for a snapshot (the client side of serveBackups). */
export function requestSnapshot(path: string, timeoutMs = 30 * 60_000): Promise<{ snapshot: Snapshot; pgdata: Buffer }> {
	return new Promise((resolve, reject) => {
		const sock = createConnection(path);
		const chunks: Buffer[] = [];
		sock.setTimeout(timeoutMs, () => sock.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
		sock.on('connect', () => sock.write(JSON.stringify({ op: 'backup' }) + '\n'));
		sock.on('data', (c: Buffer) => chunks.push(c));
		sock.on('error', reject);
		sock.on('end', () => {
			const all = Buffer.concat(chunks);
			const nl = all.indexOf(0x0a);
			if (nl < 0) return reject(new Error('the running shudi closed the connection without an answer'));
			const header = JSON.parse(all.subarray(0, nl).toString('utf8')) as Header;
			if (!header.ok || !header.snapshot) return reject(new Error(header.error ?? 'refused'));
			const pgdata = all.subarray(nl + 1);
			if (pgdata.length !== header.bytes) return reject(new Error(`incomplete answer: ${pgdata.length} of ${header.bytes} bytes`));
			resolve({ snapshot: header.snapshot, pgdata });
		});
	});
}
