// Suspect data (issue 22 item 7): jumps no physical process makes and values stuck report after report are found,
// a jump waits for the next reading to agree before the rules may use it, and the limits are per-sensor settings.
import { describe, expect, it } from 'vitest';
import { implausible, limitsFor, scanSuspects, withoutHeld, SUSPECT_DEFAULTS, type SuspectState } from '../../src/lib/domain/suspect';

const MIN = 60_000;
const T = Date.parse('2026-12-01T00:00:00Z');
const series = (values: number[], stepMs = 10 * MIN) => ({ t: values.map((_, i) => T + i * stepMs), v: values });
const all = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('plausibility limits', () => {
	it('every default says where it comes from', () => {
		for (const [metric, d] of Object.entries(SUSPECT_DEFAULTS)) expect(d.source, metric).toMatch(/^shudi default: .{20,}/);
	});

	it.each([
		['a river rising 5 m in one minute', 'water_level_m', 0, 1.2, MIN, 6.2, true],
		['a flash-flood front lifting a gauge 1.5 m in one minute', 'water_level_m', 0, 1.2, MIN, 2.7, false],
		['a river rising 3 m over an hour', 'water_level_m', 0, 1.2, 60 * MIN, 4.2, false],
		['a tilt jumping 20° between reports, however far apart', 'tilt_x_deg', 0, 0.3, 60 * MIN, 20.3, true],
		['a tilt moving 0.5° in ten minutes', 'tilt_x_deg', 0, 0.3, 10 * MIN, 0.8, false],
		['readings seconds apart count as a minute', 'water_level_m', 0, 1.2, 1000, 2.9, false]
	])('%s → implausible %s', (_, metric, ta, va, tb, vb, want) => {
		expect(implausible(T + ta, va, T + tb, vb, limitsFor(metric, null)!)).toBe(want);
	});

	it('reads per-sensor overrides, and has nothing to check for rain or battery', () => {
		expect(limitsFor('rain_mm', null)).toBeNull();
		expect(limitsFor('battery_v', null)).toBeNull();
		const own = limitsFor('tilt_x_deg', { suspect: { stuck_repeats: 30, max_step: { tilt_x_deg: 2 } } })!;
		expect(own).toEqual({ maxStep: 2, maxRatePerMin: 1, stuckAfter: 30 });
		expect(limitsFor('tilt_x_deg', { suspect: { stuck_repeats: 0 } })!.stuckAfter).toBeNull();
		expect(limitsFor('tilt_x_deg', { suspect: { stuck_repeats: { crack_mm: 5 } } })!.stuckAfter).toBe(12);
		// Nonsense in the settings falls back to the default rather than turning a check off.
		expect(limitsFor('water_level_m', { suspect: { max_rate_per_min: { water_level_m: -1 } } })!.maxRatePerMin).toBe(2);
	});
});

describe('scanSuspects', () => {
	const river = limitsFor('water_level_m', null)!;

	it('a spike is held out for good: jump, then the next reading disagrees', () => {
		const s = series([1.2, 1.21, 6.2, 1.22], MIN);
		const state: SuspectState = new Map();
		const r = scanSuspects(s, all(4), river, state);
		expect(r.jumps).toEqual([s.t[2]]);
		expect(r.confirmed).toEqual([]);
		expect([...state]).toEqual([[s.t[2], 'spike']]);
		// The reading after the spike is compared with the last good one, not with the spike: it is no jump.
		expect(withoutHeld(s, state).v).toEqual([1.2, 1.21, 1.22]);
	});

	it('a jump the next reading agrees with is confirmed and judged; until then it is held', () => {
		const s = series([1.2, 6.2], MIN);
		const state: SuspectState = new Map();
		expect(scanSuspects(s, all(2), river, state).jumps).toEqual([s.t[1]]);
		expect(withoutHeld(s, state).v).toEqual([1.2]);
		const s2 = series([1.2, 6.2, 6.25], MIN);
		const r = scanSuspects(s2, [2], river, state);
		expect(r.confirmed).toEqual([s2.t[1]]);
		expect(r.jumps).toEqual([]);
		expect(withoutHeld(s2, state)).toBe(s2);
	});

	it('scanning the same readings again finds nothing new (a redelivered backlog)', () => {
		const s = series([1.2, 6.2, 1.2], MIN);
		const state: SuspectState = new Map();
		scanSuspects(s, all(3), river, state);
		const again = scanSuspects(s, all(3), river, state);
		expect(again.jumps).toEqual([]);
		expect(again.confirmed).toEqual([]);
	});

	it('a stuck value is flagged from its Nth identical report on, and the maintainer is told once per run', () => {
		const tilt = limitsFor('tilt_x_deg', null)!;
		const values = [0.301, 0.302, ...Array(14).fill(0.31), 0.312];
		const s = series(values);
		const r = scanSuspects(s, all(values.length), tilt, new Map());
		// Identical from index 2; the 12th identical is index 13.
		expect(r.stuck).toEqual([s.t[13], s.t[14], s.t[15]]);
		expect(r.stuckStarts).toEqual([s.t[13]]);
		expect(r.jumps).toEqual([]);
	});

	it('a value that moves a little every report is never stuck', () => {
		const tilt = limitsFor('tilt_x_deg', null)!;
		const values = Array.from({ length: 40 }, (_, i) => 0.3 + (i % 3) * 0.001);
		expect(scanSuspects(series(values), all(40), tilt, new Map()).stuck).toEqual([]);
	});
});
