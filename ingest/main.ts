// `npm run start:ingest`: the ingest service as its own process, against DATABASE_URL and MQTT_URL (or the
// embedded broker on MQTT_PORT when MQTT_URL is unset). Several of these can share one subscription with
// INGEST_SHARE_GROUP (MQTT `$share/<group>/…`) — give each its own INGEST_CLIENT_ID.
import { config, ConfigError } from '../src/lib/server/config.js';
import { openDb } from '../src/lib/server/db.js';
import { migrate } from '../src/lib/server/migrate.js';
import { logger, rootLogger } from '../src/lib/server/log.js';
import { PortInUseError } from '../src/lib/server/broker.js';
import { startIngest } from './service.js';
import { OfflineWatcher } from './offline.js';
import { RuleRunner } from './rule-runner.js';
import { escalateDue } from '../src/lib/server/incidents.js';
import { WebhookWorker } from '../src/lib/server/notify/webhooks.js';
import { join, resolve } from 'node:path';

async function main() {
	const c = config();
	rootLogger(c.LOG_LEVEL);
	const log = logger('ingest-main');
	const db = await openDb({ url: c.DATABASE_URL, dataDir: c.DATABASE_URL ? undefined : join(resolve(c.DATA_DIR), 'pgdata'), log: logger('db') });
	await migrate(db, logger('migrate'));
	// Alarm rules, the escalation scheduler and webhook delivery live with ingest when it runs on its own.
	const rules = c.RULES ? new RuleRunner(db, { tz: c.TZ_DISPLAY, log: logger('rules'), cache: !c.INGEST_SHARE_GROUP }) : null;
	const svc = await startIngest({
		onCommitted: (r) => rules?.committed(r),
		db,
		mqttUrl: c.MQTT_URL,
		embeddedPort: c.MQTT_PORT,
		username: c.MQTT_USERNAME,
		password: c.MQTT_PASSWORD,
		clientId: c.INGEST_CLIENT_ID,
		shareGroup: c.INGEST_SHARE_GROUP,
		batchRows: c.INGEST_BATCH_ROWS,
		batchMs: c.INGEST_BATCH_MS,
		receiveMaximum: c.INGEST_RECEIVE_MAX
	});
	const offline = new OfflineWatcher(db, { afterIntervals: c.OFFLINE_AFTER_INTERVALS, log: logger('offline'), onChange: (ch) => svc.writer.forget(ch.map((x) => x.id)) });
	offline.start();
	const webhooks = new WebhookWorker(db, { log: logger('webhooks'), tz: c.TZ_DISPLAY });
	const escalator = c.RULES
		? setInterval(() => void escalateDue(db, new Date(), c.TZ_DISPLAY).then((n) => (n.length ? log.info({ notices: n.length }, 'escalation pass') : undefined)).catch((err) => log.warn({ err: (err as Error).message }, 'escalation pass failed')), c.ESCALATION_EVERY_MS)
		: null;
	if (c.RULES) webhooks.start();
	log.info({ mqtt: svc.mqttUrl, db: db.kind }, 'ingest running');
	let stopping = false;
	const stop = async (sig: string) => {
		if (stopping) return;
		stopping = true;
		log.info({ sig }, 'stopping ingest: flushing the last batch');
		offline.stop();
		if (escalator) clearInterval(escalator);
		rules?.stop();
		await webhooks.stop();
		await svc.stop();
		await rules?.idle();
		await db.close();
		process.exit(0);
	};
	process.on('SIGINT', () => void stop('SIGINT'));
	process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
	if (err instanceof ConfigError || err instanceof PortInUseError) {
		console.error(`shudi ingest: ${err.message}`);
	} else {
		console.error(`shudi ingest: failed to start: ${(err as Error).message}`);
	}
	process.exit(1);
});
