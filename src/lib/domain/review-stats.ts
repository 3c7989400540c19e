// Leaders' review figures (DOMAIN.md "Review figures"): per village, per cadre, per period — computed from the facts a
// case's append-only events recorded, never typed in. Pure: the server gathers the facts (src/lib/server/
// review-queries.ts), this module judges them against the time limits of incident-flow.ts and sums them up, and the
// page shows REVIEW_DEFINITIONS next to the figures so a leader can check how each one is made.
import { TIME_LIMITS } from './incident-flow.js';
import type { Level } from './types.js';
import { LEVELS_WORST_FIRST, LEVEL_SHORT_NAMES } from './levels.js';

/** What one case's record says, as times in ms since epoch (null = that step never happened). */
export interface CaseFacts {
	id: number;
	title: string;
	category: string;
	/** The case's level as recorded (the highest it reached); null is judged as blue, like a field report without one. */
	level: Level | null;
	status: string;
	village_id: number | null;
	village: string | null;
	/** 包村干部 recorded on the case when it opened (assignments valid at that moment); empty = the duty room's. */
	cadres: { id: number; name: string }[];
	lng: number | null;
	lat: number | null;
	is_demo: boolean;
	opened: number;
	/** First 受理-type event: accept, dispatch, start or reject. */
	acknowledged: number | null;
	/** First 开始处置 (start: the cadre on site) event. */
	arrived: number | null;
	/** The last 处置完毕 (resolve) event, if the case is resolved or closed now (a 返工 since then undoes it). */
	resolved: number | null;
	/** Number of 核查不通过 (verify_fail) events. */
	reopened: number;
}

export interface Judgement {
	ackDue: number;
	resolveDue: number;
	ackMs: number | null;
	arriveMs: number | null;
	resolveMs: number | null;
	/** true/false once it can be judged (acknowledged, or the deadline has passed); null while still within time. */
	ackOnTime: boolean | null;
	/** Same for resolving; null also for a rejected case (nothing to resolve). */
	resolveOnTime: boolean | null;
	/** Missed either deadline: late, or still not done after it. */
	overdue: boolean;
	/** Still open (not closed, not rejected). */
	backlog: boolean;
}

const FINAL = new Set(['closed', 'rejected']);

/** Judges one case against the time limits of its level, counted from when it opened, as of `now`. */
export function judge(c: CaseFacts, now: number, limits = TIME_LIMITS): Judgement {
	const l = limits[c.level ?? 'blue'];
	const ackDue = c.opened + l.ackMs;
	const resolveDue = c.opened + l.resolveMs;
	const rejected = c.status === 'rejected';
	const ackOnTime = c.acknowledged !== null ? c.acknowledged <= ackDue : now > ackDue ? false : null;
	const resolveOnTime = rejected ? null : c.resolved !== null ? c.resolved <= resolveDue : now > resolveDue ? false : null;
	return {
		ackDue,
		resolveDue,
		ackMs: c.acknowledged !== null ? c.acknowledged - c.opened : null,
		arriveMs: c.arrived !== null ? c.arrived - c.opened : null,
		resolveMs: c.resolved !== null ? c.resolved - c.opened : null,
		ackOnTime,
		resolveOnTime,
		overdue: ackOnTime === false || resolveOnTime === false,
		backlog: !FINAL.has(c.status)
	};
}

/**
 * The p-th percentile by the nearest-rank method: sort ascending, take the value at rank ⌈p/100 × n⌉ (1-based).
 * Always a value that occurred; the median is p = 50 (for an even count, the lower of the two middle values).
 * Empty input → null.
 */
export function percentile(values: readonly number[], p: number): number | null {
	if (!(p > 0 && p <= 100)) throw new RangeError(`percentile: p must be in (0, 100], got ${p}`);
	if (values.length === 0) return null;
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1];
}

export interface Spread {
	n: number;
	median: number | null;
	p90: number | null;
}

export function spread(values: readonly number[]): Spread {
	return { n: values.length, median: percentile(values, 50), p90: percentile(values, 90) };
}

export interface Figures {
	cases: number;
	/** Cases whose acknowledgement can be judged, and how many of them were on time. */
	ackJudged: number;
	ackOnTime: number;
	/** ackOnTime / ackJudged, 0..1; null when nothing can be judged. */
	ackRate: number | null;
	resolveJudged: number;
	resolveOnTime: number;
	resolveRate: number | null;
	ack: Spread;
	arrive: Spread;
	resolve: Spread;
	overdue: number;
	reopened: number;
	backlog: number;
}

