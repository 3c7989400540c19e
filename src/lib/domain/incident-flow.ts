// The incident (事件/案件) state machine, its time limits and its escalation clock (DOMAIN.md "Incidents" and
// "Territorial responsibility → Escalation chain"). Pure: no I/O, no clock — `now` is always passed in — so the
// server's case service, the escalation timer and the web app's buttons all read the same table.
//
// Flow (DOMAIN.md): 上报 → 受理 → 派遣 → 处置 → 核查 → 结案, i.e. reported → accepted → dispatched → in_progress →
// resolved → closed; rejected (不予受理, with reason) from reported; a failed verification sends resolved →
// in_progress (返工). Every action becomes an append-only event; this module only says which ones are allowed.
import type { Level } from './types.js';
import type { CaseCategory } from './labels.js';
import type { RuleId } from './rules.js';
import { CATALOGUE, HEALTH_RULE, SENSOR_KINDS, perKind, type SensorKind } from './sensor-kinds.js';

export const INCIDENT_STATUSES = ['reported', 'accepted', 'dispatched', 'in_progress', 'resolved', 'closed', 'rejected'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** Final statuses: nothing but a leader's 批示 (for the review record) is added after them. */
export const FINAL_STATUSES: readonly IncidentStatus[] = ['closed', 'rejected'];

export const INCIDENT_ACTIONS = [
	'accept',
	'reject',
	'dispatch',
	'start',
	'resolve',
	'verify_pass',
	'verify_fail',
	'comment',
	'instruct',
	'escalate',
	'remind'
] as const;
export type IncidentAction = (typeof INCIDENT_ACTIONS)[number];

/** admin 管理员, leader 领导, duty 值班员, cadre 包村干部, system (the escalation timer and alarm router). */
export const INCIDENT_ROLES = ['admin', 'leader', 'duty', 'cadre', 'system'] as const;
export type IncidentRole = (typeof INCIDENT_ROLES)[number];

export type RequiredField = 'note' | 'assignee';

export interface Transition {
	zh: string;
	/** Status before → status after. An action missing a status is not allowed in it. */
	from: Partial<Record<IncidentStatus, IncidentStatus>>;
	roles: readonly IncidentRole[];
	/** Fields the event must carry. */
	requires: readonly RequiredField[];
	/** The event may carry a check-in location (GPS). */
	location?: boolean;
	/** Counts as 返工 (reopened) in the review figures (DOMAIN.md "reopened (返工)"). */
	reopens?: boolean;
}

const NON_FINAL: readonly IncidentStatus[] = ['reported', 'accepted', 'dispatched', 'in_progress', 'resolved'];
const stay = (statuses: readonly IncidentStatus[]): Partial<Record<IncidentStatus, IncidentStatus>> =>
	Object.fromEntries(statuses.map((s) => [s, s]));

/**
 * THE table. Who may do what, and why:
 * - duty 值班员 runs the queue (DOMAIN.md People: "acknowledge, dispatch, follow up"): accept, reject, dispatch,
 *   verify, comment. Not start/resolve — they are in the duty room, not on site.
 * - cadre 包村干部 (DOMAIN.md: "accept, check in on site, report the result"): accept, start, resolve, comment. Whether
 *   the case is in *their* village is the caller's check (it needs the assignment table). No reject — refusing a
 *   report is a duty-room decision; no dispatch; no verify — whoever did the work must not sign it off.
 * - leader 领导: everything duty does (a leader may take the duty seat), plus instruct (领导批示).
 * - admin 管理员: every human action except instruct — 批示 is by definition a leader's act, and an admin account
 *   issuing one would misattribute it — and except the system-only escalate/remind.
 * - system: escalate and remind only; a person escalates by commenting or by dispatching.
 */
export const TRANSITIONS: Readonly<Record<IncidentAction, Transition>> = deepFreeze({
	accept: { zh: '受理', from: { reported: 'accepted' }, roles: ['admin', 'leader', 'duty', 'cadre'], requires: [] },
	reject: { zh: '不予受理', from: { reported: 'rejected' }, roles: ['admin', 'leader', 'duty'], requires: ['note'] },
	// Dispatching again while dispatched is 改派 (reassign: the first cadre is unreachable); the status stays.
	dispatch: {
		zh: '派遣',
		from: { accepted: 'dispatched', dispatched: 'dispatched' },
		roles: ['admin', 'leader', 'duty'],
		requires: ['assignee']
	},
	// A cadre who accepted a case in their own village starts it without being dispatched to it.
	start: {
		zh: '开始处置',
		from: { accepted: 'in_progress', dispatched: 'in_progress' },
		roles: ['admin', 'cadre'],
		requires: [],
		location: true
	},
	resolve: { zh: '处置完毕', from: { in_progress: 'resolved' }, roles: ['admin', 'cadre'], requires: ['note'], location: true },
	verify_pass: { zh: '核查通过', from: { resolved: 'closed' }, roles: ['admin', 'leader', 'duty'], requires: [] },
	verify_fail: {
		zh: '核查不通过',
		from: { resolved: 'in_progress' },
		roles: ['admin', 'leader', 'duty'],
		requires: ['note'],
		reopens: true
	},
	comment: { zh: '备注', from: stay(NON_FINAL), roles: ['admin', 'leader', 'duty', 'cadre'], requires: ['note'], location: true },
	instruct: { zh: '领导批示', from: stay(INCIDENT_STATUSES), roles: ['leader'], requires: ['note'] },
	escalate: { zh: '升级', from: stay(NON_FINAL), roles: ['system'], requires: [] },
	remind: { zh: '催办', from: stay(NON_FINAL), roles: ['system'], requires: [] }
} satisfies Record<IncidentAction, Transition>);

/** May `role` do `action` on a case in `status`? (Village scope for cadres is checked by the caller.) */
export function can(role: IncidentRole, action: IncidentAction, status: IncidentStatus): boolean {
	const t = TRANSITIONS[action];
	return t !== undefined && t.roles.includes(role) && t.from[status] !== undefined;
}

/** The status after `action` on a case in `status`; throws for a pair the table does not allow. */
export function apply(status: IncidentStatus, action: IncidentAction): IncidentStatus {
	const next = TRANSITIONS[action]?.from[status];
	if (next === undefined) throw new Error(`incident flow: ${action} is not allowed in status ${status}`);
	return next;
}

/** The actions `role` may take on a case in `status`, in table order (the buttons a page shows). */
export function allowedActions(role: IncidentRole, status: IncidentStatus): IncidentAction[] {
	return INCIDENT_ACTIONS.filter((a) => can(role, a, status));
}

/** Required fields missing from an action's payload (blank strings count as missing); empty when complete. */
export function missingFields(action: IncidentAction, payload: { note?: string | null; assignee?: string | null }): RequiredField[] {
	return TRANSITIONS[action].requires.filter((f) => {
		const v = payload[f];
		return typeof v !== 'string' || v.trim() === '';
	});
}

export function isFinal(status: IncidentStatus): boolean {
	return FINAL_STATUSES.includes(status);
}

// ---- time limits -------------------------------------------------------------------------------------------------

const MIN = 60_000;
const HOUR = 60 * MIN;

/**
 * Default time limits (DOMAIN.md "Default time limits", configurable): how long a case of each level may wait to be
 * acknowledged (受理) and to be resolved (处置完毕), both counted from when the case was opened.
 */
export const TIME_LIMITS: Readonly<Record<Level, { ackMs: number; resolveMs: number }>> = deepFreeze({
	red: { ackMs: 10 * MIN, resolveMs: 2 * HOUR },
	orange: { ackMs: 30 * MIN, resolveMs: 12 * HOUR },
	yellow: { ackMs: 2 * HOUR, resolveMs: 24 * HOUR },
	blue: { ackMs: 24 * HOUR, resolveMs: 72 * HOUR }
});

/** Acknowledge and resolve deadlines (ms since epoch) for a case of `level` opened at `openedAt`. */
export function deadlines(
	level: Level,
	openedAt: number,
	limits: Readonly<Record<Level, { ackMs: number; resolveMs: number }>> = TIME_LIMITS
): { ackDue: number; resolveDue: number } {
	const l = limits[level];
	if (!l) throw new RangeError(`deadlines: unknown level ${JSON.stringify(level)}`);
	if (!Number.isFinite(openedAt)) throw new RangeError('deadlines: openedAt must be a finite time in ms');
	return { ackDue: openedAt + l.ackMs, resolveDue: openedAt + l.resolveMs };
}

// ---- escalation --------------------------------------------------------------------------------------------------

/**
 * DOMAIN.md default chain: L1 包村干部 (cadre) → L2 包村领导 (lead, the village's township leader) → L3 today's
 * 值班领导 (duty_leader, from the duty roster). Indexes into this array are the escalation levels.
 */
export const ESCALATION_CHAIN = ['cadre', 'lead', 'duty_leader'] as const;
export type EscalationTarget = (typeof ESCALATION_CHAIN)[number];

/** Reminders never repeat faster than this, whatever is configured: a phone that rings every minute gets muted. */
export const MIN_REMIND_MS = 5 * MIN;

export interface EscalationOptions {
	/** The case's level: the default reminder interval is its acknowledge window (TIME_LIMITS). */
	level?: Level;
	/** Explicit interval (clamped to ≥ MIN_REMIND_MS). */
	remindEveryMs?: number;
}

export interface EscalationStep {
	/** Hand the case to this chain index now; null = stay with the current level. */
	escalateTo: number | null;
	/** Send a reminder now (to the new level on escalation, to the last level once the chain is exhausted). */
	remind: boolean;
	/** The acknowledge deadline of whoever holds the case after this step. */
	ackDue: number;
	/** When to call nextEscalation again (may be ≤ now when catching up after downtime: call again straight away). */
	nextCheckAt: number;
}

/** The reminder interval: explicit, else the level's acknowledge window, never under 5 minutes. */
export function remindInterval(opts: EscalationOptions = {}): number {
	const base = opts.remindEveryMs ?? (opts.level ? TIME_LIMITS[opts.level].ackMs : MIN_REMIND_MS);
	return Math.max(MIN_REMIND_MS, Number.isFinite(base) ? base : MIN_REMIND_MS);
}

/**
 * One tick of the escalation clock for an unacknowledged case held by ESCALATION_CHAIN[currentLevelIndex] whose
 * acknowledge deadline is `ackDue`. Deadlines follow the schedule, not the moment the timer happened to run: the next
 * level's deadline is ackDue + interval, so a timer that was down catches up step by step instead of drifting.
 * Once the last level is overdue, reminders repeat every interval until someone acknowledges (DOMAIN.md
 * "reminders repeat until someone acknowledges") — the caller stops calling once the case is accepted.
 */
export function nextEscalation(currentLevelIndex: number, ackDue: number, now: number, opts: EscalationOptions = {}): EscalationStep {
	if (!Number.isInteger(currentLevelIndex) || currentLevelIndex < 0 || currentLevelIndex >= ESCALATION_CHAIN.length) {
		throw new RangeError(`nextEscalation: level index must be 0..${ESCALATION_CHAIN.length - 1}, got ${currentLevelIndex}`);
	}
	if (!Number.isFinite(ackDue) || !Number.isFinite(now)) throw new RangeError('nextEscalation: times must be finite ms');
	const every = remindInterval(opts);
	if (now < ackDue) return { escalateTo: null, remind: false, ackDue, nextCheckAt: ackDue };
	if (currentLevelIndex < ESCALATION_CHAIN.length - 1) {
		const nextDue = ackDue + every;
		return { escalateTo: currentLevelIndex + 1, remind: true, ackDue: nextDue, nextCheckAt: nextDue };
	}
	// Last level, overdue: remind now, and next at the first scheduled reminder after now.
	const periods = Math.floor((now - ackDue) / every) + 1;
	return { escalateTo: null, remind: true, ackDue, nextCheckAt: ackDue + periods * every };
}

// ---- cases opened by sensor alarms: category and title from the sensor-kind catalogue (sensor-kinds.ts) -------------

/** The category of the case a kind's alarm opens (DOMAIN.md "Categories"). */
export const CASE_CATEGORY_BY_KIND: Readonly<Record<SensorKind, CaseCategory>> = Object.freeze(perKind((d) => d.category));

/**
 * The title of the case each rule opens, after the sensor's name (「松林村1号水位站：水位超警戒」): names the kind of
 * alarm; the changing figures go to the timeline. Every rule of every kind and the device-health rule.
 */
export const SENSOR_CASE_TITLES: Readonly<Partial<Record<RuleId, string>>> = Object.freeze(
	Object.fromEntries([...SENSOR_KINDS.flatMap((k) => CATALOGUE[k].rules), HEALTH_RULE].map((r) => [r.id, r.title.zh]))
);

function deepFreeze<T>(o: T): T {
	if (typeof o === 'object' && o !== null) {
		for (const v of Object.values(o)) deepFreeze(v);
		Object.freeze(o);
	}
	return o;
}
