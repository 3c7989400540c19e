// `npm run backup [-- <file.tar>]`: one archive holding the database and the uploaded photos, taken while shudi runs.
//   manifest.json        what the archive holds, the snapshot point and the row counts at it (restore checks them)
//   database.pgdata.tgz  embedded: a copy of DATA_DIR/pgdata, made by the running process (src/lib/server/platform/backup.ts)
//                        or, when shudi is stopped, by this command
//   database.pgdump      PostgreSQL: pg_dump's custom format, from one REPEATABLE READ snapshot shared with the counts
//   uploads/             DATA_DIR/uploads, copied after the snapshot (photos are written before the rows naming them,
//                        so every photo the database names is there)
// The archive appears under its name only once complete (written as <file>.partial, then renamed).
import { parseArgs } from 'node:util';
import { chmodSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import pg from 'pg';
import * as tar from 'tar';
import { config } from '../src/lib/server/platform/config.js';
import { openDb } from '../src/lib/server/platform/db.js';
import { countRows, requestSnapshot, snapshotEmbedded, socketPath, type Snapshot } from '../src/lib/server/platform/backup.js';
import { fail } from './cli-db.js';
import { BACKUP_FORMAT, runPgTool, type Manifest } from './lib/backup-format.js';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { out: { type: 'string', short: 'o' } } });
const c = config();
const dataDir = resolve(c.DATA_DIR);
const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
const out = resolve(values.out ?? positionals[0] ?? `shudi-backup-${stamp}.tar`);
if (existsSync(out)) fail(`${out} 已存在，不覆盖 already exists; name another file`);

const work = mkdtempSync(join(dirname(out), `.${basename(out)}.`));
const partial = out + '.partial';
try {
	const t0 = performance.now();
	const { kind, snapshot, file, timescale } = c.DATABASE_URL ? await dumpPostgres(c.DATABASE_URL) : await dumpEmbedded();
	const uploads = join(dataDir, 'uploads');
	const manifest: Manifest = {
		format: BACKUP_FORMAT,
		version: 1,
		kind,
		created_at: new Date().toISOString(),
		...snapshot,
		database_file: file,
		timescale,
		uploads: existsSync(uploads)
	};
	writeFileSync(join(work, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
	// Uncompressed outer tar: the database part is compressed already and photos do not shrink.
	await tar.c({ file: partial, cwd: work, portable: true }, ['manifest.json', file]);
	if (manifest.uploads) await tar.r({ file: partial, cwd: dataDir, portable: true }, ['uploads']);
	// It holds password hashes, tokens' hashes and people's phone numbers: readable by its owner only.
	chmodSync(partial, 0o600);
	renameSync(partial, out);
	const s = Math.round(performance.now() - t0) / 1000;
	console.log(`备份完成 backup written: ${out}`);
	console.log(`  ${kind} database at ${snapshot.snapshot_at} (schema ${snapshot.schema_version}), ${fmtCounts(snapshot)}; ${s} s`);
	console.log(`  恢复 restore: npm run restore -- ${out}`);
} catch (err) {
	rmSync(partial, { force: true });
	rmSync(work, { recursive: true, force: true });
	fail(`备份失败 backup failed: ${(err as Error).message}`);
}
rmSync(work, { recursive: true, force: true });

function fmtCounts(s: Snapshot): string {
	return Object.entries(s.counts)
		.map(([t, n]) => `${n} ${t}`)
		.join(', ');
}

async function dumpEmbedded(): Promise<{ kind: 'pglite'; snapshot: Snapshot; file: string; timescale: false }> {
	const file = 'database.pgdata.tgz';
	const pgdata = join(dataDir, 'pgdata');
	if (!existsSync(pgdata)) throw new Error(`${pgdata} 不存在 does not exist: nothing to back up (is DATA_DIR right?)`);
	const pid = runningPid();
	if (pid !== null) {
		// The running process owns the database: it makes the copy and sends it over its local socket.
		const sock = socketPath(dataDir);
		if (!existsSync(sock))
			throw new Error(`shudi (pid ${pid}) is running but offers no backup socket at ${sock}: restart it with this version, or stop it and run the backup again`);
		const r = await requestSnapshot(sock);
		writeFileSync(join(work, file), r.pgdata);
		return { kind: 'pglite', snapshot: r.snapshot, file, timescale: false };
	}
	const db = await openDb({ dataDir: pgdata });
	try {
		const r = await snapshotEmbedded(db);
		writeFileSync(join(work, file), r.pgdata);
		return { kind: 'pglite', snapshot: r.snapshot, file, timescale: false };
	} finally {
		await db.close();
	}
}

function runningPid(): number | null {
	const lock = join(dataDir, 'shudi.pid');
	if (!existsSync(lock)) return null;
	const pid = Number(readFileSync(lock, 'utf8'));
	try {
		process.kill(pid, 0);
		return pid;
	} catch {
		return null;
	}
}

async function dumpPostgres(url: string): Promise<{ kind: 'postgres'; snapshot: Snapshot; file: string; timescale: boolean }> {
	const file = 'database.pgdump';
	const client = new pg.Client({ connectionString: url });
	await client.connect();
	try {
		// The counts and pg_dump read one exported snapshot: the manifest describes exactly what the dump holds.
		await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
		const id = (await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id')).rows[0].id;
		const snapshot = await countRows({
			query: async <T>(text: string, params?: unknown[]) => {
				const r = await client.query(text, params as unknown[]);
				return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
			}
		});
		const ts = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'timescaledb'");
		await runPgTool('pg_dump', ['--format=custom', `--snapshot=${id}`, `--file=${join(work, file)}`], url);
		await client.query('COMMIT');
		return { kind: 'postgres', snapshot, file, timescale: ts.rows[0].n > 0 };
	} finally {
		await client.end();
	}
}
