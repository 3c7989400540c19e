// The embedded MQTT broker (Aedes), used when MQTT_URL is not set so `npm start` needs nothing but Node.js.
// Every connection is authenticated: devices by their own token (native dialect: username = device id,
// password = token; ThingsBoard dialect: username = token), services (ingest, simulator) by per-process secrets.
// A device may publish only to its own topics. ThingsBoard's `v1/devices/me/telemetry` names no device, so the
// broker — the only party that knows who authenticated — republishes it as `shudi/v1/tb/{deviceId}/telemetry`.
// Network servers (ChirpStack, The Things Stack) connect with an integration account (username = integration id,
// password = its secret; src/lib/server/devices/integrations.ts) and may publish only in their application's topics.
// A publish refused by these rules is not lost in silence: it is reported (onPublishRefused) with its topic and bytes,
// and the recorder dead-letters it, aggregated like refused logins (mqtt-refusals.ts).
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { createServer, type Server } from 'node:net';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { DeviceRegistry } from './registry.js';
import { hashToken, tokenMatches } from '../src/lib/server/devices/device-tokens.js';
import type { Logger } from '../src/lib/server/platform/log.js';
import { integrationMayPublish, integrationMaySubscribe, ttsAppTopic, type IntegrationRegistry } from '../src/lib/server/devices/integrations.js';

type Identity = { type: 'device'; id: string } | { type: 'integration'; id: string } | { type: 'service'; name: 'ingest' | 'simulator' };

/** A PUBLISH the broker refused, with what the dead letter needs. */
export interface RefusedPublish {
	clientId: string;
	/** Device or integration id; '' for a session without one. */
	username: string;
	topic: string;
	payload: Buffer;
	reason: string;
	detail: string;
	address: string | null;
}

export interface ServiceCredentials {
	username: string;
	password: string;
}

export interface EmbeddedBroker {
	port: number;
	url: string;
	ingest: ServiceCredentials;
	simulator: ServiceCredentials;
	/** Disconnects every session of a device or integration (after its credential was revoked or rotated). */
	kick(id: string): void;
	/** Re-reads the integrations now (after one was created or revoked in this process). */
	reloadIntegrations(): Promise<void>;
	/**
	 * The first step of a shutdown: stop listening and end every session except the ingest's, so no device gets a
	 * PUBACK for a message the ingest will no longer receive. Resolves once what was already forwarded to the ingest
	 * has left this side of its connection, so the ingest reads it before it flushes and closes (ingest/service.ts).
	 */
	stopAccepting(): Promise<void>;
	connectedClients(): number;
	close(): Promise<void>;
}

export class PortInUseError extends Error {}

function username(who: Identity): string {
	return who.type === 'service' ? `shudi-${who.name}` : who.id;
}

const identities = new WeakMap<Client, Identity>();

function safeEqual(a: string, b: string): boolean {
	const x = Buffer.from(a);
	const y = Buffer.from(b);
	return x.length === y.length && timingSafeEqual(x, y);
}

