// One device over its life: place or move it on the map, its thresholds beside the defaults and their sources,
// calibrate (the existing API), maintenance windows that hold its alarms, retire; its history of events.
// Admin only (access.ts); every form checked with zod first; every change audited (src/lib/server/devices/device-admin.ts).
import { error, fail } from '@sveltejs/kit';
import { z } from 'zod';
import type { Actions, PageServerLoad } from './$types';
import { runtime } from '$lib/server/runtime';
import { id8, pathKey, text } from '$lib/server/platform/params';
import { villagesGeoJSON } from '$lib/server/map/queries';
import { DEVICE_ID } from '$lib/server/devices/devices';
import {
	DeviceAdminError,
	cancelMaintenance,
	deviceDetail,
	localToInstant,
	maintenanceSchema,
	moveDevice,
	moveSchema,
	retireDevice,
	scheduleMaintenance,
	setThresholds,
	thresholdsFromForm
} from '$lib/server/devices/device-admin';

export const load = (async ({ params }) => {
	if (!DEVICE_ID.test(params.id)) error(404, 'no such device');
	const rt = await runtime();
	const device = await deviceDetail(rt.db, params.id);
	if (!device) error(404, 'no such device');
	return { device, villages: await villagesGeoJSON(rt.db), tz: rt.config.TZ_DISPLAY };
}) satisfies PageServerLoad;

const actorOf = (locals: App.Locals) => ({ id: locals.user!.id, name: locals.user!.username });
const plain = (err: unknown) => {
	if (err instanceof DeviceAdminError) return `${err.zh} / ${err.en}`;
	throw err;
};

export const actions = {
	move: async ({ params, request, locals }) => {
		const parsed = moveSchema.safeParse(Object.fromEntries(await request.formData()));
		if (!parsed.success) return fail(400, { action: 'move', errors: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) });
		try {
			await moveDevice((await runtime()).db, params.id, parsed.data, actorOf(locals));
			(await runtime()).rules?.touch([params.id]);
			return { action: 'move', ok: true };
		} catch (err) {
			return fail(400, { action: 'move', errors: [plain(err)] });
		}
	},
	thresholds: async ({ params, request, locals }) => {
		const rt = await runtime();
		const d = await deviceDetail(rt.db, pathKey(params.id, 'no such device'));
		if (!d) error(404, 'no such device');
		const { thresholds, errors } = thresholdsFromForm(d.kind, Object.fromEntries(await request.formData()));
		if (errors.length) return fail(400, { action: 'thresholds', errors });
		try {
			await setThresholds(rt.db, params.id, thresholds, actorOf(locals));
			rt.rules?.touch([params.id]);
			return { action: 'thresholds', ok: true };
		} catch (err) {
			return fail(400, { action: 'thresholds', errors: [plain(err)] });
		}
	},
	maintenance: async ({ params, request, locals }) => {
		const parsed = maintenanceSchema.safeParse(Object.fromEntries(await request.formData()));
		if (!parsed.success) return fail(400, { action: 'maintenance', errors: parsed.error.issues.map((i) => i.message) });
		const rt = await runtime();
		try {
			const tz = rt.config.TZ_DISPLAY;
			await scheduleMaintenance(rt.db, params.id, { starts_at: localToInstant(parsed.data.starts_at, tz), ends_at: localToInstant(parsed.data.ends_at, tz), reason: parsed.data.reason }, actorOf(locals));
			return { action: 'maintenance', ok: true };
		} catch (err) {
			return fail(400, { action: 'maintenance', errors: [plain(err)] });
		}
	},
	cancel: async ({ params, request, locals }) => {
		const parsed = z.object({ window: id8 }).safeParse(Object.fromEntries(await request.formData()));
		if (!parsed.success) return fail(400, { action: 'cancel', errors: ['没有这个维护窗口 no such window'] });
		try {
			await cancelMaintenance((await runtime()).db, params.id, parsed.data.window, actorOf(locals));
			(await runtime()).rules?.touch([params.id]);
			return { action: 'cancel', ok: true };
		} catch (err) {
			return fail(400, { action: 'cancel', errors: [plain(err)] });
		}
	},
	retire: async ({ params, request, locals }) => {
		const parsed = z.object({ reason: text(500).trim().min(1, '请写明原因 give a reason') }).safeParse(Object.fromEntries(await request.formData()));
		if (!parsed.success) return fail(400, { action: 'retire', errors: parsed.error.issues.map((i) => i.message) });
		const rt = await runtime();
		try {
			await retireDevice(rt.db, params.id, parsed.data.reason, actorOf(locals));
			await rt.registry.reload();
			rt.broker?.kick(params.id);
			return { action: 'retire', ok: true };
		} catch (err) {
			return fail(400, { action: 'retire', errors: [plain(err)] });
		}
	}
} satisfies Actions;
