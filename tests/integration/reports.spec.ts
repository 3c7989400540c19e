// Field reports with photos, disputes with follow-up visits, and who may see a case's photos.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/lib/server/platform/config';
import { runtime, clearRuntime, type Runtime } from '../../src/lib/server/runtime';
import type { SessionUser } from '../../src/lib/server/people/auth';
import { POST as postIncident } from '../../src/routes/api/v1/incidents/+server';
import { GET as getPhoto } from '../../src/routes/api/v1/incidents/[id]/attachments/[aid]/+server';
import { GET as getFollowups, POST as postFollowup } from '../../src/routes/api/v1/incidents/[id]/followups/+server';
import { incidentDetail } from '../../src/lib/server/cases/incident-queries';
import { sniffImage } from '../../src/lib/server/cases/uploads';
import { REAL_DB } from '../support/services';

let rt: Runtime;
beforeAll(async () => {
	rt = await runtime({ config: parseConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), 'shudi-rep-')), MQTT_PORT: '0', SIMULATE: 'off', DEMO: 'on', LOG_LEVEL: 'silent', RULES: 'off' }) });
});
afterAll(async () => {
	await rt.stop();
	clearRuntime();
});

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(64)]);

async function user(username: string): Promise<SessionUser> {
	return (await rt.db.query<SessionUser>('SELECT id, username, display_name, roles, cadre_id FROM users WHERE username = $1', [username])).rows[0];
}
type Ev = any;
const ev = (u: SessionUser, request: Request, params: Record<string, string> = {}): Ev => ({ request, params, locals: { user: u, apiToken: null }, url: new URL(request.url) });

async function status(p: Promise<Response> | Response): Promise<{ status: number; body: unknown; res?: Response }> {
	try {
		const r = await p;
		return { status: r.status, body: r.headers.get('content-type')?.includes('json') ? await r.clone().json() : null, res: r };
	} catch (e) {
		const h = e as { status?: number; body?: unknown };
		if (typeof h.status === 'number') return { status: h.status, body: h.body };
		throw e;
	}
}

async function songlinPoint(): Promise<{ lng: number; lat: number }> {
	return (await rt.db.query<{ lng: number; lat: number }>("SELECT d.lng, d.lat FROM devices d JOIN villages v ON v.id = d.village_id WHERE v.name = '松林村' LIMIT 1")).rows[0];
}

