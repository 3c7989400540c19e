// Cases (事件/案件): opened or joined by sensor alarms, opened by field reports and hotline entries; routed to the
// village whose polygon holds the location and to the cadres responsible for it AT THAT TIME; acted on through the
// one transition table in src/lib/domain/incident-flow.ts; escalated by a durable scheduler whose deadlines live in
// the database (a restart misses nothing). Every step is an append-only incident_events row.
import type { Db, Queryable } from '../platform/db.js';
import { apply, can, deadlines, missingFields, nextEscalation, ESCALATION_CHAIN, CASE_CATEGORY_BY_KIND, SENSOR_CASE_TITLES, type IncidentAction, type IncidentRole, type IncidentStatus } from '../../domain/incident-flow.js';
import { LEVEL_RANK, STATUS_NAMES } from '../../domain/levels.js';
import type { Level } from '../../domain/types.js';
import type { SessionUser } from '../people/auth.js';
import { VillageIndex } from '../../../../geo/index.js';

/** Case category per sensor kind: from the sensor-kind catalogue (src/lib/domain/sensor-kinds.ts). */
export const CATEGORY_BY_KIND: Readonly<Record<string, string>> = CASE_CATEGORY_BY_KIND;

export { CASE_CATEGORIES as CATEGORIES } from '../../domain/labels.js';

export interface Responsible {
	role: string;
	cadre_id: number;
	name: string;
	phone: string | null;
}

export interface IncidentNotice {
	type: 'incident.opened' | 'incident.escalated' | 'incident.reminder' | 'incident.level_changed' | 'incident.acknowledged' | 'incident.closed';
	incident_id: number;
	to: Responsible[];
	text_zh: string;
}

/** Who answered for a village at a moment: assignments whose period holds it. */
export async function responsibleAt(q: Queryable, villageId: number, at: Date): Promise<Responsible[]> {
	const r = await q.query<Responsible>(
		`SELECT a.role, c.id AS cadre_id, c.name, c.phone FROM assignments a JOIN cadres c ON c.id = a.cadre_id
		 WHERE a.village_id = $1 AND a.valid_from <= $2 AND (a.valid_to IS NULL OR a.valid_to > $2)
		 ORDER BY CASE a.role WHEN 'cadre' THEN 0 WHEN 'lead' THEN 1 WHEN 'secretary' THEN 2 ELSE 3 END, c.id`,
		[villageId, at.toISOString()]
	);
	return r.rows;
}

/** Today's duty officer and duty leader (值班表), by the calendar day in the display time zone. */
export async function dutyOn(q: Queryable, at: Date, tz: string): Promise<Responsible[]> {
	const day = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
	const r = await q.query<Responsible>(
		`SELECT 'duty_officer' AS role, c.id AS cadre_id, c.name, c.phone FROM duty_roster d JOIN cadres c ON c.id = d.officer_id WHERE d.day = $1
		 UNION ALL
		 SELECT 'duty_leader', c.id, c.name, c.phone FROM duty_roster d JOIN cadres c ON c.id = d.leader_id WHERE d.day = $1`,
		[day]
	);
	return r.rows;
}

/** Routes a location to its village through the spatial index (null = outside every village). */
export async function villageAt(q: Queryable, lng: number, lat: number): Promise<number | null> {
	const v = await q.query<{ id: number; boundary: GeoJSON.Polygon | GeoJSON.MultiPolygon }>('SELECT id, boundary FROM villages');
	return new VillageIndex(v.rows.map((x) => ({ id: x.id, geometry: x.boundary }))).locate([lng, lat]);
}

