// GNSS surface displacement end to end: a kind added through the sensor-kind catalogue alone is registered, its
// east/north/up readings are stored (not dead-lettered), its rule raises an alarm, and the alarm opens a geohazard case
// titled by the rule — with no code outside the catalogue, rules.ts and the migration knowing the kind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/lib/server/platform/config';
import { runtime, clearRuntime, type Runtime } from '../../src/lib/server/runtime';
import { newDeviceSchema, registerDevice } from '../../src/lib/server/devices/devices';
import { listIncidents } from '../../src/lib/server/cases/incident-queries';
import { waitFor } from '../support/services';

let rt: Runtime;
const config = parseConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), 'shudi-gnss-')), MQTT_PORT: '0', SIMULATE: 'off', DEMO: 'off', LOG_LEVEL: 'silent', INGEST_BATCH_MS: '10', ESCALATION_EVERY_MS: '600000' });

beforeAll(async () => {
	rt = await runtime({ config });
}, 120_000);
afterAll(async () => {
	await rt?.stop();
	clearRuntime();
});

describe('gnss_displacement', () => {
	it('stores E/N/U, raises the cumulative rule and opens a geohazard case titled by it', async () => {
		const id = 'GN-IT1';
		const { token } = await registerDevice(rt.db, newDeviceSchema.parse({ id, kind: 'gnss_displacement', name: '后山GNSS站', lng: 107.5, lat: 26.5, interval_s: 3600 }), { id: null, name: 'test' });
		// The slope's own marks (no township default for cumulative); rate marks out of the way of this test.
		const thresholds = { horizontal_mm: { yellow: 30, orange: 60, red: 100 }, rate_mm_per_day: { yellow: 1000, orange: 2000, red: 3000 } };
		await rt.db.query('UPDATE devices SET thresholds = $2 WHERE id = $1', [id, JSON.stringify(thresholds)]);

		// The broker's device registry picks a new device up on its next refresh (ingest/registry.ts).
		const c = await waitFor(() => mqtt.connectAsync(rt.mqttUrl!, { username: id, password: token, reconnectPeriod: 0 }).catch(() => null), 15_000, 500);
		const t0 = Date.now();
		const send = (ms: number, e: number, n: number, u: number) =>
			c.publishAsync(`shudi/v1/devices/${id}/up`, JSON.stringify({ ts: new Date(t0 - ms).toISOString(), values: { gnss_east_mm: e, gnss_north_mm: n, gnss_up_mm: u } }), { qos: 1 });
		await send(50_000, 2, 1, -1);
		await send(30_000, 24, 18, -4); // 30 mm horizontal
		await send(1_000, 25, 19, -4); // 31.4 mm: the second solution in a row past yellow

		const inc = await waitFor(async () => (await listIncidents(rt.db, null, { status: 'open', limit: 50 })).find((i) => i.device_id === id), 5000, 25);
		expect(inc).toMatchObject({ category: 'geohazard', level: 'yellow' });
		expect(inc.title).toBe('后山GNSS站：地表累计位移超限');

		const stored = await rt.db.query<{ metric: string; n: number }>('SELECT metric, count(*)::int AS n FROM readings WHERE device_id = $1 GROUP BY metric ORDER BY metric', [id]);
		expect(stored.rows).toEqual([
			{ metric: 'gnss_east_mm', n: 3 },
			{ metric: 'gnss_north_mm', n: 3 },
			{ metric: 'gnss_up_mm', n: 3 }
		]);
		const dead = await rt.db.query('SELECT 1 FROM dead_letters WHERE device_id = $1', [id]);
		expect(dead.rows).toHaveLength(0);
		const alarm = await rt.db.query<{ rule: string; level: string }>('SELECT rule, level FROM alarms WHERE device_id = $1 AND cleared_at IS NULL', [id]);
		expect(alarm.rows).toEqual([{ rule: 'gnss_cumulative', level: 'yellow' }]);
		await c.endAsync();
	}, 60_000);
});
