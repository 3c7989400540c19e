// The benchmark fixture (issue 6): the demo township with 10,000 sensors of every kind spread over its villages, each
// with latest values, a spread of statuses, and one sensor with a full year of readings every 5 minutes (and its hourly
// and daily rollups). Built through the app's own code: the demo seed (src/lib/server/demo/seed.ts) for the township
// and its 50 sensors, insertDevices (src/lib/server/devices/devices.ts) for the rest, and the ingest batch writer
// (ingest/writer.ts) for every reading, so latest_values, last_seen and the rollup tables are what ingest would leave.
// Used by `npm run bench:queries`, `npm run bench:map` and tests/integration/bench-fixture.spec.ts; scripts/bench-fixture.ts
// seeds it into a data directory or database on its own.
import type { Db } from '../../src/lib/server/platform/db.js';
import { openDb } from '../../src/lib/server/platform/db.js';
import { migrate } from '../../src/lib/server/platform/migrate.js';
import { parseConfig } from '../../src/lib/server/platform/config.js';
import { logger } from '../../src/lib/server/platform/log.js';
import { seedDemoIfEmpty, demoDeviceToken } from '../../src/lib/server/demo/seed.js';
import { buildDemoTownship, mulberry32, type DemoSensor } from '../../src/lib/server/demo/township.js';
import { insertDevices, type DeviceRow } from '../../src/lib/server/devices/devices.js';
import { hashToken } from '../../src/lib/server/devices/device-tokens.js';
import { BatchWriter } from '../../ingest/writer.js';
import { VillageIndex } from '../../geo/index.js';
import { KIND_METRICS } from '../../src/lib/domain/metrics.js';
import { SENSOR_KINDS, type Reading, type SensorKind, type SensorStatus } from '../../src/lib/domain/types.js';

export interface BenchFixtureOptions {
	/** Sensors in all, the demo's own 50 included (default 10,000). */
	sensors?: number;
	/** The sensor given a year of readings (default RL-01, the demo's first river station). */
	yearSensor?: string;
	/** Seconds between its readings (default 300: a river station's real interval). */
	yearIntervalS?: number;
	/** End of the year of readings and time of the latest values (default now). */
	now?: number;
	/** PRNG seed: the same seed gives the same sensors. */
	seed?: number;
}

export interface BenchFixture {
	sensors: number;
	byKind: Record<SensorKind, number>;
	yearSensor: string;
	yearMetric: string;
	/** Raw readings stored for the year sensor (all its metrics). */
	yearRows: number;
	from: number;
	to: number;
	ms: { township: number; devices: number; latest: number; year: number };
}

/**
 * Share of each kind among the added sensors: housing sensors dominate, as they do in township deployments. Only kinds
 * the demo township has: each added sensor copies the thresholds and interval of the demo's own sensor of its kind.
 */
const KIND_SHARE: Partial<Record<SensorKind, number>> = {
	house_tilt: 0.3,
	crack: 0.2,
	settlement: 0.08,
	rain_gauge: 0.08,
	displacement: 0.12,
	soil_moisture: 0.1,
	river_level: 0.12
};

/** Status spread of the fixture: mostly normal, some offline and never reported, a few at each level. */
const STATUS_SHARE: [SensorStatus, number][] = [
	['normal', 0.88],
	['offline', 0.04],
	['unknown', 0.02],
	['maintenance', 0.01],
	['blue', 0.02],
	['yellow', 0.015],
	['orange', 0.01],
	['red', 0.005]
];

const HEALTH_METRICS = ['battery_v', 'rssi_dbm'];

function pickShare<T extends string>(shares: [T, number][], r: number): T {
	let acc = 0;
	for (const [k, p] of shares) {
		acc += p;
		if (r < acc) return k;
	}
	return shares[shares.length - 1][0];
}

/** A plausible primary value for a kind (the map shows latest values in the sensor panel). */
function primaryValue(kind: SensorKind, rand: () => number): number {
	switch (kind) {
		case 'river_level':
			return 2 + rand() * 1.5;
		case 'house_tilt':
			return (rand() - 0.5) * 0.4;
		case 'crack':
			return 0.3 + rand() * 2;
		case 'settlement':
			return rand() * 10;
		case 'rain_gauge':
			return rand() < 0.7 ? 0 : rand() * 8;
		case 'displacement':
			return rand() * 30;
		case 'soil_moisture':
			return 20 + rand() * 20;
		default:
			return 0;
	}
}

