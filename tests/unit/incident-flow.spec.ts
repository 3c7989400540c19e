// Unit tests for src/lib/domain/incident-flow.ts: every (role × action × status) against an expectation table written
// here by hand (not derived from TRANSITIONS, so a wrong edit to the table fails), every (action × status) result of
// apply(), required fields, the DOMAIN.md time limits, and the escalation clock driven by a fake `now`.
import { describe, expect, it } from 'vitest';
import {
	ESCALATION_CHAIN,
	INCIDENT_ACTIONS,
	INCIDENT_ROLES,
	INCIDENT_STATUSES,
	MIN_REMIND_MS,
	TIME_LIMITS,
	TRANSITIONS,
	allowedActions,
	apply,
	can,
	deadlines,
	isFinal,
	missingFields,
	nextEscalation,
	remindInterval,
	type EscalationOptions,
	type IncidentAction,
	type IncidentRole,
	type IncidentStatus
} from '../../src/lib/domain/incident-flow.js';
import type { Level } from '../../src/lib/domain/types.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Date.parse('2024-07-01T08:00:00Z');

/**
 * Who may do what in each status, written out by hand. Space-separated action names; '' = nothing.
 * duty: the queue (accept/reject/dispatch/verify); cadre: accept/start/resolve on site; leader: duty + 批示 in any
 * state; admin: every human action except 批示; system: escalate/remind while the case is open.
 */
const ALLOWED: Record<IncidentRole, Record<IncidentStatus, string>> = {
	duty: {
		reported: 'accept reject comment',
		accepted: 'dispatch comment',
		dispatched: 'dispatch comment',
		in_progress: 'comment',
		resolved: 'verify_pass verify_fail comment',
		closed: '',
		rejected: ''
	},
	leader: {
		reported: 'accept reject comment instruct',
		accepted: 'dispatch comment instruct',
		dispatched: 'dispatch comment instruct',
		in_progress: 'comment instruct',
		resolved: 'verify_pass verify_fail comment instruct',
		closed: 'instruct',
		rejected: 'instruct'
	},
	cadre: {
		reported: 'accept comment',
		accepted: 'start comment',
		dispatched: 'start comment',
		in_progress: 'resolve comment',
		resolved: 'comment',
		closed: '',
		rejected: ''
	},
	admin: {
		reported: 'accept reject comment',
		accepted: 'dispatch start comment',
		dispatched: 'dispatch start comment',
		in_progress: 'resolve comment',
		resolved: 'verify_pass verify_fail comment',
		closed: '',
		rejected: ''
	},
	system: {
		reported: 'escalate remind',
		accepted: 'escalate remind',
		dispatched: 'escalate remind',
		in_progress: 'escalate remind',
		resolved: 'escalate remind',
		closed: '',
		rejected: ''
	}
};

/** Where each allowed (status, action) leads; every pair not listed must throw. */
const NEXT: Record<string, IncidentStatus> = {
	'reported accept': 'accepted',
	'reported reject': 'rejected',
	'accepted dispatch': 'dispatched',
	'dispatched dispatch': 'dispatched', // 改派: reassign, status unchanged
	'accepted start': 'in_progress',
	'dispatched start': 'in_progress',
	'in_progress resolve': 'resolved',
	'resolved verify_pass': 'closed',
	'resolved verify_fail': 'in_progress', // 返工
	'reported comment': 'reported',
	'accepted comment': 'accepted',
	'dispatched comment': 'dispatched',
	'in_progress comment': 'in_progress',
	'resolved comment': 'resolved',
	'reported instruct': 'reported',
	'accepted instruct': 'accepted',
	'dispatched instruct': 'dispatched',
	'in_progress instruct': 'in_progress',
	'resolved instruct': 'resolved',
	'closed instruct': 'closed',
	'rejected instruct': 'rejected',
	'reported escalate': 'reported',
	'accepted escalate': 'accepted',
	'dispatched escalate': 'dispatched',
	'in_progress escalate': 'in_progress',
	'resolved escalate': 'resolved',
	'reported remind': 'reported',
	'accepted remind': 'accepted',
	'dispatched remind': 'dispatched',
	'in_progress remind': 'in_progress',
	'resolved remind': 'resolved'
};

