// Late data and suspect data judged honestly (issue 22 item 7), over real MQTT: the embedded broker and database by
// default, Mosquitto and PostgreSQL when TEST_MQTT_URL / TEST_DATABASE_URL are set. A backlog older than the newest
// judged reading still raises its alarm, marked late at its real time, without flipping the sensor's current status;
// the same backlog again raises nothing; a jump no physical process makes and a stuck value are flagged and tell the
// maintainer, and do not open a red case alone; a baseline comes from a window of readings.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { freshDb, REAL_MQTT, uniq, waitFor, type TestDb } from '../support/services';
import { startIngest, type IngestService } from '../../ingest/service';
import { RuleRunner } from '../../ingest/rule-runner';
import { hashToken, newDeviceToken } from '../../src/lib/server/devices/device-tokens';
import { calibrate, DeviceAdminError } from '../../src/lib/server/devices/device-admin';
import { READING_FLAGS } from '../../src/lib/domain/types';

const MIN = 60_000;
const TZ = 'Asia/Shanghai';
const cleanup: (() => Promise<void>)[] = [];
let t: TestDb;
let svc: IngestService;
let sut: RuleRunner;

beforeAll(async () => {
	t = await freshDb();
	cleanup.push(() => t.drop());
	sut = new RuleRunner(t.db, { tz: TZ, everyMs: 10, minIntervalMs: 0 });
	cleanup.push(async () => sut.stop());
	svc = await startIngest({ db: t.db, mqttUrl: REAL_MQTT, clientId: uniq('ingest'), batchMs: 20, onCommitted: (r) => sut.committed(r) });
	cleanup.push(() => svc.stop());
});
afterAll(async () => {
	for (const c of cleanup.splice(0).reverse()) await c();
});

async function addDevice(kind: string, extra: { baseline?: object; thresholds?: object } = {}): Promise<{ id: string; client: MqttClient }> {
	const id = uniq('L');
	const token = newDeviceToken();
	await t.db.query('INSERT INTO devices (id, name, kind, lng, lat, token_hash, baseline, thresholds, interval_s) VALUES ($1, $1, $2, 107.5, 26.5, $3, $4, $5, 600)', [
		id,
		kind,
		hashToken(token),
		extra.baseline ? JSON.stringify(extra.baseline) : null,
		JSON.stringify(extra.thresholds ?? {})
	]);
	await svc.registry.reload();
	const client = await mqtt.connectAsync(svc.mqttUrl, REAL_MQTT ? {} : { username: id, password: token });
	cleanup.push(() => client.endAsync(true));
	return { id, client };
}

/** Publishes and waits until the rule runner has judged what it stored (`count` readings of the device in all). */
async function send(dev: { id: string; client: MqttClient }, body: unknown, count: number): Promise<void> {
	await dev.client.publishAsync(`shudi/v1/devices/${dev.id}/up`, JSON.stringify(body), { qos: 1 });
	await waitFor(async () => Number((await t.db.query<{ n: string }>('SELECT count(*) AS n FROM readings WHERE device_id = $1', [dev.id])).rows[0].n) >= count);
	// A redelivery stores nothing new: wait for the writer to have committed it, then for the runner.
	await new Promise((r) => setTimeout(r, 150));
	await sut.idle();
}

const iso = (ms: number) => new Date(ms).toISOString();
const cases = (id: string) =>
	t.db.query<{ id: number; level: string; opened_at: Date; ack_due: Date }>('SELECT id, level, opened_at, ack_due FROM incidents WHERE device_id = $1 ORDER BY id', [id]);
const alarms = (id: string) =>
	t.db.query<{ rule: string; level: string; raised_at: Date; cleared_at: Date | null; late: boolean; arrived_at: Date | null; incident_id: number }>(
		'SELECT rule, level, raised_at, cleared_at, late, arrived_at, incident_id FROM alarms WHERE device_id = $1 ORDER BY id',
		[id]
	);
const status = async (id: string) => (await t.db.query<{ status: string }>('SELECT status FROM devices WHERE id = $1', [id])).rows[0].status;
const flagsOf = async (id: string, metric: string) =>
	(await t.db.query<{ observed_at: Date; value: number; flags: number }>('SELECT observed_at, value, flags FROM readings WHERE device_id = $1 AND metric = $2 ORDER BY observed_at', [id, metric])).rows;
const notices = async (id: string) => (await t.db.query<{ kind: string; key: string; count: number }>('SELECT kind, key, count FROM device_notices WHERE device_id = $1 ORDER BY kind, key', [id])).rows;

