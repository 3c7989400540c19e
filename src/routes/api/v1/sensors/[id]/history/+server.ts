// GET /api/v1/sensors/{id}/history?range=1h|24h|7d|30d|1y&metric=&end= — one sensor's chart data: raw readings for
// 1h/24h, the hourly rollup for 7d/30d, the daily rollup for 1y (never a raw scan for long ranges), with its
// threshold lines and alarms. A cadre sees only sensors of their villages; others answer 404 like unknown ids.
import { error, json } from '@sveltejs/kit';
import type { RequestHandler } from './$types';
import { runtime } from '$lib/server/runtime';
import { pathKey } from '$lib/server/platform/params';
import { visibleVillageIds } from '$lib/server/people/auth';
import { historyQuery, sensorHistory } from '$lib/server/map/sensor-history';

export const GET: RequestHandler = async ({ params, url, locals }) => {
	const parsed = historyQuery.safeParse(Object.fromEntries(url.searchParams));
	if (!parsed.success) error(400, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
	const rt = await runtime();
	// API tokens (integrations) see the whole township, as in /api/v1/sensors.
	const scope = locals.user ? await visibleVillageIds(rt.db, locals.user) : null;
	const out = await sensorHistory(rt.db, pathKey(params.id, 'no such sensor'), scope, parsed.data);
	if (!out.ok) error(out.status, out.message);
	return json(out.history);
};
