// Device credential management: register (token shown once), rotate, revoke. Revocation takes effect in the
// embedded broker at once: the device's live connections are closed and new ones refused.
import { fail } from '@sveltejs/kit';
import type { Actions, PageServerLoad } from './$types';
import { runtime } from '$lib/server/runtime';
import { DEVICE_ID, DeviceError, newDeviceSchema, registerDevice, revokeDevice, rotateDeviceToken } from '$lib/server/devices';

export const load = (async () => {
	const rt = await runtime();
	const r = await rt.db.query<{ id: string; name: string; kind: string; village: string | null; status: string; last_seen: Date | null; revoked_at: Date | null; interval_s: number }>(
		`SELECT d.id, d.name, d.kind, v.name AS village, d.status, d.last_seen, d.revoked_at, d.interval_s
		 FROM devices d LEFT JOIN villages v ON v.id = d.village_id ORDER BY d.id`
	);
	return { devices: r.rows.map((d) => ({ ...d, last_seen: d.last_seen ? new Date(d.last_seen).toISOString() : null, revoked: !!d.revoked_at })), tz: rt.config.TZ_DISPLAY };
}) satisfies PageServerLoad;

async function afterCredentialChange(id: string) {
	const rt = await runtime();
	await rt.registry.reload();
	rt.broker?.kick(id);
}

export const actions = {
	add: async ({ request, locals }) => {
		const form = Object.fromEntries(await request.formData());
		const parsed = newDeviceSchema.safeParse({ ...form, name: form.name || undefined, dev_eui: form.dev_eui || undefined });
		if (!parsed.success) return fail(400, { action: 'add', errors: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`), values: form as Record<string, string> });
		const rt = await runtime();
		try {
			const { token } = await registerDevice(rt.db, parsed.data, { id: locals.user!.id, name: locals.user!.username });
			await rt.registry.reload();
			return { action: 'add', id: parsed.data.id, token };
		} catch (err) {
			if (err instanceof DeviceError) return fail(400, { action: 'add', errors: [err.message], values: form as Record<string, string> });
			throw err;
		}
	},
	rotate: async ({ request, locals }) => {
		const id = String((await request.formData()).get('id') ?? '');
		if (!DEVICE_ID.test(id)) return fail(400, { action: 'rotate', errors: ['bad device id'] });
		try {
			const token = await rotateDeviceToken((await runtime()).db, id, { id: locals.user!.id, name: locals.user!.username });
			await afterCredentialChange(id);
			return { action: 'rotate', id, token };
		} catch (err) {
			if (err instanceof DeviceError) return fail(400, { action: 'rotate', errors: [err.message] });
			throw err;
		}
	},
	revoke: async ({ request, locals }) => {
		const id = String((await request.formData()).get('id') ?? '');
		if (!DEVICE_ID.test(id)) return fail(400, { action: 'revoke', errors: ['bad device id'] });
		try {
			await revokeDevice((await runtime()).db, id, { id: locals.user!.id, name: locals.user!.username });
			await afterCredentialChange(id);
			return { action: 'revoke', id };
		} catch (err) {
			if (err instanceof DeviceError) return fail(400, { action: 'revoke', errors: [err.message] });
			throw err;
		}
	}
} satisfies Actions;
