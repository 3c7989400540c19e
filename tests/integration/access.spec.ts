// The role matrix: every route is called as anonymous and as each role through the real hooks (session lookup and
// access check) and must be allowed or refused exactly as the table below says. The table is written out here, not
// derived from src/lib/server/people/access.ts, so a wrong policy fails. A route file with no entry here fails too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { parseConfig } from '../../src/lib/server/platform/config';
import { runtime, clearRuntime, type Runtime } from '../../src/lib/server/runtime';
import { createSession, createApiToken, revokeSession, sessionUser, SESSION_COOKIE } from '../../src/lib/server/people/auth';
import { handle } from '../../src/hooks.server';
import { ROUTE_ACCESS } from '../../src/lib/server/people/access';

type Who = 'anon' | 'admin' | 'leader' | 'duty' | 'cadre' | 'token_read' | 'token_report';
const EVERYONE: Who[] = ['anon', 'admin', 'leader', 'duty', 'cadre', 'token_read', 'token_report'];
const SIGNED_IN: Who[] = ['admin', 'leader', 'duty', 'cadre'];

/** Route id → method → who gets through to the handler. */
const EXPECTED: Record<string, Record<string, Who[]>> = {
	'/': { GET: SIGNED_IN },
	'/login': { GET: EVERYONE, POST: EVERYONE },
	'/logout': { POST: SIGNED_IN },
	'/account': { GET: SIGNED_IN, POST: SIGNED_IN },
	'/admin': { GET: ['admin'] },
	'/admin/devices': { GET: ['admin'], POST: ['admin'] },
	'/admin/villages': { GET: ['admin'], POST: ['admin'] },
	'/admin/villages/draw': { GET: ['admin'], POST: ['admin'] },
	'/admin/cadres': { GET: ['admin'], POST: ['admin'] },
	'/admin/devices/[id]': { GET: ['admin'], POST: ['admin'] },
	'/admin/roster': { GET: ['admin'], POST: ['admin'] },
	'/admin/tokens': { GET: ['admin'], POST: ['admin'] },
	'/admin/audit': { GET: ['admin'] },
	'/admin/dead-letters': { GET: ['admin'] },
	'/admin/dead-letters/map': { GET: ['admin'], POST: ['admin'] },
	'/admin/devices/[id]/profile': { GET: ['admin'], POST: ['admin'] },
	'/api/v1/health': { GET: EVERYONE },
	'/api/v1/villages': { GET: [...SIGNED_IN, 'token_read'] },
	'/api/v1/sensors': { GET: [...SIGNED_IN, 'token_read'] },
	'/api/v1/sensors/[id]': { GET: [...SIGNED_IN, 'token_read'] },
	'/api/v1/sensors/[id]/history': { GET: [...SIGNED_IN, 'token_read'] },
	'/api/v1/live': { GET: SIGNED_IN },
	'/api/v1/incidents': { GET: [...SIGNED_IN, 'token_read'], POST: [...SIGNED_IN, 'token_report'] },
	'/api/v1/incidents/[id]': { GET: [...SIGNED_IN, 'token_read'] },
	'/api/v1/incidents/[id]/actions': { POST: SIGNED_IN },
	'/incidents/[id]': { GET: SIGNED_IN, POST: SIGNED_IN },
	'/api/v1/incidents/[id]/attachments/[aid]': { GET: SIGNED_IN },
	'/api/v1/incidents/[id]/followups': { GET: SIGNED_IN, POST: SIGNED_IN },
	'/report': { GET: SIGNED_IN },
	'/review': { GET: ['admin', 'leader'] },
	'/review/cases': { GET: ['admin', 'leader'] },
	'/review/report': { GET: ['admin', 'leader'] },
	'/review/export': { GET: ['admin', 'leader'] },
	'/api/v1/dead-letters': { GET: ['admin'] },
	'/api/v1/dead-letters/replay': { POST: ['admin'] },
	'/api/v1/dead-letters/groups': { GET: ['admin'] },
	'/api/v1/dead-letters/map': { POST: ['admin'] },
	'/api/v1/profiles': { GET: ['admin'] },
	// Devices authenticate with their own token inside the handler (tested in api.spec.ts).
	'/api/v1/devices/[id]/readings': { POST: EVERYONE },
	// Network servers authenticate with the integration's secret header inside the handler.
	'/api/v1/integrations/chirpstack/[id]': { POST: EVERYONE },
	'/api/v1/integrations/tts/[id]': { POST: EVERYONE },
	'/admin/integrations': { GET: ['admin'], POST: ['admin'] },
	'/api/v1/devices/[id]/calibrate': { POST: ['admin'] },
	'/metrics': { GET: ['admin', 'token_read'] }
};

