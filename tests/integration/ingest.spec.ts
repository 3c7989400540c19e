// Ingest end to end over real MQTT: the embedded broker by default, Mosquitto when TEST_MQTT_URL is set; the
// embedded database by default, PostgreSQL when TEST_DATABASE_URL is set.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { freshDb, REAL_MQTT, uniq, waitFor, type TestDb } from '../support/services';
import { startIngest, type IngestService } from '../../ingest/service';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../ingest/broker';
import { DeviceRegistry } from '../../ingest/registry';
import { hashToken, newDeviceToken } from '../../src/lib/server/devices/device-tokens';
import type { Db } from '../../src/lib/server/platform/db';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
	for (const c of cleanup.splice(0).reverse()) await c();
});

let t: TestDb;
beforeEach(async () => {
	t = await freshDb();
	cleanup.push(() => t.drop());
});

async function addDevice(db: Db, kind = 'river_level'): Promise<{ id: string; token: string }> {
	const id = uniq('T');
	const token = newDeviceToken();
	await db.query('INSERT INTO devices (id, name, kind, lng, lat, token_hash) VALUES ($1, $1, $2, 107.5, 26.5, $3)', [id, kind, hashToken(token)]);
	return { id, token };
}

async function ingest(db: Db, extra: Partial<Parameters<typeof startIngest>[0]> = {}): Promise<IngestService> {
	const svc = await startIngest({ db, mqttUrl: REAL_MQTT, clientId: uniq('ingest'), batchMs: 20, ...extra });
	cleanup.push(() => svc.stop());
	return svc;
}

async function device(svc: { mqttUrl: string }, dev: { id: string; token: string }, asToken = false): Promise<MqttClient> {
	const c = await mqtt.connectAsync(svc.mqttUrl, REAL_MQTT ? {} : asToken ? { username: dev.token } : { username: dev.id, password: dev.token });
	cleanup.push(() => c.endAsync(true));
	return c;
}

const readings = (db: Db, id: string) =>
	db.query<{ metric: string; value: number; seq: number | null; flags: number }>('SELECT metric, value, seq, flags FROM readings WHERE device_id = $1 ORDER BY observed_at, metric', [id]);
const deadLetters = (db: Db, id: string | null) =>
	db.query<{ reason: string; topic: string; payload: Buffer }>(
		'SELECT reason, topic, payload FROM dead_letters WHERE device_id IS NOT DISTINCT FROM $1 ORDER BY id',
		[id]
	);

