// Sign-in behaviour through the real form action (src/routes/login/+page.server.ts) against a runtime started in this
// process: sessions, the attempt record, throttling (in depth: login-throttle.spec.ts), disabled accounts, and the
// `next` parameter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isActionFailure, isRedirect } from '@sveltejs/kit';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/lib/server/platform/config';
import { runtime, clearRuntime, type Runtime } from '../../src/lib/server/runtime';
import { LOGIN_ADDRESS_FREE_FAILURES, LOGIN_FREE_FAILURES, SESSION_COOKIE, addUser, sessionUser } from '../../src/lib/server/people/auth';
import { actions, load } from '../../src/routes/login/+page.server';
import { REAL_DB, uniq } from '../support/services';

let rt: Runtime;
const PASSWORD = 'correct horse battery';

beforeAll(async () => {
	rt = await runtime({ config: parseConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), 'shudi-login-')), MQTT_PORT: '0', SIMULATE: 'off', DEMO: 'on', LOG_LEVEL: 'silent' }) });
});
afterAll(async () => {
	await rt.stop();
	clearRuntime();
});

/** A fresh account per test, so the throttle of one test never leaks into another. */
async function newUser(opts: { disabled?: boolean } = {}): Promise<{ id: number; username: string }> {
	const username = uniq('u');
	const id = await addUser(rt.db, { username, display_name: username, roles: ['duty'], password: PASSWORD });
	if (opts.disabled) await rt.db.query('UPDATE users SET disabled_at = now() WHERE id = $1', [id]);
	return { id, username };
}

type Outcome = { kind: 'redirect'; location: string; cookie?: string } | { kind: 'fail'; status: number; message: string };

/** Posts the sign-in form; an address is given per call so the per-address throttle is only hit on purpose. */
async function signIn(username: string, password: string, opts: { next?: string; ip?: string } = {}): Promise<Outcome> {
	const url = new URL('http://localhost/login');
	if (opts.next !== undefined) url.searchParams.set('next', opts.next);
	const set = new Map<string, string>();
	const event = {
		request: new Request(url, { method: 'POST', body: new URLSearchParams({ username, password }) }),
		url,
		cookies: { set: (name: string, value: string) => set.set(name, value), get: () => undefined },
		getClientAddress: () => opts.ip ?? `10.0.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`,
		setHeaders: () => undefined
	};
	try {
		const r: unknown = await actions.default(event as never);
		if (isActionFailure(r)) return { kind: 'fail', status: r.status, message: (r.data as unknown as { message: string }).message };
		throw new Error(`sign-in neither redirected nor failed: ${JSON.stringify(r)}`);
	} catch (e) {
		if (isRedirect(e)) return { kind: 'redirect', location: e.location, cookie: set.get(SESSION_COOKIE) };
		throw e;
	}
}

const attempts = async (username: string) =>
	(await rt.db.query<{ ok: boolean; reason: string | null }>('SELECT ok, reason FROM login_attempts WHERE username = $1 ORDER BY id', [username])).rows;

