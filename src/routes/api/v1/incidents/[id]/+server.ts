// GET /api/v1/incidents/{id} — one case with its full timeline, if the caller may see it.
import { error, json } from '@sveltejs/kit';
import type { RequestHandler } from './$types';
import { runtime } from '$lib/server/runtime';
import { incidentDetail } from '$lib/server/incident-queries';

export const GET: RequestHandler = async ({ params, locals }) => {
	const id = Number(params.id);
	if (!Number.isSafeInteger(id) || id <= 0) error(404, 'no such case');
	const d = await incidentDetail((await runtime()).db, locals.user, id);
	if (!d) error(404, 'no such case');
	return json(d);
};
