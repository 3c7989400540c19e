// Leaders' review against the embedded stack: a constructed month of cases acted on through the real case service
// (act() with explicit times), whose figures were worked out by hand; exports parsed back to the same numbers; the
// demo township's invented history gives non-trivial, marked figures; filters and search narrow the case list.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/lib/server/platform/config';
import { runtime, clearRuntime, type Runtime } from '../../src/lib/server/runtime';
import { act, openFieldReport } from '../../src/lib/server/cases/incidents';
import { caseFacts, parseReviewFilter, reviewCasePage, type ReviewFilter } from '../../src/lib/server/review/review-queries';
import { casesCsv, statsCsv, CASE_COLUMNS, STATS_COLUMNS } from '../../src/lib/server/review/review-export';
import { byCadre, byVillage, figures } from '../../src/lib/domain/review-stats';
import { BOM } from '../../src/lib/domain/csv';
import type { SessionUser } from '../../src/lib/server/people/auth';
import { REAL_DB } from '../support/services';

let rt: Runtime;
const config = parseConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), 'shudi-review-')), MQTT_PORT: '0', SIMULATE: 'off', DEMO: 'on', LOG_LEVEL: 'silent', INGEST_BATCH_MS: '10', ESCALATION_EVERY_MS: '600000' });
const TZ = 'Asia/Shanghai';
const MIN = 60_000;
/** 2025-03: before the demo history's three months, and while 松林村's previous cadre was still in post. */
const MARCH: ReviewFilter = { from: '2025-03-01', to: '2025-03-31' };
const T0 = Date.parse('2025-03-10T02:00:00Z');
const at = (min: number) => new Date(T0 + min * MIN);

async function user(username: string): Promise<SessionUser> {
	return (await rt.db.query<SessionUser>('SELECT id, username, display_name, roles, cadre_id FROM users WHERE username = $1', [username])).rows[0];
}
async function villagePoint(name: string): Promise<{ lng: number; lat: number }> {
	return (await rt.db.query<{ lng: number; lat: number }>('SELECT d.lng, d.lat FROM devices d JOIN villages v ON v.id = d.village_id WHERE v.name = $1 ORDER BY d.id LIMIT 1', [name])).rows[0];
}
async function cadreAt(village: string, day: string): Promise<string> {
	return (
		await rt.db.query<{ name: string }>(
			`SELECT c.name FROM assignments a JOIN cadres c ON c.id = a.cadre_id JOIN villages v ON v.id = a.village_id
			 WHERE v.name = $1 AND a.role = 'cadre' AND a.valid_from <= $2 AND (a.valid_to IS NULL OR a.valid_to > $2)`,
			[village, day]
		)
	).rows[0].name;
}

beforeAll(async () => {
	rt = await runtime({ config });
	const [admin, duty, leader] = [await user('admin'), await user('duty'), await user('leader')];
	const [songlin, longtan] = [await villagePoint('松林村'), await villagePoint('龙潭村')];
	const open = async (title: string, level: 'red' | 'orange' | 'yellow' | 'blue', p: { lng: number; lat: number }) =>
		(await openFieldReport(rt.db, { category: 'flood', title, level, ...p, source: 'hotline' }, { id: duty.id, name: duty.display_name }, TZ, at(0))).id;
	const step = (id: number, who: SessionUser, action: Parameters<typeof act>[3]['action'], min: number, note?: string) => act(rt.db, id, who, { action, note: note ?? null }, at(min));
	// The set of tests/unit/review-stats.spec.ts, this time as real events.
	const a = await open('A 红色 按时', 'red', songlin);
	await step(a, duty, 'accept', 5);
	await step(a, admin, 'start', 20);
	await step(a, admin, 'resolve', 90, '已处置');
	await step(a, duty, 'verify_pass', 100);
	await step(a, leader, 'instruct', 300, '总结经验');
	const b = await open('B 红色 超期 返工', 'red', songlin);
	await step(b, duty, 'accept', 15);
	await step(b, admin, 'start', 40);
	await step(b, admin, 'resolve', 60, '已处置');
	await step(b, duty, 'verify_fail', 70, '未处置到位');
	await step(b, leader, 'instruct', 75, '限期整改');
	await step(b, admin, 'resolve', 180, '整改完毕');
	await step(b, duty, 'verify_pass', 200);
	const c = await open('C 橙色 按时', 'orange', longtan);
	await step(c, duty, 'accept', 20);
	await step(c, admin, 'start', 60);
	await step(c, admin, 'resolve', 600, '已处置');
	await step(c, duty, 'verify_pass', 610);
	const d = await open('D 黄色 迟受理 未处置', 'yellow', longtan);
	await step(d, duty, 'accept', 130);
	const e = await open('E 村外 不予受理', 'blue', { lng: 100, lat: 30 });
	await step(e, duty, 'reject', 60, '不属本镇');
	await open('=HYPERLINK("http://evil","F 村外 未受理")', 'blue', { lng: 100, lat: 30 });
});
afterAll(async () => {
	await rt.stop();
	clearRuntime();
});

