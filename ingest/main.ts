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
import { join, resolve } from 'node:path';

async function main() {
	const c = config();
	rootLogger(c.LOG_LEVEL);
	const log = logger('ingest-main');
	const db = await openDb({ url: c.DATABASE_URL, dataDir: c.DATABASE_URL ? undefined : join(resolve(c.DATA_DIR), 'pgdata'), log: logger('db') });
	await migrate(db, logger('migrate'));
	const svc = await startIngest({
		db,
		mqttUrl: c.MQTT_URL,
		embeddedPort: c.MQTT_PORT,
		username: c.MQTT_USERNAME,
		password: c.MQTT_PASSWORD,
		clientId: c.INGEST_CLIENT_ID,
		shareGroup: c.INGEST_SHARE_GROUP,
		batchRows: c.INGEST_BATCH_ROWS,
		batchMs: c.INGEST_BATCH_MS
	});
	const offline = new OfflineWatcher(db, { log: logger('offline') });
	offline.start();
	log.info({ mqtt: svc.mqttUrl, db: db.kind }, 'ingest running');
	let stopping = false;
	const stop = async (sig: string) => {
		if (stopping) return;
		stopping = true;
		log.info({ sig }, 'stopping ingest: flushing the last batch');
		offline.stop();
		await svc.stop();
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
