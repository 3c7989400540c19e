// `npm run bench:rollup`: what keeping the hourly and daily rollups (migrations/0007_rollups.sql) costs per ingest
// batch. Times the writer's two readings statements against the baseline they replaced — the plain
// `INSERT … ON CONFLICT DO NOTHING` of the same rows — on batches of the writer's default size, rotating the order so
// all see the same table sizes. Every variant but `arrival` inserts the rows in the writer's order (each series' rows
// together: batchGroups().ordered); the baseline's rows are put in that order before its clock starts:
//   careful — INSERT … ON CONFLICT DO NOTHING RETURNING feeding two rollup upserts (READINGS_INSERT_SQL), then the
//             latest values (LATEST_SQL): the writer after a duplicate; its time includes grouping the rows;
//   fast    — a plain INSERT, and rollups and latest values from the hourly groups the writer formed itself
//             (READINGS_INSERT_FAST_SQL), the usual case on the embedded database; its time includes forming the groups
//             and their parameters in JavaScript;
//   copy    — the usual case on a real PostgreSQL: the rows by binary COPY (ingest/copy-binary.ts), then the same
//             groups statement (ROLLUP_GROUPS_SQL); its time includes grouping and encoding the rows;
//   arrival — copy with the rows in arrival order instead of the writer's series order: what the order saves
//             (the same JavaScript work, since the groups are needed either way);
//   bare    — the COPY of copy alone, no rollups and no latest values (what bench:ingest --floor writes): copy − bare
//             is what PostgreSQL spends on rollups and latest values on the path a real PostgreSQL takes.
// The baseline keeps neither rollups nor latest values: the difference is what they cost.
// Each batch is its own transaction (COMMIT included in the time, as in the writer). Creates and drops `shudi_bench_<rand>`.
//
//   npm run bench:rollup -- [--db postgres://postgres@127.0.0.1:5432/test] [--rows 15000] [--rounds 30] [--devices 1000]
import { parseArgs } from 'node:util';
import { createDatabase } from './scratch-db.js';
import { openDb } from '../src/lib/server/platform/db.js';
import { migrate } from '../src/lib/server/platform/migrate.js';
import { LATEST_SQL, READINGS_INSERT_SQL, READINGS_ONLY_SQL, READINGS_INSERT_FAST_SQL, ROLLUP_GROUPS_SQL, batchGroups, fastInsertParams, groupColumns, readingColumns } from '../ingest/writer.js';
import { READINGS_COPY_SQL, readingsCopyData } from '../ingest/copy-binary.js';
import type { Reading } from '../src/lib/domain/types.js';

