// POST /api/v1/dead-letters/map {device, key, field: {metric, unit?, scale?, offset?, enum?}, confirm?} — map a key
// a device sends to a shudi metric. Without `confirm`: the preview, i.e. what the held dead letters of that key would
// store (through the pipeline's dry run) and what would still be refused, with reasons; nothing changes. With
// `confirm: true`: the field joins the device's own profile fields (audited) and the held dead letters are replayed.
import { error, json } from '@sveltejs/kit';
import { z } from 'zod';
import type { RequestHandler } from './$types';
import { runtime } from '$lib/server/runtime';
import { readJson } from '$lib/server/platform/http';
import { text } from '$lib/server/platform/params';
import { fieldSchema } from '$lib/domain/device-profiles';
import { MappingError, deviceProfileState, issueLines, mapAndReplay, previewMapping } from '$lib/server/devices/profile-mapping';

const body = z
	.object({
		device: text(128).min(1),
		key: text(200).min(1),
		field: z.record(z.string(), z.unknown()),
		confirm: z.boolean().default(false)
	})
	.strict();

export const POST: RequestHandler = async ({ request, locals }) => {
	const rt = await runtime();
	const parsed = body.safeParse(await readJson(request, 64 * 1024));
	if (!parsed.success) error(400, issueLines(parsed.error.issues).join('; '));
	const b = parsed.data;
	// The key is the field's path: the form names the key once, the schema judges it as a path.
	const field = fieldSchema.safeParse({ ...b.field, path: b.key });
	if (!field.success) error(400, issueLines(field.error.issues).join('; '));
	const d = await deviceProfileState(rt.db, b.device);
	if (!d) error(404, '没有这个在用的设备 no such device in service');
	if (!b.confirm) return json(await previewMapping(rt.db, rt.preview, d, b.key, field.data, rt.config.TZ_DISPLAY));
	if (!rt.pipeline) error(503, '本进程没有入库管道 no ingest pipeline in this process');
	try {
		const out = await mapAndReplay(rt.db, rt.pipeline, () => rt.registry.reload(), d, b.key, field.data, { id: locals.user?.id ?? null, name: locals.user?.username ?? 'api' });
		return json(out);
	} catch (err) {
		if (err instanceof MappingError) error(400, `${err.zh} ${err.en}`);
		throw err;
	}
};
