// The floor of `npm run bench:ingest -- --floor` (scripts/bench-floor.ts) is a measuring stick: its stored rate bounds
// what any exactly-once ingest can store on the machine. That claim holds only if it does the exactly-once part for
// real: every message stored once with its three values, and no PUBACK before the commit (an early PUBACK would make
// it faster than any correct ingest). Checked as a child process, as the bench runs it, against a scratch PostgreSQL
// (binary COPY needs a real server) and Mosquitto (the floor speaks MQTT 5, which Aedes does not). Other test files
// publish device topics on the same broker meanwhile, so every count here is of this test's own devices. No timings.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { freshDb, REAL_DB, REAL_MQTT, uniq, waitFor, type TestDb } from '../support/services';
import { RawPublisher, nativePayload, nativeTopic } from '../../scripts/lib/publisher';
import { dropSession, spawnIngest, type IngestChild } from '../../scripts/lib/ingest-spawn';

describe.skipIf(!REAL_DB || !REAL_MQTT)('bench floor (scripts/bench-floor.ts)', () => {
	const url = REAL_MQTT!;
	const clientId = uniq('floor');
	const tag = uniq('fl');
	let t: TestDb;
	let floor: IngestChild;

	beforeAll(async () => {
		t = await freshDb();
		// A long batch age, so a PUBACK sent before the commit could not hide behind a quick flush.
		floor = await spawnIngest({ databaseUrl: t.url!, mqttUrl: url, clientId, entry: 'floor', readyLog: /^floor running$/, batchMs: 400 });
	}, 60_000);

	afterAll(async () => {
		let code: number | null | undefined;
		try {
			code = await floor?.stop(10_000);
		} finally {
			// Whatever happened above: no persistent session left on the shared broker, no database left behind.
			await dropSession(url, clientId).catch(() => undefined);
			await t?.drop();
		}
		// A SIGTERM lets the floor finish its batch and exit 0.
		expect(code).toBe(0);
	});

	it('stores every message once, with its three values, and reports the running total it stored', async () => {
		const pub = await RawPublisher.connect(url, 3, 50);
		const devices = Array.from({ length: 20 }, (_, i) => `${tag}-${i}`);
		const t0 = Date.parse('2026-11-27T01:00:00Z');
		for (let seq = 1; seq <= 100; seq++)
			for (let d = 0; d < devices.length; d++) {
				const w = pub.publish(d % 3, nativeTopic(devices[d]), nativePayload(t0 + seq * 1000, seq));
				if (w) await w;
			}
		await pub.drain();
		await pub.close();
		const mine = `device_id LIKE '${tag}-%'`;
		const q = (sql: string) => t.db.query<{ n: number }>(sql).then((r) => Number(r.rows[0].n));
		await waitFor(async () => (await q(`SELECT count(*) AS n FROM readings WHERE ${mine}`)) >= 6000, 20_000);
		expect(await q(`SELECT count(*) AS n FROM readings WHERE ${mine}`)).toBe(6000);
		expect(await q(`SELECT count(DISTINCT (device_id, seq)) AS n FROM readings WHERE ${mine}`)).toBe(2000);
		expect(await q(`SELECT count(DISTINCT metric) AS n FROM readings WHERE ${mine}`)).toBe(3);
		// Each row is the value its message carried, at the time the message said.
		const payload = JSON.parse(nativePayload(t0 + 7000, 7)) as { values: Record<string, number> };
		const rows = await t.db.query<{ metric: string; value: number; at: string }>(
			`SELECT metric, value, observed_at::text AS at FROM readings WHERE device_id = $1 AND seq = 7 ORDER BY metric`,
			[devices[4]]
		);
		expect(Object.fromEntries(rows.rows.map((r) => [r.metric, r.value]))).toEqual(payload.values);
		expect(new Set(rows.rows.map((r) => new Date(r.at).getTime()))).toEqual(new Set([t0 + 7000]));
		// The running total it prints (what the bench reads as stored) matches the table: every row it stored, ours and
		// any other test's, at the last commit.
		const lastTotal = () => Number([...floor.logs].reverse().find((l) => l.startsWith('floor stored '))?.slice(13) ?? -1);
		await waitFor(async () => lastTotal() === (await q('SELECT count(*) AS n FROM readings')), 5000);
		expect(lastTotal()).toBeGreaterThanOrEqual(6000);
	}, 60_000);

	it('a batch that repeats stored readings stores only its new ones, and neither that nor junk stops the floor', async () => {
		// A device that resends after a lost PUBACK of its own (QoS 1 at-least-once from the device side): the COPY fails
		// on the primary key and the batch goes again with ON CONFLICT DO NOTHING.
		const pub = await RawPublisher.connect(url, 1, 50);
		const device = `${tag}-again`;
		const t0 = Date.parse('2026-11-27T04:00:00Z');
		// And what else may be on a shared broker (other test files' hostile messages): left alone, not stored.
		for (const bad of ['{not json', '{"ts":"soon","seq":1,"values":{"x":1}}', '{"ts":1,"seq":1,"values":{"x":"NaN"}}', 'null']) pub.publish(0, nativeTopic(device), bad);
		for (const seqs of [[1, 2, 3, 4, 5], [3, 4, 5, 6, 7, 8]]) {
			for (const seq of seqs) pub.publish(0, nativeTopic(device), nativePayload(t0 + seq * 1000, seq));
			await pub.drain();
			await new Promise((r) => setTimeout(r, 600));
		}
		await pub.close();
		const n = async () => Number((await t.db.query<{ n: number }>('SELECT count(*) AS n FROM readings WHERE device_id = $1', [device])).rows[0].n);
		await waitFor(async () => (await n()) >= 24, 10_000);
		expect(await n()).toBe(24);
		expect(floor.alive()).toBe(true);
	}, 30_000);

	it('acknowledges nothing before its commit: SIGKILLed mid-stream and restarted, it has stored every message once', async () => {
		// A PUBACK reaches the broker only, so it is seen by its consequence: a message acknowledged before its commit
		// and lost with the killed process is never redelivered. The batch age (400 ms) keeps messages uncommitted in
		// the process when it dies; the ones it committed but had not acknowledged come again, and must not count twice.
		const pub = await RawPublisher.connect(url, 2, 20);
		const devices = Array.from({ length: 10 }, (_, i) => `${tag}-k${i}`);
		const t0 = Date.parse('2026-11-27T03:00:00Z');
		let killed = false;
		for (let seq = 1; seq <= 150; seq++) {
			for (let d = 0; d < devices.length; d++) {
				const w = pub.publish(d % 2, nativeTopic(devices[d]), nativePayload(t0 + seq * 1000, seq));
				if (w) await w;
			}
			await new Promise((r) => setTimeout(r, 10));
			if (seq === 60) {
				await floor.kill();
				killed = true;
			}
			// Restarted while the stream goes on: the broker kept the rest for its persistent session.
			if (seq === 90) floor = await spawnIngest({ databaseUrl: t.url!, mqttUrl: url, clientId, entry: 'floor', readyLog: /^floor running$/, batchMs: 400 });
		}
		expect(killed).toBe(true);
		await pub.drain();
		await pub.close();
		const mine = `device_id LIKE '${tag}-k%'`;
		const q = (sql: string) => t.db.query<{ n: number }>(sql).then((r) => Number(r.rows[0].n));
		await waitFor(async () => (await q(`SELECT count(DISTINCT (device_id, seq)) AS n FROM readings WHERE ${mine}`)) >= 1500, 20_000);
		expect(await q(`SELECT count(*) AS n FROM readings WHERE ${mine}`)).toBe(4500);
		expect(await q(`SELECT count(DISTINCT (device_id, seq)) AS n FROM readings WHERE ${mine}`)).toBe(1500);
	}, 60_000);
});
