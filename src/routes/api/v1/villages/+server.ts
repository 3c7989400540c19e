// Village boundaries as a GeoJSON FeatureCollection.
import { json } from '@sveltejs/kit';
import type { RequestHandler } from './$types';
import { runtime } from '$lib/server/runtime';
import { visibleVillageIds } from '$lib/server/people/auth';
import { villagesGeoJSON } from '$lib/server/map/queries';

export const GET: RequestHandler = async ({ locals }) => {
	const rt = await runtime();
	// API tokens (integrations) see the whole township; a signed-in cadre only their own villages.
	const scope = locals.user ? await visibleVillageIds(rt.db, locals.user) : null;
	return json(await villagesGeoJSON(rt.db, scope));
};
