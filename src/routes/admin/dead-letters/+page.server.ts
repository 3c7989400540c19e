// Dead letters for the admin: counts by reason, filters, payload preview, and replay after the cause is fixed; and
// the embedded broker's refused connections, one row per client, username and reason per minute with its count.
import type { PageServerLoad } from './$types';
import { runtime } from '$lib/server/runtime';
import { listDeadLetters, listQuery } from '$lib/server/devices/dead-letters';
import { listRefusals } from '$lib/server/devices/mqtt-refusals';

export const load = (async ({ url }) => {
	const rt = await runtime();
	const parsed = listQuery.safeParse(Object.fromEntries(url.searchParams));
	const q = parsed.success ? parsed.data : listQuery.parse({});
	return { ...(await listDeadLetters(rt.db, q)), refusals: await listRefusals(rt.db), filter: { reason: q.reason ?? '', device: q.device ?? '' }, bad: !parsed.success, tz: rt.config.TZ_DISPLAY };
}) satisfies PageServerLoad;
