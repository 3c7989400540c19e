// Mapping a key from the dead letters (issue 22 item 3), through the real route handlers on a runtime started in this
// process: a native device sends ThingsBoard-style `waterLevel` in cm, which no profile maps; the dead letters group it
// by device and key; the preview shows the value converted to metres (and what would still be refused, with its
// reason); mapping stores water_level_m in metres by replaying the held dead letters; the group empties; a second
// replay stores nothing twice. And the profile page's preview of a pasted payload through the same dry run.
// Embedded database and broker by default; PostgreSQL and Mosquitto when TEST_DATABASE_URL / TEST_MQTT_URL are set.
//
// SOURCE: ThingsBoard MQTT device API, https://thingsboard.io/docs/reference/mqtt-api/#telemetry-upload-api
//   (`{"ts":1451649600512, "values":{"key1":"value1"}}` — keys are whatever the firmware names them; `waterLevel`
//   and `battery` are the keys the issue reports from ThingsBoard firmware).
// SOURCE: tests/fixtures/profiles/milesight-em500-swl/SOURCE.txt (EM500-SWL decoder output in a ChirpStack v4 uplink).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/lib/server/platform/config';
import { runtime, clearRuntime, type Runtime } from '../../src/lib/server/runtime';
import { GET as getGroups } from '../../src/routes/api/v1/dead-letters/groups/+server';
import { POST as postMap } from '../../src/routes/api/v1/dead-letters/map/+server';
import { actions as mapActions } from '../../src/routes/admin/dead-letters/map/+page.server';
import { actions as profileActions, load as profileLoad } from '../../src/routes/admin/devices/[id]/profile/+page.server';
import { deviceProfileState, fieldFromInput, previewPayload } from '../../src/lib/server/devices/profile-mapping';
import { setDeviceProfile } from '../../src/lib/server/devices/device-admin';
import { REAL_DB, REAL_MQTT, freshDb, uniq, type TestDb } from '../support/services';

let rt: Runtime;
let scratch: TestDb | undefined;
let config: ReturnType<typeof parseConfig>;

beforeAll(async () => {
	// On PostgreSQL (TEST_DATABASE_URL) the runtime gets a database of its own, which it migrates itself.
	if (REAL_DB) scratch = await freshDb({ migrate: false });
	config = parseConfig({
		DATA_DIR: mkdtempSync(join(tmpdir(), 'shudi-dlmap-')),
		MQTT_PORT: '0',
		SIMULATE: 'off',
		DEMO: 'off',
		LOG_LEVEL: 'silent',
		INGEST_BATCH_MS: '10',
		...(scratch?.url ? { DATABASE_URL: scratch.url } : {}),
		...(REAL_MQTT ? { MQTT_URL: REAL_MQTT } : {})
	});
	rt = await runtime({ config });
});
afterAll(async () => {
	await rt?.stop();
	clearRuntime();
	await scratch?.drop();
});

type Ev = any;
const admin = { id: null, username: 'admin-test', role: 'admin' };
const ev = (init: { url?: string; params?: Record<string, string>; request?: Request }) =>
	({ url: new URL(init.url ?? 'http://x/'), params: init.params ?? {}, request: init.request ?? new Request('http://x/'), locals: { user: admin } }) as unknown as Ev;
