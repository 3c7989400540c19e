// A device's profile: its named built-in profile (label, source, fields) and its own fields, with the way to remove
// one; and a preview for a pasted payload — as the device or network server sends it, in a chosen dialect — through
// the pipeline's dry run with the device's current profile: the readings it would store and what it would refuse, why.
// Admin only (access.ts).
import { error, fail } from '@sveltejs/kit';
import type { Actions, PageServerLoad } from './$types';
import { runtime } from '$lib/server/runtime';
import { pathKey, text } from '$lib/server/platform/params';
import { DIALECTS, DIALECT_LABELS, MappingError, deviceProfileState, issueLines, pasteSchema, previewPayload, removeProfileField, tryProfile } from '$lib/server/devices/profile-mapping';

export const load = (async ({ params }) => {
	const rt = await runtime();
	const d = await deviceProfileState(rt.db, pathKey(params.id, 'no such device'));
	if (!d) error(404, '没有这个在用的设备 no such device in service');
	const p = tryProfile(d, d.fields);
	return {
		device: { id: d.id, name: d.name, kind: d.kind, profile: d.profile, dev_eui: d.dev_eui },
		base: d.base ? { label: d.base.label, source: d.base.source, notes: d.base.notes ?? null, fields: d.base.fields, ignore: d.base.ignore, faults: d.base.faults, time: d.base.time ?? null } : null,
		fields: d.fields,
		profileError: p.ok ? null : p.error,
		dialects: DIALECTS.map((id) => ({ id, label: DIALECT_LABELS[id] })),
		tz: rt.config.TZ_DISPLAY
	};
}) satisfies PageServerLoad;

const pathField = text(200).min(1);

export const actions = {
	preview: async ({ params, request }) => {
		const form = await request.formData();
		const input = { dialect: String(form.get('dialect') ?? ''), payload: String(form.get('payload') ?? '').slice(0, 70_000) };
		const parsed = pasteSchema.safeParse(input);
		if (!parsed.success) return fail(400, { action: 'preview', input, errors: issueLines(parsed.error.issues) });
		const rt = await runtime();
		const d = await deviceProfileState(rt.db, pathKey(params.id, 'no such device'));
		if (!d) error(404, '没有这个在用的设备 no such device in service');
		return { action: 'preview', input, preview: await previewPayload(rt.preview, d, parsed.data, rt.config.TZ_DISPLAY) };
	},
	remove: async ({ params, request, locals }) => {
		const form = await request.formData();
		const path = pathField.safeParse(form.get('path') ?? '');
		if (!path.success) return fail(400, { action: 'remove', errors: issueLines(path.error.issues) });
		const rt = await runtime();
		try {
			await removeProfileField(rt.db, pathKey(params.id, 'no such device'), path.data, { id: locals.user!.id, name: locals.user!.username });
		} catch (err) {
			if (err instanceof MappingError) return fail(400, { action: 'remove', errors: [`${err.zh} ${err.en}`] });
			throw err;
		}
		// The pipeline reads the device without the field from now on (the registry also refreshes on its own timer).
		await rt.registry.reload();
		return { action: 'remove', removed: path.data };
	}
} satisfies Actions;
