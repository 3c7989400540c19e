// `npm run bench:ingest`: end-to-end ingest throughput against an external broker (Mosquitto) and PostgreSQL,
// compared with the broker's bare pass-through rate on the same machine (STYLE.md habit 8: a performance claim lives
// in a benchmark that prints its baseline). Each run has two phases with the same publishers, QoS and payloads:
//   1. baseline — a subscriber that only counts (MQTT 5, receive maximum 65535, like the ingest);
//   2. ingest   — the ingest worker as a child process (so its RSS is its own): by default the bundle
//                 `npm run start:ingest` runs (build-ingest/main.js, built first), `--ingest-entry source` for
//                 ingest/main.ts through tsx; stored rows counted in PostgreSQL.
//   3. profiled — the same as 2 with a device profile in the path: the same three values as a DTU's JSON (nested
//                 `data`, its own `time`) for devices with the `dtu-json` profile (--payload both, the default; the two
//                 take turns going first). The ratio profiled / native is what a profile costs at full speed; as that
//                 ratio is at the mercy of whatever else the machine runs, the pipeline's own CPU per message for both
//                 loads is measured in-process too (scripts/lib/pipeline-cost.ts) and set against the whole system's
//                 CPU per stored message.
// It creates and drops its own database `shudi_bench_<rand>`. The harness lives in scripts/lib/ — publisher.ts (the
// load generators and the native payload), broker-spawn.ts (its own Mosquitto), ingest-spawn.ts (the child process),
// cpu.ts and stats.ts — which the tests that drive the same child process import too; this file is the benchmark only.
//
//   npm run bench:ingest -- [--url mqtt://… (default: start an own mosquitto)] [--db postgres://postgres@127.0.0.1:5432/test]
//                           [--devices 1000] [--seconds 20] [--repeat 1] [--connections 8] [--window 1000]
//                           [--rate 0 (msg/s, 0 = full speed)] [--cpu-prof DIR] [--batch-rows N] [--batch-ms N] [--receive-max N]
//                           [--ingest-node-args="--max-old-space-size=192" (default: the flags of `npm run start:ingest`)]
//                           [--ingest-entry build|source] [--publisher raw|mqttjs (the load generator: RawPublisher, default, or MQTT.js)]
//                           [--floor (a third phase: scripts/bench-floor.ts in the ingest's place, MQTT side + COPY only)]
//                           [--payload both|native|profiled (default both: the native and the profiled load in each run)]
import { randomBytes } from 'node:crypto';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import pg from 'pg';
import { createDatabase } from './scratch-db.js';
import { startOwnMosquitto } from './lib/broker-spawn.js';
import { cpuSeconds, postgresPids } from './lib/cpu.js';
import { buildIngest, dropSession, shippedIngestNodeArgs, spawnIngest, waitUntilSubscribed, type IngestChild } from './lib/ingest-spawn.js';
import { PROFILED_PROFILE, Publisher, RawPublisher, nativePayload, nativeTopic, profiledPayload, profiledTopic } from './lib/publisher.js';
import { mean, nearestRank } from './lib/stats.js';
import { measurePipelineCost } from './lib/pipeline-cost.js';

/**
 * Rows stored so far. The hourly rollup is kept in the same statement as the readings INSERT and counts only rows
 * stored, so its sum equals count(*) of readings — without a sequential scan of millions of rows once a second,
 * which in long runs becomes a parallel scan competing with the ingest.
 */
const STORED_ROWS_SQL = 'SELECT coalesce(sum(n), 0)::bigint AS n FROM readings_hourly';

/** Registers devices (before the ingest starts, so its registry knows them from its first load). */
async function insertDevices(q: { query: (t: string, p?: unknown[]) => Promise<unknown> }, ids: string[], profile: string | null = null): Promise<void> {
	const { hashToken } = await import('../src/lib/server/devices/device-tokens.js');
	await q.query(
		`INSERT INTO devices (id, name, kind, lng, lat, token_hash, profile)
		 SELECT id, id, 'river_level', 107.5, 26.5, th, $3 FROM unnest($1::text[], $2::text[]) AS x(id, th)`,
		[ids, ids.map((id) => hashToken(`bench-token-${id}-${randomBytes(8).toString('hex')}`)), profile]
	);
}

// ---------------------------------------------------------------------------------------------------------------
// The benchmark

interface Args {
	url: string;
	db: string;
	devices: number;
	seconds: number;
	repeat: number;
	connections: number;
	window: number;
	rate: number;
	cpuProf?: string;
	/** Extra node flags for the ingest child, e.g. --max-old-space-size=256. */
	ingestNodeArgs: string[];
	/** The bundle `npm run start:ingest` runs (default), or the TypeScript source through tsx. */
	ingestEntry: 'build' | 'source';
	/** The load generator: RawPublisher (default) or MQTT.js clients (Publisher). */
	publisher: 'raw' | 'mqttjs';
	/** The bench's own mosquitto, for CPU accounting. */
	brokerPid?: number;
	batchRows?: number;
	batchMs?: number;
	receiveMax?: number;
	/** Which loads each run drives through the ingest: the native payload, the profiled one, or both. */
	payload: 'both' | 'native' | 'profiled';
}

