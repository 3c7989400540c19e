// Honest status (issue 22): the rules that decide whether a sensor is normal, without data, offline or unknown, and the
// colour that says "not safe, not known". The ingest's SQL follows these rules; tests/integration/honest-status.spec.ts
// holds it to them.
import { describe, expect, it } from 'vitest';
import { deviceStatusOnMessage, deviceStatusOnTimer, isMeasurement, isMeasuringStatus, lastMeasuredAt } from '../../src/lib/domain/device-health';
import { KIND_METRICS } from '../../src/lib/domain/metrics';
import { SENSOR_STATUSES, STATUS_COLOURS, STATUS_NAMES, STATUS_SEVERITY, STATUSES_WORST_FIRST, LEVELS } from '../../src/lib/domain/levels';
import { unknownKeyOf } from '../../ingest/writer';

describe('isMeasurement', () => {
	it.each([
		['river_level', 'water_level_m', true],
		['river_level', 'rssi_dbm', false],
		['river_level', 'snr_db', false],
		['river_level', 'battery_v', false],
		['river_level', 'battery_pct', false],
		['river_level', 'temperature_c', false],
		// Another kind's metric is not this sensor's measurement: a river gauge reporting a tilt is not measuring water.
		['river_level', 'tilt_x_deg', false],
		['house_tilt', 'tilt_x_deg', true],
		['house_tilt', 'tilt_y_deg', true],
		['rain_gauge', 'rain_mm', true],
		['no_such_kind', 'water_level_m', false],
		['toString', 'water_level_m', false]
	])('%s / %s → %s', (kind, metric, want) => {
		expect(isMeasurement(kind, metric)).toBe(want);
	});

	it('no kind counts a health metric as a measurement', () => {
		for (const kind of Object.keys(KIND_METRICS)) {
			for (const m of ['rssi_dbm', 'snr_db', 'battery_v', 'battery_pct']) expect(isMeasurement(kind, m), `${kind} ${m}`).toBe(false);
			expect(KIND_METRICS[kind].every((m) => isMeasurement(kind, m))).toBe(true);
		}
	});
});

describe('deviceStatusOnMessage', () => {
	it.each([
		// metadata only (or a stale measurement): never normal
		['unknown', false, 'no_data'],
		['offline', false, 'no_data'],
		['no_data', false, 'no_data'],
		// a fresh measurement revives
		['unknown', true, 'normal'],
		['offline', true, 'normal'],
		['no_data', true, 'normal'],
		// a measuring sensor keeps its status; the rules and the timer move it
		['normal', false, 'normal'],
		['red', false, 'red'],
		['orange', true, 'orange'],
		['maintenance', false, 'maintenance'],
		['maintenance', true, 'maintenance']
	])('%s + fresh measurement %s → %s', (status, fresh, want) => {
		expect(deviceStatusOnMessage(status, fresh)).toBe(want);
	});
});

describe('deviceStatusOnTimer', () => {
	const now = new Date('2026-12-08T02:00:00Z');
	const window = 30 * 60_000;
	const ago = (min: number) => new Date(now.getTime() - min * 60_000);
	it.each([
		// status, last seen (min ago), last measured (min ago), want
		['normal', 5, 5, 'normal'],
		['normal', 5, 40, 'no_data'], // metadata still arrives, the measurement is overdue
		['normal', 5, null, 'no_data'], // never measured, but talks
		['red', 5, 40, 'no_data'],
		['normal', 40, 40, 'offline'], // nothing at all within the window
		['no_data', 5, null, 'no_data'],
		['no_data', 40, null, 'offline'], // its metadata stopped too
		['yellow', 40, 40, 'offline'],
		['offline', 40, 40, 'offline'],
		['unknown', null, null, 'unknown'],
		['maintenance', 40, null, 'maintenance']
	] as const)('%s, seen %s min ago, measured %s min ago → %s', (status, seen, measured, want) => {
		expect(deviceStatusOnTimer({ status, lastSeen: seen === null ? null : ago(seen), lastMeasured: measured === null ? null : ago(measured), now, windowMs: window })).toBe(want);
	});

	it('never answers normal for a sensor whose measurement is overdue', () => {
		for (const status of SENSOR_STATUSES) {
			for (const seen of [null, 1, 29, 31, 600]) {
				const got = deviceStatusOnTimer({ status, lastSeen: seen === null ? null : ago(seen), lastMeasured: ago(31), now, windowMs: window });
				if (status !== 'normal') expect(got).not.toBe('normal');
				else if (seen !== null) expect(got).not.toBe('normal');
			}
		}
	});

	it('measuring statuses are normal and the levels; the rest say why nothing is measured', () => {
		expect(SENSOR_STATUSES.filter(isMeasuringStatus)).toEqual(['normal', ...LEVELS]);
	});
});

