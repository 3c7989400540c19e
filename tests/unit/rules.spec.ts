// Unit tests for src/lib/domain/rules.ts: every rule at, just below and just above each DOMAIN.md default, hysteresis
// (immediate rise, clear only below the clear value, no flapping), min_repeats for tilt/crack, rain window edges,
// river rise windows, late readings replayed in time order, missing baselines, and no NaN anywhere.
import { describe, expect, it } from 'vitest';
import {
	DEFAULT_THRESHOLDS,
	LEVEL_RANK,
	RULE_IDS,
	effectiveThresholds,
	evaluate,
	readingTimes,
	replay,
	replaySeries,
	rulesFor,
	toSeries,
	tiltPct,
	worstLevel,
	type EvaluateInput,
	type HistoryPoint,
	type RuleId,
	type RuleLevel,
	type RuleResult
} from '../../src/lib/domain/rules.js';
import { SENSOR_KINDS, type SensorKind } from '../../src/lib/domain/types.js';
import { KIND_METRICS } from '../../src/lib/domain/metrics.js';
import fc from 'fast-check';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const AT = Date.parse('2024-07-01T12:00:00Z');

/** A reading `offsetMs` before AT (negative = earlier). */
const p = (metric: string, offsetMs: number, value: number): HistoryPoint => ({ metric, t: AT + offsetMs, value });

function sut(input: Partial<EvaluateInput> & { kind: SensorKind; history: HistoryPoint[] }): RuleResult[] {
	return evaluate({ at: AT, ...input });
}

function one(results: RuleResult[], rule: RuleId): RuleResult {
	const r = results.find((x) => x.rule === rule);
	if (!r) throw new Error(`no result for ${rule}`);
	return r;
}

/** Degrees of resultant tilt that give `pct` %. */
const degFor = (pct: number): number => (Math.atan(pct / 100) * 180) / Math.PI;

const RIVER = {
	normal_level_m: 2.1,
	warning_level_m: 3.5,
	guarantee_level_m: 4.2,
	rise_per_15min_m: 0.3,
	rise_per_hour_m: 0.5
};

describe('rulesFor and levels', () => {
	it.each<[SensorKind, RuleId[]]>([
		['river_level', ['level', 'rise_15min', 'rise_1h', 'battery_low']],
		['house_tilt', ['tilt', 'battery_low']],
		['crack', ['crack', 'battery_low']],
		['settlement', ['settlement_rate', 'battery_low']],
		['rain_gauge', ['rain_1h', 'rain_3h', 'rain_6h', 'rain_24h', 'battery_low']],
		['displacement', ['displacement_rate', 'battery_low']],
		['soil_moisture', ['soil_moisture', 'battery_low']]
	])('%s → %j', (kind, rules) => {
		expect(rulesFor(kind)).toEqual(rules);
	});

	it('covers every rule id with some kind, and throws for an unknown kind', () => {
		const used = new Set(SENSOR_KINDS.flatMap((k) => rulesFor(k)));
		expect([...used].sort()).toEqual([...RULE_IDS].sort());
		expect(() => rulesFor('volcano' as SensorKind)).toThrow(RangeError);
	});

	it('evaluate returns one result per rule, in rulesFor order', () => {
		for (const kind of SENSOR_KINDS) {
			expect(sut({ kind, history: [] }).map((r) => r.rule)).toEqual(rulesFor(kind));
		}
	});

	it('ranks normal < blue < yellow < orange < red', () => {
		expect(LEVEL_RANK).toEqual({ normal: 0, blue: 1, yellow: 2, orange: 3, red: 4 });
	});

	it.each<[string[], string]>([
		[[], 'normal'],
		[['normal'], 'normal'],
		[['unknown'], 'normal'],
		[['blue', 'unknown', 'normal'], 'blue'],
		[['yellow', 'red', 'orange'], 'red'],
		[['orange', 'blue', 'offline', 'maintenance'], 'orange']
	])('worstLevel(%j) = %s', (levels, worst) => {
		expect(worstLevel(levels)).toBe(worst);
	});
});

describe('DEFAULT_THRESHOLDS', () => {
	it('carries the DOMAIN.md defaults', () => {
		const v = (x: { value: number | null }): number | null => x.value;
		const t = DEFAULT_THRESHOLDS.house_tilt.tilt_pct;
		expect([v(t.blue), v(t.yellow), v(t.orange), v(t.red)]).toEqual([0.4, 0.7, 2, 3]);
		const c = DEFAULT_THRESHOLDS.crack.change_mm;
		expect([v(c.yellow), v(c.orange), v(c.red)]).toEqual([1, 2, 5]);
		expect(v(DEFAULT_THRESHOLDS.settlement.rate_mm_per_month.yellow)).toBe(4);
		const rain = DEFAULT_THRESHOLDS.rain_gauge.sum_mm;
		const row = (w: keyof typeof rain): (number | null)[] => (['blue', 'yellow', 'orange', 'red'] as const).map((l) => v(rain[w][l]));
		expect(row('1h')).toEqual([35, 45, 60, 80]);
		expect(row('3h')).toEqual([55, 75, 100, 120]);
		expect(row('6h')).toEqual([70, 95, 120, 150]);
		expect(row('24h')).toEqual([100, 130, 160, 200]);
		// River station levels are per station: no invented default.
		expect(v(DEFAULT_THRESHOLDS.river_level.warning_level_m)).toBeNull();
		expect(v(DEFAULT_THRESHOLDS.river_level.guarantee_level_m)).toBeNull();
		expect(v(DEFAULT_THRESHOLDS.device.battery.low_v)).toBe(3.4);
		expect(v(DEFAULT_THRESHOLDS.device.battery.low_pct)).toBe(15);
	});

	it.each([...SENSOR_KINDS])('every %s default has a unit and a non-empty source', (kind) => {
		const rows = effectiveThresholds(kind, null);
		expect(rows.length).toBeGreaterThan(0);
		for (const r of rows) {
			expect(r.source.length, r.path).toBeGreaterThan(3);
			expect(r.overridden).toBe(false);
		}
	});

	it('names the standards the UI shows beside tilt values', () => {
		const rows = effectiveThresholds('house_tilt', null);
		expect(rows.find((r) => r.path === 'tilt_pct.blue')?.source).toContain('GB 50007');
		expect(rows.find((r) => r.path === 'tilt_pct.yellow')?.source).toContain('JGJ 125');
		expect(rows.find((r) => r.path === 'tilt_pct.red')?.source).toContain('2022');
		expect(effectiveThresholds('rain_gauge', null).find((r) => r.path === 'sum_mm.1h.red')?.source).toContain('Jianghua');
	});

	it('effectiveThresholds shows a valid override and ignores a bad one', () => {
		const rows = effectiveThresholds('rain_gauge', { sum_mm: { '1h': { red: 70, orange: 'lots' } } });
		expect(rows.find((r) => r.path === 'sum_mm.1h.red')).toMatchObject({ value: 70, default: 80, overridden: true });
		expect(rows.find((r) => r.path === 'sum_mm.1h.orange')).toMatchObject({ value: 60, overridden: false });
		expect(rows.find((r) => r.path === 'battery.low_v')).toMatchObject({ value: 3.4 });
	});
});

