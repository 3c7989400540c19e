// CSV exports of the leaders' review: ?kind=cases (one row per case) or ?kind=stats (township, per village, per cadre),
// with the same period and filters as the pages. UTF-8 with BOM so Excel shows the Chinese (src/lib/domain/csv.ts).
import { error } from '@sveltejs/kit';
import type { RequestHandler } from './$types';
import { runtime } from '$lib/server/runtime';
import { caseFacts, reviewFilterFromUrl } from '$lib/server/review/review-queries';
import { attachment, casesCsv, statsCsv } from '$lib/server/review/review-export';
import { byCadre, byVillage, figures } from '$lib/domain/review-stats';

export const GET: RequestHandler = async ({ url }) => {
	const kind = url.searchParams.get('kind');
	if (kind !== 'cases' && kind !== 'stats') error(400, 'kind: cases or stats');
	const rt = await runtime();
	const tz = rt.config.TZ_DISPLAY;
	const r = reviewFilterFromUrl(url.searchParams, tz);
	if (!r.ok) error(400, r.message);
	const facts = await caseFacts(rt.db, r.filter, tz);
	const now = Date.now();
	const body = kind === 'cases' ? casesCsv(facts, now, tz) : statsCsv(figures(facts, now), byVillage(facts, now), byCadre(facts, now));
	const span = `${r.filter.from ?? 'all'}_${r.filter.to ?? 'now'}`;
	return new Response(body, {
		headers: {
			'content-type': 'text/csv; charset=utf-8',
			'content-disposition': attachment(`shudi-${kind}-${span}.csv`, `${kind === 'cases' ? '案件明细' : '统计'}-${span}.csv`),
			'cache-control': 'no-store'
		}
	});
};