describe('ingest over MQTT', () => {
	it('stores a native reading, its latest value and last_seen', async () => {
		const svc = await ingest(t.db);
		const dev = await addDevice(t.db);
		await svc.registry.reload();
		const c = await device(svc, dev);
		const ts = new Date(Date.now() - 60_000).toISOString();
		await c.publishAsync(`shudi/v1/devices/${dev.id}/up`, JSON.stringify({ ts, seq: 7, values: { water_level_m: 3.21, battery_v: 3.9 } }), { qos: 1 });
		const rows = await waitFor(async () => ((await readings(t.db, dev.id)).rows.length === 2 ? (await readings(t.db, dev.id)).rows : null));
		expect(rows).toEqual([
			{ metric: 'battery_v', value: 3.9, seq: 7, flags: 0 },
			{ metric: 'water_level_m', value: 3.21, seq: 7, flags: 0 }
		]);
		const lv = await t.db.query<{ value: number; observed_at: Date }>("SELECT value, observed_at FROM latest_values WHERE device_id = $1 AND metric = 'water_level_m'", [dev.id]);
		expect(lv.rows[0].value).toBe(3.21);
		expect(new Date(lv.rows[0].observed_at).toISOString()).toBe(ts);
		const d = await t.db.query<{ last_seen: Date; status: string }>('SELECT last_seen, status FROM devices WHERE id = $1', [dev.id]);
		expect(d.rows[0].status).toBe('normal');
		expect(Date.now() - new Date(d.rows[0].last_seen).getTime()).toBeLessThan(10_000);
	});

	it('stores a redelivered message once and counts the duplicate', async () => {
		const svc = await ingest(t.db);
		const dev = await addDevice(t.db);
		await svc.registry.reload();
		const c = await device(svc, dev);
		const body = JSON.stringify({ ts: new Date().toISOString(), seq: 1, values: { water_level_m: 2 } });
		await c.publishAsync(`shudi/v1/devices/${dev.id}/up`, body, { qos: 1 });
		await c.publishAsync(`shudi/v1/devices/${dev.id}/up`, body, { qos: 1 });
		await waitFor(async () => svc.writer.stats.duplicates >= 1);
		expect((await readings(t.db, dev.id)).rows).toHaveLength(1);
	});

	it('keeps the good values of a message, dead-letters the bad ones and whole bad messages, and keeps going', async () => {
		const svc = await ingest(t.db);
		const dev = await addDevice(t.db);
		await svc.registry.reload();
		const c = await device(svc, dev);
		const topic = `shudi/v1/devices/${dev.id}/up`;
		await c.publishAsync(topic, '{"ts": oops', { qos: 1 });
		await c.publishAsync(topic, JSON.stringify({ values: { water_level_m: 1.5, battery_v: 'low', rain_mm: -3 } }), { qos: 1 });
		await c.publishAsync(topic, JSON.stringify({ values: { water_level_m: 1.6 } }), { qos: 1 });
		await waitFor(async () => (await deadLetters(t.db, dev.id)).rows.length >= 3);
		const dl = (await deadLetters(t.db, dev.id)).rows;
		expect(dl.map((r) => r.reason).sort()).toEqual(['bad_json', 'not_a_number', 'out_of_range']);
		expect(Buffer.from(dl.find((r) => r.reason === 'bad_json')!.payload).toString()).toBe('{"ts": oops');
		await waitFor(async () => (await readings(t.db, dev.id)).rows.length === 2);
		const rows = (await readings(t.db, dev.id)).rows;
		expect(rows.map((r) => r.value).sort()).toEqual([1.5, 1.6]);
		// No device time in these messages: stored at receipt time, flagged.
		expect(rows.every((r) => r.flags === 2)).toBe(true);
	});

	it('dead-letters messages from unknown devices with their raw bytes', async () => {
		const svc = await ingest(t.db);
		const ghost = uniq('GHOST');
		if (REAL_MQTT) {
			const c = await mqtt.connectAsync(svc.mqttUrl);
			cleanup.push(() => c.endAsync(true));
			await c.publishAsync(`shudi/v1/devices/${ghost}/up`, '{"values":{"rain_mm":1}}', { qos: 1 });
			const dl = await waitFor(async () => (await deadLetters(t.db, ghost)).rows[0]);
			expect(dl.reason).toBe('unknown_device');
		} else {
			// The embedded broker refuses the connection itself, and records the attempt for an admin (mqtt-refusals.ts).
			await expect(mqtt.connectAsync(svc.mqttUrl, { username: ghost, password: 'x', reconnectPeriod: 0 })).rejects.toThrow();
			await svc.refusals!.flush();
			const r = await t.db.query<{ reason: string; attempts: number }>('SELECT reason, attempts FROM mqtt_refusals WHERE username = $1', [ghost]);
			expect(r.rows).toEqual([{ reason: 'unknown_device', attempts: 1 }]);
		}
	});

	it.each(REAL_MQTT ? [4, 5] : [4])(
		'acknowledges every stored message (MQTT %i): a restart with the same session is sent nothing again',
		async (protocolVersion) => {
			// PUBACKs go out in one write per batch, built by the subscriber itself. Were one missing or malformed, the
			// broker would redeliver its message to the restarted session (a duplicate) or drop the connection.
			// A broker that outlives both ingest processes: Mosquitto, or an embedded one started here.
			const registry = new DeviceRegistry(t.db);
			await registry.start();
			cleanup.push(async () => registry.stop());
			let mqttUrl = REAL_MQTT;
			let creds = {};
			if (!mqttUrl) {
				const broker = await startEmbeddedBroker({ port: 0, registry, log: (await import('../../src/lib/server/platform/log')).logger('test-broker') });
				cleanup.push(() => broker.close());
				mqttUrl = broker.url;
				creds = { username: broker.ingest.username, password: broker.ingest.password };
			}
			const opts = { db: t.db, mqttUrl, clientId: uniq('ingest'), batchMs: 20, protocolVersion: protocolVersion as 4 | 5, registry, ...creds };
			const first = await startIngest(opts);
			const dev = await addDevice(t.db);
			await registry.reload();
			const c = await device({ mqttUrl }, dev);
			const base = Date.now() - 100_000;
			await Promise.all(
				Array.from({ length: 300 }, (_, i) =>
					c.publishAsync(`shudi/v1/devices/${dev.id}/up`, JSON.stringify({ ts: base + i, seq: i + 1, values: { water_level_m: i } }), { qos: 1 })
				)
			);
			await waitFor(async () => (await readings(t.db, dev.id)).rows.length === 300);
			expect(first.writer.stats.duplicates).toBe(0);
			await first.stop();
			const second = await startIngest(opts);
			cleanup.push(() => second.stop());
			// A probe published after the restart arrives behind anything the broker would redeliver.
			await c.publishAsync(`shudi/v1/devices/${dev.id}/up`, JSON.stringify({ ts: base + 1000, seq: 1001, values: { water_level_m: 1 } }), { qos: 1 });
			await waitFor(async () => (await readings(t.db, dev.id)).rows.length === 301);
			expect(second.writer.stats.duplicates).toBe(0);
			expect(second.writer.stats.inserted).toBe(1);
		}
	);
});

