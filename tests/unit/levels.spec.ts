// Levels: the order blue < yellow < orange < red that queues, clusters, rules and reports rely on, and a name and a
// colour for every status a sensor can show (DOMAIN.md "Sensor kinds, metrics and default levels").
import { describe, expect, it } from 'vitest';
import {
	LEVELS,
	LEVELS_WORST_FIRST,
	LEVEL_RANK,
	LEVEL_SHORT_NAMES,
	NO_LEVEL_COLOUR,
	SENSOR_STATUSES,
	STATUSES_WORST_FIRST,
	STATUS_COLOURS,
	STATUS_NAMES,
	STATUS_SEVERITY,
	compareLevels,
	isLevel,
	levelColour,
	levelRank
} from '../../src/lib/domain/levels';
import { worstLevel } from '../../src/lib/domain/rules';

describe('level order', () => {
	it('runs blue < yellow < orange < red, with normal below every level', () => {
		expect(LEVELS).toEqual(['blue', 'yellow', 'orange', 'red']);
		expect(['normal', ...LEVELS].map((l) => LEVEL_RANK[l as keyof typeof LEVEL_RANK])).toEqual([0, 1, 2, 3, 4]);
		expect(LEVELS_WORST_FIRST).toEqual(['red', 'orange', 'yellow', 'blue']);
	});

	it.each([
		['red', 'orange', 1],
		['blue', 'yellow', -1],
		['yellow', 'yellow', 0],
		['blue', 'normal', 1],
		['blue', null, 1],
		[null, 'normal', -1]
	] as const)('compareLevels(%s, %s) has the sign %d', (a, b, sign) => {
		expect(Math.sign(compareLevels(a, b))).toBe(sign);
	});

	it('sorts a shuffled list ascending and finds the worst the same way the rules do', () => {
		const shuffled = ['orange', 'blue', 'red', 'yellow'] as const;
		expect([...shuffled].sort(compareLevels)).toEqual([...LEVELS]);
		expect(worstLevel(shuffled)).toBe('red');
		expect(worstLevel(['unknown', 'yellow', 'blue'])).toBe('yellow');
		expect(levelRank(null)).toBeLessThan(levelRank('normal'));
	});

	it('tells a level from anything else', () => {
		for (const l of LEVELS) expect(isLevel(l)).toBe(true);
		for (const x of ['normal', 'offline', 'Red', '', null, undefined, 3]) expect(isLevel(x)).toBe(false);
	});
});

describe('statuses', () => {
	it('every status has a Chinese and an English name, and a distinct colour', () => {
		for (const s of SENSOR_STATUSES) {
			expect(STATUS_NAMES[s].zh, s).toMatch(/\p{Script=Han}/u);
			expect(STATUS_NAMES[s].en, s).toMatch(/^[A-Z]/);
			expect(STATUS_COLOURS[s], s).toMatch(/^#[0-9a-f]{6}$/);
		}
		expect(Object.keys(STATUS_NAMES).sort()).toEqual([...SENSOR_STATUSES].sort());
		expect(new Set(Object.values(STATUS_COLOURS)).size).toBe(SENSOR_STATUSES.length);
	});

	it('names the four levels by their national colour words', () => {
		expect(LEVELS.map((l) => STATUS_NAMES[l].zh)).toEqual(['蓝色', '黄色', '橙色', '红色']);
		expect(LEVELS.map((l) => LEVEL_SHORT_NAMES[l].zh)).toEqual(['蓝', '黄', '橙', '红']);
	});

	it('lists every status once, worst first, in legends', () => {
		expect([...STATUSES_WORST_FIRST].sort()).toEqual([...SENSOR_STATUSES].sort());
		expect(STATUSES_WORST_FIRST.slice(0, 4)).toEqual(LEVELS_WORST_FIRST);
	});

	it('ranks a cluster by the most severe status: every level above every non-alarm state, in level order', () => {
		const levels = LEVELS.map((l) => STATUS_SEVERITY[l]);
		expect(levels).toEqual([...levels].sort((a, b) => a - b));
		const calm = (['normal', 'offline', 'unknown', 'maintenance'] as const).map((s) => STATUS_SEVERITY[s]);
		expect(Math.max(...calm)).toBeLessThan(Math.min(...levels));
	});

	it('colours a case with no level, or a level the client does not know, in the no-level grey', () => {
		expect(levelColour('red')).toBe(STATUS_COLOURS.red);
		expect(levelColour(null)).toBe(NO_LEVEL_COLOUR);
		expect(levelColour('purple')).toBe(NO_LEVEL_COLOUR);
	});
});
