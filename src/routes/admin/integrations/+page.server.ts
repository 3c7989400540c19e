// Network-server integrations (issue 22 item 4): one account per ChirpStack or The Things Stack application. Create
// shows the secret once (MQTT password on the embedded broker, `X-Shudi-Secret` header for HTTP); revoke ends its
// sessions at once in this process and everywhere within seconds (the broker re-reads the integrations). Audited.
import { fail } from '@sveltejs/kit';
import type { Actions, PageServerLoad } from './$types';
import { runtime } from '$lib/server/runtime';
import { IntegrationError, INTEGRATION_ID, createIntegration, listIntegrations, newIntegrationSchema, revokeIntegration, ttsAppTopic } from '$lib/server/devices/integrations';

export const load = (async ({ url }) => {
	const rt = await runtime();
	const all = await listIntegrations(rt.db);
	return {
		// Where the network server should send: this server's own origin as the browser reached it.
		origin: url.origin,
		mqttPort: rt.broker?.port ?? null,
		external: !!rt.config.MQTT_URL,
		integrations: all.map((i) => ({
			id: i.id,
			kind: i.kind,
			application_id: i.applicationId,
			tenant: i.tenant,
			name: i.name,
			created_at: i.createdAt.toISOString(),
			revoked: i.revoked,
			topic: i.kind === 'chirpstack' ? `application/${i.applicationId}/device/+/event/up|status` : `v3/${ttsAppTopic(i)}/devices/+/up`,
			http_path: `/api/v1/integrations/${i.kind}/${i.id}`
		}))
	};
}) satisfies PageServerLoad;

const str = (v: FormDataEntryValue | null) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

export const actions = {
	create: async ({ request, locals }) => {
		const f = await request.formData();
		const parsed = newIntegrationSchema.safeParse({
			id: str(f.get('id')),
			kind: str(f.get('kind')),
			application_id: str(f.get('application_id')),
			tenant: str(f.get('tenant')),
			name: str(f.get('name')) ?? ''
		});
		if (!parsed.success) return fail(400, { errors: parsed.error.issues.map((i) => `${i.path.join('.') || 'form'}: ${i.message}`) });
		const rt = await runtime();
		try {
			const { integration, secret } = await createIntegration(rt.db, parsed.data, { id: locals.user!.id, name: locals.user!.username });
			await rt.broker?.reloadIntegrations();
			return { created: integration.id, kind: integration.kind, secret };
		} catch (err) {
			if (err instanceof IntegrationError) return fail(400, { errors: [err.message] });
			throw err;
		}
	},
	revoke: async ({ request, locals }) => {
		const id = str((await request.formData()).get('id'));
		if (!id || !INTEGRATION_ID.test(id)) return fail(400, { errors: ['id: 集成编号无效 / not an integration id'] });
		const rt = await runtime();
		try {
			await revokeIntegration(rt.db, id, { id: locals.user!.id, name: locals.user!.username });
		} catch (err) {
			if (err instanceof IntegrationError) return fail(400, { errors: [err.message] });
			throw err;
		}
		await rt.broker?.reloadIntegrations();
		rt.broker?.kick(id);
		return { revoked: id };
	}
} satisfies Actions;
