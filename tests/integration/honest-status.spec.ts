// Honest status (issue 22) end to end: a river gauge whose LoRaWAN uplinks carry only radio metadata and battery is
// `no_data` (无测量数据) in the API and the sensor list — never normal —; a water level makes it normal; metadata alone
// after the offline window makes it no_data again; silence makes it offline; an unknown key on a known device is one
// device-health notice a day. Over MQTT on Mosquitto (TEST_MQTT_URL) and PostgreSQL (TEST_DATABASE_URL) when set;
// by default the embedded database, with the uplinks handed to the ingest pipeline directly — the embedded broker
// admits device accounts only, and a ChirpStack server has none (the path after the broker is the same).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { randomBytes } from 'node:crypto';
import { freshDb, REAL_MQTT, uniq, waitFor, type TestDb } from '../support/services';
import { startIngest, type IngestService } from '../../ingest/service';
import { RuleRunner } from '../../ingest/rule-runner';
import { OfflineWatcher } from '../../ingest/offline';
import { sensorDetail, sensorsGeoJSON } from '../../src/lib/server/map/queries';
import { deadLettersLink, listDeviceNotices } from '../../src/lib/server/devices/device-notices';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
	for (const c of cleanup.splice(0).reverse()) await c();
});

let t: TestDb;
let svc: IngestService;
let rules: RuleRunner;
let client: MqttClient | null = null;
beforeEach(async () => {
	t = await freshDb();
	cleanup.push(() => t.drop());
	rules = new RuleRunner(t.db, { tz: 'Asia/Shanghai', everyMs: 1, minIntervalMs: 0 });
	cleanup.push(async () => rules.stop());
	svc = await startIngest({ db: t.db, mqttUrl: REAL_MQTT, clientId: uniq('ingest'), batchMs: 20, onCommitted: (r) => rules.committed(r) });
	cleanup.push(() => svc.stop());
	if (REAL_MQTT) {
		const c = (client = await mqtt.connectAsync(REAL_MQTT, { clientId: uniq('chirpstack') }));
		cleanup.push(async () => {
			await c.endAsync(true);
			client = null;
		});
	}
});

const INTERVAL_S = 60;

/** A river gauge known by its DevEUI, as a LoRaWAN sensor is registered. */
async function gauge(): Promise<{ id: string; devEui: string }> {
	const id = uniq('RL');
	const devEui = randomBytes(8).toString('hex');
	await t.db.query("INSERT INTO devices (id, name, kind, lng, lat, dev_eui, interval_s) VALUES ($1, $1, 'river_level', 107.5, 26.5, $2, $3)", [id, devEui, INTERVAL_S]);
	await svc.registry.reload();
	return { id, devEui };
}

/**
 * A ChirpStack v4 uplink event (integration.proto UplinkEvent, JSON mapping;
 * SOURCE: https://www.chirpstack.io/docs/chirpstack/integrations/events.html "up" event). `object` is what the
 * device profile's codec decoded; rxInfo's rssi and snr become rssi_dbm / snr_db (ingest/decoders/chirpstack.ts).
 */
function uplink(devEui: string, object: Record<string, unknown>, fCnt: number, time = new Date()): { topic: string; body: Buffer } {
	const body = {
		deduplicationId: randomBytes(16).toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5'),
		time: time.toISOString(),
		deviceInfo: { tenantId: '52f14cd4-c6f1-4fbd-8f87-4025e1d49242', tenantName: 'shudi', applicationId: '17c82e96-be03-4f38-aef3-f83d48582d97', applicationName: 'river', deviceProfileName: 'gauge', deviceName: 'gauge', devEui },
		devAddr: '00189440',
		adr: true,
		dr: 5,
		fCnt,
		fPort: 2,
		confirmed: false,
		data: 'AQID',
		object,
		rxInfo: [{ gatewayId: '0016c001ff10d3f6', uplinkId: 4217106255, rssi: -97, snr: 7.5, context: 'EFwMtA==' }],
		txInfo: { frequency: 486300000, modulation: { lora: { bandwidth: 125000, spreadingFactor: 7, codeRate: 'CR_4_5' } } }
	};
	return { topic: `application/17c82e96-be03-4f38-aef3-f83d48582d97/device/${devEui}/event/up`, body: Buffer.from(JSON.stringify(body)) };
}