export function figures(cases: readonly CaseFacts[], now: number, limits = TIME_LIMITS): Figures {
	const js = cases.map((c) => ({ c, j: judge(c, now, limits) }));
	const ackJudged = js.filter(({ j }) => j.ackOnTime !== null);
	const resolveJudged = js.filter(({ j }) => j.resolveOnTime !== null);
	const ackOnTime = ackJudged.filter(({ j }) => j.ackOnTime).length;
	const resolveOnTime = resolveJudged.filter(({ j }) => j.resolveOnTime).length;
	const times = (k: 'ackMs' | 'arriveMs' | 'resolveMs') => js.map(({ j }) => j[k]).filter((v): v is number => v !== null);
	return {
		cases: cases.length,
		ackJudged: ackJudged.length,
		ackOnTime,
		ackRate: ackJudged.length ? ackOnTime / ackJudged.length : null,
		resolveJudged: resolveJudged.length,
		resolveOnTime,
		resolveRate: resolveJudged.length ? resolveOnTime / resolveJudged.length : null,
		ack: spread(times('ackMs')),
		arrive: spread(times('arriveMs')),
		resolve: spread(times('resolveMs')),
		overdue: js.filter(({ j }) => j.overdue).length,
		reopened: cases.filter((c) => c.reopened > 0).length,
		backlog: js.filter(({ j }) => j.backlog).length
	};
}

export interface GroupRow extends Figures {
	key: string;
	name: string;
}

/** Figures per group; a case in several groups (two cadres) counts in each. Sorted by case count, then name. */
export function groupFigures(cases: readonly CaseFacts[], keys: (c: CaseFacts) => { key: string; name: string }[], now: number, limits = TIME_LIMITS): GroupRow[] {
	const groups = new Map<string, { name: string; cases: CaseFacts[] }>();
	for (const c of cases) {
		for (const k of keys(c)) {
			const g = groups.get(k.key) ?? { name: k.name, cases: [] };
			g.cases.push(c);
			groups.set(k.key, g);
		}
	}
	return [...groups.entries()]
		.map(([key, g]) => ({ key, name: g.name, ...figures(g.cases, now, limits) }))
		.sort((a, b) => b.cases - a.cases || a.name.localeCompare(b.name, 'zh'));
}

/** Key for cases outside every village, or with no 包村干部 recorded: the duty room answered for them. */
export const NO_GROUP = { key: 'none', zh: '值班室（村外/无包村干部）', en: 'Duty room (outside villages / no cadre)' };

export const byVillage = (cases: readonly CaseFacts[], now: number, limits = TIME_LIMITS): GroupRow[] =>
	groupFigures(cases, (c) => [c.village_id !== null ? { key: `v${c.village_id}`, name: c.village ?? `#${c.village_id}` } : { key: NO_GROUP.key, name: NO_GROUP.zh }], now, limits);

export const byCadre = (cases: readonly CaseFacts[], now: number, limits = TIME_LIMITS): GroupRow[] =>
	groupFigures(cases, (c) => (c.cadres.length ? c.cadres.map((k) => ({ key: `c${k.id}`, name: k.name })) : [{ key: NO_GROUP.key, name: NO_GROUP.zh }]), now, limits);

/** Counts of values per bin [edges[i], edges[i+1]); the last bin is open-ended (≥ last edge). */
export function histogram(values: readonly number[], edges: readonly number[]): number[] {
	const out = edges.map(() => 0);
	for (const v of values) {
		let i = edges.length - 1;
		while (i > 0 && v < edges[i]) i--;
		if (v >= edges[0]) out[i]++;
	}
	return out;
}

/** The Monday (YYYY-MM-DD) of the week holding calendar day `day` (YYYY-MM-DD). */
export function weekOf(day: string): string {
	const t = Date.parse(day + 'T00:00:00Z');
	const back = (new Date(t).getUTCDay() + 6) % 7;
	return new Date(t - back * 86_400_000).toISOString().slice(0, 10);
}

/**
 * Cases opened per calendar day (YYYY-MM-DD in `tz`) — or per week, labelled by its Monday — split by `key`
 * (category or level). Only days/weeks with a case are listed.
 */
export function casesPerDay(cases: readonly CaseFacts[], key: (c: CaseFacts) => string, tz: string, unit: 'day' | 'week' = 'day'): { days: string[]; series: Map<string, number[]> } {
	const day = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' });
	const counts = new Map<string, Map<string, number>>();
	const keys = new Set<string>();
	for (const c of cases) {
		const d = unit === 'week' ? weekOf(day.format(c.opened)) : day.format(c.opened);
		const k = key(c);
		keys.add(k);
		const m = counts.get(d) ?? new Map<string, number>();
		m.set(k, (m.get(k) ?? 0) + 1);
		counts.set(d, m);
	}
	const days = [...counts.keys()].sort();
	const series = new Map([...keys].sort().map((k) => [k, days.map((d) => counts.get(d)?.get(k) ?? 0)]));
	return { days, series };
}


