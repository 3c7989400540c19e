// Case lists and case detail for the API and pages, with the caller's scope applied on the server: a pure cadre
// sees only cases of their villages or assigned to them.
import { z } from 'zod';
import type { Queryable } from '../platform/db.js';
import type { SessionUser } from '../people/auth.js';
import { INCIDENT_STATUSES } from '../../domain/incident-flow.js';
import { LEVELS, LEVELS_WORST_FIRST, compareLevels, isLevel } from '../../domain/levels.js';
import { CATEGORIES } from './incidents.js';
import { id4, instant, intParam, text } from '../platform/params.js';

export const incidentFilter = z.object({
	status: z.union([z.enum(INCIDENT_STATUSES), z.literal('open')]).optional(),
	level: z.enum(LEVELS).optional(),
	category: z.enum(CATEGORIES).optional(),
	village: id4.optional(),
	cadre: id4.optional(),
	from: instant.optional(),
	to: instant.optional(),
	overdue: z.enum(['true', 'false']).optional(),
	q: text(100).optional(),
	limit: intParam(1, 1000).default(200),
	/** Paging: rows to skip, in the list's order (most urgent first). */
	offset: intParam(0, 10_000_000).default(0),
	/** Also answer the filtered set's counts (per level, overdue, unacknowledged, per village): the console's figures. */
	counts: z.enum(['true', 'false']).optional()
});
export type IncidentFilter = z.infer<typeof incidentFilter>;

const OPEN = `i.status NOT IN ('closed', 'rejected')`;
/** Overdue: not acknowledged by ack_due, or not resolved by resolve_due (DOMAIN.md 超期). */
export const OVERDUE_SQL = `((i.acknowledged_at IS NULL AND i.ack_due < now() AND ${OPEN}) OR (i.resolved_at IS NULL AND i.resolve_due < now() AND ${OPEN}))`;

/** Most urgent first: red, orange, yellow, blue, then cases without a level. */
const LEVEL_RANK = `CASE i.level ${LEVELS_WORST_FIRST.map((l, i) => `WHEN '${l}' THEN ${i}`).join(' ')} ELSE ${LEVELS.length} END`;

export interface IncidentRow {
	id: number;
	source: string;
	category: string;
	level: string | null;
	status: string;
	title: string;
	village_id: number | null;
	village: string | null;
	device_id: string | null;
	lng: number | null;
	lat: number | null;
	opened_at: string;
	ack_due: string | null;
	resolve_due: string | null;
	acknowledged_at: string | null;
	resolved_at: string | null;
	closed_at: string | null;
	escalation_level: number;
	reopened_count: number;
	overdue: boolean;
	responsible: { role: string; cadre_id: number; name: string; phone: string | null }[];
	assignee_cadre_id: number | null;
}

const iso = (d: Date | string | null) => (d ? new Date(d).toISOString() : null);

/** The filter and the caller's scope as SQL conditions on `incidents i`, with their parameters pushed onto `p`. */
export function incidentConditions(user: SessionUser | null, f: Omit<IncidentFilter, 'limit' | 'offset' | 'counts'> & { id?: number }, p: unknown[]): string[] {
	const where: string[] = [];
	if (f.id !== undefined) where.push(`i.id = $${p.push(f.id)}`);
	if (f.status === 'open') where.push(OPEN);
	else if (f.status) where.push(`i.status = $${p.push(f.status)}`);
	if (f.level) where.push(`i.level = $${p.push(f.level)}`);
	if (f.category) where.push(`i.category = $${p.push(f.category)}`);
	if (f.village) where.push(`i.village_id = $${p.push(f.village)}`);
	if (f.cadre) where.push(`(i.assignee_cadre_id = $${p.push(f.cadre)} OR i.responsible @> jsonb_build_array(jsonb_build_object('cadre_id', $${p.length}::int)))`);
	if (f.from) where.push(`i.opened_at >= $${p.push(f.from)}`);
	if (f.to) where.push(`i.opened_at < $${p.push(f.to)}`);
	if (f.overdue === 'true') where.push(OVERDUE_SQL);
	if (f.overdue === 'false') where.push(`NOT ${OVERDUE_SQL}`);
	if (f.q) where.push(`(i.title ILIKE $${p.push('%' + f.q.replace(/[\\%_]/g, (c) => '\\' + c) + '%')} OR i.description ILIKE $${p.length})`);
	if (user && !user.roles.some((r) => r !== 'cadre')) {
		// A pure cadre: their villages now, cases naming them as responsible, or assigned to them.
		const c = user.cadre_id ?? -1;
		where.push(`(i.assignee_cadre_id = $${p.push(c)} OR i.responsible @> jsonb_build_array(jsonb_build_object('cadre_id', $${p.length}::int))
			OR i.village_id IN (SELECT village_id FROM assignments WHERE cadre_id = $${p.length} AND valid_from <= now() AND (valid_to IS NULL OR valid_to > now())))`);
	}
	return where;
}

const whereSql = (where: string[]) => (where.length ? 'WHERE ' + where.join(' AND ') : '');