describe('late data', () => {
	it('a backlog of two red tilts older than the newest normal one opens a case marked late at their own times; the status follows the newest reading; the same backlog again opens nothing', async () => {
		const dev = await addDevice('house_tilt', { baseline: { tilt_x_deg: 0, tilt_y_deg: 0 } });
		const now = Date.now() - 30_000;
		// Normal first: the sensor is judged up to now.
		await send(dev, { ts: iso(now), values: { tilt_x_deg: 0.05, tilt_y_deg: 0.02 } }, 2);
		const before = await status(dev.id);
		expect(before).toBe('normal');
		expect((await cases(dev.id)).rows).toEqual([]);
		// The buffer of an outage: two red readings (2.06° ≈ 3.6 % ≥ 3 %) ten and nine minutes before it.
		const backlog = [
			{ ts: iso(now - 10 * MIN), values: { tilt_x_deg: 2.0, tilt_y_deg: 0.5 } },
			{ ts: iso(now - 9 * MIN), values: { tilt_x_deg: 2.0, tilt_y_deg: 0.5 } }
		];
		const sentAt = Date.now();
		await send(dev, backlog, 6);
		const a = await waitFor(async () => (await alarms(dev.id)).rows[0], 3000);
		expect(a).toMatchObject({ rule: 'tilt', level: 'red', late: true });
		// Raised at the second red reading (tilt needs two in a row), cleared at the newer normal one.
		expect(iso(new Date(a.raised_at).getTime())).toBe(iso(now - 9 * MIN));
		expect(iso(new Date(a.cleared_at!).getTime())).toBe(iso(now));
		expect(new Date(a.arrived_at!).getTime()).toBeGreaterThanOrEqual(sentAt - 1000);
		const c = (await cases(dev.id)).rows;
		expect(c).toHaveLength(1);
		expect(c[0].level).toBe('red');
		expect(iso(new Date(c[0].opened_at).getTime())).toBe(iso(now - 9 * MIN));
		// Nobody could act before the data arrived: the red limit (10 min to acknowledge) counts from arrival.
		expect(new Date(c[0].ack_due).getTime()).toBeGreaterThanOrEqual(sentAt - 1000 + 10 * MIN);
		const ev = await t.db.query<{ action: string; at: Date; note: string }>('SELECT action, at, note FROM incident_events WHERE incident_id = $1 ORDER BY id', [c[0].id]);
		expect(ev.rows[0].action).toBe('report');
		expect(ev.rows[0].note).toMatch(/^【迟到数据 late data：观测于 .+，到达于 .+】红色告警/);
		// The observation time, in the display time zone, is in the note.
		const local = new Intl.DateTimeFormat('zh-CN', { timeZone: TZ, hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }).format(new Date(now - 9 * MIN));
		expect(ev.rows[0].note).toContain(local);
		expect(ev.rows.map((e) => e.action)).toContain('alarm_cleared');
		// The newest reading is normal: the sensor stays as it says.
		expect(await status(dev.id)).toBe(before);

		// The device sends the same backlog again (it never got our acknowledgement): nothing new.
		await send(dev, backlog, 6);
		await send(dev, backlog, 6);
		expect((await cases(dev.id)).rows).toHaveLength(1);
		expect((await alarms(dev.id)).rows).toHaveLength(1);
		expect(await status(dev.id)).toBe(before);

		// A runner that remembers nothing (a restart; a share group, where no cache can tell a redelivery) judges the
		// whole look-back, then is handed the backlog again: the alarm recorded over those times is not raised twice.
		const restarted = new RuleRunner(t.db, { tz: TZ, everyMs: 10, minIntervalMs: 0, cache: false });
		await restarted.run([dev.id]);
		const again = backlog.map((b) => ({ deviceId: dev.id, metric: 'tilt_x_deg', value: b.values.tilt_x_deg, observedAt: new Date(b.ts), receivedAt: new Date() }));
		restarted.committed({ readings: again, seen: new Map([[dev.id, new Date()]]) });
		await restarted.idle();
		restarted.stop();
		expect((await cases(dev.id)).rows).toHaveLength(1);
		expect((await alarms(dev.id)).rows).toHaveLength(1);
		expect(await status(dev.id)).toBe(before);
	});

	it('a late red that lasts to the newest reading leaves the alarm active and the sensor red', async () => {
		const dev = await addDevice('house_tilt', { baseline: { tilt_x_deg: 0, tilt_y_deg: 0 } });
		const now = Date.now() - 30_000;
		await send(dev, { ts: iso(now - 20 * MIN), values: { tilt_x_deg: 0.05, tilt_y_deg: 0.02 } }, 2);
		// Newest first: two red readings, the newest now; then an older red one arrives late.
		await send(dev, { ts: iso(now), values: { tilt_x_deg: 2.0, tilt_y_deg: 0.5 } }, 4);
		await send(dev, { ts: iso(now - 5 * MIN), values: { tilt_x_deg: 2.0, tilt_y_deg: 0.5 } }, 6);
		const a = (await alarms(dev.id)).rows;
		expect(a).toHaveLength(1);
		expect(a[0]).toMatchObject({ level: 'red', cleared_at: null, late: true });
		expect(iso(new Date(a[0].raised_at).getTime())).toBe(iso(now));
		expect(await status(dev.id)).toBe('red');
	});
});

