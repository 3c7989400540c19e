// HTTP surface of ingest, called through the real route handlers against a runtime started in this process
// (embedded database and broker, demo township seeded, simulator off).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseConfig } from '../../src/lib/server/platform/config';
import { runtime, clearRuntime, type Runtime } from '../../src/lib/server/runtime';
import { demoDeviceToken } from '../../src/lib/server/demo/seed';
import { POST as postReadings } from '../../src/routes/api/v1/devices/[id]/readings/+server';
import { GET as getDeadLetters } from '../../src/routes/api/v1/dead-letters/+server';
import { POST as postReplay } from '../../src/routes/api/v1/dead-letters/replay/+server';
import { GET as getSensors } from '../../src/routes/api/v1/sensors/+server';
import { GET as getSensor } from '../../src/routes/api/v1/sensors/[id]/+server';
import { GET as getVillages } from '../../src/routes/api/v1/villages/+server';
import { GET as getHealth } from '../../src/routes/api/v1/health/+server';
import { GET as getMetrics } from '../../src/routes/metrics/+server';
import { GET as getLive } from '../../src/routes/api/v1/live/+server';
import { OfflineWatcher } from '../../ingest/offline';
import { REAL_DB, waitFor } from '../support/services';
import type { SensorUpdate } from '../../src/lib/server/live/events';
import { visibleVillageIds, type SessionUser } from '../../src/lib/server/people/auth';

let rt: Runtime;
const config = parseConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), 'shudi-api-')), MQTT_PORT: '0', SIMULATE: 'off', DEMO: 'on', LOG_LEVEL: 'silent', INGEST_BATCH_MS: '10' });

beforeAll(async () => {
	rt = await runtime({ config });
});
afterAll(async () => {
	await rt.stop();
	clearRuntime();
});

// The handlers only use these parts of the SvelteKit RequestEvent.
type Ev = any;
// Role checks happen in hooks.server.ts before a handler runs (tests/integration/access.spec.ts); here the caller is
// an integration holding a read-scoped API token.
const ev = (init: { url?: string; params?: Record<string, string>; request?: Request }) =>
	({
		url: new URL(init.url ?? 'http://x/'),
		params: init.params ?? {},
		request: init.request ?? new Request('http://x/'),
		locals: { user: null, apiToken: { id: 1, name: 'test', scopes: ['read'] }, sessionToken: undefined }
	}) as unknown as Ev;

async function status(p: Promise<Response> | Response): Promise<{ status: number; body: unknown }> {
	try {
		const r = await p;
		return { status: r.status, body: r.headers.get('content-type')?.includes('json') ? await r.json() : await r.text() };
	} catch (e) {
		// SvelteKit's error() throws an HttpError with status and body.
		const h = e as { status?: number; body?: unknown };
		if (typeof h.status === 'number') return { status: h.status, body: h.body };
		throw e;
	}
}

function twin(id: string, body: string | object, token?: string) {
	const headers: Record<string, string> = { 'content-type': 'application/json' };
	if (token !== undefined) headers.authorization = `Bearer ${token}`;
	return postReadings(ev({ params: { id }, request: new Request(`http://x/api/v1/devices/${id}/readings`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) }) }));
}

