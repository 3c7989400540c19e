// Village boundaries and names: upload a boundary file (GeoJSON, KML/KMZ, zipped Shapefile) in any of the coordinate
// systems a township's files come in, look at the preview and the report, then confirm; name villages from the
// national division list. Admin only (access.ts). Every form is checked with zod before anything happens.
import { fail, redirect } from '@sveltejs/kit';
import { z } from 'zod';
import type { Actions, PageServerLoad } from './$types';
import { runtime } from '$lib/server/runtime';
import { id4, id8, queryParam, text } from '$lib/server/platform/params';
import { villagesGeoJSON } from '$lib/server/map/queries';
import { confirmImport, discardStagedImport, getStagedImport, listVillages, SetupError, stageImport, updateVillageName } from '$lib/server/map/village-setup';
import { receiveUpload, UploadRefused } from '$lib/server/platform/upload-stream';
import { findTownships, villagesOfTownship } from '$lib/server/map/divisions';
import { GK_ZONES, ImportError, MAX_IMPORT_BYTES, crsLabel, isCrsId, limitLines, type CrsChoice } from '$geo/index';

const CRS_OPTIONS = [
	{ id: 'auto', zh: '自动识别', en: 'Detect' },
	...(['wgs84', 'gcj02', 'bd09'] as const).map((id) => ({ id, ...crsLabel(id) })),
	...GK_ZONES.map((z) => ({ id: `EPSG:${z.epsg}`, ...crsLabel(`EPSG:${z.epsg}`) }))
];

const previewSchema = z.object({
	crs: z.string().refine((c) => c === 'auto' || isCrsId(c), { message: '未知坐标系 unknown coordinate system' }),
	file: z.object({ path: z.string(), name: z.string(), bytes: z.number().int().positive() }, { message: '请选择文件 choose a file' })
});
const confirmSchema = z.object({ id: id8, answers: z.array(text(40)).max(50) });
const discardSchema = z.object({ id: id8 });
const renameSchema = z.object({
	id: id4,
	name: text(100).trim().min(1, '村名不能为空 name is required'),
	code: z
		.string()
		.trim()
		.regex(/^([0-9]{12})?$/, '区划代码是12位数字 the division code is 12 digits')
		.transform((c) => (c === '' ? null : c))
});

export const load = (async ({ url }) => {
	const rt = await runtime();
	const importId = queryParam(url.searchParams, 'import', id8);
	const staged = importId ? await getStagedImport(rt.db, importId, { dataDir: rt.config.DATA_DIR }) : null;
	const townshipQuery = (url.searchParams.get('q') ?? '').slice(0, 40);
	const townshipCode = url.searchParams.get('township') ?? '';
	return {
		villages: await listVillages(rt.db),
		current: await villagesGeoJSON(rt.db),
		staged,
		crsOptions: CRS_OPTIONS,
		maxMb: MAX_IMPORT_BYTES / 1024 / 1024,
		limits: limitLines(),
		townshipQuery,
		townships: townshipQuery ? await findTownships(townshipQuery) : [],
		townshipCode: /^[0-9]{9}$/.test(townshipCode) ? townshipCode : '',
		divisions: await villagesOfTownship(townshipCode),
		tz: rt.config.TZ_DISPLAY
	};
}) satisfies PageServerLoad;

export const actions = {
	preview: async ({ request, locals }) => {
		const rt = await runtime();
		// Streamed to DATA_DIR/incoming with the size limit enforced as it arrives; the worker reads the file.
		let upload;
		try {
			upload = await receiveUpload(request, { dataDir: rt.config.DATA_DIR, fileField: 'file', maxFileBytes: MAX_IMPORT_BYTES });
		} catch (err) {
			if (err instanceof UploadRefused) return fail(400, { action: 'preview', errors: [`${err.zh} / ${err.en}`] });
			throw err;
		}
		let id: number;
		try {
			const parsed = previewSchema.safeParse({ crs: upload.field('crs') ?? 'auto', file: upload.file ?? undefined });
			if (!parsed.success) return fail(400, { action: 'preview', errors: parsed.error.issues.map((i) => i.message) });
			const { file, crs } = parsed.data;
			id = await stageImport(rt.db, { path: file.path, name: file.name }, crs as CrsChoice, { id: locals.user!.id, name: locals.user!.username }, { dataDir: rt.config.DATA_DIR, signal: request.signal });
		} catch (err) {
			if (err instanceof ImportError) return fail(400, { action: 'preview', errors: [`${err.zh} / ${err.en}`] });
			throw err;
		} finally {
			await upload.discard();
		}
		redirect(303, `/admin/villages?import=${id}`);
	},
	confirm: async ({ request, locals }) => {
		const form = await request.formData();
		const parsed = confirmSchema.safeParse({ id: form.get('id'), answers: form.getAll('answer') });
		if (!parsed.success) return fail(400, { action: 'confirm', errors: ['没有这个导入 no such import'] });
		const rt = await runtime();
		try {
			const done = await confirmImport(rt.db, parsed.data.id, { id: locals.user!.id, name: locals.user!.username }, parsed.data.answers, { dataDir: rt.config.DATA_DIR });
			return { action: 'confirm', ...done };
		} catch (err) {
			if (err instanceof SetupError) return fail(400, { action: 'confirm', errors: [`${err.zh} / ${err.en}`] });
			throw err;
		}
	},
	discard: async ({ request }) => {
		const parsed = discardSchema.safeParse(Object.fromEntries(await request.formData()));
		if (!parsed.success) return fail(400, { action: 'discard', errors: ['没有这个导入 no such import'] });
		const rt = await runtime();
		await discardStagedImport(rt.db, parsed.data.id, { dataDir: rt.config.DATA_DIR });
		redirect(303, '/admin/villages');
	},
	rename: async ({ request, locals }) => {
		const parsed = renameSchema.safeParse(Object.fromEntries(await request.formData()));
		if (!parsed.success) return fail(400, { action: 'rename', errors: parsed.error.issues.map((i) => i.message) });
		const rt = await runtime();
		try {
			await updateVillageName(rt.db, parsed.data.id, parsed.data.name, parsed.data.code, { id: locals.user!.id, name: locals.user!.username });
			return { action: 'rename', id: parsed.data.id };
		} catch (err) {
			if (err instanceof SetupError) return fail(400, { action: 'rename', errors: [`${err.zh} / ${err.en}`] });
			throw err;
		}
	}
} satisfies Actions;