describe('suspect data', () => {
	const river = { warning_level_m: 3.5, guarantee_level_m: 4.0 };

	it('a river rising 5 m in one minute is flagged suspect, tells the maintainer, and opens no case; the next reading back at 1.2 m keeps it out', async () => {
		const dev = await addDevice('river_level', { thresholds: river });
		const now = Date.now() - 30_000;
		await send(dev, [{ ts: iso(now - 3 * MIN), values: { water_level_m: 1.2 } }, { ts: iso(now - 2 * MIN), values: { water_level_m: 1.21 } }], 2);
		await send(dev, { ts: iso(now - MIN), values: { water_level_m: 6.2 } }, 3);
		await waitFor(async () => (await flagsOf(dev.id, 'water_level_m')).some((r) => r.flags & READING_FLAGS.SUSPECT_JUMP), 3000);
		expect((await cases(dev.id)).rows).toEqual([]);
		expect((await alarms(dev.id)).rows).toEqual([]);
		expect(await notices(dev.id)).toEqual([{ kind: 'suspect_jump', key: 'water_level_m', count: 1 }]);
		await send(dev, { ts: iso(now), values: { water_level_m: 1.22 } }, 4);
		const rows = await flagsOf(dev.id, 'water_level_m');
		expect(rows.map((r) => [r.value, (r.flags & READING_FLAGS.SUSPECT_JUMP) !== 0])).toEqual([
			[1.2, false],
			[1.21, false],
			[6.2, true],
			[1.22, false]
		]);
		// The sensor API shows the flag on the latest value only when it is the suspect one: here it is not.
		expect((await cases(dev.id)).rows).toEqual([]);
		expect(await status(dev.id)).toBe('normal');
	});

	it('a sudden rise the next reading confirms opens the red case at the confirming reading, and the flag goes', async () => {
		const dev = await addDevice('river_level', { thresholds: river });
		const now = Date.now() - 30_000;
		await send(dev, { ts: iso(now - 2 * MIN), values: { water_level_m: 1.2 } }, 1);
		await send(dev, { ts: iso(now - MIN), values: { water_level_m: 4.3 } }, 2);
		const held = await flagsOf(dev.id, 'water_level_m');
		expect(held[1].flags & READING_FLAGS.SUSPECT_JUMP).toBeTruthy();
		const lv = await t.db.query<{ flags: number }>("SELECT flags FROM latest_values WHERE device_id = $1 AND metric = 'water_level_m'", [dev.id]);
		expect(lv.rows[0].flags & READING_FLAGS.SUSPECT_JUMP).toBeTruthy();
		expect((await cases(dev.id)).rows).toEqual([]);
		await send(dev, { ts: iso(now), values: { water_level_m: 4.35 } }, 3);
		const c = await waitFor(async () => (await cases(dev.id)).rows[0], 3000);
		expect(c.level).toBe('red');
		expect(iso(new Date(c.opened_at).getTime())).toBe(iso(now));
		expect((await flagsOf(dev.id, 'water_level_m')).every((r) => (r.flags & READING_FLAGS.SUSPECT_JUMP) === 0)).toBe(true);
	});

	it('a tilt jumping 20° between reports does not open a red case alone', async () => {
		const dev = await addDevice('house_tilt', { baseline: { tilt_x_deg: 0, tilt_y_deg: 0 } });
		const now = Date.now() - 30_000;
		await send(dev, [{ ts: iso(now - 20 * MIN), values: { tilt_x_deg: 0.05, tilt_y_deg: 0.02 } }, { ts: iso(now - 10 * MIN), values: { tilt_x_deg: 0.05, tilt_y_deg: 0.02 } }], 4);
		await send(dev, { ts: iso(now), values: { tilt_x_deg: 20.05, tilt_y_deg: 0.02 } }, 6);
		expect((await flagsOf(dev.id, 'tilt_x_deg')).map((r) => (r.flags & READING_FLAGS.SUSPECT_JUMP) !== 0)).toEqual([false, false, true]);
		expect((await cases(dev.id)).rows).toEqual([]);
		expect(await notices(dev.id)).toEqual([{ kind: 'suspect_jump', key: 'tilt_x_deg', count: 1 }]);
	});

	it('a value stuck for 12 reports is flagged from the 12th on and tells the maintainer once; it opens no case', async () => {
		const dev = await addDevice('house_tilt', { baseline: { tilt_x_deg: 0, tilt_y_deg: 0 } });
		const now = Date.now() - 30_000;
		const series = Array.from({ length: 14 }, (_, i) => ({ ts: iso(now - (14 - i) * MIN), values: { tilt_x_deg: 0.11, tilt_y_deg: 0.05 + i * 0.001 } }));
		await send(dev, series, 28);
		const x = await flagsOf(dev.id, 'tilt_x_deg');
		expect(x.map((r) => (r.flags & READING_FLAGS.SUSPECT_STUCK) !== 0)).toEqual([...Array(11).fill(false), true, true, true]);
		expect((await flagsOf(dev.id, 'tilt_y_deg')).every((r) => r.flags === 0)).toBe(true);
		expect(await notices(dev.id)).toEqual([{ kind: 'suspect_stuck', key: 'tilt_x_deg', count: 3 }]);
		expect((await cases(dev.id)).rows).toEqual([]);
	});
});

