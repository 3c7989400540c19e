// The one database module (node-postgres "project structure" guide): every query goes through here, so this is the
// one place that logs query text and duration (never parameters) and owns transactions.
// Two back ends behind one pg-style API: a real PostgreSQL/TimescaleDB through `pg`, or the embedded PGlite
// (PostgreSQL compiled to WASM) persisted under DATA_DIR, so `npm start` needs nothing but Node.js.
import pg from 'pg';
import { from as copyFromStdin } from 'pg-copy-streams';
import { mkdirSync } from 'node:fs';
import type { Logger } from './log.js';

export interface QueryResult<T> {
	rows: T[];
	rowCount: number;
}

export interface Queryable {
	query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<QueryResult<T>>;
}

export interface TxQueryable extends Queryable {
	/** Runs a script of several statements inside the transaction (migrations). */
	exec(sql: string): Promise<void>;
	/**
	 * Runs `COPY … FROM STDIN` with `data` as its whole input (a real PostgreSQL only: PGlite breaks on COPY FROM
	 * STDIN, so it has no copyFrom and callers keep a statement of their own for it).
	 */
	copyFrom?(sql: string, data: Buffer): Promise<void>;
}

export interface Db extends Queryable {
	readonly kind: 'postgres' | 'pglite';
	/** True when the timescaledb extension is installed in this database. */
	timescale: boolean;
	/** Runs fn inside BEGIN/COMMIT; ROLLBACK on any throw (the connection is always released). */
	tx<T>(fn: (q: TxQueryable) => Promise<T>): Promise<T>;
	/** Runs a script of several statements (migrations). */
	exec(sql: string): Promise<void>;
	/** Cheap liveness probe for /api/v1/health. */
	ping(): Promise<boolean>;
	/**
	 * Embedded only: runs `during` and then copies the whole data directory as an uncompressed tarball, both while no
	 * other statement or transaction can run, so the copy and what `during` read are one consistent state (backup.ts).
	 */
	snapshot?<T>(during: (q: Queryable) => Promise<T>): Promise<{ result: T; tar: Blob }>;
	close(): Promise<void>;
}

// pg returns int8 and numeric as strings to avoid precision loss. Our int8 columns are counts and ids far below 2^53
// and numeric is unused, so parse both as numbers: the same shapes as the embedded back end gives.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));

const SLOW_MS = 500;

function timed<T>(log: Logger | undefined, text: string, run: () => Promise<T>): Promise<T> {
	if (!log) return run();
	const t0 = performance.now();
	return run().then(
		(r) => {
			const ms = performance.now() - t0;
			if (ms > SLOW_MS) log.warn({ ms: Math.round(ms), sql: text.slice(0, 200) }, 'slow query');
			else if (log.isLevelEnabled('trace')) log.trace({ ms, sql: text.slice(0, 200) }, 'query');
			return r;
		},
		(err) => {
			log.debug({ sql: text.slice(0, 200), err: (err as Error).message }, 'query failed');
			throw err;
		}
	);
}

export interface OpenDbOptions {
	url?: string;
	dataDir?: string;
	log?: Logger;
	poolSize?: number;
	/**
	 * Override the embedded engine (tests use the TimescaleDB build of PGlite, a devDependency only).
	 * Must resolve to a PGlite-compatible instance.
	 */
	createEmbedded?: (dataDir: string | undefined) => Promise<PGliteLike>;
}

/** The subset of PGlite's API this module uses. */
export interface PGliteLike {
	query<T>(text: string, params?: unknown[]): Promise<{ rows: T[]; affectedRows?: number }>;
	exec(sql: string): Promise<unknown>;
	transaction<T>(fn: (tx: { query: PGliteLike['query']; exec: PGliteLike['exec'] }) => Promise<T>): Promise<T>;
	dumpDataDir?(compression?: 'none' | 'gzip' | 'auto'): Promise<Blob>;
	close(): Promise<void>;
}

export async function openDb(opts: OpenDbOptions): Promise<Db> {
	const db = opts.url ? openPostgres(opts.url, opts) : await openPglite(opts);
	const ext = await db.query<{ n: number }>(
		"SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'timescaledb'"
	);
	db.timescale = ext.rows[0].n > 0;
	return db;
}