async function event(
	q: Queryable,
	incidentId: number,
	at: Date,
	actor: { id: number | null; name: string },
	action: string,
	e: { from?: string | null; to?: string | null; note?: string | null; lng?: number | null; lat?: number | null; attachments?: unknown[] } = {}
): Promise<void> {
	await q.query(
		`INSERT INTO incident_events (incident_id, at, actor_user_id, actor_name, action, from_status, to_status, note, lng, lat, attachments)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		[incidentId, at.toISOString(), actor.id, actor.name, action, e.from ?? null, e.to ?? null, e.note ?? null, e.lng ?? null, e.lat ?? null, JSON.stringify(e.attachments ?? [])]
	);
}

const SYSTEM = { id: null, name: '系统 system' };

/** Whom a level of the escalation chain reaches for this case. */
async function recipients(q: Queryable, responsible: Responsible[], level: number, at: Date, tz: string): Promise<Responsible[]> {
	const target = level < 0 ? 'duty' : ESCALATION_CHAIN[Math.min(level, ESCALATION_CHAIN.length - 1)];
	if (target === 'cadre') return responsible.filter((r) => r.role === 'cadre');
	if (target === 'lead') return responsible.filter((r) => r.role === 'lead');
	const duty = await dutyOn(q, at, tz);
	return target === 'duty_leader' ? duty.filter((d) => d.role === 'duty_leader') : duty;
}

/** Case title per rule: from the sensor-kind catalogue (src/lib/domain/sensor-kinds.ts). */
const RULE_TITLES: Readonly<Record<string, string | undefined>> = SENSOR_CASE_TITLES;

const ESC_ZH = ['L1 包村干部', 'L2 包村领导', 'L3 值班领导'];

export interface SensorAlarm {
	deviceId: string;
	deviceName: string;
	kind: string;
	villageId: number | null;
	lng: number | null;
	lat: number | null;
	rule: string;
	level: Level;
	detail: string;
	at: Date;
	/**
	 * Raised from late data (迟到数据): readings that reached the server after newer ones had been judged, or long after
	 * their observation time. `at` stays the observation time; the time limits count from arrival (nobody could act
	 * before), and the timeline says both.
	 */
	late?: { arrivedAt: Date };
}

/** The timeline's words for late data: both times, in the display time zone. */
function lateNote(a: SensorAlarm, tz: string): string {
	if (!a.late) return '';
	const f = (d: Date) => new Intl.DateTimeFormat('zh-CN', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }).format(d);
	return `【迟到数据 late data：观测于 ${f(a.at)}，到达于 ${f(a.late.arrivedAt)}】`;
}

/**
 * An alarm opens a case or joins the open case of its sensor. The case records its village, the assignments valid at
 * that moment, its level and its time limits. Returns the case id and what the duty room must hear.
 */
export async function openOrJoinForAlarm(q: Queryable, a: SensorAlarm, tz: string): Promise<{ incidentId: number; notices: IncidentNotice[] }> {
	const open = await q.query<{ id: number; level: Level | null; status: IncidentStatus; opened_at: Date; ack_due: Date | null; acknowledged_at: Date | null; responsible: Responsible[]; escalation_level: number }>(
		`SELECT id, level, status, opened_at, ack_due, acknowledged_at, responsible, escalation_level FROM incidents
		 WHERE device_id = $1 AND status NOT IN ('closed', 'rejected') ORDER BY id DESC LIMIT 1`,
		[a.deviceId]
	);
	const cur = open.rows[0];
	if (cur) {
		await event(q, cur.id, a.at, SYSTEM, 'alarm', { note: `${lateNote(a, tz)}${STATUS_NAMES[a.level].zh} · ${a.detail}` });
		const notices: IncidentNotice[] = [];
		if (!cur.level || LEVEL_RANK[a.level] > LEVEL_RANK[cur.level]) {
			// A higher level tightens the deadlines of a case nobody has acknowledged yet.
			const d = deadlines(a.level, new Date(cur.opened_at).getTime());
			const tighten = !cur.acknowledged_at;
			await q.query(
				`UPDATE incidents SET level = $2,
				   ack_due = CASE WHEN $3 THEN LEAST(ack_due, $4::timestamptz) ELSE ack_due END,
				   next_check_at = CASE WHEN $3 THEN LEAST(next_check_at, $4::timestamptz) ELSE next_check_at END,
				   resolve_due = LEAST(resolve_due, $5::timestamptz)
				 WHERE id = $1`,
				[cur.id, a.level, tighten, new Date(d.ackDue).toISOString(), new Date(d.resolveDue).toISOString()]
			);
			await event(q, cur.id, a.at, SYSTEM, 'level_raised', { note: `${cur.level ? STATUS_NAMES[cur.level].zh : '—'} → ${STATUS_NAMES[a.level].zh}` });
			notices.push({ type: 'incident.level_changed', incident_id: cur.id, to: await recipients(q, cur.responsible, cur.escalation_level, a.at, tz), text_zh: `案件 #${cur.id} 升级为${STATUS_NAMES[a.level].zh}：${a.deviceName} ${a.detail}` });
		}
		return { incidentId: cur.id, notices };
	}
	const responsible = a.villageId ? await responsibleAt(q, a.villageId, a.at) : [];
	// Outside every village (or a village with no 包村干部): straight to the duty room.
	const escalation = a.villageId && responsible.some((r) => r.role === 'cadre') ? 0 : -1;
	const d = deadlines(a.level, (a.late?.arrivedAt ?? a.at).getTime());
	// The title names the sensor and the kind of alarm; the changing figures go to the timeline.
	const title = `${a.deviceName}：${RULE_TITLES[a.rule] ?? a.rule}`.slice(0, 200);
	const ins = await q.query<{ id: number }>(
		`INSERT INTO incidents (source, category, level, status, title, village_id, device_id, lng, lat, opened_at, ack_due, resolve_due, escalation_level, next_check_at, responsible)
		 VALUES ('sensor', $1, $2, 'reported', $3, $4, $5, $6, $7, $8, $9, $10, $11, $9, $12) RETURNING id`,
		[CATEGORY_BY_KIND[a.kind] ?? 'other', a.level, title, a.villageId, a.deviceId, a.lng, a.lat, a.at.toISOString(), new Date(d.ackDue).toISOString(), new Date(d.resolveDue).toISOString(), escalation, JSON.stringify(responsible)]
	);
	const id = ins.rows[0].id;
	const to = await recipients(q, responsible, escalation, a.at, tz);
	await event(q, id, a.at, SYSTEM, 'report', { to: 'reported', note: `${lateNote(a, tz)}${STATUS_NAMES[a.level].zh}告警：${a.detail}；通知 ${to.map((r) => r.name).join('、') || '值班室'}` });
	return { incidentId: id, notices: [{ type: 'incident.opened', incident_id: id, to, text_zh: `【${STATUS_NAMES[a.level].zh}】${title}` }] };
}