/** The kinds the fixture holds (KIND_SHARE). */
export const BENCH_KINDS = Object.keys(KIND_SHARE) as SensorKind[];

/** Builds the fixture into a migrated, empty database (the demo township must not be there yet). */
export async function buildBenchFixture(db: Db, opts: BenchFixtureOptions = {}): Promise<BenchFixture> {
	const total = opts.sensors ?? 10_000;
	const yearSensor = opts.yearSensor ?? 'RL-01';
	const yearIntervalS = opts.yearIntervalS ?? 300;
	const now = opts.now ?? Date.now();
	const rand = mulberry32(opts.seed ?? 0xbe7c4);
	// DEMO on, SIMULATE off: demo devices keep their real report intervals (the simulator would shorten them).
	const config = parseConfig({ DEMO: 'on', SIMULATE: 'off' });
	const log = logger('bench-fixture');
	const ms = { township: 0, devices: 0, latest: 0, year: 0 };

	let t0 = performance.now();
	if (!(await seedDemoIfEmpty(db, config, log))) throw new Error('bench fixture: the database is not empty');
	ms.township = performance.now() - t0;

	t0 = performance.now();
	const t = buildDemoTownship();
	const villages = (await db.query<{ id: number; code: string; boundary: GeoJSON.Polygon; bbox: number[] }>('SELECT id, division_code AS code, boundary, bbox FROM villages ORDER BY id')).rows;
	const index = new VillageIndex(villages.map((v) => ({ id: v.id, geometry: v.boundary })));
	// Each kind's thresholds, baseline and interval come from the demo's own sensor of that kind.
	const template = new Map<SensorKind, DemoSensor>();
	for (const s of t.sensors) if (!template.has(s.kind)) template.set(s.kind, s);
	const river = t.river.line.coordinates;
	const kindShares = Object.entries(KIND_SHARE) as [SensorKind, number][];
	const rows: DeviceRow[] = [];
	const added = Math.max(0, total - t.sensors.length);
	for (let n = 1; n <= added; n++) {
		const kind = pickShare(kindShares, rand());
		let lngLat: [number, number];
		let villageId: number | null = null;
		do {
			if (kind === 'river_level') {
				// River stations sit on the river: a vertex of its line, a few metres off.
				const p = river[Math.floor(rand() * river.length)];
				lngLat = [p[0] + (rand() - 0.5) * 0.0004, p[1] + (rand() - 0.5) * 0.0004];
			} else {
				// Spread evenly over the villages, then uniformly inside the chosen one (rejection sampling in its bbox).
				const v = villages[n % villages.length];
				lngLat = [v.bbox[0] + rand() * (v.bbox[2] - v.bbox[0]), v.bbox[1] + rand() * (v.bbox[3] - v.bbox[1])];
			}
			villageId = index.locate(lngLat);
		} while (villageId === null);
		const tpl = template.get(kind)!;
		const id = `${tpl.id.split('-')[0]}-B${String(n).padStart(5, '0')}`;
		rows.push({
			id,
			name: `基准测试${kind}-${n}`,
			kind,
			lng: Math.round(lngLat[0] * 1e6) / 1e6,
			lat: Math.round(lngLat[1] * 1e6) / 1e6,
			village_id: villageId,
			interval_s: tpl.interval_s,
			token_hash: hashToken(demoDeviceToken(config, id)),
			thresholds: tpl.thresholds,
			baseline: tpl.baseline,
			is_demo: true
		});
	}
	for (let i = 0; i < rows.length; i += 2000) await insertDevices(db, rows.slice(i, i + 2000));
	ms.devices = performance.now() - t0;

	const all = (await db.query<{ id: string; kind: SensorKind; interval_s: number }>('SELECT id, kind, interval_s FROM devices ORDER BY id')).rows;
	const writer = new BatchWriter(db, { maxRows: 5000, maxAgeMs: 20 });
	try {
		// Latest values: one message per sensor within its last interval, through the writer (latest_values, last_seen,
		// status unknown → normal, rollups), like a township whose sensors all just reported.
		t0 = performance.now();
		const pending: Promise<void>[] = [];
		for (const d of all) {
			if (d.id === yearSensor) continue;
			const at = new Date(now - Math.floor(rand() * d.interval_s * 1000));
			const values: [string, number][] = KIND_METRICS[d.kind].map((m) => [m, primaryValue(d.kind, rand)]);
			values.push(['battery_v', 3.3 + rand() * 0.9], ['rssi_dbm', -110 + rand() * 50]);
			pending.push(writer.add(values.map(([metric, value]) => reading(d.id, metric, value, at))));
		}
		await Promise.all(pending);
		ms.latest = performance.now() - t0;

		// The year sensor: a seasonal river level (higher in the summer flood season) with a daily wave and noise,
		// a battery that sags and is swapped, a varying signal — fed oldest first, as a live device would. The demo's
		// invented case history gave it some readings already: the fixture's year replaces them, so the year is exact.
		t0 = performance.now();
		for (const table of ['readings', 'readings_hourly', 'readings_daily', 'latest_values']) await db.query(`DELETE FROM ${table} WHERE device_id = $1`, [yearSensor]);
		const from = now - 365 * 86400_000;
		const step = yearIntervalS * 1000;
		let batch: Promise<void>[] = [];
		let yearRows = 0;
		for (let ts = from + step, i = 0; ts <= now; ts += step, i++) {
			const day = (ts - from) / 86400_000;
			const at = new Date(ts);
			const level = 2.3 + 0.9 * Math.max(0, Math.sin(((day - 120) / 365) * 2 * Math.PI)) + 0.08 * Math.sin((day % 1) * 2 * Math.PI) + (rand() - 0.5) * 0.05;
			const msg = [
				reading(yearSensor, 'water_level_m', Math.round(level * 1000) / 1000, at, i),
				reading(yearSensor, 'battery_v', Math.round((4.1 - (day % 90) * 0.006) * 1000) / 1000, at, i),
				reading(yearSensor, 'rssi_dbm', Math.round(-85 + (rand() - 0.5) * 20), at, i)
			];
			yearRows += msg.length;
			batch.push(writer.add(msg));
			// Bounded in flight, so the writer's room limit never holds thousands of waiting callers.
			if (batch.length >= 5000) {
				await Promise.all(batch);
				batch = [];
			}
		}
		await Promise.all(batch);
		ms.year = performance.now() - t0;

		// A spread of statuses, as the rules and the offline watcher would have left them (the year sensor stays normal).
		const statuses = all.filter((d) => d.id !== yearSensor).map((d) => ({ id: d.id, status: pickShare(STATUS_SHARE, rand()) }));
		await db.query(
			`UPDATE devices d SET status = x.status,
			   last_seen = CASE WHEN x.status = 'unknown' THEN NULL ELSE d.last_seen END
			 FROM unnest($1::text[], $2::text[]) AS x(id, status) WHERE d.id = x.id AND x.status <> 'normal'`,
			[statuses.map((s) => s.id), statuses.map((s) => s.status)]
		);
		await db.query(`DELETE FROM latest_values WHERE device_id IN (SELECT id FROM devices WHERE status = 'unknown')`);

		const byKind = Object.fromEntries(SENSOR_KINDS.map((k) => [k, 0])) as Record<SensorKind, number>;
		for (const d of all) byKind[d.kind]++;
		const kind = all.find((d) => d.id === yearSensor)?.kind;
		if (!kind) throw new Error(`bench fixture: no sensor ${yearSensor}`);
		return { sensors: all.length, byKind, yearSensor, yearMetric: KIND_METRICS[kind][0], yearRows, from, to: now, ms };
	} finally {
		await writer.close();
	}
}

