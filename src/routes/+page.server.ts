// The duty console loads the whole township picture once on the server; live changes then arrive over SSE.
import type { PageServerLoad } from './$types';
import { runtime } from '$lib/server/runtime';
import { visibleVillageIds } from '$lib/server/auth';
import { mapFeatures, sensorsGeoJSON, villagesGeoJSON } from '$lib/server/queries';

export const load = (async ({ locals }) => {
	const rt = await runtime();
	// hooks.server.ts has already checked the role; here the cadre's view is narrowed to their own villages.
	const user = locals.user!;
	const scope = await visibleVillageIds(rt.db, user);
	const [villages, sensors, features] = [await villagesGeoJSON(rt.db, scope), await sensorsGeoJSON(rt.db, scope), await mapFeatures(rt.db)];
	return {
		villages,
		sensors,
		features,
		demo: rt.config.DEMO,
		tz: rt.config.TZ_DISPLAY,
		user: { username: user.username, display_name: user.display_name, roles: user.roles }
	};
}) satisfies PageServerLoad;