/** The load of an ingest phase: native shudi JSON, or a DTU's JSON through the device's profile. */
type Load = 'native' | 'profiled';

interface PhaseDrive {
	published: number;
	/** Highest seq published per device (seq starts at 1). */
	maxSeq: number[];
	seconds: number;
}

/** The run's load generator (--publisher). */
function connectPublisher(a: Args): Promise<Publisher | RawPublisher> {
	return a.publisher === 'mqttjs' ? Publisher.connect(a.url, a.connections, a.window) : RawPublisher.connect(a.url, a.connections, a.window);
}

/**
 * Publishes for `seconds` round-robin over the devices (each device's messages in seq order, with a strictly
 * increasing ts per device = its publish time in ms), devices spread over the publisher's connections.
 * `onSample` sees 1 in 100 messages with their publish time.
 */
async function drive(
	pub: Publisher | RawPublisher,
	ids: string[],
	a: Args,
	topic: (id: string) => string,
	onSample?: (deviceIdx: number, tsMs: number, publishedAt: number) => void,
	payload: (tsMs: number, seq: number) => string = nativePayload
): Promise<PhaseDrive> {
	const maxSeq = ids.map(() => 0);
	const lastTs = ids.map(() => 0);
	const t0 = Date.now();
	const end = t0 + a.seconds * 1000;
	let published = 0;
	const perConnRate = a.rate > 0 ? a.rate / pub.connections : 0;
	await Promise.all(
		Array.from({ length: pub.connections }, async (_, conn) => {
			const mine = ids.map((_, i) => i).filter((i) => i % pub.connections === conn);
			let sent = 0;
			for (;;) {
				for (const d of mine) {
					const now = Date.now();
					if (now >= end) return;
					if (perConnRate && sent > ((now - t0) / 1000) * perConnRate) {
						await new Promise((r) => setTimeout(r, 5));
					}
					const seq = ++maxSeq[d];
					const ts = Math.max(now, lastTs[d] + 1);
					lastTs[d] = ts;
					if (onSample && published % 100 === 0) onSample(d, ts, now);
					published++;
					sent++;
					const w = pub.publish(conn, topic(ids[d]), payload(ts, seq));
					if (w) await w;
				}
			}
		})
	);
	await pub.drain();
	return { published, maxSeq, seconds: (Date.now() - t0) / 1000 };
}

const median = (xs: number[]) => nearestRank(xs, 0.5);

/** Phase 1: broker pass-through to a subscriber that only counts. */
async function baseline(a: Args): Promise<{ rate: number; received: number; published: number; cpu: { benchProcess: number; broker: number } }> {
	const tag = `bench${randomBytes(3).toString('hex')}`;
	const ids = Array.from({ length: a.devices }, (_, i) => `${tag}-${i}`);
	const sub = await mqtt.connectAsync(a.url, {
		clientId: `${tag}-sub`,
		protocolVersion: 5,
		clean: true,
		properties: { receiveMaximum: 65535 }
	});
	let received = 0;
	const perSecond: number[] = [];
	sub.on('message', () => received++);
	// Same topic shape and length as the native topic, under a root no ingest listens to.
	const topic = (id: string) => `bench/v1/${tag}/${id}/up`;
	await sub.subscribeAsync(`bench/v1/${tag}/+/up`, { qos: 1 });
	const pub = await connectPublisher(a);
	let last = 0;
	const tick = setInterval(() => {
		perSecond.push(received - last);
		last = received;
	}, 1000);
	// CPU from the first publish until the last message was counted: the publishers and the counting subscriber share
	// this process; the broker is its own.
	const cpu0 = { bench: process.cpuUsage(), broker: a.brokerPid ? cpuSeconds(a.brokerPid) : NaN };
	const d = await drive(pub, ids, a, topic);
	const t0 = Date.now();
	while (received < d.published && Date.now() - t0 < 10_000) await sleep(50);
	const bu = process.cpuUsage(cpu0.bench);
	const cpu = { benchProcess: (bu.user + bu.system) / 1e6, broker: a.brokerPid ? cpuSeconds(a.brokerPid) - cpu0.broker : NaN };
	clearInterval(tick);
	await pub.close();
	await sub.endAsync(true);
	// Drop the first second (connections warming up) and the last partial one.
	const steady = perSecond.slice(1, Math.max(2, Math.floor(d.seconds)));
	return { rate: mean(steady), received, published: d.published, cpu };
}