describe('the vocabulary', () => {
	it('has the DOMAIN.md statuses, the briefed actions and roles', () => {
		expect([...INCIDENT_STATUSES]).toEqual(['reported', 'accepted', 'dispatched', 'in_progress', 'resolved', 'closed', 'rejected']);
		expect([...INCIDENT_ACTIONS].sort()).toEqual(
			['accept', 'reject', 'dispatch', 'start', 'resolve', 'verify_pass', 'verify_fail', 'comment', 'instruct', 'escalate', 'remind'].sort()
		);
		expect([...INCIDENT_ROLES].sort()).toEqual(['admin', 'cadre', 'duty', 'leader', 'system']);
		expect(Object.keys(TRANSITIONS).sort()).toEqual([...INCIDENT_ACTIONS].sort());
	});

	it.each<[IncidentStatus, boolean]>([
		['reported', false],
		['accepted', false],
		['dispatched', false],
		['in_progress', false],
		['resolved', false],
		['closed', true],
		['rejected', true]
	])('isFinal(%s) = %s', (status, final) => {
		expect(isFinal(status)).toBe(final);
	});
});

describe('can(role, action, status): the full cross product', () => {
	const cases = INCIDENT_ROLES.flatMap((role) =>
		INCIDENT_ACTIONS.flatMap((action) =>
			INCIDENT_STATUSES.map((status) => [role, action, status, ALLOWED[role][status].split(' ').includes(action)] as const)
		)
	);

	it('covers 5 roles × 11 actions × 7 statuses', () => {
		expect(cases).toHaveLength(5 * 11 * 7);
	});

	it.each(cases)('%s %s in %s → %s', (role, action, status, expected) => {
		expect(can(role, action, status)).toBe(expected);
	});

	it.each(INCIDENT_ROLES.flatMap((role) => INCIDENT_STATUSES.map((status) => [role, status] as const)))(
		'allowedActions(%s, %s) matches the table',
		(role, status) => {
			const expected = ALLOWED[role][status].split(' ').filter(Boolean);
			expect([...allowedActions(role, status)].sort()).toEqual([...expected].sort());
		}
	);

	it('an unknown role or action is never allowed', () => {
		expect(can('villager' as IncidentRole, 'accept', 'reported')).toBe(false);
		expect(can('admin', 'delete' as IncidentAction, 'reported')).toBe(false);
	});
});

describe('apply(status, action)', () => {
	const cases = INCIDENT_ACTIONS.flatMap((action) =>
		INCIDENT_STATUSES.map((status) => [status, action, NEXT[`${status} ${action}`] ?? null] as const)
	);

	it.each(cases)('%s + %s → %s', (status, action, next) => {
		if (next === null) expect(() => apply(status, action)).toThrow(/not allowed/);
		else expect(apply(status, action)).toBe(next);
	});

	it('walks the happy path 上报 → 受理 → 派遣 → 处置 → 核查 → 结案', () => {
		const path: IncidentAction[] = ['accept', 'dispatch', 'start', 'resolve', 'verify_pass'];
		const seen = path.reduce<IncidentStatus[]>((acc, a) => [...acc, apply(acc[acc.length - 1], a)], ['reported']);
		expect(seen).toEqual(['reported', 'accepted', 'dispatched', 'in_progress', 'resolved', 'closed']);
	});

	it('a failed verification is 返工 and goes back to work', () => {
		expect(TRANSITIONS.verify_fail.reopens).toBe(true);
		expect(INCIDENT_ACTIONS.filter((a) => TRANSITIONS[a].reopens)).toEqual(['verify_fail']);
		expect(apply(apply('resolved', 'verify_fail'), 'resolve')).toBe('resolved');
	});
});

