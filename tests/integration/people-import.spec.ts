// Cadres, assignments and the duty roster (issue 8): bulk import from the files staff keep (a GBK CSV as Excel on
// Chinese Windows saves it, an XLSX written by GDAL) lands in the same tables routing reads — responsibleAt and
// dutyOn see it; a file with bad rows names each row and saves nothing; single edits are audited and a handover
// ends the previous holder without deleting history.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDb, type TestDb } from '../support/services';
import { importPeople, readTable, TableError } from '../../src/lib/server/people-import';
import { assign, createCadre, endAssignment, setRosterDay } from '../../src/lib/server/people';
import { dutyOn, responsibleAt } from '../../src/lib/server/incidents';

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../fixtures/people/${name}`, import.meta.url)));
const admin = { id: null, name: 'test-admin' };

describe('people import', () => {
	let t: TestDb;
	let village: number;
	beforeAll(async () => {
		t = await freshDb();
		const r = await t.db.query<{ id: number }>(
			`INSERT INTO villages (name, boundary, bbox) VALUES ('东岭村', '{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}', '{0,0,1,1}') RETURNING id`
		);
		village = r.rows[0].id;
	});
	afterAll(() => t.drop());

	it('reads a GBK CSV (no BOM) and imports the cadres', async () => {
		const table = await readTable(fixture('cadres-gbk.csv'), 'cadres.csv');
		expect(table[0]).toEqual(['姓名', '手机', '职务']);
		const sut = await importPeople(t.db, 'cadres', table, admin, 'Asia/Shanghai');
		expect(sut).toMatchObject({ rows: 3, errors: [], saved: { created: 3, updated: 0 } });
		// Importing again updates instead of duplicating.
		expect((await importPeople(t.db, 'cadres', table, admin, 'Asia/Shanghai')).saved).toEqual({ created: 0, updated: 3 });
		expect((await t.db.query('SELECT count(*)::int AS n FROM cadres')).rows[0]).toEqual({ n: 3 });
	});

	it('imports assignments with the dates people write; routing sees who answered when', async () => {
		const sut = await importPeople(t.db, 'assignments', await readTable(fixture('assignments.csv'), 'a.csv'), admin, 'Asia/Shanghai');
		expect(sut.errors).toEqual([]);
		const inMarch = await responsibleAt(t.db, village, new Date('2026-03-15T00:00:00Z'));
		expect(inMarch.map((r) => [r.role, r.name])).toEqual([
			['cadre', '李秀英'],
			['lead', '王建国']
		]);
		const inAugust = await responsibleAt(t.db, village, new Date('2026-08-15T00:00:00Z'));
		expect(inAugust.map((r) => r.name)).toEqual(['赵小明', '王建国']);
	});

	it('names every bad row and saves nothing', async () => {
		const before = (await t.db.query('SELECT count(*)::int AS n FROM assignments')).rows[0];
		const sut = await importPeople(t.db, 'assignments', await readTable(fixture('assignments-bad.csv'), 'bad.csv'), admin, 'Asia/Shanghai');
		expect(sut.errors.map((e) => [e.row, e.en])).toEqual([
			[3, 'no cadre “不存在的人” (import the cadre list first)'],
			[4, 'no village “没有这个村”'],
			[5, 'unknown role “村长助理”: use lead, cadre, secretary, director or grid'],
			[6, 'start date “明天” is not a date like 2026-03-01'],
			[7, 'the end date must be after the start date'],
			[8, 'no cadre “<script>alert(1)</script>” (import the cadre list first)']
		]);
		expect(sut.saved).toEqual({ created: 0, updated: 0 });
		expect((await t.db.query('SELECT count(*)::int AS n FROM assignments')).rows[0]).toEqual(before);
	});

	it('imports the duty roster from XLSX; dutyOn reads it', async () => {
		const sut = await importPeople(t.db, 'roster', await readTable(fixture('roster.xlsx'), 'roster.xlsx'), admin, 'Asia/Shanghai');
		expect(sut).toMatchObject({ rows: 2, errors: [], saved: { created: 2, updated: 0 } });
		const duty = await dutyOn(t.db, new Date('2026-12-01T04:00:00Z'), 'Asia/Shanghai');
		expect(duty.map((d) => [d.role, d.name])).toEqual([
			['duty_officer', '李秀英'],
			['duty_leader', '王建国']
		]);
		const audit = await t.db.query<{ action: string }>("SELECT action FROM audit_log WHERE action LIKE '%_imported' ORDER BY id");
		expect(audit.rows.map((r) => r.action)).toEqual(['cadres_imported', 'cadres_imported', 'assignments_imported', 'roster_imported']);
	});

	it.each([
		['a header without the needed columns', '名字\n张三\n', /Missing columns: village, role, from \(header words: 村\//],
		['only a header', '姓名,村,角色,开始\n', /table is empty/],
		['an old .xls', '\u00d0\u00cf\u0011\u00e0', /old \.xls format/]
	])('%s is a plain error', async (_l, text, en) => {
		const bytes = text.startsWith('\u00d0') ? new Uint8Array([0xd0, 0xcf, 0x11, 0xe0]) : new TextEncoder().encode(text);
		const err = await readTable(bytes, text.startsWith('\u00d0') ? 'old.xls' : 'x.csv')
			.then((table) => importPeople(t.db, 'assignments', table, admin, 'Asia/Shanghai'))
			.catch((e: unknown) => e);
		expect(err).toBeInstanceOf(TableError);
		expect((err as TableError).en).toMatch(en);
	});

	it('a handover ends the previous holder; ending and roster edits are audited', async () => {
		const c = await createCadre(t.db, { name: '钱新', phone: '13900000109', position: null }, admin);
		await assign(t.db, { cadre_id: c, village_id: village, role: 'cadre', valid_from: '2026-09-01', handover: true }, admin, 'Asia/Shanghai');
		// The handover happens at midnight in the township (Asia/Shanghai, UTC+8), not at midnight UTC (08:00 there).
		const lastNight = await responsibleAt(t.db, village, new Date('2026-08-31T15:30:00Z')); // 23:30 on 31 August
		expect(lastNight.filter((r) => r.role === 'cadre').map((r) => r.name)).toEqual(['赵小明']);
		const firstNight = await responsibleAt(t.db, village, new Date('2026-08-31T16:30:00Z')); // 00:30 on 1 September
		expect(firstNight.filter((r) => r.role === 'cadre').map((r) => r.name)).toEqual(['钱新']);
		const sept = await responsibleAt(t.db, village, new Date('2026-09-15T00:00:00Z'));
		expect(sept.filter((r) => r.role === 'cadre').map((r) => r.name)).toEqual(['钱新']);
		// The earlier holder's row is ended, not deleted: August still shows 赵小明.
		const aug = await responsibleAt(t.db, village, new Date('2026-08-15T00:00:00Z'));
		expect(aug.filter((r) => r.role === 'cadre').map((r) => r.name)).toEqual(['赵小明']);
		const lead = await t.db.query<{ id: number }>("SELECT id FROM assignments WHERE role = 'lead'");
		await endAssignment(t.db, lead.rows[0].id, admin);
		await expect(endAssignment(t.db, lead.rows[0].id, admin)).rejects.toThrow(/ended already/);
		await setRosterDay(t.db, { day: '2026-12-03', officer_id: c, leader_id: 0 }, admin);
		const audit = await t.db.query<{ action: string }>(
			"SELECT action FROM audit_log WHERE action IN ('cadre_created', 'assignment_created', 'assignment_ended', 'roster_day_set') ORDER BY id"
		);
		expect(audit.rows.map((r) => r.action)).toEqual(['cadre_created', 'assignment_created', 'assignment_ended', 'roster_day_set']);
	});
});
