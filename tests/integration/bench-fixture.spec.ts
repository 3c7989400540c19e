// The benchmark fixture (scripts/lib/fixture.ts) makes what bench:queries and bench:map claim to measure: 10,000
// sensors of every kind, each inside the village it is assigned to, with latest values; and one sensor whose daily
// rollups cover the whole year and count every raw reading exactly once. No timings here: speed lives in the benches.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBenchFixture, BENCH_KINDS, type BenchFixture } from '../../scripts/lib/fixture';
import { sensorHistory, historyQuery } from '../../src/lib/server/map/sensor-history';
import { sensorsGeoJSON } from '../../src/lib/server/map/queries';
import { VillageIndex } from '../../geo/index';
import { freshDb, type TestDb } from '../support/services';

const DAY = 86_400_000;

describe('bench fixture', () => {
	let t: TestDb;
	let sut: BenchFixture;
	const now = Date.UTC(2026, 10, 26, 9, 30);

	beforeAll(async () => {
		t = await freshDb();
		// One reading an hour keeps the test short; the year and the rollups are built the same way as at 5 minutes.
		sut = await buildBenchFixture(t.db, { yearIntervalS: 3600, now });
	}, 300_000);
	afterAll(async () => t?.drop());

	it('has 10,000 sensors of every kind, each inside the village it is assigned to', async () => {
		expect(sut.sensors).toBe(10_000);
		const fc = await sensorsGeoJSON(t.db, null);
		expect(fc.features).toHaveLength(10_000);
		expect(new Set(fc.features.map((f) => f.properties.kind))).toEqual(new Set(BENCH_KINDS));
		for (const k of BENCH_KINDS) expect(sut.byKind[k]).toBeGreaterThan(100);

		const villages = (await t.db.query<{ id: number; boundary: GeoJSON.Polygon }>('SELECT id, boundary FROM villages')).rows;
		expect(villages).toHaveLength(10);
		const index = new VillageIndex(villages.map((v) => ({ id: v.id, geometry: v.boundary })));
		const misplaced = fc.features.filter((f) => index.locate(f.geometry.coordinates as [number, number]) !== f.properties.village_id);
		expect(misplaced).toEqual([]);
		const perVillage = new Map<number | null, number>();
		for (const f of fc.features) perVillage.set(f.properties.village_id, (perVillage.get(f.properties.village_id) ?? 0) + 1);
		for (const v of villages) expect(perVillage.get(v.id)).toBeGreaterThan(300);
	});

	it('gives reporting sensors latest values and a spread of statuses', async () => {
		const fc = await sensorsGeoJSON(t.db, null);
		const statuses = new Map<string, number>();
		for (const f of fc.features) statuses.set(f.properties.status, (statuses.get(f.properties.status) ?? 0) + 1);
		expect(statuses.get('normal')).toBeGreaterThan(8000);
		for (const s of ['offline', 'unknown', 'blue', 'yellow', 'orange', 'red']) expect(statuses.get(s) ?? 0).toBeGreaterThan(0);
		const withValues = (await t.db.query<{ n: number }>('SELECT count(DISTINCT device_id)::int AS n FROM latest_values')).rows[0].n;
		expect(withValues).toBe(10_000 - (statuses.get('unknown') ?? 0));
		expect(fc.features.filter((f) => f.properties.status === 'unknown').every((f) => f.properties.last_seen === null)).toBe(true);
	});

	it('gives the year sensor a year of readings whose daily rollups cover the range and count each reading once', async () => {
		const raw = await t.db.query<{ n: number; first: Date; last: Date }>(
			'SELECT count(*)::int AS n, min(observed_at) AS first, max(observed_at) AS last FROM readings WHERE device_id = $1 AND metric = $2',
			[sut.yearSensor, sut.yearMetric]
		);
		expect(raw.rows[0].n).toBe(365 * 24);
		expect(new Date(raw.rows[0].first).getTime()).toBe(now - 365 * DAY + 3600_000);
		expect(new Date(raw.rows[0].last).getTime()).toBe(now);
		const daily = await t.db.query<{ days: number; n: number }>('SELECT count(*)::int AS days, sum(n)::int AS n FROM readings_daily WHERE device_id = $1 AND metric = $2', [sut.yearSensor, sut.yearMetric]);
		expect(daily.rows[0]).toEqual({ days: 366, n: 365 * 24 });
		const hourly = await t.db.query<{ n: number }>('SELECT sum(n)::int AS n FROM readings_hourly WHERE device_id = $1', [sut.yearSensor]);
		expect(hourly.rows[0].n).toBe(sut.yearRows);

		// The chart bench:queries times: one point per day from the first day of the range to today.
		const h = await sensorHistory(t.db, sut.yearSensor, null, historyQuery.parse({ range: '1y', metric: sut.yearMetric }), now);
		if (!h.ok) throw new Error(h.message);
		expect(h.history.resolution).toBe('day');
		expect(h.history.points).toHaveLength(366);
		expect(h.history.points[0][0]).toBeLessThanOrEqual(now - 365 * DAY);
		expect(h.history.points.at(-1)![0]).toBe(Date.UTC(2026, 10, 26));
	});
});