/** "红 10分钟/2小时，橙 …" — the acknowledge / resolve limit of each level, from TIME_LIMITS. */
function limitsText(lang: 'zh' | 'en'): string {
	const span = (ms: number) => {
		const min = ms / 60_000;
		return min < 60 ? (lang === 'zh' ? `${min}分钟` : `${min} min`) : lang === 'zh' ? `${min / 60}小时` : `${min / 60} h`;
	};
	return LEVELS_WORST_FIRST
		.map((l) => `${LEVEL_SHORT_NAMES[l][lang]} ${span(TIME_LIMITS[l].ackMs)}${lang === 'zh' ? '/' : ' / '}${span(TIME_LIMITS[l].resolveMs)}`)
		.join(lang === 'zh' ? '，' : ', ');
}

/** How each figure is made: shown on the review page and the monthly report, and in README. */
export const REVIEW_DEFINITIONS: readonly { term: { zh: string; en: string }; def: { zh: string; en: string } }[] = [
	{
		term: { zh: '案件数', en: 'Cases' },
		def: { zh: '所选时段内上报（立案）的案件数，按上报时间计。', en: 'Cases opened (reported) in the chosen period, by their opening time.' }
	},
	{
		term: { zh: '受理时刻', en: 'Acknowledged at' },
		def: {
			zh: '案件记录中第一条受理类事件（受理、派遣、开始处置或不予受理）的时间。',
			en: 'Time of the first acknowledging event on the record (accept, dispatch, start or reject).'
		}
	},
	{
		term: { zh: '到场时刻', en: 'On site at' },
		def: { zh: '第一条“开始处置”事件（干部到场签到）的时间。', en: 'Time of the first “start on site” event (the cadre checked in).' }
	},
	{
		term: { zh: '处置时刻', en: 'Resolved at' },
		def: {
			zh: '最后一条“处置完毕”事件的时间，且之后未被核查退回（案件现为待核查或已结案）。',
			en: 'Time of the last “resolve” event, if no failed verification came after it (the case is resolved or closed now).'
		}
	},
	{
		term: { zh: '时限', en: 'Time limits' },
		// Written from TIME_LIMITS, so the page can never state a limit the figures do not use.
		def: {
			zh: `从上报时刻起算，按案件级别：${limitsText('zh')}（受理/处置）；无级别按蓝色。`,
			en: `Counted from opening, by the case level: ${limitsText('en')} (acknowledge / resolve); no level counts as blue.`
		}
	},
	{
		term: { zh: '按时受理率', en: 'On-time acknowledge rate' },
		def: {
			zh: '受理时刻不晚于受理时限的案件 ÷ 可评判的案件（已受理，或受理时限已过）。时限未到且未受理的案件不计入。',
			en: 'Cases acknowledged by their deadline ÷ cases that can be judged (acknowledged, or past the deadline). Cases still within time and unacknowledged are not counted.'
		}
	},
	{
		term: { zh: '按期处置率', en: 'On-time resolve rate' },
		def: {
			zh: '处置时刻不晚于处置时限的案件 ÷ 可评判的案件（已处置，或处置时限已过）；不予受理的案件不计入。',
			en: 'Cases resolved by their deadline ÷ cases that can be judged (resolved, or past the deadline); rejected cases are not counted.'
		}
	},
	{
		term: { zh: '中位数 / P90', en: 'Median / p90' },
		def: {
			zh: '从上报到受理 / 到场 / 处置的用时，按最近秩法：升序排列后取第 ⌈p% × n⌉ 个值（中位数 p=50，偶数个时取较小的中间值）。只统计已发生该步骤的案件。',
			en: 'Time from opening to acknowledge / on site / resolved, nearest-rank method: sorted ascending, the value at rank ⌈p% × n⌉ (median p = 50, the lower middle value for an even count). Only cases where that step happened.'
		}
	},
	{
		term: { zh: '超期', en: 'Overdue' },
		def: {
			zh: '错过任一时限的案件：超时受理或处置，或时限已过仍未受理/处置。',
			en: 'Cases that missed either deadline: acknowledged or resolved late, or still not done after it.'
		}
	},
	{
		term: { zh: '返工', en: 'Reopened' },
		def: { zh: '至少有一次“核查不通过”的案件数。', en: 'Cases with at least one failed verification.' }
	},
	{
		term: { zh: '挂账', en: 'Open backlog' },
		def: { zh: '现在仍未结案（非已结案、非不予受理）的案件数。', en: 'Cases still open now (neither closed nor rejected).' }
	},
	{
		term: { zh: '责任干部', en: 'Responsible cadre' },
		def: {
			zh: '案件上报时记录的、当时有效的包村干部（之后的人员调整不改变历史案件的归属）；无包村干部的计入值班室。',
			en: 'The village cadre(s) the case recorded when it opened (assignments valid then; later changes do not move old cases); none → the duty room.'
		}
	}
];
