// The review figures on a small constructed set whose answers were worked out by hand (comments show the working).
import { describe, expect, it } from 'vitest';
import { byCadre, byVillage, casesPerDay, weekOf, figures, histogram, judge, percentile, type CaseFacts } from '../../src/lib/domain/review-stats';
import { BOM, csvCell, toCsv } from '../../src/lib/domain/csv';
import { binLabels, duration, percent } from '../../src/lib/review-format';

const MIN = 60_000;
const H = 60 * MIN;
const T0 = Date.parse('2026-07-01T00:00:00Z');
const NOW = T0 + 30 * H;

function kase(id: number, o: Partial<CaseFacts>): CaseFacts {
	return { id, title: `案件${id}`, category: 'flood', level: 'red', status: 'closed', village_id: null, village: null, cadres: [], lng: null, lat: null, is_demo: false, opened: T0, acknowledged: null, arrived: null, resolved: null, reopened: 0, ...o };
}
const at = (min: number) => T0 + min * MIN;
const v1 = { village_id: 1, village: '松林村' };
const v2 = { village_id: 2, village: '河口村' };
const c1 = { id: 11, name: '张伟' };
const c2 = { id: 12, name: '李娜' };

// A red: ack 5 (≤10 ✓), on site 20, resolved 90 (≤120 ✓)
// B red: ack 15 (late), on site 40, resolved 180 (late), one 返工
// C orange: ack 20 (≤30 ✓), on site 60, resolved 600 (≤720 ✓)
// D yellow: ack 130 (>120 late), still accepted at 30 h (>24 h resolve limit: late)
// E blue: rejected at 60 (≤24 h ✓); nothing to resolve
// F blue: still reported at 30 h (>24 h ack limit: late); resolve limit 72 h not reached
const SET: CaseFacts[] = [
	kase(1, { ...v1, cadres: [c1], acknowledged: at(5), arrived: at(20), resolved: at(90) }),
	kase(2, { ...v1, cadres: [c1, c2], acknowledged: at(15), arrived: at(40), resolved: at(180), reopened: 1 }),
	kase(3, { ...v2, cadres: [c2], level: 'orange', acknowledged: at(20), arrived: at(60), resolved: at(600) }),
	kase(4, { ...v2, cadres: [c2], level: 'yellow', status: 'accepted', acknowledged: at(130) }),
	kase(5, { level: 'blue', status: 'rejected', acknowledged: at(60), category: 'dispute' }),
	kase(6, { level: null, status: 'reported', category: 'dispute' })
];