export async function listIncidents(q: Queryable, user: SessionUser | null, f: Partial<Pick<IncidentFilter, 'offset'>> & Omit<IncidentFilter, 'offset' | 'counts'> & { id?: number }): Promise<IncidentRow[]> {
	const p: unknown[] = [];
	const where = incidentConditions(user, f, p);
	const r = await q.query<Omit<IncidentRow, 'opened_at' | 'ack_due' | 'resolve_due' | 'acknowledged_at' | 'resolved_at' | 'closed_at'> & Record<'opened_at' | 'ack_due' | 'resolve_due' | 'acknowledged_at' | 'resolved_at' | 'closed_at', Date | null>>(
		`SELECT i.id, i.source, i.category, i.level, i.status, i.title, i.village_id, v.name AS village, i.device_id, i.lng, i.lat,
		        i.opened_at, i.ack_due, i.resolve_due, i.acknowledged_at, i.resolved_at, i.closed_at, i.escalation_level, i.reopened_count,
		        ${OVERDUE_SQL} AS overdue, i.responsible, i.assignee_cadre_id
		 FROM incidents i LEFT JOIN villages v ON v.id = i.village_id
		 ${whereSql(where)}
		 ORDER BY ${LEVEL_RANK}, i.opened_at, i.id
		 LIMIT $${p.push(f.limit)} OFFSET $${p.push(f.offset ?? 0)}`,
		p
	);
	return r.rows.map((x) => ({
		...x,
		opened_at: iso(x.opened_at)!,
		ack_due: iso(x.ack_due),
		resolve_due: iso(x.resolve_due),
		acknowledged_at: iso(x.acknowledged_at),
		resolved_at: iso(x.resolved_at),
		closed_at: iso(x.closed_at)
	}));
}

/** What the console counts: the whole filtered set, counted by the database, never a capped list. */
export interface IncidentCounts {
	total: number;
	/** Per level; `none` = cases without a level. */
	by_level: Record<(typeof LEVELS)[number] | 'none', number>;
	overdue: number;
	/** Not yet acknowledged (受理) by anyone. */
	unacknowledged: number;
	/** Per village: its cases and the worst level among them (null when none has a level). */
	by_village: { village_id: number; n: number; worst: (typeof LEVELS)[number] | null }[];
}

export async function countIncidents(q: Queryable, user: SessionUser | null, f: Omit<IncidentFilter, 'limit' | 'offset' | 'counts'>): Promise<IncidentCounts> {
	const p: unknown[] = [];
	const where = whereSql(incidentConditions(user, f, p));
	// One pass grouped by (village, level): per level, per village and the totals all come from its rows.
	const r = await q.query<{ village_id: number | null; level: string | null; n: number; overdue: number; unack: number }>(
		`SELECT i.village_id, i.level, count(*)::int AS n, count(*) FILTER (WHERE ${OVERDUE_SQL})::int AS overdue,
		        count(*) FILTER (WHERE i.acknowledged_at IS NULL)::int AS unack
		 FROM incidents i ${where} GROUP BY i.village_id, i.level`,
		p
	);
	const out: IncidentCounts = { total: 0, by_level: { red: 0, orange: 0, yellow: 0, blue: 0, none: 0 }, overdue: 0, unacknowledged: 0, by_village: [] };
	const villages = new Map<number, IncidentCounts['by_village'][number]>();
	for (const x of r.rows) {
		const level = isLevel(x.level) ? x.level : null;
		out.total += x.n;
		out.by_level[level ?? 'none'] += x.n;
		out.overdue += x.overdue;
		out.unacknowledged += x.unack;
		if (x.village_id === null) continue;
		const v = villages.get(x.village_id) ?? { village_id: x.village_id, n: 0, worst: null };
		v.n += x.n;
		if (level && compareLevels(level, v.worst) > 0) v.worst = level;
		villages.set(x.village_id, v);
	}
	out.by_village = [...villages.values()].sort((a, b) => a.village_id - b.village_id);
	return out;
}

export async function countOnly(q: Queryable, user: SessionUser | null, f: Omit<IncidentFilter, 'limit' | 'offset' | 'counts'>): Promise<number> {
	const p: unknown[] = [];
	const where = whereSql(incidentConditions(user, f, p));
	return (await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM incidents i ${where}`, p)).rows[0].n;
}

export interface IncidentEventRow {
	id: number;
	at: string;
	actor_name: string;
	action: string;
	from_status: string | null;
	to_status: string | null;
	note: string | null;
	lng: number | null;
	lat: number | null;
	/** Photos attached with this event: id (for /api/v1/incidents/{id}/attachments/{aid}), file name, type. */
	attachments: { id: number; file_name: string; mime: string }[];
}

export async function incidentDetail(q: Queryable, user: SessionUser | null, id: number) {
	const rows = await listIncidentsById(q, user, id);
	if (!rows) return null;
	const ev = await q.query<IncidentEventRow & { at: Date }>(
		'SELECT id, at, actor_name, action, from_status, to_status, note, lng, lat, attachments FROM incident_events WHERE incident_id = $1 ORDER BY at, id',
		[id]
	);
	const alarms = await q.query<{ rule: string; level: string; detail: string; raised_at: Date; cleared_at: Date | null }>(
		'SELECT rule, level, detail, raised_at, cleared_at FROM alarms WHERE incident_id = $1 ORDER BY raised_at',
		[id]
	);
	const extra = await q.query<{ description: string | null; reporter_name: string | null; dispute: unknown; arrived_at: Date | null }>('SELECT description, reporter_name, dispute, arrived_at FROM incidents WHERE id = $1', [id]);
	return {
		...rows,
		...extra.rows[0],
		arrived_at: iso(extra.rows[0].arrived_at),
		events: ev.rows.map((e) => ({ ...e, at: iso(e.at)! })),
		alarms: alarms.rows.map((a) => ({ ...a, raised_at: iso(a.raised_at)!, cleared_at: iso(a.cleared_at) }))
	};
}

async function listIncidentsById(q: Queryable, user: SessionUser | null, id: number): Promise<IncidentRow | null> {
	// The scoped list query, so a cadre can never open another village's case by guessing its id.
	const rows = await listIncidents(q, user, { id, limit: 1 });
	return rows[0] ?? null;
}
