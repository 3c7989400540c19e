// Network-server integrations CLI (issue 22 item 4):
//   npm run integration:add -- --id cs-river --kind chirpstack --application-id <UUID> [--name …]
//   npm run integration:add -- --id tts-river --kind tts --application-id my-app [--tenant ttn] [--name …]
//   npm run integration:revoke -- --id cs-river
// `add` prints the secret ONCE: the MQTT password on the embedded broker (username = id) and the X-Shudi-Secret header
// of ChirpStack's HTTP integration or a TTS webhook.
import { parseArgs } from 'node:util';
import { IntegrationError, createIntegration, newIntegrationSchema, revokeIntegration, ttsAppTopic } from '../src/lib/server/devices/integrations.js';
import { fail, openCliDb } from './cli-db.js';

const argv = process.argv.slice(2);
const cmd = argv.shift();
if (cmd !== 'add' && cmd !== 'revoke') fail('usage: integration.ts add|revoke --id ID …');
const { values: a } = parseArgs({
	args: argv,
	options: {
		id: { type: 'string' },
		kind: { type: 'string' },
		'application-id': { type: 'string' },
		tenant: { type: 'string' },
		name: { type: 'string' }
	},
	strict: true
});
const actor = { id: null, name: 'cli' };

const db = await openCliDb();
try {
	if (cmd === 'add') {
		const parsed = newIntegrationSchema.safeParse({ id: a.id, kind: a.kind, application_id: a['application-id'], tenant: a.tenant, name: a.name ?? '' });
		if (!parsed.success) fail(parsed.error.issues.map((i) => `--${String(i.path[0] ?? 'args').replace('_', '-')}: ${i.message}`).join('; '));
		const { integration: i, secret } = await createIntegration(db, parsed.data, actor);
		console.log(`集成已创建 / integration created: ${i.id} (${i.kind}, application ${i.applicationId}${i.tenant ? `@${i.tenant}` : ''})`);
		console.log(`密钥（仅显示一次）/ secret (shown once): ${secret}`);
		console.log(`MQTT: username ${i.id}, password <secret>, topics ${i.kind === 'chirpstack' ? `application/${i.applicationId}/device/+/event/up|status` : `v3/${ttsAppTopic(i)}/devices/+/up`}`);
		console.log(`HTTP: POST https://<this server>/api/v1/integrations/${i.kind}/${i.id} with header X-Shudi-Secret: <secret>`);
	} else {
		if (!a.id) fail('--id is required');
		await revokeIntegration(db, a.id, actor);
		console.log(`已吊销 / revoked ${a.id}: its MQTT sessions end within seconds, HTTP calls get 403`);
	}
} catch (err) {
	if (err instanceof IntegrationError) fail(err.message);
	throw err;
} finally {
	await db.close();
}