/** The sensor's alarm cleared by itself: noted on the case, which still needs 核查 and closing. */
export async function noteAlarmCleared(q: Queryable, incidentId: number, at: Date, detail: string): Promise<void> {
	await event(q, incidentId, at, SYSTEM, 'alarm_cleared', { note: `告警解除：${detail}（案件仍需核查结案）` });
}

export interface FieldReport {
	category: string;
	title: string;
	description?: string;
	level?: Level | null;
	lng: number;
	lat: number;
	source: 'field_report' | 'hotline';
	reporter_name?: string;
	dispute?: { parties: string[]; agreement?: string } | null;
	/** Photos already validated and stored (src/lib/server/cases/uploads.ts). */
	photos?: { file_name: string; mime: string; bytes: number; sha256: string }[];
}

export async function openFieldReport(db: Db, r: FieldReport, actor: { id: number | null; name: string }, tz: string, at = new Date()): Promise<{ id: number; notices: IncidentNotice[] }> {
	return db.tx(async (q) => {
		const villageId = await villageAt(q, r.lng, r.lat);
		const responsible = villageId ? await responsibleAt(q, villageId, at) : [];
		const escalation = villageId && responsible.some((x) => x.role === 'cadre') ? 0 : -1;
		const level: Level = r.level ?? 'blue';
		const d = deadlines(level, at.getTime());
		const ins = await q.query<{ id: number }>(
			`INSERT INTO incidents (source, category, level, status, title, description, reporter_name, village_id, lng, lat, opened_at, ack_due, resolve_due, escalation_level, next_check_at, responsible, dispute)
			 VALUES ($1, $2, $3, 'reported', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $11, $14, $15) RETURNING id`,
			[r.source, r.category, level, r.title, r.description ?? null, r.reporter_name ?? actor.name, villageId, r.lng, r.lat, at.toISOString(), new Date(d.ackDue).toISOString(), new Date(d.resolveDue).toISOString(), escalation, JSON.stringify(responsible), r.dispute ? JSON.stringify(r.dispute) : null]
		);
		const id = ins.rows[0].id;
		const to = await recipients(q, responsible, escalation, at, tz);
		const attachments: { id: number; file_name: string; mime: string }[] = [];
		for (const ph of r.photos ?? []) {
			const a = await q.query<{ id: number }>('INSERT INTO attachments (incident_id, file_name, mime, bytes, sha256, uploaded_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id', [id, ph.file_name, ph.mime, ph.bytes, ph.sha256, actor.id]);
			attachments.push({ id: a.rows[0].id, file_name: ph.file_name, mime: ph.mime });
		}
		await event(q, id, at, actor, 'report', { to: 'reported', note: r.description ?? r.title, lng: r.lng, lat: r.lat, attachments });
		return { id, notices: [{ type: 'incident.opened' as const, incident_id: id, to, text_zh: `【${STATUS_NAMES[level].zh}】${r.title}` }] };
	});
}

