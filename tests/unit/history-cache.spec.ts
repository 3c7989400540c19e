// The rule runner's history cache must hand the rules exactly what the database query would: per metric, the
// newest `maxPoints` readings at or after (newest reading of the device − look-back), the first stored reading
// winning for a repeated (metric, time). These tests compare it with that definition computed from scratch.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HistoryCache, type FedReading } from '../../ingest/history-cache.js';
import { replaySeries, toPoints, toSeries, type HistoryPoint, type SeriesMap } from '../../src/lib/domain/rules.js';

const METRICS = new Set(['water_level_m', 'battery_v']);
const r = (metric: string, t: number, value: number, deviceId = 'd1'): FedReading => ({ deviceId, metric, observedAt: new Date(t), value });

/** What the database holds and returns, from scratch. */
function reference(all: FedReading[], lookback: number, maxPoints: number, metrics = METRICS): HistoryPoint[] {
	const first = new Map<string, FedReading>();
	for (const x of all) {
		const k = `${x.metric}@${x.observedAt.getTime()}`;
		if (!first.has(k)) first.set(k, x);
	}
	const newest = Math.max(...all.map((x) => x.observedAt.getTime()));
	const out: HistoryPoint[] = [];
	for (const m of metrics) {
		const pts = [...first.values()]
			.filter((x) => x.metric === m && x.observedAt.getTime() >= newest - lookback)
			.sort((a, b) => a.observedAt.getTime() - b.observedAt.getTime())
			.slice(-maxPoints);
		out.push(...pts.map((x) => ({ metric: m, t: x.observedAt.getTime(), value: x.value })));
	}
	return out;
}

/** The cache hands out columns (views); the definition is in points. */
const pts = (h: SeriesMap | undefined) => (h ? toPoints(h) : undefined);
const sorted = (h: HistoryPoint[] | undefined) => [...(h ?? [])].sort((a, b) => a.metric.localeCompare(b.metric) || a.t - b.t);

