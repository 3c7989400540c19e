// GET /api/v1/dead-letters?reason=&device=&before=&limit= — what could not be stored, newest first, with counts by
// reason. Payloads are shown as text when they are UTF-8 (JSON-escaped by the response, never rendered as HTML).
import { error, json } from '@sveltejs/kit';
import type { RequestHandler } from './$types';
import { runtime } from '$lib/server/runtime';
import { listDeadLetters, listQuery } from '$lib/server/devices/dead-letters';

export const GET: RequestHandler = async ({ url }) => {
	const parsed = listQuery.safeParse(Object.fromEntries(url.searchParams));
	if (!parsed.success) error(400, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
	return json(await listDeadLetters((await runtime()).db, parsed.data));
};