describe.skipIf(!!REAL_DB)('review figures from case events', () => {
	it('the hand-worked figures come out of the recorded events', async () => {
		const f = figures(await caseFacts(rt.db, MARCH, TZ), Date.now());
		expect(f.cases).toBe(6);
		expect([f.ackOnTime, f.ackJudged, f.ackRate]).toEqual([3, 6, 0.5]);
		// Judged today, F's 72 h resolve limit has long passed too (the unit set judged it at 30 h): A, C of A–D and F.
		expect([f.resolveOnTime, f.resolveJudged, f.resolveRate]).toEqual([2, 5, 0.4]);
		expect(f.ack).toEqual({ n: 5, median: 20 * MIN, p90: 130 * MIN });
		expect(f.arrive).toEqual({ n: 3, median: 40 * MIN, p90: 60 * MIN });
		// B counts from its last resolve (180), after the failed verification — not its first (60).
		expect(f.resolve).toEqual({ n: 3, median: 180 * MIN, p90: 600 * MIN });
		expect([f.overdue, f.reopened, f.backlog]).toEqual([3, 1, 2]);
	});

	it('a 批示 on a closed case is on the record and changes neither its closing time nor its figures', async () => {
		const r = await rt.db.query<{ closed_at: Date; n: number }>(
			`SELECT i.closed_at, (SELECT count(*)::int FROM incident_events e WHERE e.incident_id = i.id AND e.action = 'instruct') AS n FROM incidents i WHERE i.title = 'A 红色 按时'`
		);
		expect(r.rows[0].n).toBe(1);
		expect(new Date(r.rows[0].closed_at).getTime()).toBe(at(100).getTime());
	});

	it('cases belong to the cadre recorded when they opened, not today’s', async () => {
		const facts = await caseFacts(rt.db, MARCH, TZ);
		const [then, today] = [await cadreAt('松林村', '2025-03-10'), await cadreAt('松林村', new Date().toISOString().slice(0, 10))];
		expect(then).not.toBe(today);
		const cadres = byCadre(facts, Date.now());
		expect(cadres.find((r) => r.name === then)?.cases).toBe(2);
		expect(cadres.find((r) => r.name === today)).toBeUndefined();
		expect(byVillage(facts, Date.now()).map((r) => [r.name, r.cases, r.overdue])).toEqual([
			['龙潭村', 2, 1],
			['松林村', 2, 1],
			['值班室（村外/无包村干部）', 2, 1]
		]);
	});

	it('filters, search and the SQL overdue flag agree with the figures', async () => {
		const page = (f: ReviewFilter) => reviewCasePage(rt.db, { ...MARCH, ...f }, TZ, 1);
		expect((await page({ overdue: 'true' })).rows.map((r) => r.title[0]).sort()).toEqual(['=', 'B', 'D']);
		expect((await page({ overdue: 'false' })).total).toBe(3);
		expect((await page({ level: 'red' })).total).toBe(2);
		expect((await page({ status: 'open' })).total).toBe(2);
		expect((await page({ reopened: 'true' })).rows.map((r) => r.title)).toEqual(['B 红色 超期 返工']);
		expect((await page({ q: '村外' })).total).toBe(2);
		// LIKE wildcards are literal: '%' matches no title here, '_' neither.
		expect((await page({ q: '%' })).total).toBe(0);
		expect((await page({ q: '_' })).total).toBe(0);
		expect((await page({ q: '龙潭' })).total).toBe(2);
	});

	it('bad filters are refused with a reason, blanks mean any', () => {
		expect(parseReviewFilter(new URLSearchParams('from=2025-02-30')).success).toBe(false);
		expect(parseReviewFilter(new URLSearchParams('from=2025-03-02&to=2025-03-01')).success).toBe(false);
		expect(parseReviewFilter(new URLSearchParams('level=purple')).success).toBe(false);
		expect(parseReviewFilter(new URLSearchParams("village=1'; drop table incidents")).success).toBe(false);
		expect(parseReviewFilter(new URLSearchParams('level=&status=&q=')).data).toEqual({});
	});
});