export async function startEmbeddedBroker(opts: {
	port: number;
	host?: string;
	registry: DeviceRegistry;
	log: Logger;
	/** Called when a connection is refused, so operators can see unknown devices knocking (mqtt-refusals.ts). */
	onAuthFailure?: (info: { clientId: string; username: string | undefined; reason: string; address: string | null }) => void;
	/** Network-server accounts; without it only devices and services connect. */
	integrations?: IntegrationRegistry;
	/** Called for every PUBLISH refused by the ACL, so it is dead-lettered instead of vanishing (mqtt-refusals.ts). */
	onPublishRefused?: (r: RefusedPublish) => void;
}): Promise<EmbeddedBroker> {
	const { registry, log } = opts;
	const ingest = { username: 'shudi-ingest', password: randomBytes(24).toString('base64url') };
	const simulator = { username: 'shudi-simulator', password: randomBytes(24).toString('base64url') };
	const broker = await Aedes.createBroker({ drainTimeout: 30_000, concurrency: 1000 });

	const refuse = (client: Client, username: string | undefined, reason: string, cb: (e: AuthenticateError | null, ok: boolean | null) => void) => {
		opts.onAuthFailure?.({ clientId: client.id, username, reason, address: (client.conn as { remoteAddress?: string }).remoteAddress ?? null });
		// 4 = bad user name or password (MQTT 3.1.1 §3.2.2.3)
		const err = Object.assign(new Error(reason), { returnCode: 4 }) as AuthenticateError;
		cb(err, false);
	};

	broker.authenticate = (client, username, password, cb) => {
		const pw = password ? password.toString('utf8') : '';
		if (username === ingest.username || username === simulator.username) {
			const svc = username === ingest.username ? ingest : simulator;
			if (safeEqual(pw, svc.password)) {
				identities.set(client, { type: 'service', name: username === ingest.username ? 'ingest' : 'simulator' });
				return cb(null, true);
			}
			return refuse(client, username, 'bad_service_password', cb);
		}
		if (!username) return refuse(client, username, 'no_credentials', cb);
		void (async () => {
			// An integration account: username = integration id, password = its secret. Integration ids are lower case
			// and a device of the same id cannot log in with the integration's secret, so the two never shadow each other.
			const integ = pw && opts.integrations ? await opts.integrations.find(username) : undefined;
			if (integ) {
				if (tokenMatches(pw, integ.secretHash)) {
					if (integ.revoked) return refuse(client, username, 'revoked_integration', cb);
					identities.set(client, { type: 'integration', id: integ.id });
					return cb(null, true);
				}
				// Not the integration's secret: it may still be a device of that id (checked below).
			}
			// Native: username = device id, password = token. ThingsBoard: username = token, no password.
			const byId = pw ? await registry.find({ id: username }) : undefined;
			if (byId) {
				if (byId.revoked) return refuse(client, username, 'revoked_device', cb);
				if (!tokenMatches(pw, byId.tokenHash)) return refuse(client, username, 'bad_token', cb);
				identities.set(client, { type: 'device', id: byId.id });
				return cb(null, true);
			}
			const byToken = await registry.find({ tokenHash: hashToken(username) });
			if (byToken && !byToken.revoked) {
				identities.set(client, { type: 'device', id: byToken.id });
				return cb(null, true);
			}
			if (integ) return refuse(client, username, 'bad_secret', cb);
			refuse(client, pw ? username : '(token)', byToken?.revoked ? 'revoked_device' : 'unknown_device', cb);
		})().catch((err) => {
			log.error({ err: (err as Error).message }, 'authentication lookup failed');
			cb(Object.assign(err as Error, { returnCode: 3 }) as AuthenticateError, false); // 3 = server unavailable
		});
	};

	/** Refuses a PUBLISH (the client is disconnected: MQTT 3.1.1 has no negative PUBACK) and reports it. */
	const refusePublish = (client: Client, username: string, packet: { topic: string; payload: Buffer | string }, reason: string, detail: string, cb: (err?: Error | null) => void) => {
		log.warn({ client: client.id, username, topic: packet.topic.slice(0, 200), reason }, 'publish refused');
		opts.onPublishRefused?.({
			clientId: client.id,
			username,
			topic: packet.topic,
			payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
			reason,
			detail,
			address: (client.conn as { remoteAddress?: string }).remoteAddress ?? null
		});
		cb(new Error(detail));
	};

	broker.authorizePublish = (client, packet, cb) => {
		const who = client ? identities.get(client) : undefined;
		if (!who || !client) return cb(new Error('not authenticated'));
		if (packet.topic.startsWith('$SYS/')) return cb(new Error('$SYS is reserved'));
		if (who.type === 'service') {
			// The simulator speaks for the demo devices; the ingest service only listens.
			if (who.name === 'simulator' && /^shudi\/v1\/devices\/[^/+#]+\/up$/.test(packet.topic)) return cb(null);
			return refusePublish(client, username(who), packet, 'acl_refused', `服务账号不得发布到此主题 / service may not publish here`, cb);
		}
		if (who.type === 'integration') {
			const integ = opts.integrations?.cached(who.id);
			if (!integ || integ.revoked) {
				return refusePublish(client, who.id, packet, 'revoked_integration', `集成 ${who.id} 已吊销 / integration ${who.id} was revoked`, cb);
			}
			if (integrationMayPublish(integ, packet.topic)) return cb(null);
			const allowed = integ.kind === 'chirpstack' ? `application/${integ.applicationId}/device/+/event/+` : `v3/${ttsAppTopic(integ)}/devices/+/…`;
			return refusePublish(client, who.id, packet, 'acl_refused', `集成 ${who.id} 只能发布到 ${allowed} / integration ${who.id} may publish only to ${allowed}`, cb);
		}
		if (packet.topic === `shudi/v1/devices/${who.id}/up`) return cb(null);
		if (packet.topic === 'v1/devices/me/telemetry') {
			packet.topic = `shudi/v1/tb/${who.id}/telemetry`;
			return cb(null);
		}
		refusePublish(
			client,
			who.id,
			packet,
			'acl_refused',
			`设备 ${who.id} 只能发布到 shudi/v1/devices/${who.id}/up 或 v1/devices/me/telemetry / device ${who.id} may publish only to its own topics`,
			cb
		);
	};

	broker.authorizeSubscribe = (client, sub, cb) => {
		const who = client ? identities.get(client) : undefined;
		if (who?.type === 'service' && who.name === 'ingest') return cb(null, sub);
		if (who?.type === 'device' && sub.topic === `shudi/v1/devices/${who.id}/down`) return cb(null, sub);
		if (who?.type === 'integration') {
			const integ = opts.integrations?.cached(who.id);
			// Outside its namespace: a failed SUBACK (0x80, MQTT 3.1.1 §3.9.3), not a cut session.
			return cb(null, integ && !integ.revoked && integrationMaySubscribe(integ, sub.topic) ? sub : null);
		}
		cb(new Error('subscription not allowed'), null);
	};

	broker.on('clientError', (client, err) => log.debug({ client: client?.id, err: err.message }, 'mqtt client error'));

	const server: Server = createServer(broker.handle);
	await new Promise<void>((resolve, reject) => {
		server.once('error', (err: NodeJS.ErrnoException) => {
			if (err.code === 'EADDRINUSE')
				reject(new PortInUseError(`MQTT port ${opts.port} is already in use (is Mosquitto running?). Set MQTT_PORT to a free port, or MQTT_URL to use that broker.`));
			else reject(err);
		});
		server.listen(opts.port, opts.host ?? '0.0.0.0', () => resolve());
	});
	let serverClosed: Promise<void> | null = null;
	const closeServer = () => (serverClosed ??= new Promise<void>((r) => server.close(() => r())));
	// `clients` is public in aedes.js but missing from its type declarations.
	const sessions = () => Object.values((broker as unknown as { clients: Record<string, Client> }).clients);
	const addr = server.address();
	const port = typeof addr === 'object' && addr ? addr.port : opts.port;
	log.info({ port }, 'embedded MQTT broker listening');

	return {
		port,
		url: `mqtt://127.0.0.1:${port}`,
		ingest,
		simulator,
		kick(id) {
			for (const c of sessions()) {
				const who = identities.get(c);
				if ((who?.type === 'device' || who?.type === 'integration') && who.id === id) c.close();
			}
		},
		async reloadIntegrations() {
			await opts.integrations?.reload();
		},
		async stopAccepting() {
			void closeServer();
			const ingestConns: Client['conn'][] = [];
			for (const c of sessions()) {
				const who = identities.get(c);
				if (who?.type === 'service' && who.name === 'ingest') ingestConns.push(c.conn);
				else c.close();
			}
			// A device's PUBACK follows the write of its message to the ingest's socket: once that write has reached
			// the kernel, the ingest's next read (one event-loop turn) takes it.
			for (const conn of ingestConns) {
				const w = conn as unknown as NodeJS.WritableStream & { writableLength?: number; destroyed?: boolean };
				if (!w.destroyed && (w.writableLength ?? 0) > 0) await new Promise<void>((r) => (w.once('drain', r), w.once('close', r)));
			}
			await new Promise((r) => setImmediate(r));
		},
		connectedClients: () => broker.connectedClients,
		async close() {
			const closed = closeServer();
			await new Promise<void>((r) => broker.close(() => r()));
			await closed;
		}
	};
}