describe('tilt: tan θ × 100 of the resultant change from baseline', () => {
	const baseline = { tilt_x_deg: 0.1, tilt_y_deg: -0.05 };
	/** Two identical readings (min_repeats satisfied) whose resultant change from baseline is `pct` %. */
	const tilted = (pct: number): HistoryPoint[] => {
		const d = degFor(pct);
		return [-10 * MIN, 0].flatMap((o) => [p('tilt_x_deg', o, baseline.tilt_x_deg + 0.6 * d), p('tilt_y_deg', o, baseline.tilt_y_deg + 0.8 * d)]);
	};

	it('tiltPct uses the resultant of x and y', () => {
		expect(tiltPct(0, 0)).toBe(0);
		expect(tiltPct(0.6 * degFor(2), 0.8 * degFor(2))).toBeCloseTo(2, 12);
		expect(tiltPct(-degFor(3), 0)).toBeCloseTo(3, 12);
	});

	it.each<[number, RuleLevel]>([
		[0, 'normal'],
		[0.399, 'normal'],
		[0.4, 'blue'],
		[0.401, 'blue'],
		[0.699, 'blue'],
		[0.7, 'yellow'],
		[0.701, 'yellow'],
		[1.999, 'yellow'],
		[2, 'orange'],
		[2.001, 'orange'],
		[2.999, 'orange'],
		[3, 'red'],
		[3.001, 'red'],
		[12, 'red']
	])('%s %% → %s', (pct, level) => {
		const r = one(sut({ kind: 'house_tilt', baseline, history: tilted(pct) }), 'tilt');
		expect(r.level).toBe(level);
		expect(r.value).toBeCloseTo(pct, 9);
	});

	it('honours a per-sensor override of the tilt bands', () => {
		const thresholds = { tilt_pct: { blue: 0.2, yellow: 0.3, orange: 0.5, red: 1 } };
		expect(one(sut({ kind: 'house_tilt', baseline, thresholds, history: tilted(0.5) }), 'tilt').level).toBe('orange');
		expect(one(sut({ kind: 'house_tilt', baseline, thresholds, history: tilted(0.5) }), 'tilt').threshold).toBe(0.5);
	});

	it('carries one axis forward when a report holds only the other', () => {
		const d = degFor(3);
		const history = [
			p('tilt_x_deg', -20 * MIN, baseline.tilt_x_deg + d),
			p('tilt_y_deg', -20 * MIN, baseline.tilt_y_deg),
			p('tilt_y_deg', -10 * MIN, baseline.tilt_y_deg) // x carried forward: still 3 %
		];
		expect(one(sut({ kind: 'house_tilt', baseline, history }), 'tilt').level).toBe('red');
	});

	it.each<[string, Record<string, unknown> | null]>([
		['no baseline', null],
		['empty baseline', {}],
		['missing y', { tilt_x_deg: 0.1 }],
		['non-numeric', { tilt_x_deg: '0.1', tilt_y_deg: 0 }],
		['NaN', { tilt_x_deg: Number.NaN, tilt_y_deg: 0 }]
	])('%s → unknown, asks for calibration, never a made-up baseline', (_, b) => {
		const r = one(sut({ kind: 'house_tilt', baseline: b, history: tilted(5) }), 'tilt');
		expect(r.level).toBe('unknown');
		expect(r.detail).toContain('标定');
		expect(r.value).toBe(0);
		expect(r.threshold).toBeUndefined();
	});

	it('no tilt readings → unknown', () => {
		expect(one(sut({ kind: 'house_tilt', baseline, history: [] }), 'tilt').level).toBe('unknown');
	});
});

