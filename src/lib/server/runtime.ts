// The process runtime: opens the database (embedded PGlite or DATABASE_URL), applies migrations, seeds the demo
// township into an empty database, starts the broker (embedded Aedes or MQTT_URL), the ingest service and the
// simulator, according to config. One instance per process, kept on globalThis so the SvelteKit bundle and code
// run by tsx share it.
import { join, resolve } from 'node:path';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { config as loadConfig, type Config } from './platform/config.js';
import { openDb, type Db, type OpenDbOptions } from './platform/db.js';
import { migrate } from './platform/migrate.js';
import { logger, rootLogger, type Logger } from './platform/log.js';
import type { EmbeddedBroker } from '../../../ingest/broker.js';
import { DEFAULT_LOG_LIMITS, LiveBus } from './live/events.js';
import { startRelayIn, startRelayOut } from './live/live-relay.js';
import { seedDemoIfEmpty, seedDemoUsersIfNone } from './demo/seed.js';
import { DeviceRegistry } from '../../../ingest/registry.js';
import { BatchWriter } from '../../../ingest/writer.js';
import { IngestPipeline } from '../../../ingest/pipeline.js';
import { dryRunMessage } from '../../../ingest/dry-run.js';
import type { PayloadPreviewer } from './devices/profile-mapping.js';
import { ingestMetrics } from '../../../ingest/metrics.js';
import type { IngestSubscriber } from '../../../ingest/subscriber.js';
import { startIngest, type IngestService } from '../../../ingest/service.js';
import { OfflineWatcher } from '../../../ingest/offline.js';
import { RuleRunner } from '../../../ingest/rule-runner.js';
import { escalateDue, type IncidentNotice } from './cases/incidents.js';
import { WebhookWorker } from './notify/webhooks.js';
import { enqueueNotices } from './notify/incident-notices.js';
import { publishUpdates } from './live/publish-updates.js';
import { Simulator } from '../../../ingest/simulator.js';
import { serveBackups } from './platform/backup.js';
import { startOrphanSweep } from './cases/uploads.js';
import { startStagingSweep } from './map/village-setup.js';
import { RefusalRecorder } from './devices/mqtt-refusals.js';

export interface Runtime {
	config: Config;
	db: Db;
	log: Logger;
	bus: LiveBus;
	registry: DeviceRegistry;
	writer: BatchWriter | null;
	pipeline: IngestPipeline | null;
	/** The pipeline as a dry run for one device and a profile being tried: what would be stored, what refused. */
	preview: PayloadPreviewer;
	ingest: IngestService | null;
	rules: RuleRunner | null;
	/** Tell live consoles (and, later, webhooks) about case changes. */
	notify: (notices: IncidentNotice[]) => void;
	metrics: ReturnType<typeof ingestMetrics>;
	subscriber: IngestSubscriber | null;
	broker: EmbeddedBroker | null;
	/** Refused credentials, aggregated: the embedded broker's, and network servers' HTTP calls with a bad secret. */
	refusals: RefusalRecorder;
	simulator: Simulator | null;
	/** URL of the broker in use (embedded or external). */
	mqttUrl: string | null;
	startedAt: Date;
	stop(): Promise<void>;
}

export interface StartOptions {
	config?: Config;
	/** Which parts to run; defaults to config.SHUDI_ROLE. */
	role?: 'all' | 'web' | 'ingest';
	/**
	 * Keep the live events replayable (default). Off only where no HTTP server runs in the process (ingest/main.ts):
	 * nobody can ask it to replay, and the log would hold 50,000 sensor updates for nothing.
	 */
	replayLog?: boolean;
	createEmbedded?: OpenDbOptions['createEmbedded'];
}

const KEY = Symbol.for('shudi.runtime');
type G = typeof globalThis & { [KEY]?: Promise<Runtime> };

/** The process-wide runtime, started on first call. */
export function runtime(opts: StartOptions = {}): Promise<Runtime> {
	const g = globalThis as G;
	g[KEY] ??= startRuntime(opts);
	return g[KEY]!;
}

export function clearRuntime(): void {
	delete (globalThis as G)[KEY];
}

