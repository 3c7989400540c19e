// Bulk import of the township's people from the spreadsheets staff already keep: cadres (干部名册), village
// assignments (包村安排), the 包村干部花名册 with its title, 填报单位 row and two-level header, and the duty roster
// (值班表), as CSV (UTF-8 or the GBK Excel writes on Chinese Windows) or XLSX. The header row is found, not assumed,
// and every message names rows as Excel numbers them. Every row is checked first and errors are reported row by
// row in plain words; a file with any bad row saves nothing (half a roster is worse than none). Imports feed the
// same tables routing reads (responsibleAt, dutyOn).
import type { Db, Queryable } from '../platform/db.js';
import { audit } from './auth.js';
import { HeavyTaskStopped, run } from '../platform/heavy-work.js';
import { MAX_TABLE_BYTES, MAX_TABLE_ROWS, type SheetRow } from './people-table.js';

export { MAX_TABLE_BYTES, MAX_TABLE_ROWS, type SheetRow };

export type ImportKind = 'cadres' | 'assignments' | 'roster';
type Role = 'lead' | 'cadre' | 'secretary' | 'director' | 'grid';

export class TableError extends Error {
	constructor(
		readonly zh: string,
		readonly en: string
	) {
		super(en);
	}
}

export interface RowError {
	/** Row number as the spreadsheet shows it: 1-based, title and blank rows counted. */
	row: number;
	zh: string;
	en: string;
}

type Field = 'name' | 'phone' | 'position' | 'village' | 'role' | 'valid_from' | 'valid_to' | 'day' | 'officer' | 'leader';
const PERSON_FIELDS = ['name', 'phone', 'position'] as const;
type PersonField = (typeof PERSON_FIELDS)[number];

/** Header words people actually write, zh and en, for each field; the first ASCII word names the field in English. */
const HEADERS: Record<Field, string[]> = {
	name: ['姓名', '名字', '干部', '干部姓名', 'name', 'cadre'],
	phone: ['电话', '手机', '手机号', '手机号码', '联系电话', '联系方式', '电话号码', '联系号码', 'phone', 'mobile'],
	position: ['职务', '职位', '现任职务', 'position', 'title'],
	village: ['村', '行政村', '村名', '包联村', '所包村', '包保村', '包村', '所包村名', '区划代码', 'village', 'village_code'],
	role: ['角色', '身份', '类别', 'role'],
	valid_from: ['开始', '开始日期', '起始日期', '起', 'from', 'valid_from', 'start'],
	valid_to: ['结束', '结束日期', '截止日期', '止', 'to', 'valid_to', 'end'],
	day: ['日期', '值班日期', 'date', 'day'],
	officer: ['值班员', '值班人员', '带班', 'officer', 'duty_officer'],
	leader: ['值班领导', '带班领导', 'leader', 'duty_leader']
};

export const ROLE_WORDS: Record<string, Role> = {
	包村领导: 'lead',
	联村领导: 'lead',
	包保领导: 'lead',
	lead: 'lead',
	包村干部: 'cadre',
	驻村干部: 'cadre',
	包保干部: 'cadre',
	cadre: 'cadre',
	村支书: 'secretary',
	支书: 'secretary',
	secretary: 'secretary',
	村主任: 'director',
	director: 'director',
	网格员: 'grid',
	grid: 'grid'
};

/** Header rows are looked for among the first this many non-blank rows (title, 填报单位 line, two header rows…). */
export const HEADER_SCAN_ROWS = 10;

/** A header cell as compared: full-width folded, spaces, `*` and `:` and notes in brackets removed, lower case. */
const headerKey = (s: string) =>
	s
		.normalize('NFKC')
		.replace(/\([^)]*\)/g, '')
		.replace(/[\s*:]/g, '')
		.toLowerCase();
const FIELD_BY_WORD = new Map(Object.entries(HEADERS).flatMap(([f, words]) => words.map((w) => [headerKey(w), f as Field] as const)));
/** 包村干部, 包村干部1, 包村干部（一）… → cadre. */
const roleOf = (s: string): Role | undefined => ROLE_WORDS[headerKey(s).replace(/[0-9一二三四五六七八九十]+$/, '')];