interface IngestFigures {
	rate: number;
	published: number;
	publishRate: number;
	stored: number;
	lost: number;
	duplicates: number;
	deadLetters: number;
	commitP50: number;
	commitP99: number;
	arriveP50: number;
	arriveP99: number;
	rssMax: number;
	rssMedian: number;
	drainSeconds: number;
	/** CPU seconds per component from the first publish until everything was stored. */
	cpu: { publishers: number; broker: number; ingest: number; postgres: number };
}

/**
 * Phase 2: the ingest child against a fresh database. With mode 'floor' (--floor), the same phase with
 * scripts/bench-floor.ts in the ingest's place: the MQTT side and a binary COPY of the readings, nothing else.
 */
async function ingestPhase(a: Args, run: number, mode: 'ingest' | 'floor' = 'ingest', load: Load = 'native'): Promise<IngestFigures> {
	const floor = mode === 'floor';
	const profiled = load === 'profiled';
	const tag = `bench${randomBytes(3).toString('hex')}`;
	const ids = Array.from({ length: a.devices }, (_, i) => `${tag}-${i}`);
	const created = await createDatabase(a.db, 'shudi_bench');
	const pool = new pg.Pool({ connectionString: created.url, max: 3 });
	let ingest: IngestChild | null = null;
	let pub: Publisher | RawPublisher | null = null;
	try {
		// Migrate here so the devices exist before the ingest's registry first loads (it migrates again: a no-op).
		const { openDb } = await import('../src/lib/server/platform/db.js');
		const { migrate } = await import('../src/lib/server/platform/migrate.js');
		const db = await openDb({ url: created.url, poolSize: 1 });
		await migrate(db);
		await insertDevices(db, ids, profiled ? PROFILED_PROFILE : null);
		await db.close();

		ingest = await spawnIngest({
			databaseUrl: created.url,
			mqttUrl: a.url,
			clientId: `${tag}-ingest`,
			batchRows: a.batchRows,
			batchMs: a.batchMs,
			receiveMax: a.receiveMax,
			entry: floor ? 'floor' : a.ingestEntry,
			readyLog: floor ? /^floor running$/ : undefined,
			nodeArgs: [...(a.ingestNodeArgs.length ? a.ingestNodeArgs : shippedIngestNodeArgs()), ...(a.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${a.cpuProf}/run${run}${floor ? '-floor' : profiled ? '-profiled' : ''}`] : [])]
		});
		// The floor logs "floor running" after its SUBACK; the ingest logs "ingest running" before it.
		if (!floor) await waitUntilSubscribed(a.url, pool, `${tag}-probe`);
		// Stored rows: the floor keeps no rollup and reports its own running total after each commit.
		const child = ingest;
		const storedRows = async (): Promise<number> => {
			if (!floor) return Number((await pool.query<{ n: string }>(STORED_ROWS_SQL)).rows[0].n);
			for (let i = child.logs.length - 1; i >= 0; i--) {
				const hit = /^floor stored (\d+)$/.exec(child.logs[i]);
				if (hit) return Number(hit[1]);
			}
			return 0;
		};

		const rss: number[] = [];
		const rssTimer = setInterval(() => {
			const r = ingest?.rss();
			if (r) rss.push(r);
		}, 500);

		// Stored messages per second: stored rows / 3 once a second, from the hourly rollup (see STORED_ROWS_SQL).
		const perSecond: number[] = [];
		let lastCount = 0;
		let counting = false;
		const countTimer = setInterval(async () => {
			if (counting) return;
			counting = true;
			try {
				const n = (await storedRows()) / 3;
				perSecond.push(n - lastCount);
				lastCount = n;
			} finally {
				counting = false;
			}
		}, 1000);

		// Publish → visible-commit latency: 1 in 100 messages is looked up by primary key every 100 ms — the oldest
		// SAMPLE_WINDOW pending ones (every pending one once a second), again at once while all were found. Batches
		// commit in arrival order, so a younger sample is rarely visible before an older one; looking up every pending
		// sample each time would cost PostgreSQL a lookup per pending sample ten times a second, thousands
		// with the backlog of a full-speed run, on the machine under test.
		const SAMPLE_WINDOW = 200;
		const samples = new Map<string, { d: number; ts: number; at: number }>();
		const commitMs: number[] = [];
		let sampling = true;
		let stopAt = 0;
		const sampler = (async () => {
			let full = false;
			let polls = 0;
			while (sampling || samples.size) {
				if (!full) await sleep(100);
				full = false;
				if (!samples.size) continue;
				// Once a second every pending sample: one that is never stored (a lost message) must not hold the window
				// and keep the samples behind it from being seen.
				const all = ++polls % 10 === 0;
				const list: { d: number; ts: number; at: number }[] = [];
				for (const s of samples.values()) {
					if (!all && list.length === SAMPLE_WINDOW) break;
					list.push(s);
				}
				const r = await pool.query<{ device_id: string; t: string }>(
					`SELECT r.device_id, (extract(epoch FROM r.observed_at) * 1000)::int8::text AS t
					 FROM unnest($1::text[], $2::timestamptz[]) AS s(d, t)
					 JOIN readings r ON r.device_id = s.d AND r.metric = 'water_level_m' AND r.observed_at = s.t`,
					[list.map((s) => ids[s.d]), list.map((s) => new Date(s.ts).toISOString())]
				);
				const now = Date.now();
				for (const row of r.rows) {
					const key = `${row.device_id}@${row.t}`;
					const s = samples.get(key);
					if (s) {
						commitMs.push(now - s.at);
						samples.delete(key);
					}
				}
				full = !all && list.length === SAMPLE_WINDOW && r.rows.length === list.length;
				if (!sampling && Date.now() - stopAt > 30_000) break;
			}
		})();

		pub = await connectPublisher(a);
		// Backends opened during the run (a pool growing) count from zero: their whole life is inside the run.
		const pgStart = new Map((await postgresPids(pool)).map((pid) => [pid, cpuSeconds(pid)]));
		const pgCpu = async () => {
			let sum = 0;
			for (const pid of new Set([...pgStart.keys(), ...(await postgresPids(pool))])) sum += cpuSeconds(pid) - (pgStart.get(pid) ?? 0);
			return sum;
		};
		const cpu0 = { publishers: process.cpuUsage(), broker: a.brokerPid ? cpuSeconds(a.brokerPid) : NaN, ingest: cpuSeconds(ingest.pid) };
		const d = await drive(
			pub,
			ids,
			a,
			profiled ? profiledTopic : nativeTopic,
			(di, ts, at) => samples.set(`${ids[di]}@${ts}`, { d: di, ts, at }),
			profiled ? profiledPayload : nativePayload
		);
		const pubDone = Date.now();

		// Wait until everything is stored, or nothing new arrives for 10 s.
		const expected = d.published * 3;
		let stored = 0;
		let lastChange = Date.now();
		for (;;) {
			const n = await storedRows();
			if (n !== stored) lastChange = Date.now();
			stored = n;
			if (stored >= expected || Date.now() - lastChange > 10_000) break;
			await sleep(250);
		}
		const drainSeconds = (Date.now() - pubDone) / 1000;
		const pu = process.cpuUsage(cpu0.publishers);
		const cpu = {
			publishers: (pu.user + pu.system) / 1e6,
			broker: a.brokerPid ? cpuSeconds(a.brokerPid) - cpu0.broker : NaN,
			ingest: cpuSeconds(ingest.pid) - cpu0.ingest,
			postgres: await pgCpu()
		};
		clearInterval(countTimer);
		clearInterval(rssTimer);
		stopAt = Date.now();
		sampling = false;
		await sampler;

		// A message is its (device, seq); the profiled load has no seq (a DTU sends none) and is counted by (device,
		// time) instead — each device's times strictly increase, so both name one message each.
		const key = profiled ? 'observed_at' : 'seq';
		const dup = await pool.query<{ n: string }>(
			`SELECT count(*) AS n FROM (SELECT device_id, ${key} FROM readings GROUP BY 1, 2 HAVING count(*) <> 3) x`
		);
		const msgs = await pool.query<{ n: string }>(`SELECT count(DISTINCT (device_id, ${key})) AS n FROM readings`);
		const dl = await pool.query<{ n: string }>('SELECT count(*) AS n FROM dead_letters WHERE device_id IS DISTINCT FROM $1', [`${tag}-probe`]);
		const arrive = await pool.query<{ p50: number; p99: number }>(
			`SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99
			 FROM (SELECT extract(epoch FROM received_at - observed_at) * 1000 AS ms FROM readings WHERE metric = 'water_level_m') x`
		);
		const distinct = Number(msgs.rows[0].n);
		// Stored rate while publishing: the mean of the per-second counts, first second (ramp-up) and the drain after it
		// dropped. Not their median: a batch of 30,000 rows commits 10,000 messages at once, so single seconds read 0 or
		// 10,000 and their median says little about what is sustained.
		const steady = perSecond.slice(1, Math.max(2, Math.floor(d.seconds)));
		return {
			rate: mean(steady),
			published: d.published,
			publishRate: d.published / d.seconds,
			stored: distinct,
			lost: d.published - distinct,
			duplicates: Number(dup.rows[0].n),
			deadLetters: Number(dl.rows[0].n),
			commitP50: nearestRank(commitMs, 0.5),
			commitP99: nearestRank(commitMs, 0.99),
			arriveP50: Number(arrive.rows[0].p50),
			arriveP99: Number(arrive.rows[0].p99),
			rssMax: Math.max(...rss),
			rssMedian: median(rss),
			drainSeconds,
			cpu
		};
	} finally {
		await pub?.close();
		const code = await ingest?.stop(30_000);
		if (ingest && code !== 0) console.error(`ingest exited with ${code}; last lines:\n${ingest.logs.slice(-10).join('\n')}`);
		if (ingest) await dropSession(a.url, `${tag}-ingest`).catch(() => undefined);
		await pool.end();
		await created.drop();
	}
}

function sleep(ms: number): Promise<void> {
	return new Promise((r) => setTimeout(r, ms));
}

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : 'n/a');
const mb = (b: number) => b / 1024 / 1024;

async function main(): Promise<void> {
	const { values: v } = parseArgs({
		options: {
			url: { type: 'string' },
			db: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
			devices: { type: 'string', default: '1000' },
			seconds: { type: 'string', default: '20' },
			repeat: { type: 'string', default: '1' },
			connections: { type: 'string', default: '8' },
			window: { type: 'string', default: '1000' },
			rate: { type: 'string', default: '0' },
			'cpu-prof': { type: 'string' },
			// Extra node flags for the ingest child (experiments, e.g. a heap limit: --ingest-node-args="--max-old-space-size=192").
			'ingest-node-args': { type: 'string', default: '' },
			'batch-rows': { type: 'string' },
			'batch-ms': { type: 'string' },
			'receive-max': { type: 'string' },
			'skip-baseline': { type: 'boolean', default: false },
			// A third phase per run: scripts/bench-floor.ts in the ingest's place (receiving and storing, nothing else).
			floor: { type: 'boolean', default: false },
			// 'build' (default): build-ingest/main.js, what `npm run start:ingest` runs; 'source': ingest/main.ts through tsx.
			'ingest-entry': { type: 'string', default: 'build' },
			// 'both' (default): each run drives the native load and the profiled one (a DTU's JSON through dtu-json).
			payload: { type: 'string', default: 'both' },
			// 'raw' (default): the hand-written MQTT 3.1.1 load generator (RawPublisher); 'mqttjs': MQTT.js clients.
			publisher: { type: 'string', default: 'raw' }
		},
		strict: true
	});
	const int = (k: string, s: string | undefined, min: number): number => {
		const n = Number(s);
		if (!Number.isInteger(n) || n < min) throw new Error(`--${k} must be an integer ≥ ${min} (got ${JSON.stringify(s)})`);
		return n;
	};
	const a: Args = {
		url: v.url ?? '',
		db: v.db!,
		devices: int('devices', v.devices, 1),
		seconds: int('seconds', v.seconds, 3),
		repeat: int('repeat', v.repeat, 1),
		connections: int('connections', v.connections, 1),
		window: int('window', v.window, 1),
		rate: int('rate', v.rate, 0),
		cpuProf: v['cpu-prof'] ? resolve(v['cpu-prof']) : undefined,
		ingestNodeArgs: v['ingest-node-args']!.split(/\s+/).filter(Boolean),
		ingestEntry: v['ingest-entry'] === 'source' ? 'source' : 'build',
		publisher: v.publisher === 'mqttjs' ? 'mqttjs' : 'raw',
		batchRows: v['batch-rows'] ? int('batch-rows', v['batch-rows'], 1) : undefined,
		batchMs: v['batch-ms'] ? int('batch-ms', v['batch-ms'], 1) : undefined,
		receiveMax: v['receive-max'] ? int('receive-max', v['receive-max'], 100) : undefined,
		payload: v.payload === 'native' || v.payload === 'profiled' ? v.payload : 'both'
	};
	if (v.payload !== 'both' && v.payload !== 'native' && v.payload !== 'profiled') throw new Error(`--payload must be both, native or profiled (got ${JSON.stringify(v.payload)})`);
	if (v.publisher !== 'raw' && v.publisher !== 'mqttjs') throw new Error(`--publisher must be raw or mqttjs (got ${JSON.stringify(v.publisher)})`);
	if (v['ingest-entry'] !== 'build' && v['ingest-entry'] !== 'source') throw new Error(`--ingest-entry must be build or source (got ${JSON.stringify(v['ingest-entry'])})`);
	if (a.ingestEntry === 'build') buildIngest();
	// Without --url the bench runs its own Mosquitto (large queue); with --url it uses that broker as configured.
	const own = v.url ? null : await startOwnMosquitto();
	if (own) {
		a.url = own.url;
		a.brokerPid = own.pid;
	}
	const machine = `${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), ${fmt(totalmem() / 2 ** 30, 1)} GiB, node ${process.version}`;
	console.log(`bench:ingest — ${machine}`);
	console.log(
		`${a.devices} devices, ${a.seconds} s per phase, ${a.connections} publisher connections (${a.publisher === 'raw' ? 'raw MQTT 3.1.1' : 'MQTT.js'}) × window ${a.window}, QoS 1, 3 values/message, ${a.rate ? `${a.rate} msg/s` : 'full speed'}, repeat ${a.repeat}`
	);
	const runs: { base: number; baseCpu: { benchProcess: number; broker: number }; baseReceived: number; ing: IngestFigures; prof?: IngestFigures; floor?: IngestFigures }[] = [];
	const report = (label: string, f: IngestFigures) =>
		console.log(
			`${label} ${fmt(f.rate)} msg/s stored; published ${fmt(f.published)} (${fmt(f.publishRate)} msg/s), stored ${fmt(f.stored)}, lost ${fmt(f.lost)}, ` +
				`dup ${f.duplicates}, dead letters ${f.deadLetters}, drain ${fmt(f.drainSeconds, 1)} s after publishing, ` +
				`commit p50/p99 ${fmt(f.commitP50)}/${fmt(f.commitP99)} ms, arrive p50/p99 ${fmt(f.arriveP50)}/${fmt(f.arriveP99)} ms, RSS max ${fmt(mb(f.rssMax))} MB`
		);
	for (let i = 0; i < a.repeat; i++) {
		const base = v['skip-baseline'] ? { rate: NaN, received: 0, published: 0, cpu: { benchProcess: NaN, broker: NaN } } : await baseline(a);
		if (!v['skip-baseline']) console.log(`run ${i + 1} baseline: ${fmt(base.rate)} msg/s received (${fmt(base.received)}/${fmt(base.published)} messages)`);
		// With --floor, the floor and the ingest take turns going first, so neither always meets the host a phase later.
		const floorFirst = i % 2 === 0;
		let fl = v.floor && floorFirst ? await ingestPhase(a, i + 1, 'floor') : undefined;
		if (fl) report(`run ${i + 1} floor:   `, fl);
		// With --payload both, the profiled load and the native one take turns going first too.
		const profiledFirst = i % 2 === 1;
		let prof = a.payload === 'both' && profiledFirst ? await ingestPhase(a, i + 1, 'ingest', 'profiled') : undefined;
		if (prof) report(`run ${i + 1} profiled:`, prof);
		const ing = await ingestPhase(a, i + 1, 'ingest', a.payload === 'profiled' ? 'profiled' : 'native');
		report(`run ${i + 1} ${a.payload === 'profiled' ? 'profiled:' : 'ingest:  '}`, ing);
		if (a.payload === 'both' && !profiledFirst) report(`run ${i + 1} profiled:`, (prof = await ingestPhase(a, i + 1, 'ingest', 'profiled')));
		if (v.floor && !floorFirst) report(`run ${i + 1} floor:   `, (fl = await ingestPhase(a, i + 1, 'floor')));
		runs.push({ base: base.rate, baseCpu: base.cpu, baseReceived: base.received, ing, prof, floor: fl });
	}
	const m = (f: (r: (typeof runs)[number]) => number) => median(runs.map(f));
	const stored = m((r) => r.ing.rate);
	const bare = m((r) => r.base);
	const ratio = stored / bare;
	const p99 = m((r) => r.ing.commitP99);
	const rssMax = m((r) => r.ing.rssMax);
	const lost = Math.max(...runs.map((r) => r.ing.lost + r.ing.duplicates));
	const mark = (ok: boolean) => (ok ? 'PASS' : 'MISS');
	const rows: string[][] = [
		['stored msg/s (mean while publishing)', fmt(stored), '≥ 15,000', mark(stored >= 15_000)],
		['bare pass-through msg/s (broker → counting subscriber)', fmt(bare), '', ''],
		a.rate
			? ['ratio stored / bare (meaningless with --rate: both phases get the same paced input)', fmt(ratio, 2), '≥ 0.60', '—']
			: ['ratio stored / bare', fmt(ratio, 2), '≥ 0.60', mark(ratio >= 0.6)],
		['publish → visible commit p50 (1 in 100, 100 ms polls)', `${fmt(m((r) => r.ing.commitP50))} ms`, '', ''],
		['publish → visible commit p99', `${fmt(p99)} ms`, '≤ 1,000 ms', mark(p99 <= 1000)],
		['publish → arrival at ingest p50/p99 (received_at − ts)', `${fmt(m((r) => r.ing.arriveP50))}/${fmt(m((r) => r.ing.arriveP99))} ms`, '', ''],
		['ingest RSS max (median RSS)', `${fmt(mb(rssMax))} MB (${fmt(mb(m((r) => r.ing.rssMedian)))} MB)`, '≤ 300 MB', mark(rssMax <= 300 * 2 ** 20)],
		['lost + duplicated messages (worst run)', fmt(lost), '0', mark(lost === 0)],
		['publish rate offered (ingest phase)', `${fmt(m((r) => r.ing.publishRate))} msg/s`, '', '']
	];
	const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i].length), ['figure', 'measured', 'target', ''][i].length));
	const line = (r: string[]) => '| ' + r.map((c, i) => c.padEnd(w[i])).join(' | ') + ' |';
	console.log('\n' + line(['figure', 'measured', 'target', '']));
	console.log('|' + w.map((n) => '-'.repeat(n + 2)).join('|') + '|');
	for (const r of rows) console.log(line(r));
	// Where the two cores go: CPU seconds per 1,000 stored messages by component, and the rate the machine could
	// sustain if every component kept its cost per message and both cores did nothing else.
	const per = (f: (c: IngestFigures['cpu']) => number) => m((r) => (f(r.ing.cpu) / Math.max(1, r.ing.stored)) * 1000 * 1000);
	const comps: [string, number][] = [
		[`publishers (bench process: ${a.connections} ${a.publisher === 'raw' ? 'raw MQTT 3.1.1 connections' : 'MQTT.js clients'} + its count/latency queries)`, per((c) => c.publishers)],
		['broker (mosquitto)', per((c) => c.broker)],
		['ingest (node)', per((c) => c.ingest)],
		['PostgreSQL (backends of the bench database + background processes)', per((c) => c.postgres)]
	];
	const totalMs = comps.reduce((acc, [, x]) => acc + (Number.isFinite(x) ? x : 0), 0);
	console.log('\nCPU per 1,000 stored messages (publish start → all stored):');
	for (const [k, x] of comps) console.log(`  ${k.padEnd(72)} ${fmt(x)} ms`);
	console.log(`  ${'total'.padEnd(72)} ${fmt(totalMs)} ms → ceiling on ${availableParallelism()} cores ≈ ${fmt((availableParallelism() * 1e6) / totalMs)} msg/s; without the publishers ≈ ${fmt((availableParallelism() * 1e6) / (totalMs - comps[0][1]))} msg/s`);
	if (!v['skip-baseline'] && !a.rate && a.brokerPid) {
		// The ratio target as a CPU budget: bare pass-through costs B per 1,000 messages (publishers, broker, a counting
		// subscriber) and fills both cores at the bare rate; storing at 0.6 of that rate leaves the ingest and PostgreSQL
		// together 2 cores ÷ (0.6 × bare) − (publishers + broker) per 1,000 messages.
		const perBase = (f: (c: (typeof runs)[number]['baseCpu']) => number) => m((r) => (f(r.baseCpu) / Math.max(1, r.baseReceived)) * 1e6);
		const bareTotal = perBase((c) => c.benchProcess + c.broker);
		const budget = (availableParallelism() * 1e6) / (0.6 * bare) - (comps[0][1] + comps[1][1]);
		console.log(`\nCPU per 1,000 messages of bare pass-through: bench process (publishers + counting subscriber) ${fmt(perBase((c) => c.benchProcess))} ms, broker ${fmt(perBase((c) => c.broker))} ms, total ${fmt(bareTotal)} ms`);
		console.log(
			`ratio 0.6 at this bare rate (${fmt(0.6 * bare)} msg/s stored) leaves ingest + PostgreSQL ${fmt(budget)} ms per 1,000 messages on ${availableParallelism()} cores ` +
				`beside this run's publishers and broker; they spent ${fmt(comps[2][1] + comps[3][1])} ms (PostgreSQL alone ${fmt(comps[3][1])} ms)`
		);
	}
	const floors = runs.flatMap((r) => (r.floor ? [{ ...r, floor: r.floor }] : []));
	if (floors.length) {
		// The floor: what an ingest that did nothing but the MQTT side and a binary COPY stored in the same run, and
		// what it cost. What the ingest spends beyond it per message is the product's work.
		const fm = (f: (r: (typeof floors)[number]) => number) => median(floors.map(f));
		const fper = (f: (c: IngestFigures['cpu']) => number) => fm((r) => (f(r.floor.cpu) / Math.max(1, r.floor.stored)) * 1e6);
		const fRate = fm((r) => r.floor.rate);
		const fRatio = fRate / fm((r) => r.base);
		const fLost = Math.max(...floors.map((r) => r.floor.lost + r.floor.duplicates));
		console.log('\nFloor (scripts/bench-floor.ts: the ingest\'s MQTT side + JSON.parse + binary COPY of the readings, nothing else):');
		console.log(
			`  stored ${fmt(fRate)} msg/s, commit p99 ${fmt(fm((r) => r.floor.commitP99))} ms, RSS max ${fmt(mb(fm((r) => r.floor.rssMax)))} MB, lost + duplicated ${fmt(fLost)}` +
				(a.rate || v['skip-baseline'] ? '' : `; ratio floor / bare ${fmt(fRatio, 2)} (the ingest: ${fmt(ratio, 2)}; floor / ingest ${fmt(fRate / stored, 2)})`)
		);
		console.log(
			`  CPU per 1,000 stored messages: publishers ${fmt(fper((c) => c.publishers))} ms, broker ${fmt(fper((c) => c.broker))} ms, ` +
				`floor process ${fmt(fper((c) => c.ingest))} ms, PostgreSQL ${fmt(fper((c) => c.postgres))} ms (the ingest: ${fmt(comps[2][1])} and ${fmt(comps[3][1])} ms)`
		);
	}
	const profs = runs.flatMap((r) => (r.prof ? [{ ...r, prof: r.prof }] : []));
	if (profs.length) {
		// What a device profile costs: the same values through the dtu-json profile against the native payload, each
		// run's pair on the same machine minutes apart. Target: at most 10 % of throughput at full speed.
		const pm = (f: (r: (typeof profs)[number]) => number) => median(profs.map(f));
		const pRate = pm((r) => r.prof.rate);
		const nRate = pm((r) => r.ing.rate);
		const ratios = profs.map((r) => r.prof.rate / r.ing.rate);
		const cpuPer = (f: IngestFigures) => (f.cpu.ingest / Math.max(1, f.stored)) * 1e6;
		// Short phases on a busy machine store most of their messages after publishing stops: the whole phase's rate
		// (stored ÷ (publishing + drain)) says more than the mean while publishing.
		const whole = (f: IngestFigures) => f.stored / (f.published / f.publishRate + f.drainSeconds);
		const wholeRatios = profs.map((r) => whole(r.prof) / whole(r.ing));
		const pLost = Math.max(...profs.map((r) => r.prof.lost + r.prof.duplicates));
		console.log(`\nProfiled load (a DTU's JSON — nested data, its own time — through the ${PROFILED_PROFILE} profile; the same three values):`);
		console.log(
			`  stored ${fmt(pRate)} msg/s against native ${fmt(nRate)} msg/s (medians); ratio profiled / native ${fmt(pRate / nRate, 2)} ` +
				`(per run ${ratios.map((x) => fmt(x, 2)).join(', ')}; median ${fmt(median(ratios), 2)}), target ≥ 0.90${a.rate ? ' (meaningless with --rate)' : `: ${mark(median(ratios) >= 0.9)}`}`
		);
		console.log(
			`  whole phase (stored ÷ (publishing + drain)): native ${fmt(pm((r) => whole(r.ing)))} msg/s, profiled ${fmt(pm((r) => whole(r.prof)))} msg/s; ` +
				`ratio per run ${wholeRatios.map((x) => fmt(x, 2)).join(', ')}, median ${fmt(median(wholeRatios), 2)}`
		);
		console.log(
			`  ingest CPU per 1,000 stored messages: native ${fmt(pm((r) => cpuPer(r.ing)))} ms, profiled ${fmt(pm((r) => cpuPer(r.prof)))} ms; ` +
				`commit p99 ${fmt(pm((r) => r.prof.commitP99))} ms; dead letters ${Math.max(...profs.map((r) => r.prof.deadLetters))}; lost + duplicated ${fmt(pLost)}`
		);
		// The same question without the noise: the pipeline's CPU per message in this process (decode → profile →
		// validate → writer, no broker, no database), and what the difference is of the system's CPU per stored
		// message measured above (publishers excluded). At full speed the machine is CPU-bound, so that share is the
		// throughput the profile costs.
		const cost = measurePipelineCost();
		const systemUs = totalMs - comps[0][1];
		const addedUs = cost.profiledUs - cost.nativeUs;
		console.log(
			`  pipeline CPU per message (in-process, medians of ${cost.rounds.length} alternating rounds of 100,000): native ${fmt(cost.nativeUs, 2)} µs, profiled ${fmt(cost.profiledUs, 2)} µs ` +
				`(+${fmt(addedUs, 2)} µs; ${fmt(cost.profiledReadings)} readings, ${cost.profiledDeadLetters} dead letters in the last profiled round)`
		);
		console.log(
			`  against ${fmt(systemUs)} µs of broker + ingest + PostgreSQL CPU per stored message: the profile costs ${fmt((addedUs / (systemUs + addedUs)) * 100, 1)} % of throughput ` +
				`at full speed (target ≤ 10 %: ${mark(addedUs / (systemUs + addedUs) <= 0.1)})`
		);
	}
	console.log(`\n${machine}; runs: ${runs.length}; medians across runs.`);
	console.log(own ? `broker: the bench's own mosquitto (${a.url}, max_queued_messages 10000000, no persistence)` : `broker: ${a.url} (as configured)`);
	await own?.stop();
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
	main().then(
		() => process.exit(0),
		(err) => {
			console.error(`bench:ingest failed: ${(err as Error).stack ?? err}`);
			process.exit(1);
		}
	);
}