describe('HistoryCache', () => {
	it('knows nothing of a sensor until it is loaded, and ignores readings fed before that', () => {
		const sut = new HistoryCache();
		sut.feed([r('water_level_m', 1000, 2)]);
		expect(sut.has('d1')).toBe(false);
		expect(sut.history('d1', 60_000)).toBeUndefined();
	});

	it('keeps readings committed while the database read was running (they may be missing from it)', () => {
		const sut = new HistoryCache();
		sut.beginLoad(['d1']);
		sut.feed([r('water_level_m', 3000, 3.3)]);
		sut.finishLoad('d1', 'river_level', METRICS, 2000, [{ metric: 'water_level_m', t: 2000, value: 2.2 }]);
		expect(pts(sut.history('d1', 60_000))).toEqual([
			{ metric: 'water_level_m', t: 2000, value: 2.2 },
			{ metric: 'water_level_m', t: 3000, value: 3.3 }
		]);
	});

	it('keeps the first value of a redelivered reading, like ON CONFLICT DO NOTHING', () => {
		const sut = new HistoryCache();
		sut.beginLoad(['d1']);
		sut.finishLoad('d1', 'river_level', METRICS, 1000, [{ metric: 'water_level_m', t: 1000, value: 1 }]);
		sut.feed([r('water_level_m', 1000, 99), r('water_level_m', 500, 0.5), r('water_level_m', 500, 77)]);
		expect(pts(sut.history('d1', 60_000))).toEqual([
			{ metric: 'water_level_m', t: 500, value: 0.5 },
			{ metric: 'water_level_m', t: 1000, value: 1 }
		]);
	});

	it('counts the look-back from the newest reading of any metric, and drops metrics the sensor is not judged on', () => {
		const sut = new HistoryCache();
		sut.beginLoad(['d1']);
		sut.finishLoad('d1', 'river_level', METRICS, -Infinity, []);
		sut.feed([r('water_level_m', 1000, 1), r('water_level_m', 5000, 5), r('rssi_dbm', 70_000, -80)]);
		// newest is the rssi reading at 70 s: with a 60 s look-back only readings at ≥ 10 s count.
		expect(pts(sut.history('d1', 60_000))).toEqual([]);
		expect(sut.points).toBe(0);
	});

	it('reads a sensor again when its kind changed or its copy is older than the maximum age', () => {
		let now = 0;
		const sut = new HistoryCache(2000, 1e6, 300_000, () => now);
		sut.beginLoad(['d1']);
		sut.finishLoad('d1', 'river_level', METRICS, 1, []);
		expect(sut.has('d1', 'river_level')).toBe(true);
		expect(sut.has('d1', 'house_tilt')).toBe(false);
		now = 149_999;
		expect(sut.has('d1', 'river_level')).toBe(true);
		now = 300_000;
		expect(sut.has('d1', 'river_level')).toBe(false);
	});

	it('re-reads sensors loaded together at different times, all within the maximum age', () => {
		let now = 0;
		const sut = new HistoryCache(2000, 1e6, 300_000, () => now);
		const ids = Array.from({ length: 200 }, (_, i) => `SOAK-L${String(i).padStart(4, '0')}`);
		sut.beginLoad(ids);
		for (const id of ids) sut.finishLoad(id, 'soil_moisture', METRICS, 1, []);
		const expiredBy = (t: number) => ((now = t), ids.filter((id) => !sut.has(id, 'soil_moisture')).length);
		expect(expiredBy(149_999)).toBe(0);
		// Spread over the second half of the age, not all at once.
		expect(expiredBy(187_500)).toBeGreaterThan(20);
		expect(expiredBy(187_500)).toBeLessThan(80);
		expect(expiredBy(262_500)).toBeGreaterThan(120);
		expect(expiredBy(262_500)).toBeLessThan(180);
		expect(expiredBy(300_000)).toBe(200);
	});

	it('stays within its point budget by forgetting the least recently fed sensors', () => {
		const sut = new HistoryCache(100, 250);
		for (const id of ['a', 'b', 'c']) {
			sut.beginLoad([id]);
			sut.finishLoad(id, 'river_level', METRICS, -Infinity, []);
		}
		sut.feed(Array.from({ length: 100 }, (_, i) => r('water_level_m', i, i, 'a')));
		sut.feed(Array.from({ length: 100 }, (_, i) => r('water_level_m', i, i, 'b')));
		sut.feed(Array.from({ length: 100 }, (_, i) => r('water_level_m', i, i, 'c')));
		expect(sut.points).toBeLessThanOrEqual(250);
		expect(sut.has('a')).toBe(false);
		expect(sut.has('c')).toBe(true);
		expect(pts(sut.history('c', 1e9))).toHaveLength(100);
	});

	it('hands out views that stay as they were while later readings are fed (appends, late inserts, trimming)', () => {
		const sut = new HistoryCache(20);
		sut.beginLoad(['d1']);
		sut.finishLoad('d1', 'river_level', METRICS, -Infinity, []);
		sut.feed(Array.from({ length: 15 }, (_, i) => r('water_level_m', 100 + i * 10, i)));
		const view = sut.history('d1', 1e9)!;
		const before = toPoints(view);
		// A late reading in the middle, a redelivery, and enough new ones to trim and regrow the buffers.
		sut.feed([r('water_level_m', 105, -1), r('water_level_m', 110, 99)]);
		sut.feed(Array.from({ length: 60 }, (_, i) => r('water_level_m', 1000 + i, i)));
		expect(toPoints(view)).toEqual(before);
		expect(pts(sut.history('d1', 1e9))).toHaveLength(20);
	});

	it('matches the database definition for any order of loads and feeds (property)', () => {
		const reading = fc.record({
			metric: fc.constantFrom('water_level_m', 'battery_v', 'rssi_dbm'),
			t: fc.integer({ min: 0, max: 5000 }),
			value: fc.integer({ min: -50, max: 50 })
		});
		fc.assert(
			fc.property(
				fc.array(reading, { maxLength: 300, size: 'large' }),
				fc.nat({ max: 300 }),
				fc.integer({ min: 1, max: 12 }),
				fc.integer({ min: 1, max: 6000 }),
				(raw, loadAtRaw, maxPoints, lookback) => {
					const all = raw.map((x) => r(x.metric, x.t, x.value));
					const loadAt = Math.min(loadAtRaw, all.length);
					const sut = new HistoryCache(maxPoints);
					// The database read sees the first `loadAt` readings; the rest arrive by feed afterwards.
					const before = all.slice(0, loadAt);
					sut.beginLoad(['d1']);
					const dbNewest = before.length ? Math.max(...before.map((x) => x.observedAt.getTime())) : -Infinity;
					const dbRows = before.length ? reference(before, lookback, maxPoints) : [];
					sut.finishLoad('d1', 'river_level', METRICS, dbNewest, dbRows);
					for (let i = loadAt; i < all.length; i += 7) sut.feed(all.slice(i, i + 7));
					if (!all.length) return;
					// Points the database read cut (outside its window, or beyond maxPoints) can never be back in the
					// answer: the window only moves forward and only newer points are added. So: exactly the definition.
					const want = reference(all, lookback, maxPoints);
					expect(sorted(pts(sut.history('d1', lookback)))).toEqual(sorted(want));
				}
			),
			{ numRuns: 300 }
		);
	});

	it('forgets a judged metric’s points at or before a time except the newest few, leaving earlier views as they were', () => {
		const sut = new HistoryCache(100);
		sut.beginLoad(['d1']);
		sut.finishLoad('d1', 'river_level', METRICS, -Infinity, []);
		sut.feed(Array.from({ length: 30 }, (_, i) => r('battery_v', 100 + i * 10, i)));
		sut.feed(Array.from({ length: 30 }, (_, i) => r('water_level_m', 100 + i * 10, i)));
		const view = sut.history('d1', 1e9)!;
		const before = toPoints(view);
		const total = sut.points;
		sut.keepFrom('d1', 'battery_v', 250, 3); // points at 100…250 (16 of them): the newest 3 stay, and all after 250
		expect(toPoints(view)).toEqual(before);
		const battery = toPoints(sut.history('d1', 1e9)!).filter((p) => p.metric === 'battery_v');
		expect(battery.map((p) => p.t)).toEqual([230, 240, 250, ...Array.from({ length: 14 }, (_, i) => 260 + i * 10)]);
		expect(sut.points).toBe(total - 13);
		expect(toPoints(sut.history('d1', 1e9)!).filter((p) => p.metric === 'water_level_m')).toHaveLength(30);
		sut.keepFrom('d1', 'battery_v', 250, 10); // keeping more than is left forgets nothing
		sut.keepFrom('d1', 'battery_pct', 250, 0); // a series it does not have, a device it does not know: nothing
		sut.keepFrom('nobody', 'battery_v', 250, 0);
		expect(sut.points).toBe(total - 13);
	});

	it('judges the battery the same after forgetting judged battery points as with the whole history (property)', () => {
		// The rule runner judges only times after the last judged one and the battery rule reads the last min_repeats
		// values at or before each: forgetting all but min_repeats (+ spare) at or before the last judged time changes
		// no judgement. Reference: the rules on every reading so far, from scratch, at the same times.
		const message = fc.record({
			dt: fc.integer({ min: 1, max: 400 }),
			level: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
			battery: fc.option(fc.integer({ min: 30, max: 38 }), { nil: undefined })
		});
		fc.assert(
			fc.property(fc.array(message, { minLength: 1, maxLength: 200 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 3 }), fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 20 }), (msgs, repeats, spare, passSizes) => {
				const thresholds = { min_repeats: { battery_low: repeats } };
				const sut = new HistoryCache(2000);
				sut.beginLoad(['d1']);
				sut.finishLoad('d1', 'river_level', METRICS, -Infinity, []);
				const all: FedReading[] = [];
				let t = 1_000_000;
				let last = -Infinity;
				let i = 0;
				for (let pass = 0; i < msgs.length; pass++) {
					const batch: FedReading[] = [];
					for (const m of msgs.slice(i, i + passSizes[pass % passSizes.length])) {
						t += m.dt;
						if (m.level !== undefined) batch.push(r('water_level_m', t, m.level / 10));
						if (m.battery !== undefined) batch.push(r('battery_v', t, m.battery / 10));
					}
					i += passSizes[pass % passSizes.length];
					all.push(...batch);
					sut.feed(batch);
					const times = [...new Set(all.map((x) => x.observedAt.getTime()).filter((x) => x > last))].sort((a, b) => a - b);
					if (!times.length) continue;
					const cached = replaySeries({ kind: 'river_level', thresholds, baseline: null, series: sut.history('d1', 1e12)! }, times);
					const whole = replaySeries({ kind: 'river_level', thresholds, baseline: null, series: toSeries(reference(all, 1e12, 2000)) }, times);
					expect(cached.levels.battery_low).toEqual(whole.levels.battery_low);
					last = times[times.length - 1];
					sut.keepFrom('d1', 'battery_v', last, repeats + spare);
				}
			}),
			{ numRuns: 300 }
		);
	});
});