describe('percentile (nearest rank)', () => {
	it.each([
		[[15, 20, 35, 40, 50], 30, 20],
		[[15, 20, 35, 40, 50], 40, 20],
		[[15, 20, 35, 40, 50], 50, 35],
		[[15, 20, 35, 40, 50], 100, 50],
		[[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50, 5],
		[[10, 9, 8, 7, 6, 5, 4, 3, 2, 1], 90, 9],
		[[7], 90, 7],
		[[], 50, null]
	])('%j p%d = %j', (values, p, want) => {
		expect(percentile(values, p)).toBe(want);
	});
	it('refuses p outside (0, 100]', () => {
		expect(() => percentile([1], 0)).toThrow(RangeError);
		expect(() => percentile([1], 101)).toThrow(RangeError);
	});
});

describe('figures on the hand-worked set', () => {
	const f = figures(SET, NOW);
	it('on-time acknowledge: A, C, E of the 6 judgeable → 50 %', () => {
		expect([f.ackOnTime, f.ackJudged, f.ackRate]).toEqual([3, 6, 0.5]);
	});
	it('on-time resolve: A, C of A, B, C, D (E rejected, F still within 72 h) → 50 %', () => {
		expect([f.resolveOnTime, f.resolveJudged, f.resolveRate]).toEqual([2, 4, 0.5]);
	});
	it('time to acknowledge 5, 15, 20, 60, 130 min: median rank 3 = 20 min, p90 rank 5 = 130 min', () => {
		expect(f.ack).toEqual({ n: 5, median: 20 * MIN, p90: 130 * MIN });
	});
	it('time on site 20, 40, 60: median 40, p90 60; resolve 90, 180, 600: median 180, p90 600', () => {
		expect(f.arrive).toEqual({ n: 3, median: 40 * MIN, p90: 60 * MIN });
		expect(f.resolve).toEqual({ n: 3, median: 180 * MIN, p90: 600 * MIN });
	});
	it('overdue B, D, F; reopened B; backlog D, F', () => {
		expect([f.cases, f.overdue, f.reopened, f.backlog]).toEqual([6, 3, 1, 2]);
		expect(SET.filter((c) => judge(c, NOW).overdue).map((c) => c.id)).toEqual([2, 4, 6]);
	});
	it('a case still within its window is not judged yet', () => {
		const j = judge(kase(9, { level: 'red', status: 'reported' }), T0 + 5 * MIN);
		expect([j.ackOnTime, j.resolveOnTime, j.overdue]).toEqual([null, null, false]);
	});
});

describe('grouping', () => {
	it('per village: the duty room holds the cases outside every village', () => {
		const g = byVillage(SET, NOW);
		expect(g.map((r) => [r.name, r.cases, r.ackOnTime, r.overdue])).toEqual([
			['河口村', 2, 1, 1],
			['松林村', 2, 1, 1],
			['值班室（村外/无包村干部）', 2, 1, 1]
		]);
	});
	it('per cadre: a case with two cadres counts for both', () => {
		const g = byCadre(SET, NOW);
		const li = g.find((r) => r.name === '李娜')!;
		// B, C, D: ack 15 late, 20 on time, 130 late
		expect([li.cases, li.ackOnTime, li.ackJudged, li.reopened, li.backlog]).toEqual([3, 1, 3, 1, 1]);
		expect(li.ack).toEqual({ n: 3, median: 20 * MIN, p90: 130 * MIN });
		expect(g.find((r) => r.name === '张伟')!.cases).toBe(2);
	});
});

describe('histogram and cases per day', () => {
	it('bins [0,10) [10,30) [30,∞) minutes', () => {
		expect(histogram([5, 15, 20, 60, 130].map((m) => m * MIN), [0, 10 * MIN, 30 * MIN])).toEqual([1, 2, 2]);
	});
	it('counts per display-zone day and category', () => {
		const late = kase(7, { opened: Date.parse('2026-07-01T17:00:00Z') }); // 2026-07-02 01:00 in Shanghai
		const { days, series } = casesPerDay([...SET, late], (c) => c.category, 'Asia/Shanghai');
		expect(days).toEqual(['2026-07-01', '2026-07-02']);
		expect(series.get('flood')).toEqual([4, 1]);
		expect(series.get('dispute')).toEqual([2, 0]);
		// 2026-07-01 is a Wednesday, 07-02 a Thursday: one week, labelled by Monday 06-29.
		expect(casesPerDay([...SET, late], (c) => c.category, 'Asia/Shanghai', 'week')).toEqual({ days: ['2026-06-29'], series: new Map([['dispute', [2]], ['flood', [5]]]) });
	});
});

it.each([['2026-11-23', '2026-11-23'], ['2026-11-29', '2026-11-23'], ['2026-03-01', '2026-02-23']])('week of %s is %s', (d, w) => {
	expect(weekOf(d)).toBe(w);
});

describe('csv', () => {
	it('quotes per RFC 4180 and starts with a BOM', () => {
		const s = toCsv(['名称', 'n'], [['松林村, "上游"', 3], ['a\nb', null]]);
		expect(s.startsWith(BOM)).toBe(true);
		expect(s).toBe(BOM + '名称,n\r\n"松林村, ""上游""",3\r\n"a\nb",\r\n');
	});
	it.each(['=HYPERLINK("http://x","点我")', '+1+1', '-2+3', '@SUM(A1)', '\t=1'])('a hostile cell %j is never a formula', (v) => {
		expect(csvCell(v).replace(/^"/, '').startsWith("'")).toBe(true);
	});
	it('numbers stay numbers, negative too', () => {
		expect(csvCell(-2.5)).toBe('-2.5');
		expect(csvCell(Number.NaN)).toBe('');
	});
});

describe('review formatting', () => {
	it.each([
		[10 * MIN, '10 分钟'],
		[10.3 * MIN, '10.3 分钟'],
		[90 * MIN, '1.5 小时'],
		[72 * H, '3.0 天'],
		[null, '—']
	])('%j ms reads %s', (ms, want) => {
		expect(duration(ms, 'zh')).toBe(want);
	});
	it('bin labels are compact and open-ended at the top', () => {
		expect(binLabels([0, 5 * MIN, 60 * MIN, 24 * H], 'zh')).toEqual(['<5分', '5分–1时', '1时–1天', '≥1天']);
		expect(binLabels([0, 5 * MIN], 'en')).toEqual(['<5m', '≥5m']);
	});
	it('percent keeps one decimal and shows — when nothing could be judged', () => {
		expect([percent(0.5), percent(2 / 3), percent(null)]).toEqual(['50.0%', '66.7%', '—']);
	});
});
