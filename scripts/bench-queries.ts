// `npm run bench:queries` (issue 6): server time of the two read paths that grow with the township, on the 10,000-sensor
// fixture (scripts/lib/fixture.ts), each beside a baseline measured in the same run, alternating app and baseline so
// both see the same machine load:
//
// 1. GET /api/v1/sensors — the route's own code, sensorsListJSON (src/lib/server/map/queries.ts), which returns the response
//    body as text — beside the bare SELECT of the same device rows (no battery or maintenance join, no JSON building).
//    A second row adds the route's gzip (encodeBody, src/lib/server/platform/gzip-parallel.ts), which a browser asks for: the
//    server time a browser sees.
//    No cache is involved: every round runs the query.
// 2. One sensor's 1-year chart — sensorHistory (src/lib/server/map/sensor-history.ts) with range=1y, which reads the daily
//    rollup — beside the raw-table query that computes the same daily avg/min/max from the year's raw readings.
//
// Embedded PGlite in a temporary directory by default; real PostgreSQL when DATABASE_URL is set (a fresh database
// shudi_bench_<rand> is created there and dropped afterwards).
//
//   npm run bench:queries -- [--repeat 30] [--sensors 10000]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createDatabase, type ScratchDatabase } from './scratch-db.js';
import { buildBenchFixture, openBenchDb, summarise } from './lib/fixture.js';
import { load, fmtMs, printTable, type Row } from './lib/stats.js';
import { rootLogger } from '../src/lib/server/platform/log.js';
import { sensorsListJSON } from '../src/lib/server/map/queries.js';
import { encodeBody } from '../src/lib/server/platform/gzip-parallel.js';
import { historyQuery, sensorHistory } from '../src/lib/server/map/sensor-history.js';

const { values: args } = parseArgs({
	options: {
		repeat: { type: 'string', default: '30' },
		sensors: { type: 'string', default: '10000' }
	}
});
const REPEAT = Number(args.repeat);
const WARMUP = 3;

/** The same device rows the route returns, without latest values and without building JSON: the floor. */
const SENSORS_BASELINE_SQL = `SELECT d.id, d.name, d.kind, d.village_id, d.status, d.last_seen, d.interval_s, d.lng, d.lat
	 FROM devices d WHERE d.revoked_at IS NULL AND d.lng IS NOT NULL AND d.lat IS NOT NULL ORDER BY d.id`;

/** The 1-year chart computed from raw readings: what the rollups spare (same UTC-day buckets as 0007_rollups.sql). */
const CHART_BASELINE_SQL = `SELECT date_trunc('day', observed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS t, avg(value) AS avg, min(value) AS min, max(value) AS max
	 FROM readings WHERE device_id = $1 AND metric = $2 AND observed_at > $3 AND observed_at <= $4
	 GROUP BY 1 ORDER BY 1`;

