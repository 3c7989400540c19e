// Case list for leaders (案件查询): filters as query parameters, filtered and searched on the server, 50 a page.
// Opening a case goes to the case page (timeline, map, sensor readings with alarm marks: the after-action replay).
import { error } from '@sveltejs/kit';
import type { PageServerLoad } from './$types';
import { runtime } from '$lib/server/runtime';
import { filterChoices, PAGE_SIZE, reviewCasePage, reviewFilterFromUrl } from '$lib/server/review/review-queries';
import { judge } from '$lib/domain/review-stats';

export const load = (async ({ url }) => {
	const rt = await runtime();
	const tz = rt.config.TZ_DISPLAY;
	const r = reviewFilterFromUrl(url.searchParams, tz);
	if (!r.ok) error(400, r.message);
	const rawPage = url.searchParams.get('page') ?? '1';
	if (!/^\d{1,6}$/.test(rawPage) || Number(rawPage) < 1) error(400, 'page: a whole number from 1');
	const page = Number(rawPage);
	const now = Date.now();
	const [list, choices] = await Promise.all([reviewCasePage(rt.db, r.filter, tz, page), filterChoices(rt.db)]);
	return {
		filter: r.filter,
		preset: r.preset,
		page,
		pages: Math.max(1, Math.ceil(list.total / PAGE_SIZE)),
		total: list.total,
		rows: list.rows.map((c) => {
			const j = judge(c, now);
			return { ...c, ackMs: j.ackMs, resolveMs: j.resolveMs, ackOnTime: j.ackOnTime, resolveOnTime: j.resolveOnTime };
		}),
		choices,
		tz
	};
}) satisfies PageServerLoad;
