// The ingest as its own process — the bundle `npm run start:ingest` runs (build-ingest/main.js, built once here from
// ingest/main.ts) — against real PostgreSQL and Mosquitto, under faults: killed
// mid-stream, database gone for seconds, a barrage of hostile messages, and two workers sharing one subscription.
// The contract under test (DOMAIN.md "MQTT contract"): every reading a device sends is stored exactly once, every
// message or value that cannot be stored becomes a dead letter with a reason, and one bad input never stops the rest.
// Needs separate processes and a real broker, so it runs only with TEST_DATABASE_URL and TEST_MQTT_URL set.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import { freshDb, REAL_DB, REAL_MQTT, uniq, waitFor, type TestDb } from '../support/services';
import { hashToken, newDeviceToken } from '../../src/lib/server/devices/device-tokens';
import type { Db } from '../../src/lib/server/platform/db';
import { LiveBus } from '../../src/lib/server/live/events';
import { startRelayIn } from '../../src/lib/server/live/live-relay';
import { logger } from '../../src/lib/server/platform/log';
import { Publisher, nativePayload, nativeTopic } from '../../scripts/lib/publisher';
import { buildIngest, dropSession, spawnIngest, waitUntilSubscribed, type IngestChild, type SpawnIngestOptions } from '../../scripts/lib/ingest-spawn';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
	for (const c of cleanup.splice(0).reverse()) await c().catch(() => undefined);
});

async function db(): Promise<TestDb & { url: string }> {
	const t = await freshDb();
	cleanup.push(() => t.drop());
	return t as TestDb & { url: string };
}

async function addDevices(d: Db, n: number, prefix = uniq('F')): Promise<string[]> {
	const ids = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
	await d.query(
		`INSERT INTO devices (id, name, kind, lng, lat, token_hash) SELECT id, id, 'river_level', 107.5, 26.5, th FROM unnest($1::text[], $2::text[]) AS x(id, th)`,
		[ids, ids.map(() => hashToken(newDeviceToken()))]
	);
	return ids;
}

/** Starts an ingest child; afterwards it is SIGKILLed if still alive and its persistent session is removed. */
async function ingest(o: Omit<SpawnIngestOptions, 'mqttUrl'> & { probe?: Db }): Promise<IngestChild> {
	const child = await spawnIngest({ mqttUrl: REAL_MQTT!, entry: 'build', ...o });
	cleanup.push(() => child.kill());
	cleanup.push(() => dropSession(REAL_MQTT!, o.clientId)); // runs after the kill (cleanup is LIFO)
	if (o.probe) await waitUntilSubscribed(REAL_MQTT!, o.probe, uniq('probe'));
	return child;
}

async function publisher(connections: number, window: number): Promise<Publisher> {
	const p = await Publisher.connect(REAL_MQTT!, connections, window);
	cleanup.push(() => p.close());
	return p;
}

/** Publishes seq 1..n for every device, round-robin, distinct ts per message; optionally paced to `rate` msg/s. */
async function publishAll(p: Publisher, ids: string[], n: number, opts: { rate?: number; onEach?: (sent: number) => void } = {}): Promise<void> {
	const base = Date.now() - 3_600_000;
	const t0 = Date.now();
	let sent = 0;
	for (let seq = 1; seq <= n; seq++) {
		for (let d = 0; d < ids.length; d++) {
			if (opts.rate) while (sent > ((Date.now() - t0) / 1000) * opts.rate) await sleep(5);
			await p.publish(d % p.connections, nativeTopic(ids[d]), nativePayload(base + seq * 1000, seq));
			opts.onEach?.(++sent);
		}
	}
	await p.drain();
	expect(p.failed).toBe(0);
}

const storedMessages = async (d: Db, ids: string[]) =>
	Number((await d.query<{ n: number }>('SELECT count(*)::int AS n FROM readings WHERE device_id = ANY($1)', [ids])).rows[0].n) / 3;