describe('tilt and crack: min_repeats before rising', () => {
	const baseline = { tilt_x_deg: 0, tilt_y_deg: 0 };
	/** Tilt readings of the given percentages, 10 minutes apart, the last at AT. */
	const series = (pcts: number[]): HistoryPoint[] =>
		pcts.flatMap((pct, i) => {
			const o = (i - pcts.length + 1) * 10 * MIN;
			return [p('tilt_x_deg', o, degFor(pct)), p('tilt_y_deg', o, 0)];
		});

	it.each<[string, number[], RuleLevel, Record<string, unknown>?]>([
		['one red reading is not enough', [3.5], 'normal'],
		['one red after normal readings', [0.1, 0.1, 3.5], 'normal'],
		['two red readings', [3.5, 3.5], 'red'],
		['yellow then red → the level both reach', [0.8, 3.5], 'yellow'],
		['red, normal, red: not consecutive', [3.5, 0.1, 3.5], 'normal'],
		['three required, two given', [3.5, 3.5], 'normal', { min_repeats: { tilt: 3 } }],
		['three required, three given', [3.5, 3.5, 3.5], 'red', { min_repeats: { tilt: 3 } }],
		['one required (a quiet sensor)', [3.5], 'red', { min_repeats: { tilt: 1 } }],
		['one required, as a number', [3.5], 'red', { min_repeats: 1 }],
		['an invalid min_repeats falls back to 2', [3.5], 'normal', { min_repeats: { tilt: 0 } }]
	])('%s', (_, pcts, level, thresholds) => {
		const r = one(sut({ kind: 'house_tilt', baseline, thresholds, history: series(pcts) }), 'tilt');
		expect(r.level).toBe(level);
		if (level === 'normal' && pcts[pcts.length - 1] > 3) expect(r.detail).toContain('需连续');
	});

	it('dropping is not delayed by min_repeats', () => {
		const r = one(sut({ kind: 'house_tilt', baseline, history: series([3.5, 3.5, 0.1]), previous: { tilt: 'red' } }), 'tilt');
		expect(r.level).toBe('normal');
	});

	it('a held level can rise again only after two readings at the higher level', () => {
		const previous = { tilt: 'yellow' as const };
		expect(one(sut({ kind: 'house_tilt', baseline, history: series([0.8, 3.5]), previous }), 'tilt').level).toBe('yellow');
		expect(one(sut({ kind: 'house_tilt', baseline, history: series([3.5, 3.5]), previous }), 'tilt').level).toBe('red');
	});

	it.each<[string, number[], RuleLevel]>([
		['crack: one 6 mm reading', [0.3 + 6], 'normal'],
		['crack: two 6 mm readings', [6.3, 6.3], 'red'],
		['crack: 1.2 then 6.3', [1.5, 6.3], 'yellow']
	])('%s', (_, widths, level) => {
		const history = widths.map((w, i) => p('crack_mm', (i - widths.length + 1) * 10 * MIN, w));
		expect(one(sut({ kind: 'crack', baseline: { crack_mm: 0.3 }, history }), 'crack').level).toBe(level);
	});
});

describe('crack: change from baseline', () => {
	const base = 0.3;
	const twice = (w: number): HistoryPoint[] => [p('crack_mm', -10 * MIN, w), p('crack_mm', 0, w)];

	it.each<[number, RuleLevel]>([
		[0, 'normal'],
		[0.999, 'normal'],
		[1, 'yellow'],
		[1.001, 'yellow'],
		[1.999, 'yellow'],
		[2, 'orange'],
		[2.001, 'orange'],
		[4.999, 'orange'],
		[5, 'red'],
		[5.001, 'red'],
		// A crack that closes by as much moved as much (absolute change).
		[-1, 'yellow'],
		[-0.25, 'normal']
	])('change %s mm → %s', (change, level) => {
		const r = one(sut({ kind: 'crack', baseline: { crack_mm: base }, history: twice(base + change) }), 'crack');
		expect(r.level).toBe(level);
		expect(r.value).toBeCloseTo(Math.abs(change), 9);
	});

	it.each<[string, Record<string, unknown> | null]>([
		['no baseline', null],
		['baseline without crack_mm', { tilt_x_deg: 0 }],
		['crack_mm null', { crack_mm: null }]
	])('%s → unknown with a calibration detail', (_, b) => {
		const r = one(sut({ kind: 'crack', baseline: b, history: twice(9) }), 'crack');
		expect(r).toMatchObject({ level: 'unknown', value: 0 });
		expect(r.detail).toContain('需先标定');
	});

	it('a zero baseline is a real baseline', () => {
		expect(one(sut({ kind: 'crack', baseline: { crack_mm: 0 }, history: twice(2) }), 'crack').level).toBe('orange');
	});
});

describe('river level: 警戒水位 → orange, 保证水位 → red', () => {
	const at = (v: number): HistoryPoint[] => [p('water_level_m', 0, v)];

	it.each<[number, RuleLevel]>([
		[2.1, 'normal'],
		[3.499, 'normal'],
		[3.5, 'orange'],
		[3.501, 'orange'],
		[4.199, 'orange'],
		[4.2, 'red'],
		[4.201, 'red']
	])('%s m → %s', (v, level) => {
		const r = one(sut({ kind: 'river_level', thresholds: RIVER, history: at(v) }), 'level');
		expect(r.level).toBe(level);
		expect(r.value).toBe(v);
	});

	it('an unconfigured station cannot be judged', () => {
		const r = one(sut({ kind: 'river_level', thresholds: {}, history: at(9) }), 'level');
		expect(r.level).toBe('unknown');
		expect(r.detail).toContain('警戒水位');
	});

	it('a station with only 警戒水位 can reach orange but not red', () => {
		expect(one(sut({ kind: 'river_level', thresholds: { warning_level_m: 3.5 }, history: at(9) }), 'level').level).toBe('orange');
	});

	it('uses the latest reading at or before `at`', () => {
		const history = [p('water_level_m', -10 * MIN, 4.5), p('water_level_m', -5 * MIN, 3.0), p('water_level_m', 5 * MIN, 5)];
		expect(one(sut({ kind: 'river_level', thresholds: RIVER, history }), 'level')).toMatchObject({ level: 'normal', value: 3 });
	});

	// Explicit 0.05 m river hysteresis: orange clears below 3.45, red drops below 4.15.
	it.each<[RuleLevel, number, RuleLevel]>([
		['orange', 3.46, 'orange'],
		['orange', 3.45, 'orange'],
		['orange', 3.449, 'normal'],
		['red', 4.16, 'red'],
		['red', 4.149, 'orange'],
		['red', 3.46, 'orange'],
		['red', 3.44, 'normal'],
		['normal', 3.49, 'normal'],
		['normal', 4.2, 'red']
	])('previous %s, %s m → %s', (prev, v, level) => {
		expect(one(sut({ kind: 'river_level', thresholds: RIVER, history: at(v), previous: { level: prev } }), 'level').level).toBe(level);
	});

	it('the river hysteresis is configurable', () => {
		const thresholds = { ...RIVER, hysteresis: { level: 0.2 } };
		expect(one(sut({ kind: 'river_level', thresholds, history: at(3.31), previous: { level: 'orange' } }), 'level').level).toBe('orange');
		expect(one(sut({ kind: 'river_level', thresholds, history: at(3.29), previous: { level: 'orange' } }), 'level').level).toBe('normal');
	});
});

