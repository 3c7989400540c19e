// Bulk import of the township's people from the spreadsheets staff already keep: cadres (干部名册), village
// assignments (包村安排) and the duty roster (值班表), as CSV (UTF-8 or the GBK Excel writes on Chinese Windows) or
// XLSX. Every row is checked first and errors are reported row by row in plain words; a file with any bad row saves
// nothing (half a roster is worse than none). Imports feed the same tables routing reads (responsibleAt, dutyOn).
import { parse as parseCsv } from 'csv-parse/sync';
import { readSheet } from 'read-excel-file/node';
import { z } from 'zod';
import type { Db, Queryable } from './db.js';
import { audit } from './auth.js';
import { LOCAL_DAY } from './people.js';

export type ImportKind = 'cadres' | 'assignments' | 'roster';
export const MAX_TABLE_BYTES = 5 * 1024 * 1024;
export const MAX_TABLE_ROWS = 5000;

export class TableError extends Error {
	constructor(
		readonly zh: string,
		readonly en: string
	) {
		super(en);
	}
}

export interface RowError {
	/** Row number as the spreadsheet shows it (header = 1). */
	row: number;
	zh: string;
	en: string;
}

/** Header words people actually write, zh and en, for each field. */
const HEADERS: Record<string, string[]> = {
	name: ['姓名', '名字', '干部', '干部姓名', 'name', 'cadre'],
	phone: ['电话', '手机', '手机号', '联系电话', 'phone', 'mobile'],
	position: ['职务', '职位', 'position', 'title'],
	village: ['村', '行政村', '村名', '包联村', '区划代码', 'village', 'village_code'],
	role: ['角色', '身份', '类别', 'role'],
	valid_from: ['开始', '开始日期', '起始日期', '起', 'from', 'valid_from', 'start'],
	valid_to: ['结束', '结束日期', '截止日期', '止', 'to', 'valid_to', 'end'],
	day: ['日期', '值班日期', 'date', 'day'],
	officer: ['值班员', '值班人员', '带班', 'officer', 'duty_officer'],
	leader: ['值班领导', '带班领导', 'leader', 'duty_leader']
};

export const ROLE_WORDS: Record<string, 'lead' | 'cadre' | 'secretary' | 'director' | 'grid'> = {
	包村领导: 'lead',
	联村领导: 'lead',
	lead: 'lead',
	包村干部: 'cadre',
	驻村干部: 'cadre',
	cadre: 'cadre',
	村支书: 'secretary',
	支书: 'secretary',
	secretary: 'secretary',
	村主任: 'director',
	director: 'director',
	网格员: 'grid',
	grid: 'grid'
};

const NEEDED: Record<ImportKind, string[]> = {
	cadres: ['name'],
	assignments: ['name', 'village', 'role', 'valid_from'],
	roster: ['day']
};

/** A table of strings from CSV or XLSX bytes; the first non-empty row is the header. */
export async function readTable(bytes: Uint8Array, fileName: string): Promise<string[][]> {
	if (bytes.byteLength > MAX_TABLE_BYTES) {
		throw new TableError(`文件太大，上限 ${MAX_TABLE_BYTES / 1024 / 1024} MB。`, `The file is too large; the limit is ${MAX_TABLE_BYTES / 1024 / 1024} MB.`);
	}
	let rows: string[][];
	if (bytes[0] === 0x50 && bytes[1] === 0x4b) {
		try {
			const data = await readSheet(Buffer.from(bytes));
			rows = data.map((r) => r.map(cellText));
		} catch {
			throw new TableError('无法读取这个Excel文件（只支持 .xlsx，旧的 .xls 请另存为 .xlsx 或 CSV）。', 'Cannot read this Excel file (only .xlsx; save old .xls files as .xlsx or CSV).');
		}
	} else if (/\.xls$/i.test(fileName) || (bytes[0] === 0xd0 && bytes[1] === 0xcf)) {
		throw new TableError('旧的 .xls 格式不支持，请另存为 .xlsx 或 CSV。', 'The old .xls format is not supported; save as .xlsx or CSV.');
	} else {
		const text = decodeText(bytes);
		try {
			rows = parseCsv(text, { bom: true, relax_column_count: true, skip_empty_lines: true, trim: true }) as string[][];
		} catch (e) {
			throw new TableError(`CSV 格式错误：${(e as Error).message}`, `The CSV is malformed: ${(e as Error).message}`);
		}
	}
	rows = rows.filter((r) => r.some((c) => c.trim() !== ''));
	if (rows.length < 2) throw new TableError('表格是空的：第一行是表头，下面每行一条。', 'The table is empty: the first row is the header, then one row each.');
	if (rows.length - 1 > MAX_TABLE_ROWS) throw new TableError(`超过 ${MAX_TABLE_ROWS} 行。`, `More than ${MAX_TABLE_ROWS} rows.`);
	return rows;
}