/** Route ids and methods from the files under src/routes — what actually ships. */
function shippedRoutes(): Record<string, string[]> {
	const root = join(process.cwd(), 'src', 'routes');
	const out: Record<string, string[]> = {};
	const walk = (dir: string) => {
		for (const name of readdirSync(dir)) {
			const p = join(dir, name);
			if (statSync(p).isDirectory()) walk(p);
			else {
				const id = '/' + relative(root, dir).split(sep).filter((seg) => seg && !/^\(.*\)$/.test(seg)).join('/');
				const src = readFileSync(p, 'utf8');
				const methods = (out[id] ??= []);
				if (name === '+server.ts') for (const m of src.matchAll(/export const (GET|POST|PUT|PATCH|DELETE)\b/g)) methods.push(m[1]);
				if (name === '+page.svelte' || name === '+page.server.ts') methods.push('GET');
				if (name === '+page.server.ts' && /export const actions\b/.test(src)) methods.push('POST');
			}
		}
	};
	walk(root);
	for (const k of Object.keys(out)) {
		out[k] = [...new Set(out[k])].sort();
		if (!out[k].length) delete out[k];
	}
	return out;
}

let rt: Runtime;
const creds: Partial<Record<Who, { cookie?: string; bearer?: string }>> = {};

beforeAll(async () => {
	rt = await runtime({ config: parseConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), 'shudi-acl-')), MQTT_PORT: '0', SIMULATE: 'off', DEMO: 'on', LOG_LEVEL: 'silent' }) });
	for (const role of ['admin', 'leader', 'duty', 'cadre'] as const) {
		const u = await rt.db.query<{ id: number }>('SELECT id FROM users WHERE username = $1', [role]);
		creds[role] = { cookie: (await createSession(rt.db, u.rows[0].id, null, null)).token };
	}
	creds.token_read = { bearer: (await createApiToken(rt.db, 'reader', ['read'], null)).token };
	creds.token_report = { bearer: (await createApiToken(rt.db, 'reporter', ['report'], null)).token };
	creds.anon = {};
});
afterAll(async () => {
	await rt.stop();
	clearRuntime();
});

async function call(routeId: string, method: string, who: Who, cookieOverride?: string): Promise<number> {
	const c = creds[who] ?? {};
	const headers = new Headers();
	if (c.bearer) headers.set('authorization', `Bearer ${c.bearer}`);
	const url = new URL('http://localhost' + routeId.replace('[id]', routeId.includes('incidents') ? '1' : 'RL-01').replace('[aid]', '1'));
	const cookieVal = cookieOverride ?? c.cookie;
	const event = {
		url,
		route: { id: routeId },
		request: new Request(url, { method, headers }),
		cookies: { get: (name: string) => (name === SESSION_COOKIE ? cookieVal : undefined) },
		locals: {}
	};
	// A stand-in for the route: reaching it means the access check let the request through.
	const res = await handle({ event: event as never, resolve: async () => new Response('reached', { status: 299 }) });
	return res.status;
}

