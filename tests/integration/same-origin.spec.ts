// Only this site's own pages may change state: a cross-site POST to /logout (a +server.ts route, which SvelteKit's
// own CSRF check leaves alone unless the body is form-encoded) is refused before the route runs, through the real
// hooks (src/hooks.server.ts), and the session survives; the same request from the site itself signs out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRedirect } from '@sveltejs/kit';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/lib/server/platform/config';
import { runtime, clearRuntime, type Runtime } from '../../src/lib/server/runtime';
import { SESSION_COOKIE, createSession, sessionUser } from '../../src/lib/server/people/auth';
import { handle } from '../../src/hooks.server';
import { POST as logout } from '../../src/routes/logout/+server';
import { REAL_DB } from '../support/services';

let rt: Runtime;
let dutyId: number;

beforeAll(async () => {
	rt = await runtime({ config: parseConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), 'shudi-origin-')), MQTT_PORT: '0', SIMULATE: 'off', DEMO: 'on', LOG_LEVEL: 'silent' }) });
	dutyId = (await rt.db.query<{ id: number }>("SELECT id FROM users WHERE username = 'duty'")).rows[0].id;
});
afterAll(async () => {
	await rt.stop();
	clearRuntime();
});

/** POST /logout through the hooks with the route behind them, as the server does. */
async function postLogout(cookie: string, headers: Record<string, string>): Promise<{ status: number; location: string | null; reached: boolean }> {
	const url = new URL('http://shudi.local:3000/logout');
	let reached = false;
	const cookies = { get: (n: string) => (n === SESSION_COOKIE ? cookie : undefined), delete: () => undefined };
	const event = { url, route: { id: '/logout' }, request: new Request(url, { method: 'POST', headers }), cookies, locals: {} as App.Locals };
	const res = await handle({
		event: event as never,
		resolve: async (ev) => {
			reached = true;
			try {
				return await logout(ev as never);
			} catch (e) {
				if (isRedirect(e)) return new Response(null, { status: e.status, headers: { location: e.location } });
				throw e;
			}
		}
	});
	return { status: res.status, location: res.headers.get('location'), reached };
}

describe.skipIf(!!REAL_DB)('same-origin state changes', () => {
	it.each([
		['another site', { origin: 'http://evil.example' }],
		['another port of the same host (same site, other origin)', { origin: 'http://shudi.local:8080' }],
		['a sandboxed frame (Origin: null)', { origin: 'null' }],
		['a cross-site request without Origin (Fetch Metadata)', { 'sec-fetch-site': 'cross-site' }],
		['a same-site request without Origin (Fetch Metadata)', { 'sec-fetch-site': 'same-site' }],
		['a cross-site request with no body type (not a form, so SvelteKit would let it pass)', { origin: 'http://evil.example', 'content-type': '' }]
	])('refuses a POST to /logout from %s and keeps the session', async (_, headers) => {
		const { token } = await createSession(rt.db, dutyId, null, null);
		const r = await postLogout(token, headers);
		expect(r).toMatchObject({ status: 403, reached: false });
		expect(await sessionUser(rt.db, token)).toMatchObject({ id: dutyId });
	});

	it.each([
		['its own page (Origin)', { origin: 'http://shudi.local:3000', 'sec-fetch-site': 'same-origin' }],
		['a client that is not a browser (no Origin, no Fetch Metadata)', {}]
	])('signs out on a POST from %s', async (_, headers) => {
		const { token } = await createSession(rt.db, dutyId, null, null);
		expect(await postLogout(token, headers)).toEqual({ status: 303, location: '/login', reached: true });
		expect(await sessionUser(rt.db, token)).toBeNull();
	});

	it('refuses a cross-site POST to a JSON route before it runs', async () => {
		const { token } = await createSession(rt.db, dutyId, null, null);
		const url = new URL('http://shudi.local:3000/api/v1/incidents/1/actions');
		const event = {
			url,
			route: { id: '/api/v1/incidents/[id]/actions' },
			request: new Request(url, { method: 'POST', headers: { origin: 'http://evil.example' }, body: new Blob(['{"action":"accept"}']) }),
			cookies: { get: (n: string) => (n === SESSION_COOKIE ? token : undefined) },
			locals: {}
		};
		const res = await handle({ event: event as never, resolve: async () => new Response('reached', { status: 299 }) });
		expect(res.status).toBe(403);
		expect(await res.json()).toEqual({ message: '跨站请求被拒绝 cross-site request refused' });
	});
});
