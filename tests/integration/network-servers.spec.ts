// Network servers connect in every deployment, and nothing they or the devices send vanishes (issue 22 items 4, 5):
// ChirpStack v4 and The Things Stack v3 over HTTP (the integration routes, called as SvelteKit calls them) and over
// MQTT (an integration account on the embedded broker; anonymous on Mosquitto), end to end to a stored reading;
// wrong and revoked secrets refused and recorded; a publish refused by the embedded broker's ACL dead-lettered; a
// ThingsBoard-style publish ends stored or dead-lettered. The embedded broker and database by default, Mosquitto and
// PostgreSQL when TEST_MQTT_URL / TEST_DATABASE_URL are set.
//
// SOURCE: ChirpStack v4 event formats (Protobuf JSON mapping of integration.proto UplinkEvent / StatusEvent),
//   https://www.chirpstack.io/docs/chirpstack/integrations/events.html; HTTP integration `?event=`,
//   https://www.chirpstack.io/docs/chirpstack/integrations/http.html
// SOURCE: The Things Stack v3 uplink message, https://www.thethingsindustries.com/docs/integrations/data-formats/
//   (webhooks send the same JSON, https://www.thethingsindustries.com/docs/integrations/webhooks/)
// SOURCE: ThingsBoard MQTT device API, telemetry upload, https://thingsboard.io/docs/reference/mqtt-api/
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { isActionFailure, isHttpError } from '@sveltejs/kit';
import { parseConfig, ConfigError } from '../../src/lib/server/platform/config';
import { runtime, clearRuntime, type Runtime } from '../../src/lib/server/runtime';
import { createIntegration, revokeIntegration, SECRET_HEADER } from '../../src/lib/server/devices/integrations';
import { hashToken, newDeviceToken } from '../../src/lib/server/devices/device-tokens';
import { replayBody, replayDeadLetters } from '../../src/lib/server/devices/dead-letters';
import { REAL_DB, REAL_MQTT, freshDb, uniq, waitFor, type TestDb } from '../support/services';
import * as chirpstackRoute from '../../src/routes/api/v1/integrations/chirpstack/[id]/+server';
import * as ttsRoute from '../../src/routes/api/v1/integrations/tts/[id]/+server';
import * as adminPage from '../../src/routes/admin/integrations/+page.server';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
	for (const c of cleanup.splice(0).reverse()) await c();
});

let rt: Runtime;
let scratch: TestDb | undefined;
let adminUser: { id: number; username: string };

beforeAll(async () => {
	if (REAL_DB) scratch = await freshDb({ migrate: false });
	rt = await runtime({
		config: parseConfig({
			DATA_DIR: mkdtempSync(join(tmpdir(), 'shudi-ns-')),
			DATABASE_URL: scratch?.url,
			MQTT_URL: REAL_MQTT,
			MQTT_PORT: '0',
			DEMO: 'off',
			SIMULATE: 'off',
			LOG_LEVEL: 'silent',
			RULES: 'off',
			INGEST_BATCH_MS: '5',
			INGEST_CLIENT_ID: uniq('ns-ingest')
		})
	});
	const u = await rt.db.query<{ id: number; username: string }>(
		"INSERT INTO users (username, password_hash, display_name, roles) VALUES ('ns-admin', 'x', 'NS admin', ARRAY['admin']) RETURNING id, username"
	);
	adminUser = u.rows[0];
}, 60_000);
afterAll(async () => {
	await rt?.stop();
	clearRuntime();
	await scratch?.drop();
});

const CS_APP = '17c82e96-be03-4f38-aef3-f83d48582d97';
const actor = { id: null, name: 'test' };
const eui = () => randomBytes(8).toString('hex');
const recent = (agoMs = 60_000) => new Date(Date.now() - agoMs).toISOString();

async function addDevice(devEui: string | null, kind = 'river_level'): Promise<{ id: string; token: string }> {
	const id = uniq('NS');
	const token = newDeviceToken();
	await rt.db.query('INSERT INTO devices (id, name, kind, lng, lat, token_hash, dev_eui) VALUES ($1, $1, $2, 107.5, 26.5, $3, $4)', [id, kind, hashToken(token), devEui]);
	await rt.registry.reload();
	return { id, token };
}

