// Dead letters for the admin: the unknown keys of known devices grouped by device and key (each with its way to map
// it, ./map), counts by reason, filters, payload preview, and replay after the cause is fixed; and
// the embedded broker's refused connections, one row per client, username and reason per minute with its count.
import type { PageServerLoad } from './$types';
import { runtime } from '$lib/server/runtime';
import { listDeadLetters, listQuery } from '$lib/server/devices/dead-letters';
import { listRefusals } from '$lib/server/devices/mqtt-refusals';
import { unknownKeyGroups } from '$lib/server/devices/profile-mapping';

export const load = (async ({ url }) => {
	const rt = await runtime();
	const parsed = listQuery.safeParse(Object.fromEntries(url.searchParams));
	const q = parsed.success ? parsed.data : listQuery.parse({});
	return { ...(await listDeadLetters(rt.db, q)), unknown: await unknownKeyGroups(rt.db, { device: q.device }), refusals: await listRefusals(rt.db), filter: { reason: q.reason ?? '', device: q.device ?? '' }, bad: !parsed.success, tz: rt.config.TZ_DISPLAY };
}) satisfies PageServerLoad;
