// Cadres, their village assignments (包村) and the duty roster (值班表), edited one at a time from the admin pages.
// Assignments are never deleted or rewritten: ending one sets its valid_to, so cases keep being judged against who
// was responsible at the time (DOMAIN.md "Territorial responsibility"). Every change is audited.
import { z } from 'zod';
import type { Db, Queryable } from '../platform/db.js';
import { audit } from './auth.js';
import { INT4_MAX, day, intParam } from '../platform/params.js';
import { ASSIGNMENT_ROLES } from '../../domain/labels.js';

export type Actor = { id: number | null; name: string };
export const ROLES = ASSIGNMENT_ROLES;

export class PeopleError extends Error {
	constructor(
		readonly zh: string,
		readonly en: string
	) {
		super(en);
	}
}

export const cadreSchema = z.object({
	name: z.string().trim().min(1, '姓名不能为空 name is required').max(100, '姓名太长 name too long'),
	phone: z
		.string()
		.trim()
		.regex(/^([0-9+ -]{3,20})?$/, '电话只能是数字、+、空格或-，3到20位 phone: 3–20 digits, +, space or -')
		.transform((p) => p || null),
	position: z
		.string()
		.trim()
		.max(100, '职务太长 position too long')
		.transform((p) => p || null)
});
export type CadreInput = z.infer<typeof cadreSchema>;

export const assignmentSchema = z.object({
	cadre_id: intParam(1, INT4_MAX, '请选择干部 choose a cadre'),
	village_id: intParam(1, INT4_MAX, '请选择村 choose a village'),
	role: z.enum(ROLES, { message: '请选择角色 choose a role' }),
	valid_from: day,
	/** End the current holder of the same role in this village the day the new one starts (a handover). */
	handover: z
		.string()
		.optional()
		.transform((v) => v === 'on')
});
export const rosterDaySchema = z.object({
	day,
	officer_id: intParam(0, INT4_MAX),
	leader_id: intParam(0, INT4_MAX)
});

export async function createCadre(db: Db, c: CadreInput, actor: Actor): Promise<number> {
	return db.tx(async (q) => {
		const r = await q.query<{ id: number }>('INSERT INTO cadres (name, phone, position) VALUES ($1, $2, $3) RETURNING id', [c.name, c.phone, c.position]);
		await audit(q, actor, 'cadre_created', { type: 'cadre', id: r.rows[0].id }, c);
		return r.rows[0].id;
	});
}

export async function updateCadre(db: Db, id: number, c: CadreInput, actor: Actor): Promise<void> {
	await db.tx(async (q) => {
		const old = await q.query('SELECT name, phone, position FROM cadres WHERE id = $1 FOR UPDATE', [id]);
		if (!old.rows[0]) throw new PeopleError('没有这个干部。', 'No such cadre.');
		await q.query('UPDATE cadres SET name = $2, phone = $3, position = $4 WHERE id = $1', [id, c.name, c.phone, c.position]);
		await audit(q, actor, 'cadre_updated', { type: 'cadre', id }, { from: old.rows[0], to: c });
	});
}

/**
 * A day as the township means it: from midnight in `tz` (TZ_DISPLAY). A bare '2026-03-01' handed to a timestamptz
 * column is midnight in the database session's zone (UTC here), which made a handover start at 08:00 Beijing time
 * and left the night's cases with the previous holder.
 */
export const LOCAL_DAY = (p: number, tz: number) => `($${p}::date::timestamp AT TIME ZONE $${tz})`;

export async function assign(db: Db, a: z.infer<typeof assignmentSchema>, actor: Actor, tz: string): Promise<number> {
	return db.tx(async (q) => {
		const ok = await q.query('SELECT (SELECT count(*) FROM cadres WHERE id = $1)::int AS c, (SELECT count(*) FROM villages WHERE id = $2)::int AS v', [a.cadre_id, a.village_id]);
		const { c, v } = ok.rows[0] as { c: number; v: number };
		if (!c || !v) throw new PeopleError('干部或村不存在。', 'No such cadre or village.');
		let ended = 0;
		if (a.handover) {
			const r = await q.query(
				`UPDATE assignments SET valid_to = ${LOCAL_DAY(3, 4)} WHERE village_id = $1 AND role = $2 AND valid_to IS NULL AND valid_from < ${LOCAL_DAY(3, 4)}`,
				[a.village_id, a.role, a.valid_from, tz]
			);
			ended = r.rowCount ?? 0;
		}
		const r = await q.query<{ id: number }>(`INSERT INTO assignments (cadre_id, village_id, role, valid_from) VALUES ($1, $2, $3, ${LOCAL_DAY(4, 5)}) RETURNING id`, [
			a.cadre_id,
			a.village_id,
			a.role,
			a.valid_from,
			tz
		]);
		await audit(q, actor, 'assignment_created', { type: 'assignment', id: r.rows[0].id }, { ...a, ended_previous: ended });
		return r.rows[0].id;
	});
}