async function integration(kind: 'chirpstack' | 'tts', applicationId: string, tenant?: string) {
	const { integration: i, secret } = await createIntegration(rt.db, { id: uniq(kind === 'chirpstack' ? 'cs' : 'tts').toLowerCase(), kind, application_id: applicationId, tenant, name: '' }, actor);
	await rt.broker?.reloadIntegrations();
	return { ...i, secret };
}

/** A ChirpStack v4 `up` event (JSON encoding), as its MQTT and HTTP integrations send it. */
function chirpstackUp(devEui: string, object: Record<string, unknown>, app = CS_APP) {
	return {
		deduplicationId: '3ac7e3c4-4401-4b8d-9386-a5c902f9202d',
		time: recent(),
		deviceInfo: {
			tenantId: '52f14cd4-c6f1-4fbd-8f87-4025e1d49242',
			tenantName: 'ChirpStack',
			applicationId: app,
			applicationName: 'township-sensors',
			deviceProfileId: '14855bf7-d10d-4aee-b618-ebfcb64dc7ad',
			deviceProfileName: 'river-gauge',
			deviceName: 'river-gauge-3',
			devEui,
			tags: {}
		},
		devAddr: '00189440',
		adr: true,
		dr: 1,
		fCnt: 12,
		fPort: 1,
		data: 'AQIDBA==',
		object,
		rxInfo: [{ gatewayId: '0016c001f153a14c', uplinkId: 4217106255, rssi: -98, snr: 6.5, channel: 2, context: 'EFwMtA==', crcStatus: 'CRC_OK' }],
		txInfo: { frequency: 868300000, modulation: { lora: { bandwidth: 125000, spreadingFactor: 11, codeRate: 'CR_4_5' } } }
	};
}

/** A ChirpStack v4 `status` event: the device's answer to DevStatusReq (margin in dB, battery in %). */
function chirpstackStatus(devEui: string, extra: Record<string, unknown> = { margin: 7, batteryLevel: 64.5 }) {
	const up = chirpstackUp(devEui, {});
	return { deduplicationId: up.deduplicationId, time: recent(30_000), deviceInfo: up.deviceInfo, ...extra };
}

/** A The Things Stack v3 uplink message (MQTT `…/up`, and the webhook's uplink message body). */
function ttsUp(appId: string, deviceId: string, devEui: string, decoded: Record<string, unknown>) {
	return {
		end_device_ids: { device_id: deviceId, application_ids: { application_id: appId }, dev_eui: devEui.toUpperCase(), join_eui: '0000000000000001', dev_addr: '260BABCD' },
		correlation_ids: ['as:up:01HX6YGQ7E0V83YRZ7K4S5J4ZN'],
		received_at: recent(),
		uplink_message: {
			f_port: 2,
			f_cnt: 1834,
			frm_payload: 'ASsBKAAA',
			decoded_payload: decoded,
			rx_metadata: [{ gateway_ids: { gateway_id: 'eui-aa555a0000000101', eui: 'AA555A0000000101' }, rssi: -68, channel_rssi: -68, snr: 9.2 }],
			settings: { data_rate: { lora: { bandwidth: 125000, spreading_factor: 7, coding_rate: '4/5' } }, frequency: '868100000' },
			received_at: recent(),
			network_ids: { net_id: '000013', tenant_id: 'ttn', cluster_id: 'eu1' }
		}
	};
}