describe.skipIf(!!REAL_DB)('field reports', () => {
	it('sniffs image types from the bytes, not the name', () => {
		expect(sniffImage(PNG)?.mime).toBe('image/png');
		expect(sniffImage(JPEG)?.mime).toBe('image/jpeg');
		expect(sniffImage(Buffer.from('<svg onload=alert(1)>'))).toBeNull();
	});

	it('takes a multipart report with photos from a cadre, routes it, and serves the photo only to those who may see the case', async () => {
		const cadre = await user('cadre');
		const p = await songlinPoint();
		const fd = new FormData();
		fd.append('category', 'housing');
		fd.append('title', '危房后墙开裂');
		fd.append('description', '裂缝约 3 毫米');
		fd.append('lng', String(p.lng));
		fd.append('lat', String(p.lat));
		fd.append('photos', new File([PNG], 'wall.png', { type: 'image/png' }));
		fd.append('photos', new File([JPEG], 'crack.jpg', { type: 'image/jpeg' }));
		const r = await status(postIncident(ev(cadre, new Request('http://x/api/v1/incidents', { method: 'POST', body: fd }))));
		expect(r.status).toBe(201);
		const id = (r.body as { id: number }).id;
		const d = await incidentDetail(rt.db, cadre, id);
		expect(d!.village).toBe('松林村');
		const att = await rt.db.query<{ id: number; mime: string }>('SELECT id, mime FROM attachments WHERE incident_id = $1 ORDER BY id', [id]);
		expect(att.rows.map((a) => a.mime)).toEqual(['image/png', 'image/jpeg']);
		const photo = await status(getPhoto(ev(cadre, new Request('http://x/'), { id: String(id), aid: String(att.rows[0].id) })));
		expect(photo.status).toBe(200);
		expect(Buffer.from(await photo.res!.arrayBuffer()).equals(PNG)).toBe(true);
		// A cadre of another village may not see it. Make one: a cadre user bound to a cadre with other villages.
		const other = await rt.db.query<{ cadre_id: number }>(
			"SELECT a.cadre_id FROM assignments a JOIN villages v ON v.id = a.village_id WHERE v.name <> '松林村' AND a.role = 'cadre' AND a.valid_to IS NULL AND a.cadre_id NOT IN (SELECT cadre_id FROM assignments a2 JOIN villages v2 ON v2.id = a2.village_id WHERE v2.name = '松林村') LIMIT 1"
		);
		const stranger: SessionUser = { id: cadre.id, username: 'x', display_name: 'x', roles: ['cadre'], cadre_id: other.rows[0].cadre_id };
		expect((await status(getPhoto(ev(stranger, new Request('http://x/'), { id: String(id), aid: String(att.rows[0].id) })))).status).toBe(404);
	});

	it('refuses a "photo" whose bytes are not an image, and stores nothing', async () => {
		const cadre = await user('cadre');
		const p = await songlinPoint();
		const before = (await rt.db.query<{ n: number }>('SELECT count(*)::int AS n FROM incidents')).rows[0].n;
		const fd = new FormData();
		for (const [k, v] of Object.entries({ category: 'other', title: 't', lng: String(p.lng), lat: String(p.lat) })) fd.append(k, v);
		fd.append('photos', new File(['<svg onload=alert(1)></svg>'], 'x.jpg', { type: 'image/jpeg' }));
		const r = await status(postIncident(ev(cadre, new Request('http://x/api/v1/incidents', { method: 'POST', body: fd }))));
		expect(r.status).toBe(400);
		expect((await rt.db.query<{ n: number }>('SELECT count(*)::int AS n FROM incidents')).rows[0].n).toBe(before);
	});

	it('converts a GCJ-02 point (phone map pick) to WGS-84 before routing', async () => {
		const duty = await user('duty');
		const p = await songlinPoint();
		// The GCJ-02 coordinates of the WGS-84 point p, as AMap would give them (gcoord's forward transform).
		const gcoord = (await import('gcoord')).default;
		const [glng, glat] = gcoord.transform([p.lng, p.lat], gcoord.WGS84, gcoord.GCJ02) as [number, number];
		expect(Math.abs(glng - p.lng) + Math.abs(glat - p.lat)).toBeGreaterThan(0.001); // hundreds of metres apart
		const r = await status(postIncident(ev(duty, new Request('http://x/', { method: 'POST', body: JSON.stringify({ category: 'flood', title: '热线：内涝', lng: glng, lat: glat, crs: 'gcj02', source: 'hotline' }) }))));
		const d = await incidentDetail(rt.db, duty, (r.body as { id: number }).id);
		expect(Math.abs(d!.lng! - p.lng)).toBeLessThan(0.00005);
		expect(Math.abs(d!.lat! - p.lat)).toBeLessThan(0.00005);
		expect(d!.village).toBe('松林村');
	});

	it('records a dispute with its parties and schedules and completes a follow-up visit', async () => {
		const duty = await user('duty');
		const p = await songlinPoint();
		const r = await status(postIncident(ev(duty, new Request('http://x/', { method: 'POST', body: JSON.stringify({ category: 'dispute', title: '宅基地纠纷', lng: p.lng, lat: p.lat, source: 'hotline', dispute: { parties: ['张三', '李四'], agreement: '界桩重新确认' } }) }))));
		const id = (r.body as { id: number }).id;
		const d = await incidentDetail(rt.db, duty, id);
		expect(d!.dispute).toEqual({ parties: ['张三', '李四'], agreement: '界桩重新确认' });
		const due = new Date(Date.now() + 86400_000).toISOString();
		const f = await status(postFollowup(ev(duty, new Request('http://x/', { method: 'POST', body: JSON.stringify({ due_at: due, note: '一周后回访' }) }), { id: String(id) })));
		expect(f.status).toBe(201);
		const list = await status(getFollowups(ev(duty, new Request('http://x/'), { id: String(id) })));
		expect((list.body as { items: unknown[] }).items).toHaveLength(1);
		const done = await status(postFollowup(ev(duty, new Request('http://x/', { method: 'POST', body: JSON.stringify({ id: (f.body as { id: number }).id, done: true, note: '双方满意' }) }), { id: String(id) })));
		expect(done.status).toBe(200);
		const ev2 = await incidentDetail(rt.db, duty, id);
		expect(ev2!.events.map((e) => e.action)).toEqual(['report', 'followup_scheduled', 'followup_done']);
	});

	it.each([
		[{ category: 'flood', title: '', lng: 107.5, lat: 26.5 }],
		[{ category: 'volcano', title: 'x', lng: 107.5, lat: 26.5 }],
		[{ category: 'flood', title: 'x', lng: 181, lat: 26.5 }],
		[{ category: 'flood', title: 'x', lng: 'east', lat: 26.5 }]
	])('rejects a bad report with 400: %j', async (body) => {
		const duty = await user('duty');
		const r = await status(postIncident(ev(duty, new Request('http://x/', { method: 'POST', body: JSON.stringify(body) }))));
		expect(r.status).toBe(400);
	});
});

