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
import { MAX_PHOTOS, MAX_PHOTO_BYTES, UploadError, storePhotos, type StoredPhoto } from '$lib/server/uploads';

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

/** A multipart report's fields, as the JSON body would have them. */
function fromForm(f: FormData): unknown {
	const num = (k: string) => (f.get(k) === null || f.get(k) === '' ? undefined : Number(f.get(k)));
	const str = (k: string) => (typeof f.get(k) === 'string' && f.get(k) !== '' ? String(f.get(k)) : undefined);
	const parties = f.getAll('parties').filter((x): x is string => typeof x === 'string' && x.trim() !== '');
	return {
		category: str('category'),
		title: str('title'),
		description: str('description'),
		level: str('level'),
		lng: num('lng'),
		lat: num('lat'),
		crs: str('crs'),
		source: str('source'),
		reporter_name: str('reporter_name'),
		dispute: parties.length ? { parties, agreement: str('agreement') } : undefined
	};
}

export const POST: RequestHandler = async ({ request, locals }) => {
	const rt = await runtime();
	const multipart = (request.headers.get('content-type') ?? '').startsWith('multipart/form-data');
	let body: unknown;
	let photos: StoredPhoto[] = [];
	if (multipart) {
		const declared = Number(request.headers.get('content-length') ?? '0');
		if (declared > MAX_PHOTOS * MAX_PHOTO_BYTES + 256 * 1024) error(413, `at most ${MAX_PHOTOS} photos of ${MAX_PHOTO_BYTES / 1024 / 1024} MB`);
		let form: FormData;
		try {
			form = await request.formData();
		} catch {
			error(400, 'body is not valid multipart/form-data');
		}
		body = fromForm(form);
		const files = form.getAll('photos').filter((x): x is File => typeof x === 'object' && x !== null && 'arrayBuffer' in x && (x as File).size > 0);
		try {
			photos = await storePhotos(rt.config.DATA_DIR, files);
		} catch (err) {
			if (err instanceof UploadError) error(400, err.message);
			throw err;
		}
	} else body = await readJson(request, 64 * 1024);
	const parsed = reportSchema.safeParse(body);
	if (!parsed.success) error(400, parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
	const r = parsed.data;
	const [lng, lat] = r.crs === 'gcj02' ? (gcoord.transform([r.lng, r.lat], gcoord.GCJ02, gcoord.WGS84) as [number, number]) : [r.lng, r.lat];
	const actor = locals.user ? { id: locals.user.id, name: locals.user.display_name } : { id: null, name: `API: ${locals.apiToken?.name ?? '?'}` };
	const out = await openFieldReport(rt.db, { ...r, lng, lat, category: r.category, photos }, actor, rt.config.TZ_DISPLAY);
	rt.notify(out.notices);
	return json({ id: out.id }, { status: 201 });
};
