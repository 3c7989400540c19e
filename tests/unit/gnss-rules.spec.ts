// The GNSS surface-displacement rules (rules.ts gnss_cumulative, gnss_rate): horizontal cumulative displacement from
// the baseline against the slope's own marks, horizontal movement over 24 h against mm/day marks, and the improved
// tangent angle once the slope's uniform-phase rate is set; 2 solutions in a row before rising; a rule that has no
// marks or too few solutions says so instead of judging.
import { describe, expect, it } from 'vitest';
import { effectiveThresholds, evaluate, replay, readingTimes, type EvaluateInput, type HistoryPoint, type RuleId, type RuleResult } from '../../src/lib/domain/rules';
import { SENSOR_CASE_TITLES, CASE_CATEGORY_BY_KIND } from '../../src/lib/domain/incident-flow';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const AT = Date.parse('2026-07-01T12:00:00Z');

/** One GNSS solution `offsetMs` before AT: east, north, up in mm. */
const fix = (offsetMs: number, e: number, n: number, u = 0): HistoryPoint[] => [
	{ metric: 'gnss_east_mm', t: AT + offsetMs, value: e },
	{ metric: 'gnss_north_mm', t: AT + offsetMs, value: n },
	{ metric: 'gnss_up_mm', t: AT + offsetMs, value: u }
];

function sut(input: Partial<EvaluateInput> & { history: HistoryPoint[] }, rule: RuleId): RuleResult {
	const r = evaluate({ kind: 'gnss_displacement', at: AT, ...input }).find((x) => x.rule === rule);
	if (!r) throw new Error(`no result for ${rule}`);
	return r;
}

const MARKS = { horizontal_mm: { yellow: 30, orange: 60, red: 100 } };

describe('gnss_cumulative', () => {
	it('has no township-wide default: unknown until the slope is configured, saying what is missing', () => {
		const r = sut({ history: [...fix(-HOUR, 300, 400), ...fix(0, 300, 400)] }, 'gnss_cumulative');
		expect(r.level).toBe('unknown');
		expect(r.detail).toContain('horizontal_mm');
	});

	it.each([
		// [east, north, level]: √(e² + n²) against 30 / 60 / 100 mm
		[0, 0, 'normal'],
		[17.9, 23.9, 'normal'], // 29.86 mm
		[18, 24, 'yellow'], // 30 mm exactly reaches yellow
		[-36, 48, 'orange'], // 60 mm, any direction
		[60, -80, 'red'] // 100 mm
	] as const)('E %s N %s mm on two solutions → %s', (e, n, level) => {
		const r = sut({ thresholds: MARKS, history: [...fix(-HOUR, e, n), ...fix(0, e, n)] }, 'gnss_cumulative');
		expect(r.level).toBe(level);
		expect(r.value).toBeCloseTo(Math.hypot(e, n), 6);
	});

	it('judges horizontal movement only: the up component alone raises nothing', () => {
		const r = sut({ thresholds: MARKS, history: [...fix(-HOUR, 0, 0, -500), ...fix(0, 0, 0, -500)] }, 'gnss_cumulative');
		expect(r.level).toBe('normal');
	});

	it('needs two solutions in a row before rising (one jumpy epoch is not a landslide)', () => {
		const r = sut({ thresholds: MARKS, history: [...fix(-HOUR, 5, 5), ...fix(0, 80, 0)] }, 'gnss_cumulative');
		expect(r.level).toBe('normal');
		expect(r.detail).toMatch(/仅 1 次，需连续 2 次确认/);
	});

	it('counts from a calibrated baseline when one is set', () => {
		const baseline = { gnss_east_mm: 100, gnss_north_mm: 100 };
		const r = sut({ thresholds: MARKS, baseline, history: [...fix(-HOUR, 110, 100), ...fix(0, 110, 100)] }, 'gnss_cumulative');
		expect(r.value).toBeCloseTo(10, 6);
		expect(r.level).toBe('normal');
	});

	it('holds a level until the displacement falls below its clear value (5 %)', () => {
		const history = [...fix(-2 * HOUR, 60, 0), ...fix(-HOUR, 60, 0), ...fix(0, 58, 0)];
		expect(sut({ thresholds: MARKS, history, previous: { gnss_cumulative: 'orange' } }, 'gnss_cumulative').level).toBe('orange');
		const below = [...fix(-2 * HOUR, 60, 0), ...fix(-HOUR, 60, 0), ...fix(0, 56, 0)];
		expect(sut({ thresholds: MARKS, history: below, previous: { gnss_cumulative: 'orange' } }, 'gnss_cumulative').level).toBe('yellow');
	});

	it('says so when the station has sent nothing', () => {
		expect(sut({ thresholds: MARKS, history: [] }, 'gnss_cumulative').level).toBe('unknown');
	});
});

