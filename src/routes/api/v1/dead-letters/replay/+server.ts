// POST /api/v1/dead-letters/replay {ids?|reason?|device?, limit?} — re-run dead letters through the ingest pipeline
// after their cause is fixed (e.g. the unknown device was registered). Originals are kept, outcomes noted.
import { error, json } from '@sveltejs/kit';
import type { RequestHandler } from './$types';
import { runtime } from '$lib/server/runtime';
import { replayBody, replayDeadLetters } from '$lib/server/devices/dead-letters';
import { readJson } from '$lib/server/platform/http';
import { audit } from '$lib/server/people/auth';

export const POST: RequestHandler = async ({ request, locals }) => {
	const rt = await runtime();
	const parsed = replayBody.safeParse(await readJson(request, 256 * 1024));
	if (!parsed.success) error(400, parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
	await rt.registry.reload();
	const out = await replayDeadLetters(rt.db, rt.pipeline!, parsed.data);
	await audit(rt.db, { id: locals.user?.id ?? null, name: locals.user?.username ?? 'api' }, 'dead_letters_replayed', undefined, {
		selection: parsed.data,
		replayed: out.replayed,
		stored: out.stored,
		still_rejected: out.still_rejected
	});
	return json(out);
};
