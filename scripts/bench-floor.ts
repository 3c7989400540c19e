// The floor for `npm run bench:ingest -- --floor`: the least an exactly-once MQTT → PostgreSQL ingest can do on this
// stack, run as a child process in place of the ingest, so its stored rate bounds what any ingest could store here.
// It keeps only what exactly-once needs:
//   - the ingest's own MQTT side (IngestSubscriber: MQTT.js, MQTT 5, QoS 1, PUBACKs held until the commit and sent
//     in one write, the same receive maximum and flow control);
//   - JSON.parse of the native payload, three readings per message (no decoder, no validation beyond the payload's
//     shape, no registry lookup, no dead letters: the bench's payloads are all good and its devices all known);
//   - the readings by binary COPY into `readings` (its primary key is what makes redelivery store nothing twice), in
//     the writer's series order, batches of the writer's size and age, one transaction at a time; a batch that
//     holds a redelivered reading (the COPY fails whole on the key) goes again as INSERT … ON CONFLICT DO NOTHING.
// It leaves out everything else the product needs from the ingest: rollups, latest values, last_seen, offline
// detection, rules and alarms, the live relay, metrics. Not a product path: a measuring stick.
//
// Env: DATABASE_URL, MQTT_URL, INGEST_CLIENT_ID, INGEST_BATCH_ROWS (15000), INGEST_BATCH_MS (250), INGEST_RECEIVE_MAX.
// Prints `floor running` once subscribed and `floor stored <rows>` (a running total) after every commit.
import pg from 'pg';
import { from as copyFromStdin } from 'pg-copy-streams';
import { IngestSubscriber } from '../ingest/subscriber.js';
import type { IngestPipeline } from '../ingest/pipeline.js';
import { READINGS_COPY_SQL, readingsCopyData } from '../ingest/copy-binary.js';
import { batchGroups, readingColumns } from '../ingest/writer.js';
import type { Reading } from '../src/lib/domain/types.js';
import { logger } from '../src/lib/server/log.js';

const env = process.env;
const BATCH_ROWS = Number(env.INGEST_BATCH_ROWS) || 15_000;
const BATCH_MS = Number(env.INGEST_BATCH_MS) || 250;
const client = new pg.Client({ connectionString: env.DATABASE_URL });
await client.connect();

const INSERT_NEW_SQL = `INSERT INTO readings (device_id, metric, observed_at, value, received_at, flags, seq)
	 SELECT d, m, to_timestamp(o / 1000.0), v, to_timestamp(r / 1000.0), f, s
	 FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::float8[], $6::int2[], $7::int8[]) AS x(d, m, o, v, r, f, s)
	 ON CONFLICT DO NOTHING`;

let rows: Reading[] = [];
let waiting: ((err?: Error) => void)[] = [];
let stored = 0;
let writing = false;
let timer: NodeJS.Timeout | null = null;

function copy(batch: readonly Reading[]): Promise<void> {
	return new Promise((resolve, reject) => {
		const stream = client.query(copyFromStdin(READINGS_COPY_SQL));
		stream.on('error', reject);
		stream.on('finish', () => resolve());
		stream.end(readingsCopyData(batch));
	});
}

async function flush(): Promise<void> {
	if (timer) clearTimeout(timer);
	timer = null;
	if (writing || !rows.length) return;
	writing = true;
	const batch = rows;
	const done = waiting;
	rows = [];
	waiting = [];
	try {
		// A COPY outside BEGIN is its own transaction: committed when it finishes.
		const ordered = batchGroups(batch).ordered;
		await copy(ordered).catch((err: Error & { code?: string }) => {
			if (err.code !== '23505') throw err;
			return client.query(INSERT_NEW_SQL, readingColumns(ordered, true));
		});
		stored += batch.length;
		process.stdout.write(`floor stored ${stored}\n`);
		for (const d of done) d();
	} catch (err) {
		// No retry: the bench's database stays up; a failure here is a failed measurement, and says so.
		process.stderr.write(`floor: COPY failed: ${(err as Error).message}\n`);
		process.exit(1);
	}
	writing = false;
	if (rows.length >= BATCH_ROWS) void flush();
	else if (rows.length && !timer) timer = setTimeout(flush, BATCH_MS);
}

const pipeline = {
	handleThen(topic: string, payload: Buffer, done: (err?: Error) => void): void {
		// Anything but the bench's own message shape is acknowledged and left alone: the floor stores only what a
		// measurement sends, and must not stop on what else is on the broker (the test suite shares one Mosquitto).
		const parts = topic.split('/');
		let msg: { ts?: unknown; seq?: unknown; values?: Record<string, unknown> } | null = null;
		try {
			if (parts.length === 5 && parts[0] === 'shudi' && parts[2] === 'devices' && parts[4] === 'up') msg = JSON.parse(payload.toString('utf8'));
		} catch {
			msg = null;
		}
		const values = msg && typeof msg.values === 'object' && msg.values ? Object.entries(msg.values) : [];
		if (!msg || !Number.isSafeInteger(msg.ts) || !Number.isSafeInteger(msg.seq) || !values.length || !values.every(([, v]) => Number.isFinite(v)))
			return done();
		const deviceId = parts[3];
		const receivedAt = new Date();
		const observedAt = new Date(msg.ts as number);
		for (const [metric, value] of values) rows.push({ deviceId, metric, value: value as number, observedAt, receivedAt, flags: 0, seq: msg.seq as number });
		waiting.push(done);
		if (rows.length >= BATCH_ROWS) void flush();
		else if (!timer) timer = setTimeout(flush, BATCH_MS);
	}
} as unknown as IngestPipeline;

const subscriber = new IngestSubscriber(pipeline, {
	url: env.MQTT_URL!,
	clientId: env.INGEST_CLIENT_ID!,
	protocolVersion: 5,
	receiveMaximum: env.INGEST_RECEIVE_MAX ? Number(env.INGEST_RECEIVE_MAX) : undefined,
	log: logger('bench-floor')
});
await subscriber.start();
process.stdout.write('floor running\n');

process.on('SIGTERM', async () => {
	await subscriber.unsubscribe().catch(() => undefined);
	while (writing || rows.length) await (rows.length && !writing ? flush() : new Promise((r) => setTimeout(r, 20)));
	await subscriber.stop?.().catch(() => undefined);
	await client.end();
	process.exit(0);
});
