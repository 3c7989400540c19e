// `npm run bench:rollup`: what keeping the hourly and daily rollups (migrations/0007_rollups.sql) costs per ingest
// batch. Times the writer's readings statement (INSERT … RETURNING feeding two rollup upserts, ingest/writer.ts
// READINGS_INSERT_SQL) against the baseline it replaced — the plain `INSERT … ON CONFLICT DO NOTHING` of the same
// rows — on batches of the writer's default size, alternating the two so both see the same table sizes. Each batch is
// its own transaction (COMMIT included in the time, as in the writer). Creates and drops `shudi_bench_<rand>`.
//
//   npm run bench:rollup -- [--db postgres://postgres@127.0.0.1:5432/test] [--rows 5000] [--rounds 30] [--devices 1000]
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { openDb } from '../src/lib/server/db.js';
import { migrate } from '../src/lib/server/migrate.js';
import { READINGS_INSERT_SQL } from '../ingest/writer.js';

const BASELINE_SQL = `INSERT INTO readings (device_id, metric, observed_at, value, received_at, flags, seq)
	 SELECT d, m, to_timestamp(o / 1000.0), v, to_timestamp(r / 1000.0), f, s
	 FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::float8[], $6::int2[], $7::int8[]) AS x(d, m, o, v, r, f, s)
	 ON CONFLICT DO NOTHING`;

const { values: args } = parseArgs({
	options: {
		db: { type: 'string', default: process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test' },
		rows: { type: 'string', default: '5000' },
		rounds: { type: 'string', default: '30' },
		devices: { type: 'string', default: '1000' }
	}
});
const ROWS = Number(args.rows);
const ROUNDS = Number(args.rounds);
const DEVICES = Number(args.devices);
const METRICS = ['water_level_m', 'battery_v', 'rssi_dbm'];

/**
 * Batch `b`: ROWS readings like the ingest benchmark's messages — each device reports 3 metrics at one time, devices
 * report every 10 s — so a batch touches ~ROWS/3 device×time pairs and one or two hourly buckets per device×metric.
 */
function batch(b: number, base: number): unknown[][] {
	const dev: string[] = [], met: string[] = [], obs: number[] = [], val: number[] = [], rec: number[] = [], flg: number[] = [], seq: (number | null)[] = [];
	for (let i = 0; i < ROWS; i++) {
		const msg = b * Math.ceil(ROWS / 3) + Math.floor(i / 3);
		const t = base + Math.floor(msg / DEVICES) * 10_000;
		dev.push(`BENCH-${String(msg % DEVICES).padStart(4, '0')}`);
		met.push(METRICS[i % 3]);
		obs.push(t);
		val.push(Math.sin(msg) * 3 + 2);
		rec.push(t + 200);
		flg.push(0);
		seq.push(msg);
	}
	return [dev, met, obs, val, rec, flg, seq];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];

async function main() {
	const name = `shudi_bench_${randomBytes(4).toString('hex')}`;
	const admin = new pg.Client({ connectionString: args.db });
	await admin.connect();
	await admin.query(`CREATE DATABASE ${name}`);
	const u = new URL(args.db!);
	u.pathname = '/' + name;
	const db = await openDb({ url: u.toString(), poolSize: 2 });
	try {
		await migrate(db);
		const version = (await db.query<{ server_version: string }>('SHOW server_version')).rows[0].server_version;
		const times: Record<'baseline' | 'rollups', number[]> = { baseline: [], rollups: [] };
		// Two disjoint time lines so the two statements never conflict with each other's rows.
		const bases = { baseline: Date.UTC(2026, 0, 1), rollups: Date.UTC(2026, 6, 1) };
		for (let r = 0; r < ROUNDS + 2; r++) {
			for (const which of r % 2 ? (['rollups', 'baseline'] as const) : (['baseline', 'rollups'] as const)) {
				const params = batch(r, bases[which]);
				const t0 = performance.now();
				await db.tx(async (q) => {
					await q.query(which === 'baseline' ? BASELINE_SQL : READINGS_INSERT_SQL, params);
				});
				// The first two rounds warm caches and plans; they are not counted.
				if (r >= 2) times[which].push(performance.now() - t0);
			}
		}
		const check = await db.query<{ raw: number; hourly: number }>(
			"SELECT (SELECT count(*)::int FROM readings WHERE observed_at >= '2026-07-01') AS raw, (SELECT sum(n)::int FROM readings_hourly) AS hourly"
		);
		const b = median(times.baseline);
		const w = median(times.rollups);
		console.log(`PostgreSQL ${version}; ${ROWS}-row batches (${DEVICES} devices × 3 metrics), ${ROUNDS} rounds each, alternating`);
		console.log(`baseline  INSERT … ON CONFLICT DO NOTHING           median ${b.toFixed(1)} ms  p90 ${p90(times.baseline).toFixed(1)} ms`);
		console.log(`rollups   INSERT … RETURNING → hourly + daily upsert median ${w.toFixed(1)} ms  p90 ${p90(times.rollups).toFixed(1)} ms`);
		console.log(`rollup cost per batch: +${(w - b).toFixed(1)} ms (+${(((w - b) / b) * 100).toFixed(0)} %), ${(((w - b) / ROWS) * 1000).toFixed(1)} µs per row`);
		console.log(`check: ${check.rows[0].raw} raw rows = ${check.rows[0].hourly} counted in readings_hourly`);
	} finally {
		await db.close();
		await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
		await admin.end();
	}
}

await main();
