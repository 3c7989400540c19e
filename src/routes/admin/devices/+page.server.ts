// Device credential management: register (token shown once), rotate, revoke. Revocation takes effect in the
// embedded broker at once: the device's live connections are closed and new ones refused.
import { fail } from '@sveltejs/kit';
import type { Actions, PageServerLoad } from './$types';
import { runtime } from '$lib/server/runtime';
import { DEVICE_ID, DeviceError, newDeviceSchema, registerDevice, revokeDevice, rotateDeviceToken } from '$lib/server/devices/devices';
import { installerQr } from '$lib/server/devices/device-admin';
import { villagesGeoJSON } from '$lib/server/map/queries';
import { deadLettersLink, listDeviceNotices } from '$lib/server/devices/device-notices';

/** The QR code carries the broker address the installer's device should use: this server's host, the MQTT port. */
async function qrFor(id: string, token: string, url: URL): Promise<string> {
	const rt = await runtime();
	return installerQr({ id, token, mqttHost: url.hostname, mqttPort: rt.config.MQTT_PORT });
}

export const load = (async () => {
	const rt = await runtime();
	const r = await rt.db.query<{ id: string; name: string; kind: string; village: string | null; status: string; last_seen: Date | null; last_measured_at: Date | null; revoked_at: Date | null; retired_at: Date | null; interval_s: number; lng: number | null; lat: number | null }>(
		`SELECT d.id, d.name, d.kind, v.name AS village, d.status, d.last_seen, d.last_measured_at, d.revoked_at, d.retired_at, d.interval_s, d.lng, d.lat
		 FROM devices d LEFT JOIN villages v ON v.id = d.village_id ORDER BY d.id`
	);
	const iso = (t: Date | null) => (t ? new Date(t).toISOString() : null);
	// Device-health notices: keys a known device sent that no profile maps (once per key, device and day).
	const notices = await listDeviceNotices(rt.db, { tz: rt.config.TZ_DISPLAY, days: 7 });
	return {
		devices: r.rows.map((d) => ({ ...d, last_seen: iso(d.last_seen), last_measured_at: iso(d.last_measured_at), revoked: !!d.revoked_at, retired: !!d.retired_at, retired_at: undefined, revoked_at: undefined })),
		notices: notices.map((n) => ({ ...n, link: n.kind === 'unknown_key' ? deadLettersLink(n.device_id) : `/admin/devices/${encodeURIComponent(n.device_id)}` })),
		villages: await villagesGeoJSON(rt.db),
		tz: rt.config.TZ_DISPLAY
	};
}) satisfies PageServerLoad;

async function afterCredentialChange(id: string) {
	const rt = await runtime();
	await rt.registry.reload();
	rt.broker?.kick(id);
}

export const actions = {
	add: async ({ request, locals }) => {
		const form = Object.fromEntries(await request.formData());
		// Blank optional fields mean "not given" (interval_s then takes its default), not zero.
		const parsed = newDeviceSchema.safeParse({ ...form, name: form.name || undefined, dev_eui: form.dev_eui || undefined, interval_s: form.interval_s || undefined });
		if (!parsed.success) return fail(400, { action: 'add', errors: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`), values: form as Record<string, string> });
		const rt = await runtime();
		try {
			const { token } = await registerDevice(rt.db, parsed.data, { id: locals.user!.id, name: locals.user!.username });
			await rt.registry.reload();
			return { action: 'add', id: parsed.data.id, token, qr: await qrFor(parsed.data.id, token, new URL(request.url)) };
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
			return { action: 'rotate', id, token, qr: await qrFor(id, token, new URL(request.url)) };
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
