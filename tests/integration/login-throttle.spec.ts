// Login throttling that cannot be turned against a user (src/lib/server/people/auth.ts, src/routes/login/+page.server.ts):
// failures from one address slow down that address only — for one account after 5 failures, across accounts after
// 20 — with delays that double up to 15 minutes, while the same account signs in from anywhere else. Throttle starts
// are on the audit log. The client address comes from the socket, or from X-Forwarded-For only with TRUST_PROXY.
// Runs on the embedded database, and on PostgreSQL with TEST_DATABASE_URL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isActionFailure, isRedirect } from '@sveltejs/kit';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/lib/server/platform/config';
import { runtime, clearRuntime, type Runtime } from '../../src/lib/server/runtime';
import { LOGIN_ADDRESS_FREE_FAILURES, LOGIN_FREE_FAILURES, LOGIN_MAX_DELAY_MS, addUser, login, throttleDelayMs } from '../../src/lib/server/people/auth';
import { clientAddress } from '../../src/lib/server/platform/client-address';
import { actions } from '../../src/routes/login/+page.server';
import { REAL_DB, freshDb, uniq, type TestDb } from '../support/services';

const PASSWORD = 'correct horse battery';
let rt: Runtime;
let scratch: TestDb | undefined;

async function start(env: Record<string, string>): Promise<void> {
	let url: string | undefined;
	if (REAL_DB) {
		scratch = await freshDb({ migrate: false });
		url = scratch.url;
	}
	rt = await runtime({
		config: parseConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), 'shudi-throttle-')), MQTT_PORT: '0', SIMULATE: 'off', DEMO: 'off', LOG_LEVEL: 'silent', DATABASE_URL: url, ...env })
	});
}
async function stop(): Promise<void> {
	await rt.stop();
	clearRuntime();
	await scratch?.drop();
	scratch = undefined;
}

const newUser = async () => {
	const username = uniq('u');
	await addUser(rt.db, { username, display_name: username, roles: ['duty'], password: PASSWORD });
	return username;
};

type Outcome = { kind: 'signed_in' } | { kind: 'refused'; status: number; message: string; retryAfter?: string; retryAfterS?: number };

/** Posts the sign-in form through the real action, from `socket` (the TCP peer) with optional request headers. */
async function signIn(username: string, password: string, socket: string, headers: Record<string, string> = {}): Promise<Outcome> {
	const url = new URL('http://localhost/login');
	const set: Record<string, string> = {};
	const event = {
		request: new Request(url, { method: 'POST', body: new URLSearchParams({ username, password }), headers }),
		url,
		cookies: { set: () => undefined, get: () => undefined },
		getClientAddress: () => socket,
		setHeaders: (h: Record<string, string>) => Object.assign(set, h)
	};
	try {
		const r: unknown = await actions.default(event as never);
		if (!isActionFailure(r)) throw new Error(`neither redirected nor failed: ${JSON.stringify(r)}`);
		const data = r.data as unknown as { message: string; retryAfterS?: number };
		return { kind: 'refused', status: r.status, message: data.message, ...(set['retry-after'] ? { retryAfter: set['retry-after'], retryAfterS: data.retryAfterS } : {}) };
	} catch (e) {
		if (isRedirect(e)) return { kind: 'signed_in' };
		throw e;
	}
}

const auditRows = async (targetId: string) =>
	(
		await rt.db.query<{ actor_name: string; action: string; target_type: string; detail: Record<string, unknown> }>(
			'SELECT actor_name, action, target_type, detail FROM audit_log WHERE target_id = $1 ORDER BY id',
			[targetId]
		)
	).rows;