describe.skipIf(!!REAL_MQTT)('embedded broker security', () => {
	it('refuses a wrong token and a device publishing as another device', async () => {
		const svc = await ingest(t.db);
		const a = await addDevice(t.db);
		const b = await addDevice(t.db);
		await svc.registry.reload();
		await expect(mqtt.connectAsync(svc.mqttUrl, { username: a.id, password: 'wrong', reconnectPeriod: 0 })).rejects.toThrow(/Bad username or password|Not authorized/i);
		const ca = await device(svc, a);
		// Aedes closes the connection of a client whose publish is not authorised; the reading must not be stored.
		ca.publish(`shudi/v1/devices/${b.id}/up`, JSON.stringify({ values: { water_level_m: 9 } }), { qos: 1 });
		const cb = await device(svc, b);
		await cb.publishAsync(`shudi/v1/devices/${b.id}/up`, JSON.stringify({ values: { water_level_m: 1 } }), { qos: 1 });
		await waitFor(async () => (await readings(t.db, b.id)).rows.length > 0);
		await new Promise((r) => setTimeout(r, 300));
		expect((await readings(t.db, b.id)).rows.map((r) => r.value)).toEqual([1]);
	});

	it('accepts ThingsBoard-style telemetry with the token as username', async () => {
		const svc = await ingest(t.db);
		const dev = await addDevice(t.db, 'rain_gauge');
		await svc.registry.reload();
		const c = await device(svc, dev, true);
		await c.publishAsync('v1/devices/me/telemetry', JSON.stringify({ ts: Date.now() - 1000, values: { rain_mm: 4.5 } }), { qos: 1 });
		const rows = await waitFor(async () => (await readings(t.db, dev.id)).rows[0]);
		expect(rows).toMatchObject({ metric: 'rain_mm', value: 4.5 });
	});

	it('holds at most its window of unacknowledged messages, whatever the broker sends, and loses none of the rest', async () => {
		// The embedded broker speaks MQTT 3.1.1, which has no receive maximum: only the ingest's own flow control (it
		// stops reading the socket when its window is full) keeps the backlog in the broker instead of this heap.
		// Mosquitto 2.0.11 overruns an MQTT 5 receive maximum the same way once PUBACKs flow (`npm run bench:ingest`).
		let down = true;
		const flaky: Db = { ...t.db, tx: (fn) => (down ? Promise.reject(new Error('connection refused')) : t.db.tx(fn)) };
		const svc = await ingest(flaky, { receiveMaximum: 100 });
		const dev = await addDevice(t.db);
		await svc.registry.reload();
		const c = await device(svc, dev);
		let most = 0;
		const watch = setInterval(() => (most = Math.max(most, svc.subscriber.inFlight)), 5);
		cleanup.push(async () => clearInterval(watch));
		const base = Date.now() - 100_000;
		await Promise.all(
			Array.from({ length: 600 }, (_, i) =>
				c.publishAsync(`shudi/v1/devices/${dev.id}/up`, JSON.stringify({ ts: new Date(base + i).toISOString(), seq: i + 1, values: { water_level_m: i } }), { qos: 1 })
			)
		);
		await waitFor(async () => svc.subscriber.inFlight >= 100 && svc.writer.stats.failures > 0);
		await new Promise((r) => setTimeout(r, 300));
		most = Math.max(most, svc.subscriber.inFlight);
		expect(most).toBe(100);
		down = false;
		await waitFor(async () => (await readings(t.db, dev.id)).rows.length === 600, 20_000);
		const seqs = (await readings(t.db, dev.id)).rows.map((r) => r.seq);
		expect(seqs).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
		expect(most).toBe(100);
	});

	it('holds the acknowledgement while the database is down and loses nothing across an ingest crash', async () => {
		// A broker that outlives the ingest process, as Mosquitto would.
		const registry = new DeviceRegistry(t.db);
		await registry.start();
		cleanup.push(async () => registry.stop());
		const broker: EmbeddedBroker = await startEmbeddedBroker({ port: 0, registry, log: (await import('../../src/lib/server/platform/log')).logger('test-broker') });
		cleanup.push(() => broker.close());
		const dev = await addDevice(t.db);
		await registry.reload();
		// The database "goes down": every transaction fails.
		let down = true;
		const flaky: Db = { ...t.db, tx: (fn) => (down ? Promise.reject(new Error('connection refused')) : t.db.tx(fn)) };
		const clientId = uniq('ingest');
		const opts = { mqttUrl: broker.url, username: broker.ingest.username, password: broker.ingest.password, protocolVersion: 4 as const, clientId, batchMs: 20, registry };
		const first = await startIngest({ ...opts, db: flaky });
		const c = await device({ mqttUrl: broker.url }, dev);
		for (let seq = 1; seq <= 20; seq++)
			await c.publishAsync(`shudi/v1/devices/${dev.id}/up`, JSON.stringify({ ts: new Date(Date.now() - 100_000 + seq).toISOString(), seq, values: { water_level_m: seq } }), { qos: 1 });
		await waitFor(async () => first.writer.stats.failures > 0);
		expect((await readings(t.db, dev.id)).rows).toHaveLength(0);
		// Crash: the connection drops without the held PUBACKs ever being sent.
		(first.subscriber as unknown as { client: MqttClient }).client.end(true);
		down = false;
		const second = await startIngest({ ...opts, db: t.db });
		cleanup.push(() => second.stop());
		await waitFor(async () => (await readings(t.db, dev.id)).rows.length === 20, 10_000);
		const seqs = (await readings(t.db, dev.id)).rows.map((r) => r.seq);
		expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
		// The first writer still retries its batch; once the database is back it commits too — idempotently.
		await first.stop();
		expect((await readings(t.db, dev.id)).rows).toHaveLength(20);
	});
});
