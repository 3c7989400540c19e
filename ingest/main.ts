// `npm run start:ingest`: the ingest service as its own process, against DATABASE_URL and MQTT_URL (or the
// embedded broker on MQTT_PORT when MQTT_URL is unset). Several of these can share one subscription with
// INGEST_SHARE_GROUP (MQTT `$share/<group>/…`) — give each its own INGEST_CLIENT_ID.
//
// It is the same runtime as the all-in-one process with the `ingest` role (src/lib/server/runtime.ts): ingest, alarm
// rules, the offline watcher, the escalation scheduler and webhook delivery, each wired the one way — case
// notifications go to the webhook outbox, and live events (readings, status changes, cases) go to the web processes
// through PostgreSQL (src/lib/server/live/live-relay.ts), so their consoles are live.
import { config, ConfigError } from '../src/lib/server/platform/config.js';
import { logger } from '../src/lib/server/platform/log.js';
import { PortInUseError } from './broker.js';
import { runtime } from '../src/lib/server/runtime.js';

async function main() {
	const c = config();
	// No HTTP server here, so nothing can replay live events from this process: it keeps no replay log.
	const rt = await runtime({ config: c, role: 'ingest', replayLog: false });
	const log = logger('ingest-main');
	log.info({ mqtt: rt.mqttUrl, db: rt.db.kind }, 'ingest running');
	let stopping = false;
	const stop = async (sig: string) => {
		if (stopping) return;
		stopping = true;
		log.info({ sig }, 'stopping ingest: flushing the last batch');
		// A stop that overruns SHUTDOWN_TIMEOUT (a database that stopped answering) still ends the process.
		setTimeout(() => {
			log.error({ seconds: c.SHUTDOWN_TIMEOUT }, 'still stopping after SHUTDOWN_TIMEOUT; exiting now');
			process.exit(1);
		}, c.SHUTDOWN_TIMEOUT * 1000).unref();
		// Stops the offline watcher first, then flushes and acknowledges the last batch, lets the rules finish, and
		// closes the database last.
		await rt.stop();
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