describe('login throttling (socket addresses)', () => {
	beforeAll(() => start({}));
	afterAll(stop);

	it("throttles the attacker's address while the real user signs in from another address", async () => {
		const victim = await newUser();
		for (let i = 0; i < LOGIN_FREE_FAILURES; i++) expect(await signIn(victim, `guess ${i}`, '203.0.113.66')).toMatchObject({ kind: 'refused', status: 400, message: 'bad_credentials' });
		// Even the right password is refused from the guessing address: it cannot tell the owner from the guesser.
		expect(await signIn(victim, PASSWORD, '203.0.113.66')).toEqual({ kind: 'refused', status: 429, message: 'throttled', retryAfter: '1', retryAfterS: 1 });
		expect(await signIn(victim, PASSWORD, '192.168.1.20')).toEqual({ kind: 'signed_in' });
		expect(await signIn(victim, PASSWORD, '2001:db8::20')).toEqual({ kind: 'signed_in' });
	});

	it('doubles the wait with each further failure, up to 15 minutes, and forgets it after a success', async () => {
		const user = await newUser();
		const ip = '198.51.100.10';
		let t = Date.now();
		for (let i = 0; i < LOGIN_FREE_FAILURES; i++) expect(await login(rt.db, user, 'wrong', ip, new Date(t))).toEqual({ ok: false, reason: 'bad_credentials' });
		const waits: number[] = [];
		for (let step = 0; step < 12; step++) {
			const r = await login(rt.db, user, PASSWORD, ip, new Date(t + 10));
			expect(r).toMatchObject({ ok: false, reason: 'throttled', scope: 'account_address' });
			waits.push((r as { retryAfterS: number }).retryAfterS);
			// Just after the wait the address may try again; this try is wrong too.
			t += (r as { retryAfterS: number }).retryAfterS * 1000 + 20;
			expect(await login(rt.db, user, 'wrong again', ip, new Date(t))).toEqual({ ok: false, reason: 'bad_credentials' });
		}
		expect(waits).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]);
		expect(throttleDelayMs(LOGIN_FREE_FAILURES + 40, LOGIN_FREE_FAILURES)).toBe(LOGIN_MAX_DELAY_MS);
		t += LOGIN_MAX_DELAY_MS + 1000;
		expect(await login(rt.db, user, PASSWORD, ip, new Date(t))).toMatchObject({ ok: true });
		// The success cleared the count: one more typo is just a typo.
		expect(await login(rt.db, user, 'typo', ip, new Date(t + 1000))).toEqual({ ok: false, reason: 'bad_credentials' });
		expect(await login(rt.db, user, PASSWORD, ip, new Date(t + 2000))).toMatchObject({ ok: true });
	});

	it('forgets failures older than a day', async () => {
		const user = await newUser();
		const ip = '198.51.100.11';
		const old = new Date(Date.now() - 25 * 3600_000);
		for (let i = 0; i < LOGIN_FREE_FAILURES + 3; i++) await login(rt.db, user, 'wrong', ip, old);
		expect(await signIn(user, PASSWORD, ip)).toEqual({ kind: 'signed_in' });
	});

	it(`limits one address across accounts (spraying) after ${LOGIN_ADDRESS_FREE_FAILURES} failures, and only that address`, async () => {
		const sprayer = '203.0.113.77';
		for (let i = 0; i < LOGIN_ADDRESS_FREE_FAILURES; i++) {
			expect(await signIn(uniq('sprayed'), 'Spring2024!', sprayer)).toMatchObject({ kind: 'refused', status: 400, message: 'bad_credentials' });
		}
		const user = await newUser();
		expect(await signIn(user, PASSWORD, sprayer)).toMatchObject({ kind: 'refused', status: 429, message: 'throttled', retryAfter: '1' });
		expect(await signIn(user, PASSWORD, '203.0.113.78')).toEqual({ kind: 'signed_in' });
	});

	it('puts the start of each throttle on the audit log once, not every refusal', async () => {
		const user = await newUser();
		const ip = '203.0.113.90';
		for (let i = 0; i < LOGIN_FREE_FAILURES; i++) await signIn(user, `guess ${i}`, ip);
		for (let i = 0; i < 30; i++) expect(await signIn(user, `hammer ${i}`, ip)).toMatchObject({ status: 429 });
		const rows = await auditRows(user);
		expect(rows).toEqual([
			{ actor_name: 'system', action: 'login_throttled', target_type: 'user', detail: { address: ip, scope: 'account_address', failures: LOGIN_FREE_FAILURES, retry_after_s: 1 } }
		]);
		// 30 refusals while throttled: one row says the throttle was hit, the rest add nothing.
		const attempts = await rt.db.query<{ reason: string; n: number }>('SELECT reason, count(*)::int AS n FROM login_attempts WHERE username = $1 GROUP BY reason ORDER BY reason', [user]);
		expect(attempts.rows).toEqual([
			{ reason: 'bad_credentials', n: LOGIN_FREE_FAILURES },
			{ reason: 'throttled', n: 1 }
		]);

		const sprayer = '203.0.113.91';
		for (let i = 0; i < LOGIN_ADDRESS_FREE_FAILURES + 5; i++) await signIn(uniq('sprayed'), 'Summer2024!', sprayer);
		expect(await auditRows(sprayer)).toEqual([
			{ actor_name: 'system', action: 'login_throttled', target_type: 'address', detail: expect.objectContaining({ address: sprayer, scope: 'address', failures: LOGIN_ADDRESS_FREE_FAILURES }) }
		]);
	});

	it('lets no more than the free failures through when guesses arrive in parallel', async () => {
		const user = await newUser();
		const results = await Promise.all(Array.from({ length: 24 }, (_, i) => login(rt.db, user, `parallel ${i}`, '203.0.113.95')));
		// Each attempt counts the others in flight, so at most the free ones reach the password check (on a database
		// that runs them one by one, none does: each sees the 23 others already waiting).
		const checked = results.filter((r) => !r.ok && r.reason === 'bad_credentials').length;
		expect(checked).toBeLessThanOrEqual(LOGIN_FREE_FAILURES);
		expect(results.filter((r) => !r.ok && r.reason === 'throttled').length).toBe(24 - checked);
	});

	it('ignores X-Forwarded-For without TRUST_PROXY: a guesser cannot pose as a new address', async () => {
		const user = await newUser();
		for (let i = 0; i < LOGIN_FREE_FAILURES; i++) await signIn(user, `guess ${i}`, '203.0.113.100', { 'x-forwarded-for': `10.0.0.${i}` });
		expect(await signIn(user, PASSWORD, '203.0.113.100', { 'x-forwarded-for': '10.0.0.200' })).toMatchObject({ status: 429, message: 'throttled' });
		const ips = await rt.db.query<{ ip: string }>('SELECT DISTINCT ip FROM login_attempts WHERE username = $1', [user]);
		expect(ips.rows).toEqual([{ ip: '203.0.113.100' }]);
	});
});