const jsonReq = (body: unknown) => new Request('http://x/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const formReq = (fields: Record<string, string>) => new Request('http://x/', { method: 'POST', body: new URLSearchParams(fields) });

async function call(p: Promise<Response> | Response): Promise<{ status: number; body: any }> {
	try {
		const r = await p;
		return { status: r.status, body: await r.json() };
	} catch (e) {
		const h = e as { status?: number; body?: unknown };
		if (typeof h.status === 'number') return { status: h.status, body: h.body };
		throw e;
	}
}

async function addDevice(kind: string, devEui: string | null = null): Promise<string> {
	const id = uniq('DL');
	await rt.db.query('INSERT INTO devices (id, name, kind, lng, lat, dev_eui) VALUES ($1, $1, $2, 107.5, 26.5, $3)', [id, kind, devEui]);
	await rt.registry.reload();
	return id;
}

const publish = (id: string, body: unknown) => rt.pipeline!.handle(`shudi/v1/devices/${id}/up`, Buffer.from(JSON.stringify(body)));
const levels = async (id: string) =>
	(await rt.db.query<{ value: number; observed_at: Date }>("SELECT value, observed_at FROM readings WHERE device_id = $1 AND metric = 'water_level_m' ORDER BY observed_at", [id])).rows.map((r) => ({
		value: r.value,
		at: new Date(r.observed_at).toISOString()
	}));

describe('mapping a key from the dead letters', () => {
	it('groups waterLevel (cm) of a native device, previews it in metres, stores it on mapping, and never twice', async () => {
		const id = await addDevice('river_level');
		const t = (min: number) => new Date(Date.now() - min * 60_000).toISOString();
		const [t1, t2, t3] = [t(30), t(20), t(10)];
		// Three messages: two water levels in cm beside a battery voltage, and one the firmware could not read.
		expect((await publish(id, { ts: t1, values: { waterLevel: 123.4, battery_v: 3.61 } })).rejected).toEqual([{ reason: 'unknown_metric', detail: 'waterLevel' }]);
		await publish(id, { ts: t2, values: { waterLevel: 130 } });
		await publish(id, { ts: t3, values: { waterLevel: 'ERR' } });
		expect(await levels(id)).toEqual([]);

		const groups = await call(getGroups(ev({ url: `http://x/?device=${id}` })));
		expect(groups.status).toBe(200);
		expect(groups.body.groups).toHaveLength(1);
		expect(groups.body.groups[0]).toMatchObject({ device_id: id, key: 'waterLevel', count: 3, samples: ['"ERR"', '130', '123.4'] });
		expect(groups.body.groups[0].first_at <= groups.body.groups[0].last_at).toBe(true);

		// A unit that cannot become a water level is refused by the schema, Chinese first; nothing is saved.
		const bad = await call(postMap(ev({ request: jsonReq({ device: id, key: 'waterLevel', field: { metric: 'water_level_m', unit: 'V' } }) })));
		expect(bad.status).toBe(400);
		expect(JSON.stringify(bad.body)).toContain('单位 V 不能换算成 water_level_m');

		// The preview: the held messages through the pipeline's dry run with the field added.
		const field = { metric: 'water_level_m', unit: 'cm' };
		const preview = await call(postMap(ev({ request: jsonReq({ device: id, key: 'waterLevel', field }) })));
		expect(preview.status).toBe(200);
		expect(preview.body).toMatchObject({ held: 3, mapped: 2, rejected: { not_a_number: 1 } });
		const got = preview.body.messages.map((m: any) => ({
			readings: m.readings.map((r: any) => [r.metric, r.value, r.observed_at]).sort((a: string[], b: string[]) => a[0].localeCompare(b[0])),
			rejected: m.rejected.map((x: any) => [x.key, x.reason])
		}));
		expect(got).toEqual([
			{ readings: [['battery_v', 3.61, t1], ['water_level_m', 1.234, t1]], rejected: [] },
			{ readings: [['water_level_m', 1.3, t2]], rejected: [] },
			{ readings: [], rejected: [['waterLevel', 'not_a_number']] }
		]);
		expect(preview.body.messages[2].rejected[0]).toMatchObject({ value: '"ERR"', reason_label: '不是数字 not a number' });
		// Nothing changed by previewing.
		expect(await levels(id)).toEqual([]);
		expect((await deviceProfileState(rt.db, id))!.fields).toEqual([]);

		// Confirm: the field joins the device's own fields, the held dead letters are replayed.
		const done = await call(postMap(ev({ request: jsonReq({ device: id, key: 'waterLevel', field, confirm: true }) })));
		expect(done.status).toBe(200);
		expect(done.body).toMatchObject({ replayed: 3, stored: 2, still_rejected: 1, fields: [{ path: 'waterLevel', metric: 'water_level_m', unit: 'cm' }] });
		expect(await levels(id)).toEqual([
			{ value: 1.234, at: t1 },
			{ value: 1.3, at: t2 }
		]);
		const audited = await rt.db.query<{ detail: { field: unknown } }>("SELECT detail FROM audit_log WHERE action = 'device_profile_field_added' AND target_id = $1", [id]);
		expect(audited.rows.map((r) => r.detail.field)).toEqual([{ path: 'waterLevel', metric: 'water_level_m', unit: 'cm' }]);
		// The group empties; the unreadable value stays in the dead letters with the reason it is refused now.
		expect((await call(getGroups(ev({ url: `http://x/?device=${id}` })))).body.groups).toEqual([]);
		const kept = await rt.db.query<{ replay_result: string | null }>('SELECT replay_result FROM dead_letters WHERE device_id = $1 ORDER BY id', [id]);
		expect(kept.rows.map((r) => r.replay_result)).toEqual(['stored 2', 'stored 1', 'rejected: not_a_number']);

		// A second mapping finds nothing held and stores nothing twice.
		const again = await call(postMap(ev({ request: jsonReq({ device: id, key: 'waterLevel', field, confirm: true }) })));
		expect(again.body).toMatchObject({ replayed: 0, readings: 0 });
		expect(await levels(id)).toHaveLength(2);

		// From now on the live messages of the key are stored as they come.
		const t4 = t(5);
		expect(await publish(id, { ts: t4, values: { waterLevel: 141 } })).toMatchObject({ stored: 1, rejected: [] });
		expect((await levels(id)).at(-1)).toEqual({ value: 1.41, at: t4 });
	});

	it('the map page keeps the typed form and says what is wrong, Chinese first', async () => {
		const id = await addDevice('river_level');
		await publish(id, { ts: new Date(Date.now() - 60_000).toISOString(), values: { waterLevel: 99 } });
		const out = (await mapActions.preview(ev({ request: formReq({ device: id, key: 'waterLevel', metric: 'water_level_m', unit: 'cm', scale: 'ten', offset: '', enum: '' }) }))) as any;
		expect(out.status).toBe(400);
		expect(out.data.input).toEqual({ metric: 'water_level_m', unit: 'cm', scale: 'ten', offset: '', enum: '' });
		expect(out.data.errors).toEqual(['倍数 scale: 不是数字 not a number (ten)']);
		const noMetric = fieldFromInput('waterLevel', { metric: '', unit: '', scale: '', offset: '', enum: '' });
		expect(noMetric.ok).toBe(false);
		if (!noMetric.ok) expect(noMetric.errors[0]).toMatch(/^指标 metric: 不是 shudi 的指标/);

		const ok = (await mapActions.preview(ev({ request: formReq({ device: id, key: 'waterLevel', metric: 'water_level_m', unit: 'cm', scale: '', offset: '10', enum: '' }) }))) as any;
		// (99 + 10) cm = 1.09 m: the offset is in the source unit, before conversion.
		expect(ok.preview.messages[0].readings).toMatchObject([{ metric: 'water_level_m', value: 1.09 }]);
		const done = (await mapActions.confirm(ev({ request: formReq({ device: id, key: 'waterLevel', metric: 'water_level_m', unit: 'cm', scale: '', offset: '10', enum: '' }) }))) as any;
		expect(done.done).toMatchObject({ replayed: 1, stored: 1, readings: 1 });
		expect((await levels(id)).map((r) => r.value)).toEqual([1.09]);
	});

	it('the profile page previews a pasted payload with the device’s profile, and removes an own field', async () => {
		const devEui = 'a84041000181c061';
		const id = await addDevice('river_level', devEui);
		await setDeviceProfile(rt.db, id, 'milesight-em500-swl', { id: null, name: 'test' });
		const uplink = JSON.parse(readFileSync('tests/fixtures/profiles/milesight-em500-swl/chirpstack-uplink.json', 'utf8'));
		const at = new Date(Date.now() - 120_000).toISOString();
		const payload = JSON.stringify({ ...uplink, time: at, deviceInfo: { ...uplink.deviceInfo, devEui }, object: { battery: 85, depth: 150, water_temp: 12.5 } });
		const d = (await deviceProfileState(rt.db, id))!;
		const p = await previewPayload(rt.preview, d, { dialect: 'chirpstack', payload }, config.TZ_DISPLAY);
		const readings = Object.fromEntries(p.messages[0].readings.map((r) => [r.metric, r.value]));
		expect(readings).toMatchObject({ water_level_m: 1.5, battery_pct: 85 });
		expect(p.messages[0].readings.find((r) => r.metric === 'water_level_m')!.observed_at).toBe(at);
		expect(p.messages[0].rejected).toEqual([expect.objectContaining({ key: 'water_temp', reason: 'unknown_metric', value: '12.5' })]);
		// Nothing stored by a preview.
		expect(await levels(id)).toEqual([]);
		// Not JSON: refused whole, with its reason.
		const broken = await previewPayload(rt.preview, d, { dialect: 'native', payload: '{"values":' }, config.TZ_DISPLAY);
		expect(broken.messages[0]).toMatchObject({ readings: [], rejected: [{ reason: 'bad_json', reason_label: '不是 JSON not JSON' }] });

		// An own field (the mount offset an admin gave depth) is listed, and removed.
		await setDeviceProfile(rt.db, id, 'milesight-em500-swl', { id: null, name: 'test' }, [{ path: 'depth', metric: 'water_level_m', unit: 'cm', offset: 200 }]);
		const page = (await profileLoad(ev({ params: { id } }))) as any;
		expect(page.base.label.zh).toContain('EM500-SWL');
		expect(page.fields).toEqual([{ path: 'depth', metric: 'water_level_m', unit: 'cm', offset: 200 }]);
		const shown = (await profileActions.preview(ev({ params: { id }, request: formReq({ dialect: 'chirpstack', payload }) }))) as any;
		expect(shown.preview.messages[0].readings.find((r: any) => r.metric === 'water_level_m').value).toBe(3.5);
		const removed = (await profileActions.remove(ev({ params: { id }, request: formReq({ path: 'depth' }) }))) as any;
		expect(removed).toMatchObject({ removed: 'depth' });
		expect((await deviceProfileState(rt.db, id))!.fields).toEqual([]);
		const missing = (await profileActions.remove(ev({ params: { id }, request: formReq({ path: 'depth' }) }))) as any;
		expect(missing.status).toBe(400);
	});
});