function reading(deviceId: string, metric: string, value: number, at: Date, seq?: number): Reading {
	return { deviceId, metric, value, observedAt: at, receivedAt: new Date(at.getTime() + 300), flags: 0, seq };
}

/** Opens the database a bench runs against: PGlite under dataDir, or PostgreSQL at url; migrated. */
export async function openBenchDb(target: { url?: string; dataDir?: string }): Promise<Db> {
	const db = await openDb({ url: target.url, dataDir: target.url ? undefined : target.dataDir, poolSize: 4 });
	await migrate(db);
	return db;
}

/** Rounded figures for the console. */
export function summarise(f: BenchFixture): string {
	const kinds = Object.entries(f.byKind)
		.map(([k, n]) => `${k} ${n}`)
		.join(', ');
	return (
		`fixture: ${f.sensors} sensors (${kinds}); ${f.yearSensor}: ${f.yearRows} readings over 365 days; ` +
		`built in ${((f.ms.township + f.ms.devices + f.ms.latest + f.ms.year) / 1000).toFixed(1)} s ` +
		`(devices ${(f.ms.devices / 1000).toFixed(1)} s, latest values ${(f.ms.latest / 1000).toFixed(1)} s, year ${(f.ms.year / 1000).toFixed(1)} s)`
	);
}
