// Draw a new village boundary or edit an existing one on the map (with snapping to the neighbours). Saving stages it
// exactly like an uploaded file, so it gets the same preview, report, history and audit on /admin/villages.
// Admin only (access.ts); the form is checked with zod first.
import { error, fail, redirect } from '@sveltejs/kit';
import { z } from 'zod';
import type { Actions, PageServerLoad } from './$types';
import { runtime } from '$lib/server/runtime';
import { id4, queryParam } from '$lib/server/platform/params';
import { villagesGeoJSON } from '$lib/server/map/queries';
import { stageImport } from '$lib/server/map/village-setup';
import { ImportError } from '$geo/index';

const position = z.tuple([z.number().finite(), z.number().finite()]);
const drawnSchema = z.object({
	name: z.string().trim().min(1, '请填写村名 give the village name').max(100, '村名太长 name too long'),
	code: z
		.string()
		.trim()
		.regex(/^([0-9]{12})?$/, '区划代码是12位数字 the division code is 12 digits'),
	geometry: z
		.string()
		.max(1_000_000, '边界太复杂 boundary too large')
		.transform((s, ctx) => {
			try {
				return JSON.parse(s) as unknown;
			} catch {
				ctx.addIssue({ code: 'custom', message: '请先在地图上画出边界 draw the boundary on the map first' });
				return z.NEVER;
			}
		})
		.pipe(z.object({ type: z.literal('Polygon'), coordinates: z.array(z.array(position).min(4)).min(1) }, { message: '请先在地图上画出边界 draw the boundary on the map first' }))
});

export const load = (async ({ url }) => {
	const rt = await runtime();
	const all = await villagesGeoJSON(rt.db);
	const id = queryParam(url.searchParams, 'village', id4);
	const target = id ? all.features.find((f) => Number(f.id) === id) : undefined;
	if (url.searchParams.has('village') && !target) error(404, 'no such village');
	// Editing works on single polygons; a multi-part village is redrawn part by part in a GIS and imported.
	const editing = target && target.geometry.type === 'Polygon' ? target.geometry : null;
	return {
		neighbours: { ...all, features: all.features.filter((f) => f !== target) },
		editing,
		village: target ? { id: Number(target.id), name: String(target.properties.name), code: target.properties.division_code ?? '', multi: target.geometry.type === 'MultiPolygon' } : null
	};
}) satisfies PageServerLoad;

export const actions = {
	default: async ({ request, locals }) => {
		const parsed = drawnSchema.safeParse(Object.fromEntries(await request.formData()));
		if (!parsed.success) return fail(400, { errors: parsed.error.issues.map((i) => i.message) });
		const { name, code, geometry } = parsed.data;
		const file = { type: 'FeatureCollection', features: [{ type: 'Feature', properties: { name, code: code || null }, geometry }] };
		const rt = await runtime();
		let id: number;
		try {
			id = await stageImport(rt.db, { bytes: new TextEncoder().encode(JSON.stringify(file)), name: '地图上绘制 drawn on the map' }, 'wgs84', { id: locals.user!.id, name: locals.user!.username });
		} catch (err) {
			if (err instanceof ImportError) return fail(400, { errors: [`${err.zh} / ${err.en}`] });
			throw err;
		}
		redirect(303, `/admin/villages?import=${id}`);
	}
} satisfies Actions;
