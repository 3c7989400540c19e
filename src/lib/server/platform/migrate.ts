// Migration runner: plain numbered .sql files (0001_name.sql, 0002_…) applied once each, in order, each in its own
// transaction, recorded in schema_migrations. A gap in the numbering or a changed, already-applied file is refused:
// silently skipping a step would leave a database that matches no version of the code.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from './db.js';
import type { Logger } from './log.js';
import { projectRoot } from './paths.js';

export interface Migration {
	version: number;
	name: string;
	sql: string;
	checksum: string;
}

const FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export function loadMigrations(dir = join(projectRoot(), 'migrations')): Migration[] {
	const files = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
	const out: Migration[] = [];
	for (const f of files) {
		const m = FILE.exec(f);
		if (!m) throw new Error(`migration file name ${f} does not match NNNN_name.sql`);
		const sql = readFileSync(join(dir, f), 'utf8');
		out.push({ version: Number(m[1]), name: m[2], sql, checksum: createHash('sha256').update(sql).digest('hex') });
	}
	out.forEach((mig, i) => {
		if (mig.version !== i + 1)
			throw new Error(`migration numbering has a gap or duplicate: expected ${String(i + 1).padStart(4, '0')}, found ${f4(mig.version)}_${mig.name}.sql`);
	});
	return out;
}

const f4 = (n: number) => String(n).padStart(4, '0');

/** Applies pending migrations; returns the versions applied now. */
export async function migrate(db: Db, log?: Logger, migrations = loadMigrations()): Promise<number[]> {
	await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY,
		name text NOT NULL,
		checksum text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`);
	const done = await db.query<{ version: number; name: string; checksum: string }>(
		'SELECT version, name, checksum FROM schema_migrations ORDER BY version'
	);
	const applied = new Map(done.rows.map((r) => [r.version, r]));
	for (const [v, row] of applied) {
		const m = migrations[v - 1];
		if (!m) throw new Error(`database has migration ${f4(v)}_${row.name} that this code does not know: is the code older than the database?`);
		if (m.checksum !== row.checksum) throw new Error(`migration ${f4(v)}_${m.name}.sql changed after it was applied; add a new migration instead`);
	}
	const now: number[] = [];
	for (const m of migrations) {
		if (applied.has(m.version)) continue;
		if (m.version > 1 && !applied.has(m.version - 1) && !now.includes(m.version - 1))
			throw new Error(`refusing to apply ${f4(m.version)}: ${f4(m.version - 1)} is not applied`);
		await db.tx(async (q) => {
			// Each file may hold several statements; simple-protocol execution inside the open transaction.
			await q.exec(m.sql);
			await q.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [m.version, m.name, m.checksum]);
		});
		now.push(m.version);
		log?.debug({ version: m.version, name: m.name }, 'migration applied');
	}
	// One line for the run, not one per file: a first start applies every migration, and a person at the terminal
	// needs the address and the accounts, not the list.
	if (now.length) log?.info({ from: now[0], to: now[now.length - 1], count: now.length }, 'migrations applied');
	if (now.length) db.timescale = (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_extension WHERE extname = 'timescaledb'")).rows[0].n > 0;
	return now;
}
