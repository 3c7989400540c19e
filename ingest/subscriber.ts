// MQTT side of ingest: one MQTT.js client with a persistent session (clean: false, stable client id) that subscribes
// to every device dialect at QoS 1 and sends each PUBACK only after the batch holding that message has committed.
//
// Why not MQTT.js `customHandleAcks` alone: MQTT.js processes incoming packets strictly one after another and waits
// for that callback before reading the next packet, so holding it until a 250 ms batch commits would cap ingest at a
// few messages per batch. Instead the message is handed to the pipeline at once and only its PUBACK is held back and
// released, in arrival order, when the pipeline's promise settles. MQTT 3.1.1 §4.6 [MQTT-4.6.0-2] requires PUBACKs in
// the order the PUBLISHes arrived; our batches commit in arrival order, and the release queue below keeps that order.
// On a dropped connection the held PUBACKs are discarded: the broker redelivers those messages to the persistent
// session and the idempotent insert stores nothing twice.
import mqtt, { type IClientOptions, type MqttClient, type IPublishPacket } from 'mqtt';
import type { Logger } from '../src/lib/server/platform/log.js';
import type { IngestPipeline } from './pipeline.js';

/**
 * Every topic of every dialect the ingest serves (DOMAIN.md "MQTT contract"; issue 22 item 5): what arrives here is
 * stored or dead-lettered, never dropped. ChirpStack's other event types (join, ack, txack, log, location) carry no
 * reading and are not subscribed; an integration account may publish them on the embedded broker so its connection
 * stays up (src/lib/server/devices/integrations.ts integrationMayPublish).
 */
export const INGEST_TOPICS = [
	'shudi/v1/devices/+/up',
	'application/+/device/+/event/up',
	// ChirpStack device-status answers: battery level (ingest/decoders/chirpstack.ts decodeChirpStackStatus).
	'application/+/device/+/event/status',
	'v3/+/devices/+/up',
	// ThingsBoard-style telemetry with the publishing device in the topic: the embedded broker republishes it there,
	// an external broker must rewrite it there (EMQX topic rewrite, README).
	'shudi/v1/tb/+/telemetry',
	// Raw ThingsBoard telemetry never reaches the ingest from the embedded broker (it is rewritten). From an external
	// broker it names no device: subscribed so that it is dead-lettered as `unattributable` instead of vanishing.
	'v1/devices/me/telemetry'
];

interface Held {
	messageId: number;
	/** The message has committed (or was dead-lettered, which also commits). */
	done: boolean;
	/** MQTT.js has tried to send this message's PUBACK (and we held it back). */
	acked: boolean;
}

export interface SubscriberOptions {
	url: string;
	clientId: string;
	username?: string;
	password?: string;
	/** `$share/<group>/` prefix for scale-out across several ingest processes (external brokers). */
	shareGroup?: string;
	protocolVersion?: 4 | 5;
	/** MQTT 5 receive maximum: messages in flight to us, unacknowledged, at most. */
	receiveMaximum?: number;
	log: Logger;
}

export class IngestSubscriber {
	private client: MqttClient | null = null;
	/** PUBACKs waiting for their commit, in arrival order; `head` is the first not yet sent (no O(n) shift()). */
	private held: Held[] = [];
	private head = 0;
	private generation = 0;
	connected = false;
	inFlight = 0;

	constructor(
		private readonly pipeline: IngestPipeline,
		private readonly opts: SubscriberOptions
	) {}

