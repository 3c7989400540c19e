// The duty roster (值班表) as a month calendar: set a day's duty officer and duty leader, or import a month from
// CSV/XLSX (日期, 值班员, 值班领导) with row-by-row errors. Admin only (access.ts); audited.
import { fail } from '@sveltejs/kit';
import { z } from 'zod';
import type { Actions, PageServerLoad } from './$types';
import { runtime } from '$lib/server/runtime';
import { rosterDaySchema, rosterMonth, setRosterDay } from '$lib/server/people/people';
import { MAX_TABLE_BYTES, TableError, importPeople, readTable } from '$lib/server/people/people-import';
import { receiveUpload, UploadRefused } from '$lib/server/platform/upload-stream';

const monthSchema = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/);
const fileSchema = z.object({ path: z.string(), name: z.string() }, { message: '请选择文件 choose a file' });

export const load = (async ({ url }) => {
	const rt = await runtime();
	const todayLocal = new Intl.DateTimeFormat('en-CA', { timeZone: rt.config.TZ_DISPLAY, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
	const asked = monthSchema.safeParse(url.searchParams.get('month'));
	const month = asked.success ? asked.data : todayLocal.slice(0, 7);
	const cadres = await rt.db.query<{ id: number; name: string }>('SELECT id, name FROM cadres ORDER BY name, id');
	return { month, today: todayLocal, days: await rosterMonth(rt.db, month), cadres: cadres.rows };
}) satisfies PageServerLoad;

export const actions = {
	set: async ({ request, locals }) => {
		const parsed = rosterDaySchema.safeParse(Object.fromEntries(await request.formData()));
		if (!parsed.success) return fail(400, { action: 'set', errors: parsed.error.issues.map((i) => i.message) });
		try {
			await setRosterDay((await runtime()).db, parsed.data, { id: locals.user!.id, name: locals.user!.username });
		} catch {
			return fail(400, { action: 'set', errors: ['干部不存在 no such cadre'] });
		}
		return { action: 'set', day: parsed.data.day };
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
			const parsed = fileSchema.safeParse(upload.file ?? undefined);
			if (!parsed.success) return fail(400, { action: 'import', errors: parsed.error.issues.map((i) => i.message) });
			const table = await readTable({ path: parsed.data.path }, parsed.data.name, request.signal);
			const out = await importPeople(rt.db, 'roster', table, { id: locals.user!.id, name: locals.user!.username }, rt.config.TZ_DISPLAY);
			if (out.errors.length) return fail(400, { action: 'import', rowErrors: out.errors, rows: out.rows, header: out.header });
			return { action: 'import', imported: out.saved, rows: out.rows, header: out.header };
		} catch (err) {
			if (err instanceof TableError) return fail(400, { action: 'import', errors: [`${err.zh} / ${err.en}`] });
			throw err;
		} finally {
			await upload.discard();
		}
	}
} satisfies Actions;