function cellText(c: unknown): string {
	if (c === null || c === undefined) return '';
	if (c instanceof Date) return c.toISOString().slice(0, 10);
	return String(c).trim();
}

/** Excel on Chinese Windows saves CSV as GBK; everything else is UTF-8. */
function decodeText(bytes: Uint8Array): string {
	try {
		return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
	} catch {
		return new TextDecoder('gbk').decode(bytes);
	}
}

/** Column index of each known field, or a plain-words error naming the missing columns. */
export function mapHeader(header: string[], kind: ImportKind): Record<string, number> {
	const norm = header.map((h) => h.replace(/\s+/g, '').toLowerCase());
	const out: Record<string, number> = {};
	for (const [field, words] of Object.entries(HEADERS)) {
		const i = norm.findIndex((h) => words.some((w) => h === w.toLowerCase()));
		if (i >= 0) out[field] = i;
	}
	const missing = NEEDED[kind].filter((f) => out[f] === undefined);
	if (kind === 'roster' && out.officer === undefined && out.leader === undefined) missing.push('officer');
	if (missing.length) {
		throw new TableError(
			`缺少列：${missing.map((m) => HEADERS[m][0]).join('、')}（表头可用：${missing.map((m) => HEADERS[m].join('/')).join('；')}）`,
			`Missing columns: ${missing.map((m) => HEADERS[m].find((w) => /^[a-z_]+$/.test(w))).join(', ')} (header words: ${missing.map((m) => HEADERS[m].join('/')).join('; ')})`
		);
	}
	return out;
}

const phone = z.string().regex(/^[0-9+ -]{3,20}$/);
const name = z.string().min(1).max(100);
/** 2026-03-01, 2026/3/1, 2026.3.1, 2026年3月1日 → 2026-03-01; anything else null. */
export function parseDay(s: string): string | null {
	const m = /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$/.exec(s.trim());
	if (!m) return null;
	const iso = `${m[1]}-${m[2].padStart(2, '0')}-${m[3].padStart(2, '0')}`;
	const d = new Date(`${iso}T00:00:00Z`);
	return Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== iso ? null : iso;
}

interface Lookup {
	cadres: { id: number; name: string; phone: string | null }[];
	villages: { id: number; name: string; division_code: string | null }[];
}

async function lookup(q: Queryable): Promise<Lookup> {
	const c = await q.query<{ id: number; name: string; phone: string | null }>('SELECT id, name, phone FROM cadres ORDER BY id');
	const v = await q.query<{ id: number; name: string; division_code: string | null }>('SELECT id, name, division_code FROM villages ORDER BY id');
	return { cadres: c.rows, villages: v.rows };
}

