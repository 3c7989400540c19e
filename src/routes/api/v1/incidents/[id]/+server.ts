// GET /api/v1/incidents/{id} — one case with its full timeline, if the caller may see it.
import { error, json } from '@sveltejs/kit';
import type { RequestHandler } from './$types';
import { runtime } from '$lib/server/runtime';
import { INT8_SAFE_MAX, pathId } from '$lib/server/platform/params';
import { incidentDetail } from '$lib/server/cases/incident-queries';

export const GET: RequestHandler = async ({ params, locals }) => {
	const id = pathId(params.id, 'no such case', INT8_SAFE_MAX);
	const d = await incidentDetail((await runtime()).db, locals.user, id);
	if (!d) error(404, 'no such case');
	return json(d);
};