/**
 * A person's name as stored and compared: NFKC (full-width letters and spaces folded), zero-width characters gone,
 * trimmed, runs of spaces collapsed, and no space between two Chinese characters (`张 伟`, `张　伟` → `张伟`).
 * Latin names keep their single spaces.
 */
export function normName(s: string): string {
	return s
		.normalize('NFKC')
		.replace(/[\u200b-\u200d\ufeff]/g, '')
		.trim()
		.replace(/\s+/g, ' ')
		.replace(/(?<=[\p{Script=Han}·]) (?=[\p{Script=Han}·])/gu, '');
}

/**
 * A phone number as stored and compared: full-width digits folded, spaces, dashes, dots and brackets removed, the
 * +86 / 0086 / 86 country prefix dropped (a landline's area code regains its 0). Null when the result is neither
 * an 11-digit mobile, a landline with its area code, nor a 7–8 digit local number.
 */
export function normPhone(raw: string): string | null {
	const s = raw
		.normalize('NFKC')
		.replace(/[\s\-–—().]/g, '')
		.replace(/^(?:\+|00)?86(?=1[3-9]\d{9}$)/, '')
		.replace(/^(?:\+|00)86(?=[1-9]\d{8,10}$)/, '0');
	return /^1[3-9]\d{9}$/.test(s) || /^0\d{9,11}$/.test(s) || /^[2-9]\d{6,7}$/.test(s) ? s : null;
}

/**
 * The villages a cell lists: split at 、 , ， / ; ； | and line breaks, and at spaces unless the spaced text is one
 * known village name typed with a space.
 */
export function splitVillages(text: string, known: ReadonlySet<string>): string[] {
	return text
		.normalize('NFKC')
		.split(/[、,/;|\r\n]+/)
		.map((p) => p.trim())
		.filter(Boolean)
		.flatMap((p) => (!/\s/.test(p) || known.has(normName(p)) ? [p] : p.split(/\s+/)))
		.map(normName);
}

/** 2026-03-01, 2026/3/1, 2026.3.1, 2026年3月1日 → 2026-03-01; anything else null. */
export function parseDay(s: string): string | null {
	const m = /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$/.exec(s.trim());
	if (!m) return null;
	const iso = `${m[1]}-${m[2].padStart(2, '0')}-${m[3].padStart(2, '0')}`;
	const d = new Date(`${iso}T00:00:00Z`);
	return Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== iso ? null : iso;
}

/** The header the import used, in the words the admin sees: 第3–4行为表头 header rows 3–4. */
export interface HeaderUsed {
	first: number;
	last: number;
	/** Recognised columns as read, two-level ones as `包村干部/姓名`. */
	columns: string[];
	zh: string;
	en: string;
}

interface Column {
	index: number;
	label: string;
	field: Field;
	group: string | null;
}

/** One person's columns in a row: a flat table has one, a 花名册 has one per group (包村领导, 包村干部…). */
interface PersonColumns {
	group: string | null;
	role: Role | null;
	cols: Partial<Record<PersonField, number>>;
}

interface Layout {
	header: HeaderUsed;
	people: PersonColumns[];
	shared: Partial<Record<Field, number>>;
}

function recognise(labels: string[], groups: (string | null)[]): Column[] {
	const out: Column[] = [];
	labels.forEach((label, index) => {
		const group = groups[index] ?? null;
		const field = FIELD_BY_WORD.get(headerKey(label));
		if (field) out.push({ index, label: group ? `${group}/${label}` : label, field, group });
		// A column headed 包村领导 or 包村干部 holds that role's names.
		else if (!group && roleOf(label)) out.push({ index, label, field: 'name', group: label });
	});
	return out;
}

/**
 * The two header rows of a 花名册 read as one: a top cell with something below it starts a group that runs right
 * (a merged 包村领导 over 姓名/职务/联系电话 reads as its first cell only); a top cell with nothing below is a
 * column of its own merged down (村名, 序号).
 */
