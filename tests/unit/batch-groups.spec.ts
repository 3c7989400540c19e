// The writer's one pass over a batch (ingest/writer.ts batchGroups): the hourly groups, each series' newest reading,
// each device's last receipt, and the order the rows are inserted in. That the rollups built from these groups equal
// the raw aggregates in the database is tests/integration/history.spec.ts.
import { describe, expect, it } from 'vitest';
import { batchGroups } from '../../ingest/writer';
import type { Reading } from '../../src/lib/domain/types';

const H = 3_600_000;
const T0 = Date.UTC(2026, 10, 27, 8);
const r = (deviceId: string, metric: string, minute: number, value: number): Reading => ({
	deviceId,
	metric,
	value,
	observedAt: new Date(T0 + minute * 60_000),
	receivedAt: new Date(T0 + minute * 60_000 + 500),
	flags: 0
});

describe('batchGroups', () => {
	it('puts each series’ rows together for the insert, in order of first appearance and arrival order within a series', () => {
		// Three messages from each of two devices, as they arrive interleaved: every row a different series from the one before.
		const batch: Reading[] = [];
		for (let k = 0; k < 3; k++) {
			for (const dev of ['B-02', 'A-01']) {
				batch.push(r(dev, 'water_level_m', 10 - k, k), r(dev, 'battery_v', 10 - k, 3 + k / 10));
			}
		}
		const { ordered } = batchGroups(batch);
		const key = (x: Reading) => `${x.deviceId}/${x.metric}/${x.value}`;
		expect(ordered.map(key)).toEqual([
			'B-02/water_level_m/0',
			'B-02/water_level_m/1',
			'B-02/water_level_m/2',
			'B-02/battery_v/3',
			'B-02/battery_v/3.1',
			'B-02/battery_v/3.2',
			'A-01/water_level_m/0',
			'A-01/water_level_m/1',
			'A-01/water_level_m/2',
			'A-01/battery_v/3',
			'A-01/battery_v/3.1',
			'A-01/battery_v/3.2'
		]);
		// The same rows, each once, and the caller's array untouched.
		expect([...ordered].sort((a, b) => key(a).localeCompare(key(b)))).toEqual([...batch].sort((a, b) => key(a).localeCompare(key(b))));
		expect(batch[1].metric).toBe('battery_v');
	});

	it('keeps a duplicated observation in arrival order, so the first copy is the one stored', () => {
		const first = r('D-01', 'rain_mm', 5, 1);
		const copy = { ...r('D-01', 'rain_mm', 5, 101) };
		const { ordered } = batchGroups([first, r('D-02', 'rain_mm', 5, 2), copy]);
		expect(ordered.indexOf(first)).toBeLessThan(ordered.indexOf(copy));
	});

	it('keeps a series together when its rows fall in several hours', () => {
		// A backlog: B-01's rows cross the hour (its later hours are kept apart from its first in the grouping pass).
		const batch = [r('B-01', 'rain_mm', 50, 1), r('C-01', 'rain_mm', 50, 9), r('B-01', 'rain_mm', 70, 2), r('B-01', 'rain_mm', 130, 3), r('C-01', 'rain_mm', 51, 8)];
		const { ordered, hourly } = batchGroups(batch);
		expect(ordered.map((x) => `${x.deviceId}:${x.value}`)).toEqual(['B-01:1', 'B-01:2', 'B-01:3', 'C-01:9', 'C-01:8']);
		expect(hourly.filter((g) => g.deviceId === 'B-01').map((g) => (g.bucket - T0) / H)).toEqual([0, 1, 2]);
	});

	it('returns an empty batch as it is', () => {
		const { ordered, hourly, latest, seen } = batchGroups([]);
		expect(ordered).toEqual([]);
		expect([hourly.length, latest.length, seen.size]).toEqual([0, 0, 0]);
	});

	it('returns the batch itself when no series has a second row', () => {
		const batch = [r('A-01', 'water_level_m', 1, 1), r('A-01', 'battery_v', 1, 3.9), r('B-01', 'water_level_m', 1, 2)];
		expect(batchGroups(batch).ordered).toBe(batch);
	});

	it('forms hourly groups, the newest reading per series and each device’s last receipt in the same pass', () => {
		const batch = [
			r('A-01', 'water_level_m', 59, 2.0),
			r('A-01', 'water_level_m', 61, 2.4), // the next hour
			r('A-01', 'water_level_m', 30, 1.0),
			r('B-01', 'water_level_m', 5, 7.0)
		];
		const { hourly, latest, seen } = batchGroups(batch);
		const a = hourly.filter((g) => g.deviceId === 'A-01').map((g) => ({ bucket: g.bucket - T0, n: g.n, sum: g.sum, min: g.min, max: g.max, last: g.lastValue }));
		expect(a).toEqual([
			{ bucket: 0, n: 2, sum: 3.0, min: 1.0, max: 2.0, last: 2.0 },
			{ bucket: H, n: 1, sum: 2.4, min: 2.4, max: 2.4, last: 2.4 }
		]);
		expect(latest.map((x) => `${x.deviceId}:${x.value}`)).toEqual(['A-01:2.4', 'B-01:7']);
		expect(seen.get('A-01')!.getTime()).toBe(T0 + 61 * 60_000 + 500);
	});
});