/** Every (device, seq 1..n) stored exactly once, with all three of its values. */
async function expectExactlyOnce(d: Db, ids: string[], n: number, timeoutMs: number): Promise<void> {
	await waitFor(async () => (await storedMessages(d, ids)) >= ids.length * n, timeoutMs, 200).catch(() => undefined);
	const r = await d.query<{ device_id: string; msgs: number; rows: number; min: number; max: number; bad: number }>(
		`SELECT device_id, count(DISTINCT seq)::int AS msgs, count(*)::int AS rows, min(seq)::int AS min, max(seq)::int AS max,
		        (SELECT count(*)::int FROM (SELECT seq FROM readings r2 WHERE r2.device_id = r.device_id GROUP BY seq HAVING count(*) <> 3) x) AS bad
		 FROM readings r WHERE device_id = ANY($1) GROUP BY device_id ORDER BY device_id`,
		[ids]
	);
	const got = new Map(r.rows.map((x) => [x.device_id, x]));
	const missing = ids.map((id) => ({ id, msgs: got.get(id)?.msgs ?? 0 })).filter((x) => x.msgs !== n);
	expect(missing, `devices without all ${n} messages`).toEqual([]);
	for (const row of r.rows) expect(row).toMatchObject({ msgs: n, rows: 3 * n, min: 1, max: n, bad: 0 });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!REAL_DB || !REAL_MQTT)('ingest process under faults (PostgreSQL + Mosquitto)', () => {
	beforeAll(() => buildIngest(), 60_000);

	it('loses and duplicates nothing when SIGKILLed mid-stream and restarted with the same client id', { timeout: 60_000 }, async () => {
		const t = await db();
		const ids = await addDevices(t.db, 20);
		const clientId = uniq('fault-kill');
		// Small batches so the kill lands between commits while most messages are still unacknowledged.
		const opts = { databaseUrl: t.url, clientId, batchRows: 300, batchMs: 50 };
		const first = await ingest({ ...opts, probe: t.db });
		const pub = await publisher(4, 500);
		// The whole stream reaches the broker at once: while the ingest is dead, the unacknowledged rest sits in its
		// persistent session as in-flight messages (mosquitto.conf(5), max_queued_messages).
		await publishAll(pub, ids, 200);
		await waitFor(async () => (await storedMessages(t.db, ids)) >= 1500, 20_000, 10);
		await first.kill();
		const atKill = await storedMessages(t.db, ids);
		expect(atKill).toBeLessThan(4000);
		const second = await ingest(opts);
		await expectExactlyOnce(t.db, ids, 200, 30_000);
		expect(second.alive()).toBe(true);
		expect(await second.stop()).toBe(0);
	});

	it('holds acknowledgements through a 3 s PostgreSQL outage and stores everything once, without dying', { timeout: 60_000 }, async () => {
		const t = await db();
		const ids = await addDevices(t.db, 20);
		const proxy = await TcpProxy.start(new URL(t.url));
		cleanup.push(() => proxy.close());
		const viaProxy = new URL(t.url);
		viaProxy.host = `127.0.0.1:${proxy.port}`;
		const child = await ingest({ databaseUrl: viaProxy.toString(), clientId: uniq('fault-pg'), batchMs: 50, probe: t.db });
		const pub = await publisher(4, 500);
		// Mid-stream, the server goes away while a batch is being written (the connection is checked out, in a
		// transaction): the realistic shape of a PostgreSQL restart or failover.
		await publishAll(pub, ids, 150, {
			rate: 600,
			onEach: (sent) => {
				if (sent === 1000) proxy.failOn(/INSERT INTO readings/, 3000);
			}
		});
		await waitFor(async () => proxy.outages > 0, 10_000);
		await proxy.settled();
		await sleep(500);
		expect(child.alive(), `ingest died: ${child.logs.slice(-12).join('\n')}`).toBe(true);
		expect(proxy.refused, 'the outage really refused connections').toBeGreaterThan(0);
		await expectExactlyOnce(t.db, ids, 150, 40_000);
		expect(child.alive()).toBe(true);
		expect(child.logs.some((l) => /batch write failed; retrying/.test(l))).toBe(true);
	});

	it('dead-letters a barrage of hostile messages with reasons, stores every good reading, and stays up', { timeout: 90_000 }, async () => {
		const t = await db();
		const ids = await addDevices(t.db, 5);
		const [clockDev] = await addDevices(t.db, 1, uniq('CLK'));
		const child = await ingest({ databaseUrl: t.url, clientId: uniq('fault-bad'), batchMs: 50, probe: t.db });
		const pub = await publisher(2, 300);
		const ghost = uniq('GHOST');
		const bad = hostileMessages(ids, ghost);
		const GOOD = 100;
		const base = Date.now() - 3_600_000;
		let b = 0;
		let sent = 0;
		const send = async (conn: number, topic: string, payload: string | Buffer) => {
			await pub.publish(conn, topic, payload);
			// Paced to ~1,000 msg/s: Mosquitto 2.0 drops outgoing packets once 1,000 queue for a subscriber's
			// socket (max_queued_messages applies to connected clients too), and 1 MB payloads keep the ingest busy.
			if (++sent % 10 === 0) await sleep(10);
		};
		for (let seq = 1; seq <= GOOD; seq++) {
			for (let d = 0; d < ids.length; d++) {
				await send(0, nativeTopic(ids[d]), nativePayload(base + seq * 1000, seq));
				// Interleave: the bad messages are spread evenly between the good ones.
				const upto = Math.floor((bad.length * ((seq - 1) * ids.length + d + 1)) / (GOOD * ids.length));
				for (; b < upto; b++) await send(1, bad[b].topic, bad[b].payload);
			}
		}
		// A device clock in 2100 is not trusted, not rejected: stored at receipt time and flagged (DOMAIN.md).
		await pub.publish(0, nativeTopic(clockDev), JSON.stringify({ ts: '2100-01-01T00:00:00Z', values: { water_level_m: 1 } }));
		await pub.drain();
		expect(pub.failed).toBe(0);

		await expectExactlyOnce(t.db, ids, GOOD, 30_000).catch((err) => {
			throw new Error(`${(err as Error).message}\ningest alive: ${child.alive()}; last log lines:\n${child.logs.slice(-8).join('\n')}`);
		});
		const clock = await waitFor(async () => (await t.db.query<{ flags: number }>('SELECT flags FROM readings WHERE device_id = $1', [clockDev])).rows[0], 10_000);
		expect(clock.flags).not.toBe(0);

		// Each hostile message must appear once, by topic and exact bytes, with a reason.
		const want = new Map(bad.map((m) => [`${m.topic}\u0000${md5(m.payload)}`, m]));
		const key = (topic: string, hash: string) => `${topic}\u0000${hash}`;
		const rows = await waitFor(async () => {
			const r = await t.db.query<{ topic: string; h: string; reason: string }>('SELECT topic, md5(payload) AS h, reason FROM dead_letters');
			const mine = r.rows.filter((x) => want.has(key(x.topic, x.h)));
			return mine.length >= bad.length ? mine : null;
		}, 30_000, 250).catch(async () => {
			const r = await t.db.query<{ topic: string; h: string; reason: string }>('SELECT topic, md5(payload) AS h, reason FROM dead_letters');
			const seen = new Set(r.rows.map((x) => key(x.topic, x.h)));
			const lost = bad.filter((m) => !seen.has(key(m.topic, md5(m.payload))));
			throw new Error(`${lost.length} hostile messages have no dead letter, e.g. ${lost.slice(0, 5).map((m) => m.label).join(', ')}`);
		});
		const counts = new Map<string, number>();
		for (const r of rows) counts.set(key(r.topic, r.h), (counts.get(key(r.topic, r.h)) ?? 0) + 1);
		expect([...counts.values()].every((n) => n === 1), 'one dead letter per hostile message').toBe(true);
		expect(rows.every((r) => typeof r.reason === 'string' && r.reason.length > 0)).toBe(true);
		for (const m of bad) if (m.reason) expect(rows.find((r) => r.topic === m.topic && r.h === md5(m.payload))?.reason, m.label).toBe(m.reason);
		// Nothing hostile was stored as a reading, and the tables are intact.
		const stray = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM readings WHERE NOT (device_id = ANY($1))`, [[...ids, clockDev]]);
		expect(stray.rows[0].n).toBe(0);
		expect(child.alive()).toBe(true);
		expect(readFileSync(`/proc/${child.pid}/status`, 'utf8')).toMatch(/State:\s+[RSD]/);
	});

	it('tells a web process what two workers stored, live: their readings reach its bus through PostgreSQL', { timeout: 60_000 }, async () => {
		const t = await db();
		const ids = await addDevices(t.db, 10);
		const group = uniq('grp').replace(/[^A-Za-z0-9_-]/g, '');
		// The web process's side of the relay, as runtime() wires it for SHUDI_ROLE=web.
		const web = new LiveBus();
		cleanup.push(await startRelayIn(web, t.url, logger('test')));
		const seen = new Map<string, number>();
		web.on('sensors', (updates) => {
			for (const u of updates) seen.set(u.id, Math.max(seen.get(u.id) ?? 0, u.values.water_level_m?.value ?? 0));
		});
		await ingest({ databaseUrl: t.url, clientId: uniq('live-a'), shareGroup: group, batchMs: 50 });
		await ingest({ databaseUrl: t.url, clientId: uniq('live-b'), shareGroup: group, batchMs: 50 });
		await waitUntilSubscribed(REAL_MQTT!, t.db, uniq('probe'));
		const pub = await publisher(2, 100);
		await publishAll(pub, ids, 5);
		await expectExactlyOnce(t.db, ids, 5, 20_000);
		// Every device's newest value (seq 5: 2.005 m) reached the web bus, whichever worker stored it.
		await waitFor(async () => ids.every((id) => seen.get(id) === 2.005) || undefined, 10_000);
	});

	it('two workers sharing one subscription store every message once, and both do work', { timeout: 60_000 }, async () => {
		const t = await db();
		const ids = await addDevices(t.db, 20);
		const group = uniq('grp').replace(/[^A-Za-z0-9_-]/g, '');
		const a = await ingest({ databaseUrl: t.url, clientId: uniq('fault-a'), shareGroup: group, batchMs: 50 });
		const b = await ingest({ databaseUrl: t.url, clientId: uniq('fault-b'), shareGroup: group, batchMs: 50 });
		await waitUntilSubscribed(REAL_MQTT!, t.db, uniq('probe'));
		// Bytes each process read from its sockets during the stream (/proc/<pid>/io rchar): a worker that got no
		// share of the messages reads almost nothing.
		const before = [ioRead(a.pid), ioRead(b.pid)];
		const pub = await publisher(4, 500);
		await publishAll(pub, ids, 200);
		await expectExactlyOnce(t.db, ids, 200, 30_000);
		const payloadBytes = 4000 * nativePayload(Date.now(), 100).length;
		const read = [ioRead(a.pid) - before[0], ioRead(b.pid) - before[1]];
		for (const r of read) expect(r, `bytes read per worker ${read.join(' / ')} of ${payloadBytes} published`).toBeGreaterThan(payloadBytes * 0.2);
		expect(a.alive() && b.alive()).toBe(true);
	});

	it('a worker that is stopped (SIGTERM) hands its share of the stream to the others', { timeout: 60_000 }, async () => {
		// Known to fail with Mosquitto 2.0: the stopped worker's persistent session stays in the share group, and the
		// broker keeps queueing every other message to it.
		const t = await db();
		const ids = await addDevices(t.db, 10);
		const group = uniq('grp');
		const a = await ingest({ databaseUrl: t.url, clientId: uniq('fault-a'), shareGroup: group, batchMs: 50 });
		const b = await ingest({ databaseUrl: t.url, clientId: uniq('fault-b'), shareGroup: group, batchMs: 50 });
		await waitUntilSubscribed(REAL_MQTT!, t.db, uniq('probe'));
		expect(await a.stop()).toBe(0);
		const pub = await publisher(2, 500);
		await publishAll(pub, ids, 40);
		await expectExactlyOnce(t.db, ids, 40, 15_000);
		expect(b.alive()).toBe(true);
	});
});

interface Hostile {
	label: string;
	topic: string;
	payload: Buffer;
	/** The expected dead-letter reason, where it is certain. */
	reason?: string;
}

/** Roughly 2,000 hostile messages, each yielding exactly one dead letter; every payload unique (nonce). */
function hostileMessages(ids: string[], ghost: string): Hostile[] {
	const out: Hostile[] = [];
	const now = Date.now();
	let n = 0;
	const add = (label: string, topic: string, payload: string | Buffer, reason?: string) =>
		out.push({ label, topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload, reason });
	const rounds = 80;
	for (let i = 0; i < rounds; i++) {
		const dev = ids[i % ids.length];
		const t = nativeTopic(dev);
		const nonce = () => `${i}-${n++}`;
		const v = (values: string, extra = '') => `{"ts":${now - 60_000 - i},"values":${values},"n":"${nonce()}"${extra}}`;
		add('bad json', t, `{"ts": oops ${nonce()}`, 'bad_json');
		add('NaN literal', t, `{"values":{"water_level_m":NaN},"n":"${nonce()}"}`, 'bad_json');
		add('truncated', t, `{"values":{"water_level_m":1.2${nonce()}`, 'bad_json');
		add('invalid utf-8', t, Buffer.concat([Buffer.from([0xff, 0xfe, 0xfd]), Buffer.from(nonce())]), 'bad_json');
		add('empty payload', t, i === 0 ? '' : ` ${' '.repeat(i)}`, 'bad_json');
		add('json string', t, JSON.stringify(`"; DROP TABLE readings;-- ${nonce()}`), 'bad_shape');
		add('json number', t, `${1000 + n++}`, 'bad_shape');
		add('json boolean', t, i % 2 ? 'true ' + ' '.repeat(i) : 'false' + ' '.repeat(i), 'bad_shape');
		add('json null', t, 'null' + ' '.repeat(i), 'bad_shape');
		add('values a string', t, v('"water_level_m=2"'), 'bad_shape');
		add('values an array', t, v('[1,2,3]'), 'bad_shape');
		add('value as text', t, v('{"water_level_m":"2.1"}'), 'not_a_number');
		add('NaN as text', t, v('{"water_level_m":"NaN"}'), 'not_a_number');
		add('boolean value', t, v('{"water_level_m":true}'), 'not_a_number');
		add('null value', t, v('{"water_level_m":null}'), 'not_a_number');
		add('object value', t, v('{"water_level_m":{"$gt":0}}'), 'not_a_number');
		add('out of range', t, v('{"water_level_m":1e308}'), 'out_of_range');
		add('sql in metric', t, v(`{"'; DROP TABLE readings;--":1}`), 'unknown_metric');
		add('script in metric', t, v('{"<script>alert(1)</script>":1}'), 'unknown_metric');
		add('__proto__ metric', t, v('{"__proto__":{"polluted":1}}'), 'unknown_metric');
		add('constructor metric', t, v('{"constructor":1}'), 'unknown_metric');
		add('__proto__ at top', t, `{"__proto__":{"values":{"water_level_m":1}},"n":"${nonce()}"}`, 'bad_shape');
		add('empty values', t, v('{}'), 'empty');
		add('ts in seconds', t, `{"ts":${Math.floor(now / 1000)},"values":{"water_level_m":1},"n":"${nonce()}"}`, 'bad_timestamp');
		add('ts 1e300', t, `{"ts":1e300,"values":{"water_level_m":1},"n":"${nonce()}"}`, 'bad_timestamp');
		add('ts negative', t, `{"ts":-1,"values":{"water_level_m":1},"n":"${nonce()}"}`, 'bad_timestamp');
		add('ts 31 February', t, `{"ts":"2024-02-31T00:00:00Z","values":{"water_level_m":1},"n":"${nonce()}"}`, 'bad_timestamp');
		add('ts words', t, `{"ts":"yesterday","values":{"water_level_m":1},"n":"${nonce()}"}`, 'bad_timestamp');
		add('ts object', t, `{"ts":{"$date":1},"values":{"water_level_m":1},"n":"${nonce()}"}`, 'bad_timestamp');
		add('seq negative', t, `{"ts":${now - 1000},"seq":-1,"values":{"water_level_m":1},"n":"${nonce()}"}`, 'bad_seq');
		add('seq text', t, `{"ts":${now - 1000},"seq":"1","values":{"water_level_m":1},"n":"${nonce()}"}`, 'bad_seq');
		add('empty batch', t, '[]' + ' '.repeat(i), 'empty');
		add('oversized batch', t, JSON.stringify(Array.from({ length: 1001 }, () => ({ values: { water_level_m: 1 } }))) + ' '.repeat(i), 'batch_too_large');
		add('deep nesting', t, '['.repeat(20_000) + nonce() + ']'.repeat(20_000));
		add('unknown device', nativeTopic(`${ghost}-${i}`), v('{"water_level_m":1}'), 'unknown_device');
		add('sql device id', nativeTopic(`x'; DROP TABLE readings;--${i}`), v('{"water_level_m":1}'), 'unknown_device');
		add('markup device id', nativeTopic(`<img src=x onerror=alert(${i})>`), v('{"water_level_m":1}'), 'unknown_device');
		add('200-char device id', nativeTopic('D'.repeat(200) + i), v('{"water_level_m":1}'), 'unknown_topic');
		add('empty device id', 'shudi/v1/devices//up', v('{"water_level_m":1}'), 'unknown_topic');
		if (i % 10 === 0) add('1 MB payload', t, `{"values":{"water_level_m":"${'x'.repeat(1024 * 1024)}"},"n":"${nonce()}"}`, 'payload_too_large');
		if (i % 4 === 1) add('70 KiB payload', t, `{"values":{"water_level_m":1},"pad":"${'y'.repeat(70 * 1024)}","n":"${nonce()}"}`, 'payload_too_large');
		// Topics under shudi/v1/devices/ that no decoder takes and the subscription does not match never reach the
		// ingest (Mosquitto routes only subscribed topics), so they are sent but not expected as dead letters.
	}
	return out;
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

function ioRead(pid: number): number {
	const m = /rchar:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
	return m ? Number(m[1]) : 0;
}

/**
 * A TCP proxy in front of PostgreSQL that can fail like a restarting server: `outage(ms)` destroys every open
 * connection and refuses new ones (accepted, then reset at once) until the time is up.
 */
class TcpProxy {
	refused = 0;
	outages = 0;
	private open = new Set<net.Socket>();
	private down = false;
	private armed: { re: RegExp; ms: number } | null = null;
	private current: Promise<void> = Promise.resolve();
	private constructor(
		private readonly server: net.Server,
		readonly port: number
	) {}

	static async start(target: URL): Promise<TcpProxy> {
		let self: TcpProxy | null = null;
		const server = net.createServer((client) => {
			const p = self!;
			if (p.down) {
				p.refused++;
				client.resetAndDestroy();
				return;
			}
			const upstream = net.connect(Number(target.port || 5432), target.hostname);
			for (const [a, b] of [
				[client, upstream],
				[upstream, client]
			]) {
				p.open.add(a);
				a.on('error', () => b.destroy());
				a.on('close', () => {
					p.open.delete(a);
					b.destroy();
				});
				a.pipe(b);
			}
			client.on('data', (chunk: Buffer) => {
				const armed = p.armed;
				if (armed && armed.re.test(chunk.toString('latin1'))) {
					p.armed = null;
					void p.outage(armed.ms);
				}
			});
		});
		await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
		self = new TcpProxy(server, (server.address() as net.AddressInfo).port);
		return self;
	}

	/** Starts an outage of `ms` as soon as a client sends bytes matching `re` (after they were forwarded). */
	failOn(re: RegExp, ms: number): void {
		this.armed = { re, ms };
	}

	outage(ms: number): Promise<void> {
		this.outages++;
		this.down = true;
		for (const s of this.open) s.resetAndDestroy();
		this.current = sleep(ms).then(() => {
			this.down = false;
		});
		return this.current;
	}

	settled(): Promise<void> {
		return this.current;
	}

	async close(): Promise<void> {
		for (const s of this.open) s.destroy();
		await new Promise((r) => this.server.close(r));
	}
}