	async start(): Promise<void> {
		const o = this.opts;
		const options: IClientOptions = {
			clientId: o.clientId,
			clean: false,
			username: o.username,
			password: o.password,
			protocolVersion: o.protocolVersion ?? 4,
			reconnectPeriod: 1000,
			connectTimeout: 10_000,
			keepalive: 30,
			resubscribe: true,
			// MQTT.js logs through \`debug\`, whose logger collects its arguments into an array on every call even when
			// logging is off — several calls per message, a tenth of the ingest's allocations (`npm run bench:ingest`).
			log: () => {},
			// MQTT 5: let the broker keep enough messages in flight to us to fill batches while earlier PUBACKs wait for
			// their commit — but bounded, so a backlog waits in the broker's queue instead of this process's heap.
			// (65,535 in flight cost ~1 GB RSS and a quarter of the CPU in garbage collection:
			// `npm run bench:ingest -- --receive-max 65535`.)
			properties: o.protocolVersion === 5 ? { receiveMaximum: o.receiveMaximum ?? 10_000, sessionExpiryInterval: 7 * 24 * 3600 } : undefined
		};
		const client = mqtt.connect(o.url, options);
		this.client = client;
		this.patchAcks(client);
		client.on('connect', (connack) => {
			this.connected = true;
			this.generation++;
			this.held = [];
			this.head = 0;
			o.log.info({ url: redact(o.url), sessionPresent: connack.sessionPresent }, 'ingest connected to broker');
			// Subscribe every time: cheap, and correct even when the broker lost the session (restart without persistence).
			client.subscribe(this.topics(), { qos: 1 }, (err) => {
				if (err) o.log.error({ err: err.message }, 'subscribe failed');
				else client.emit('shudi:subscribed' as 'connect', connack);
			});
		});
		client.on('close', () => {
			if (this.connected && this.client) o.log.warn('ingest lost the broker; reconnecting');
			this.connected = false;
			// The held callback belongs to the dead connection's stream; its messages are redelivered.
			this.paused = null;
			this.held = [];
			this.head = 0;
		});
		client.on('error', (err) => o.log.warn({ err: err.message }, 'mqtt client error'));
		await new Promise<void>((resolve, reject) => {
			const t = setTimeout(() => reject(new Error(`cannot reach MQTT broker at ${redact(o.url)} within 10 s`)), 10_000);
			// Ready only once the broker has confirmed the subscription: before that a new session misses messages.
			client.once('shudi:subscribed' as 'connect', () => {
				clearTimeout(t);
				resolve();
			});
		});
	}

	/**
	 * MQTT.js calls handleMessage(packet, cb) and sends the PUBACK in cb. We call cb at once (so the next packet is
	 * read) but intercept that PUBACK and hold it until the pipeline has committed the message.
	 */
	private patchAcks(client: MqttClient): void {
		const internal = client as unknown as {
			_sendPacket: (packet: { cmd: string; messageId?: number }, cb?: (err?: Error) => void, ...rest: unknown[]) => void;
		};
		const send = internal._sendPacket.bind(client);
		const pending = new Map<number, Held>();
		internal._sendPacket = (packet, cb, ...rest) => {
			if (packet.cmd === 'puback' && packet.messageId !== undefined && pending.has(packet.messageId)) {
				const h = pending.get(packet.messageId)!;
				pending.delete(packet.messageId);
				h.acked = true;
				cb?.();
				this.release();
				return;
			}
			send(packet, cb, ...rest);
		};
		client.handleMessage = (packet: IPublishPacket, cb) => {
			if (packet.qos === 0 || packet.messageId === undefined) {
				this.process(packet, () => undefined);
				cb();
				return;
			}
			const gen = this.generation;
			const h: Held = { messageId: packet.messageId, done: false, acked: false };
			pending.set(packet.messageId, h);
			this.held.push(h);
			this.inFlight++;
			// Called inside the writer's loop right after the commit: it only marks the message, and the PUBACKs go out
			// (and reading resumes) a turn later, all at once (release()).
			this.process(packet, (ok) => {
				this.inFlight--;
				// A changed connection: the broker redelivers, the PUBACK is not ours to send.
				if (ok && gen === this.generation) h.done = true;
				this.release();
			});
			// Flow control of our own: past the window, hold MQTT.js's callback, so it reads no further packet and TCP
			// pushes back on the broker, which keeps the backlog in its queue. The MQTT 5 receive maximum should make
			// this unnecessary, but Mosquitto 2.0.11 overruns it once PUBACKs flow at high rates (`npm run bench:ingest`
			// with `--receive-max 20000`: 47,000 unacknowledged messages), and MQTT 3.1.1 has no such limit.
			if (this.inFlight >= this.window) this.paused = cb;
			else cb();
		};
	}

	/** MQTT.js's callback held while the window is full (see handleMessage). */
	private paused: (() => void) | null = null;

	/** Messages handed to the pipeline and not yet committed, at most: the receive maximum we ask the broker for. */
	private get window(): number {
		return this.opts.receiveMaximum ?? 10_000;
	}