describe.skipIf(!!REAL_DB)('sign-in', () => {
	it('starts a session with the right password and records the attempt', async () => {
		const u = await newUser();
		const r = await signIn(u.username, PASSWORD);
		expect(r).toMatchObject({ kind: 'redirect', location: '/' });
		const cookie = (r as { cookie?: string }).cookie;
		expect(cookie).toBeTruthy();
		expect(await sessionUser(rt.db, cookie)).toMatchObject({ id: u.id, username: u.username });
		expect(await attempts(u.username)).toEqual([{ ok: true, reason: null }]);
	});

	it('refuses a wrong password and records it as a failure', async () => {
		const u = await newUser();
		expect(await signIn(u.username, 'not the password')).toEqual({ kind: 'fail', status: 400, message: 'bad_credentials' });
		expect(await attempts(u.username)).toEqual([{ ok: false, reason: 'bad_credentials' }]);
	});

	it('answers a user name that does not exist exactly like a wrong password', async () => {
		const u = await newUser();
		const ghost = uniq('ghost');
		const wrong = await signIn(u.username, 'not the password');
		const missing = await signIn(ghost, 'not the password');
		expect(missing).toEqual(wrong);
		expect(await attempts(ghost)).toEqual([{ ok: false, reason: 'bad_credentials' }]);
	});

	it(`throttles one address after ${LOGIN_FREE_FAILURES} failures for an account, even with the right password, and not the account`, async () => {
		const u = await newUser();
		const ip = '203.0.113.5';
		for (let i = 0; i < LOGIN_FREE_FAILURES; i++) {
			expect(await signIn(u.username, `wrong ${i}`, { ip })).toMatchObject({ kind: 'fail', message: 'bad_credentials' });
		}
		expect(await signIn(u.username, PASSWORD, { ip })).toEqual({ kind: 'fail', status: 429, message: 'throttled' });
		const rows = await attempts(u.username);
		expect(rows).toHaveLength(LOGIN_FREE_FAILURES + 1);
		expect(rows.at(-1)).toEqual({ ok: false, reason: 'throttled' });
		expect(rows.filter((r) => r.ok)).toEqual([]);
		// The owner, from the duty room's own address, is not locked out by someone else's guesses.
		expect(await signIn(u.username, PASSWORD, { ip: '192.168.0.10' })).toMatchObject({ kind: 'redirect' });
	});

	it('counts only failures inside the window', async () => {
		const u = await newUser();
		for (let i = 0; i < LOGIN_FREE_FAILURES; i++) {
			await rt.db.query("INSERT INTO login_attempts (username, ip, ok, reason, at) VALUES ($1, '10.9.9.9', false, 'bad_credentials', now() - interval '25 hours')", [u.username]);
		}
		expect(await signIn(u.username, PASSWORD, { ip: '10.9.9.9' })).toMatchObject({ kind: 'redirect' });
	});

	it(`limits per address too: ${LOGIN_ADDRESS_FREE_FAILURES} failures from one address throttle a different user name`, async () => {
		const ip = '198.51.100.7';
		for (let i = 0; i < LOGIN_ADDRESS_FREE_FAILURES; i++) await rt.db.query("INSERT INTO login_attempts (username, ip, ok, reason) VALUES ($1, $2, false, 'bad_credentials')", [uniq('spray'), ip]);
		const u = await newUser();
		expect(await signIn(u.username, PASSWORD, { ip })).toEqual({ kind: 'fail', status: 429, message: 'throttled' });
		expect(await signIn(u.username, PASSWORD, { ip: '198.51.100.8' })).toMatchObject({ kind: 'redirect' });
	});

	it('refuses a disabled user with the right password, and records why', async () => {
		const u = await newUser({ disabled: true });
		const r = await signIn(u.username, PASSWORD);
		expect(r).toMatchObject({ kind: 'fail', status: 400, message: 'disabled' });
		expect(await attempts(u.username)).toEqual([{ ok: false, reason: 'disabled' }]);
		const live = await rt.db.query('SELECT 1 FROM sessions WHERE user_id = $1', [u.id]);
		expect(live.rows).toEqual([]);
	});

	it.each([
		['', 'x'],
		['someone', ''],
		['x'.repeat(65), PASSWORD],
		['someone', 'p'.repeat(201)]
	])('refuses a missing or oversized field (%#) without touching the database', async (username, password) => {
		const before = (await rt.db.query<{ n: number }>('SELECT count(*)::int AS n FROM login_attempts')).rows[0].n;
		expect(await signIn(username, password)).toMatchObject({ kind: 'fail', status: 400, message: 'missing' });
		expect((await rt.db.query<{ n: number }>('SELECT count(*)::int AS n FROM login_attempts')).rows[0].n).toBe(before);
	});
});

describe.skipIf(!!REAL_DB)('the next parameter', () => {
	it.each([
		['/admin/devices', '/admin/devices'],
		['/admin/audit?before=10', '/admin/audit?before=10'],
		['//evil.com', '/'],
		['https://evil.com', '/'],
		['/\\evil.com', '/'],
		['\\\\evil.com', '/'],
		['/\t/evil.com', '/'],
		['/ /evil.com', '/'],
		['javascript:alert(1)', '/'],
		['evil.com', '/'],
		['/login?next=//evil.com', '/'],
		['', '/']
	])('next=%j after sign-in goes to %j', async (next, expected) => {
		const u = await newUser();
		const r = await signIn(u.username, PASSWORD, { next });
		expect(r).toMatchObject({ kind: 'redirect', location: expected });
	});

	it('sends an already signed-in visitor on to a same-site next only', async () => {
		const user = { id: 1, username: 'admin', display_name: 'a', roles: ['admin'], cadre_id: null };
		for (const [next, expected] of [
			['//evil.com', '/'],
			['/account', '/account']
		]) {
			const url = new URL('http://localhost/login');
			url.searchParams.set('next', next);
			const thrown = await Promise.resolve(load({ locals: { user }, url } as never)).catch((e: unknown) => e);
			expect(isRedirect(thrown) && thrown.location).toBe(expected);
		}
	});

	// BUG: safeNext accepts any non-whitespace character, but a redirect location must be a valid HTTP header value
	// (a ByteString without NUL). For `/login?next=/村` (or `/%00`) the session is created, then SvelteKit's redirect()
	// throws `Error: Invalid redirect location "/村": this string contains characters that cannot be used in HTTP
	// headers` — a 500 instead of the redirect. Suggested fix in src/routes/login/+page.server.ts (safeNext):
	//   return next && /^\/(?![/\\])[\x21-\x7e]*$/.test(next) && !next.startsWith('/login') ? next : '/';
	// (the hooks already percent-encode the path they put into `next`, so genuine redirects are ASCII).
	it.each([['/村'], ['/a\u0000b']])('next=%j gives a location a Response header can carry', async (next) => {
		const u = await newUser();
		const r = await signIn(u.username, PASSWORD, { next });
		expect(r.kind).toBe('redirect');
		const location = (r as { location: string }).location;
		expect(() => new Response(null, { status: 303, headers: { location } })).not.toThrow();
	});
});
