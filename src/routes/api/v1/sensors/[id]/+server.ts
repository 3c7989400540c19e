// GET /api/v1/sensors/{id} — one sensor with every latest value (value, observed_at, flags per metric) and its report
// interval: the console's sensor panel reads it on click, so the list stays small. A cadre sees only sensors of their
// villages; others, revoked devices and unknown ids answer 404 alike.
import { error, json } from '@sveltejs/kit';
import type { RequestHandler } from './$types';
import { runtime } from '$lib/server/runtime';
import { visibleVillageIds } from '$lib/server/people/auth';
import { sensorDetail } from '$lib/server/map/queries';
import { pathKey } from '$lib/server/platform/params';

export const GET: RequestHandler = async ({ params, locals }) => {
	const rt = await runtime();
	const scope = locals.user ? await visibleVillageIds(rt.db, locals.user) : null;
	const sensor = await sensorDetail(rt.db, pathKey(params.id, 'no such sensor'), scope);
	if (!sensor) error(404, 'no such sensor');
	return json(sensor);
};
