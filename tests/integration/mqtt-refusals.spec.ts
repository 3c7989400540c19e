// Refused MQTT connections at the embedded broker are aggregated (src/lib/server/devices/mqtt-refusals.ts): a burst of bad
// logins adds one row per (client id, username, reason) per minute with its count, the caps hold, /metrics counts
// them by reason, and good devices keep connecting and storing meanwhile. Always the embedded broker (refusals at
// Mosquitto are Mosquitto's to log); the database is PostgreSQL when TEST_DATABASE_URL is set.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { freshDb, uniq, waitFor, type TestDb } from '../support/services';
import { startIngest, type IngestService } from '../../ingest/service';
import { ingestMetrics } from '../../ingest/metrics';
import { RefusalRecorder, OVER_CAP, listRefusals } from '../../src/lib/server/devices/mqtt-refusals';
import { hashToken, newDeviceToken } from '../../src/lib/server/devices/device-tokens';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
	for (const c of cleanup.splice(0).reverse()) await c();
});

// One database for the file (a fresh one costs seconds); each test starts with no refusals recorded.
let t: TestDb;
beforeAll(async () => {
	t = await freshDb();
});
afterAll(async () => {
	await t.drop();
});
beforeEach(async () => {
	await t.db.query('DELETE FROM mqtt_refusals');
});

async function ingest(extra: Partial<Parameters<typeof startIngest>[0]> = {}): Promise<IngestService> {
	const svc = await startIngest({ db: t.db, clientId: uniq('ingest'), batchMs: 20, ...extra });
	cleanup.push(() => svc.stop());
	return svc;
}

async function addDevice(): Promise<{ id: string; token: string }> {
	const id = uniq('T');
	const token = newDeviceToken();
	await t.db.query("INSERT INTO devices (id, name, kind, lng, lat, token_hash) VALUES ($1, $1, 'river_level', 107.5, 26.5, $2)", [id, hashToken(token)]);
	return { id, token };
}

/** One refused connect: resolves when the broker has answered (CONNACK with an error, or the socket closed). */
function badConnect(url: string, o: { clientId: string; username?: string; password?: string }): Promise<void> {
	return new Promise((done) => {
		const c = mqtt.connect(url, { ...o, reconnectPeriod: 0, connectTimeout: 5000 });
		const end = () => c.end(true, {}, () => done());
		c.once('error', end);
		c.once('close', end);
		c.once('connect', () => {
			end();
			throw new Error(`connect as ${o.clientId} should have been refused`);
		});
	});
}

async function rows() {
	return (
		await t.db.query<{ client_id: string; username: string; reason: string; attempts: number; first_address: string | null }>(
			'SELECT client_id, username, reason, attempts, first_address FROM mqtt_refusals ORDER BY minute, id'
		)
	).rows;
}

/** Attempts per key, summed over minutes (a burst may straddle a minute boundary). */
function byKey(rs: Awaited<ReturnType<typeof rows>>): Record<string, number> {
	const out: Record<string, number> = {};
	for (const r of rs) out[`${r.client_id}|${r.username}|${r.reason}`] = (out[`${r.client_id}|${r.username}|${r.reason}`] ?? 0) + r.attempts;
	return out;
}

function metric(text: string, name: string, labels: string): number {
	const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
	return line ? Number(line.split(' ').pop()) : 0;
}

