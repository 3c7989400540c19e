// The demo's invented case history keeps its promised shape whatever day it is seeded: an open backlog, overdue and
// reworked cases, every level, an overloaded and an idle cadre. The history is built (pure, no database) at 40
// moments spread over two years, each judged at the moment it was built — a fixed clock, never the test's own date.
import { describe, expect, it } from 'vitest';
import { VillageIndex } from '../../geo';
import { buildDemoHistory, demoHistoryInput, DEMO_TITLE_PREFIX, type HistoryCase } from '../../src/lib/server/demo/history';
import { buildDemoTownship } from '../../src/lib/server/demo/township';
import { byCadre, figures, type CaseFacts } from '../../src/lib/domain/review-stats';

const DAY = 86_400_000;
const township = buildDemoTownship();
const villageIds = new Map(township.villages.map((v, i) => [v.code, i + 1]));
const cadreIds = new Map(township.cadres.map((c, i) => [c.key, i + 1]));
const index = new VillageIndex(township.villages.map((v) => ({ id: villageIds.get(v.code)!, geometry: v.boundary })));
const names = new Map(township.villages.map((v) => [villageIds.get(v.code)!, v.name]));

/** What the review reads back from a stored case (review-queries.ts caseFacts), taken from the built case. */
function facts(c: HistoryCase, id: number): CaseFacts {
	return {
		id,
		title: c.title,
		category: c.category,
		level: c.level,
		status: c.status,
		village_id: c.village_id,
		village: names.get(c.village_id) ?? null,
		cadres: c.responsible.filter((r) => r.role === 'cadre').map((r) => ({ id: r.cadre_id, name: r.name })),
		lng: c.lng,
		lat: c.lat,
		is_demo: true,
		opened: c.opened_at,
		acknowledged: c.acknowledged_at,
		arrived: c.arrived_at,
		resolved: c.status === 'resolved' || c.status === 'closed' ? c.resolved_at : null,
		reopened: c.events.filter((e) => e.action === 'verify_fail').length
	};
}

// 40 moments over two years, at different hours, so every season and both sides of midnight are seeded.
const MOMENTS = Array.from({ length: 40 }, (_, k) => Date.UTC(2025, 11, 7) + Math.round(k * (730 / 40) * DAY) + ((k * 7) % 24) * 3_600_000 + k * 61_000);

describe('demo history on any date', () => {
	it.each(MOMENTS.map((now) => [new Date(now).toISOString(), now]))('seeded at %s it has the promised shape', (_, now) => {
		const sut = buildDemoHistory(demoHistoryInput(township, villageIds, cadreIds, (p) => index.locate(p), now as number));
		const demo = sut.map(facts);
		expect(sut.every((c) => c.title.startsWith(DEMO_TITLE_PREFIX))).toBe(true);
		expect(demo.length).toBeGreaterThan(60);
		expect(sut.every((c) => c.opened_at <= (now as number) && c.events.every((e) => e.at <= (now as number)))).toBe(true);
		expect(new Set(demo.map((c) => c.level)).size).toBe(4);
		expect(new Set(demo.map((c) => c.category)).size).toBeGreaterThanOrEqual(6);
		expect(new Set(demo.map((c) => c.village_id)).size).toBeGreaterThanOrEqual(8);
		const f = figures(demo, now as number);
		expect(f.backlog).toBeGreaterThan(0);
		expect(f.overdue).toBeGreaterThan(5);
		expect(f.reopened).toBeGreaterThan(0);
		expect(f.ackRate).toBeGreaterThan(0.4);
		expect(f.ackRate).toBeLessThan(0.95);
		// Still-open cases: at least one waiting to be accepted and one overdue, as the console shows them.
		const open = demo.filter((c) => c.status !== 'closed' && c.status !== 'rejected');
		expect(open.some((c) => c.acknowledged === null)).toBe(true);
		expect(open.some((c) => figures([c], now as number).overdue === 1)).toBe(true);
		// No open invented case holds a device a live alarm could join.
		expect(sut.filter((c) => c.status !== 'closed' && c.status !== 'rejected').every((c) => c.device_id === null)).toBe(true);
		// Overloaded and idle cadres: the busiest has several times the cases of the quietest.
		const cadres = byCadre(demo, now as number).filter((r) => r.key !== 'none');
		expect(cadres[0].cases).toBeGreaterThan(3 * cadres[cadres.length - 1].cases);
	});

	it('is the same history for the same moment (a screenshot can be reproduced)', () => {
		const at = MOMENTS[3];
		const a = buildDemoHistory(demoHistoryInput(township, villageIds, cadreIds, (p) => index.locate(p), at));
		const b = buildDemoHistory(demoHistoryInput(township, villageIds, cadreIds, (p) => index.locate(p), at));
		expect(b).toEqual(a);
	});
});

describe('demo history on the map', () => {
	it('puts no open case on top of a sensor, where its marker would take the sensor’s click', () => {
		const open = MOMENTS.flatMap((at) => buildDemoHistory(demoHistoryInput(township, villageIds, cadreIds, (p) => index.locate(p), at))).filter((c) => c.status !== 'closed' && c.status !== 'rejected');
		// 30 m in degrees at this latitude, comfortably more than a marker's radius at street zoom.
		const near = (c: HistoryCase) => township.sensors.some((s) => Math.abs(s.lng - c.lng) < 0.0003 && Math.abs(s.lat - c.lat) < 0.00027);
		expect(open.length).toBeGreaterThan(0);
		expect(open.filter(near).map((c) => c.title)).toEqual([]);
		// …and every one lies in the village it is filed under.
		expect(open.every((c) => index.locate([c.lng, c.lat]) === c.village_id)).toBe(true);
	});
});

describe('demo history across a day', () => {
	it('seeded an hour apart, it is the same history but for the cases at its two ends', () => {
		const at = MOMENTS[5];
		const a = buildDemoHistory(demoHistoryInput(township, villageIds, cadreIds, (p) => index.locate(p), at));
		const b = buildDemoHistory(demoHistoryInput(township, villageIds, cadreIds, (p) => index.locate(p), at + 3_600_000));
		// Cases opened well inside both windows and finished before either "now" are told identically.
		// (The scripted current work opens on whole minutes relative to now, so it moves with the clock by design.)
		const settled = (c: HistoryCase) => c.opened_at > at - 90 * DAY && c.closed_at !== null && c.closed_at < at && c.opened_at % 60_000 !== 0;
		const key = (c: HistoryCase) => `${c.opened_at} ${c.title} ${c.status} ${c.events.length}`;
		expect(b.filter(settled).map(key)).toEqual(a.filter(settled).map(key));
		expect(a.filter(settled).length).toBeGreaterThan(50);
	});
});
