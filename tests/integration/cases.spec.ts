// Territorial responsibility end to end: an alarm becomes a case routed to the village and the cadre responsible at
// that moment; nobody answering escalates it; acting on it is on the record.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/lib/server/platform/config';
import { runtime, clearRuntime, type Runtime } from '../../src/lib/server/runtime';
import { demoDeviceToken } from '../../src/lib/server/demo/seed';
import { act, escalateDue, openFieldReport, villageAt, ActionError } from '../../src/lib/server/cases/incidents';
import { incidentDetail, listIncidents } from '../../src/lib/server/cases/incident-queries';
import { openDb } from '../../src/lib/server/platform/db';
import { migrate } from '../../src/lib/server/platform/migrate';
import type { SessionUser } from '../../src/lib/server/people/auth';
import { waitFor, REAL_DB } from '../support/services';

let rt: Runtime;
const config = parseConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), 'shudi-cases-')), MQTT_PORT: '0', SIMULATE: 'off', DEMO: 'on', LOG_LEVEL: 'silent', INGEST_BATCH_MS: '10', ESCALATION_EVERY_MS: '600000' });
const TZ = 'Asia/Shanghai';

beforeAll(async () => {
	rt = await runtime({ config });
});
afterAll(async () => {
	await rt.stop();
	clearRuntime();
});

async function user(username: string): Promise<SessionUser> {
	const r = await rt.db.query<SessionUser>('SELECT id, username, display_name, roles, cadre_id FROM users WHERE username = $1', [username]);
	return r.rows[0];
}

async function currentCadreOf(village: string): Promise<{ id: number; name: string }> {
	const r = await rt.db.query<{ id: number; name: string }>(
		`SELECT c.id, c.name FROM assignments a JOIN cadres c ON c.id = a.cadre_id JOIN villages v ON v.id = a.village_id
		 WHERE v.name = $1 AND a.role = 'cadre' AND a.valid_from <= now() AND (a.valid_to IS NULL OR a.valid_to > now())`,
		[village]
	);
	return r.rows[0];
}

