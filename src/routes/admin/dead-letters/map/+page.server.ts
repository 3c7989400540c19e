// Map one key a device sends (held as `unknown_metric` dead letters) to a shudi metric: choose the metric, the source
// unit, scale/offset and an enumeration; see first what the held dead letters would store — through the pipeline's dry
// run, the same code that will store them — and what would still be refused; then confirm, which adds the field to the
// device's own profile fields (audited) and replays the held dead letters. Admin only (access.ts). Every form is
// judged by the profile schema; on an error the form comes back as typed.
import { error, fail } from '@sveltejs/kit';
import type { Actions, PageServerLoad } from './$types';
import { runtime } from '$lib/server/runtime';
import { text } from '$lib/server/platform/params';
import {
	MappingError,
	UNIT_CHOICES,
	deviceProfileState,
	fieldFromInput,
	mapAndReplay,
	mappingInput,
	metricChoices,
	previewMapping,
	unknownKeyGroups
} from '$lib/server/devices/profile-mapping';

const deviceParam = text(128).min(1);
const keyParam = text(200).min(1);

export const load = (async ({ url }) => {
	const device = deviceParam.safeParse(url.searchParams.get('device') ?? '');
	const key = keyParam.safeParse(url.searchParams.get('key') ?? '');
	if (!device.success || !key.success) error(404, '请从死信分组进入 open this page from a dead-letter group');
	const rt = await runtime();
	const d = await deviceProfileState(rt.db, device.data);
	if (!d) error(404, '没有这个在用的设备 no such device in service');
	const { groups } = await unknownKeyGroups(rt.db, { device: d.id });
	const group = groups.find((g) => g.key === key.data) ?? null;
	return {
		device: { id: d.id, name: d.name, kind: d.kind, profile: d.profile, profile_label: d.base?.label ?? null, fields: d.fields },
		key: key.data,
		group,
		metrics: metricChoices(),
		units: [...UNIT_CHOICES],
		tz: rt.config.TZ_DISPLAY
	};
}) satisfies PageServerLoad;

async function readForm(request: Request) {
	const form = await request.formData();
	const device = deviceParam.safeParse(form.get('device') ?? '');
	const key = keyParam.safeParse(form.get('key') ?? '');
	const input = mappingInput({ metric: form.get('metric'), unit: form.get('unit'), scale: form.get('scale'), offset: form.get('offset'), enum: form.get('enum') });
	return { device: device.success ? device.data : null, key: key.success ? key.data : null, input };
}

export const actions = {
	preview: async ({ request }) => {
		const f = await readForm(request);
		if (!f.device || !f.key) return fail(400, { input: f.input, errors: ['缺少设备或键 device or key missing'] });
		const field = fieldFromInput(f.key, f.input);
		if (!field.ok) return fail(400, { input: f.input, errors: field.errors });
		const rt = await runtime();
		const d = await deviceProfileState(rt.db, f.device);
		if (!d) error(404, '没有这个在用的设备 no such device in service');
		return { input: f.input, field: field.field, preview: await previewMapping(rt.db, rt.preview, d, f.key, field.field, rt.config.TZ_DISPLAY) };
	},
	confirm: async ({ request, locals }) => {
		const f = await readForm(request);
		if (!f.device || !f.key) return fail(400, { input: f.input, errors: ['缺少设备或键 device or key missing'] });
		const field = fieldFromInput(f.key, f.input);
		if (!field.ok) return fail(400, { input: f.input, errors: field.errors });
		const rt = await runtime();
		const d = await deviceProfileState(rt.db, f.device);
		if (!d) error(404, '没有这个在用的设备 no such device in service');
		if (!rt.pipeline) return fail(503, { input: f.input, errors: ['本进程没有入库管道 no ingest pipeline in this process'] });
		try {
			const out = await mapAndReplay(rt.db, rt.pipeline, () => rt.registry.reload(), d, f.key, field.field, { id: locals.user!.id, name: locals.user!.username });
			return { input: f.input, field: field.field, done: { replayed: out.replayed, stored: out.stored, still_rejected: out.still_rejected, readings: out.readings } };
		} catch (err) {
			if (err instanceof MappingError) return fail(400, { input: f.input, errors: [`${err.zh} ${err.en}`] });
			throw err;
		}
	}
} satisfies Actions;
