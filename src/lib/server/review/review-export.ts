// The leaders' exports as CSV (UTF-8 with BOM, RFC 4180, formula-guarded: src/lib/domain/csv.ts): one row per case,
// and the figures per village / per cadre / for the whole period. Columns are Chinese with the English in brackets, so
// the file reads in Excel as it does on the page. Minutes are whole-number-rounded to one decimal; rates are percents.
import { toCsv } from '../../domain/csv.js';
import { judge, type CaseFacts, type Figures, type GroupRow } from '../../domain/review-stats.js';
import { label } from '../../domain/labels.js';

const minutes = (ms: number | null) => (ms === null ? null : Math.round(ms / 6_000) / 10);
const pct = (r: number | null) => (r === null ? null : Math.round(r * 1000) / 10);
const yn = (b: boolean | null) => (b === null ? '' : b ? '是' : '否');

function localTime(tz: string): (t: number | null) => string {
	const f = new Intl.DateTimeFormat('sv-SE', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
	return (t) => (t === null ? '' : f.format(t));
}

export const CASE_COLUMNS = [
	'编号 id',
	'标题 title',
	'类别 category',
	'级别 level',
	'状态 status',
	'村 village',
	'包村干部 cadre',
	'上报 opened',
	'受理 acknowledged',
	'到场 on site',
	'处置 resolved',
	'受理用时(分) ack min',
	'到场用时(分) on-site min',
	'处置用时(分) resolve min',
	'按时受理 ack on time',
	'按期处置 resolved on time',
	'超期 overdue',
	'返工次数 reopened',
	'挂账 open',
	'演示 demo'
] as const;

export function casesCsv(cases: readonly CaseFacts[], now: number, tz: string): string {
	const at = localTime(tz);
	return toCsv(
		CASE_COLUMNS,
		cases.map((c) => {
			const j = judge(c, now);
			return [
				c.id,
				c.title,
				label('category', c.category, 'zh'),
				c.level ? label('status', c.level, 'zh') : '',
				label('case_status', c.status, 'zh'),
				c.village ?? '',
				c.cadres.map((k) => k.name).join('、'),
				at(c.opened),
				at(c.acknowledged),
				at(c.arrived),
				at(c.resolved),
				minutes(j.ackMs),
				minutes(j.arriveMs),
				minutes(j.resolveMs),
				yn(j.ackOnTime),
				yn(j.resolveOnTime),
				yn(j.overdue),
				c.reopened,
				yn(j.backlog),
				c.is_demo ? '是' : ''
			];
		})
	);
}

export const STATS_COLUMNS = [
	'分组 group',
	'名称 name',
	'案件数 cases',
	'按时受理率% ack on-time %',
	'按时受理 ack on time',
	'可评受理 ack judged',
	'按期处置率% resolve on-time %',
	'按期处置 resolved on time',
	'可评处置 resolve judged',
	'受理中位(分) ack median min',
	'受理P90(分) ack p90 min',
	'到场中位(分) on-site median min',
	'到场P90(分) on-site p90 min',
	'处置中位(分) resolve median min',
	'处置P90(分) resolve p90 min',
	'超期 overdue',
	'返工 reopened',
	'挂账 open backlog'
] as const;

const statRow = (group: string, name: string, f: Figures) => [
	group,
	name,
	f.cases,
	pct(f.ackRate),
	f.ackOnTime,
	f.ackJudged,
	pct(f.resolveRate),
	f.resolveOnTime,
	f.resolveJudged,
	minutes(f.ack.median),
	minutes(f.ack.p90),
	minutes(f.arrive.median),
	minutes(f.arrive.p90),
	minutes(f.resolve.median),
	minutes(f.resolve.p90),
	f.overdue,
	f.reopened,
	f.backlog
];

export function statsCsv(total: Figures, villages: readonly GroupRow[], cadres: readonly GroupRow[]): string {
	return toCsv(STATS_COLUMNS, [
		statRow('全镇 township', '合计 total', total),
		...villages.map((r) => statRow('村 village', r.name, r)),
		...cadres.map((r) => statRow('包村干部 cadre', r.name, r))
	]);
}

/** A file name safe in every browser: ASCII fallback plus the UTF-8 name (RFC 6266 / RFC 5987). */
export function attachment(asciiName: string, utf8Name: string): string {
	return `attachment; filename="${asciiName}"; filename*=UTF-8''${encodeURIComponent(utf8Name)}`;
}
