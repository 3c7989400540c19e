// Cadres and who answers for which village (包村): create and edit cadres, assign them, end assignments, see each
// village's assignment history as a timeline, and bulk-import cadres or assignments from CSV/XLSX with row-by-row
// errors. Admin only (access.ts); every form is checked with zod first; every change is audited.
import { fail } from '@sveltejs/kit';
import { z } from 'zod';
import type { Actions, PageServerLoad } from './$types';
import { runtime } from '$lib/server/runtime';
import { id4 } from '$lib/server/platform/params';
import { PeopleError, ROLES, assign, assignmentSchema, cadreSchema, createCadre, endAssignment, listPeople, updateCadre } from '$lib/server/people/people';
import { MAX_TABLE_BYTES, TableError, importPeople, parseDay, readTable } from '$lib/server/people/people-import';
import { receiveUpload, UploadRefused } from '$lib/server/platform/upload-stream';

const idSchema = z.object({ id: id4 });
const importSchema = z.object({
	kind: z.enum(['cadres', 'assignments']),
	// Used when the sheet has no 开始 column (a 花名册 lists who, not since when).
	valid_from: z
		.string({ message: '开始日期请写成 2026-03-01 start date like 2026-03-01' })
		.optional()
		.transform((v) => (v ? parseDay(v) : undefined))
		.refine((v) => v !== null, { message: '开始日期请写成 2026-03-01 start date like 2026-03-01' })
		.transform((v) => v ?? undefined),
	file: z.object({ path: z.string(), name: z.string() }, { message: '请选择文件 choose a file' })
});

export const load = (async () => {
	const rt = await runtime();
	return { ...(await listPeople(rt.db)), roles: ROLES, tz: rt.config.TZ_DISPLAY };
}) satisfies PageServerLoad;

const actorOf = (locals: App.Locals) => ({ id: locals.user!.id, name: locals.user!.username });
const messages = (e: z.ZodError) => e.issues.map((i) => i.message);
const plain = (err: unknown) => {
	if (err instanceof PeopleError || err instanceof TableError) return `${err.zh} / ${err.en}`;
	throw err;
};

export const actions = {
	create: async ({ request, locals }) => {
		const parsed = cadreSchema.safeParse(Object.fromEntries(await request.formData()));
		if (!parsed.success) return fail(400, { action: 'create', errors: messages(parsed.error) });
		const id = await createCadre((await runtime()).db, parsed.data, actorOf(locals));
		return { action: 'create', id };
	},
	update: async ({ request, locals }) => {
		const form = Object.fromEntries(await request.formData());
		const id = idSchema.safeParse(form);
		const parsed = cadreSchema.safeParse(form);
		if (!id.success || !parsed.success) return fail(400, { action: 'update', errors: parsed.success ? ['没有这个干部 no such cadre'] : messages(parsed.error) });
		try {
			await updateCadre((await runtime()).db, id.data.id, parsed.data, actorOf(locals));
			return { action: 'update', id: id.data.id };
		} catch (err) {
			return fail(400, { action: 'update', errors: [plain(err)] });
		}
	},
	assign: async ({ request, locals }) => {
		const parsed = assignmentSchema.safeParse(Object.fromEntries(await request.formData()));
		if (!parsed.success) return fail(400, { action: 'assign', errors: messages(parsed.error) });
		try {
			const rt = await runtime();
			const id = await assign(rt.db, parsed.data, actorOf(locals), rt.config.TZ_DISPLAY);
			return { action: 'assign', id };
		} catch (err) {
			return fail(400, { action: 'assign', errors: [plain(err)] });
		}
	},
	end: async ({ request, locals }) => {
		const parsed = idSchema.safeParse(Object.fromEntries(await request.formData()));
		if (!parsed.success) return fail(400, { action: 'end', errors: ['没有这条安排 no such assignment'] });
		try {
			await endAssignment((await runtime()).db, parsed.data.id, actorOf(locals));
			return { action: 'end', id: parsed.data.id };
		} catch (err) {
			return fail(400, { action: 'end', errors: [plain(err)] });
		}
	},
	import: async ({ request, locals }) => {
		const rt = await runtime();
		// Streamed to DATA_DIR/incoming with the size limit enforced as it arrives; the worker reads the file.
		let upload;
		try {
			upload = await receiveUpload(request, { dataDir: rt.config.DATA_DIR, fileField: 'file', maxFileBytes: MAX_TABLE_BYTES });
		} catch (err) {
			if (err instanceof UploadRefused) return fail(400, { action: 'import', errors: [`${err.zh} / ${err.en}`] });
			throw err;
		}
		try {
			const parsed = importSchema.safeParse({ kind: upload.field('kind'), file: upload.file ?? undefined, valid_from: upload.field('valid_from') });
			if (!parsed.success) return fail(400, { action: 'import', errors: messages(parsed.error) });
			const table = await readTable({ path: parsed.data.file.path }, parsed.data.file.name, request.signal);
			const out = await importPeople(rt.db, parsed.data.kind, table, actorOf(locals), rt.config.TZ_DISPLAY, { validFrom: parsed.data.valid_from });
			if (out.errors.length) return fail(400, { action: 'import', rowErrors: out.errors, rows: out.rows, header: out.header });
			return { action: 'import', imported: out.saved, rows: out.rows, kind: out.kind, header: out.header };
		} catch (err) {
			return fail(400, { action: 'import', errors: [plain(err)] });
		} finally {
			await upload.discard();
		}
	}
} satisfies Actions;
