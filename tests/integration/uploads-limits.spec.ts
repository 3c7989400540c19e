// Field reports refused as a whole before any photo touches the disk; orphaned uploads swept; hourly limits per
// account and per client address (429 with Retry-After, Chinese first, audited once). Embedded by default, real
// PostgreSQL when TEST_DATABASE_URL is set.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, existsSync, writeFileSync, utimesSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/lib/server/platform/config';
import { runtime, clearRuntime, type Runtime } from '../../src/lib/server/runtime';
import type { SessionUser } from '../../src/lib/server/people/auth';
import { POST as postIncident } from '../../src/routes/api/v1/incidents/+server';
import { sweepOrphans } from '../../src/lib/server/cases/uploads';
import { createDatabase } from '../../scripts/scratch-db';
import { REAL_DB, REAL_MQTT } from '../support/services';

let rt: Runtime;
let dropDb = async () => {};
const dataDir = mkdtempSync(join(tmpdir(), 'shudi-upl-'));
const uploads = join(dataDir, 'uploads');

beforeAll(async () => {
	const env: Record<string, string> = {
		DATA_DIR: dataDir,
		MQTT_PORT: '0',
		SIMULATE: 'off',
		DEMO: 'on',
		LOG_LEVEL: 'silent',
		RULES: 'off',
		REPORT_LIMIT_PER_HOUR: '3',
		REPORT_LIMIT_PER_HOUR_PER_ADDRESS: '5',
		UPLOAD_LIMIT_PER_HOUR: '4'
	};
	if (REAL_DB) {
		const scratch = await createDatabase(REAL_DB, 'shudi_upl');
		env.DATABASE_URL = scratch.url;
		dropDb = scratch.drop;
	}
	if (REAL_MQTT) env.MQTT_URL = REAL_MQTT;
	rt = await runtime({ config: parseConfig(env) });
});
afterAll(async () => {
	await rt.stop();
	clearRuntime();
	await dropDb();
});

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
const jpeg = (seed: number) => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(64, seed)]);

async function user(username: string): Promise<SessionUser> {
	return (await rt.db.query<SessionUser>('SELECT id, username, display_name, roles, cadre_id FROM users WHERE username = $1', [username])).rows[0];
}
type Ev = any;
const ev = (u: SessionUser, request: Request, address: string): Ev => ({ request, params: {}, locals: { user: u, apiToken: null }, url: new URL(request.url), getClientAddress: () => address });

async function post(u: SessionUser, address: string, fields: Record<string, string>, photos: File[] = []): Promise<{ status: number; message?: string; retryAfter?: string | null }> {
	const fd = new FormData();
	for (const [k, v] of Object.entries(fields)) fd.append(k, v);
	for (const p of photos) fd.append('photos', p);
	try {
		const r = await postIncident(ev(u, new Request('http://x/api/v1/incidents', { method: 'POST', body: fd }), address));
		const body = (await r.json()) as { message?: string };
		return { status: r.status, message: body.message, retryAfter: r.headers.get('retry-after') };
	} catch (e) {
		const h = e as { status?: number; body?: { message?: string } };
		if (typeof h.status === 'number') return { status: h.status, message: h.body?.message };
		throw e;
	}
}

const files = () => (existsSync(uploads) ? readdirSync(uploads).sort() : []);
const incidents = async () => (await rt.db.query<{ n: number }>('SELECT count(*)::int AS n FROM incidents')).rows[0].n;
let point: { lng: string; lat: string };
const fields = (over: Record<string, string> = {}) => ({ category: 'housing', title: '后墙开裂', ...point, ...over });

