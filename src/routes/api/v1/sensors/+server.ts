// Sensors as a GeoJSON FeatureCollection: id, name, kind, village_id, status, last_seen and latest values.
import { json } from '@sveltejs/kit';
import type { RequestHandler } from './$types';
import { runtime } from '$lib/server/runtime';
import { visibleVillageIds } from '$lib/server/auth';
import { sensorsGeoJSON } from '$lib/server/queries';

export const GET: RequestHandler = async ({ locals }) => {
	const rt = await runtime();
	// API tokens (integrations) see the whole township; a signed-in cadre only their own villages.
	const scope = locals.user ? await visibleVillageIds(rt.db, locals.user) : null;
	return json(await sensorsGeoJSON(rt.db, scope));
};