describe('required fields', () => {
	it.each<[IncidentAction, { note?: string | null; assignee?: string | null }, string[]]>([
		['reject', {}, ['note']],
		['reject', { note: '   ' }, ['note']],
		['reject', { note: '重复上报' }, []],
		['dispatch', {}, ['assignee']],
		['dispatch', { assignee: '' }, ['assignee']],
		['dispatch', { assignee: 'cd-02' }, []],
		['resolve', { note: null }, ['note']],
		['resolve', { note: '已疏散住户并设置警戒' }, []],
		['verify_fail', {}, ['note']],
		['verify_fail', { note: '现场仍有积水' }, []],
		['accept', {}, []],
		['start', {}, []],
		['verify_pass', {}, []],
		['escalate', {}, []],
		['remind', {}, []],
		['instruct', {}, ['note']],
		['comment', {}, ['note']]
	])('%s with %j misses %j', (action, payload, missing) => {
		expect(missingFields(action, payload)).toEqual(missing);
	});

	it.each<[IncidentAction, boolean]>([
		['start', true],
		['resolve', true],
		['comment', true],
		['accept', false],
		['dispatch', false]
	])('%s may carry a check-in location: %s', (action, loc) => {
		expect(TRANSITIONS[action].location === true).toBe(loc);
	});
});

describe('time limits (DOMAIN.md)', () => {
	it.each<[Level, number, number]>([
		['red', 10 * MIN, 2 * HOUR],
		['orange', 30 * MIN, 12 * HOUR],
		['yellow', 2 * HOUR, 24 * HOUR],
		['blue', 24 * HOUR, 72 * HOUR]
	])('%s: acknowledge within %s ms, resolve within %s ms', (level, ack, resolve) => {
		expect(TIME_LIMITS[level]).toEqual({ ackMs: ack, resolveMs: resolve });
		expect(deadlines(level, T0)).toEqual({ ackDue: T0 + ack, resolveDue: T0 + resolve });
	});

	it('accepts configured limits and rejects nonsense', () => {
		const limits = { ...TIME_LIMITS, red: { ackMs: 5 * MIN, resolveMs: HOUR } };
		expect(deadlines('red', T0, limits)).toEqual({ ackDue: T0 + 5 * MIN, resolveDue: T0 + HOUR });
		expect(() => deadlines('purple' as Level, T0)).toThrow(RangeError);
		expect(() => deadlines('red', Number.NaN)).toThrow(RangeError);
	});
});