/** Calls a route's POST as SvelteKit would; the answer's status and JSON, or the status of the error() it threw. */
async function post(route: { POST: unknown }, path: string, id: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
	const url = new URL(`http://localhost${path}`);
	const request = new Request(url, { method: 'POST', body: typeof body === 'string' ? body : Buffer.isBuffer(body) ? new Uint8Array(body) : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
	try {
		const r = (await (route.POST as (e: unknown) => Promise<Response>)({ url, params: { id }, request, route: { id: path }, getClientAddress: () => '198.51.100.7', locals: {} })) as Response;
		return { status: r.status, body: (await r.json()) as Record<string, unknown> };
	} catch (e) {
		if (isHttpError(e)) return { status: e.status, body: e.body as unknown as Record<string, unknown> };
		throw e;
	}
}

const readings = async (deviceId: string) =>
	(await rt.db.query<{ metric: string; value: number }>('SELECT metric, value FROM readings WHERE device_id = $1 ORDER BY metric', [deviceId])).rows;
const deadLetters = async (where: string, params: unknown[]) =>
	(await rt.db.query<{ reason: string; topic: string; detail: string | null; device_id: string | null; payload: Uint8Array }>(`SELECT reason, topic, detail, device_id, payload FROM dead_letters WHERE ${where} ORDER BY id`, params)).rows;
const refusals = async (username: string) => {
	await rt.refusals.flush();
	return (await rt.db.query<{ client_id: string; reason: string; attempts: number; first_address: string | null }>('SELECT client_id, reason, attempts, first_address FROM mqtt_refusals WHERE username = $1', [username])).rows;
};

async function connect(opts: { username?: string; password?: string } = {}): Promise<MqttClient> {
	// Mosquitto in the tests takes anyone; the embedded broker takes the integration account.
	const c = await mqtt.connectAsync(rt.mqttUrl!, { ...(REAL_MQTT ? {} : opts), reconnectPeriod: 0, clientId: uniq('ns-client') });
	cleanup.push(() => c.endAsync(true));
	return c;
}

/** A connection the broker must refuse: resolves with the error once it has said no. */
function refusedConnect(opts: { username: string; password: string }): Promise<Error> {
	return new Promise((resolve, reject) => {
		const c = mqtt.connect(rt.mqttUrl!, { ...opts, reconnectPeriod: 0, connectTimeout: 5000 });
		c.once('error', (err) => c.end(true, {}, () => resolve(err)));
		c.once('connect', () => c.end(true, {}, () => reject(new Error('connect should have been refused'))));
	});
}

describe('ChirpStack v4', () => {
	it('HTTP integration: an up event is stored, a status event sets the battery, other events are acknowledged and ignored', async () => {
		const i = await integration('chirpstack', CS_APP);
		const devEui = eui();
		const dev = await addDevice(devEui);
		const h = { [SECRET_HEADER]: i.secret };
		const up = await post(chirpstackRoute, `/api/v1/integrations/chirpstack/${i.id}?event=up`, i.id, chirpstackUp(devEui, { water_level_m: 2.31 }), h);
		expect(up).toEqual({ status: 200, body: { stored: 3, rejected: [] } });
		const status = await post(chirpstackRoute, `/api/v1/integrations/chirpstack/${i.id}?event=status`, i.id, chirpstackStatus(devEui), h);
		expect(status).toEqual({ status: 200, body: { stored: 1, rejected: [] } });
		expect(await readings(dev.id)).toEqual([
			{ metric: 'battery_pct', value: 64.5 },
			{ metric: 'rssi_dbm', value: -98 },
			{ metric: 'snr_db', value: 6.5 },
			{ metric: 'water_level_m', value: 2.31 }
		]);
		const join = await post(chirpstackRoute, `/api/v1/integrations/chirpstack/${i.id}?event=join`, i.id, { deviceInfo: { devEui }, devAddr: '00189440' }, h);
		expect(join.status).toBe(200);
		expect(join.body).toMatchObject({ ignored: true, event: 'join' });
		expect(String(join.body.message)).toMatch(/^已接收并忽略.*acknowledged and ignored/);
	});

	it('HTTP integration: a status from a mains-powered device and an unknown device are dead-lettered with their reasons, answered 200', async () => {
		const i = await integration('chirpstack', CS_APP);
		const h = { [SECRET_HEADER]: i.secret };
		const mains = eui();
		await addDevice(mains);
		const s = await post(chirpstackRoute, `/api/v1/integrations/chirpstack/${i.id}?event=status`, i.id, chirpstackStatus(mains, { margin: 9, externalPowerSource: true }), h);
		expect(s.status).toBe(200);
		expect(s.body).toMatchObject({ stored: 0, rejected: [{ reason: 'no_battery_level' }] });
		const stranger = eui();
		const u = await post(chirpstackRoute, `/api/v1/integrations/chirpstack/${i.id}?event=up`, i.id, chirpstackUp(stranger, { water_level_m: 1 }), h);
		expect(u.body).toMatchObject({ stored: 0, rejected: [{ reason: 'unknown_device' }] });
		const dl = await deadLetters('topic = $1', [`application/${CS_APP}/device/${stranger}/event/up`]);
		expect(dl.map((d) => d.reason)).toEqual(['unknown_device']);
	});

	it('MQTT: an integration account publishes up and status, both stored', async () => {
		const i = await integration('chirpstack', CS_APP);
		const devEui = eui();
		const dev = await addDevice(devEui);
		const c = await connect({ username: i.id, password: i.secret });
		await c.publishAsync(`application/${CS_APP}/device/${devEui}/event/up`, JSON.stringify(chirpstackUp(devEui, { water_level_m: 1.75 })), { qos: 1 });
		await c.publishAsync(`application/${CS_APP}/device/${devEui}/event/status`, JSON.stringify(chirpstackStatus(devEui, { margin: 3, batteryLevel: 88 })), { qos: 1 });
		// Other event types of the application are accepted (the connection stays up) and stored nowhere.
		await c.publishAsync(`application/${CS_APP}/device/${devEui}/event/join`, JSON.stringify({ deviceInfo: { devEui } }), { qos: 1 });
		const rows = await waitFor(async () => {
			const r = await readings(dev.id);
			return r.length === 4 ? r : null;
		});
		expect(rows).toContainEqual({ metric: 'water_level_m', value: 1.75 });
		expect(rows).toContainEqual({ metric: 'battery_pct', value: 88 });
		expect(c.connected).toBe(true);
		if (!REAL_MQTT) {
			// ChirpStack subscribes to its command topic for downlinks: granted within its application, refused (0x80)
			// elsewhere — without cutting the session.
			const granted = await c.subscribeAsync(`application/${CS_APP}/device/+/command/+`, { qos: 1 });
			expect(granted.map((g) => g.qos)).toEqual([1]);
			await expect(c.subscribeAsync('application/+/device/+/event/up', { qos: 1 })).rejects.toThrow(/Subscribe error/);
			await new Promise((r) => setTimeout(r, 100));
			expect(c.connected).toBe(true);
		}
	});
});

describe('The Things Stack v3', () => {
	it('webhook: an uplink message is stored; a join accept is acknowledged and ignored', async () => {
		const i = await integration('tts', 'shudi-town', 'ttn');
		const devEui = eui();
		const dev = await addDevice(devEui, 'crack');
		const h = { [SECRET_HEADER]: i.secret };
		const r = await post(ttsRoute, `/api/v1/integrations/tts/${i.id}`, i.id, ttsUp('shudi-town', 'crack-12', devEui, { crack_mm: 0.42, battery_v: 3.62 }), h);
		expect(r).toEqual({ status: 200, body: { stored: 4, rejected: [] } });
		expect(await readings(dev.id)).toEqual([
			{ metric: 'battery_v', value: 3.62 },
			{ metric: 'crack_mm', value: 0.42 },
			{ metric: 'rssi_dbm', value: -68 },
			{ metric: 'snr_db', value: 9.2 }
		]);
		const join = await post(ttsRoute, `/api/v1/integrations/tts/${i.id}`, i.id, { end_device_ids: { device_id: 'crack-12' }, join_accept: { session_key_id: 'AWNbm/4zfqx0jZ5q1NlBmw==' } }, h);
		expect(join.body).toMatchObject({ ignored: true, event: 'join_accept' });
	});

	it('webhook: an uplink of another application is dead-lettered, not stored under this one', async () => {
		const i = await integration('tts', 'shudi-town', 'ttn');
		const devEui = eui();
		const dev = await addDevice(devEui, 'crack');
		const r = await post(ttsRoute, `/api/v1/integrations/tts/${i.id}`, i.id, ttsUp('other-app', 'crack-13', devEui, { crack_mm: 0.5 }), { [SECRET_HEADER]: i.secret });
		expect(r.body).toMatchObject({ stored: 0, rejected: [{ reason: 'device_mismatch' }] });
		expect(await readings(dev.id)).toEqual([]);
	});

	it('MQTT: an integration account publishes an uplink (Open Source: no tenant in the topic), stored', async () => {
		const i = await integration('tts', 'river-app');
		const devEui = eui();
		const dev = await addDevice(devEui, 'crack');
		const c = await connect({ username: i.id, password: i.secret });
		await c.publishAsync('v3/river-app/devices/crack-99/up', JSON.stringify(ttsUp('river-app', 'crack-99', devEui, { crack_mm: 1.25 })), { qos: 1 });
		const rows = await waitFor(async () => {
			const r = await readings(dev.id);
			return r.length === 3 ? r : null;
		});
		expect(rows).toContainEqual({ metric: 'crack_mm', value: 1.25 });
	});
});

describe('credentials', () => {
	it('a wrong or missing secret is 401 and recorded with the caller address; the kind must match', async () => {
		const i = await integration('chirpstack', CS_APP);
		const devEui = eui();
		const dev = await addDevice(devEui);
		const body = chirpstackUp(devEui, { water_level_m: 9 });
		const wrong = await post(chirpstackRoute, `/api/v1/integrations/chirpstack/${i.id}?event=up`, i.id, body, { [SECRET_HEADER]: newDeviceToken() });
		expect(wrong.status).toBe(401);
		expect(String(wrong.body.message)).toMatch(/^集成未知或密钥错误.*unknown integration or wrong secret/);
		expect((await post(chirpstackRoute, `/api/v1/integrations/chirpstack/${i.id}?event=up`, i.id, body, {})).status).toBe(401);
		// The right secret on the other kind's route is no credential there.
		expect((await post(ttsRoute, `/api/v1/integrations/tts/${i.id}`, i.id, body, { [SECRET_HEADER]: i.secret })).status).toBe(401);
		expect(await readings(dev.id)).toEqual([]);
		const rows = await refusals(i.id);
		expect(rows.map((r) => [r.client_id, r.reason, r.attempts, r.first_address]).sort()).toEqual([
			['(http chirpstack)', 'bad_secret', 1, '198.51.100.7'],
			['(http chirpstack)', 'no_credentials', 1, '198.51.100.7'],
			['(http tts)', 'unknown_integration', 1, '198.51.100.7']
		]);
	});

	it('the admin page creates an integration (secret shown once) and revokes it: HTTP 403, MQTT sessions end and new ones are refused', async () => {
		const form = (v: Record<string, string>) => {
			const f = new URLSearchParams(v);
			return { request: new Request('http://localhost/admin/integrations', { method: 'POST', body: f }), locals: { user: adminUser } };
		};
		const id = uniq('cs-admin').toLowerCase();
		const created = (await adminPage.actions.create(form({ id, kind: 'chirpstack', application_id: CS_APP, name: '河道' }) as never)) as { created: string; secret: string };
		expect(created.created).toBe(id);
		expect(created.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
		const bad = await adminPage.actions.create(form({ id: 'X', kind: 'chirpstack', application_id: CS_APP }) as never);
		expect(isActionFailure(bad)).toBe(true);
		const page = (await adminPage.load({ url: new URL('http://localhost/admin/integrations') } as never)) as { integrations: { id: string; revoked: boolean }[] };
		expect(page.integrations.find((x) => x.id === id)).toMatchObject({ revoked: false });
		// The secret is not kept: only its hash.
		const stored = await rt.db.query<{ secret_hash: string }>('SELECT secret_hash FROM integrations WHERE id = $1', [id]);
		expect(stored.rows[0].secret_hash).toBe(hashToken(created.secret));

		let session: MqttClient | null = null;
		let closed: Promise<void> | null = null;
		if (!REAL_MQTT) {
			session = await connect({ username: id, password: created.secret });
			closed = new Promise((r) => session!.once('close', () => r()));
		}
		expect(await adminPage.actions.revoke(form({ id }) as never)).toEqual({ revoked: id });
		const devEui = eui();
		await addDevice(devEui);
		const r = await post(chirpstackRoute, `/api/v1/integrations/chirpstack/${id}?event=up`, id, chirpstackUp(devEui, { water_level_m: 1 }), { [SECRET_HEADER]: created.secret });
		expect(r.status).toBe(403);
		expect((await refusals(id)).map((x) => x.reason)).toContain('revoked_integration');
		if (!REAL_MQTT) {
			await closed;
			const err = await refusedConnect({ username: id, password: created.secret });
			expect(err.message).toMatch(/Bad username or password|Not authorized/i);
			await waitFor(async () => (await refusals(id)).filter((x) => x.client_id !== '(http chirpstack)' && x.reason === 'revoked_integration').length > 0);
		}
	});
});

describe('bad bodies from an authenticated network server', () => {
	it.each<[string, 'chirpstack' | 'tts', string | Buffer, string]>([
		['ChirpStack: not JSON', 'chirpstack', 'devEui=0101', 'bad_json'],
		['ChirpStack: invalid UTF-8', 'chirpstack', Buffer.from([0xff, 0xfe, 0x7b]), 'bad_json'],
		['ChirpStack: no decoded object (no codec in the device profile)', 'chirpstack', JSON.stringify({ ...chirpstackUp('0101010101010101', {}), object: undefined }), 'no_decoded_object'],
		['ChirpStack: devEui not hex', 'chirpstack', JSON.stringify(chirpstackUp('../../etc/passwd', { water_level_m: 1 })), 'bad_shape'],
		['TTS: an array', 'tts', '[1,2]', 'bad_shape'],
		['TTS: no decoded_payload (no payload formatter)', 'tts', JSON.stringify({ end_device_ids: { device_id: 'x-1' }, uplink_message: { f_cnt: 3 } }), 'no_decoded_object']
	])('%s: dead-lettered as %s, answered 200', async (_, kind, body, reason) => {
		const i = await integration(kind, kind === 'chirpstack' ? CS_APP : 'shudi-town', kind === 'tts' ? 'ttn' : undefined);
		const url = kind === 'chirpstack' ? `/api/v1/integrations/chirpstack/${i.id}?event=up` : `/api/v1/integrations/tts/${i.id}`;
		const mark = (await rt.db.query<{ id: number | null }>('SELECT max(id)::int AS id FROM dead_letters')).rows[0].id ?? 0;
		const r = await post(kind === 'chirpstack' ? chirpstackRoute : ttsRoute, url, i.id, body, { [SECRET_HEADER]: i.secret });
		expect(r.status).toBe(200);
		expect(r.body).toMatchObject({ stored: 0, rejected: [{ reason }] });
		const dl = await deadLetters('id > $1', [mark]);
		expect(dl.map((d) => d.reason)).toEqual([reason]);
		expect(Buffer.from(dl[0].payload)).toEqual(Buffer.from(body));
	});

	it('a body over the size limit is refused with 413 before it is read whole', async () => {
		const i = await integration('tts', 'shudi-town', 'ttn');
		const r = await post(ttsRoute, `/api/v1/integrations/tts/${i.id}`, i.id, 'x'.repeat(65 * 1024), { [SECRET_HEADER]: i.secret });
		expect(r.status).toBe(413);
	});
});

describe('no silent loss', () => {
	it.skipIf(REAL_MQTT)('embedded broker: a publish outside the ACL is dead-lettered (topic, bytes, reason), once per minute per key, and counted', async () => {
		const i = await integration('chirpstack', CS_APP);
		const devEui = eui();
		const topic = `application/00000000-0000-0000-0000-000000000000/device/${devEui}/event/up`;
		const body = JSON.stringify(chirpstackUp(devEui, { water_level_m: 4 }));
		for (let n = 0; n < 3; n++) {
			const c = mqtt.connect(rt.mqttUrl!, { username: i.id, password: i.secret, reconnectPeriod: 0, clientId: `acl-${i.id}` });
			await new Promise<void>((r) => c.once('connect', () => r()));
			c.publish(topic, body, { qos: 1 });
			// A refused publish ends the session (MQTT 3.1.1 has no negative PUBACK).
			await new Promise<void>((r) => c.once('close', () => r()));
			c.end(true);
		}
		const dl = await waitFor(async () => {
			await rt.refusals.flush();
			const d = await deadLetters('topic = $1', [topic]);
			return d.length ? d : null;
		});
		expect(dl).toHaveLength(1);
		expect(dl[0].reason).toBe('acl_refused');
		expect(Buffer.from(dl[0].payload).toString()).toBe(body);
		expect(dl[0].detail).toMatch(new RegExp(`^集成 ${i.id} 只能发布到 application/${CS_APP}/device/\\+/event/\\+ / integration ${i.id} may publish only to`));
		const counted = await waitFor(async () => {
			const r = (await refusals(i.id)).filter((x) => x.reason === 'acl_refused');
			return r.reduce((a, b) => a + b.attempts, 0) === 3 ? r : null;
		});
		expect(counted.every((x) => x.client_id === `acl-${i.id}`)).toBe(true);
	});

	it.skipIf(REAL_MQTT)("embedded broker: a device publishing to another device's topic is dead-lettered under its own id", async () => {
		const dev = await addDevice(null);
		const victim = await addDevice(null);
		const c = mqtt.connect(rt.mqttUrl!, { username: dev.id, password: dev.token, reconnectPeriod: 0 });
		await new Promise<void>((r) => c.once('connect', () => r()));
		c.publish(`shudi/v1/devices/${victim.id}/up`, '{"values":{"water_level_m":1}}', { qos: 1 });
		await new Promise<void>((r) => c.once('close', () => r()));
		c.end(true);
		const dl = await waitFor(async () => {
			await rt.refusals.flush();
			const d = await deadLetters('device_id = $1', [dev.id]);
			return d.length ? d : null;
		});
		expect(dl[0]).toMatchObject({ reason: 'acl_refused', topic: `shudi/v1/devices/${victim.id}/up` });
		// Replaying it would commit the impersonation the broker refused: it is never replayed.
		const ids = (await rt.db.query<{ id: number }>('SELECT id FROM dead_letters WHERE device_id = $1', [dev.id])).rows.map((r) => Number(r.id));
		const out = await replayDeadLetters(rt.db, rt.pipeline!, replayBody.parse({ ids }));
		expect(out.replayed).toBe(0);
		expect((await replayDeadLetters(rt.db, rt.pipeline!, replayBody.parse({ reason: 'acl_refused' }))).replayed).toBe(0);
		expect(await readings(victim.id)).toEqual([]);
	});

	it('ThingsBoard-style telemetry ends stored or dead-lettered, never vanished', async () => {
		const dev = await addDevice(null);
		const body = JSON.stringify({ water_level_m: 3.3 });
		if (REAL_MQTT) {
			// An external broker cannot say who published the raw topic: dead-lettered, with the reason and the fix.
			const c = await connect();
			await c.publishAsync('v1/devices/me/telemetry', body, { qos: 1 });
			const dl = await waitFor(async () => {
				const d = await deadLetters("reason = 'unattributable' AND payload = $1", [Buffer.from(body)]);
				return d.length ? d : null;
			});
			expect(dl[0].topic).toBe('v1/devices/me/telemetry');
			expect(dl[0].detail).toMatch(/^无法确定发布者.*shudi\/v1\/tb\/\$\{username\}\/telemetry.*cannot tell who published/);
			// Where the broker rewrites the topic with the publisher's username (EMQX topic rewrite), it is stored.
			await c.publishAsync(`shudi/v1/tb/${dev.id}/telemetry`, body, { qos: 1 });
		} else {
			// The embedded broker knows the device by its token and rewrites the topic itself.
			const c = await mqtt.connectAsync(rt.mqttUrl!, { username: dev.token, reconnectPeriod: 0 });
			cleanup.push(() => c.endAsync(true));
			await c.publishAsync('v1/devices/me/telemetry', body, { qos: 1 });
		}
		const rows = await waitFor(async () => {
			const r = await readings(dev.id);
			return r.length ? r : null;
		});
		expect(rows).toEqual([{ metric: 'water_level_m', value: 3.3 }]);
	});

	it('the raw ThingsBoard dialect on an external broker stops the start, and says why', () => {
		let err: unknown;
		try {
			parseConfig({ MQTT_URL: 'mqtt://broker.example:1883', THINGSBOARD_RAW: 'true' });
		} catch (e) {
			err = e;
		}
		expect(err).toBeInstanceOf(ConfigError);
		expect((err as ConfigError).problems[0]).toMatch(/^THINGSBOARD_RAW: 外部 MQTT 代理上无法识别.*an external broker cannot tell the ingest who published/);
		expect(parseConfig({ THINGSBOARD_RAW: 'true' }).THINGSBOARD_RAW).toBe(true);
	});

	it('a revoked integration cannot connect to the embedded broker at all', async () => {
		const i = await integration('tts', 'shudi-town', 'ttn');
		await revokeIntegration(rt.db, i.id, actor);
		await rt.broker?.reloadIntegrations();
		if (REAL_MQTT) return; // Mosquitto's accounts are Mosquitto's; the HTTP side is covered above.
		const err = await refusedConnect({ username: i.id, password: i.secret });
		expect(err.message).toMatch(/Bad username or password|Not authorized/i);
	});
});