describe('role matrix', () => {
	it('has an entry for every route that ships, and no entry for a route that does not', () => {
		const shipped = shippedRoutes();
		const expected = Object.fromEntries(Object.entries(EXPECTED).map(([k, v]) => [k, Object.keys(v).sort()]));
		expect(shipped).toEqual(expected);
		const policy = Object.fromEntries(Object.entries(ROUTE_ACCESS).map(([k, v]) => [k, Object.keys(v).sort()]));
		expect(policy).toEqual(expected);
	});

	const cases = Object.entries(EXPECTED).flatMap(([route, methods]) =>
		Object.entries(methods).flatMap(([method, allowed]) => EVERYONE.map((who) => ({ route, method, who, allowed: allowed.includes(who) })))
	);
	it.each(cases)('$method $route as $who → allowed: $allowed', async ({ route, method, who, allowed }) => {
		const status = await call(route, method, who);
		const isApi = route.startsWith('/api/') || route === '/metrics';
		if (allowed) expect(status).toBe(299);
		// Anonymous: API routes say 401, pages send the browser to the sign-in page.
		else if (who === 'anon') expect(status).toBe(isApi ? 401 : 303);
		// Known caller, wrong role or scope.
		else expect(status).toBe(403);
	});

	it('refuses a route with no policy (fail closed)', async () => {
		expect(await call('/secret-new-route', 'GET', 'admin')).toBe(403);
	});

	it('answers 405 for a method a route does not have', async () => {
		expect(await call('/api/v1/sensors', 'DELETE', 'admin')).toBe(405);
	});

	it('sends anonymous page visits to the sign-in page, keeping where they were going', async () => {
		const url = new URL('http://localhost/admin/audit?x=1');
		const res = await handle({
			event: { url, route: { id: '/admin/audit' }, request: new Request(url), cookies: { get: () => undefined }, locals: {} } as never,
			resolve: async () => new Response('reached')
		});
		expect(res.status).toBe(303);
		expect(res.headers.get('location')).toBe('/login?next=%2Fadmin%2Faudit%3Fx%3D1');
	});

	it('says the server’s time on every response (Server-Timing), after a route’s own parts and naming nothing else', async () => {
		const url = new URL('http://localhost/api/v1/sensors');
		const res = await handle({
			event: { url, route: { id: '/api/v1/sensors' }, request: new Request(url), cookies: { get: () => undefined }, locals: {} } as never,
			resolve: async () => new Response('{}', { headers: { 'server-timing': 'list;dur=1.0' } })
		});
		expect(res.status).toBe(401);
		expect(res.headers.get('server-timing')).toMatch(/^total;dur=\d+\.\d$/);
		const ok = await handle({
			event: { url, route: { id: '/api/v1/health' }, request: new Request(url), cookies: { get: () => undefined }, locals: {} } as never,
			resolve: async () => new Response('{}', { headers: { 'server-timing': 'list;dur=1.0' } })
		});
		expect(ok.headers.get('server-timing')).toMatch(/^list;dur=1\.0, total;dur=\d+\.\d$/);
	});
});

describe('sessions', () => {
	it('refuses a forged cookie', async () => {
		expect(await call('/', 'GET', 'anon', 'forged-' + 'x'.repeat(40))).toBe(303);
		expect(await sessionUser(rt.db, 'x'.repeat(500))).toBeNull();
	});

	it('refuses an expired session', async () => {
		const u = await rt.db.query<{ id: number }>("SELECT id FROM users WHERE username = 'duty'");
		const s = await createSession(rt.db, u.rows[0].id, null, null);
		expect(await call('/', 'GET', 'anon', s.token)).toBe(299);
		await rt.db.query("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE user_id = $1", [u.rows[0].id]);
		expect(await call('/', 'GET', 'anon', s.token)).toBe(303);
	});

	it('logout invalidates the session on the server, not only the cookie', async () => {
		const u = await rt.db.query<{ id: number }>("SELECT id FROM users WHERE username = 'leader'");
		const s = await createSession(rt.db, u.rows[0].id, null, null);
		expect(await sessionUser(rt.db, s.token)).not.toBeNull();
		await revokeSession(rt.db, s.token);
		expect(await sessionUser(rt.db, s.token)).toBeNull();
		expect(await call('/', 'GET', 'anon', s.token)).toBe(303);
	});

	it('refuses a disabled user’s live session', async () => {
		const u = await rt.db.query<{ id: number }>("SELECT id FROM users WHERE username = 'cadre'");
		const s = await createSession(rt.db, u.rows[0].id, null, null);
		await rt.db.query('UPDATE users SET disabled_at = now() WHERE id = $1', [u.rows[0].id]);
		expect(await sessionUser(rt.db, s.token)).toBeNull();
		await rt.db.query('UPDATE users SET disabled_at = NULL WHERE id = $1', [u.rows[0].id]);
	});

	it('stores sessions and API tokens only as hashes', async () => {
		const rows = await rt.db.query<{ id_hash: string }>('SELECT id_hash FROM sessions');
		for (const r of rows.rows) expect(r.id_hash).toMatch(/^[0-9a-f]{64}$/);
		const users = await rt.db.query<{ password_hash: string }>('SELECT password_hash FROM users');
		for (const u of users.rows) expect(u.password_hash).toMatch(/^\$argon2id\$/);
	});
});