function twoLevel(top: string[], low: string[]): { labels: string[]; groups: (string | null)[] } {
	const labels: string[] = [];
	const groups: (string | null)[] = [];
	let current: string | null = null;
	for (let j = 0; j < Math.max(top.length, low.length); j++) {
		const t = (top[j] ?? '').trim();
		const l = (low[j] ?? '').trim();
		if (t) current = l ? t : null;
		else if (!l) current = null;
		labels.push(l || t);
		groups.push(l ? current : null);
	}
	return { labels, groups };
}

const span = (first: number, last: number) =>
	first === last ? { zh: `第${first}行为表头`, en: `header row ${first}` } : { zh: `第${first}–${last}行为表头`, en: `header rows ${first}–${last}` };

/** The best-matching header among the first rows: one row, or two adjacent rows combined. */
function findHeader(rows: SheetRow[]): { first: number; last: number; at: number; columns: Column[] } {
	const scan = Math.min(HEADER_SCAN_ROWS, rows.length - 1);
	const singles = rows.slice(0, scan + 1).map((r) => recognise(r.cells, []));
	let best = { first: rows[0].row, last: rows[0].row, at: 0, columns: [] as Column[] };
	for (let k = 0; k < scan; k++) {
		if (singles[k].length > best.columns.length) best = { first: rows[k].row, last: rows[k].row, at: k, columns: singles[k] };
		const next = rows[k + 1];
		// Two rows read as one header only when the top row is itself a header row (村名, 包村领导…), not a title,
		// and the pair recognises more than the lower row alone.
		if (singles[k].length === 0 || next.row !== rows[k].row + 1 || k + 2 >= rows.length) continue;
		const { labels, groups } = twoLevel(rows[k].cells, next.cells);
		const double = recognise(labels, groups);
		if (double.some((c) => c.group) && double.length > Math.max(best.columns.length, singles[k + 1].length)) {
			best = { first: rows[k].row, last: next.row, at: k + 1, columns: double };
		}
	}
	return best;
}

const fieldEn = (f: Field) => HEADERS[f].find((w) => /^[a-z_]+$/.test(w));

/** Where each field is, or a plain-words error naming the header row used and the missing columns. */
function layoutOf(rows: SheetRow[], kind: ImportKind, opts: ImportOptions): { layout: Layout; body: SheetRow[] } {
	const found = findHeader(rows);
	const where = span(found.first, found.last);
	const shared: Partial<Record<Field, number>> = {};
	const byGroup = new Map<string | null, PersonColumns>();
	for (const c of found.columns) {
		if ((PERSON_FIELDS as readonly string[]).includes(c.field)) {
			const p = byGroup.get(c.group) ?? { group: c.group, role: c.group ? (roleOf(c.group) ?? null) : null, cols: {} };
			p.cols[c.field as PersonField] ??= c.index;
			byGroup.set(c.group, p);
		} else shared[c.field] ??= c.index;
	}
	// 村 | 包村干部 | 职务 | 联系电话: the one role-named column holds the names, the plain columns are that person's.
	const plain = byGroup.get(null);
	const named = [...byGroup.values()].filter((p) => p.group !== null);
	if (plain && plain.cols.name === undefined && named.length === 1) {
		named[0].cols = { ...plain.cols, ...named[0].cols };
		byGroup.delete(null);
	}
	const people = [...byGroup.values()].filter((p) => p.cols.name !== undefined);
	const missing: Field[] = [];
	if (kind !== 'roster' && people.length === 0) missing.push('name');
	if (kind === 'assignments') {
		if (shared.village === undefined) missing.push('village');
		if (shared.role === undefined && (people.length === 0 || people.some((p) => !p.role))) missing.push('role');
		if (shared.valid_from === undefined && !opts.validFrom) missing.push('valid_from');
	}
	if (kind === 'roster') {
		if (shared.day === undefined) missing.push('day');
		if (shared.officer === undefined && shared.leader === undefined) missing.push('officer');
	}
	if (missing.length) {
		const none = found.columns.length === 0;
		throw new TableError(
			`缺少列：${missing.map((m) => HEADERS[m][0]).join('、')}（表头可用：${missing.map((m) => HEADERS[m].join('/')).join('；')}）。${none ? `前${HEADER_SCAN_ROWS}行里没有找到表头。` : `${where.zh}。`}`,
			`Missing columns: ${missing.map(fieldEn).join(', ')} (header words: ${missing.map((m) => HEADERS[m].join('/')).join('; ')}). ${none ? `No header row in the first ${HEADER_SCAN_ROWS} rows.` : `Used ${where.en}.`}`
		);
	}
	const body = rows.slice(found.at + 1);
	if (body.length === 0) throw new TableError(`表格是空的：${where.zh}，下面没有数据行。`, `The table is empty: nothing below ${where.en}.`);
	if (body.length > MAX_TABLE_ROWS) throw new TableError(`超过 ${MAX_TABLE_ROWS} 行，请分批导入。`, `More than ${MAX_TABLE_ROWS} rows; import in parts.`);
	return { layout: { header: { first: found.first, last: found.last, columns: found.columns.map((c) => c.label), ...where }, people, shared }, body };
}