describe('refused MQTT connections', () => {
	it('250 bad connects become a handful of counted rows, metrics count them, and a good device keeps storing', async () => {
		const svc = await ingest();
		const dev = await addDevice();
		await svc.registry.reload();
		const good = await mqtt.connectAsync(svc.mqttUrl, { username: dev.id, password: dev.token, reconnectPeriod: 0 });
		cleanup.push(() => good.endAsync(true));

		// Three misbehaving clients retrying: a device with a wrong token, an unknown device, no credentials at all.
		const ghost = uniq('GHOST');
		const attempts = [
			...Array.from({ length: 120 }, () => ({ clientId: 'wrong-token', username: dev.id, password: 'not-the-token' })),
			...Array.from({ length: 100 }, () => ({ clientId: 'ghost', username: ghost, password: 'x' })),
			...Array.from({ length: 30 }, () => ({ clientId: 'anon' }))
		];
		let published = 0;
		for (let i = 0; i < attempts.length; i += 25) {
			await Promise.all(attempts.slice(i, i + 25).map((a) => badConnect(svc.mqttUrl, a)));
			// Meanwhile, the good device reports.
			await good.publishAsync(`shudi/v1/devices/${dev.id}/up`, JSON.stringify({ ts: new Date(Date.now() - 60_000 + published * 1000).toISOString(), values: { water_level_m: 1 + published / 100 } }), { qos: 1 });
			published++;
		}
		await waitFor(async () => (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM readings WHERE device_id = $1', [dev.id])).rows[0].n === published);

		// Written off the connect path, within a flush interval.
		await waitFor(async () => Object.values(byKey(await rows())).reduce((a, b) => a + b, 0) === 250, 10_000);
		const rs = await rows();
		expect(rs.length).toBeLessThanOrEqual(6);
		expect(byKey(rs)).toEqual({ [`wrong-token|${dev.id}|bad_token`]: 120, [`ghost|${ghost}|unknown_device`]: 100, ['anon||no_credentials']: 30 });
		expect(rs.every((r) => r.first_address && /127\.0\.0\.1/.test(r.first_address))).toBe(true);

		const text = await ingestMetrics(() => svc, t.db).render();
		expect(metric(text, 'shudi_mqtt_refused_connections_total', 'reason="bad_token"')).toBe(120);
		expect(metric(text, 'shudi_mqtt_refused_connections_total', 'reason="unknown_device"')).toBe(100);
		expect(metric(text, 'shudi_mqtt_refused_connections_total', 'reason="no_credentials"')).toBe(30);

		// What the admin page shows.
		const page = await listRefusals(t.db);
		expect(page.attempts).toBe(250);
		expect(page.byReason).toEqual({ bad_token: 120, unknown_device: 100, no_credentials: 30 });
	});

	it('caps the rows of a minute: a scan with 300 client ids adds the cap plus one overflow row', async () => {
		const svc = await ingest({ refusals: { perMinute: 20, flushMs: 100 } });
		for (let i = 0; i < 300; i += 30) await Promise.all(Array.from({ length: 30 }, (_, j) => badConnect(svc.mqttUrl, { clientId: `scan-${i + j}` })));
		await waitFor(async () => (await rows()).reduce((a, r) => a + r.attempts, 0) === 300, 10_000);
		const rs = await rows();
		// Per minute: 20 itemised rows and one overflow row (two minutes at most if the scan straddles a boundary).
		const minutes = new Set((await t.db.query<{ m: string }>('SELECT DISTINCT minute::text AS m FROM mqtt_refusals')).rows.map((r) => r.m)).size;
		expect(rs.length).toBeLessThanOrEqual(21 * minutes);
		const over = rs.filter((r) => r.reason === OVER_CAP);
		expect(over.reduce((a, r) => a + r.attempts, 0)).toBe(300 - (rs.length - over.length));
		const text = await ingestMetrics(() => svc, t.db).render();
		expect(metric(text, 'shudi_mqtt_refusals_dropped_total', 'cap="per_minute"')).toBe(over.reduce((a, r) => a + r.attempts, 0));
		expect(metric(text, 'shudi_mqtt_refused_connections_total', 'reason="no_credentials"')).toBe(300);
	});

	it('keeps at most maxRows rows in all, oldest minutes first, and counts what it pruned', async () => {
		let now = Date.parse('2026-03-01T08:00:00Z');
		const sut = new RefusalRecorder(t.db, { perMinute: 10, maxRows: 25, now: () => now });
		for (let minute = 0; minute < 5; minute++) {
			for (let i = 0; i < 10; i++) sut.note({ clientId: `c${i}`, username: 'u', reason: 'bad_token', address: '10.0.0.9' });
			now += 60_000;
			await sut.flush();
		}
		const rs = await t.db.query<{ minute: Date }>('SELECT minute FROM mqtt_refusals ORDER BY minute');
		expect(rs.rows).toHaveLength(25);
		// The newest minutes are kept.
		expect(new Date(rs.rows[0].minute).toISOString()).toBe('2026-03-01T08:02:00.000Z');
		expect(sut.dropped.retained).toBe(25);
		expect(sut.counts.get('bad_token')).toBe(50);
	});

	it('adds later attempts of a minute to its row, across flushes, keeping the first attempt details', async () => {
		let now = Date.parse('2026-03-01T08:00:05Z');
		const sut = new RefusalRecorder(t.db, { perMinute: 10, maxRows: 100, now: () => now });
		sut.note({ clientId: 'dev', username: 'D1', reason: 'bad_token', address: '10.0.0.1' });
		await sut.flush();
		now += 10_000;
		sut.note({ clientId: 'dev', username: 'D1', reason: 'bad_token', address: '10.0.0.2' });
		sut.note({ clientId: 'dev', username: 'D1', reason: 'bad_token', address: '10.0.0.3' });
		await sut.flush();
		const r = await t.db.query<{ attempts: number; first_at: Date; first_address: string }>('SELECT attempts, first_at, first_address FROM mqtt_refusals');
		expect(r.rows).toHaveLength(1);
		expect(r.rows[0].attempts).toBe(3);
		expect(r.rows[0].first_address).toBe('10.0.0.1');
		expect(new Date(r.rows[0].first_at).toISOString()).toBe('2026-03-01T08:00:05.000Z');
	});
});
