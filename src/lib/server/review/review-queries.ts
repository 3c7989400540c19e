// The leaders' review (issue 7): gathers the facts of each case from its append-only incident_events — when it was
// first acknowledged, when a cadre first checked in on site, its last resolve, how often verification failed — for
// the pure figures in src/lib/domain/review-stats.ts. The same filter drives the figures, the case list, the CSV
// exports and the monthly report, so they always agree. Only leaders and admins reach these (access.ts), so no
// cadre scope is applied here.
import { z } from 'zod';
import type { Queryable } from '../platform/db.js';
import { INCIDENT_STATUSES, TIME_LIMITS } from '../../domain/incident-flow.js';
import { LEVELS, type Level } from '../../domain/types.js';
import type { CaseFacts } from '../../domain/review-stats.js';
import { CATEGORIES } from '../cases/incidents.js';
import { day, id4, text } from '../platform/params.js';

/** Query-string filter shared by /review, /review/cases, the exports and the report. Days are in TZ_DISPLAY. */
const filterShape = z.object({
		from: day.optional(),
		/** Inclusive last day. */
		to: day.optional(),
		status: z.union([z.enum(INCIDENT_STATUSES), z.literal('open')]).optional(),
		level: z.enum(LEVELS).optional(),
		category: z.enum(CATEGORIES).optional(),
		village: id4.optional(),
		cadre: id4.optional(),
		overdue: z.enum(['true', 'false']).optional(),
		reopened: z.enum(['true']).optional(),
	q: text(100).trim().optional()
});
export const reviewFilter = filterShape.refine((f) => !f.from || !f.to || f.from <= f.to, { message: 'from must not be after to', path: ['from'] });
export type ReviewFilter = z.infer<typeof reviewFilter>;

/** Parses URLSearchParams, dropping blank values (an empty select is "any"). */
export function parseReviewFilter(params: URLSearchParams) {
	const raw: Record<string, string> = {};
	for (const [k, v] of params) if (v.trim() !== '' && k in filterShape.shape) raw[k] = v;
	return reviewFilter.safeParse(raw);
}

/** The last `days` days up to today, as from/to days in `tz`. */
export function lastDays(days: number, tz: string, now = new Date()): { from: string; to: string } {
	const day = (d: Date) => new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
	return { from: day(new Date(now.getTime() - (days - 1) * 86_400_000)), to: day(now) };
}

export const PERIOD_PRESETS = ['7', '30', '90', 'this_month', 'last_month'] as const;
export type PeriodPreset = (typeof PERIOD_PRESETS)[number];

/** from/to days for a preset, in `tz`. */
export function presetDays(p: PeriodPreset, tz: string, now = new Date()): { from: string; to: string } {
	if (p === '7' || p === '30' || p === '90') return lastDays(Number(p), tz, now);
	const today = lastDays(1, tz, now).to;
	const [y, m] = today.split('-').map(Number);
	if (p === 'this_month') return { from: today.slice(0, 8) + '01', to: today };
	const prev = m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
	return monthDays(prev);
}

/**
 * The filter of a review page from its query string: an explicit from/to wins, else the preset `p` (default the last
 * 30 days). Returns the preset in force ('' for a custom range) for the selector.
 */
export function reviewFilterFromUrl(params: URLSearchParams, tz: string, now = new Date()): { ok: true; filter: ReviewFilter; preset: PeriodPreset | '' } | { ok: false; message: string } {
	const parsed = parseReviewFilter(params);
	if (!parsed.success) return { ok: false, message: parsed.error.issues.map((i) => `${i.path.join('.') || 'filter'}: ${i.message}`).join('; ') };
	const f = parsed.data;
	if (f.from || f.to) return { ok: true, filter: f, preset: '' };
	const raw = params.get('p') ?? '30';
	if (!(PERIOD_PRESETS as readonly string[]).includes(raw)) return { ok: false, message: `p: one of ${PERIOD_PRESETS.join(', ')}` };
	return { ok: true, filter: { ...f, ...presetDays(raw as PeriodPreset, tz, now) }, preset: raw as PeriodPreset };
}

