// GET /api/v1/incidents?status=&level=&category=&village=&cadre=&from=&to=&overdue=&q= — cases, most urgent first,
// scoped to what the caller may see. POST /api/v1/incidents — a field report or hotline entry (JSON).
import { error, json } from '@sveltejs/kit';
import { z } from 'zod';
import type { RequestHandler } from './$types';
import { runtime } from '$lib/server/runtime';
import { incidentFilter, listIncidents } from '$lib/server/incident-queries';
import { CATEGORIES, openFieldReport } from '$lib/server/incidents';
import { readJson } from '$lib/server/http';
import { LEVELS } from '$lib/domain/types';
import gcoord from 'gcoord';

export const GET: RequestHandler = async ({ url, locals }) => {
	const parsed = incidentFilter.safeParse(Object.fromEntries(url.searchParams));
	if (!parsed.success) error(400, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
	const rt = await runtime();
	return json({ items: await listIncidents(rt.db, locals.user, parsed.data) });
};

const reportSchema = z.object({
	category: z.enum(CATEGORIES),
	title: z.string().trim().min(1).max(200),
	description: z.string().trim().max(5000).optional(),
	level: z.enum(LEVELS).nullable().optional(),
	lng: z.number().finite().min(-180).max(180),
	lat: z.number().finite().min(-90).max(90),
	/** Phone and AMap/Tencent picks are GCJ-02 (DOMAIN.md "Coordinates"): converted to WGS-84 on the way in. */
	crs: z.enum(['wgs84', 'gcj02']).default('wgs84'),
	source: z.enum(['field_report', 'hotline']).default('field_report'),
	reporter_name: z.string().trim().max(100).optional(),
	dispute: z.object({ parties: z.array(z.string().trim().min(1).max(100)).min(1).max(20), agreement: z.string().max(5000).optional() }).nullable().optional()
});

export const POST: RequestHandler = async ({ request, locals }) => {
	const parsed = reportSchema.safeParse(await readJson(request, 64 * 1024));
	if (!parsed.success) error(400, parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
	const r = parsed.data;
	const [lng, lat] = r.crs === 'gcj02' ? (gcoord.transform([r.lng, r.lat], gcoord.GCJ02, gcoord.WGS84) as [number, number]) : [r.lng, r.lat];
	const rt = await runtime();
	const actor = locals.user ? { id: locals.user.id, name: locals.user.display_name } : { id: null, name: `API: ${locals.apiToken?.name ?? '?'}` };
	const out = await openFieldReport(rt.db, { ...r, lng, lat, category: r.category }, actor, rt.config.TZ_DISPLAY);
	rt.notify(out.notices);
	return json({ id: out.id }, { status: 201 });
};
