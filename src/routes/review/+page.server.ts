// The leaders' review (领导复盘): figures for a period, per village and per cadre, computed on the server from the case
// records (review-queries.ts → review-stats.ts). Leaders and admins only: access.ts, checked in hooks before this runs.
import { error } from '@sveltejs/kit';
import type { PageServerLoad } from './$types';
import { runtime } from '$lib/server/runtime';
import { caseFacts, filterChoices, reviewFilterFromUrl } from '$lib/server/review/review-queries';
import { byCadre, byVillage, casesPerDay, figures, histogram, judge } from '$lib/domain/review-stats';

const MIN = 60_000;
/** Histogram bins (lower edges; the last is open-ended). */
const ACK_EDGES = [0, 5, 10, 30, 60, 120, 240, 480, 1440].map((m) => m * MIN);
const RESOLVE_EDGES = [0, 1, 2, 6, 12, 24, 48, 72, 168].map((h) => h * 60 * MIN);

export const load = (async ({ url }) => {
	const rt = await runtime();
	const tz = rt.config.TZ_DISPLAY;
	const r = reviewFilterFromUrl(url.searchParams, tz);
	if (!r.ok) error(400, r.message);
	const now = Date.now();
	const [facts, choices, villages] = await Promise.all([
		caseFacts(rt.db, r.filter, tz),
		filterChoices(rt.db),
		rt.db.query<{ id: number; name: string; boundary: GeoJSON.Polygon | GeoJSON.MultiPolygon }>('SELECT id, name, boundary FROM villages ORDER BY id')
	]);
	const judged = facts.map((c) => judge(c, now));
	const series = (key: 'category' | 'level') => {
		const s = casesPerDay(facts, (c) => c[key] ?? 'none', tz, 'week');
		return { weeks: s.days, series: [...s.series.entries()].map(([k, values]) => ({ key: k, values })) };
	};
	return {
		filter: r.filter,
		preset: r.preset,
		query: url.searchParams.toString(),
		choices,
		total: figures(facts, now),
		villages: byVillage(facts, now),
		cadres: byCadre(facts, now),
		hist: {
			ack: { edges: ACK_EDGES, counts: histogram(judged.flatMap((j) => (j.ackMs === null ? [] : [j.ackMs])), ACK_EDGES) },
			resolve: { edges: RESOLVE_EDGES, counts: histogram(judged.flatMap((j) => (j.resolveMs === null ? [] : [j.resolveMs])), RESOLVE_EDGES) }
		},
		byCategory: series('category'),
		byLevel: series('level'),
		map: {
			villages: villages.rows,
			cases: facts.flatMap((c) => (c.lng !== null && c.lat !== null ? [{ id: c.id, level: c.level, lng: c.lng, lat: c.lat, title: c.title }] : []))
		},
		demo: facts.some((c) => c.is_demo),
		tz
	};
}) satisfies PageServerLoad;