export async function startRuntime(opts: StartOptions = {}): Promise<Runtime> {
	const config = opts.config ?? loadConfig();
	rootLogger(config.LOG_LEVEL);
	const log = logger('runtime');
	const role = opts.role ?? config.SHUDI_ROLE;
	const dataDir = resolve(config.DATA_DIR);
	const stops: (() => Promise<void>)[] = [];
	const stopAll = async () => {
		for (const s of stops.reverse()) {
			try {
				await s();
			} catch (err) {
				log.warn({ err: (err as Error).message }, 'error while stopping');
			}
		}
	};
	try {
		const db = await openDb({
			url: config.DATABASE_URL,
			dataDir: config.DATABASE_URL ? undefined : join(dataDir, 'pgdata'),
			log: logger('db'),
			createEmbedded: opts.createEmbedded
		});
		stops.push(() => db.close());
		if (!config.DATABASE_URL) {
			// Tells the CLI tools that the embedded database is in use (PGlite is single-process).
			mkdirSync(dataDir, { recursive: true });
			writeFileSync(join(dataDir, 'shudi.pid'), String(process.pid));
			stops.push(async () => rmSync(join(dataDir, 'shudi.pid'), { force: true }));
			// `npm run backup` asks this process for its copy: nobody else can open the embedded database (backup.ts).
			stops.push(await serveBackups(dataDir, db, logger('backup')));
		}
		log.info({ db: db.kind, timescale: db.timescale }, 'database open');
		await migrate(db, logger('migrate'));
		if (config.DEMO) {
			await seedDemoIfEmpty(db, config, logger('demo'));
			await seedDemoUsersIfNone(db, config, logger('demo'));
		}

		// A process without an HTTP server (ingest/main.ts) serves no live stream, so no reader can ask it to replay: it
		// keeps no log (the relay carries its events to the web processes, which keep their own).
		const bus = new LiveBus(opts.replayLog === false ? { ...DEFAULT_LOG_LIMITS, maxItems: 0 } : DEFAULT_LOG_LIMITS);
		// Several processes on one PostgreSQL: events travel between them (live-relay.ts), so a console on any web
		// process sees what every ingest worker stored and judged. A lone `all` process needs none of it.
		const split = config.LIVE_RELAY && db.kind === 'postgres' && (role !== 'all' || !!config.INGEST_SHARE_GROUP);
		if (split && role !== 'web') stops.push(startRelayOut(bus, db, logger('live-relay')));
		if (split && role !== 'ingest' && config.DATABASE_URL) stops.push(await startRelayIn(bus, config.DATABASE_URL, logger('live-relay')));
		const registry = new DeviceRegistry(db);
		await registry.start();
		stops.push(async () => registry.stop());

		let ingest: IngestService | null = null;
		let rules: RuleRunner | null = null;
		let escalator: NodeJS.Timeout | null = null;
		const notify = (notices: IncidentNotice[]) => {
			for (const n of notices) bus.emit('incident', { id: n.incident_id, type: n.type, text_zh: n.text_zh, to: n.to.map((t) => ({ name: t.name, role: t.role })) });
			// Webhooks go through the outbox: one cheap INSERT here; the worker delivers and retries on its own.
			if (notices.length) void enqueueNotices(db, notices).catch((err) => log.warn({ err: (err as Error).message }, 'could not queue webhook notifications'));
		};
		// Every process that stores readings judges what it stored: the ingest its MQTT batches, a web-only process the
		// HTTP twin's (NB-IoT devices would otherwise never raise an alarm in a split deployment).
		if (config.RULES) {
			rules = new RuleRunner(db, {
				tz: config.TZ_DISPLAY,
				log: logger('rules'),
				// In a share group, or in a web-only process beside an ingest, other processes store some of a device's
				// readings: read histories from the database.
				cache: !config.INGEST_SHARE_GROUP && role !== 'web',
				onResult: (r) => {
					for (const c of r.statusChanges) bus.emit('status', c);
					notify(r.notices);
					for (const id of r.incidentsTouched) if (!r.notices.some((n) => n.incident_id === id)) bus.emit('incident', { id, type: 'incident.updated' });
				}
			});
			// Stopped after the ingest (stops run in reverse): the last batch it flushes is judged before the database closes.
			stops.push(async () => {
				await rules!.idle();
				rules!.stop();
			});
		}
		if (role !== 'web' && config.RULES) {
			// The durable escalation scheduler: deadlines are rows, so a restart only delays the next pass.
			let busy = false;
			escalator = setInterval(() => {
				if (busy) return;
				busy = true;
				escalateDue(db, new Date(), config.TZ_DISPLAY)
					.then(notify)
					.catch((err) => log.warn({ err: (err as Error).message }, 'escalation pass failed'))
					.finally(() => (busy = false));
			}, config.ESCALATION_EVERY_MS);
			escalator.unref();
			stops.push(async () => clearInterval(escalator!));
			const webhooks = new WebhookWorker(db, { log: logger('webhooks'), tz: config.TZ_DISPLAY });
			webhooks.start();
			stops.push(() => webhooks.stop());
		}
		// Photos are written by the web process's report route: the same process sweeps the ones no case names.
		if (role !== 'ingest') stops.push(startOrphanSweep(db, dataDir, logger('uploads')));
		// Staged boundary files and uploads: their orphans at start, expired previews hourly (map/village-setup.ts).
		if (role !== 'ingest') stops.push(startStagingSweep(db, dataDir, logger('staging')));
		const metrics = ingestMetrics(() => ingest, db);
		let simulator: Simulator | null = null;
		let mqttUrl: string | null = config.MQTT_URL ?? null;

		if (role !== 'web') {
			ingest = await startIngest({
				db,
				registry,
				mqttUrl: config.MQTT_URL,
				embeddedPort: config.MQTT_PORT,
				username: config.MQTT_USERNAME,
				password: config.MQTT_PASSWORD,
				clientId: config.INGEST_CLIENT_ID,
				shareGroup: config.INGEST_SHARE_GROUP,
				offlineAfterIntervals: config.OFFLINE_AFTER_INTERVALS,
				tz: config.TZ_DISPLAY,
				batchRows: config.INGEST_BATCH_ROWS,
				batchMs: config.INGEST_BATCH_MS,
				receiveMaximum: config.INGEST_RECEIVE_MAX,
				refusals: { perMinute: config.MQTT_REFUSAL_ROWS_PER_MINUTE, maxRows: config.MQTT_REFUSAL_ROWS_MAX },
				onCommitted: (r) => {
					publishUpdates(bus, r);
					rules?.committed(r);
				},
				onBatch: (rows, ms) => metrics.observeBatch(rows, ms)
			});
			stops.push(() => ingest!.stop());
			mqttUrl = ingest.mqttUrl;
			const offline = new OfflineWatcher(db, {
				afterIntervals: config.OFFLINE_AFTER_INTERVALS,
				log: logger('offline'),
				onChange: (changes) => {
					ingest?.writer.forget(changes.map((c) => c.id));
					for (const c of changes) bus.emit('status', { id: c.id, status: c.status, at: c.at });
				}
			});
			offline.start();
			stops.push(async () => offline.stop());
		}
		const broker = ingest?.broker ?? null;
		// The integrations' HTTP routes record bad secrets in every role; the embedded broker's recorder when there is one.
		let refusals = ingest?.refusals ?? null;
		if (!refusals) {
			const r = new RefusalRecorder(db, { perMinute: config.MQTT_REFUSAL_ROWS_PER_MINUTE, maxRows: config.MQTT_REFUSAL_ROWS_MAX, log: logger('refusals') });
			r.start();
			stops.push(() => r.stop());
			refusals = r;
		}
		// The HTTP twin and dead-letter replay need the pipeline in every role; a web-only process gets its own
		// writer (same validation, same storage path) without an MQTT subscription.
		let pipeline = ingest?.pipeline ?? null;
		let writer = ingest?.writer ?? null;
		if (!pipeline) {
			const w = new BatchWriter(db, {
				maxRows: config.INGEST_BATCH_ROWS,
				maxAgeMs: Math.min(config.INGEST_BATCH_MS, 50),
				log: logger('writer'),
				offlineAfterIntervals: config.OFFLINE_AFTER_INTERVALS,
				tz: config.TZ_DISPLAY,
				onCommitted: (r) => {
					publishUpdates(bus, r);
					rules?.committed(r);
				}
			});
			stops.push(() => w.close());
			writer = w;
			pipeline = new IngestPipeline(registry, w);
		}
		if (config.SIMULATE && role === 'all' && mqttUrl) {
			simulator = new Simulator(db, {
				url: mqttUrl,
				username: broker?.simulator.username ?? config.MQTT_USERNAME,
				password: broker?.simulator.password ?? config.MQTT_PASSWORD,
				log: logger('simulator')
			});
			await simulator.start();
			stops.push(() => simulator!.stop());
		}
		const rt: Runtime = {
			config,
			db,
			log,
			bus,
			registry,
			writer,
			pipeline,
			preview: dryRunMessage,
			ingest,
			rules,
			notify,
			metrics,
			subscriber: ingest?.subscriber ?? null,
			broker,
			refusals,
			simulator,
			mqttUrl,
			startedAt: new Date(),
			stop: stopAll
		};
		return rt;
	} catch (err) {
		await stopAll();
		throw err;
	}
}
