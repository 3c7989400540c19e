// A split deployment (SHUDI_ROLE=web beside a separate ingest): the web process stores the HTTP twin's readings
// (NB-IoT devices behind carrier platforms), so it must judge them too — otherwise such a device could report a
// river at its guarantee level and no alarm would ever open.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/lib/server/platform/config';
import { runtime, clearRuntime, type Runtime } from '../../src/lib/server/runtime';
import { POST as postReadings } from '../../src/routes/api/v1/devices/[id]/readings/+server';
import { waitFor } from '../support/services';

let rt: Runtime;
beforeAll(async () => {
	rt = await runtime({
		role: 'web',
		config: parseConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), 'shudi-webrole-')), MQTT_PORT: '0', SIMULATE: 'off', DEMO: 'on', LOG_LEVEL: 'silent', INGEST_BATCH_MS: '10' })
	});
});
afterAll(async () => {
	await rt.stop();
	clearRuntime();
});

describe('web-only process', () => {
	it('has no MQTT ingest of its own, and raises the alarm for a reading that came in over the HTTP twin', async () => {
		expect(rt.ingest).toBeNull();
		const body = JSON.stringify({ ts: new Date().toISOString(), values: { water_level_m: 9.5 } });
		const request = new Request('http://x/api/v1/devices/RL-01/readings', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer shudi-demo-RL-01' }, body });
		const res = await postReadings({ params: { id: 'RL-01' }, request, locals: { user: null, apiToken: null }, url: new URL(request.url) } as never);
		expect(res.status).toBeLessThan(300);
		const alarm = await waitFor(async () => {
			const r = await rt.db.query<{ level: string; incident_id: number | null }>("SELECT level, incident_id FROM alarms WHERE device_id = 'RL-01' AND cleared_at IS NULL");
			return r.rows[0];
		}, 10_000);
		expect(alarm.level).toBe('red');
		expect(alarm.incident_id).not.toBeNull();
		const dev = await rt.db.query<{ status: string }>("SELECT status FROM devices WHERE id = 'RL-01'");
		expect(dev.rows[0].status).toBe('red');
	});
});