describe('escalation', () => {
	it('chain is L1 包村干部 → L2 包村领导 → L3 值班领导', () => {
		expect([...ESCALATION_CHAIN]).toEqual(['cadre', 'lead', 'duty_leader']);
	});

	it.each<[EscalationOptions, number]>([
		[{ level: 'red' }, 10 * MIN],
		[{ level: 'orange' }, 30 * MIN],
		[{ level: 'yellow' }, 2 * HOUR],
		[{ level: 'blue' }, 24 * HOUR],
		[{ level: 'red', remindEveryMs: 15 * MIN }, 15 * MIN],
		[{ remindEveryMs: MIN }, MIN_REMIND_MS], // never faster than 5 minutes
		[{ remindEveryMs: Number.NaN }, MIN_REMIND_MS],
		[{}, MIN_REMIND_MS]
	])('remindInterval(%j) = %s', (opts, ms) => {
		expect(remindInterval(opts)).toBe(ms);
	});

	/** Drives nextEscalation like the server's timer: wakes at nextCheckAt until `until` or until acknowledged. */
	function runClock(level: Level, until: number, ackedAt = Number.POSITIVE_INFINITY, start = T0) {
		let index = 0;
		let { ackDue } = deadlines(level, start);
		let now = start;
		const log: { at: number; to: string; remind: boolean }[] = [];
		for (let guard = 0; guard < 1_000; guard++) {
			const step = nextEscalation(index, ackDue, now, { level });
			if (step.escalateTo !== null) index = step.escalateTo;
			if (step.remind) log.push({ at: now, to: ESCALATION_CHAIN[index], remind: true });
			ackDue = step.ackDue;
			expect(step.nextCheckAt).toBeGreaterThanOrEqual(now);
			now = Math.max(now, step.nextCheckAt);
			if (now > until || now >= ackedAt) break;
		}
		return log.map((e) => [(e.at - start) / MIN, e.to]);
	}

	it('red: 10 min per level, then reminders every 10 min until acknowledged', () => {
		expect(runClock('red', T0 + 60 * MIN)).toEqual([
			[10, 'lead'],
			[20, 'duty_leader'],
			[30, 'duty_leader'],
			[40, 'duty_leader'],
			[50, 'duty_leader'],
			[60, 'duty_leader']
		]);
	});

	it('acknowledged within the window: no escalation at all', () => {
		expect(runClock('red', T0 + 60 * MIN, T0 + 9 * MIN)).toEqual([]);
	});

	it('acknowledged by L2: stops after the first escalation', () => {
		expect(runClock('orange', T0 + 5 * HOUR, T0 + 45 * MIN)).toEqual([[30, 'lead']]);
	});

	it('blue waits a day per level', () => {
		expect(runClock('blue', T0 + 72 * HOUR)).toEqual([
			[24 * 60, 'lead'],
			[48 * 60, 'duty_leader'],
			[72 * 60, 'duty_leader']
		]);
	});

	it.each<[string, number, number, number, { escalateTo: number | null; remind: boolean; ackDue: number; nextCheckAt: number }]>([
		['before the deadline', 0, T0 + 10 * MIN, T0 + 9 * MIN, { escalateTo: null, remind: false, ackDue: T0 + 10 * MIN, nextCheckAt: T0 + 10 * MIN }],
		['exactly at the deadline', 0, T0 + 10 * MIN, T0 + 10 * MIN, { escalateTo: 1, remind: true, ackDue: T0 + 20 * MIN, nextCheckAt: T0 + 20 * MIN }],
		['L2 overdue', 1, T0 + 20 * MIN, T0 + 21 * MIN, { escalateTo: 2, remind: true, ackDue: T0 + 30 * MIN, nextCheckAt: T0 + 30 * MIN }],
		['L3 overdue', 2, T0 + 30 * MIN, T0 + 30 * MIN, { escalateTo: null, remind: true, ackDue: T0 + 30 * MIN, nextCheckAt: T0 + 40 * MIN }],
		['L3 overdue, late tick', 2, T0 + 30 * MIN, T0 + 47 * MIN, { escalateTo: null, remind: true, ackDue: T0 + 30 * MIN, nextCheckAt: T0 + 50 * MIN }]
	])('red, %s', (_, index, ackDue, now, step) => {
		expect(nextEscalation(index, ackDue, now, { level: 'red' })).toEqual(step);
	});

	it('a timer that was down catches up along the schedule instead of drifting', () => {
		// Opened at T0 (red, L1 due T0+10). The timer next runs at T0+65 min.
		const s1 = nextEscalation(0, T0 + 10 * MIN, T0 + 65 * MIN, { level: 'red' });
		expect(s1).toMatchObject({ escalateTo: 1, ackDue: T0 + 20 * MIN });
		expect(s1.nextCheckAt).toBeLessThanOrEqual(T0 + 65 * MIN); // call again straight away
		const s2 = nextEscalation(1, s1.ackDue, T0 + 65 * MIN, { level: 'red' });
		expect(s2).toMatchObject({ escalateTo: 2, ackDue: T0 + 30 * MIN });
		const s3 = nextEscalation(2, s2.ackDue, T0 + 65 * MIN, { level: 'red' });
		expect(s3).toEqual({ escalateTo: null, remind: true, ackDue: T0 + 30 * MIN, nextCheckAt: T0 + 70 * MIN });
	});

	it.each([-1, 3, 1.5, Number.NaN])('rejects level index %s', (index) => {
		expect(() => nextEscalation(index, T0, T0)).toThrow(RangeError);
	});

	it('rejects non-finite times', () => {
		expect(() => nextEscalation(0, Number.NaN, T0)).toThrow(RangeError);
		expect(() => nextEscalation(0, T0, Number.POSITIVE_INFINITY)).toThrow(RangeError);
	});
});
