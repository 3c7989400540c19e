// The duty console loads the whole township picture once on the server; live changes then arrive over SSE.
import type { PageServerLoad } from './$types';
import { runtime } from '$lib/server/runtime';
import { mapFeatures, sensorsGeoJSON, villagesGeoJSON } from '$lib/server/queries';

export const load = (async () => {
	const rt = await runtime();
	const [villages, sensors, features] = [await villagesGeoJSON(rt.db), await sensorsGeoJSON(rt.db), await mapFeatures(rt.db)];
	return { villages, sensors, features, demo: rt.config.DEMO, tz: rt.config.TZ_DISPLAY };
}) satisfies PageServerLoad;