describe('river rise: 15 min and 1 h windows → yellow', () => {
	const rise = (history: HistoryPoint[], rule: RuleId, previous?: EvaluateInput['previous']): RuleResult =>
		one(sut({ kind: 'river_level', thresholds: RIVER, history, previous }), rule);
	const w = (offsetMin: number, v: number): HistoryPoint => p('water_level_m', offsetMin * MIN, v);

	it.each<[string, HistoryPoint[], RuleLevel]>([
		['0.3 m over exactly 15 min (start edge inclusive)', [w(-15, 2), w(0, 2.3)], 'yellow'],
		['0.299 m over 15 min', [w(-15, 2), w(0, 2.299)], 'normal'],
		['0.301 m over 15 min', [w(-15, 2), w(0, 2.301)], 'yellow'],
		['0.3 m within 10 min (a lower bound of the 15-min rise)', [w(-10, 2), w(0, 2.3)], 'yellow'],
		['falling water', [w(-15, 2.3), w(0, 2)], 'normal'],
		['reference is the reading nearest at − 15 min', [w(-15, 2.0), w(-10, 2.2), w(-5, 2.25), w(0, 2.3)], 'yellow'],
		['a reading before the window is not used', [w(-16, 1.0), w(-5, 2.1), w(0, 2.2)], 'normal']
	])('rise_15min: %s', (_, history, level) => {
		expect(rise(history, 'rise_15min').level).toBe(level);
	});

	it.each<[string, HistoryPoint[]]>([
		['only one reading', [w(0, 3)]],
		['one reading inside, one before the window', [w(-16, 2), w(0, 2.5)]],
		['no readings', []]
	])('rise_15min needs ≥ 2 readings in the window: %s → unknown', (_, history) => {
		const r = rise(history, 'rise_15min');
		expect(r.level).toBe('unknown');
		expect(r.detail).toContain('不足 2 个');
	});

	it.each<[string, HistoryPoint[], RuleLevel]>([
		['0.5 m over exactly 1 h', [w(-60, 2), w(0, 2.5)], 'yellow'],
		['0.499 m over 1 h', [w(-60, 2), w(-30, 2.2), w(0, 2.499)], 'normal'],
		['0.501 m over 1 h', [w(-60, 2), w(0, 2.501)], 'yellow'],
		['the 61-min reading is outside; reference at −45 min', [w(-61, 1), w(-45, 2.1), w(0, 2.5)], 'normal']
	])('rise_1h: %s', (_, history, level) => {
		expect(rise(history, 'rise_1h').level).toBe(level);
	});

	it('a slow steady rise trips the hour rule but not the 15-minute one', () => {
		const history = [0, 15, 30, 45, 60].map((m) => w(m - 60, 2 + (0.5 * m) / 60));
		expect(rise(history, 'rise_15min').level).toBe('normal');
		expect(rise(history, 'rise_1h').level).toBe('yellow');
	});

	it('rise hysteresis: 5 % of 0.3 m', () => {
		expect(rise([w(-15, 2), w(0, 2.29)], 'rise_15min', { rise_15min: 'yellow' }).level).toBe('yellow');
		expect(rise([w(-15, 2), w(0, 2.28)], 'rise_15min', { rise_15min: 'yellow' }).level).toBe('normal');
	});
});

