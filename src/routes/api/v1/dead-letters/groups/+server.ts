// GET /api/v1/dead-letters/groups?device= — the `unknown_metric` dead letters still held, grouped by device and key:
// count, first and last seen, a few sample values and the ids, newest group first (the admin maps a key from here).
import { error, json } from '@sveltejs/kit';
import type { RequestHandler } from './$types';
import { runtime } from '$lib/server/runtime';
import { groupsQuery, issueLines, unknownKeyGroups } from '$lib/server/devices/profile-mapping';

export const GET: RequestHandler = async ({ url }) => {
	const parsed = groupsQuery.safeParse(Object.fromEntries(url.searchParams));
	if (!parsed.success) error(400, issueLines(parsed.error.issues).join('; '));
	return json(await unknownKeyGroups((await runtime()).db, parsed.data));
};
