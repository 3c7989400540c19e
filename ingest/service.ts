// The ingest service, assembled: device registry, batch writer, pipeline, MQTT subscriber and — when no external
// broker is given — the embedded broker. Used by the one-process runtime, by `npm run start:ingest`, and by tests.
import type { Db } from '../src/lib/server/platform/db.js';
import { logger, type Logger } from '../src/lib/server/platform/log.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker.js';
import { DeviceRegistry } from './registry.js';
import { BatchWriter, type BatchResult } from './writer.js';
import { IngestPipeline } from './pipeline.js';
import { IngestSubscriber } from './subscriber.js';
import { RefusalRecorder } from '../src/lib/server/devices/mqtt-refusals.js';
import { IntegrationRegistry } from '../src/lib/server/devices/integrations.js';

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
	/** OFFLINE_AFTER_INTERVALS: how old a measurement may be and still make a sensor normal (ingest/writer.ts). */
	offlineAfterIntervals?: number;
	/** TZ_DISPLAY: the day a device-health notice counts in. */
	tz?: string;
	/** Caps on the embedded broker's record of refused connections (MQTT_REFUSAL_ROWS_PER_MINUTE / _MAX). */
	refusals?: { perMinute?: number; maxRows?: number; flushMs?: number };
	log?: Logger;
}

export interface IngestService {
	registry: DeviceRegistry;
	writer: BatchWriter;
	pipeline: IngestPipeline;
	subscriber: IngestSubscriber;
	broker: EmbeddedBroker | null;
	/** The embedded broker's refused connections, aggregated (null with an external broker, which keeps its own). */
	refusals: RefusalRecorder | null;
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
		let refusals: RefusalRecorder | null = null;
		if (!opts.mqttUrl) {
			const recorder = (refusals = new RefusalRecorder(opts.db, {
				perMinute: opts.refusals?.perMinute ?? 100,
				maxRows: opts.refusals?.maxRows ?? 50_000,
				flushMs: opts.refusals?.flushMs,
				log: logger('broker')
			}));
			recorder.start();
			// Written last, after the broker has closed: every refusal it saw is in the table.
			stops.push(() => recorder.stop());
			// Network servers' accounts (issue 22): ChirpStack / The Things Stack publish into their application's topics.
			const integrations = new IntegrationRegistry(opts.db);
			await integrations.start();
			stops.push(async () => integrations.stop());
			broker = await startEmbeddedBroker({
				port: opts.embeddedPort ?? 0,
				registry,
				integrations,
				log: logger('broker'),
				onAuthFailure: (info) => recorder.note(info),
				onPublishRefused: (r) => recorder.notePublish({ ...r, deviceId: registry.cached({ id: r.username }) ? r.username : null })
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
			onBatch: opts.onBatch,
			offlineAfterIntervals: opts.offlineAfterIntervals,
			tz: opts.tz
		});
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
		// Shutdown order (stops run in reverse): an embedded broker first ends the devices' sessions and lets what it
		// already forwarded reach the ingest (no device is acknowledged a message the ingest would not store); then the
		// ingest leaves the share group, flushes the writer (its PUBACKs go out), and disconnects — so the broker neither
		// keeps feeding a stopped worker nor redelivers what was stored.
		stops.push(() => subscriber.stop());
		stops.push(async () => {
			await writer.close();
		});
		stops.push(() => subscriber.unsubscribe());
		if (broker) stops.push(() => broker!.stopAccepting());
		return { registry, writer, pipeline, subscriber, broker, refusals, mqttUrl, stop };
	} catch (err) {
		await stop();
		throw err;
	}
}