/** A cadre named in a row: by name and phone when the phone is given, by name alone when the name is unique. */
function findCadre(l: Lookup, nameText: string, phoneText?: string): { id: number } | string {
	const same = l.cadres.filter((c) => c.name === nameText);
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

export interface ImportOutcome {
	kind: ImportKind;
	rows: number;
	errors: RowError[];
	/** What was saved (nothing when there are errors). */
	saved: { created: number; updated: number };
}

/** Check every row, then (only if all are good) save them in one transaction, audited. */
/** `tz`: the township's zone (TZ_DISPLAY); assignment dates start at its midnight (people.ts LOCAL_DAY). */
export async function importPeople(db: Db, kind: ImportKind, table: string[][], actor: { id: number | null; name: string }, tz: string): Promise<ImportOutcome> {
	const cols = mapHeader(table[0], kind);
	const body = table.slice(1);
	const get = (r: string[], f: string) => (cols[f] === undefined ? '' : (r[cols[f]] ?? '').trim());
	const errors: RowError[] = [];
	const err = (row: number, zhEn: string) => {
		const [zh, en] = zhEn.split(' / ');
		errors.push({ row, zh, en: en ?? zh });
	};
	const l = await lookup(db);
	type Op = (q: Queryable) => Promise<'created' | 'updated'>;
	const ops: Op[] = [];

	body.forEach((r, i) => {
		const row = i + 2;
		if (kind === 'cadres') {
			const n = get(r, 'name');
			const p = get(r, 'phone');
			const pos = get(r, 'position');
			if (!name.safeParse(n).success) return err(row, '姓名为空或超过100字 / the name is empty or longer than 100 characters');
			if (p && !phone.safeParse(p).success) return err(row, `电话“${p}”不是电话号码 / “${p}” is not a phone number`);
			const existing = l.cadres.find((c) => c.name === n && (c.phone === (p || null) || (!p && l.cadres.filter((x) => x.name === n).length === 1)));
			ops.push(async (q) => {
				if (existing) {
					await q.query('UPDATE cadres SET phone = COALESCE($2, phone), position = COALESCE($3, position) WHERE id = $1', [existing.id, p || null, pos || null]);
					return 'updated';
				}
				await q.query('INSERT INTO cadres (name, phone, position) VALUES ($1, $2, $3)', [n, p || null, pos || null]);
				return 'created';
			});
		} else if (kind === 'assignments') {
			const cadre = findCadre(l, get(r, 'name'), get(r, 'phone') || undefined);
			if (typeof cadre === 'string') return err(row, cadre);
			const village = findVillage(l, get(r, 'village'));
			if (typeof village === 'string') return err(row, village);
			const role = ROLE_WORDS[get(r, 'role')] ?? ROLE_WORDS[get(r, 'role').toLowerCase()];
			if (!role) return err(row, `角色“${get(r, 'role')}”不认识，可用：包村领导、包村干部、村支书、村主任、网格员 / unknown role “${get(r, 'role')}”: use lead, cadre, secretary, director or grid`);
			const from = parseDay(get(r, 'valid_from'));
			if (!from) return err(row, `开始日期“${get(r, 'valid_from')}”看不懂，请写成 2026-03-01 / start date “${get(r, 'valid_from')}” is not a date like 2026-03-01`);
			const toText = get(r, 'valid_to');
			const to = toText ? parseDay(toText) : null;
			if (toText && !to) return err(row, `结束日期“${toText}”看不懂 / end date “${toText}” is not a date`);
			if (to && to <= from) return err(row, '结束日期必须晚于开始日期 / the end date must be after the start date');
			ops.push(async (q) => {
				await q.query(`INSERT INTO assignments (cadre_id, village_id, role, valid_from, valid_to) VALUES ($1, $2, $3, ${LOCAL_DAY(4, 6)}, ${LOCAL_DAY(5, 6)})`, [cadre.id, village.id, role, from, to, tz]);
				return 'created';
			});
		} else {
			const day = parseDay(get(r, 'day'));
			if (!day) return err(row, `日期“${get(r, 'day')}”看不懂，请写成 2026-03-01 / “${get(r, 'day')}” is not a date like 2026-03-01`);
			const officerName = get(r, 'officer');
			const leaderName = get(r, 'leader');
			const officer = officerName ? findCadre(l, officerName) : null;
			const leader = leaderName ? findCadre(l, leaderName) : null;
			if (typeof officer === 'string') return err(row, officer);
			if (typeof leader === 'string') return err(row, leader);
			if (!officer && !leader) return err(row, '值班员和值班领导都是空的 / both the duty officer and the duty leader are empty');
			ops.push(async (q) => {
				const r2 = await q.query(
					`INSERT INTO duty_roster (day, officer_id, leader_id) VALUES ($1, $2, $3)
					 ON CONFLICT (day) DO UPDATE SET officer_id = EXCLUDED.officer_id, leader_id = EXCLUDED.leader_id RETURNING (xmax = 0) AS inserted`,
					[day, officer?.id ?? null, leader?.id ?? null]
				);
				return (r2.rows[0] as { inserted: boolean }).inserted ? 'created' : 'updated';
			});
		}
	});

	const saved = { created: 0, updated: 0 };
	if (errors.length === 0) {
		await db.tx(async (q) => {
			for (const op of ops) saved[await op(q)]++;
			await audit(q, actor, `${kind}_imported`, { type: kind, id: 'bulk' }, { rows: body.length, ...saved });
		});
	}
	return { kind, rows: body.length, errors, saved };
}