describe('field reports with photos', () => {
	beforeAll(async () => {
		const p = (await rt.db.query<{ lng: number; lat: number }>("SELECT d.lng, d.lat FROM devices d JOIN villages v ON v.id = d.village_id WHERE v.name = '松林村' LIMIT 1")).rows[0];
		point = { lng: String(p.lng), lat: String(p.lat) };
	});

	it.each([
		['a bad category', fields({ category: 'volcano' }), [new File([jpeg(1)], 'a.jpg')]],
		['coordinates out of range', fields({ lat: '91' }), [new File([jpeg(2)], 'a.jpg')]],
		['no title', fields({ title: '' }), [new File([jpeg(3)], 'a.jpg')]],
		['seven photos', fields(), Array.from({ length: 7 }, (_, i) => new File([jpeg(10 + i)], `${i}.jpg`))],
		['a good photo beside a script named .jpg', fields(), [new File([jpeg(4)], 'good.jpg'), new File(['<svg onload=alert(1)>'], 'x.jpg', { type: 'image/jpeg' })]]
	])('refuses %s with 400 and leaves nothing: no file, no case', async (_name, f, photos) => {
		const before = await incidents();
		const r = await post(await user('admin'), '10.0.0.1', f, photos);
		expect(r.status).toBe(400);
		expect(files()).toEqual([]);
		expect(await incidents()).toBe(before);
	});

	it('stores a good report’s photos, each once per content', async () => {
		const r = await post(await user('admin'), '10.0.0.1', fields(), [new File([PNG], 'wall.png'), new File([jpeg(5)], 'crack.jpg')]);
		expect(r.status).toBe(201);
		expect(files()).toHaveLength(2);
	});

	it('sweeps uploads no case names, and temporary files, once they are old; keeps young ones and named ones', async () => {
		mkdirSync(uploads, { recursive: true });
		const named = files();
		const orphan = `${'a'.repeat(64)}.jpg`;
		const young = `${'b'.repeat(64)}.jpg`;
		const temp = `${'c'.repeat(64)}.jpg.tmp-0123abcd`;
		const unrelated = 'README.txt';
		for (const n of [orphan, young, temp, unrelated]) writeFileSync(join(uploads, n), jpeg(9));
		const hourAgo = new Date(Date.now() - 3600_000);
		for (const n of [orphan, temp, unrelated, ...named]) utimesSync(join(uploads, n), hourAgo, hourAgo);
		expect(await sweepOrphans(rt.db, dataDir, 10 * 60_000)).toBe(2);
		expect(files()).toEqual([...named, young, unrelated].sort());
	});
});

describe('hourly limits', () => {
	it('refuses a caller’s 4th report in the hour with 429, Retry-After and a Chinese-first message, stores nothing, and audits it once', async () => {
		const duty = await user('duty');
		for (let i = 0; i < 3; i++) expect((await post(duty, '10.1.0.1', fields({ title: `热线 ${i}` }))).status).toBe(201);
		const before = { n: await incidents(), files: files() };
		const r = await post(duty, '10.1.0.1', fields({ title: '第四条' }), [new File([jpeg(20)], 'x.jpg')]);
		expect(r.status).toBe(429);
		expect(r.message).toMatch(/^上报过于频繁，请 \d+ 分钟后再试 Too many reports/);
		expect(Number(r.retryAfter)).toBeGreaterThan(3000);
		expect(Number(r.retryAfter)).toBeLessThanOrEqual(3600);
		expect((await post(duty, '10.1.0.9', fields())).status).toBe(429); // a new address does not reset an account
		expect(await incidents()).toBe(before.n);
		expect(files()).toEqual(before.files);
		const audited = await rt.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log WHERE action = 'rate_limited' AND actor_user_id = $1", [duty.id]);
		expect(audited.rows[0].n).toBe(1);
	});

	it('limits one address across accounts, while another address is served', async () => {
		const [cadre, leader] = [await user('cadre'), await user('leader')];
		// 10.2.0.1 already carries 3 from the leader…
		for (let i = 0; i < 3; i++) expect((await post(leader, '10.2.0.1', fields())).status).toBe(201);
		// …so the cadre, who has filed nothing, gets 2 more from it (address limit 5), then is refused there.
		expect((await post(cadre, '10.2.0.1', fields())).status).toBe(201);
		expect((await post(cadre, '10.2.0.1', fields())).status).toBe(201);
		expect((await post(cadre, '10.2.0.1', fields())).status).toBe(429);
		// The same cadre from another address still reports.
		expect((await post(cadre, '10.2.0.2', fields())).status).toBe(201);
	});

	it('counts photos against the upload limit: a request that would pass it is refused whole', async () => {
		const admin = await user('admin');
		// admin has used 1 report and 2 photos of 4 so far (earlier test).
		const before = files();
		const r = await post(admin, '10.3.0.1', fields(), [new File([jpeg(30)], '1.jpg'), new File([jpeg(31)], '2.jpg'), new File([jpeg(32)], '3.jpg')]);
		expect(r.status).toBe(429);
		expect(r.message).toMatch(/^上传照片过多/);
		expect(files()).toEqual(before);
		// Within the limit still works, and the refused request used up none of the report limit.
		expect((await post(admin, '10.3.0.1', fields(), [new File([jpeg(33)], '1.jpg'), new File([jpeg(34)], '2.jpg')])).status).toBe(201);
	});
});
