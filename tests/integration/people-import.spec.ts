// Cadres, assignments and the duty roster (issue 8): bulk import from the files staff keep (a GBK CSV as Excel on
// Chinese Windows saves it, an XLSX written by GDAL) lands in the same tables routing reads — responsibleAt and
// dutyOn see it; a file with bad rows names each row and saves nothing; single edits are audited and a handover
// ends the previous holder without deleting history.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDb, type TestDb } from '../support/services';
import writeXlsxFile, { type SheetData } from 'write-excel-file/node';
import { importPeople, readTable, TableError } from '../../src/lib/server/people/people-import';
import { MAX_SHEET_XML_BYTES, MAX_TABLE_ROWS, parsePeopleTable } from '../../src/lib/server/people/people-table';
import { closeHeavyWork, heavyWorkThreads } from '../../src/lib/server/platform/heavy-work';
import { assign, createCadre, endAssignment, setRosterDay } from '../../src/lib/server/people/people';
import { dutyOn, responsibleAt } from '../../src/lib/server/cases/incidents';

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../fixtures/people/${name}`, import.meta.url)));
const admin = { id: null, name: 'test-admin' };
afterAll(() => closeHeavyWork());

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
		expect(table[0]).toEqual({ row: 1, cells: ['姓名', '手机', '职务'] });
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

/** An XLSX as Excel writes it: `{ v, across, down }` cells become real merged cells. */
type XCell = string | number | null | { v: string; across?: number; down?: number };
async function xlsx(rows: XCell[][]): Promise<Uint8Array> {
	const data: SheetData = rows.map((r) =>
		r.map((c) => (c === null ? null : typeof c === 'object' ? { value: c.v, columnSpan: c.across, rowSpan: c.down } : { value: c }))
	);
	return new Uint8Array(await writeXlsxFile(data).toBuffer());
}
const csv = (text: string) => new TextEncoder().encode(text);

/**
 * As the 包村干部花名册 templates townships circulate (tests/fixtures/people/SOURCES.md): merged title, 填报单位 row,
 * 序号/村名 merged down over a two-level header 包村领导/包村干部 → 姓名/职务/联系电话.
 */
const huamingceXlsx = () =>
	xlsx([
		[{ v: '清溪镇包村干部花名册', across: 8 }, null, null, null, null, null, null, null],
		[{ v: '填报单位：清溪镇人民政府（盖章）', across: 5 }, null, null, null, null, { v: '填报日期：2026年3月1日', across: 3 }, null, null],
		[{ v: '序号', down: 2 }, { v: '村名', down: 2 }, { v: '包村领导', across: 3 }, null, null, { v: '包村干部', across: 3 }, null, null],
		[null, null, '姓名', '职务', '联系电话', '姓名', '职务', '联系电话'],
		[1, '龙潭村、松林村', '张 伟', '副镇长', 13900000001, '李　娜', '农业服务中心主任', '+86 139-0000-0002'],
		[2, '东岭村', '张伟', '副镇长', '13900000001', '王 小 明', '经济发展办科员', '１３９００００００03'],
		[null, null, null, null, null, null, null, null],
		[{ v: '注：包村领导、包村干部如有调整，请及时报镇党政办。', across: 8 }, null, null, null, null, null, null, null]
	]);

describe('people import from the files townships have', () => {
	let t: TestDb;
	const villageIds: Record<string, number> = {};
	const tz = 'Asia/Shanghai';
	const cadres = async () => (await t.db.query<{ name: string; phone: string | null; position: string | null }>('SELECT name, phone, position FROM cadres ORDER BY name')).rows;
	const assignments = async () =>
		(
			await t.db.query<{ name: string; village: string; role: string }>(
				'SELECT c.name, v.name AS village, a.role FROM assignments a JOIN cadres c ON c.id = a.cadre_id JOIN villages v ON v.id = a.village_id ORDER BY c.name, v.name, a.role'
			)
		).rows.map((r) => `${r.name} ${r.role} ${r.village.replace(/\s/g, '')}`);
	const reset = async () => {
		await t.db.query('DELETE FROM assignments');
		await t.db.query('DELETE FROM duty_roster');
		await t.db.query('DELETE FROM cadres');
	};
	beforeAll(async () => {
		t = await freshDb();
		// 松林村 is stored with a stray space, as typed by hand in an earlier setup.
		for (const name of ['东岭村', '龙潭村', '松林 村']) {
			const r = await t.db.query<{ id: number }>(
				`INSERT INTO villages (name, boundary, bbox) VALUES ($1, '{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}', '{0,0,1,1}') RETURNING id`,
				[name]
			);
			villageIds[name] = r.rows[0].id;
		}
	});
	afterAll(() => t.drop());

	it.each([
		['花名册 CSV (UTF-8)', () => fixture('huamingce.csv'), 'huamingce.csv'],
		['花名册 XLSX with merged cells', huamingceXlsx, 'huamingce.xlsx']
	])('%s: finds the two-level header on rows 3–4, imports cadres then assignments, one per village', async (_l, bytes, fileName) => {
		await reset();
		const table = await readTable(await bytes(), fileName);
		const asCadres = await importPeople(t.db, 'cadres', table, admin, tz);
		expect(asCadres.errors).toEqual([]);
		expect(asCadres.header).toMatchObject({
			first: 3,
			last: 4,
			zh: '第3–4行为表头',
			en: 'header rows 3–4',
			columns: ['村名', '包村领导/姓名', '包村领导/职务', '包村领导/联系电话', '包村干部/姓名', '包村干部/职务', '包村干部/联系电话']
		});
		// Two data rows; 张伟 leads both villages and is saved once; the 注 line under the table is not data.
		expect(asCadres).toMatchObject({ rows: 2, saved: { created: 3, updated: 0 } });
		expect(await cadres()).toEqual([
			{ name: '张伟', phone: '13900000001', position: '副镇长' },
			{ name: '李娜', phone: '13900000002', position: '农业服务中心主任' },
			{ name: '王小明', phone: '13900000003', position: '经济发展办科员' }
		]);
		const asAssignments = await importPeople(t.db, 'assignments', table, admin, tz, { validFrom: '2026-03-01' });
		expect(asAssignments.errors).toEqual([]);
		expect(await assignments()).toEqual(['张伟 lead 东岭村', '张伟 lead 松林村', '张伟 lead 龙潭村', '李娜 cadre 松林村', '李娜 cadre 龙潭村', '王小明 cadre 东岭村']);
		const from = await t.db.query<{ d: string }>(`SELECT DISTINCT to_char(valid_from AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS d FROM assignments`);
		expect(from.rows).toEqual([{ d: '2026-03-01' }]);
	});

	it('a 花名册 as assignments without a start date names the missing column and the header rows used', async () => {
		const err = await importPeople(t.db, 'assignments', await readTable(fixture('huamingce.csv'), 'h.csv'), admin, tz).catch((e: unknown) => e);
		expect(err).toBeInstanceOf(TableError);
		expect((err as TableError).zh).toBe('缺少列：开始（表头可用：开始/开始日期/起始日期/起/from/valid_from/start）。第3–4行为表头。');
		expect((err as TableError).en).toMatch(/^Missing columns: from .*Used header rows 3–4\.$/);
	});

	it('a GBK CSV with a title row, header words with trailing spaces and aliases (所包村, 职位, 联系方式)', async () => {
		await reset();
		const table = await readTable(fixture('huamingce-gbk.csv'), 'gbk.csv');
		const sut = await importPeople(t.db, 'cadres', table, admin, tz);
		expect(sut).toMatchObject({ errors: [], rows: 2, header: { zh: '第2行为表头', columns: ['所包村', '包村干部', '职位', '联系方式'] } });
		expect(await cadres()).toEqual([
			{ name: '赵刚', phone: '055165123456', position: '武装部长' },
			{ name: '钱芳', phone: '13900000005', position: '妇联主席' }
		]);
		expect((await importPeople(t.db, 'assignments', table, admin, tz, { validFrom: '2026-03-01' })).errors).toEqual([]);
		expect(await assignments()).toEqual(['赵刚 cadre 龙潭村', '钱芳 cadre 东岭村', '钱芳 cadre 松林村']);
	});

	it.each([
		['姓名,手机号码,职位', '第1行为表头'],
		['姓名 ,电话 ,职务 ', '第1行为表头'],
		['干部名册\n姓名,联系方式,职务', '第2行为表头'],
		['\ufeff干部名册\n填报单位：清溪镇,,填报日期：2026年3月1日\n\n姓名,手机,职务', '第4行为表头'],
		['NAME,Mobile,Position', '第1行为表头']
	])('header %j is found: %s', async (head, zh) => {
		await reset();
		const sut = await importPeople(t.db, 'cadres', await readTable(csv(`${head}\n张三,13900000011,科员\n`), 'c.csv'), admin, tz);
		expect(sut).toMatchObject({ errors: [], rows: 1, header: { zh } });
		expect(await cadres()).toEqual([{ name: '张三', phone: '13900000011', position: '科员' }]);
	});

	// Title row, blank row, header on row 3, a blank row between the data: Excel shows 李四 on row 6.
	const blankRows: [string, XCell | string][] = [
		['CSV', '花名册\n\n姓名,联系电话,职务\n张三,13900000011,科员\n\n李四,1390000,科员\n'],
		['CSV with CRLF and a quoted cell holding a line break', '花名册\r\n\r\n姓名,联系电话,职务\r\n"张三",13900000011,"镇党委\r\n委员"\r\n\r\n李四,1390000,科员\r\n']
	];
	it.each([
		...blankRows.map(([l, text]) => [l, async () => csv(text as string), 'x.csv'] as const),
		[
			'XLSX',
			() =>
				xlsx([
					[{ v: '花名册', across: 3 }, null, null],
					[null, null, null],
					['姓名', '联系电话', '职务'],
					['张三', 13900000011, '科员'],
					[null, null, null],
					['李四', 1390000, '科员']
				]),
			'x.xlsx'
		] as const
	])('%s: a bad phone after a blank row is named by its Excel row number', async (_l, bytes, fileName) => {
		await reset();
		const sut = await importPeople(t.db, 'cadres', await readTable(await bytes(), fileName), admin, tz);
		expect(sut.header.zh).toBe('第3行为表头');
		expect(sut.errors).toEqual([
			{ row: 6, zh: '电话“1390000”不是手机号（11位）或带区号的座机号', en: '“1390000” is not a mobile number (11 digits) or a landline with its area code' }
		]);
		expect(sut.saved).toEqual({ created: 0, updated: 0 });
		expect(await cadres()).toEqual([]);
	});

	it('a duty roster after a title and a blank row names the bad day by its Excel row', async () => {
		await reset();
		await t.db.query("INSERT INTO cadres (name) VALUES ('李秀英'), ('王建国')");
		const sut = await importPeople(t.db, 'roster', await readTable(csv('十二月值班表\n\n日期,值班员,值班领导\n2026-12-01,李 秀英,王建国\n\n2026-12-32,李秀英,王建国\n'), 'r.csv'), admin, tz);
		expect(sut.errors.map((e) => [e.row, e.en])).toEqual([[6, '“2026-12-32” is not a date like 2026-03-01']]);
	});

	it.each([
		['龙潭村、松林村'],
		['龙潭村，松林村'],
		['"龙潭村,松林村"'],
		['龙潭村/松林村'],
		['龙潭村;松林村'],
		['龙潭村；松林村'],
		['龙潭村 松林村'],
		['龙潭村　松林村'],
		['"龙潭村\n松林村"'],
		['"龙潭村、\n 松林 村"']
	])('a cell listing villages %j makes one assignment per village', async (cell) => {
		await reset();
		await t.db.query("INSERT INTO cadres (name) VALUES ('张伟')");
		const sut = await importPeople(t.db, 'assignments', await readTable(csv(`姓名,村,角色,开始\n张伟,${cell},包村干部,2026-03-01\n`), 'a.csv'), admin, tz);
		expect(sut.errors).toEqual([]);
		expect(await assignments()).toEqual(['张伟 cadre 松林村', '张伟 cadre 龙潭村']);
	});

	it.each([
		['张 伟', '张伟'],
		['张　伟', '张伟'],
		['  张伟  ', '张伟'],
		['张\u200b伟', '张伟'],
		['欧阳 娜 娜', '欧阳娜娜'],
		['阿卜杜 · 热合曼', '阿卜杜·热合曼'],
		['John  Smith', 'John Smith'],
		['ＡＢＣ', 'ABC']
	])('the name %j is stored as %j, and finds the same cadre later', async (typed, stored) => {
		await reset();
		const sut = await importPeople(t.db, 'cadres', await readTable(csv(`姓名,手机\n${typed},13900000011\n`), 'c.csv'), admin, tz);
		expect(sut.errors).toEqual([]);
		expect((await cadres()).map((c) => c.name)).toEqual([stored]);
		// The plain spelling in a later file is the same person.
		const again = await importPeople(t.db, 'cadres', await readTable(csv(`姓名,手机\n${stored},13900000011\n`), 'c.csv'), admin, tz);
		expect(again.saved).toEqual({ created: 0, updated: 1 });
	});

	it.each([
		['139 0000 0011', '13900000011'],
		['139-0000-0011', '13900000011'],
		['+86 139 0000 0011', '13900000011'],
		['+8613900000011', '13900000011'],
		['0086 13900000011', '13900000011'],
		['86-139-0000-0011', '13900000011'],
		['１３９００００００１１', '13900000011'],
		['(0551) 6512 3456', '055165123456'],
		['0551-65123456', '055165123456'],
		['+86 551 6512 3456', '055165123456'],
		['6512345', '6512345']
	])('the phone %j is stored as %j', async (typed, stored) => {
		await reset();
		const sut = await importPeople(t.db, 'cadres', await readTable(csv(`姓名,手机\n张三,"${typed}"\n`), 'c.csv'), admin, tz);
		expect(sut.errors).toEqual([]);
		expect((await cadres()).map((c) => c.phone)).toEqual([stored]);
	});

	it.each([['1390000'], ['12345678901'], ['139000000111'], ['电话待补'], ['13900000011/13900000012']])('the phone %j is refused, naming row 2', async (typed) => {
		await reset();
		const sut = await importPeople(t.db, 'cadres', await readTable(csv(`姓名,手机\n张三,"${typed}"\n`), 'c.csv'), admin, tz);
		expect(sut.errors).toEqual([{ row: 2, zh: `电话“${typed}”不是手机号（11位）或带区号的座机号`, en: `“${typed}” is not a mobile number (11 digits) or a landline with its area code` }]);
		expect(await cadres()).toEqual([]);
	});

	it('a village typed with a space matches, and two bad people in one 花名册 row are one message for that row', async () => {
		await reset();
		await t.db.query("INSERT INTO cadres (name) VALUES ('张伟')");
		const text = '花名册\n村名,包村领导,,包村干部,\n,姓名,联系电话,姓名,联系电话\n龙潭 村,张伟,,查无此人,1390000\n';
		const sut = await importPeople(t.db, 'assignments', await readTable(csv(text), 'h.csv'), admin, tz, { validFrom: '2026-03-01' });
		expect(sut.header.en).toBe('header rows 2–3');
		expect(sut.errors).toEqual([{ row: 4, zh: '电话“1390000”不是手机号（11位）或带区号的座机号', en: '“1390000” is not a mobile number (11 digits) or a landline with its area code' }]);
		const fixed = await importPeople(t.db, 'assignments', await readTable(csv(text.replace('查无此人,1390000', '')), 'h.csv'), admin, tz, { validFrom: '2026-03-01' });
		expect(fixed.errors).toEqual([]);
		expect(await assignments()).toEqual(['张伟 lead 龙潭村']);
	});

	it('no header in the first rows says so', async () => {
		const err = await readTable(csv('清溪镇\n说明\n甲,乙\n丙,丁\n'), 'x.csv')
			.then((table) => importPeople(t.db, 'cadres', table, admin, tz))
			.catch((e: unknown) => e);
		expect(err).toBeInstanceOf(TableError);
		expect((err as TableError).en).toMatch(/^Missing columns: name .*No header row in the first 10 rows\.$/);
	});

	it('parsing is a pure function of (bytes, file name) whose result crosses a worker boundary intact', async () => {
		const sut = await parsePeopleTable({ bytes: await huamingceXlsx(), fileName: 'h.xlsx' });
		expect(structuredClone(sut)).toEqual(sut);
		expect(sut).toMatchObject({ ok: true, format: 'xlsx', rows: expect.arrayContaining([{ row: 6, cells: ['2', '东岭村', '张伟', '副镇长', '13900000001', '王 小 明', '经济发展办科员', '１３９００００００03'] }]) });
		const gbk = await parsePeopleTable({ bytes: fixture('huamingce-gbk.csv'), fileName: 'g.csv' });
		expect(gbk).toMatchObject({ ok: true, format: 'csv', encoding: 'gbk' });
	});

	it('readTable parses in a worker thread and can be cancelled', async () => {
		await closeHeavyWork();
		expect(heavyWorkThreads()).toBe(0);
		const rows = await readTable(await huamingceXlsx(), 'h.xlsx');
		expect(rows.map((r) => r.row)).toEqual([1, 2, 3, 4, 5, 6, 8]);
		expect(heavyWorkThreads()).toBeGreaterThan(0);
		const err = await readTable(await huamingceXlsx(), 'h.xlsx', AbortSignal.abort()).catch((e: unknown) => e);
		expect(err).toBeInstanceOf(TableError);
		expect(err).toMatchObject({ zh: '已取消。', en: 'Cancelled.' });
	});

	it('refuses a workbook that inflates past the limit before parsing it, and a CSV over the row limit', async () => {
		// A real XLSX whose zip directory declares a 100 MB sheet, as a workbook with hundreds of thousands of rows does.
		const bytes = await xlsx([['姓名'], ['张三']]);
		const view = new DataView(bytes.buffer);
		for (let at = 0; at < bytes.length - 4; at++) if (view.getUint32(at, true) === 0x02014b50) view.setUint32(at + 24, 100 * 1024 * 1024, true);
		const started = performance.now();
		const big = await parsePeopleTable({ bytes, fileName: 'big.xlsx' });
		expect(performance.now() - started).toBeLessThan(1000);
		expect(big).toEqual({ ok: false, zh: expect.stringContaining(`解压后超过 ${MAX_SHEET_XML_BYTES / 1024 / 1024} MB`), en: expect.stringContaining(`The Excel file inflates to more than ${MAX_SHEET_XML_BYTES / 1024 / 1024} MB (the limit is about ${MAX_TABLE_ROWS} rows)`) });
		const many = await parsePeopleTable({ bytes: csv(`姓名\n${'张三\n'.repeat(MAX_TABLE_ROWS + 20)}`), fileName: 'many.csv' });
		expect(many).toEqual({ ok: false, zh: '超过 5000 行，请分批导入。', en: 'More than 5000 rows; import in parts.' });
	});
});
