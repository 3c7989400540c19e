// A device over its life (issue 8): a maintenance window holds its alarms (the rule runner does not judge readings
// taken inside it, the offline timer leaves it alone, the map shows 维护中), moving it changes its village,
// thresholds from the form accept only known settings, retiring revokes it — each a device event and an audit row.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDb, type TestDb } from '../support/services';
import { BatchWriter } from '../../ingest/writer';
import { RuleRunner } from '../../ingest/rule-runner';
import { OfflineWatcher } from '../../ingest/offline';
import { sensorsGeoJSON } from '../../src/lib/server/map/queries';
import { cancelMaintenance, deviceDetail, installerQr, localToInstant, moveDevice, retireDevice, scheduleMaintenance, setThresholds, thresholdsFromForm } from '../../src/lib/server/devices/device-admin';

const admin = { id: null, name: 'test-admin' };
const square = (x0: number, y0: number, x1: number, y1: number) => JSON.stringify({ type: 'Polygon', coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]] });

describe('device administration', () => {
	let t: TestDb;
	let west: number;
	let east: number;
	beforeAll(async () => {
		t = await freshDb();
		west = (await t.db.query<{ id: number }>("INSERT INTO villages (name, boundary, bbox) VALUES ('西村', $1, '{0,0,1,1}') RETURNING id", [square(0, 0, 1, 1)])).rows[0].id;
		east = (await t.db.query<{ id: number }>("INSERT INTO villages (name, boundary, bbox) VALUES ('东村', $1, '{1,0,2,1}') RETURNING id", [square(1, 0, 2, 1)])).rows[0].id;
		for (const id of ['RL-M1', 'RL-M2']) {
			await t.db.query(
				`INSERT INTO devices (id, name, kind, lng, lat, village_id, interval_s, thresholds, status, last_seen) VALUES ($1, $1, 'river_level', 0.5, 0.5, $2, 60, '{"warning_level_m": 3.5}', 'normal', now())`,
				[id, west]
			);
		}
	});
	afterAll(() => t.drop());

	async function publish(id: string, at: Date, level: number) {
		const w = new BatchWriter(t.db, { maxRows: 10, maxAgeMs: 1 });
		await w.add([{ deviceId: id, metric: 'water_level_m', value: level, observedAt: at, receivedAt: at, flags: 0 }]);
	}
	const alarms = async (id: string) => (await t.db.query('SELECT rule, level FROM alarms WHERE device_id = $1 AND cleared_at IS NULL', [id])).rows;

	it('a maintenance window holds alarms: the same high reading alarms one sensor and not the one under maintenance', async () => {
		const now = new Date();
		await scheduleMaintenance(t.db, 'RL-M1', { starts_at: new Date(now.getTime() - 3600_000), ends_at: new Date(now.getTime() + 3600_000), reason: '更换探头' }, admin);
		await publish('RL-M1', now, 3.9);
		await publish('RL-M2', now, 3.9);
		const sut = new RuleRunner(t.db, { tz: 'Asia/Shanghai' });
		await sut.run(['RL-M1', 'RL-M2']);
		expect(await alarms('RL-M2')).toEqual([{ rule: 'level', level: 'orange' }]);
		expect(await alarms('RL-M1')).toEqual([]);
		// The map shows it as under maintenance; the offline timer leaves it alone even long after its last report.
		const map = await sensorsGeoJSON(t.db);
		expect(map.features.find((f) => f.properties.id === 'RL-M1')?.properties.status).toBe('maintenance');
		expect(map.features.find((f) => f.properties.id === 'RL-M2')?.properties.status).not.toBe('maintenance');
		const offline = await new OfflineWatcher(t.db, { afterIntervals: 3 }).check(new Date(now.getTime() + 30 * 60_000));
		expect(offline.map((o) => o.id)).toEqual(['RL-M2']);
	});

	it('after the window is cancelled, the next high reading alarms as usual', async () => {
		const d = await deviceDetail(t.db, 'RL-M1');
		await cancelMaintenance(t.db, 'RL-M1', d!.maintenance[0].id, admin);
		await publish('RL-M1', new Date(Date.now() + 1000), 3.9);
		await new RuleRunner(t.db, { tz: 'Asia/Shanghai' }).run(['RL-M1']);
		expect(await alarms('RL-M1')).toEqual([{ rule: 'level', level: 'orange' }]);
	});

	it('holds alarms for readings the rule runner keeps in memory too (fed by committed batches, not re-read)', async () => {
		await t.db.query(
			`INSERT INTO devices (id, name, kind, lng, lat, village_id, interval_s, thresholds, status, last_seen) VALUES ('RL-M3', 'RL-M3', 'river_level', 0.5, 0.5, $1, 60, '{"warning_level_m": 3.5}', 'normal', now())`,
			[west]
		);
		const sut = new RuleRunner(t.db, { tz: 'Asia/Shanghai', everyMs: 1, minIntervalMs: 0 });
		const w = new BatchWriter(t.db, { maxRows: 10, maxAgeMs: 1, onCommitted: (r) => sut.committed(r) });
		const now = Date.now();
		await w.add([{ deviceId: 'RL-M3', metric: 'water_level_m', value: 2.0, observedAt: new Date(now - 60_000), receivedAt: new Date(now - 60_000), flags: 0 }]);
		await sut.idle();
		await scheduleMaintenance(t.db, 'RL-M3', { starts_at: new Date(now - 30_000), ends_at: new Date(now + 3600_000), reason: '清淤' }, admin);
		await w.add([{ deviceId: 'RL-M3', metric: 'water_level_m', value: 3.9, observedAt: new Date(now), receivedAt: new Date(now), flags: 0 }]);
		await sut.idle();
		expect(await alarms('RL-M3')).toEqual([]);
		await w.close();
	});

	it('moving a device moves it to the village now holding it', async () => {
		expect(await moveDevice(t.db, 'RL-M2', { lng: 1.5, lat: 0.5 }, admin)).toBe(east);
		expect((await deviceDetail(t.db, 'RL-M2'))?.village).toBe('东村');
		expect(west).not.toBe(east);
	});

	it('thresholds: only known settings are taken from the form; effective values show default and source', async () => {
		const { thresholds, errors } = thresholdsFromForm('river_level', {
			't.warning_level_m': '3.2',
			't.guarantee_level_m': ' ',
			't.rise_per_15min_m': 'abc',
			't.__proto__.polluted': '1',
			't.no_such_setting': '5'
		});
		expect(errors).toEqual(['rise_per_15min_m: “abc” 不是数字 is not a number']);
		expect(thresholds).toEqual({ warning_level_m: 3.2 });
		await setThresholds(t.db, 'RL-M2', thresholds, admin);
		const eff = (await deviceDetail(t.db, 'RL-M2'))!.thresholds;
		const warning = eff.find((x) => x.path === 'warning_level_m')!;
		expect(warning).toMatchObject({ value: 3.2, default: null, overridden: true, source: 'sensor setting' });
		expect(warning.default_source).toMatch(/SL 651-2014/);
		const battery = eff.find((x) => x.path.startsWith('battery'))!;
		expect(battery.overridden).toBe(false);
		expect(battery.source).toMatch(/shudi default/);
	});

	it('retiring revokes the credential and keeps the history; every step is an event and an audit row', async () => {
		await retireDevice(t.db, 'RL-M2', '房屋已拆除', admin);
		await expect(moveDevice(t.db, 'RL-M2', { lng: 0.5, lat: 0.5 }, admin)).rejects.toThrow(/No such device in service/);
		const d = await deviceDetail(t.db, 'RL-M2');
		expect(d?.retired).toBe(true);
		expect(d?.revoked).toBe(true);
		// Newest first; the offline event was stamped 30 minutes ahead by the offline check above.
		expect(d?.events.map((e) => e.kind)).toEqual(['offline', 'retired', 'thresholds_changed', 'moved']);
		const audit = await t.db.query<{ action: string }>("SELECT action FROM audit_log WHERE target_id IN ('RL-M1', 'RL-M2') ORDER BY id");
		expect(audit.rows.map((r) => r.action)).toEqual([
			'device_maintenance_scheduled',
			'device_maintenance_cancelled',
			'device_moved',
			'device_thresholds_changed',
			'device_retired'
		]);
	});

	it('the installer QR code is a PNG carrying id, token and broker', async () => {
		const url = await installerQr({ id: 'RL-09', token: 'tok', mqttHost: 'shudi.local', mqttPort: 1883 });
		expect(url).toMatch(/^data:image\/png;base64,/);
		expect(Buffer.from(url.split(',')[1], 'base64').subarray(1, 4).toString()).toBe('PNG');
	});

	it('datetime-local fields are read in the display time zone', () => {
		expect(localToInstant('2026-07-01T08:00', 'Asia/Shanghai').toISOString()).toBe('2026-07-01T00:00:00.000Z');
	});
});