describe.skipIf(!!REAL_DB)('exports parse back to the same numbers', () => {
	it('statistics CSV: BOM, Chinese names, the same rates and medians', async () => {
		const facts = await caseFacts(rt.db, MARCH, TZ);
		const now = Date.now();
		const csv = statsCsv(figures(facts, now), byVillage(facts, now), byCadre(facts, now));
		const bytes = Buffer.from(csv, 'utf8');
		expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
		// Read back as a spreadsheet would: UTF-8 with BOM.
		const rows = parse(bytes, { bom: true, columns: true }) as Record<string, string>[];
		expect(Object.keys(rows[0])).toEqual([...STATS_COLUMNS]);
		const total = rows[0];
		expect(total['案件数 cases']).toBe('6');
		expect(total['按时受理率% ack on-time %']).toBe('50');
		expect(total['按期处置率% resolve on-time %']).toBe('40');
		expect(total['受理中位(分) ack median min']).toBe('20');
		expect(total['受理P90(分) ack p90 min']).toBe('130');
		expect(total['处置中位(分) resolve median min']).toBe('180');
		expect(total['处置P90(分) resolve p90 min']).toBe('600');
		expect([total['超期 overdue'], total['返工 reopened'], total['挂账 open backlog']]).toEqual(['3', '1', '2']);
		expect(rows.filter((r) => r['分组 group'] === '村 village').map((r) => r['名称 name'])).toContain('松林村');
	});

	it('case CSV: one row per case, a hostile title stays text', async () => {
		const facts = await caseFacts(rt.db, MARCH, TZ);
		const csv = casesCsv(facts, Date.now(), TZ);
		expect(csv.startsWith(BOM)).toBe(true);
		const rows = parse(csv, { bom: true, columns: true }) as Record<string, string>[];
		expect(Object.keys(rows[0])).toEqual([...CASE_COLUMNS]);
		expect(rows).toHaveLength(6);
		const hostile = rows.find((r) => r['标题 title'].includes('HYPERLINK'))!;
		expect(hostile['标题 title']).toBe('\'=HYPERLINK("http://evil","F 村外 未受理")');
		const b = rows.find((r) => r['标题 title'].startsWith('B '))!;
		expect([b['受理用时(分) ack min'], b['处置用时(分) resolve min'], b['返工次数 reopened'], b['超期 overdue']]).toEqual(['15', '180', '1', '是']);
		expect(b['上报 opened']).toBe('2025-03-10 10:00:00');
		expect(b['村 village']).toBe('松林村');
	});
});

describe.skipIf(!!REAL_DB)('demo history', () => {
	it('about three months of marked cases with varied figures, computed from their events', async () => {
		const facts = await caseFacts(rt.db, {}, TZ);
		const demo = facts.filter((c) => c.is_demo);
		expect(demo.length).toBeGreaterThan(80);
		expect(demo.every((c) => c.title.startsWith('【演示】'))).toBe(true);
		const span = (demo[demo.length - 1].opened - demo[0].opened) / 86_400_000;
		expect(span).toBeGreaterThan(80);
		expect(new Set(demo.map((c) => c.category)).size).toBeGreaterThanOrEqual(6);
		expect(new Set(demo.map((c) => c.level)).size).toBe(4);
		expect(new Set(demo.map((c) => c.village_id)).size).toBeGreaterThanOrEqual(8);
		const f = figures(demo, Date.now());
		expect(f.ackRate).toBeGreaterThan(0.4);
		expect(f.ackRate).toBeLessThan(0.95);
		expect(f.overdue).toBeGreaterThan(5);
		expect(f.reopened).toBeGreaterThan(0);
		expect(f.backlog).toBeGreaterThan(0);
		// Overloaded and idle cadres: the busiest has several times the cases of the quietest.
		const cadres = byCadre(demo, Date.now()).filter((r) => r.key !== 'none');
		expect(cadres[0].cases).toBeGreaterThan(3 * cadres[cadres.length - 1].cases);
		// The case list pages through the same set: 50 a page, newest first, the total kept past the last page.
		const p1 = await reviewCasePage(rt.db, {}, TZ, 1);
		const past = await reviewCasePage(rt.db, {}, TZ, 99);
		expect([p1.rows.length, p1.total, past.rows.length, past.total]).toEqual([50, facts.length, 0, facts.length]);
		expect(p1.rows[0].opened).toBeGreaterThanOrEqual(p1.rows[49].opened);
		// No invented case waits on the live escalation timer or holds a sensor a live alarm could join.
		const live = await rt.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM incidents WHERE is_demo AND (next_check_at IS NOT NULL OR (device_id IS NOT NULL AND status NOT IN ('closed', 'rejected')))`);
		expect(live.rows[0].n).toBe(0);
	});
});