describe('rain: rolling sums over (at − window, at]', () => {
	const WINDOWS = { rain_1h: HOUR, rain_3h: 3 * HOUR, rain_6h: 6 * HOUR, rain_24h: 24 * HOUR } as const;
	const BANDS: Record<keyof typeof WINDOWS, [number, number, number, number]> = {
		rain_1h: [35, 45, 60, 80],
		rain_3h: [55, 75, 100, 120],
		rain_6h: [70, 95, 120, 150],
		rain_24h: [100, 130, 160, 200]
	};
	const LV = ['blue', 'yellow', 'orange', 'red'] as const;
	const cases: [keyof typeof WINDOWS, number, RuleLevel][] = [];
	for (const rule of Object.keys(BANDS) as (keyof typeof WINDOWS)[]) {
		BANDS[rule].forEach((thr, i) => {
			cases.push([rule, thr - 0.1, i === 0 ? 'normal' : LV[i - 1]]);
			cases.push([rule, thr, LV[i]]);
			cases.push([rule, thr + 0.1, LV[i]]);
		});
	}

	it.each(cases)('%s sum %s mm → %s', (rule, sum, level) => {
		// Split into two reports inside the window so the rule really sums.
		const history = [p('rain_mm', -WINDOWS[rule] + MIN, sum / 2), p('rain_mm', 0, sum / 2)];
		const r = one(sut({ kind: 'rain_gauge', history }), rule);
		expect(r.level).toBe(level);
		expect(r.value).toBeCloseTo(sum, 9);
	});

	it('each window is judged separately', () => {
		// 50 mm in the last hour, 130 mm spread over the day.
		const history = [p('rain_mm', -20 * HOUR, 80), p('rain_mm', -10 * MIN, 50)];
		const levels = Object.fromEntries(sut({ kind: 'rain_gauge', history }).map((r) => [r.rule, r.level]));
		expect(levels).toMatchObject({ rain_1h: 'yellow', rain_3h: 'normal', rain_6h: 'normal', rain_24h: 'yellow' });
	});

	it.each<[string, number, RuleId, number | null]>([
		['a report exactly at at − 1 h is outside the 1 h window (start exclusive)', -HOUR, 'rain_1h', null],
		['… and inside the 3 h window', -HOUR, 'rain_3h', 40],
		['a report exactly at `at` is inside (end inclusive)', 0, 'rain_1h', 40],
		['a report just after at − 1 h is inside', -HOUR + 1, 'rain_1h', 40],
		['a report exactly at at − 24 h is outside the 24 h window', -DAY, 'rain_24h', null],
		['a report after `at` is not yet known', 1, 'rain_1h', null]
	])('%s', (_, offset, rule, sum) => {
		const r = one(sut({ kind: 'rain_gauge', history: [p('rain_mm', offset, 40)] }), rule);
		if (sum === null) expect(r.level).toBe('unknown');
		else expect(r.value).toBe(sum);
	});

	it('many small reports that add up to a threshold reach it despite float rounding', () => {
		const history = Array.from({ length: 450 }, (_, i) => p('rain_mm', -i * 5000, 0.1));
		expect(one(sut({ kind: 'rain_gauge', history }), 'rain_1h').level).toBe('yellow');
	});

	it('a dry hour with reports is normal; no reports at all is unknown', () => {
		expect(one(sut({ kind: 'rain_gauge', history: [p('rain_mm', -5 * MIN, 0)] }), 'rain_1h').level).toBe('normal');
		const r = one(sut({ kind: 'rain_gauge', history: [] }), 'rain_1h');
		expect(r.level).toBe('unknown');
		expect(r.detail).toContain('无雨量数据');
	});

	it('rain rises straight away: no repeat count', () => {
		expect(one(sut({ kind: 'rain_gauge', history: [p('rain_mm', 0, 80)] }), 'rain_1h').level).toBe('red');
	});

	it('uses the demo township shape for per-site overrides', () => {
		const thresholds = { sum_mm: { '1h': { blue: 10, yellow: 20, orange: 30, red: 40 } } };
		expect(one(sut({ kind: 'rain_gauge', thresholds, history: [p('rain_mm', 0, 25)] }), 'rain_1h').level).toBe('yellow');
		// Other windows keep their defaults.
		expect(one(sut({ kind: 'rain_gauge', thresholds, history: [p('rain_mm', 0, 25)] }), 'rain_3h').level).toBe('normal');
	});
});

describe('settlement, displacement, soil moisture', () => {
	it.each<[number, RuleLevel]>([
		[3.999, 'normal'],
		[4, 'normal'], // DOMAIN.md "> 4 mm/month": strict
		[4.001, 'yellow'],
		[-4.5, 'yellow'], // heave is as abnormal as settlement
		[20, 'yellow']
	])('settlement change %s mm in 30 days → %s', (change, level) => {
		const history = [p('settlement_mm', -30 * DAY, 10), p('settlement_mm', 0, 10 + change)];
		expect(one(sut({ kind: 'settlement', history }), 'settlement_rate').level).toBe(level);
	});

	it('settlement: the 30-day window starts inclusive; older readings are outside', () => {
		const out = [p('settlement_mm', -30 * DAY - 1, 0), p('settlement_mm', 0, 10)];
		expect(one(sut({ kind: 'settlement', history: out }), 'settlement_rate').level).toBe('unknown');
		const inside = [p('settlement_mm', -30 * DAY - 1, 0), p('settlement_mm', -20 * DAY, 5), p('settlement_mm', 0, 10)];
		expect(one(sut({ kind: 'settlement', history: inside }), 'settlement_rate')).toMatchObject({ level: 'yellow', value: 5 });
	});

	it.each<[number, RuleLevel]>([
		[4.999, 'normal'],
		[5, 'yellow'],
		[5.001, 'yellow'],
		[9.999, 'yellow'],
		[10, 'orange'],
		[10.001, 'orange'],
		[19.999, 'orange'],
		[20, 'red'],
		[20.001, 'red'],
		[-25, 'red']
	])('displacement change %s mm in 24 h → %s', (change, level) => {
		const history = [p('displacement_mm', -DAY, 100), p('displacement_mm', -12 * HOUR, 100), p('displacement_mm', 0, 100 + change)];
		expect(one(sut({ kind: 'displacement', history }), 'displacement_rate').level).toBe(level);
	});

	it('displacement with one reading in the day is unknown', () => {
		const history = [p('displacement_mm', -DAY - 1, 0), p('displacement_mm', 0, 50)];
		expect(one(sut({ kind: 'displacement', history }), 'displacement_rate').level).toBe('unknown');
	});

	it.each<[number, RuleLevel]>([
		[39.999, 'normal'],
		[40, 'yellow'],
		[40.001, 'yellow'],
		[44.999, 'yellow'],
		[45, 'orange'],
		[45.001, 'orange'],
		[49.999, 'orange'],
		[50, 'red'],
		[50.001, 'red']
	])('soil moisture %s %% → %s', (v, level) => {
		expect(one(sut({ kind: 'soil_moisture', history: [p('soil_moisture_pct', 0, v)] }), 'soil_moisture').level).toBe(level);
	});
});

