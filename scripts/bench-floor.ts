// The floor for `npm run bench:ingest -- --floor`: the least an exactly-once MQTT → PostgreSQL ingest of this
// architecture does (one process with MQTT.js, one PostgreSQL connection, batched binary COPY), run as a child process
// in the ingest's place. Its stored rate is this architecture's measured ceiling on the machine, and its CPU per
// message what receiving and storing alone cost; what the ingest spends beyond it is the product's work.
// It keeps only what exactly-once needs:
//   - the ingest's own MQTT side (IngestSubscriber: MQTT.js, MQTT 5, QoS 1, PUBACKs held until the commit and sent
//     in one write, the same receive maximum and flow control);
//   - JSON.parse of the native payload, three readings per message (no decoder, no validation beyond the payload's
//     shape, no registry lookup, no dead letters: the bench's payloads are all good and its devices all known);
//   - the readings by binary COPY into `readings` (its primary key is what makes redelivery store nothing twice), in
//     the writer's series order, batches as the writer makes them (whole messages up to INGEST_BATCH_ROWS, due when
//     the oldest is INGEST_BATCH_MS old), one transaction at a time; a batch that
//     holds a redelivered reading (the COPY fails whole on the key) goes again as INSERT … ON CONFLICT DO NOTHING.
// It leaves out everything else the product needs from the ingest: rollups, latest values, last_seen, offline
// detection, rules and alarms, the live relay, metrics. Not a product path: a measuring stick.
//
// Env: DATABASE_URL, MQTT_URL, INGEST_CLIENT_ID, INGEST_BATCH_ROWS, INGEST_BATCH_MS, INGEST_RECEIVE_MAX (the ingest's
// config and defaults, src/lib/server/platform/config.ts).
// Prints `floor running` once subscribed and `floor stored <rows>` (a running total) after every commit.
import pg from 'pg';
import { from as copyFromStdin } from 'pg-copy-streams';
import { IngestSubscriber } from '../ingest/subscriber.js';
import type { IngestPipeline } from '../ingest/pipeline.js';
import { READINGS_COPY_SQL, readingsCopyData } from '../ingest/copy-binary.js';
import { READINGS_ONLY_SQL, batchGroups, readingColumns } from '../ingest/writer.js';
import type { Reading } from '../src/lib/domain/types.js';
import { logger } from '../src/lib/server/platform/log.js';
import { parseConfig } from '../src/lib/server/platform/config.js';

const env = process.env;
const config = parseConfig(env);
const BATCH_ROWS = config.INGEST_BATCH_ROWS;
const BATCH_MS = config.INGEST_BATCH_MS;
const client = new pg.Client({ connectionString: env.DATABASE_URL });
await client.connect();

interface Entry {
	rows: Reading[];
	done: (err?: Error) => void;
	/** performance.now() when queued: a batch is due once its oldest message is BATCH_MS old (as in the writer). */
	at: number;
}
const queue: Entry[] = [];
let queuedRows = 0;
let stored = 0;
let writing = false;
let stopping = false;
let timer: NodeJS.Timeout | null = null;

/** Binary COPY of the rows, its own transaction (no BEGIN): resolves with the rows PostgreSQL stored. */
function copy(batch: readonly Reading[]): Promise<number> {
	return new Promise((resolve, reject) => {
		const stream = client.query(copyFromStdin(READINGS_COPY_SQL));
		stream.on('error', reject);
		stream.on('finish', () => resolve(stream.rowCount));
		stream.end(readingsCopyData(batch));
	});
}

function wake(): void {
	if (timer) clearTimeout(timer);
	timer = null;
	if (!writing) void loop();
}

/** The writer's loop (ingest/writer.ts): one batch at a time, whole messages up to BATCH_ROWS, in arrival order. */
async function loop(): Promise<void> {
	writing = true;
	while (queue.length) {
		let n = 0;
		let taken = 0;
		while (n < queue.length && (taken === 0 || taken < BATCH_ROWS)) taken += queue[n++].rows.length;
		const batch = queue.splice(0, n);
		queuedRows -= taken;
		const ordered = batchGroups(batch.flatMap((e) => e.rows)).ordered;
		try {
			// A repeated reading fails the whole COPY on the primary key: then the batch goes again, skipping it.
			stored += await copy(ordered).catch(async (err: Error & { code?: string }) => {
				if (err.code !== '23505') throw err;
				return (await client.query(READINGS_ONLY_SQL, readingColumns(ordered, true))).rowCount ?? 0;
			});
		} catch (err) {
			// No retry: the bench's database stays up; a failure here is a failed measurement, and says so.
			process.stderr.write(`floor: writing a batch failed: ${(err as Error).message}\n`);
			process.exit(1);
		}
		process.stdout.write(`floor stored ${stored}\n`);
		for (const e of batch) e.done();
		// Go on at once while a full batch waits or the oldest message is due; else wait for the rest of its age.
		const wait = queue.length ? BATCH_MS - (performance.now() - queue[0].at) : 0;
		if (queue.length && queuedRows < BATCH_ROWS && !stopping && wait > 0) {
			timer = setTimeout(wake, wait);
			break;
		}
	}
	writing = false;
}

/** The bench's own payload, within what PostgreSQL stores: anything else is not this floor's to measure. */
function readingsOf(topic: string, payload: Buffer): Reading[] | null {
	const parts = topic.split('/');
	if (parts.length !== 5 || parts[0] !== 'shudi' || parts[2] !== 'devices' || parts[4] !== 'up') return null;
	let msg: { ts?: unknown; seq?: unknown; values?: unknown };
	try {
		msg = JSON.parse(payload.toString('utf8'));
	} catch {
		return null;
	}
	const { ts, seq, values } = msg ?? {};
	if (typeof ts !== 'number' || !(ts >= 0 && ts <= 8.64e15) || !Number.isSafeInteger(seq) || typeof values !== 'object' || !values) return null;
	const entries = Object.entries(values);
	if (!entries.length || !entries.every(([k, v]) => Number.isFinite(v) && !k.includes('\u0000'))) return null;
	const deviceId = parts[3];
	const receivedAt = new Date();
	const observedAt = new Date(ts);
	return entries.map(([metric, value]) => ({ deviceId, metric, value: value as number, observedAt, receivedAt, flags: 0, seq: seq as number }));
}

const pipeline = {
	handleThen(topic: string, payload: Buffer, done: (err?: Error) => void): void {
		// Stopping: take nothing more; not acknowledged, it stays the broker's to deliver again.
		if (stopping) return;
		const rows = readingsOf(topic, payload);
		// Other messages on the broker (the test suite shares one Mosquitto) are acknowledged and left alone.
		if (!rows) return done();
		queue.push({ rows, done, at: performance.now() });
		queuedRows += rows.length;
		if (queuedRows >= BATCH_ROWS) wake();
		else if (!timer && !writing) timer = setTimeout(wake, BATCH_MS);
	}
} as unknown as IngestPipeline;

const subscriber = new IngestSubscriber(pipeline, {
	url: env.MQTT_URL!,
	clientId: env.INGEST_CLIENT_ID!,
	protocolVersion: 5,
	receiveMaximum: config.INGEST_RECEIVE_MAX,
	log: logger('bench-floor')
});
await subscriber.start();
process.stdout.write('floor running\n');

process.on('SIGTERM', async () => {
	stopping = true;
	if (queue.length) wake();
	while (writing || queue.length) await new Promise((r) => setTimeout(r, 20));
	await subscriber.stop().catch(() => undefined);
	await client.end();
	process.exit(0);
});