	private resumeReading(): void {
		// Resume once a tenth of the window is free again, not at every single commit: fewer stop-and-go cycles.
		if (this.paused && this.inFlight <= this.window * 0.9) {
			const cb = this.paused;
			this.paused = null;
			cb();
		}
	}

	private flushScheduled = false;

	/**
	 * Waits one turn of the event loop. The common message is marked done at its commit, but one that went through
	 * IngestPipeline.handle() (a dead letter, a device not in the cache) a few promise steps later, and every such
	 * step (a microtask) has run before the next macrotask. Then a flush sends every committed PUBACK.
	 */
	private settled(): Promise<void> {
		return new Promise((r) => setImmediate(r));
	}

	/**
	 * A message has committed (or MQTT.js has tried to acknowledge it): its PUBACK goes out with the others that are
	 * ready once the current batch's promises have all settled (setImmediate), as one write.
	 */
	private release(): void {
		if (this.flushScheduled) return;
		this.flushScheduled = true;
		setImmediate(() => {
			this.flushScheduled = false;
			this.flushAcks();
			this.resumeReading();
		});
	}

	/**
	 * Sends the PUBACKs at the head of the queue whose messages have committed, in arrival order, in one buffer.
	 * A batch commits thousands of messages at once; through MQTT.js each PUBACK would be its own packet object and
	 * three stream writes (mqtt-packet writes header, length and id separately), ~15,000 chunks per batch for the
	 * socket's writev (`npm run bench:ingest`). A PUBACK is 4 bytes: 0x40, remaining length 2, the packet id — in MQTT 3.1.1
	 * (§3.4) and in MQTT 5, where reason code and properties may be left out for success (§3.4.2.1).
	 */
	private flushAcks(): void {
		const from = this.head;
		while (this.head < this.held.length && this.held[this.head].done && this.held[this.head].acked) this.head++;
		const n = this.head - from;
		const stream = (this.client as unknown as { stream?: NodeJS.WritableStream & { writable?: boolean } } | null)?.stream;
		if (n && this.connected && stream?.writable) {
			const buf = Buffer.allocUnsafe(4 * n);
			for (let i = 0; i < n; i++) {
				const id = this.held[from + i].messageId;
				buf[4 * i] = 0x40;
				buf[4 * i + 1] = 2;
				buf[4 * i + 2] = id >> 8;
				buf[4 * i + 3] = id & 0xff;
			}
			stream.write(buf);
		}
		if (this.head > 4096 && this.head * 2 > this.held.length) {
			this.held = this.held.slice(this.head);
			this.head = 0;
		}
	}

	/**
	 * Hands a message to the pipeline; `done(true)` once it has committed. Keeps only the topic (for the log), not the
	 * packet, while its batch waits for the commit (pipeline.ts).
	 */
	private process(packet: IPublishPacket, done: (ok: boolean) => void): void {
		const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
		const topic = packet.topic;
		this.pipeline.handleThen(topic, payload, (err) => {
			if (!err) return done(true);
			// Only a writer that was closed lands here (the writer retries database errors itself). Not acking means
			// the broker redelivers after we reconnect: the message is not lost.
			this.opts.log.error({ err: err.message, topic }, 'message not stored; leaving it unacknowledged');
			done(false);
		});
	}

	private topics(): string[] {
		return INGEST_TOPICS.map((t) => (this.opts.shareGroup ? `$share/${this.opts.shareGroup}/${t}` : t));
	}

	/**
	 * Stop taking new messages. In a share group the subscription is removed, or the broker would keep sending this
	 * (stopped) session its share for as long as the session lives.
	 */
	async unsubscribe(): Promise<void> {
		const c = this.client;
		if (!c?.connected) return;
		if (this.opts.shareGroup) await c.unsubscribeAsync(this.topics()).catch(() => undefined);
		// Let PUBACKs of committed messages go out before the connection closes.
		await this.settled();
		this.flushAcks();
	}

	async stop(): Promise<void> {
		const c = this.client;
		if (!c) return;
		await this.settled();
		this.flushAcks();
		this.client = null;
		await new Promise<void>((r) => c.end(false, {}, () => r()));
	}
}

export function redact(url: string): string {
	try {
		const u = new URL(url);
		if (u.password) u.password = '***';
		return u.toString();
	} catch {
		return '(invalid url)';
	}
}