describe('battery_low: device health is blue', () => {
	it.each<[string, HistoryPoint[], RuleLevel]>([
		['3.4 V is not low (strict <)', [p('battery_v', 0, 3.4)], 'normal'],
		['3.399 V is low', [p('battery_v', 0, 3.399)], 'blue'],
		['3.7 V', [p('battery_v', 0, 3.7)], 'normal'],
		['15 % is not low (strict <)', [p('battery_pct', 0, 15)], 'normal'],
		['14.9 % is low', [p('battery_pct', 0, 14.9)], 'blue'],
		['voltage fine but percentage low', [p('battery_v', 0, 3.8), p('battery_pct', 0, 10)], 'blue'],
		['nothing reported', [], 'unknown']
	])('%s', (_, history, level) => {
		const r = one(sut({ kind: 'crack', baseline: { crack_mm: 0 }, history }), 'battery_low');
		expect(r.level).toBe(level);
		if (level === 'blue') expect(r.detail).toContain('电量低');
	});

	it.each<[number, RuleLevel]>([
		[3.5, 'blue'], // below the clear value 3.4 × 1.05 = 3.57
		[3.57, 'blue'],
		[3.58, 'normal']
	])('hysteresis: previously low, %s V → %s', (v, level) => {
		const r = one(sut({ kind: 'rain_gauge', history: [p('battery_v', 0, v)], previous: { battery_low: 'blue' } }), 'battery_low');
		expect(r.level).toBe(level);
	});

	it('never goes above blue', () => {
		const r = one(sut({ kind: 'river_level', history: [p('battery_v', 0, 0.1), p('battery_pct', 0, 0)] }), 'battery_low');
		expect(r.level).toBe('blue');
	});
});

describe('hysteresis (soil moisture: 5 % of each threshold, no repeat count)', () => {
	// Clear values: yellow 40 → 38, orange 45 → 42.75, red 50 → 47.5.
	it.each<[RuleLevel, number, RuleLevel]>([
		['normal', 39.9, 'normal'],
		['normal', 50, 'red'], // rising is immediate, skipping levels
		['yellow', 50, 'red'],
		['yellow', 39, 'yellow'], // below threshold, above clear: held
		['yellow', 38, 'yellow'], // exactly at the clear value: held
		['yellow', 37.99, 'normal'],
		['orange', 43, 'orange'],
		['orange', 42.7, 'yellow'], // below orange clear, still above yellow's threshold
		['orange', 38.5, 'yellow'], // below orange clear, above yellow clear: one level down
		['orange', 37, 'normal'],
		['red', 48, 'red'],
		['red', 47, 'orange'], // drops one level, not to the raw level
		['red', 44, 'orange'],
		['red', 42, 'yellow'],
		['red', 10, 'normal'],
		['unknown', 39, 'normal'] // unknown previous counts as normal
	])('previous %s, %s %% → %s', (prev, v, level) => {
		const r = one(sut({ kind: 'soil_moisture', history: [p('soil_moisture_pct', 0, v)], previous: { soil_moisture: prev } }), 'soil_moisture');
		expect(r.level).toBe(level);
		if (prev === 'yellow' && v === 39) expect(r.detail).toContain('解除值');
	});

	it('an explicit hysteresis overrides the 5 %', () => {
		const thresholds = { hysteresis: { soil_moisture: 5 } };
		const at = (v: number): RuleLevel =>
			one(sut({ kind: 'soil_moisture', thresholds, history: [p('soil_moisture_pct', 0, v)], previous: { soil_moisture: 'yellow' } }), 'soil_moisture').level;
		expect(at(35.5)).toBe('yellow');
		expect(at(34.9)).toBe('normal');
	});

	it('noise around a threshold does not flap', () => {
		const noisy = [39.5, 40.2, 39.1, 40.4, 38.6, 40.1, 39.0, 38.9, 40.3, 39.4];
		const history = noisy.map((v, i) => p('soil_moisture_pct', i * 15 * MIN, v));
		const levels = replay({ kind: 'soil_moisture', history }, readingTimes(history)).levels.soil_moisture!;
		expect(levels).toEqual(['normal', ...Array(9).fill('yellow')]);
		// Without hysteresis the same noise flaps on almost every reading.
		const flappy = replay({ kind: 'soil_moisture', thresholds: { hysteresis: { soil_moisture: 0 } }, history }, readingTimes(history));
		const changes = flappy.levels.soil_moisture!.filter((l, i, a) => i > 0 && l !== a[i - 1]).length;
		expect(changes).toBeGreaterThanOrEqual(6);
	});

	it('noise around a tilt threshold neither flaps nor rises on a single spike', () => {
		const pcts = [0.68, 0.71, 0.69, 0.72, 0.71, 0.68, 0.69, 0.72, 0.5];
		const history = pcts.flatMap((pct, i) => [p('tilt_x_deg', i * 10 * MIN, degFor(pct)), p('tilt_y_deg', i * 10 * MIN, 0)]);
		const input = { kind: 'house_tilt' as const, baseline: { tilt_x_deg: 0, tilt_y_deg: 0 }, history };
		// The first reading alone confirms nothing; blue until two consecutive ≥ 0.7 (readings 4 and 5), yellow held
		// through the dips above the clear value 0.665, blue again at 0.5.
		expect(replay(input, readingTimes(history)).levels.tilt).toEqual([
			'normal',
			'blue',
			'blue',
			'blue',
			'yellow',
			'yellow',
			'yellow',
			'yellow',
			'blue'
		]);
	});
});

