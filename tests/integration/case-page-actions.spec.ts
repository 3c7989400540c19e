// The case page's form actions answer each refusal with a status and words a person can act on: a malformed form is
// 400, an action the user's role may not take is 403, a case outside a cadre's villages is 404 (not even its
// existence is told), and an action the case's state no longer allows (two people pressing 受理 at once) is 409.
// The buttons on the page are a convenience; these answers come from the server whatever the browser sends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/lib/server/platform/config';
import { runtime, clearRuntime, type Runtime } from '../../src/lib/server/runtime';
import { visibleVillageIds, type SessionUser } from '../../src/lib/server/people/auth';
import { incidentDetail } from '../../src/lib/server/cases/incident-queries';
import { POST as postIncident } from '../../src/routes/api/v1/incidents/+server';
import { actions, load } from '../../src/routes/incidents/[id]/+page.server';

let rt: Runtime;
beforeAll(async () => {
	rt = await runtime({ config: parseConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), 'shudi-casepage-')), MQTT_PORT: '0', SIMULATE: 'off', DEMO: 'on', LOG_LEVEL: 'silent', RULES: 'off' }) });
});
afterAll(async () => {
	await rt.stop();
	clearRuntime();
});

async function user(username: string): Promise<SessionUser> {
	return (await rt.db.query<SessionUser>('SELECT id, username, display_name, roles, cadre_id FROM users WHERE username = $1', [username])).rows[0];
}

type Any = any;

/** A case reported by the duty officer at the place of one of the village's sensors (inside it by construction). */
async function reportIn(villageId: number, title: string): Promise<number> {
	const sensor = await rt.db.query<{ lng: number; lat: number }>('SELECT lng, lat FROM devices WHERE village_id = $1 AND lng IS NOT NULL LIMIT 1', [villageId]);
	const { lng, lat } = sensor.rows[0];
	const request = new Request('http://localhost/api/v1/incidents', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ category: 'housing', title, lng, lat }) });
	const res = await postIncident({ request, locals: { user: await user('duty'), apiToken: null }, url: new URL(request.url), params: {} } as Any);
	expect(res.status).toBe(201);
	return ((await res.json()) as { id: number }).id;
}

/** Runs a named form action as `who` with these form fields; returns SvelteKit's ActionFailure or the success data. */
async function submit(who: string, id: number, action: string, fields: Record<string, string> = {}): Promise<{ status: number; data: { error?: string; ok?: boolean } }> {
	const fd = new FormData();
	for (const [k, v] of Object.entries(fields)) fd.append(k, v);
	const request = new Request(`http://localhost/incidents/${id}?/${action}`, { method: 'POST', body: fd });
	const out = (await (actions as Any)[action]({ params: { id: String(id) }, request, locals: { user: await user(who), apiToken: null }, url: new URL(request.url) })) as Any;
	// fail() returns an ActionFailure { status, data }; success returns the data itself.
	return out && typeof out.status === 'number' && out.data ? { status: out.status, data: out.data } : { status: 200, data: out };
}

async function thrownStatus(p: Promise<unknown>): Promise<number> {
	try {
		await p;
		return 200;
	} catch (e) {
		return (e as { status?: number }).status ?? 500;
	}
}

describe('case page form answers', () => {
	it('400: a location with one coordinate, or not a number, is refused with the field named and nothing recorded', async () => {
		const cadre = await user('cadre');
		const mine = [...((await visibleVillageIds(rt.db, cadre)) ?? [])];
		const id = await reportIn(mine[0], '表单校验测试');
		const before = (await incidentDetail(rt.db, null, id))!.events.length;

		const half = await submit('duty', id, 'accept', { lng: '107.45' });
		expect(half.status).toBe(400);
		expect(half.data.error).toMatch(/lng/);
		const nan = await submit('duty', id, 'accept', { lng: 'NaN', lat: '26.5' });
		expect(nan.status).toBe(400);
		const hostile = await submit('duty', id, 'accept', { note: 'x'.repeat(5001) });
		expect(hostile.status).toBe(400);
		expect(hostile.data.error).toMatch(/note/);

		expect((await incidentDetail(rt.db, null, id))!.events).toHaveLength(before);
	});

	it('403 for an action the role may not take; 409 when the case has moved on; the one that won is on the record once', async () => {
		const cadre = await user('cadre');
		const mine = [...((await visibleVillageIds(rt.db, cadre)) ?? [])];
		const id = await reportIn(mine[0], '权限与并发测试');

		// A cadre cannot dispatch (the duty room does); the server says so whatever the page showed.
		const dispatch = await submit('cadre', id, 'dispatch', { assignee: String(cadre.cadre_id ?? 1) });
		expect(dispatch.status).toBe(403);
		expect(dispatch.data.error).toBeTruthy();

		// Two duty officers press 受理 at the same moment: one wins, the other is told the case moved on.
		const [a, b] = await Promise.all([submit('duty', id, 'accept'), submit('duty', id, 'accept')]);
		expect([a.status, b.status].sort()).toEqual([200, 409]);
		const loser = a.status === 409 ? a : b;
		expect(loser.data.error).toBeTruthy();
		const accepts = (await incidentDetail(rt.db, null, id))!.events.filter((e) => e.action === 'accept');
		expect(accepts).toHaveLength(1);
	});

	it("404 for a case outside a cadre's villages, for the page and for its actions alike", async () => {
		const cadre = await user('cadre');
		const mine = (await visibleVillageIds(rt.db, cadre)) ?? new Set<number>();
		const other = (await rt.db.query<{ id: number }>('SELECT id FROM villages ORDER BY id')).rows.map((r) => r.id).find((v) => !mine.has(v))!;
		expect(other).toBeDefined();
		const id = await reportIn(other, '辖区外案件');

		expect(await thrownStatus((load as Any)({ params: { id: String(id) }, locals: { user: cadre, apiToken: null } }))).toBe(404);
		const acted = await submit('cadre', id, 'accept');
		expect(acted.status).toBe(404);
		expect(await thrownStatus((load as Any)({ params: { id: 'abc' }, locals: { user: await user('duty'), apiToken: null } }))).toBe(404);
	});
});
