// POST /api/v1/incidents/{id}/actions {action, note?, assignee?, location?} — act on a case. Which role may take which
// action in which state is the one table in src/lib/domain/incident-flow.ts; a cadre acts only on their villages.
import { error, json } from '@sveltejs/kit';
import { z } from 'zod';
import type { RequestHandler } from './$types';
import { runtime } from '$lib/server/runtime';
import { INT4_MAX, INT8_SAFE_MAX, jsonInt, pathId, text } from '$lib/server/platform/params';
import { ActionError, act } from '$lib/server/cases/incidents';
import { INCIDENT_ACTIONS } from '$lib/domain/incident-flow';
import { readJson } from '$lib/server/platform/http';

const body = z.object({
	action: z.enum(INCIDENT_ACTIONS),
	note: text(5000).trim().optional(),
	assignee: jsonInt(1, INT4_MAX).optional(),
	location: z.object({ lng: z.number().finite().min(-180).max(180), lat: z.number().finite().min(-90).max(90) }).optional()
});

export const POST: RequestHandler = async ({ params, request, locals }) => {
	const id = pathId(params.id, 'no such case', INT8_SAFE_MAX);
	const parsed = body.safeParse(await readJson(request, 64 * 1024));
	if (!parsed.success) error(400, parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
	if (parsed.data.action === 'escalate' || parsed.data.action === 'remind') error(403, 'system-only action');
	const rt = await runtime();
	try {
		const out = await act(rt.db, id, locals.user!, parsed.data);
		rt.notify(out.notices);
		rt.bus.emit('incident', { id, type: 'incident.updated' });
		return json({ id, status: out.status });
	} catch (err) {
		if (err instanceof ActionError) error(err.status, err.message);
		throw err;
	}
};