describe.skipIf(!!REAL_DB)('cases', () => {
	it('a river reading above its 警戒水位 opens an orange case for the right village and cadre within 2 s; falling clears the alarm, not the case', async () => {
		const dev = await rt.db.query<{ id: string; village: string; thresholds: { warning_level_m: number; normal_level_m: number } }>(
			"SELECT d.id, v.name AS village, d.thresholds FROM devices d JOIN villages v ON v.id = d.village_id WHERE d.kind = 'river_level' ORDER BY d.id LIMIT 1"
		);
		const { id, village, thresholds } = dev.rows[0];
		const cadre = await currentCadreOf(village);
		const c = await mqtt.connectAsync(rt.mqttUrl!, { username: id, password: demoDeviceToken(config, id) });
		const t0 = Date.now();
		await c.publishAsync(`shudi/v1/devices/${id}/up`, JSON.stringify({ ts: new Date(t0 - 60_000).toISOString(), values: { water_level_m: thresholds.normal_level_m } }), { qos: 1 });
		await c.publishAsync(`shudi/v1/devices/${id}/up`, JSON.stringify({ ts: new Date(t0 - 1000).toISOString(), values: { water_level_m: thresholds.warning_level_m + 0.05 } }), { qos: 1 });
		const inc = await waitFor(async () => (await listIncidents(rt.db, null, { status: 'open', limit: 50 })).find((i) => i.device_id === id && i.level === 'orange'), 2000, 25);
		expect(Date.now() - t0).toBeLessThan(2000);
		expect(inc.village).toBe(village);
		expect(inc.responsible.find((r) => r.role === 'cadre')).toMatchObject({ cadre_id: cadre.id, name: cadre.name });
		const s = await rt.db.query<{ status: string }>('SELECT status FROM devices WHERE id = $1', [id]);
		expect(s.rows[0].status).toBe('orange');
		// The river falls well below the clear value: the alarm clears, the case stays for verification.
		await c.publishAsync(`shudi/v1/devices/${id}/up`, JSON.stringify({ ts: new Date().toISOString(), values: { water_level_m: thresholds.normal_level_m } }), { qos: 1 });
		// This alarm, not one of the demo history's long-cleared ones (src/lib/server/demo/history.ts).
		await waitFor(async () => (await rt.db.query("SELECT 1 FROM alarms WHERE device_id = $1 AND rule = 'level' AND cleared_at IS NOT NULL AND raised_at >= $2", [id, new Date(t0 - 60_000).toISOString()])).rows.length > 0, 3000);
		const after = await incidentDetail(rt.db, null, inc.id);
		expect(after!.status).toBe('reported');
		const actions = after!.events.map((e) => e.action);
		expect(actions[0]).toBe('report');
		expect(actions).toContain('alarm_cleared');
		// Only the system spoke: no status change happened by itself.
		expect(after!.events.every((e) => e.actor_name.startsWith('系统') && (e.to_status ?? 'reported') === 'reported')).toBe(true);
		await waitFor(async () => (await rt.db.query<{ status: string }>('SELECT status FROM devices WHERE id = $1', [id])).rows[0].status === 'normal', 3000);
		await c.endAsync();
	});

	it('judges a backlog (array message after an outage) in time order: a spike inside it raises and clears an alarm at its own times', async () => {
		const dev = await rt.db.query<{ id: string; thresholds: { warning_level_m: number; normal_level_m: number } }>(
			"SELECT id, thresholds FROM devices WHERE kind = 'river_level' ORDER BY id OFFSET 1 LIMIT 1"
		);
		const { id, thresholds } = dev.rows[0];
		const t0 = Date.now() - 3 * 3_600_000; // all five readings in the past: a future device time is not trusted
		const at = (min: number) => new Date(t0 + min * 60_000).toISOString();
		const levels = [0, 0, 1.2, 0, 0].map((d) => thresholds.normal_level_m + (d ? thresholds.warning_level_m - thresholds.normal_level_m + 0.1 : 0));
		// Sent newest first, as a device flushing its buffer might: the runner must sort them.
		const backlog = levels.map((v, i) => ({ ts: at(i * 30), values: { water_level_m: Number(v.toFixed(3)) } })).reverse();
		const c = await mqtt.connectAsync(rt.mqttUrl!, { username: id, password: demoDeviceToken(config, id) });
		await c.publishAsync(`shudi/v1/devices/${id}/up`, JSON.stringify(backlog), { qos: 1 });
		await c.endAsync();
		const alarm = await waitFor(
			async () =>
				(await rt.db.query<{ level: string; raised_at: Date; cleared_at: Date | null }>("SELECT level, raised_at, cleared_at FROM alarms WHERE device_id = $1 AND rule = 'level' AND raised_at >= $2", [id, at(0)])).rows.find((a) => a.cleared_at),
			3000
		);
		expect(alarm.level).toBe('orange');
		expect(new Date(alarm.raised_at).toISOString()).toBe(at(60));
		expect(new Date(alarm.cleared_at!).toISOString()).toBe(at(90));
	});

	it('routes a report inside a village, on a shared border (one village), and outside every village (duty room)', async () => {
		const v = await rt.db.query<{ id: number; name: string; boundary: GeoJSON.Polygon }>("SELECT id, name, boundary FROM villages ORDER BY id");
		const songlin = v.rows.find((x) => x.name === '松林村')!;
		const inside = await rt.db.query<{ lng: number; lat: number }>('SELECT lng, lat FROM devices WHERE village_id = $1 LIMIT 1', [songlin.id]);
		expect(await villageAt(rt.db, inside.rows[0].lng, inside.rows[0].lat)).toBe(songlin.id);
		// A vertex shared by 松林村 and a neighbour resolves to exactly one of them, the same every time.
		const ring = songlin.boundary.coordinates[0];
		const shared = ring.find((p) => v.rows.some((o) => o.id !== songlin.id && o.boundary.coordinates[0].some((q) => q[0] === p[0] && q[1] === p[1])))!;
		const a = await villageAt(rt.db, shared[0], shared[1]);
		expect(a).not.toBeNull();
		expect(await villageAt(rt.db, shared[0], shared[1])).toBe(a);
		const duty = await user('duty');
		const out = await openFieldReport(rt.db, { category: 'fire', title: '镇外山火', lng: 100, lat: 30, source: 'hotline' }, { id: duty.id, name: duty.display_name }, TZ);
		const d = await incidentDetail(rt.db, null, out.id);
		expect(d!.village_id).toBeNull();
		expect(d!.escalation_level).toBe(-1);
		expect(out.notices[0].to.map((t) => t.role).sort()).toEqual(['duty_leader', 'duty_officer']);
	});

	it('keeps the cadre of its time when the cadre is replaced mid-case; the next case goes to the new one', async () => {
		const v = await rt.db.query<{ id: number; lng: number; lat: number }>("SELECT v.id, d.lng, d.lat FROM villages v JOIN devices d ON d.village_id = v.id WHERE v.name = '石桥村' LIMIT 1");
		const { id: villageId, lng, lat } = v.rows[0];
		const old = await rt.db.query<{ cadre_id: number; id: number }>("SELECT id, cadre_id FROM assignments WHERE village_id = $1 AND role = 'cadre' AND valid_to IS NULL", [villageId]);
		const admin = await user('admin');
		const first = await openFieldReport(rt.db, { category: 'housing', title: '墙体开裂', lng, lat, source: 'field_report' }, { id: admin.id, name: 'admin' }, TZ);
		// Replace the cadre from now on (history kept: the old assignment gets an end date).
		const newCadre = await rt.db.query<{ id: number }>("INSERT INTO cadres (name, phone, position) VALUES ('新干部', '13800009999', '包村干部') RETURNING id");
		const switchAt = new Date(Date.now() + 1000);
		await rt.db.query('UPDATE assignments SET valid_to = $2 WHERE id = $1', [old.rows[0].id, switchAt.toISOString()]);
		await rt.db.query("INSERT INTO assignments (cadre_id, village_id, role, valid_from) VALUES ($1, $2, 'cadre', $3)", [newCadre.rows[0].id, villageId, switchAt.toISOString()]);
		const second = await openFieldReport(rt.db, { category: 'housing', title: '又一处开裂', lng, lat, source: 'field_report' }, { id: admin.id, name: 'admin' }, TZ, new Date(switchAt.getTime() + 1000));
		const d1 = await incidentDetail(rt.db, null, first.id);
		const d2 = await incidentDetail(rt.db, null, second.id);
		expect(d1!.responsible.find((r) => r.role === 'cadre')!.cadre_id).toBe(old.rows[0].cadre_id);
		expect(d2!.responsible.find((r) => r.role === 'cadre')!.cadre_id).toBe(newCadre.rows[0].id);
	});

	it('lets roles act only as the flow table allows, and records every step', async () => {
		const inside = await rt.db.query<{ lng: number; lat: number }>("SELECT d.lng, d.lat FROM devices d JOIN villages v ON v.id = d.village_id WHERE v.name = '松林村' LIMIT 1");
		const duty = await user('duty');
		const cadre = await user('cadre');
		const leader = await user('leader');
		const out = await openFieldReport(rt.db, { category: 'geohazard', title: '落石', level: 'yellow', lng: inside.rows[0].lng, lat: inside.rows[0].lat, source: 'field_report' }, { id: cadre.id, name: cadre.display_name }, TZ);
		await expect(act(rt.db, out.id, cadre, { action: 'reject', note: 'x' })).rejects.toMatchObject({ status: 403 });
		await act(rt.db, out.id, duty, { action: 'accept' });
		await act(rt.db, out.id, duty, { action: 'dispatch', assignee: cadre.cadre_id! });
		await act(rt.db, out.id, cadre, { action: 'start', location: { lng: inside.rows[0].lng, lat: inside.rows[0].lat } });
		await expect(act(rt.db, out.id, cadre, { action: 'resolve' })).rejects.toBeInstanceOf(ActionError);
		await act(rt.db, out.id, cadre, { action: 'resolve', note: '已清理' });
		await act(rt.db, out.id, leader, { action: 'instruct', note: '加强巡查' });
		await act(rt.db, out.id, duty, { action: 'verify_fail', note: '仍有落石' });
		await act(rt.db, out.id, cadre, { action: 'resolve', note: '加固完成' });
		await act(rt.db, out.id, duty, { action: 'verify_pass' });
		const d = await incidentDetail(rt.db, null, out.id);
		expect(d!.status).toBe('closed');
		expect(d!.reopened_count).toBe(1);
		expect(d!.events.map((e) => `${e.action}:${e.to_status ?? ''}`)).toEqual([
			'report:reported', 'accept:accepted', 'dispatch:dispatched', 'start:in_progress', 'resolve:resolved', 'instruct:resolved', 'verify_fail:in_progress', 'resolve:resolved', 'verify_pass:closed'
		]);
		expect(d!.events.find((e) => e.action === 'start')!.lng).toBe(inside.rows[0].lng);
	});

	it('hides other villages’ cases from a cadre', async () => {
		const cadre = await user('cadre');
		const admin = await user('admin');
		const far = await rt.db.query<{ lng: number; lat: number }>(
			`SELECT d.lng, d.lat FROM devices d WHERE d.village_id NOT IN (SELECT village_id FROM assignments WHERE cadre_id = $1) LIMIT 1`,
			[cadre.cadre_id]
		);
		const out = await openFieldReport(rt.db, { category: 'other', title: '别村的事', lng: far.rows[0].lng, lat: far.rows[0].lat, source: 'hotline' }, { id: admin.id, name: 'admin' }, TZ);
		expect(await incidentDetail(rt.db, cadre, out.id)).toBeNull();
		expect((await listIncidents(rt.db, cadre, { limit: 1000 })).some((i) => i.id === out.id)).toBe(false);
		await expect(act(rt.db, out.id, cadre, { action: 'comment', note: 'x' })).rejects.toMatchObject({ status: 404 });
	});
});