/** WCAG 2.x relative luminance and contrast ratio. */
function luminance(hex: string): number {
	const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
	return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function contrast(a: string, b: string): number {
	const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
	return (hi + 0.05) / (lo + 0.05);
}

describe('no_data status', () => {
	it('is named 无测量数据 / No measurement data and listed in legends after normal', () => {
		expect(STATUS_NAMES.no_data).toEqual({ zh: '无测量数据', en: 'No measurement data' });
		expect(STATUSES_WORST_FIRST).toContain('no_data');
	});

	it('has a colour clearly apart from green and from the offline and unknown greys, readable on white', () => {
		const c = STATUS_COLOURS.no_data;
		expect(contrast(c, '#ffffff')).toBeGreaterThanOrEqual(7);
		expect(contrast(c, STATUS_COLOURS.normal)).toBeGreaterThanOrEqual(3);
		expect(contrast(c, STATUS_COLOURS.offline)).toBeGreaterThanOrEqual(3);
		expect(contrast(c, STATUS_COLOURS.unknown)).toBeGreaterThanOrEqual(3);
		// no hue of its own: it cannot be taken for a warning level or for green
		const [r, g, b] = [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
		expect(Math.max(r, g, b) - Math.min(r, g, b)).toBeLessThan(16);
	});

	it('shows through a cluster of normal, offline and unknown sensors, below every alarm level', () => {
		for (const s of ['normal', 'offline', 'unknown', 'maintenance'] as const) expect(STATUS_SEVERITY.no_data).toBeGreaterThan(STATUS_SEVERITY[s]);
		for (const l of LEVELS) expect(STATUS_SEVERITY.no_data).toBeLessThan(STATUS_SEVERITY[l]);
	});
});

describe('unknownKeyOf (the key and sample of an unknown_metric dead letter)', () => {
	it.each([
		['{"metric":"depth","value":2}', { key: 'depth', sample: '2' }],
		['{"metric":"Bat","value":"3.384 V"}', { key: 'Bat', sample: '"3.384 V"' }],
		['{"metric":"data","value":{"a":1}}', { key: 'data', sample: '{"a":1}' }],
		// cut at 500 characters by the pipeline: the key is still read
		['{"metric":"we\\"ird","value":"' + 'x'.repeat(480), { key: 'we"ird', sample: null }],
		['not json', null],
		[undefined, null],
		['{"metric":"","value":1}', null]
	])('%s', (detail, want) => {
		expect(unknownKeyOf(detail)).toEqual(want);
	});
});

describe('lastMeasuredAt (the panel’s 最后测量)', () => {
	const v = (t: string) => ({ observed_at: t, value: 1, flags: 0 });
	it('takes a newer live measurement, never a radio or battery value', () => {
		expect(lastMeasuredAt('river_level', null, { rssi_dbm: v('2026-12-08T03:00:00.000Z'), battery_pct: v('2026-12-08T03:00:00.000Z') })).toBeNull();
		expect(lastMeasuredAt('river_level', null, { water_level_m: v('2026-12-08T03:00:00.000Z') })).toBe('2026-12-08T03:00:00.000Z');
		expect(lastMeasuredAt('river_level', '2026-12-08T04:00:00.000Z', { water_level_m: v('2026-12-08T03:00:00.000Z') })).toBe('2026-12-08T04:00:00.000Z');
		expect(lastMeasuredAt('house_tilt', '2026-12-08T01:00:00.000Z', { tilt_y_deg: v('2026-12-08T02:00:00.000Z'), rssi_dbm: v('2026-12-08T05:00:00.000Z') })).toBe('2026-12-08T02:00:00.000Z');
	});
});