describe('replay and late readings', () => {
	const thresholds = RIVER;
	/** A flood wave: rises 0.1 m every 5 minutes to a crest, then falls. */
	const wave: HistoryPoint[] = Array.from({ length: 30 }, (_, i) => {
		const v = i <= 20 ? 2.5 + 0.1 * i : 4.5 - 0.12 * (i - 20);
		return p('water_level_m', (i - 29) * 5 * MIN, Math.round(v * 1000) / 1000);
	});

	it('any order of history gives the same replay', () => {
		const times = readingTimes(wave);
		const sorted = replay({ kind: 'river_level', thresholds, history: wave }, times);
		const shuffled = [...wave].sort((a, b) => ((a.t * 7919) % 13) - ((b.t * 7919) % 13) || b.t - a.t);
		expect(shuffled).not.toEqual(wave);
		expect(replay({ kind: 'river_level', thresholds, history: shuffled }, [...times].reverse())).toEqual(sorted);
	});

	it('a backlog replayed after an outage equals evaluating each reading as it arrived', () => {
		let previous: EvaluateInput['previous'] = {};
		const live: Record<string, RuleLevel>[] = [];
		for (let i = 0; i < wave.length; i++) {
			const results = evaluate({ kind: 'river_level', thresholds, history: wave.slice(0, i + 1), at: wave[i].t, previous });
			live.push(Object.fromEntries(results.map((r) => [r.rule, r.level])));
			// The caller's contract: carry each rule's last known level forward ('unknown' is no evidence).
			previous = { ...previous, ...Object.fromEntries(results.filter((r) => r.level !== 'unknown').map((r) => [r.rule, r.level])) };
		}
		const backlog = replay({ kind: 'river_level', thresholds, history: [...wave].reverse() }, readingTimes(wave));
		const perStep = backlog.steps.map((s) => Object.fromEntries(s.map((r) => [r.rule, r.level])));
		expect(perStep).toEqual(live);
		// The wave really goes through the interesting states.
		expect(new Set(backlog.levels.level)).toEqual(new Set(['normal', 'orange', 'red']));
		expect(backlog.levels.rise_15min).toContain('yellow');
	});

	it('a late reading changes the replay exactly as if it had arrived on time', () => {
		const onTime = [p('crack_mm', -30 * MIN, 0.3), p('crack_mm', -20 * MIN, 2.5), p('crack_mm', -10 * MIN, 2.6), p('crack_mm', 0, 0.4)];
		const withoutLate = onTime.filter((_, i) => i !== 1);
		const input = { kind: 'crack' as const, baseline: { crack_mm: 0.3 } };
		const before = replay({ ...input, history: withoutLate }, readingTimes(withoutLate));
		expect(before.levels.crack).toEqual(['normal', 'normal', 'normal']); // a single 2.6 mm reading is not confirmed
		// The −20 min reading arrives late: replay from the earliest affected time with the full history.
		const after = replay({ ...input, history: [...withoutLate, onTime[1]] }, readingTimes(onTime));
		// With it, −20 and −10 min are two consecutive orange readings: orange is confirmed at −10 min.
		expect(after.levels.crack).toEqual(['normal', 'normal', 'orange', 'normal']);
		expect(after).toEqual(replay({ ...input, history: onTime }, readingTimes(onTime)));
	});

	it('replay carries the previous level through unknown steps', () => {
		const history = [p('rain_mm', -3 * HOUR, 90)];
		const r = replay({ kind: 'rain_gauge', history }, [AT - 3 * HOUR, AT - 90 * MIN, AT]);
		expect(r.levels.rain_1h).toEqual(['red', 'unknown', 'unknown']);
		expect(r.last.rain_1h).toBe('red');
		expect(r.levels.rain_3h).toEqual(['yellow', 'yellow', 'unknown']);
	});

	it('replay starts from the given previous state and de-duplicates times', () => {
		const history = [p('soil_moisture_pct', 0, 39)];
		const r = replay({ kind: 'soil_moisture', history, previous: { soil_moisture: 'yellow' } }, [AT, AT, Number.NaN]);
		expect(r.times).toEqual([AT]);
		expect(r.levels.soil_moisture).toEqual(['yellow']);
	});

	it('a duplicate delivery of the same reading changes nothing', () => {
		const history = [p('crack_mm', -10 * MIN, 2.5), p('crack_mm', 0, 2.5)];
		const dup = [...history, { ...history[1] }];
		const input = { kind: 'crack' as const, baseline: { crack_mm: 0.3 } };
		expect(evaluate({ ...input, history: dup, at: AT })).toEqual(evaluate({ ...input, history, at: AT }));
	});
});

describe('NaN-free', () => {
	const junkThresholds: unknown[] = [
		null,
		undefined,
		{},
		{ tilt_pct: 'x', change_mm: { yellow: Number.NaN }, sum_mm: { '1h': null }, warning_level_m: Infinity, hysteresis: { tilt: -1 } },
		{ rate_mm_per_day: { yellow: '5' }, pct: [], battery: { low_v: Number.NaN }, min_repeats: 'two' }
	];
	const junkHistory: HistoryPoint[] = [
		p('water_level_m', 0, Number.NaN),
		p('tilt_x_deg', 0, Infinity),
		p('tilt_y_deg', Number.NaN, 1),
		p('crack_mm', -MIN, -Infinity),
		p('rain_mm', 0, Number.NaN),
		p('battery_v', 0, Number.NaN),
		p('settlement_mm', 0, Number.NaN),
		p('soil_moisture_pct', 0, Number.NaN)
	];
	const goodHistory: HistoryPoint[] = [
		p('water_level_m', -20 * MIN, 3),
		p('water_level_m', 0, 4),
		p('tilt_x_deg', -10 * MIN, 1),
		p('tilt_y_deg', -10 * MIN, 1),
		p('tilt_x_deg', 0, 1),
		p('tilt_y_deg', 0, 1),
		p('crack_mm', -10 * MIN, 3),
		p('crack_mm', 0, 3),
		p('rain_mm', 0, 50),
		p('settlement_mm', -DAY, 0),
		p('settlement_mm', 0, 5),
		p('displacement_mm', -HOUR, 0),
		p('displacement_mm', 0, 12),
		p('soil_moisture_pct', 0, 47),
		p('battery_v', 0, 3.1)
	];
	const cases = SENSOR_KINDS.flatMap((kind) =>
		junkThresholds.flatMap((thresholds, ti) =>
			[
				['junk only', junkHistory],
				['junk + good', [...junkHistory, ...goodHistory]]
			].map(([label, history]) => [kind, ti, label as string, history as HistoryPoint[], thresholds] as const)
		)
	);

	it.each(cases)('%s, thresholds #%s, %s: finite values, no NaN in details', (kind, _ti, _label, history, thresholds) => {
		for (const baseline of [null, { tilt_x_deg: 0, tilt_y_deg: Number.NaN, crack_mm: 0 }, { tilt_x_deg: 0, tilt_y_deg: 0, crack_mm: 0 }]) {
			const results = evaluate({
				kind,
				thresholds: thresholds as Record<string, unknown>,
				baseline,
				history,
				at: AT,
				previous: { level: 'red', tilt: 'orange' }
			});
			for (const r of results) {
				expect(Number.isFinite(r.value), `${r.rule} value`).toBe(true);
				if (r.threshold !== undefined) expect(Number.isFinite(r.threshold), `${r.rule} threshold`).toBe(true);
				expect(r.detail).not.toMatch(/NaN|Infinity|undefined/);
				expect(['normal', 'blue', 'yellow', 'orange', 'red', 'unknown']).toContain(r.level);
			}
		}
	});

	it('junk thresholds fall back to the defaults', () => {
		const r = one(
			sut({ kind: 'soil_moisture', thresholds: { pct: { yellow: 'forty', orange: Number.NaN } }, history: [p('soil_moisture_pct', 0, 46)] }),
			'soil_moisture'
		);
		expect(r).toMatchObject({ level: 'orange', threshold: 45 });
	});
});