export class ActionError extends Error {
	constructor(
		public status: 400 | 403 | 404 | 409,
		message: string
	) {
		super(message);
	}
}

export interface ActionInput {
	action: IncidentAction;
	note?: string | null;
	assignee?: number | null;
	location?: { lng: number; lat: number } | null;
	attachments?: unknown[];
}

/** May this user act on this case at all (a pure cadre only on cases of their villages or assigned to them)? */
export async function userMaySee(q: Queryable, user: SessionUser, inc: { village_id: number | null; assignee_cadre_id: number | null; responsible: Responsible[] }): Promise<boolean> {
	if (user.roles.some((r) => r !== 'cadre')) return true;
	if (!user.cadre_id) return false;
	if (inc.assignee_cadre_id === user.cadre_id || inc.responsible.some((r) => r.cadre_id === user.cadre_id)) return true;
	if (!inc.village_id) return false;
	const a = await q.query('SELECT 1 FROM assignments WHERE cadre_id = $1 AND village_id = $2 AND valid_from <= now() AND (valid_to IS NULL OR valid_to > now())', [user.cadre_id, inc.village_id]);
	return a.rows.length > 0;
}

/** A person acts on a case: checked against the transition table, recorded as an event, projected onto the case. */
export async function act(db: Db, incidentId: number, user: SessionUser, input: ActionInput, at = new Date()): Promise<{ status: IncidentStatus; notices: IncidentNotice[] }> {
	return db.tx(async (q) => {
		const r = await q.query<{ id: number; status: IncidentStatus; village_id: number | null; assignee_cadre_id: number | null; responsible: Responsible[]; title: string; acknowledged_at: Date | null }>(
			'SELECT id, status, village_id, assignee_cadre_id, responsible, title, acknowledged_at FROM incidents WHERE id = $1 FOR UPDATE',
			[incidentId]
		);
		const inc = r.rows[0];
		if (!inc || !(await userMaySee(q, user, inc))) throw new ActionError(404, 'no such case');
		const role = (user.roles as IncidentRole[]).find((ro) => can(ro, input.action, inc.status));
		if (!role) {
			const anyState = (user.roles as IncidentRole[]).some((ro) => can(ro, input.action, 'reported') || can(ro, input.action, 'resolved') || can(ro, input.action, 'in_progress'));
			throw new ActionError(anyState ? 409 : 403, anyState ? `cannot ${input.action} a case that is ${inc.status}` : `your role may not ${input.action}`);
		}
		const missing = missingFields(input.action, { note: input.note ?? null, assignee: input.assignee != null ? String(input.assignee) : null });
		if (missing.length) throw new ActionError(400, `${input.action} needs: ${missing.join(', ')}`);
		if (input.assignee != null) {
			const c = await q.query('SELECT 1 FROM cadres WHERE id = $1', [input.assignee]);
			if (!c.rows.length) throw new ActionError(400, 'no such cadre to dispatch to');
		}
		const to = apply(inc.status, input.action);
		const sets: string[] = ['status = $2'];
		const ack = ['accept', 'dispatch', 'start', 'reject'].includes(input.action);
		if (ack) sets.push('acknowledged_at = COALESCE(acknowledged_at, $3)', 'next_check_at = NULL');
		if (input.action === 'dispatch') sets.push(`assignee_cadre_id = ${Number(input.assignee)}`);
		if (input.action === 'start') sets.push('arrived_at = COALESCE(arrived_at, $3)');
		if (input.action === 'resolve') sets.push('resolved_at = $3');
		if (input.action === 'verify_fail') sets.push('reopened_count = reopened_count + 1', 'resolved_at = NULL');
		// reject is both an acknowledgement and final: next_check_at may be set once only (PostgreSQL refuses twice).
		// Only the step INTO a final status closes the case: a 批示 added to a closed case must not move its closing time.
		if ((to === 'closed' || to === 'rejected') && inc.status !== to) sets.push('closed_at = $3', ...(ack ? [] : ['next_check_at = NULL']));
		const sql = `UPDATE incidents SET ${sets.join(', ')} WHERE id = $1`;
		await q.query(sql, sql.includes('$3') ? [incidentId, to, at.toISOString()] : [incidentId, to]);
		await event(q, incidentId, at, { id: user.id, name: user.display_name }, input.action, {
			from: inc.status,
			to,
			note: input.note ?? (input.assignee != null ? `派遣给 #${input.assignee}` : null),
			lng: input.location?.lng,
			lat: input.location?.lat,
			attachments: input.attachments
		});
		const notices: IncidentNotice[] = [];
		if (ack && !inc.acknowledged_at) notices.push({ type: 'incident.acknowledged', incident_id: incidentId, to: [], text_zh: `案件 #${incidentId} 已由 ${user.display_name} 受理` });
		if (to === 'closed') notices.push({ type: 'incident.closed', incident_id: incidentId, to: [], text_zh: `案件 #${incidentId} 已结案` });
		return { status: to, notices };
	});
}