export async function endAssignment(db: Db, id: number, actor: Actor): Promise<void> {
	await db.tx(async (q) => {
		const r = await q.query('UPDATE assignments SET valid_to = now() WHERE id = $1 AND valid_to IS NULL AND valid_from < now()', [id]);
		if (!r.rowCount) throw new PeopleError('这条包村安排已经结束或尚未开始。', 'This assignment has ended already or has not started.');
		await audit(q, actor, 'assignment_ended', { type: 'assignment', id });
	});
}

export async function setRosterDay(db: Db, d: z.infer<typeof rosterDaySchema>, actor: Actor): Promise<void> {
	await db.tx(async (q) => {
		const officer = d.officer_id || null;
		const leader = d.leader_id || null;
		if (!officer && !leader) {
			await q.query('DELETE FROM duty_roster WHERE day = $1', [d.day]);
		} else {
			await q.query(
				'INSERT INTO duty_roster (day, officer_id, leader_id) VALUES ($1, $2, $3) ON CONFLICT (day) DO UPDATE SET officer_id = EXCLUDED.officer_id, leader_id = EXCLUDED.leader_id',
				[d.day, officer, leader]
			);
		}
		await audit(q, actor, 'roster_day_set', { type: 'duty_roster', id: d.day }, { officer_id: officer, leader_id: leader });
	});
}

export interface CadreRow {
	id: number;
	name: string;
	phone: string | null;
	position: string | null;
}
export interface AssignmentRow {
	id: number;
	cadre_id: number;
	cadre: string;
	village_id: number;
	village: string;
	role: string;
	valid_from: string;
	valid_to: string | null;
}

export async function listPeople(q: Queryable): Promise<{ cadres: CadreRow[]; villages: { id: number; name: string }[]; assignments: AssignmentRow[] }> {
	const c = await q.query<CadreRow>('SELECT id, name, phone, position FROM cadres ORDER BY name, id');
	const v = await q.query<{ id: number; name: string }>('SELECT id, name FROM villages ORDER BY id');
	const a = await q.query<Omit<AssignmentRow, 'valid_from' | 'valid_to'> & { valid_from: Date; valid_to: Date | null }>(
		`SELECT a.id, a.cadre_id, c.name AS cadre, a.village_id, v.name AS village, a.role, a.valid_from, a.valid_to
		 FROM assignments a JOIN cadres c ON c.id = a.cadre_id JOIN villages v ON v.id = a.village_id
		 ORDER BY a.village_id, a.valid_from DESC, a.id DESC`
	);
	return {
		cadres: c.rows,
		villages: v.rows,
		assignments: a.rows.map((r) => ({ ...r, valid_from: new Date(r.valid_from).toISOString(), valid_to: r.valid_to ? new Date(r.valid_to).toISOString() : null }))
	};
}

export async function rosterMonth(q: Queryable, month: string): Promise<{ day: string; officer_id: number | null; officer: string | null; leader_id: number | null; leader: string | null }[]> {
	const r = await q.query<{ day: string; officer_id: number | null; officer: string | null; leader_id: number | null; leader: string | null }>(
		`SELECT to_char(d.day, 'YYYY-MM-DD') AS day, d.officer_id, o.name AS officer, d.leader_id, l.name AS leader
		 FROM duty_roster d LEFT JOIN cadres o ON o.id = d.officer_id LEFT JOIN cadres l ON l.id = d.leader_id
		 WHERE to_char(d.day, 'YYYY-MM') = $1 ORDER BY d.day`,
		[month]
	);
	return r.rows;
}
