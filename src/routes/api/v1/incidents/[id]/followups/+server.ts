// 回访 (follow-up visits) of a case, e.g. a mediated dispute: GET lists them, POST schedules one {due_at, note},
// POST {id, done: true, note} records it done. Due follow-ups appear as tasks on the duty console.
import { error, json } from '@sveltejs/kit';
import { z } from 'zod';
import type { RequestHandler } from './$types';
import { runtime } from '$lib/server/runtime';
import { INT8_SAFE_MAX, instant, jsonInt, pathId, text } from '$lib/server/platform/params';
import { incidentDetail } from '$lib/server/cases/incident-queries';
import { readJson } from '$lib/server/platform/http';
import { audit } from '$lib/server/people/auth';

const body = z.union([
	z.object({ due_at: instant, note: text(2000).trim().optional() }),
	z.object({ id: jsonInt(1, INT8_SAFE_MAX), done: z.literal(true), note: text(2000).trim().optional() })
]);

async function visible(params: { id: string }, locals: App.Locals) {
	const id = pathId(params.id, 'no such case', INT8_SAFE_MAX);
	const rt = await runtime();
	if (!(await incidentDetail(rt.db, locals.user, id))) error(404, 'no such case');
	return { rt, id };
}

export const GET: RequestHandler = async ({ params, locals }) => {
	const { rt, id } = await visible(params, locals);
	const r = await rt.db.query('SELECT id, due_at, done_at, note FROM followups WHERE incident_id = $1 ORDER BY due_at', [id]);
	return json({ items: r.rows });
};

export const POST: RequestHandler = async ({ params, locals, request }) => {
	const { rt, id } = await visible(params, locals);
	const parsed = body.safeParse(await readJson(request, 16 * 1024));
	if (!parsed.success) error(400, parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
	const actor = { id: locals.user!.id, name: locals.user!.display_name };
	if ('due_at' in parsed.data) {
		const r = await rt.db.query<{ id: number }>('INSERT INTO followups (incident_id, due_at, note, created_by) VALUES ($1, $2, $3, $4) RETURNING id', [id, parsed.data.due_at, parsed.data.note ?? null, actor.id]);
		await rt.db.query("INSERT INTO incident_events (incident_id, actor_user_id, actor_name, action, note) VALUES ($1, $2, $3, 'followup_scheduled', $4)", [id, actor.id, actor.name, `回访 ${parsed.data.due_at} ${parsed.data.note ?? ''}`.trim()]);
		return json({ id: r.rows[0].id }, { status: 201 });
	}
	const r = await rt.db.query('UPDATE followups SET done_at = now(), note = COALESCE($3, note) WHERE id = $1 AND incident_id = $2 AND done_at IS NULL', [parsed.data.id, id, parsed.data.note ?? null]);
	if (!r.rowCount) error(404, 'no such open follow-up');
	await rt.db.query("INSERT INTO incident_events (incident_id, actor_user_id, actor_name, action, note) VALUES ($1, $2, $3, 'followup_done', $4)", [id, actor.id, actor.name, parsed.data.note ?? '已回访']);
	await audit(rt.db, actor, 'followup_done', { type: 'incident', id });
	return json({ ok: true });
};