describe('gnss_rate', () => {
	/** Hourly solutions over the last 24 h, moving east at `mmPerDay`. */
	const steady = (mmPerDay: number): HistoryPoint[] => {
		const out: HistoryPoint[] = [];
		for (let h = 24; h >= 0; h--) out.push(...fix(-h * HOUR, 20 + (mmPerDay * (24 - h)) / 24, 0));
		return out;
	};

	it('runs with placeholder marks 5 / 10 / 20 mm a day, each saying it must be set per slope', () => {
		const rows = effectiveThresholds('gnss_displacement', null).filter((t) => t.path.startsWith('rate_mm_per_day.'));
		expect(rows.map((t) => [t.path, t.value])).toEqual([
			['rate_mm_per_day.yellow', 5],
			['rate_mm_per_day.orange', 10],
			['rate_mm_per_day.red', 20]
		]);
		for (const t of rows) expect(t.source).toMatch(/placeholder/);
	});

	it.each([
		[1, 'normal'],
		[6, 'yellow'],
		[12, 'orange'],
		[25, 'red']
	] as const)('%s mm/day → %s', (rate, level) => {
		const r = sut({ history: steady(rate) }, 'gnss_rate');
		expect(r.level).toBe(level);
		expect(r.value).toBeCloseTo(rate, 6);
	});

	it('adds east and north as a vector', () => {
		// 6 mm east and 8 mm north within the day: 10 mm → orange.
		const history = [...fix(-DAY, 0, 0), ...fix(-HOUR, 6, 8), ...fix(0, 6, 8)];
		expect(sut({ history }, 'gnss_rate')).toMatchObject({ level: 'orange' });
	});

	it('does not extrapolate: a short record gives a lower bound, and one solution gives none', () => {
		expect(sut({ history: fix(0, 50, 0) }, 'gnss_rate').level).toBe('unknown');
		// 3 mm in the last hour is 3 mm within the day, not 72 mm/day.
		expect(sut({ history: [...fix(-HOUR, 0, 0), ...fix(0, 3, 0)] }, 'gnss_rate').level).toBe('normal');
	});

	it.each([
		// uniform-phase rate 2 mm/day; α = arctan(rate / 2): 45° is the uniform phase itself, above it acceleration
		[2, 'normal'], // α = 45°, not above
		[4, 'yellow'], // 63.4°
		[12, 'orange'], // 80.5°
		[30, 'red'] // 86.2°
	] as const)('improved tangent angle with v = 2 mm/day: %s mm/day → %s', (rate, level) => {
		const thresholds = { tangent_angle: { uniform_rate_mm_per_day: 2 } };
		const r = sut({ thresholds, history: steady(rate) }, 'gnss_rate');
		expect(r.level).toBe(level);
		expect(r.value).toBeCloseTo((Math.atan(rate / 2) * 180) / Math.PI, 6);
		expect(r.detail).toContain('改进切线角');
	});

	it('replays a day of accelerating movement to red, then holds it while the slope keeps moving', () => {
		const history: HistoryPoint[] = [];
		let e = 0;
		for (let h = 48; h >= 0; h--) {
			e += h > 12 ? 0.1 : 2; // creep, then 2 mm an hour for the last 12 h
			history.push(...fix(-h * HOUR, e, 0));
		}
		const out = replay({ kind: 'gnss_displacement', history }, readingTimes(history));
		const levels = out.levels.gnss_rate!;
		expect(levels[0]).toBe('unknown');
		expect(levels).toContain('yellow');
		expect(levels[levels.length - 1]).toBe('red');
	});
});

describe('cases opened by a GNSS station', () => {
	it('are geohazard cases titled by the rule', () => {
		expect(CASE_CATEGORY_BY_KIND.gnss_displacement).toBe('geohazard');
		expect(SENSOR_CASE_TITLES.gnss_cumulative).toBe('地表累计位移超限');
		expect(SENSOR_CASE_TITLES.gnss_rate).toBe('地表位移加速');
	});
});
