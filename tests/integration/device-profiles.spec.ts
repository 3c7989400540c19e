// Device profiles end to end (issue 22 item 1): a vendor's payload, published as the network server or the device
// publishes it, stored under shudi metrics in shudi units — and what the profile cannot read held in the dead
// letters with its reason, never dropped. Embedded broker and database by default; Mosquitto and PostgreSQL when
// TEST_MQTT_URL / TEST_DATABASE_URL are set.
//
// SOURCE: tests/fixtures/profiles/milesight-em500-swl/SOURCE.txt (Milesight EM500-SWL decoder output inside a
//   ChirpStack v4 uplink event); tests/fixtures/profiles/dtu-json/SOURCE.txt (HoldingByte DTU data format).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { freshDb, REAL_MQTT, uniq, waitFor, type TestDb } from '../support/services';
import { startIngest, type IngestService } from '../../ingest/service';
import { hashToken, newDeviceToken } from '../../src/lib/server/devices/device-tokens';
import { DeviceAdminError, setDeviceProfile } from '../../src/lib/server/devices/device-admin';
import { createIntegration } from '../../src/lib/server/devices/integrations';
import * as profilesRoute from '../../src/routes/api/v1/profiles/+server';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
	for (const c of cleanup.splice(0).reverse()) await c();
});

// One database for the file: every test registers devices of its own.
let t: TestDb;
beforeAll(async () => {
	t = await freshDb();
}, 120_000);
afterAll(async () => {
	await t?.drop();
});

const actor = { id: null, name: 'test' };
const CS_APP = '17c82e96-be03-4f38-aef3-f83d48582d97';
const swlUplink = JSON.parse(readFileSync('tests/fixtures/profiles/milesight-em500-swl/chirpstack-uplink.json', 'utf8'));

async function addDevice(kind: string, devEui: string | null = null): Promise<{ id: string; token: string }> {
	const id = uniq('P');
	const token = newDeviceToken();
	await t.db.query('INSERT INTO devices (id, name, kind, lng, lat, token_hash, dev_eui) VALUES ($1, $1, $2, 107.5, 26.5, $3, $4)', [id, kind, hashToken(token), devEui]);
	return { id, token };
}

async function ingest(): Promise<IngestService> {
	const svc = await startIngest({ db: t.db, mqttUrl: REAL_MQTT, clientId: uniq('ingest'), batchMs: 20 });
	cleanup.push(() => svc.stop());
	return svc;
}

async function connect(svc: IngestService, opts: { username?: string; password?: string }): Promise<MqttClient> {
	// Mosquitto in the tests takes anyone; the embedded broker wants the account.
	const c = await mqtt.connectAsync(svc.mqttUrl, { ...(REAL_MQTT ? {} : opts), reconnectPeriod: 0, clientId: uniq('pc') });
	cleanup.push(() => c.endAsync(true));
	return c;
}

const readings = async (id: string) =>
	(await t.db.query<{ metric: string; value: number; observed_at: Date }>('SELECT metric, value, observed_at FROM readings WHERE device_id = $1 ORDER BY metric, observed_at', [id])).rows.map((r) => ({
		metric: r.metric,
		value: r.value,
		at: new Date(r.observed_at).toISOString()
	}));
const deadLetters = async (id: string) => (await t.db.query<{ reason: string; detail: string | null }>('SELECT reason, detail FROM dead_letters WHERE device_id = $1 ORDER BY id', [id])).rows;

function uplink(devEui: string, object: Record<string, unknown>, at: string) {
	return JSON.stringify({ ...swlUplink, time: at, deviceInfo: { ...swlUplink.deviceInfo, devEui }, object });
}

