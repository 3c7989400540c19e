// Server hooks: boot the runtime once at server start (database, broker, ingest, simulator per config), add security
// headers to every response, and never send a stack trace to a client.
import type { Handle, HandleServerError, ServerInit } from '@sveltejs/kit';
import { randomUUID } from 'node:crypto';
import { runtime } from '$lib/server/runtime';
import { logger } from '$lib/server/log';
import { ConfigError } from '$lib/server/config';
import { PortInUseError } from '$lib/server/broker';

const log = logger('web');

export const init: ServerInit = async () => {
	let rt: Awaited<ReturnType<typeof runtime>>;
	try {
		rt = await runtime();
	} catch (err) {
		// Start-up problems an operator can fix (bad config, busy port, unreachable database) are one clear line.
		const known = err instanceof ConfigError || err instanceof PortInUseError;
		console.error(`shudi: cannot start: ${(err as Error).message}`);
		if (!known) log.debug({ err: (err as Error).stack }, 'start-up failure');
		process.exit(1);
	}
	let stopping = false;
	const stop = async (why: string) => {
		if (stopping) return;
		stopping = true;
		log.info({ why }, 'shutting down: flushing ingest, closing database');
		rt.bus.emit('shutdown');
		await rt.stop();
		log.info('stopped cleanly');
		process.exit(0);
	};
	// adapter-node closes the HTTP server on SIGINT/SIGTERM, then emits this; live SSE streams are ended first so the
	// server can close at once instead of waiting for them.
	process.on('sveltekit:shutdown' as 'exit', () => void stop('server closed'));
	for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => rt.bus.emit('shutdown'));
	log.info({ db: rt.db.kind, broker: rt.broker ? `embedded :${rt.broker.port}` : rt.mqttUrl ?? 'none' }, 'shudi web ready');
};

export const handle: Handle = async ({ event, resolve }) => {
	const response = await resolve(event);
	response.headers.set('X-Content-Type-Options', 'nosniff');
	response.headers.set('Referrer-Policy', 'same-origin');
	response.headers.set('X-Frame-Options', 'DENY');
	return response;
};

export const handleError: HandleServerError = ({ error, event, status }) => {
	const id = randomUUID();
	if (status !== 404) log.error({ id, path: event.url.pathname, err: error instanceof Error ? error.stack : String(error) }, 'request failed');
	return { message: status === 404 ? 'Not found' : 'Internal error', id };
};