describe('escalation with a controllable clock', () => {
	it('L1 silent → L2 at the deadline → acknowledged → escalation stops; a restart in the middle changes nothing', async () => {
		const dir = mkdtempSync(join(tmpdir(), 'shudi-esc-'));
		let db = await openDb({ dataDir: dir });
		await migrate(db);
		const { seedDemoIfEmpty, seedDemoUsersIfNone } = await import('../../src/lib/server/demo/seed');
		const { logger } = await import('../../src/lib/server/platform/log');
		await seedDemoIfEmpty(db, config, logger('t'));
		await seedDemoUsersIfNone(db, config, logger('t'));
		const p = await db.query<{ lng: number; lat: number }>("SELECT d.lng, d.lat FROM devices d JOIN villages v ON v.id = d.village_id WHERE v.name = '松林村' LIMIT 1");
		// Inside the demo duty roster (it covers 30 days back to 90 days ahead), so L3 has a duty leader.
		const t0 = new Date(Math.floor(Date.now() / 60_000) * 60_000);
		const out = await openFieldReport(db, { category: 'flood', title: '内涝', level: 'red', lng: p.rows[0].lng, lat: p.rows[0].lat, source: 'hotline' }, { id: null, name: 'hotline' }, TZ, t0);
		expect(out.notices[0].to.map((t) => t.role)).toEqual(['cadre']);
		const at = (min: number) => new Date(t0.getTime() + min * 60_000);
		expect(await escalateDue(db, at(9), TZ)).toEqual([]); // red: 10 minutes to acknowledge
		const l2 = await escalateDue(db, at(10), TZ);
		expect(l2.map((n) => n.type)).toEqual(['incident.escalated']);
		expect(l2[0].to.map((t) => t.role)).toEqual(['lead']);
		// Restart: a new process, the same database.
		await db.close();
		db = await openDb({ dataDir: dir });
		expect(await escalateDue(db, at(15), TZ)).toEqual([]);
		const l3 = await escalateDue(db, at(20), TZ);
		expect(l3[0].to.map((t) => t.role)).toEqual(['duty_leader']);
		const reminders = await escalateDue(db, at(30), TZ);
		expect(reminders.map((n) => n.type)).toEqual(['incident.reminder']);
		const duty = (await db.query<SessionUser>("SELECT id, username, display_name, roles, cadre_id FROM users WHERE username = 'duty'")).rows[0];
		await act(db, out.id, duty, { action: 'accept' }, at(31));
		expect(await escalateDue(db, at(120), TZ)).toEqual([]);
		const d = await incidentDetail(db, null, out.id);
		expect(d!.events.map((e) => e.action)).toEqual(['report', 'escalate', 'escalate', 'remind', 'accept']);
		await db.close();
	});
});
