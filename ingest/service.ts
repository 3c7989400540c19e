// The ingest service, assembled: device registry, batch writer, pipeline, MQTT subscriber and — when no external
// broker is given — the embedded broker. Used by the one-process runtime, by `npm run start:ingest`, and by tests.
import type { Db } from '../src/lib/server/db.js';
import { logger, type Logger } from '../src/lib/server/log.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../src/lib/server/broker.js';
import { DeviceRegistry } from './registry.js';
import { BatchWriter, type BatchResult } from './writer.js';
import { IngestPipeline } from './pipeline.js';
import { IngestSubscriber } from './subscriber.js';

export interface IngestOptions {
	db: Db;
	/** External broker; without it an embedded broker is started on embeddedPort (0 = any free port). */
	mqttUrl?: string;
	embeddedPort?: number;
	username?: string;
	password?: string;
	clientId: string;
	shareGroup?: string;
	/** MQTT protocol for an external broker: 5 (default; large receive maximum) or 4 (3.1.1, e.g. Aedes). */
	protocolVersion?: 4 | 5;
	batchRows?: number;
	batchMs?: number;
	/** MQTT 5 receive maximum towards an external broker (INGEST_RECEIVE_MAX). */
	receiveMaximum?: number;
	maxBuffered?: number;
	registry?: DeviceRegistry;
	onCommitted?: (r: BatchResult) => void;
	onBatch?: (rows: number, ms: number) => void;
	log?: Logger;
}

export interface IngestService {
	registry: DeviceRegistry;
	writer: BatchWriter;
	pipeline: IngestPipeline;
	subscriber: IngestSubscriber;
	broker: EmbeddedBroker | null;
	mqttUrl: string;
	stop(): Promise<void>;
}

export async function startIngest(opts: IngestOptions): Promise<IngestService> {
	const log = opts.log ?? logger('ingest');
	const stops: (() => Promise<void>)[] = [];
	const stop = async () => {
		for (const s of stops.splice(0).reverse()) {
			try {
				await s();
			} catch (err) {
				log.warn({ err: (err as Error).message }, 'error while stopping ingest');
			}
		}
	};
	try {
		const registry = opts.registry ?? new DeviceRegistry(opts.db);
		if (!opts.registry) {
			await registry.start();
			stops.push(async () => registry.stop());
		}
		let broker: EmbeddedBroker | null = null;
		let writerRef: BatchWriter | null = null;
		const authFailures = new AuthFailureRecorder(() => writerRef);
		if (!opts.mqttUrl) {
			broker = await startEmbeddedBroker({
				port: opts.embeddedPort ?? 0,
				registry,
				log: logger('broker'),
				onAuthFailure: (info) => authFailures.note(info)
			});
			stops.push(() => broker!.close());
		}
		const mqttUrl = opts.mqttUrl ?? broker!.url;
		const writer = new BatchWriter(opts.db, {
			maxRows: opts.batchRows ?? 30_000,
			maxAgeMs: opts.batchMs ?? 250,
			maxBuffered: opts.maxBuffered,
			log: logger('writer'),
			onCommitted: opts.onCommitted,
			onBatch: opts.onBatch
		});
		writerRef = writer;
		stops.push(() => writer.close());
		const pipeline = new IngestPipeline(registry, writer);
		const subscriber = new IngestSubscriber(pipeline, {
			url: mqttUrl,
			clientId: opts.clientId,
			username: broker ? broker.ingest.username : opts.username,
			password: broker ? broker.ingest.password : opts.password,
			// Aedes speaks MQTT 3.1.1; external brokers get MQTT 5 for a large receive maximum.
			protocolVersion: broker ? 4 : (opts.protocolVersion ?? 5),
			shareGroup: opts.shareGroup,
			receiveMaximum: opts.receiveMaximum,
			log
		});
		await subscriber.start();
		// Shutdown order (stops run in reverse): leave the share group, flush the writer (its PUBACKs go out), then
		// disconnect — so the broker neither keeps feeding a stopped worker nor redelivers what was stored.
		stops.push(() => subscriber.stop());
		stops.push(async () => {
			await writer.close();
		});
		stops.push(() => subscriber.unsubscribe());
		return { registry, writer, pipeline, subscriber, broker, mqttUrl, stop };
	} catch (err) {
		await stop();
		throw err;
	}
}

/**
 * Refused MQTT connections become dead letters (topic "(connect)") so an admin sees unknown devices knocking;
 * at most one row per client id and reason per minute, so a misconfigured device retrying every second cannot
 * flood the table.
 */
class AuthFailureRecorder {
	private last = new Map<string, number>();
	constructor(private readonly writer: () => BatchWriter | null) {}
	note(info: { clientId: string; username: string | undefined; reason: string }) {
		const w = this.writer();
		if (!w) return;
		const key = info.clientId + '\u0000' + info.reason;
		const now = Date.now();
		if ((this.last.get(key) ?? 0) > now - 60_000) return;
		this.last.set(key, now);
		if (this.last.size > 10_000) this.last.clear();
		void w
			.add([], [
				{
					topic: '(connect)',
					payload: Buffer.alloc(0),
					reason: 'auth_failed',
					detail: JSON.stringify({ client_id: info.clientId.slice(0, 100), username: info.username?.slice(0, 100), why: info.reason }),
					deviceId: info.username && /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/.test(info.username) ? info.username : null,
					receivedAt: new Date()
				}
			])
			.catch(() => undefined);
	}
}
