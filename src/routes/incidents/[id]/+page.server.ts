// One case (案件) page: everything about it on one screen, and the actions this user may take now as named form
// actions. Scope is the server's: incidentDetail applies the cadre's village scope, so an id outside it is a 404,
// and act() re-checks role, status and scope inside its transaction — the buttons are a convenience, never the check.
import { error, fail } from '@sveltejs/kit';
import { z } from 'zod';
import type { Actions, PageServerLoad, RequestEvent } from './$types';
import { runtime } from '$lib/server/runtime';
import { INT8_SAFE_MAX, id4, pathId, text } from '$lib/server/platform/params';
import { incidentDetail } from '$lib/server/cases/incident-queries';
import { ActionError, act } from '$lib/server/cases/incidents';
import { allowedActions, TRANSITIONS, INCIDENT_ACTIONS, isFinal, type IncidentAction, type IncidentRole, type IncidentStatus } from '$lib/domain/incident-flow';

/** Actions only the escalation timer takes; a person never gets a button for them. */
const SYSTEM_ONLY: readonly IncidentAction[] = ['escalate', 'remind'];
const HUMAN_ACTIONS = INCIDENT_ACTIONS.filter((a) => !SYSTEM_ONLY.includes(a));
type HumanAction = (typeof HUMAN_ACTIONS)[number];

const caseId = (raw: string) => pathId(raw, 'no such case', INT8_SAFE_MAX);

export const load = (async ({ params, locals }) => {
	const id = caseId(params.id);
	const rt = await runtime();
	const user = locals.user!;
	const inc = await incidentDetail(rt.db, user, id);
	if (!inc) error(404, 'no such case');
	const status = inc.status as IncidentStatus;
	// Every action any of the user's roles may take now, in the table's order (incident-flow.ts).
	const mine = new Set(user.roles.flatMap((r) => allowedActions(r as IncidentRole, status)));
	const actions = HUMAN_ACTIONS.filter((a) => mine.has(a)).map((a) => ({ id: a, zh: TRANSITIONS[a].zh, requires: [...TRANSITIONS[a].requires], location: !!TRANSITIONS[a].location }));
	const [village, cadres, assignee, device] = await Promise.all([
		inc.village_id ? rt.db.query<{ boundary: GeoJSON.Polygon | GeoJSON.MultiPolygon }>('SELECT boundary FROM villages WHERE id = $1', [inc.village_id]) : null,
		mine.has('dispatch') ? rt.db.query<{ id: number; name: string; position: string | null }>('SELECT id, name, position FROM cadres ORDER BY name, id') : null,
		inc.assignee_cadre_id ? rt.db.query<{ name: string; phone: string | null }>('SELECT name, phone FROM cadres WHERE id = $1', [inc.assignee_cadre_id]) : null,
		inc.device_id ? rt.db.query<{ name: string; kind: string }>('SELECT name, kind FROM devices WHERE id = $1', [inc.device_id]) : null
	]);
	const now = Date.now();
	const open = !isFinal(status);
	return {
		incident: inc,
		village: village?.rows[0]?.boundary ?? null,
		// Responsible cadres of this case first in the dispatch list: they are who the duty room calls first.
		cadres: (cadres?.rows ?? []).sort((a, b) => Number(inc.responsible.some((r) => r.cadre_id === b.id)) - Number(inc.responsible.some((r) => r.cadre_id === a.id))),
		assignee: assignee?.rows[0] ?? null,
		device: device?.rows[0] ?? null,
		actions,
		overdue: {
			ack: open && !inc.acknowledged_at && !!inc.ack_due && Date.parse(inc.ack_due) < now,
			resolve: open && !inc.resolved_at && !!inc.resolve_due && Date.parse(inc.resolve_due) < now
		},
		now,
		tz: rt.config.TZ_DISPLAY,
		user: { display_name: user.display_name, roles: user.roles }
	};
}) satisfies PageServerLoad;

const blankToUndefined = (v: FormDataEntryValue | null) => (typeof v === 'string' && v.trim() !== '' ? v : undefined);
const form = z
	.object({
		note: text(5000).trim().optional(),
		assignee: id4.optional(),
		lng: z.coerce.number().finite().min(-180).max(180).optional(),
		lat: z.coerce.number().finite().min(-90).max(90).optional()
	})
	.refine((f) => (f.lng === undefined) === (f.lat === undefined), { message: 'location needs both lng and lat', path: ['lng'] });

/** One handler for every named action: validate the form, then act(); refusals come back with their status. */
function handler(action: HumanAction) {
	return async ({ params, request, locals }: RequestEvent) => {
		const id = caseId(params.id);
		const fd = await request.formData();
		const parsed = form.safeParse({ note: blankToUndefined(fd.get('note')), assignee: blankToUndefined(fd.get('assignee')), lng: blankToUndefined(fd.get('lng')), lat: blankToUndefined(fd.get('lat')) });
		if (!parsed.success) return fail(400, { action, error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
		const f = parsed.data;
		const rt = await runtime();
		try {
			const out = await act(rt.db, id, locals.user!, {
				action,
				note: f.note ?? null,
				assignee: f.assignee ?? null,
				location: f.lng !== undefined && f.lat !== undefined && TRANSITIONS[action].location ? { lng: f.lng, lat: f.lat } : null
			});
			rt.notify(out.notices);
			rt.bus.emit('incident', { id, type: 'incident.updated' });
			return { action, ok: true as const, status: out.status };
		} catch (err) {
			if (err instanceof ActionError) return fail(err.status, { action, error: err.message });
			throw err;
		}
	};
}

export const actions = Object.fromEntries(HUMAN_ACTIONS.map((a) => [a, handler(a)])) satisfies Actions;