describe('replay against evaluate, step by step (property)', () => {
	// replay() sorts the history once and cuts it at each step; this checks it against the plain definition: evaluate
	// at each time with the levels carried from the step before, for every kind, over random histories with
	// duplicate times, unsorted input, NaN values, readings after the last judged time and random thresholds.
	it('gives the same results as evaluate() at each time with the carried levels', () => {
		const metricsOf = (kind: SensorKind) => [...new Set([...(KIND_METRICS[kind] ?? []), 'battery_v'])];
		fc.assert(
			fc.property(
				fc.constantFrom(...SENSOR_KINDS),
				fc.array(fc.tuple(fc.nat(40), fc.integer({ min: -3 * 60, max: 10 }), fc.oneof(fc.double({ min: -50, max: 200, noNaN: true }), fc.constant(Number.NaN))), { maxLength: 60 }),
				fc.array(fc.integer({ min: -3 * 60, max: 10 }), { minLength: 1, maxLength: 12 }),
				fc.option(fc.double({ min: 0, max: 5, noNaN: true }), { nil: undefined }),
				(kind, raw, timeOffsets, hyst) => {
					const metrics = metricsOf(kind);
					const history: HistoryPoint[] = raw.map(([m, off, v]) => ({ metric: metrics[m % metrics.length], t: AT + off * MIN, value: v }));
					const thresholds = hyst === undefined ? {} : { hysteresis: Object.fromEntries(rulesFor(kind).map((r) => [r, hyst])) };
					const times = timeOffsets.map((o) => AT + o * MIN);
					const got = replay({ kind, thresholds, history }, times);
					const carried: Partial<Record<RuleId, RuleLevel>> = {};
					const want: RuleResult[][] = [];
					for (const at of [...new Set(times)].sort((a, b) => a - b)) {
						const res = evaluate({ kind, thresholds, history, at, previous: { ...carried } });
						for (const r of res) if (r.level !== 'unknown') carried[r.rule] = r.level;
						want.push(res);
					}
					expect(got.steps).toEqual(want);
					// The rule runner's call: the same history in Float64Array columns, as the history cache hands it.
					const columns = new Map([...toSeries(history)].map(([m, s]) => [m, { t: Float64Array.from(s.t), v: Float64Array.from(s.v) }]));
					expect(replaySeries({ kind, thresholds, series: columns }, times)).toEqual(got);
				}
			),
			{ numRuns: 400 }
		);
	});
});

describe('replaySeries', () => {
	it('puts right a series that breaks the contract (unsorted, a repeated time, NaN) as replay() would', () => {
		const thresholds = { warning_level_m: 3 };
		const history: HistoryPoint[] = [p('water_level_m', -5 * MIN, 3.2), p('water_level_m', -10 * MIN, 2), p('water_level_m', -5 * MIN, 3.4), p('water_level_m', -MIN, Number.NaN), p('battery_v', -2 * MIN, 3.3)];
		const times = [AT - 10 * MIN, AT - 5 * MIN, AT];
		const series = new Map([
			['water_level_m', { t: history.slice(0, 4).map((h) => h.t), v: history.slice(0, 4).map((h) => h.value) }],
			['battery_v', { t: [AT - 2 * MIN], v: [3.3] }]
		]);
		expect(replaySeries({ kind: 'river_level', thresholds, series }, times)).toEqual(replay({ kind: 'river_level', thresholds, history }, times));
	});
});

describe('details: the words the duty room reads', () => {
	// The detail is written when read (replay judges every step; the rule runner reads only the steps that change an
	// alarm): the words must be the same as if written at once, and survive JSON.
	it.each<[string, RuleResult, string]>([
		['held by hysteresis', one(sut({ kind: 'soil_moisture', history: [p('soil_moisture_pct', 0, 39)], previous: { soil_moisture: 'yellow' } }), 'soil_moisture'), '土壤含水率 39%，达到黄色阈值 40%，未越过解除值 38，保持黄色'],
		['waiting for repeats', one(sut({ kind: 'crack', baseline: { crack_mm: 0 }, history: [p('crack_mm', 0, 2.6)] }), 'crack'), '裂缝相对基准变化 2.6 mm，正常，达到橙色阈值 2 仅 1 次，需连续 2 次确认'],
		['battery low, prefixed', one(sut({ kind: 'crack', history: [p('battery_v', 0, 3.3)] }), 'battery_low'), '电量低：电池电压 3.3 V，低于蓝色阈值 3.4 V'],
		['battery fine, no prefix', one(sut({ kind: 'crack', history: [p('battery_v', 0, 3.9)] }), 'battery_low'), '电池电压 3.9 V，正常']
	])('%s', (_, r, words) => {
		expect(r.detail).toBe(words);
		expect(r.detail).toBe(words); // read twice: the same words
		expect(JSON.parse(JSON.stringify(r))).toEqual({ rule: r.rule, level: r.level, value: r.value, threshold: r.threshold, detail: words });
	});
});