/** A sheet within the size limits parses in about 2 s; a file still busy after this is stopped. */
export const PARSE_TIMEOUT_MS = 30_000;

/**
 * The rows of a CSV or XLSX file (its bytes, or its path on disk), parsed in a worker thread (heavy-work.ts) so a big workbook never holds up pages,
 * broker and ingest; a file that cannot be read, or runs out of time, is a TableError in plain words.
 */
export async function readTable(source: Uint8Array | { path: string }, fileName: string, signal?: AbortSignal): Promise<SheetRow[]> {
	let out;
	try {
		// An upload arrives as a file under DATA_DIR/incoming (platform/upload-stream.ts): the worker reads it.
		const input = source instanceof Uint8Array ? { bytes: source, fileName } : { path: source.path, fileName };
		out = await run('peopleTable', input, { timeoutMs: PARSE_TIMEOUT_MS, signal });
	} catch (err) {
		if (err instanceof HeavyTaskStopped) throw new TableError(err.zh, err.en);
		throw err;
	}
	if (!out.ok) throw new TableError(out.zh, out.en);
	return out.rows;
}

interface Lookup {
	cadres: { id: number; name: string; phone: string | null }[];
	/** The cadres by normalised name: a 5,000-row file looks each one up without scanning every cadre. */
	byName: Map<string, { id: number; name: string; phone: string | null }[]>;
	villages: { id: number; name: string; division_code: string | null }[];
}

async function lookup(q: Queryable): Promise<Lookup> {
	const c = await q.query<{ id: number; name: string; phone: string | null }>('SELECT id, name, phone FROM cadres ORDER BY id');
	const v = await q.query<{ id: number; name: string; division_code: string | null }>('SELECT id, name, division_code FROM villages ORDER BY id');
	// Names typed with spaces before this import still match the same person or village.
	const cadres = c.rows.map((r) => ({ ...r, name: normName(r.name), phone: r.phone === null ? null : (normPhone(r.phone) ?? r.phone) }));
	const byName = new Map<string, Lookup['cadres']>();
	for (const x of cadres) byName.set(x.name, [...(byName.get(x.name) ?? []), x]);
	return { cadres, byName, villages: v.rows.map((r) => ({ ...r, name: normName(r.name) })) };
}

/** A cadre named in a row: by name and phone when the phone is given, by name alone when the name is unique. */
function findCadre(l: Lookup, nameText: string, phoneText?: string): { id: number } | string {
	const same = l.byName.get(nameText) ?? [];
	const hit = phoneText ? same.filter((c) => c.phone === phoneText) : same;
	if (hit.length === 1) return hit[0];
	if (hit.length === 0) return `找不到干部“${nameText}”（请先导入干部名册） / no cadre “${nameText}” (import the cadre list first)`;
	return `有 ${hit.length} 个叫“${nameText}”的干部，请加上电话列区分 / ${hit.length} cadres are called “${nameText}”: add the phone column`;
}