/** A calendar month YYYY-MM as from/to days. */
export function monthDays(month: string): { from: string; to: string } {
	const [y, m] = month.split('-').map(Number);
	const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
	return { from: `${month}-01`, to: `${month}-${String(last).padStart(2, '0')}` };
}

const ms = (v: number) => `interval '${Math.round(v)} milliseconds'`;
const limitSql = (k: 'ackMs' | 'resolveMs') =>
	`CASE COALESCE(f.level, 'blue') ${(Object.keys(TIME_LIMITS) as Level[]).map((l) => `WHEN '${l}' THEN ${ms(TIME_LIMITS[l][k])}`).join(' ')} END`;

/**
 * One row of facts per case, from the events. `resolved` is the last resolve while the case is resolved or closed
 * (a failed verification after it undoes it). Mirrors judge() in review-stats.ts for the SQL-side overdue filter.
 */
const FACTS = `
	WITH f AS (
		SELECT i.id, i.title, i.description, i.category, i.level, i.status, i.village_id, v.name AS village, i.lng, i.lat, i.is_demo,
		       i.opened_at, i.responsible, i.assignee_cadre_id,
		       COALESCE((SELECT jsonb_agg(jsonb_build_object('id', (r->>'cadre_id')::int, 'name', r->>'name') ORDER BY (r->>'cadre_id')::int)
		                 FROM jsonb_array_elements(i.responsible) r WHERE r->>'role' = 'cadre'), '[]'::jsonb) AS cadres,
		       e.acknowledged, e.arrived,
		       CASE WHEN i.status IN ('resolved', 'closed') THEN e.last_resolve END AS resolved,
		       COALESCE(e.reopened, 0) AS reopened
		FROM incidents i
		LEFT JOIN villages v ON v.id = i.village_id
		LEFT JOIN LATERAL (
			SELECT min(at) FILTER (WHERE action IN ('accept', 'dispatch', 'start', 'reject')) AS acknowledged,
			       min(at) FILTER (WHERE action = 'start') AS arrived,
			       max(at) FILTER (WHERE action = 'resolve') AS last_resolve,
			       count(*) FILTER (WHERE action = 'verify_fail')::int AS reopened
			FROM incident_events WHERE incident_id = i.id
		) e ON true
	), j AS (
		SELECT f.*, f.opened_at + ${limitSql('ackMs')} AS ack_due_at, f.opened_at + ${limitSql('resolveMs')} AS resolve_due_at FROM f
	), k AS (
		SELECT j.*,
		       ((j.acknowledged IS NULL AND now() > j.ack_due_at) OR j.acknowledged > j.ack_due_at
		        OR (j.status <> 'rejected' AND ((j.resolved IS NULL AND now() > j.resolve_due_at) OR j.resolved > j.resolve_due_at))) AS is_overdue
		FROM j
	)`;

function where(f: ReviewFilter, tz: string, p: unknown[]): string {
	const w: string[] = [];
	const tzp = () => `$${p.push(tz)}`;
	if (f.from) w.push(`k.opened_at >= ($${p.push(f.from)}::date)::timestamp AT TIME ZONE ${tzp()}`);
	if (f.to) w.push(`k.opened_at < ($${p.push(f.to)}::date + 1)::timestamp AT TIME ZONE ${tzp()}`);
	if (f.status === 'open') w.push(`k.status NOT IN ('closed', 'rejected')`);
	else if (f.status) w.push(`k.status = $${p.push(f.status)}`);
	if (f.level) w.push(`k.level = $${p.push(f.level)}`);
	if (f.category) w.push(`k.category = $${p.push(f.category)}`);
	if (f.village) w.push(`k.village_id = $${p.push(f.village)}`);
	if (f.cadre) w.push(`k.cadres @> jsonb_build_array(jsonb_build_object('id', $${p.push(f.cadre)}::int))`);
	if (f.overdue === 'true') w.push('k.is_overdue');
	if (f.overdue === 'false') w.push('NOT k.is_overdue');
	if (f.reopened === 'true') w.push('k.reopened > 0');
	if (f.q) {
		// Wildcards in the search text are literal: escape \ % _ for ILIKE (default escape character \).
		const like = '%' + f.q.replace(/[\\%_]/g, (c) => '\\' + c) + '%';
		const n = p.push(like);
		w.push(`(k.title ILIKE $${n} OR k.description ILIKE $${n} OR k.village ILIKE $${n} OR k.cadres::text ILIKE $${n} OR k.id::text = $${p.push(f.q)})`);
	}
	return w.length ? 'WHERE ' + w.join(' AND ') : '';
}