const readingCount = async (id: string) => (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM readings WHERE device_id = $1', [id])).rows[0].n;
const deadCount = async (id: string) => (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM dead_letters WHERE device_id = $1', [id])).rows[0].n;

/** Sends an uplink and waits until its rows (readings and dead letters) have committed, then the rules have run. */
async function send(dev: { id: string; devEui: string }, object: Record<string, unknown>, fCnt: number, time?: Date): Promise<void> {
	const { topic, body } = uplink(dev.devEui, object, fCnt, time);
	const before = (await readingCount(dev.id)) + (await deadCount(dev.id));
	if (client) await client.publishAsync(topic, body, { qos: 1 });
	else await svc.pipeline.handle(topic, body);
	await waitFor(async () => (await readingCount(dev.id)) + (await deadCount(dev.id)) > before, 10_000);
	await rules.idle();
}

/** What the duty map and the API say: the sensor list (GET /api/v1/sensors) and the sensor (GET /api/v1/sensors/{id}). */
async function shown(id: string) {
	const list = (await sensorsGeoJSON(t.db)).features.find((f) => f.properties.id === id)!.properties;
	const one = (await sensorDetail(t.db, id))!.properties;
	return { list: list.status, api: one.status, low_battery: list.low_battery, values: Object.keys(one.values).sort(), last_measured_at: one.last_measured_at };
}

const events = async (id: string) => (await t.db.query<{ kind: string }>('SELECT kind FROM device_events WHERE device_id = $1 ORDER BY id', [id])).rows.map((r) => r.kind);

/** Moves a device's past back by `ms`, as if that much time had passed since it last reported. */
async function age(id: string, ms: number): Promise<void> {
	await t.db.query(
		`UPDATE devices SET last_seen = last_seen - make_interval(secs => $2::float8 / 1000), last_measured_at = last_measured_at - make_interval(secs => $2::float8 / 1000) WHERE id = $1`,
		[id, ms]
	);
	svc.writer.forget([id]);
}

describe('honest status', () => {
	it('a gauge sending only radio metadata and battery is no_data, never normal; a water level makes it normal', async () => {
		const dev = await gauge();
		expect((await shown(dev.id)).api).toBe('unknown');
		await send(dev, { battery_pct: 100 }, 1);
		await send(dev, { battery_pct: 99 }, 2);
		// Stored, and visible — but not as a working gauge.
		expect(await shown(dev.id)).toEqual({ list: 'no_data', api: 'no_data', low_battery: false, values: ['battery_pct', 'rssi_dbm', 'snr_db'], last_measured_at: null });
		expect(await events(dev.id)).toEqual(['no_data']);

		// A flat battery still raises its low-battery alarm, and the sensor still says no measurement data.
		await send(dev, { battery_pct: 5 }, 3);
		const alarms = await t.db.query<{ rule: string }>('SELECT rule FROM alarms WHERE device_id = $1 AND cleared_at IS NULL', [dev.id]);
		expect(alarms.rows.map((a) => a.rule)).toEqual(['battery_low']);
		expect(await shown(dev.id)).toMatchObject({ list: 'no_data', api: 'no_data', low_battery: true });

		// The battery is full again, so its alarm clears: nothing but the water level is judged.
		const at = new Date();
		await send(dev, { water_level_m: 1.25, battery_pct: 96 }, 4, at);
		const s = await shown(dev.id);
		expect(s).toMatchObject({ list: 'normal', api: 'normal', low_battery: false });
		expect(s.last_measured_at).toBe(at.toISOString());
		expect(await events(dev.id)).toEqual(['no_data', 'online']);
	});

	it('a backlog measurement from long ago does not make a silent gauge normal', async () => {
		const dev = await gauge();
		await send(dev, { water_level_m: 1.1 }, 1, new Date(Date.now() - 2 * 3600_000));
		expect(await shown(dev.id)).toMatchObject({ list: 'no_data', api: 'no_data' });
	});

	it('metadata alone after the offline window makes it no_data; nothing at all makes it offline; it comes back', async () => {
		const watcher = new OfflineWatcher(t.db, { afterIntervals: 3, onChange: (c) => svc.writer.forget(c.map((x) => x.id)) });
		const dev = await gauge();
		const quiet = await gauge();
		await send(dev, { water_level_m: 1.3 }, 1);
		await send(quiet, { water_level_m: 0.8 }, 1);
		expect(await shown(dev.id)).toMatchObject({ api: 'normal' });
		expect(await watcher.check(new Date())).toEqual([]);

		// Ten minutes later (beyond 3 × 60 s): `dev` still sends its radio metadata and battery, `quiet` nothing at all.
		await age(dev.id, 600_000);
		await age(quiet.id, 600_000);
		await send(dev, { battery_pct: 90 }, 2);
		// Until the timer runs the gauge keeps its last judged status; the timer then says what is true.
		const changed = await watcher.check(new Date());
		expect(changed.map((c) => [c.id, c.status]).sort()).toEqual([[dev.id, 'no_data'], [quiet.id, 'offline']].sort());
		expect(await shown(dev.id)).toMatchObject({ list: 'no_data', api: 'no_data' });
		expect(await shown(quiet.id)).toMatchObject({ list: 'offline', api: 'offline' });
		expect(await watcher.check(new Date())).toEqual([]); // once, not every pass

		// More metadata keeps it no_data; when that stops too, it is offline.
		await send(dev, { battery_pct: 90 }, 3);
		expect(await shown(dev.id)).toMatchObject({ api: 'no_data' });
		const later = new Date(Date.now() + 4 * INTERVAL_S * 1000);
		expect((await watcher.check(later)).map((c) => [c.id, c.status])).toEqual([[dev.id, 'offline']]);

		// An offline gauge that only talks again is no_data, not normal; a water level brings it back.
		await send(quiet, { battery_pct: 80 }, 2);
		expect(await shown(quiet.id)).toMatchObject({ list: 'no_data', api: 'no_data' });
		await send(quiet, { water_level_m: 0.9 }, 3);
		expect(await shown(quiet.id)).toMatchObject({ list: 'normal', api: 'normal' });
		expect(await events(quiet.id)).toEqual(['offline', 'no_data', 'online']);
		expect(await events(dev.id)).toEqual(['no_data', 'offline']);
	});

	it('an unknown key on a known device is one notice per key and day, counted, with a sample, linked to its dead letters', async () => {
		const dev = await gauge();
		await send(dev, { water_level_m: 1.0, depth: 2 }, 1);
		await send(dev, { water_level_m: 1.0, depth: 3 }, 2);
		await send(dev, { water_level_m: 1.0, depth: 4, angle_x: '0.5' }, 3);
		const rows = await t.db.query<{ key: string; count: number; sample: string }>("SELECT key, count, sample FROM device_notices WHERE device_id = $1 AND kind = 'unknown_key' ORDER BY key", [dev.id]);
		expect(rows.rows).toEqual([
			{ key: 'angle_x', count: 1, sample: '"0.5"' },
			{ key: 'depth', count: 3, sample: '4' }
		]);
		// The water level was stored all the same: one unknown key never hides the rest.
		expect(await shown(dev.id)).toMatchObject({ api: 'normal' });
		const notices = (await listDeviceNotices(t.db, { tz: 'Asia/Shanghai' })).filter((n) => n.kind === 'unknown_key');
		expect(notices.map((n) => [n.device_id, n.key, n.count, n.sample]).sort()).toEqual([
			[dev.id, 'angle_x', 1, '"0.5"'],
			[dev.id, 'depth', 3, '4']
		]);
		expect(deadLettersLink(dev.id)).toBe(`/admin/dead-letters?device=${encodeURIComponent(dev.id)}&reason=unknown_metric`);

		// The next local day is a new notice (received then; handed to the pipeline to set the receipt time).
		const tomorrow = new Date(Date.now() + 24 * 3600_000);
		const { topic, body } = uplink(dev.devEui, { depth: 5 }, 4);
		await svc.pipeline.handle(topic, body, { receivedAt: tomorrow });
		const days = await t.db.query<{ n: number; total: number }>("SELECT count(*)::int AS n, sum(count)::int AS total FROM device_notices WHERE device_id = $1 AND kind = 'unknown_key' AND key = 'depth'", [dev.id]);
		expect(days.rows[0]).toEqual({ n: 2, total: 4 });
	});
});