describe('device profiles through the ingest', () => {
	it('an EM500-SWL ChirpStack uplink stores its depth of 150 cm as water_level_m 1.5 (metres) at the uplink’s time', async () => {
		const devEui = randomBytes(8).toString('hex');
		const dev = await addDevice('river_level', devEui);
		await setDeviceProfile(t.db, dev.id, 'milesight-em500-swl', actor);
		const { integration, secret } = await createIntegration(t.db, { id: uniq('cs').toLowerCase(), kind: 'chirpstack', application_id: CS_APP, name: '' } as never, actor);
		const svc = await ingest();
		const c = await connect(svc, { username: integration.id, password: secret });
		const at = new Date(Date.now() - 60_000).toISOString();
		await c.publishAsync(`application/${CS_APP}/device/${devEui}/event/up`, uplink(devEui, swlUplink.object, at), { qos: 1 });
		const rows = await waitFor(async () => {
			const r = await readings(dev.id);
			return r.length === 4 ? r : null;
		});
		expect(rows).toEqual([
			{ metric: 'battery_pct', value: 85, at },
			{ metric: 'rssi_dbm', value: -97, at },
			{ metric: 'snr_db', value: 7.5, at },
			{ metric: 'water_level_m', value: 1.5, at }
		]);
		expect(await deadLetters(dev.id)).toEqual([]);

		// A history frame after an outage: the kept reading at its own time (epoch seconds); the uplink's radio
		// metadata is not stamped onto a reading an hour old.
		const sec = Math.floor(Date.now() / 1000) - 3600;
		await c.publishAsync(`application/${CS_APP}/device/${devEui}/event/up`, uplink(devEui, { history: [{ timestamp: sec, depth: 120 }] }, new Date(Date.now() - 45_000).toISOString()), { qos: 1 });
		const backlog = await waitFor(async () => (await readings(dev.id)).filter((r) => r.at === new Date(sec * 1000).toISOString()).length ? readings(dev.id) : null);
		expect(backlog.filter((r) => r.at === new Date(sec * 1000).toISOString())).toEqual([{ metric: 'water_level_m', value: 1.2, at: new Date(sec * 1000).toISOString() }]);
		expect(backlog).toHaveLength(5);

		// A fault frame: the battery is stored, the sensor's own error is held with its reason.
		await c.publishAsync(`application/${CS_APP}/device/${devEui}/event/up`, uplink(devEui, { battery: 92, depth_error: 'collection failed' }, new Date(Date.now() - 30_000).toISOString()), { qos: 1 });
		const dl = await waitFor(async () => ((await deadLetters(dev.id)).length ? deadLetters(dev.id) : null));
		expect(dl).toEqual([{ reason: 'sensor_fault', detail: JSON.stringify({ metric: 'depth_error', value: 'collection failed' }) }]);
	});

	it('a DTU’s JSON (epoch seconds, nested data) on the ThingsBoard topic: stored at its own time; an unknown key is held under its path', async () => {
		const dev = await addDevice('river_level');
		await setDeviceProfile(t.db, dev.id, 'dtu-json', actor);
		const svc = await ingest();
		const c = await connect(svc, { username: dev.token });
		const sec = Math.floor(Date.now() / 1000) - 120;
		const topic = REAL_MQTT ? `shudi/v1/tb/${dev.id}/telemetry` : 'v1/devices/me/telemetry';
		await c.publishAsync(topic, JSON.stringify({ imei: '860061060000000', time: sec, iccid: '89860620220031600000', data: { water_level_m: 1.23, k3: 666 } }), { qos: 1 });
		const rows = await waitFor(async () => {
			const r = await readings(dev.id);
			return r.length === 1 ? r : null;
		});
		expect(rows).toEqual([{ metric: 'water_level_m', value: 1.23, at: new Date(sec * 1000).toISOString() }]);
		const dl = await waitFor(async () => ((await deadLetters(dev.id)).length ? deadLetters(dev.id) : null));
		expect(dl).toEqual([{ reason: 'unknown_metric', detail: JSON.stringify({ metric: 'data.k3', value: 666 }) }]);
	});

	it('an ultrasonic gauge waits for its mount height, then stores level = height − distance', async () => {
		const devEui = randomBytes(8).toString('hex');
		const dev = await addDevice('river_level', devEui);
		await setDeviceProfile(t.db, dev.id, 'milesight-em500-udl', actor);
		const { integration, secret } = await createIntegration(t.db, { id: uniq('cs').toLowerCase(), kind: 'chirpstack', application_id: CS_APP, name: '' } as never, actor);
		const svc = await ingest();
		const c = await connect(svc, { username: integration.id, password: secret });
		const send = (ago: number) => c.publishAsync(`application/${CS_APP}/device/${devEui}/event/up`, uplink(devEui, { battery: 80, distance: 4000 }, new Date(Date.now() - ago).toISOString()), { qos: 1 });
		await send(90_000);
		const dl = await waitFor(async () => ((await deadLetters(dev.id)).length ? deadLetters(dev.id) : null));
		expect(dl).toEqual([{ reason: 'needs_offset', detail: JSON.stringify({ metric: 'distance', value: 4000 }) }]);

		await setDeviceProfile(t.db, dev.id, 'milesight-em500-udl', actor, [{ path: 'distance', metric: 'water_level_m', unit: 'mm', scale: -1, offset: 5000 }]);
		await svc.registry.reload();
		await send(60_000);
		const level = await waitFor(async () => (await readings(dev.id)).find((r) => r.metric === 'water_level_m'));
		expect(level.value).toBe(1);
	});

	it('GET /api/v1/profiles lists the built-ins with zh/en names, the metrics each yields and where its format is published', async () => {
		const res = await profilesRoute.GET({} as never);
		const body = (await res.json()) as { profiles: { name: string; label: { zh: string; en: string }; metrics: string[]; source: string }[] };
		const swl = body.profiles.find((p) => p.name === 'milesight-em500-swl');
		expect(swl).toMatchObject({ label: { zh: expect.stringContaining('水位'), en: expect.stringContaining('water level') }, metrics: ['water_level_m', 'battery_pct'] });
		expect(swl?.source).toMatch(/^https:\/\/github\.com\/Milesight-IoT\/SensorDecoders/);
		expect(body.profiles.map((p) => p.name)).toHaveLength(7);
	});

	it('an unknown profile name is refused with the list of known ones', async () => {
		const dev = await addDevice('river_level');
		const err = await setDeviceProfile(t.db, dev.id, 'acme-9000', actor).catch((e) => e);
		expect(err).toBeInstanceOf(DeviceAdminError);
		expect(err.message).toMatch(/No profile named acme-9000; known: .*milesight-em500-swl/);
	});
});