const { values: args } = parseArgs({
	options: {
		db: { type: 'string', default: process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test' },
		rows: { type: 'string', default: '15000' },
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
function batch(b: number, base: number): Reading[] {
	const out: Reading[] = [];
	for (let i = 0; i < ROWS; i++) {
		const msg = b * Math.ceil(ROWS / 3) + Math.floor(i / 3);
		const t = base + Math.floor(msg / DEVICES) * 10_000;
		const deviceId = `BENCH-${String(msg % DEVICES).padStart(4, '0')}`;
		out.push({ deviceId, metric: METRICS[i % 3], observedAt: new Date(t), value: Math.sin(msg) * 3 + 2, receivedAt: new Date(t + 200), flags: 0, seq: msg });
	}
	return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];

async function main() {
	const scratch = await createDatabase(args.db!, 'shudi_bench');
	const db = await openDb({ url: scratch.url, poolSize: 2 });
	try {
		await migrate(db);
		const version = (await db.query<{ server_version: string }>('SHOW server_version')).rows[0].server_version;
		const kinds = ['baseline', 'careful', 'fast', 'copy', 'arrival', 'bare'] as const;
		const times: Record<(typeof kinds)[number], number[]> = { baseline: [], careful: [], fast: [], copy: [], arrival: [], bare: [] };
		// Disjoint time lines so the statements never conflict with each other's rows.
		const bases = {
			baseline: Date.UTC(2026, 0, 1),
			careful: Date.UTC(2026, 3, 1),
			fast: Date.UTC(2026, 6, 1),
			copy: Date.UTC(2026, 9, 1),
			arrival: Date.UTC(2027, 0, 1),
			// Before the check's range: these rows have no rollup.
			bare: Date.UTC(2025, 0, 1)
		};
		for (let r = 0; r < ROUNDS + 2; r++) {
			for (let k = 0; k < kinds.length; k++) {
				const which = kinds[(r + k) % kinds.length];
				const readings = batch(r, bases[which]);
				const baselineRows = which === 'baseline' ? batchGroups(readings).ordered : [];
				const t0 = performance.now();
				await db.tx(async (q) => {
					if (which === 'copy' || which === 'arrival') {
						const { ordered, hourly } = batchGroups(readings);
						await q.copyFrom!(READINGS_COPY_SQL, readingsCopyData(which === 'copy' ? ordered : readings));
						await q.query(ROLLUP_GROUPS_SQL, groupColumns(hourly));
					} else if (which === 'bare') await q.copyFrom!(READINGS_COPY_SQL, readingsCopyData(batchGroups(readings).ordered));
					else if (which === 'fast') await q.query(READINGS_INSERT_FAST_SQL, fastInsertParams(readings));
					else if (which === 'careful') {
						const { ordered, latest } = batchGroups(readings);
						await q.query(READINGS_INSERT_SQL, readingColumns(ordered, true));
						await q.query(LATEST_SQL, readingColumns(latest, false));
					} else await q.query(READINGS_ONLY_SQL, readingColumns(baselineRows, true));
				});
				// The first two rounds warm caches and plans; they are not counted.
				if (r >= 2) times[which].push(performance.now() - t0);
			}
		}
		const check = await db.query<{ raw: number; hourly: number }>(
			"SELECT (SELECT count(*)::int FROM readings WHERE observed_at >= '2026-04-01') AS raw, (SELECT sum(n)::int FROM readings_hourly) AS hourly"
		);
		const b = median(times.baseline);
		const w = median(times.careful);
		const f = median(times.fast);
		const c = median(times.copy);
		const a = median(times.arrival);
		const bare = median(times.bare);
		console.log(`PostgreSQL ${version}; ${ROWS}-row batches (${DEVICES} devices × 3 metrics), ${ROUNDS} rounds each, rotating`);
		console.log(`baseline  INSERT … ON CONFLICT DO NOTHING                    median ${b.toFixed(1)} ms  p90 ${p90(times.baseline).toFixed(1)} ms`);
		console.log(`careful   INSERT … RETURNING → grouped → hourly + daily upsert; latest median ${w.toFixed(1)} ms  p90 ${p90(times.careful).toFixed(1)} ms`);
		console.log(`fast      INSERT + writer's groups → hourly, daily, latest       median ${f.toFixed(1)} ms  p90 ${p90(times.fast).toFixed(1)} ms`);
		console.log(`copy      COPY (binary) + writer's groups → hourly, daily, latest median ${c.toFixed(1)} ms  p90 ${p90(times.copy).toFixed(1)} ms`);
		console.log(`arrival   the same COPY with the rows in arrival order           median ${a.toFixed(1)} ms  p90 ${p90(times.arrival).toFixed(1)} ms`);
		console.log(`bare      the same COPY alone: no rollups, no latest values    median ${bare.toFixed(1)} ms  p90 ${p90(times.bare).toFixed(1)} ms`);
		console.log(`copy / fast ${(c / f).toFixed(2)}, copy / careful ${(c / w).toFixed(2)}, copy / arrival ${(c / a).toFixed(2)}`);
		console.log(`rollups and latest values per batch: careful +${(w - b).toFixed(1)} ms (+${(((w - b) / b) * 100).toFixed(0)} %), fast +${(f - b).toFixed(1)} ms (+${(((f - b) / b) * 100).toFixed(0)} %); fast / careful ${(f / w).toFixed(2)}`);
		console.log(`rollups and latest values on the COPY path: copy − bare = +${(c - bare).toFixed(1)} ms (copy / bare ${(c / bare).toFixed(2)})`);
		console.log(`check: ${check.rows[0].raw} raw rows = ${check.rows[0].hourly} counted in readings_hourly`);
	} finally {
		await db.close();
		await scratch.drop();
	}
}

await main();