function openPostgres(url: string, opts: OpenDbOptions): Db {
	const log = opts.log;
	const pool = new pg.Pool({
		connectionString: url,
		max: opts.poolSize ?? 8,
		connectionTimeoutMillis: 5000,
		idleTimeoutMillis: 30_000
	});
	// An idle client losing its server (PostgreSQL restart) emits here; without a listener the process would crash.
	pool.on('error', (err) => log?.warn({ err: err.message }, 'idle database connection lost'));
	const query = <T>(text: string, params?: unknown[]) =>
		timed(log, text, async () => {
			const r = await pool.query(text, params as unknown[]);
			return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
		});
	return {
		kind: 'postgres',
		timescale: false,
		query,
		async tx(fn) {
			const client = await pool.connect();
			let broken = false;
			// pg-pool removes its own error listener while a client is checked out: a server dropping the connection
			// mid-transaction would otherwise be an unhandled 'error' event and kill the process.
			const onError = (err: Error) => {
				broken = true;
				log?.warn({ err: err.message }, 'database connection lost during a transaction');
			};
			client.on('error', onError);
			try {
				await client.query('BEGIN');
				const q: TxQueryable = {
					query: <T>(text: string, params?: unknown[]) =>
						timed(log, text, async () => {
							const r = await client.query(text, params as unknown[]);
							return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
						}),
					exec: async (sql) => {
						await timed(log, sql, () => client.query(sql));
					},
					copyFrom: (sql, data) =>
						timed(
							log,
							sql,
							() =>
								new Promise<void>((resolve, reject) => {
									// pg-copy-streams: 'finish' once PostgreSQL has taken every row (ReadyForQuery), 'error' on its refusal.
									const stream = client.query(copyFromStdin(sql));
									stream.on('error', reject);
									stream.on('finish', () => resolve());
									stream.end(data);
								})
						)
				};
				const out = await fn(q);
				await client.query('COMMIT');
				return out;
			} catch (err) {
				try {
					await client.query('ROLLBACK');
				} catch {
					broken = true; // the connection itself is gone: do not return it to the pool
				}
				throw err;
			} finally {
				client.off('error', onError);
				client.release(broken);
			}
		},
		async exec(sql) {
			await timed(log, sql, () => pool.query(sql));
		},
		async ping() {
			try {
				await pool.query('SELECT 1');
				return true;
			} catch {
				return false;
			}
		},
		async close() {
			await pool.end();
		}
	};
}

async function openPglite(opts: OpenDbOptions): Promise<Db> {
	const log = opts.log;
	if (opts.dataDir) mkdirSync(opts.dataDir, { recursive: true });
	let engine: PGliteLike;
	if (opts.createEmbedded) engine = await opts.createEmbedded(opts.dataDir);
	else {
		const { PGlite, types } = await import('@electric-sql/pglite');
		// Same numeric parsing as the pg back end above.
		engine = (await PGlite.create(opts.dataDir, {
			parsers: { [types.NUMERIC]: (v: string) => Number(v) }
		})) as unknown as PGliteLike;
	}
	let closed = false;
	const wrap =
		(q: PGliteLike['query']) =>
		<T>(text: string, params?: unknown[]) =>
			timed(log, text, async () => {
				const r = await q.call(engine, text, params ?? []);
				return { rows: r.rows as T[], rowCount: r.affectedRows ?? r.rows.length };
			});
	return {
		kind: 'pglite',
		timescale: false,
		query: wrap(engine.query),
		tx(fn) {
			// PGlite runs one statement at a time; its transaction() holds its lock for the whole callback.
			return engine.transaction((t) => {
				const q: TxQueryable = {
					query: <T>(text: string, params?: unknown[]) =>
						timed(log, text, async () => {
							const r = await t.query<T>(text, params ?? []);
							return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
						}),
					exec: async (sql) => {
						await timed(log, sql, () => t.exec(sql));
					}
				};
				return fn(q);
			});
		},
		async exec(sql) {
			await timed(log, sql, () => engine.exec(sql));
		},
		snapshot: engine.dumpDataDir
			? (during) =>
					// PGlite's transaction() holds the lock every other query and transaction waits for; dumpDataDir() takes
					// only the per-statement lock, free between this callback's statements. CHECKPOINT first writes every
					// dirty page to the files, so the copy opens without WAL replay. Compression happens later, outside the lock.
					engine.transaction(async (t) => {
						const result = await during({
							query: <T>(text: string, params?: unknown[]) =>
								timed(log, text, async () => {
									const r = await t.query<T>(text, params ?? []);
									return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
								})
						});
						await t.exec('CHECKPOINT');
						return { result, tar: await engine.dumpDataDir!('none') };
					})
			: undefined,
		async ping() {
			if (closed) return false;
			try {
				await engine.query('SELECT 1');
				return true;
			} catch {
				return false;
			}
		},
		async close() {
			if (closed) return;
			closed = true;
			await engine.close();
		}
	};
}