describe.skipIf(!!REAL_DB)('HTTP API', () => {
	it('answers health with database and broker state', async () => {
		const r = await status(getHealth(ev({})));
		expect(r.status).toBe(200);
		expect(r.body).toMatchObject({ ok: true, db: { ok: true, kind: 'pglite' }, broker: { kind: 'embedded' }, ingest: { connected: true } });
	});

	it('serves villages and sensors as GeoJSON', async () => {
		const v = (await status(getVillages(ev({})))).body as GeoJSON.FeatureCollection;
		expect(v.type).toBe('FeatureCollection');
		expect(v.features.map((f) => f.properties!.name)).toContain('松林村');
		const s = (await status(getSensors(ev({})))).body as GeoJSON.FeatureCollection;
		expect(s.features.length).toBeGreaterThanOrEqual(40);
		// What the map needs and no more: latest values come per sensor (GET /api/v1/sensors/{id}).
		expect(Object.keys(s.features[0].properties!).sort()).toEqual(['id', 'kind', 'last_seen', 'low_battery', 'name', 'status', 'village_id']);
	});

	it('gzips the sensor list for a client that accepts it, and says the body varies with Accept-Encoding', async () => {
		const plain = await getSensors(ev({}));
		expect(plain.headers.get('content-encoding')).toBeNull();
		expect(plain.headers.get('vary')).toBe('Accept-Encoding');
		const text = await plain.text();
		const zipped = await getSensors(ev({ request: new Request('http://x/', { headers: { 'accept-encoding': 'gzip, deflate, br' } }) }));
		expect(zipped.headers.get('content-encoding')).toBe('gzip');
		const bytes = Buffer.from(await zipped.arrayBuffer());
		expect(bytes.length).toBeLessThan(text.length / 3);
		expect(gunzipSync(bytes).toString()).toBe(text);
		// Server Timing (W3C) names the query and the compression, as a browser's network panel shows them.
		expect(plain.headers.get('server-timing')).toMatch(/^list;dur=\d+(\.\d)?$/);
		expect(zipped.headers.get('server-timing')).toMatch(/^list;dur=\d+(\.\d)?, gzip;dur=\d+(\.\d)?$/);
	});

	it('serves one sensor with every latest value, and 404 for an unknown or revoked one', async () => {
		const ts = new Date(Date.now() - 4000).toISOString();
		expect((await status(twin('RL-03', { ts, values: { water_level_m: 1.5, battery_v: 3.1 } }, demoDeviceToken(config, 'RL-03')))).status).toBe(200);
		const r = await status(getSensor(ev({ params: { id: 'RL-03' } })));
		expect(r.status).toBe(200);
		const f = r.body as GeoJSON.Feature<GeoJSON.Point, { id: string; kind: string; interval_s: number; low_battery: boolean; values: Record<string, unknown> }>;
		expect(f.properties).toMatchObject({ id: 'RL-03', kind: 'river_level', low_battery: true });
		expect(f.properties.interval_s).toBeGreaterThan(0);
		expect(f.properties.values.water_level_m).toEqual({ value: 1.5, observed_at: ts, flags: 0 });
		// The list agrees: 3.1 V is under the 3.4 V mark.
		const list = (await status(getSensors(ev({})))).body as GeoJSON.FeatureCollection;
		expect(list.features.find((x) => x.properties!.id === 'RL-03')!.properties!.low_battery).toBe(true);
		expect((await status(getSensor(ev({ params: { id: 'NO-SUCH' } })))).status).toBe(404);
	});

	it('stores readings posted by a device with its token (HTTP twin) and shows them in /sensors', async () => {
		const ts = new Date(Date.now() - 5000).toISOString();
		const r = await status(twin('RL-02', { ts, seq: 1, values: { water_level_m: 2.77, battery_v: 3.8 } }, demoDeviceToken(config, 'RL-02')));
		expect(r).toEqual({ status: 200, body: { stored: 2, rejected: [] } });
		const s = (await status(getSensors(ev({})))).body as GeoJSON.FeatureCollection;
		const f = s.features.find((x) => x.properties!.id === 'RL-02')!;
		expect(f.properties!.status).toBe('normal');
		// last_seen is the receipt time, as ISO-8601 UTC with milliseconds (written by PostgreSQL, so checked here).
		const seen = String(f.properties!.last_seen);
		expect(new Date(seen).toISOString()).toBe(seen);
		expect(Math.abs(Date.parse(seen) - Date.now())).toBeLessThan(60_000);
		expect(f.properties!.low_battery).toBe(false);
		const one = (await status(getSensor(ev({ params: { id: 'RL-02' } })))).body as GeoJSON.Feature;
		expect(one.properties!.values.water_level_m).toEqual({ value: 2.77, observed_at: ts, flags: 0 });
	});

	it('writes any name as valid JSON in the list (PostgreSQL writes the text)', async () => {
		const name = 'a "quoted" \\ back\nslash\t\u0001 名 </script>';
		const old = (await rt.db.query<{ name: string }>("SELECT name FROM devices WHERE id = 'RL-04'")).rows[0].name;
		await rt.db.query("UPDATE devices SET name = $1 WHERE id = 'RL-04'", [name]);
		try {
			const list = (await status(getSensors(ev({})))).body as GeoJSON.FeatureCollection;
			expect(list.features.find((f) => f.id === 'RL-04')!.properties!.name).toBe(name);
		} finally {
			await rt.db.query("UPDATE devices SET name = $1 WHERE id = 'RL-04'", [old]);
		}
	});

	it('shows a device moved, renamed or given another village in the list at once, and leaves out one without a position', async () => {
		const before = (await rt.db.query<{ name: string; lng: number; lat: number; village_id: number | null }>("SELECT name, lng, lat, village_id FROM devices WHERE id = 'RL-05'")).rows[0];
		const other = (await rt.db.query<{ id: number }>('SELECT id FROM villages WHERE id <> $1 ORDER BY id LIMIT 1', [before.village_id ?? -1])).rows[0].id;
		const listed = async () => ((await status(getSensors(ev({})))).body as GeoJSON.FeatureCollection<GeoJSON.Point>).features.find((f) => f.id === 'RL-05');
		try {
			await rt.db.query("UPDATE devices SET lng = 107.5, lat = 26.5, name = '新名字', village_id = $1 WHERE id = 'RL-05'", [other]);
			const moved = (await listed())!;
			expect(moved.geometry.coordinates).toEqual([107.5, 26.5]);
			expect(moved.properties).toMatchObject({ name: '新名字', village_id: other });
			await rt.db.query("UPDATE devices SET lng = NULL, lat = NULL WHERE id = 'RL-05'");
			expect(await listed()).toBeUndefined();
		} finally {
			await rt.db.query("UPDATE devices SET name = $1, lng = $2, lat = $3, village_id = $4 WHERE id = 'RL-05'", [before.name, before.lng, before.lat, before.village_id]);
		}
		expect((await listed())!.geometry.coordinates).toEqual([before.lng, before.lat]);
	});

	it('shows last_seen as it is written, to the millisecond in UTC, cleared, and even for a row its trigger missed', async () => {
		const listed = async () => ((await status(getSensors(ev({})))).body as GeoJSON.FeatureCollection).features.find((f) => f.id === 'RL-06')!.properties!.last_seen;
		const before = (await rt.db.query<{ last_seen: Date | null }>("SELECT last_seen FROM devices WHERE id = 'RL-06'")).rows[0].last_seen;
		try {
			await rt.db.query("UPDATE devices SET last_seen = '2026-03-04 05:06:07.089+08' WHERE id = 'RL-06'");
			expect(await listed()).toBe('2026-03-03T21:06:07.089Z');
			// …from the text the trigger keeps (migrations/0011), not formatted on the read.
			expect((await rt.db.query<{ j: string }>("SELECT last_seen_json AS j FROM devices WHERE id = 'RL-06'")).rows[0].j).toBe('"2026-03-03T21:06:07.089Z"');
			await rt.db.query("UPDATE devices SET last_seen = '2026-03-04 05:06:07+00' WHERE id = 'RL-06'");
			expect(await listed()).toBe('2026-03-04T05:06:07.000Z');
			await rt.db.query("UPDATE devices SET last_seen = NULL WHERE id = 'RL-06'");
			expect(await listed()).toBeNull();
			// A row whose kept text is missing (written with the trigger off) is formatted on the read instead.
			await rt.db.query("UPDATE devices SET last_seen = '2026-01-02 03:04:05.6+00' WHERE id = 'RL-06'");
			await rt.db.query("UPDATE devices SET last_seen_json = NULL WHERE id = 'RL-06'");
			expect(await listed()).toBe('2026-01-02T03:04:05.600Z');
		} finally {
			await rt.db.query("UPDATE devices SET last_seen = $1 WHERE id = 'RL-06'", [before]);
		}
	});

	it('gives a cadre only their villages’ sensors, in the list and one by one, and never a revoked device', async () => {
		const cadre = (await rt.db.query<SessionUser>("SELECT id, username, display_name, roles, cadre_id FROM users WHERE username = 'cadre'")).rows[0];
		const asCadre = (init: Parameters<typeof ev>[0]) => ({ ...ev(init), locals: { user: cadre, apiToken: null, sessionToken: undefined } });
		const scope = (await visibleVillageIds(rt.db, cadre))!;
		const all = ((await status(getSensors(ev({})))).body as GeoJSON.FeatureCollection).features;
		const mine = ((await status(getSensors(asCadre({})))).body as GeoJSON.FeatureCollection).features;
		expect(mine.length).toBeGreaterThan(0);
		expect(mine.length).toBeLessThan(all.length);
		expect(mine.every((f) => scope.has(f.properties!.village_id))).toBe(true);
		expect(mine.map((f) => f.id)).toEqual(all.filter((f) => scope.has(f.properties!.village_id)).map((f) => f.id));
		const other = all.find((f) => !scope.has(f.properties!.village_id))!;
		expect((await status(getSensor(asCadre({ params: { id: String(other.id) } })))).status).toBe(404);
		expect((await status(getSensor(asCadre({ params: { id: String(mine[0].id) } })))).status).toBe(200);

		const revoked = String(all[all.length - 1].id);
		await rt.db.query('UPDATE devices SET revoked_at = now() WHERE id = $1', [revoked]);
		try {
			const after = ((await status(getSensors(ev({})))).body as GeoJSON.FeatureCollection).features;
			expect(after.map((f) => f.id)).toEqual(all.map((f) => f.id).filter((id) => id !== revoked));
			expect((await status(getSensor(ev({ params: { id: revoked } })))).status).toBe(404);
		} finally {
			await rt.db.query('UPDATE devices SET revoked_at = NULL WHERE id = $1', [revoked]);
		}
	});

	it('sends live updates that claim a status only when the batch changed it (alarm levels are the rule runner’s)', async () => {
		const seen: SensorUpdate[] = [];
		const on = (u: SensorUpdate[]) => seen.push(...u);
		rt.bus.on('sensors', on);
		try {
			// RL-02 has reported (above): a new reading is news about its values, not about its alarm level.
			await status(twin('RL-02', { ts: new Date().toISOString(), values: { water_level_m: 2.8 } }, demoDeviceToken(config, 'RL-02')));
			const known = await waitFor(async () => seen.find((u) => u.id === 'RL-02'));
			expect(known.values.water_level_m.value).toBe(2.8);
			expect(known).not.toHaveProperty('status');
			// A device never heard from becomes normal with its first reading: that the batch knows for sure.
			const fresh = (await rt.db.query<{ id: string }>("SELECT id FROM devices WHERE status = 'unknown' AND kind = 'rain_gauge' ORDER BY id LIMIT 1")).rows[0].id;
			await status(twin(fresh, { ts: new Date().toISOString(), values: { rain_mm: 0 } }, demoDeviceToken(config, fresh)));
			const first = await waitFor(async () => seen.find((u) => u.id === fresh));
			expect(first.status).toBe('normal');
		} finally {
			rt.bus.off('sensors', on);
		}
	});

	/** Opens the live stream (as an integration, or `as`), reads until `done` holds for what came (or `ms`, 5 s), closes it. */
	async function readLive(url: string, done: (events: { id?: string; event: string; data: unknown }[]) => boolean, init: { headers?: Record<string, string>; as?: (i: Parameters<typeof ev>[0]) => Ev; ms?: number } = {}) {
		const ac = new AbortController();
		const res = await getLive((init.as ?? ev)({ url, request: new Request(url, { headers: init.headers, signal: ac.signal }) }));
		expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
		const reader = res.body!.getReader();
		const dec = new TextDecoder();
		let text = '';
		const events = () =>
			text
				.split('\n\n')
				.filter((b) => /^(id|event|data):/m.test(b))
				.map((b) => {
					const f = Object.fromEntries(b.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
					return { id: f.id as string | undefined, event: f.event as string, data: JSON.parse(f.data) as unknown };
				});
		const deadline = Date.now() + (init.ms ?? 5000);
		try {
			// One read at a time, kept across waits: a read given up on would lose its chunk.
			let pending: ReturnType<typeof reader.read> | null = null;
			while (!done(events()) && Date.now() < deadline) {
				pending ??= reader.read();
				const r = await Promise.race([pending, new Promise<null>((ok) => setTimeout(() => ok(null), 200))]);
				if (!r) continue;
				pending = null;
				if (r.done) break;
				text += dec.decode(r.value, { stream: true });
			}
		} finally {
			ac.abort();
			await reader.cancel().catch(() => {});
		}
		return events();
	}

	it('replays to a stream opened from the list’s cursor what happened after the list was read, and a reconnect only what it missed', async () => {
		const listed = await getSensors(ev({}));
		const cursor = listed.headers.get('x-live-cursor')!;
		expect(cursor).toMatch(/^[A-Za-z0-9_-]+\.\d+$/);
		// After the list, before the stream: a reading stored by the HTTP twin (a `sensors` event from the real batch path).
		await status(twin('RL-02', { ts: new Date().toISOString(), values: { water_level_m: 2.61 } }, demoDeviceToken(config, 'RL-02')));
		await waitFor(async () => rt.bus.since(cursor)!.some((e) => e.event === 'sensors') || undefined);
		const got = await readLive(`http://x/api/v1/live?after=${cursor}`, (es) => es.some((e) => e.event === 'sensors'));
		expect(got[0].event).toBe('hello');
		expect(got.some((e) => e.event === 'resync')).toBe(false);
		const replayed = got.find((e) => e.event === 'sensors')!;
		expect((replayed.data as SensorUpdate[]).find((u) => u.id === 'RL-02')!.values.water_level_m.value).toBe(2.61);
		expect(replayed.id).toMatch(new RegExp(`^${rt.bus.epoch}\\.\\d+$`));

		// A browser reconnecting sends the id of the last event it had: nothing before it is sent again, even though
		// its URL still names the older cursor.
		const again = await readLive(`http://x/api/v1/live?after=${cursor}`, () => false, { headers: { 'last-event-id': replayed.id! }, ms: 1000 });
		expect(again.filter((e) => e.event === 'sensors' && (e.data as SensorUpdate[]).some((u) => u.id === 'RL-02' && u.values.water_level_m?.value === 2.61))).toEqual([]);
		expect(again.some((e) => e.event === 'resync')).toBe(false);
	});

	it.each([
		['from another process or an earlier run', 'zzzz.1'],
		['without a cursor', ''],
		['with a hostile cursor', 'x\nevent: sensors\ndata: []']
	])('tells a stream opened %s to read the list again (resync)', async (_what, after) => {
		const got = await readLive(`http://x/api/v1/live${after ? `?after=${encodeURIComponent(after)}` : ''}`, (es) => es.some((e) => e.event === 'resync'));
		expect(got.map((e) => e.event)).toEqual(['hello', 'resync']);
		// Its id is where the stream now stands: a reconnect after the re-read resumes from there.
		expect(got[1].id).toBe((got[1].data as { cursor: string }).cursor);
	});

	it('replays to a cadre only their own villages’ sensors', async () => {
		const cadre = (await rt.db.query<SessionUser>("SELECT id, username, display_name, roles, cadre_id FROM users WHERE username = 'cadre'")).rows[0];
		const asCadre = (init: Parameters<typeof ev>[0]) => ({ ...ev(init), locals: { user: cadre, apiToken: null, sessionToken: undefined } });
		const scope = await visibleVillageIds(rt.db, cadre);
		const ids = (await rt.db.query<{ id: string; mine: boolean }>('SELECT id, village_id = ANY($1::int[]) AS mine FROM devices WHERE village_id IS NOT NULL ORDER BY id', [[...scope!]])).rows;
		const mine = ids.find((r) => r.mine)!.id;
		const theirs = ids.find((r) => !r.mine)!.id;
		const cursor = (await getSensors(asCadre({}))).headers.get('x-live-cursor')!;
		rt.bus.emit('status', { id: theirs, status: 'red', at: new Date().toISOString() });
		rt.bus.emit('status', { id: mine, status: 'orange', at: new Date().toISOString() });
		rt.bus.emit('sensors', [{ id: theirs, last_seen: null, values: {} }]);
		const got = await readLive(`http://x/api/v1/live?after=${cursor}`, (es) => es.some((e) => e.event === 'status'), { as: asCadre });
		expect(got.filter((e) => e.event === 'status').map((e) => (e.data as { id: string }).id)).toEqual([mine]);
		expect(got.some((e) => e.event === 'sensors')).toBe(false);
	});

	it.each([
		['no token', undefined, 401],
		['a wrong token', 'not-the-token', 401],
		['another device’s token', 'shudi-demo-RL-03', 401]
	])('refuses %s with %i', async (_what, token, code) => {
		const r = await status(twin('RL-02', { values: { water_level_m: 1 } }, token));
		expect(r.status).toBe(code);
	});

	it('answers an unknown device like a wrong token (no id probing)', async () => {
		expect((await status(twin('NO-SUCH', { values: { water_level_m: 1 } }, 'x'))).status).toBe(401);
	});

	it('rejects a bad body with the reason, dead-letters it, and lists it by reason and device', async () => {
		const r = await status(twin('RL-04', '{"values": {"water_level_m": NaN}}', demoDeviceToken(config, 'RL-04')));
		expect(r.status).toBe(400);
		expect(r.body).toMatchObject({ stored: 0, rejected: [{ reason: 'bad_json' }] });
		const list = (await status(getDeadLetters(ev({ url: 'http://x/api/v1/dead-letters?reason=bad_json&device=RL-04' })))).body as { counts: Record<string, number>; items: { payload_text: string; topic: string }[] };
		expect(list.counts.bad_json).toBeGreaterThanOrEqual(1);
		expect(list.items[0]).toMatchObject({ topic: 'shudi/v1/devices/RL-04/up', payload_text: '{"values": {"water_level_m": NaN}}' });
	});

	it('refuses a body over 64 KiB before reading it all', async () => {
		const r = await status(twin('RL-04', 'x'.repeat(70 * 1024), demoDeviceToken(config, 'RL-04')));
		expect(r.status).toBe(413);
	});

	it('rejects bad list filters with 400', async () => {
		expect((await status(getDeadLetters(ev({ url: 'http://x/?limit=100000' })))).status).toBe(400);
		expect((await status(getDeadLetters(ev({ url: "http://x/?reason=' OR 1=1 --" })))).status).toBe(400);
	});

	it('replays an unknown device’s messages once it is registered', async () => {
		// A device not yet registered publishes through the pipeline (as an external broker would deliver it).
		const topic = 'shudi/v1/devices/LATE-01/up';
		const ts = new Date(Date.now() - 60_000).toISOString();
		const first = await rt.pipeline!.handle(topic, Buffer.from(JSON.stringify({ ts, values: { rain_mm: 3.5 } })));
		expect(first.rejected).toEqual([{ reason: 'unknown_device', detail: expect.any(String) }]);
		await rt.db.query("INSERT INTO devices (id, name, kind, lng, lat) VALUES ('LATE-01', 'late', 'rain_gauge', 107.5, 26.5)");
		const replay = await status(postReplay(ev({ request: new Request('http://x/', { method: 'POST', body: JSON.stringify({ device: 'LATE-01' }) }) })));
		expect(replay.body).toMatchObject({ replayed: 1, stored: 1, still_rejected: 0 });
		const rows = await rt.db.query<{ value: number }>("SELECT value FROM readings WHERE device_id = 'LATE-01'");
		expect(rows.rows).toEqual([{ value: 3.5 }]);
		// The original is kept with its outcome, and leaves the default list.
		const kept = await rt.db.query<{ replay_result: string }>("SELECT replay_result FROM dead_letters WHERE device_id = 'LATE-01'");
		expect(kept.rows).toEqual([{ replay_result: 'stored 1' }]);
		const list = (await status(getDeadLetters(ev({ url: 'http://x/?device=LATE-01' })))).body as { items: unknown[] };
		expect(list.items).toHaveLength(0);
		const audited = await rt.db.query("SELECT 1 FROM audit_log WHERE action = 'dead_letters_replayed'");
		expect(audited.rows.length).toBeGreaterThan(0);
		// Replaying again does nothing.
		const again = await status(postReplay(ev({ request: new Request('http://x/', { method: 'POST', body: JSON.stringify({ device: 'LATE-01' }) }) })));
		expect(again.body).toMatchObject({ replayed: 0 });
	});

	it('requires a selection to replay', async () => {
		const r = await status(postReplay(ev({ request: new Request('http://x/', { method: 'POST', body: '{}' }) })));
		expect(r.status).toBe(400);
	});

	it('exposes Prometheus metrics', async () => {
		const r = await status(getMetrics(ev({})));
		expect(r.status).toBe(200);
		const text = r.body as string;
		expect(text).toMatch(/shudi_ingest_readings_stored_total \d+/);
		expect(text).toMatch(/shudi_ingest_dead_letters_total\{reason="bad_json"\} [1-9]/);
		expect(text).toMatch(/shudi_devices\{status="normal"\} [1-9]/);
		expect(text).toContain('shudi_ingest_batch_seconds_bucket');
	});

	it('marks a silent device offline after 3 intervals, and online with its next reading', async () => {
		// Wired as in the runtime: a device marked offline gets its next reading written through at once.
		const sut = new OfflineWatcher(rt.db, { afterIntervals: 3, onChange: (c) => rt.writer!.forget(c.map((x) => x.id)) });
		const dev = await rt.db.query<{ interval_s: number; last_seen: Date }>("SELECT interval_s, last_seen FROM devices WHERE id = 'RL-02'");
		const last = new Date(dev.rows[0].last_seen).getTime();
		const interval = dev.rows[0].interval_s * 1000;
		expect(await sut.check(new Date(last + 2.9 * interval))).toEqual([]);
		const at = new Date(last + 3.1 * interval);
		const changed = await sut.check(at);
		expect(changed.map((c) => c.id)).toContain('RL-02');
		// Every device it marked had been silent for 3 of its own intervals (others reported earlier in this file).
		const silent = await rt.db.query<{ id: string }>(
			"SELECT id FROM devices WHERE last_seen IS NOT NULL AND last_seen + interval_s * 3 * interval '1 second' < $1 ORDER BY id",
			[at.toISOString()]
		);
		expect(changed.map((c) => c.id).sort()).toEqual(silent.rows.map((r) => r.id));
		expect(await sut.check(new Date(last + 4 * interval))).toEqual([]); // once, not every pass
		await status(twin('RL-02', { values: { water_level_m: 2.5 } }, demoDeviceToken(config, 'RL-02')));
		const events = await rt.db.query<{ kind: string }>("SELECT kind FROM device_events WHERE device_id = 'RL-02' ORDER BY id");
		expect(events.rows.map((e) => e.kind)).toEqual(['offline', 'online']);
		const now = await rt.db.query<{ status: string }>("SELECT status FROM devices WHERE id = 'RL-02'");
		expect(now.rows[0].status).toBe('normal');
	});
});