describe.skipIf(!!REAL_DB)('calibration', () => {
	it('sets a tilt sensor’s baseline from the median of its last hour, refuses kinds without one, and audits it', async () => {
		const { POST: calibrate } = await import('../../src/routes/api/v1/devices/[id]/calibrate/+server');
		const admin = await user('admin');
		const tilt = (await rt.db.query<{ id: string }>("SELECT id FROM devices WHERE kind = 'house_tilt' ORDER BY id LIMIT 1")).rows[0].id;
		// Three readings per axis in the last hour (one a bump the median ignores), not a single latest value.
		for (const [i, x, y] of [[1, 0.3, -0.2], [2, 0.31, -0.12], [3, 0.35, -0.1]]) {
			const t = new Date(Date.now() - i * 60_000).toISOString();
			await rt.db.query("INSERT INTO readings (device_id, metric, observed_at, value, received_at) VALUES ($1, 'tilt_x_deg', $2, $3, $2), ($1, 'tilt_y_deg', $2, $4, $2)", [tilt, t, x, y]);
		}
		const r = await status(calibrate(ev(admin, new Request('http://x/', { method: 'POST' }), { id: tilt })));
		expect(r.body).toMatchObject({ id: tilt, baseline: { tilt_x_deg: 0.31, tilt_y_deg: -0.12 }, window: '1h', method: 'median', counts: { tilt_x_deg: 3, tilt_y_deg: 3 } });
		const b = await rt.db.query<{ baseline: unknown }>('SELECT baseline FROM devices WHERE id = $1', [tilt]);
		expect(b.rows[0].baseline).toEqual({ tilt_x_deg: 0.31, tilt_y_deg: -0.12 });
		const a = await rt.db.query<{ action: string }>("SELECT action FROM audit_log WHERE target_id = $1 AND action = 'device_calibrated'", [tilt]);
		expect(a.rows).toHaveLength(1);
		const rain = (await rt.db.query<{ id: string }>("SELECT id FROM devices WHERE kind = 'rain_gauge' LIMIT 1")).rows[0].id;
		expect((await status(calibrate(ev(admin, new Request('http://x/', { method: 'POST' }), { id: rain })))).status).toBe(400);
	});
});