describe('calibration from a window', () => {
	it('takes the median of the last hour, refuses a window with too few readings (Chinese first), and audits the window and count', async () => {
		const dev = await addDevice('house_tilt');
		const now = Date.now();
		// Six readings in the last hour, one of them a bump a median ignores; an older one outside the window.
		const xs = [0.3, 0.31, 0.32, 0.9, 0.305, 0.315];
		const body = [{ ts: iso(now - 2 * 3_600_000), values: { tilt_x_deg: 5, tilt_y_deg: 5 } }, ...xs.map((x, i) => ({ ts: iso(now - (50 - i * 5) * MIN), values: { tilt_x_deg: x, tilt_y_deg: -0.1 - i * 0.01 } }))];
		await send(dev, body, 14);
		const admin = { id: null, name: 'test-admin' };
		const c = await calibrate(t.db, dev.id, { window: '1h', method: 'median' }, admin);
		expect(c.baseline).toEqual({ tilt_x_deg: 0.3125, tilt_y_deg: -0.125 });
		expect(c.counts).toEqual({ tilt_x_deg: 6, tilt_y_deg: 6 });
		const b = await t.db.query<{ baseline: unknown }>('SELECT baseline FROM devices WHERE id = $1', [dev.id]);
		expect(b.rows[0].baseline).toEqual({ tilt_x_deg: 0.3125, tilt_y_deg: -0.125 });
		const audit = await t.db.query<{ detail: { window: string; method: string; counts: Record<string, number> } }>("SELECT detail FROM audit_log WHERE target_id = $1 AND action = 'device_calibrated'", [dev.id]);
		expect(audit.rows[0].detail).toMatchObject({ window: '1h', method: 'median', counts: { tilt_x_deg: 6, tilt_y_deg: 6 } });
		const mean = await calibrate(t.db, dev.id, { window: '1h', method: 'mean' }, admin);
		expect(mean.baseline.tilt_x_deg).toBeCloseTo(0.408333, 5);
		// A window holding too few readings is refused, saying so in Chinese first.
		const lonely = await addDevice('house_tilt');
		await send(lonely, [{ ts: iso(now - 10 * MIN), values: { tilt_x_deg: 0.3, tilt_y_deg: 0.1 } }, { ts: iso(now - 5 * MIN), values: { tilt_x_deg: 0.3, tilt_y_deg: 0.1 } }], 4);
		const err = await calibrate(t.db, lonely.id, { window: '1h', method: 'median' }, admin).catch((e) => e);
		expect(err).toBeInstanceOf(DeviceAdminError);
		expect((err as DeviceAdminError).zh).toMatch(/^近 1 小时内 tilt_x_deg 只有 2 个可用读数，至少需要 3 个/);
		expect((await t.db.query('SELECT baseline FROM devices WHERE id = $1', [lonely.id])).rows[0]).toEqual({ baseline: null });
	});
});