async function main() {
	rootLogger(process.env.LOG_LEVEL ?? 'warn');
	const url = process.env.DATABASE_URL || undefined;
	let dir: string | null = null;
	let scratch: ScratchDatabase | null = null;
	let target: { url?: string; dataDir?: string };
	if (url) {
		scratch = await createDatabase(url, 'shudi_bench');
		target = { url: scratch.url };
	} else {
		dir = await mkdtemp(join(tmpdir(), 'shudi-bench-q-'));
		target = { dataDir: join(dir, 'pgdata') };
	}
	const db = await openBenchDb(target);
	try {
		const version = (await db.query<{ v: string }>('SELECT version() AS v')).rows[0].v.split(' on ')[0];
		console.log(`bench:queries — ${db.kind === 'pglite' ? 'embedded PGlite' : 'PostgreSQL'} (${version}); ${cpus().length} CPUs; Node ${process.version}; ${load()} at start; ${new Date().toISOString()}`);
		const f = await buildBenchFixture(db, { sensors: Number(args.sensors) });
		console.log(summarise(f));
		// As autovacuum leaves a table after a bulk load: the fixture rewrote every device row (status, last seen), and
		// reading past those dead versions would time the build, not the query. Both sides are timed on the same tables.
		if (db.kind === 'postgres') await db.query('VACUUM ANALYZE');

		const rows: Record<'sensors' | 'sensorsGzip' | 'chart', Row> = {
			sensors: { figure: `GET /api/v1/sensors (${f.sensors} sensors)`, app: [], baseline: [], target: 50 },
			sensorsGzip: { figure: 'same, gzipped (a browser)', app: [], baseline: [], target: 50 },
			chart: { figure: `1-year chart, ${f.yearSensor} ${f.yearMetric}`, app: [], baseline: [], target: 150 }
		};
		const query = historyQuery.parse({ range: '1y', metric: f.yearMetric });
		let bytes = 0;
		let gzBytes = 0;
		let chartPoints = 0;
		let rawRows = 0;
		let baselineRows = 0;
		let check = '';

		const runs: Record<string, () => Promise<void>> = {
			sensorsApp: async () => {
				bytes = Buffer.byteLength(await sensorsListJSON(db, null));
			},
			sensorsGzipApp: async () => {
				gzBytes = (await encodeBody(await sensorsListJSON(db, null), 'gzip, deflate')).body.length;
			},
			sensorsBaseline: async () => {
				baselineRows = (await db.query(SENSORS_BASELINE_SQL)).rows.length;
			},
			chartApp: async () => {
				const h = await sensorHistory(db, f.yearSensor, null, query, f.to);
				if (!h.ok) throw new Error(`history: ${h.message}`);
				chartPoints = h.history.points.length;
			},
			chartBaseline: async () => {
				const r = await db.query(CHART_BASELINE_SQL, [f.yearSensor, f.yearMetric, new Date(f.to - 365 * 86400_000).toISOString(), new Date(f.to).toISOString()]);
				rawRows = r.rows.length;
			}
		};
		const time = async (fn: () => Promise<void>) => {
			const t0 = performance.now();
			await fn();
			return performance.now() - t0;
		};
		for (let i = 0; i < WARMUP + REPEAT; i++) {
			// Alternate the order each round, so neither side always runs right after the other's cache warm-up.
			const order = i % 2 ? ['sensorsBaseline', 'sensorsApp', 'sensorsGzipApp', 'chartBaseline', 'chartApp'] : ['sensorsApp', 'sensorsGzipApp', 'sensorsBaseline', 'chartApp', 'chartBaseline'];
			for (const name of order) {
				const ms = await time(runs[name]);
				if (i < WARMUP) continue;
				if (name === 'sensorsGzipApp') rows.sensorsGzip.app.push(ms);
				else if (name === 'sensorsBaseline') rows.sensors.baseline.push(ms), rows.sensorsGzip.baseline.push(ms);
				else (name.endsWith('App') ? (name.startsWith('sensors') ? rows.sensors : rows.chart).app : rows.chart.baseline).push(ms);
			}
		}
		// The app's chart and the raw baseline must describe the same days, or the comparison means nothing.
		const n = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM readings WHERE device_id = $1 AND metric = $2`, [f.yearSensor, f.yearMetric])).rows[0].n;
		check = `chart: ${chartPoints} daily points from readings_daily vs ${rawRows} days aggregated from ${n} raw rows; sensors: ${baselineRows} rows, ${(bytes / 1e6).toFixed(2)} MB of JSON, ${(gzBytes / 1e6).toFixed(2)} MB gzipped`;

		console.log(`${REPEAT} rounds after ${WARMUP} warm-up rounds, app and baseline alternating; times include the query and (app) building the response`);
		printTable([rows.sensors, rows.sensorsGzip, rows.chart]);
		console.log(check);
		console.log(`${load()} at the end`);
		console.log(`app min–max: sensors ${fmtMs(Math.min(...rows.sensors.app))}–${fmtMs(Math.max(...rows.sensors.app))} ms; chart ${fmtMs(Math.min(...rows.chart.app))}–${fmtMs(Math.max(...rows.chart.app))} ms`);
	} finally {
		await db.close();
		if (scratch) {
			await scratch.drop();
		}
		if (dir) await rm(dir, { recursive: true, force: true });
	}
}

await main();