/**
 * The durable escalation scheduler's one pass: every unacknowledged case whose next_check_at has come is escalated
 * one level (L1 包村干部 → L2 包村领导 → L3 值班领导) or reminded, each step an event. Deadlines are rows, so a
 * restart only delays the pass; cases taken with SKIP LOCKED so several workers never double-escalate.
 */
export async function escalateDue(db: Db, now: Date, tz: string): Promise<IncidentNotice[]> {
	const notices: IncidentNotice[] = [];
	for (let guard = 0; guard < 100; guard++) {
		const batch = await db.tx(async (q) => {
			const due = await q.query<{ id: number; level: Level | null; escalation_level: number; ack_due: Date; responsible: Responsible[]; title: string }>(
				`SELECT id, level, escalation_level, ack_due, responsible, title FROM incidents
				 WHERE status = 'reported' AND next_check_at IS NOT NULL AND next_check_at <= $1
				 ORDER BY next_check_at LIMIT 50 FOR UPDATE SKIP LOCKED`,
				[now.toISOString()]
			);
			const out: IncidentNotice[] = [];
			for (const inc of due.rows) {
				const idx = inc.escalation_level < 0 ? ESCALATION_CHAIN.length - 1 : inc.escalation_level;
				const step = nextEscalation(idx, new Date(inc.ack_due).getTime(), now.getTime(), { level: inc.level ?? undefined });
				const newLevel = step.escalateTo ?? inc.escalation_level;
				await q.query('UPDATE incidents SET escalation_level = $2, ack_due = $3, next_check_at = $4 WHERE id = $1', [inc.id, newLevel, new Date(step.ackDue).toISOString(), new Date(step.nextCheckAt).toISOString()]);
				const to = await recipients(q, inc.responsible, newLevel, now, tz);
				const names = to.map((r) => r.name).join('、') || '值班室';
				if (step.escalateTo !== null) {
					await event(q, inc.id, now, SYSTEM, 'escalate', { note: `超时未受理，升级至 ${ESC_ZH[step.escalateTo]}：${names}` });
					out.push({ type: 'incident.escalated', incident_id: inc.id, to, text_zh: `案件 #${inc.id} 超时未受理，已升级至${ESC_ZH[step.escalateTo]}（${names}）：${inc.title}` });
				} else if (step.remind) {
					await event(q, inc.id, now, SYSTEM, 'remind', { note: `提醒：仍未受理，通知 ${names}` });
					out.push({ type: 'incident.reminder', incident_id: inc.id, to, text_zh: `提醒：案件 #${inc.id} 仍未受理：${inc.title}` });
				}
			}
			return { n: due.rows.length, out };
		});
		notices.push(...batch.out);
		if (batch.n < 50) break;
	}
	return notices;
}