function findVillage(l: Lookup, text: string): { id: number } | string {
	const hit = /^[0-9]{12}$/.test(text) ? l.villages.filter((v) => v.division_code === text) : l.villages.filter((v) => v.name === text);
	if (hit.length === 1) return hit[0];
	return hit.length === 0 ? `找不到村“${text}” / no village “${text}”` : `有多个村叫“${text}”，请用12位区划代码 / several villages are called “${text}”: use the 12-digit code`;
}

export interface ImportOptions {
	/** Start date (YYYY-MM-DD) for assignments from a sheet with no 开始 column, such as a 花名册. */
	validFrom?: string;
}

export interface ImportOutcome {
	kind: ImportKind;
	/** Data rows read below the header. */
	rows: number;
	header: HeaderUsed;
	errors: RowError[];
	/** What was saved (nothing when there are errors). */
	saved: { created: number; updated: number };
}

/**
 * Check every row, then (only if all are good) save them in one transaction, audited.
 * `tz`: the township's zone (TZ_DISPLAY); assignment dates start at its midnight (people.ts LOCAL_DAY).
 */
export async function importPeople(
	db: Db,
	kind: ImportKind,
	table: SheetRow[],
	actor: { id: number | null; name: string },
	tz: string,
	opts: ImportOptions = {}
): Promise<ImportOutcome> {
	const { layout, body } = layoutOf(table, kind, opts);
	const { people, shared } = layout;
	const cell = (r: SheetRow, i: number | undefined) => (i === undefined ? '' : (r.cells[i] ?? '').trim());
	const errors: RowError[] = [];
	const err = (row: number, zhEn: string) => {
		const [zh, en] = zhEn.split(' / ');
		errors.push({ row, zh, en: en ?? zh });
	};
	const l = await lookup(db);
	const { byName } = l;
	const knownVillages = new Set(l.villages.map((v) => v.name));
	const ops: Ops = { cadreUpdates: [], cadreInserts: [], assignments: [], roster: [] };
	/** A person or assignment listed on several rows (a 包村领导 over three villages) is saved once. */
	const seen = new Set<string>();
	let rows = 0;
	// In a 花名册 a village merged down over several rows reads as empty below its first row: the cell means 同上.
	let villageAbove = '';

	let checked = 0;
	for (const r of body) {
		// Checking 5,000 rows is tens of milliseconds of this thread: let the broker and pages in now and then.
		if (++checked % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
		const used = [...people.flatMap((p) => Object.values(p.cols)), ...Object.values(shared)];
		// Rows with nothing in any recognised column (a 序号 alone, a note under the table) are not data.
		if (used.every((i) => cell(r, i) === '')) continue;
		rows++;
		const persons = people
			.map((p) => ({ p, name: normName(cell(r, p.cols.name)), phoneText: cell(r, p.cols.phone), position: normName(cell(r, p.cols.position)) }))
			.filter((x, _i, all) => x.name !== '' || all.length === 1);
		const rowErrorsBefore = errors.length;
		const phoneOf = (text: string): string | null | false => {
			if (!text) return null;
			const p = normPhone(text);
			if (p === null) {
				err(r.row, `电话“${text}”不是手机号（11位）或带区号的座机号 / “${text}” is not a mobile number (11 digits) or a landline with its area code`);
				return false;
			}
			return p;
		};

		if (kind === 'cadres') {
			if (persons.length === 0) err(r.row, '姓名为空 / the name is empty');
			for (const { name: n, phoneText, position } of persons) {
				if (n.length < 1 || n.length > 100) {
					err(r.row, '姓名为空或超过100字 / the name is empty or longer than 100 characters');
					continue;
				}
				const p = phoneOf(phoneText);
				if (p === false) continue;
				const key = `${n}\u0000${p ?? ''}`;
				if (seen.has(key)) continue;
				seen.add(key);
				const same = byName.get(n) ?? [];
				const existing = same.find((c) => c.phone === p || (!p && same.length === 1));
				if (existing) ops.cadreUpdates.push({ id: existing.id, phone: p, position: position || null });
				else ops.cadreInserts.push({ name: n, phone: p, position: position || null });
			}
		} else if (kind === 'assignments') {
			let villageText = cell(r, shared.village);
			if (!villageText && people.some((p) => p.group)) villageText = villageAbove;
			villageAbove = villageText;
			const roleText = cell(r, shared.role);
			const fromText = cell(r, shared.valid_from);
			const from = shared.valid_from === undefined ? (opts.validFrom ?? null) : parseDay(fromText);
			const toText = cell(r, shared.valid_to);
			const to = toText ? parseDay(toText) : null;
			if (persons.length === 0) err(r.row, '姓名为空 / the name is empty');
			for (const { p: pc, name: n, phoneText } of persons) {
				const p = phoneOf(phoneText);
				if (p === false) continue;
				const cadre = findCadre(l, n, p ?? undefined);
				if (typeof cadre === 'string') {
					err(r.row, cadre);
					continue;
				}
				const role = roleText ? (ROLE_WORDS[roleText] ?? ROLE_WORDS[roleText.toLowerCase()]) : pc.role;
				if (!role) {
					err(r.row, `角色“${roleText}”不认识，可用：包村领导、包村干部、村支书、村主任、网格员 / unknown role “${roleText}”: use lead, cadre, secretary, director or grid`);
					continue;
				}
				if (!from) {
					err(r.row, `开始日期“${fromText}”看不懂，请写成 2026-03-01 / start date “${fromText}” is not a date like 2026-03-01`);
					continue;
				}
				if (toText && !to) {
					err(r.row, `结束日期“${toText}”看不懂 / end date “${toText}” is not a date`);
					continue;
				}
				if (to && to <= from) {
					err(r.row, '结束日期必须晚于开始日期 / the end date must be after the start date');
					continue;
				}
				const villages = splitVillages(villageText, knownVillages);
				if (villages.length === 0) err(r.row, '村为空 / the village is empty');
				for (const text of villages) {
					const village = findVillage(l, text);
					if (typeof village === 'string') {
						err(r.row, village);
						continue;
					}
					const key = `${cadre.id}:${village.id}:${role}:${from}`;
					if (seen.has(key)) continue;
					seen.add(key);
					ops.assignments.push({ cadre_id: cadre.id, village_id: village.id, role, from, to });
				}
			}
		} else {
			const dayText = cell(r, shared.day);
			const day = parseDay(dayText);
			if (!day) {
				err(r.row, `日期“${dayText}”看不懂，请写成 2026-03-01 / “${dayText}” is not a date like 2026-03-01`);
				continue;
			}
			const officerName = normName(cell(r, shared.officer));
			const leaderName = normName(cell(r, shared.leader));
			const officer = officerName ? findCadre(l, officerName) : null;
			const leader = leaderName ? findCadre(l, leaderName) : null;
			if (typeof officer === 'string') err(r.row, officer);
			else if (typeof leader === 'string') err(r.row, leader);
			else if (!officer && !leader) err(r.row, '值班员和值班领导都是空的 / both the duty officer and the duty leader are empty');
			else ops.roster.push({ day, officer_id: officer?.id ?? null, leader_id: leader?.id ?? null });
		}
		// One entry per row (a 花名册 row can hold two people): the admin fixes the row the message names.
		const own = errors.splice(rowErrorsBefore);
		if (own.length) errors.push({ row: r.row, zh: own.map((e) => e.zh).join('；'), en: own.map((e) => e.en).join('; ') });
	}

	let saved = { created: 0, updated: 0 };
	if (errors.length === 0) {
		await db.tx(async (q) => {
			saved = await write(q, ops, tz);
			await audit(q, actor, `${kind}_imported`, { type: kind, id: 'bulk' }, { rows, header: [layout.header.first, layout.header.last], ...saved });
		});
	}
	return { kind, rows, header: layout.header, errors, saved };
}

/** What an import saves, gathered while its rows are checked. */
interface Ops {
	cadreUpdates: { id: number; phone: string | null; position: string | null }[];
	cadreInserts: { name: string; phone: string | null; position: string | null }[];
	assignments: { cadre_id: number; village_id: number; role: Role; from: string; to: string | null }[];
	roster: { day: string; officer_id: number | null; leader_id: number | null }[];
}

/**
 * Rows per statement. On the embedded database each statement runs on the thread that serves pages, broker and
 * ingest: 5,000 single-row statements held it for over a second, 1,000 rows in one takes a few milliseconds.
 */
export const WRITE_BATCH_ROWS = 1000;

async function inBatches<T>(rows: T[], fn: (part: T[]) => Promise<void>): Promise<void> {
	for (let i = 0; i < rows.length; i += WRITE_BATCH_ROWS) {
		await fn(rows.slice(i, i + WRITE_BATCH_ROWS));
		// Let the event loop answer what is waiting (it cannot take the transaction's lock, but it need not wait for the CPU).
		if (i + WRITE_BATCH_ROWS < rows.length) await new Promise((r) => setImmediate(r));
	}
}

/** Keeps the last entry per key, in first-seen order: a later row of the file wins, as it did row by row. */
function lastPerKey<T>(rows: T[], key: (r: T) => string | number): T[] {
	const m = new Map<string | number, T>();
	for (const r of rows) m.set(key(r), r);
	return [...m.values()];
}

/** Writes an import's rows in multi-row statements (unnest), inside the caller's transaction. */
async function write(q: Queryable, ops: Ops, tz: string): Promise<{ created: number; updated: number }> {
	let created = ops.cadreInserts.length + ops.assignments.length;
	let updated = ops.cadreUpdates.length;
	await inBatches(lastPerKey(ops.cadreUpdates, (r) => r.id), async (part) => {
		await q.query(
			`UPDATE cadres c SET phone = COALESCE(u.phone, c.phone), position = COALESCE(u.position, c.position)
			 FROM unnest($1::int[], $2::text[], $3::text[]) AS u(id, phone, position) WHERE c.id = u.id`,
			[part.map((r) => r.id), part.map((r) => r.phone), part.map((r) => r.position)]
		);
	});
	await inBatches(ops.cadreInserts, async (part) => {
		await q.query('INSERT INTO cadres (name, phone, position) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])', [
			part.map((r) => r.name),
			part.map((r) => r.phone),
			part.map((r) => r.position)
		]);
	});
	await inBatches(ops.assignments, async (part) => {
		await q.query(
			`INSERT INTO assignments (cadre_id, village_id, role, valid_from, valid_to)
			 SELECT u.c, u.v, u.r, (u.f::date::timestamp AT TIME ZONE $6), (u.t::date::timestamp AT TIME ZONE $6)
			 FROM unnest($1::int[], $2::int[], $3::text[], $4::text[], $5::text[]) AS u(c, v, r, f, t)`,
			// The township's midnight, as people.ts LOCAL_DAY computes it for one row.
			[part.map((r) => r.cadre_id), part.map((r) => r.village_id), part.map((r) => r.role), part.map((r) => r.from), part.map((r) => r.to), tz]
		);
	});
	// A day listed twice is saved once with its last row; the repeat counts as an update, as it did row by row.
	const days = lastPerKey(ops.roster, (r) => r.day);
	updated += ops.roster.length - days.length;
	await inBatches(days, async (part) => {
		const r = await q.query<{ inserted: boolean }>(
			`INSERT INTO duty_roster (day, officer_id, leader_id) SELECT * FROM unnest($1::date[], $2::int[], $3::int[])
			 ON CONFLICT (day) DO UPDATE SET officer_id = EXCLUDED.officer_id, leader_id = EXCLUDED.leader_id RETURNING (xmax = 0) AS inserted`,
			[part.map((d) => d.day), part.map((d) => d.officer_id), part.map((d) => d.leader_id)]
		);
		const fresh = r.rows.filter((x) => x.inserted).length;
		created += fresh;
		updated += r.rows.length - fresh;
	});
	return { created, updated };
}
