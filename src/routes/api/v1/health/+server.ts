// Liveness and readiness for operators and load balancers: database and broker state, ingest counters.
import { json } from '@sveltejs/kit';
import type { RequestHandler } from './$types';
import { runtime } from '$lib/server/runtime';

export const GET: RequestHandler = async () => {
	const rt = await runtime();
	const dbOk = await rt.db.ping();
	const broker = rt.broker
		? { kind: 'embedded', port: rt.broker.port, clients: rt.broker.connectedClients() }
		: rt.mqttUrl
			? { kind: 'external' }
			: { kind: 'none' };
	const ingest = rt.subscriber
		? { connected: rt.subscriber.connected, buffered: rt.writer?.depth ?? 0, in_flight: rt.subscriber.inFlight }
		: null;
	const ok = dbOk && (rt.subscriber ? rt.subscriber.connected : true);
	return json(
		{ ok, db: { ok: dbOk, kind: rt.db.kind, timescale: rt.db.timescale }, broker, ingest, demo: rt.config.DEMO, started_at: rt.startedAt.toISOString() },
		{ status: ok ? 200 : 503 }
	);
};