describe('login throttling behind a trusted proxy (TRUST_PROXY=on)', () => {
	beforeAll(() => start({ TRUST_PROXY: 'on' }));
	afterAll(stop);

	it('keys on the address the proxy saw (rightmost X-Forwarded-For), whatever the client wrote further left', async () => {
		const user = await newUser();
		// Every request arrives from the proxy's socket; the attacker forges a new left-hand entry each time.
		for (let i = 0; i < LOGIN_FREE_FAILURES; i++) await signIn(user, `guess ${i}`, '127.0.0.1', { 'x-forwarded-for': `10.9.9.${i}, 203.0.113.120` });
		expect(await signIn(user, PASSWORD, '127.0.0.1', { 'x-forwarded-for': '10.9.9.250, 203.0.113.120' })).toMatchObject({ status: 429, message: 'throttled' });
		// The real user, through the same proxy, from their own address.
		expect(await signIn(user, PASSWORD, '127.0.0.1', { 'x-forwarded-for': '192.168.5.5' })).toEqual({ kind: 'signed_in' });
		const ips = await rt.db.query<{ ip: string }>('SELECT DISTINCT ip FROM login_attempts WHERE username = $1 ORDER BY ip', [user]);
		expect(ips.rows).toEqual([{ ip: '192.168.5.5' }, { ip: '203.0.113.120' }]);
	});
});

describe('clientAddress', () => {
	const ev = (socket: string, xff?: string) => ({ request: new Request('http://x/', { headers: xff === undefined ? {} : { 'x-forwarded-for': xff } }), getClientAddress: () => socket });
	it.each([
		// [socket, X-Forwarded-For, TRUST_PROXY, expected]
		['203.0.113.1', undefined, false, '203.0.113.1'],
		['203.0.113.1', '1.2.3.4', false, '203.0.113.1'],
		['::ffff:192.168.1.9', undefined, false, '192.168.1.9'],
		['127.0.0.1', '1.2.3.4', true, '1.2.3.4'],
		['127.0.0.1', 'forged, 10.0.0.1 , 198.51.100.4', true, '198.51.100.4'],
		['127.0.0.1', '2001:DB8::1', true, '2001:db8::1'],
		['127.0.0.1', 'not-an-address', true, '127.0.0.1'],
		['127.0.0.1', undefined, true, '127.0.0.1'],
		['127.0.0.1', '1.2.3.4, ', true, '127.0.0.1']
	] as const)('socket %s, X-Forwarded-For %j, TRUST_PROXY %s → %s', (socket, xff, trust, expected) => {
		expect(clientAddress(ev(socket, xff), trust)).toBe(expected);
	});
	it('is null when the socket address is unknown and no proxy is trusted', () => {
		expect(
			clientAddress(
				{
					request: new Request('http://x/'),
					getClientAddress: () => {
						throw new Error('no socket');
					}
				},
				false
			)
		).toBeNull();
	});
});
