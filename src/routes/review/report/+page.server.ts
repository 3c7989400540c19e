// 月度通报: one month's duty work as a printable report (print CSS; the browser's "save as PDF" makes the PDF).
// ?month=YYYY-MM, default last month. Same figures as /review for that month.
import { error } from '@sveltejs/kit';
import type { PageServerLoad } from './$types';
import { runtime } from '$lib/server/runtime';
import { caseFacts, monthDays, presetDays, townshipName } from '$lib/server/review/review-queries';
import { byCadre, byVillage, figures, judge } from '$lib/domain/review-stats';

export const load = (async ({ url }) => {
	const rt = await runtime();
	const tz = rt.config.TZ_DISPLAY;
	const raw = url.searchParams.get('month');
	if (raw !== null && !/^(19|20)\d{2}-(0[1-9]|1[0-2])$/.test(raw)) error(400, 'month: YYYY-MM');
	const month = raw ?? presetDays('last_month', tz).from.slice(0, 7);
	const period = monthDays(month);
	const now = Date.now();
	const [facts, township, instructions] = await Promise.all([
		caseFacts(rt.db, period, tz),
		townshipName(rt.db),
		rt.db.query<{ incident_id: number; title: string; at: Date; actor_name: string; note: string | null }>(
			`SELECT e.incident_id, i.title, e.at, e.actor_name, e.note FROM incident_events e JOIN incidents i ON i.id = e.incident_id
			 WHERE e.action = 'instruct' AND e.at >= ($1::date)::timestamp AT TIME ZONE $3 AND e.at < ($2::date + 1)::timestamp AT TIME ZONE $3
			 ORDER BY e.at`,
			[period.from, period.to, tz]
		)
	]);
	const counts = (key: 'category' | 'level') => {
		const m = new Map<string, number>();
		for (const c of facts) m.set(c[key] ?? 'none', (m.get(c[key] ?? 'none') ?? 0) + 1);
		return [...m.entries()].sort((a, b) => b[1] - a[1]);
	};
	const flagged = facts
		.map((c) => ({ c, j: judge(c, now) }))
		.filter(({ c, j }) => j.overdue || c.reopened > 0)
		.map(({ c, j }) => ({ id: c.id, title: c.title, level: c.level, status: c.status, village: c.village, cadres: c.cadres.map((k) => k.name).join('、'), opened: c.opened, ackMs: j.ackMs, resolveMs: j.resolveMs, ackOnTime: j.ackOnTime, resolveOnTime: j.resolveOnTime, reopened: c.reopened }));
	const [y, m] = month.split('-').map(Number);
	return {
		month,
		title: `${township} ${y}年${m}月 值班处置情况通报`,
		titleEn: `${township}: duty and case handling, ${month}`,
		period,
		total: figures(facts, now),
		villages: byVillage(facts, now),
		cadres: byCadre(facts, now),
		byCategory: counts('category'),
		byLevel: counts('level'),
		flagged,
		instructions: instructions.rows.map((r) => ({ ...r, at: new Date(r.at).getTime() })),
		demo: facts.some((c) => c.is_demo),
		generated: now,
		tz
	};
}) satisfies PageServerLoad;