/** A row of the facts query: the case fields as CaseFacts has them, the step times still as the driver gives them. */
type FactRow = Omit<CaseFacts, 'opened' | 'acknowledged' | 'arrived' | 'resolved'> & {
	opened_at: Date;
	acknowledged: Date | null;
	arrived: Date | null;
	resolved: Date | null;
	is_overdue: boolean;
};

const t = (d: Date | string | null) => (d === null ? null : new Date(d).getTime());
const toFacts = (r: FactRow): CaseFacts => ({
	id: Number(r.id),
	title: r.title,
	category: r.category,
	level: r.level,
	status: r.status,
	village_id: r.village_id,
	village: r.village,
	cadres: r.cadres,
	lng: r.lng,
	lat: r.lat,
	is_demo: r.is_demo,
	opened: t(r.opened_at)!,
	acknowledged: t(r.acknowledged),
	arrived: t(r.arrived),
	resolved: t(r.resolved),
	reopened: r.reopened
});

const COLS = 'k.id, k.title, k.category, k.level, k.status, k.village_id, k.village, k.cadres, k.lng, k.lat, k.is_demo, k.opened_at, k.acknowledged, k.arrived, k.resolved, k.reopened, k.is_overdue';

/** Every case matching the filter, oldest first (for the figures, exports and report). */
export async function caseFacts(q: Queryable, f: ReviewFilter, tz: string): Promise<CaseFacts[]> {
	const p: unknown[] = [];
	const r = await q.query<FactRow>(`${FACTS} SELECT ${COLS} FROM k ${where(f, tz, p)} ORDER BY k.opened_at, k.id`, p);
	return r.rows.map(toFacts);
}

export const PAGE_SIZE = 50;

/** One page of the case list, newest first, with the total count. */
export async function reviewCasePage(q: Queryable, f: ReviewFilter, tz: string, page: number): Promise<{ total: number; rows: (CaseFacts & { overdue: boolean })[] }> {
	const p: unknown[] = [];
	const w = where(f, tz, p);
	const r = await q.query<FactRow & { total: number }>(
		`${FACTS} SELECT ${COLS}, count(*) OVER ()::int AS total FROM k ${w} ORDER BY k.opened_at DESC, k.id DESC LIMIT ${PAGE_SIZE} OFFSET $${p.push((page - 1) * PAGE_SIZE)}`,
		p
	);
	let total = r.rows[0]?.total ?? 0;
	if (!r.rows.length && page > 1) total = (await q.query<{ n: number }>(`${FACTS} SELECT count(*)::int AS n FROM k ${where(f, tz, [])}`, p.slice(0, -1))).rows[0].n;
	return { total, rows: r.rows.map((x) => ({ ...toFacts(x), overdue: x.is_overdue })) };
}

/** Villages and cadres to choose from in the filters (every cadre ever recorded as a case's 包村干部, plus current ones). */
export async function filterChoices(q: Queryable): Promise<{ villages: { id: number; name: string }[]; cadres: { id: number; name: string }[] }> {
	const [v, c] = await Promise.all([
		q.query<{ id: number; name: string }>('SELECT id, name FROM villages ORDER BY name'),
		q.query<{ id: number; name: string }>(
			`SELECT DISTINCT c.id, c.name FROM cadres c JOIN assignments a ON a.cadre_id = c.id AND a.role = 'cadre' ORDER BY c.name`
		)
	]);
	return { villages: v.rows, cadres: c.rows };
}

/** The township's name for report titles (the demo's, or the first township feature). */
export async function townshipName(q: Queryable): Promise<string> {
	const r = await q.query<{ name: string }>(`SELECT name FROM map_features WHERE kind = 'township' ORDER BY id LIMIT 1`);
	return r.rows[0]?.name ?? '本镇';
}
