// The load generators of the ingest benchmark and of the tests that drive the ingest as a child process: several MQTT
// connections, each with a bounded window of unacknowledged QoS 1 publishes, and the native message they send.
// Publisher uses MQTT.js (a load a test of faults can rely on: it reconnects); RawPublisher writes MQTT 3.1.1 by hand
// and costs the machine under test less (`npm run bench:ingest`, its default; `--publisher mqttjs` for Publisher).
// MQTT.js does not limit in-flight publishes itself; awaiting each one serialises on the round trip, and firing
// them all without waiting balloons its outgoing store. A window of ~1000 per connection keeps the pipe full.
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';

export class Publisher {
	acked = 0;
	failed = 0;
	private inflight: number[];
	private waiters: (() => void)[][];
	private drainers: (() => void)[] = [];

	private constructor(
		readonly clients: MqttClient[],
		private readonly window: number
	) {
		this.inflight = clients.map(() => 0);
		this.waiters = clients.map(() => []);
	}

	/** MQTT 3.1.1 publishers: Mosquitto takes their QoS 1 publishes without a receive-maximum handshake. */
	static async connect(url: string, connections: number, window = 1000): Promise<Publisher> {
		const clients = await Promise.all(
			Array.from({ length: connections }, (_, i) =>
				mqtt.connectAsync(url, { clientId: `bench-pub-${randomBytes(4).toString('hex')}-${i}`, protocolVersion: 4, clean: true, reconnectPeriod: 1000 })
			)
		);
		return new Publisher(clients, window);
	}

	get connections(): number {
		return this.clients.length;
	}

	get pending(): number {
		return this.inflight.reduce((a, b) => a + b, 0);
	}

	/** Sends one QoS 1 message on connection `conn`; resolves when it is on its way (waits for a window slot). */
	async publish(conn: number, topic: string, payload: string | Buffer): Promise<void> {
		while (this.inflight[conn] >= this.window) await new Promise<void>((r) => this.waiters[conn].push(r));
		this.inflight[conn]++;
		this.clients[conn].publish(topic, payload, { qos: 1 }, (err) => {
			this.inflight[conn]--;
			if (err) this.failed++;
			else this.acked++;
			this.waiters[conn].shift()?.();
			if (this.pending === 0) for (const d of this.drainers.splice(0)) d();
		});
	}

	/** Resolves when the broker has acknowledged everything sent so far. */
	drain(): Promise<void> {
		if (this.pending === 0) return Promise.resolve();
		return new Promise((r) => this.drainers.push(r));
	}

	async close(): Promise<void> {
		await Promise.all(this.clients.map((c) => c.endAsync(true).catch(() => undefined)));
	}
}

/**
 * The same load as Publisher — QoS 1, at most `window` unacknowledged per connection — from a load generator that
 * costs the machine less: MQTT 3.1.1 written by hand on plain TCP sockets. Each PUBLISH is encoded straight into one
 * buffer (fixed header, topic, packet id, payload) and a turn's publishes leave in one write; the broker's PUBACKs
 * free the window. No keep-alive (0: MQTT 3.1.1 §3.1.2.10), no reconnect — a dropped connection fails the run, which
 * suits a benchmark and not a test of faults (ingest-faults.spec.ts uses Publisher). bench:ingest's default: in
 * production the devices are other machines, and MQTT.js's publish path costs the two cores under test about as much
 * as the broker itself (`npm run bench:ingest -- --publisher mqttjs` measures that load generator instead).
 */
export class RawPublisher {
	acked = 0;
	failed = 0;
	private drainers: (() => void)[] = [];
	private closed = false;

	private constructor(
		private readonly conns: RawConnection[],
		private readonly window: number
	) {
		for (const c of conns) c.onAck = () => this.acked++;
		for (const c of conns) c.onIdle = () => this.pending === 0 && this.drainers.splice(0).forEach((d) => d());
		for (const c of conns) c.onError = (err) => {
			if (!this.closed) console.error(`bench publisher connection failed: ${err.message}`);
		};
	}

	static async connect(url: string, connections: number, window = 1000): Promise<RawPublisher> {
		if (window >= 65535) throw new Error('window must be below 65535 (MQTT packet ids)');
		const u = new URL(url);
		const conns = await Promise.all(Array.from({ length: connections }, (_, i) => RawConnection.open(u.hostname, Number(u.port || 1883), `bench-pub-${randomBytes(4).toString('hex')}-${i}`)));
		return new RawPublisher(conns, window);
	}

	get connections(): number {
		return this.conns.length;
	}

	get pending(): number {
		let n = 0;
		for (const c of this.conns) n += c.inflight;
		return n;
	}

	/**
	 * Sends one QoS 1 message on connection `conn`. Returns nothing when it went out at once, or a promise that
	 * resolves once it went out (the window was full): `const w = pub.publish(…); if (w) await w;`.
	 */
	publish(conn: number, topic: string, payload: string): Promise<void> | undefined {
		const c = this.conns[conn];
		if (c.inflight < this.window) {
			c.send(topic, payload);
			return undefined;
		}
		return new Promise<void>((r) => c.waiters.push(r)).then(() => this.publish(conn, topic, payload));
	}

	drain(): Promise<void> {
		if (this.pending === 0) return Promise.resolve();
		return new Promise((r) => this.drainers.push(r));
	}

	async close(): Promise<void> {
		this.closed = true;
		await Promise.all(this.conns.map((c) => c.close()));
	}
}

/** One hand-written MQTT 3.1.1 connection of RawPublisher. */
class RawConnection {
	inflight = 0;
	waiters: (() => void)[] = [];
	onAck: () => void = () => undefined;
	onIdle: () => void = () => undefined;
	onError: (err: Error) => void = () => undefined;
	private nextId = 0;
	private out: Buffer[] = [];
	private rest: Buffer = Buffer.alloc(0);

	private constructor(private readonly sock: Socket) {}

	static open(host: string, port: number, clientId: string): Promise<RawConnection> {
		return new Promise((ok, fail) => {
			const sock = connect({ host, port, noDelay: true });
			const c = new RawConnection(sock);
			let connected = false;
			sock.once('error', fail);
			sock.on('data', (chunk: Buffer) => {
				if (!connected) {
					// CONNACK: 0x20, 2, flags, return code (0 = accepted).
					const all = Buffer.concat([c.rest, chunk]);
					if (all.length < 4) return void (c.rest = all);
					if (all[0] !== 0x20 || all[3] !== 0) return fail(new Error(`broker refused the connection (CONNACK ${all.subarray(0, 4).toString('hex')})`));
					connected = true;
					sock.off('error', fail);
					sock.on('error', (err) => c.onError(err));
					c.rest = Buffer.alloc(0);
					ok(c);
					if (all.length > 4) c.read(all.subarray(4));
					return;
				}
				c.read(chunk);
			});
			// CONNECT: protocol "MQTT" level 4, clean session, keep-alive 0, the client id.
			const id = Buffer.from(clientId);
			const body = Buffer.concat([Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 0, id.length >> 8, id.length & 0xff]), id]);
			sock.write(Buffer.concat([Buffer.from([0x10, ...remainingLength(body.length)]), body]));
		});
	}

	/** PUBACKs (0x40, 2, id): each frees a window slot. Anything else from the broker is ignored. */
	private read(chunk: Buffer): void {
		const buf = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
		let i = 0;
		while (i + 2 <= buf.length) {
			let len = 0;
			let mul = 1;
			let j = i + 1;
			for (; j < buf.length; j++) {
				len += (buf[j] & 0x7f) * mul;
				mul *= 128;
				if (!(buf[j] & 0x80)) break;
			}
			if (j >= buf.length || j + 1 + len > buf.length) break;
			if (buf[i] >> 4 === 4) {
				this.inflight--;
				this.onAck();
				this.waiters.shift()?.();
			}
			i = j + 1 + len;
		}
		this.rest = i < buf.length ? Buffer.from(buf.subarray(i)) : Buffer.alloc(0);
		if (this.inflight === 0) this.onIdle();
	}

	send(topic: string, payload: string): void {
		const tl = Buffer.byteLength(topic);
		const pl = Buffer.byteLength(payload);
		const len = 2 + tl + 2 + pl;
		const rl = remainingLength(len);
		const b = Buffer.allocUnsafe(1 + rl.length + len);
		let o = 0;
		b[o++] = 0x32; // PUBLISH, QoS 1
		for (const x of rl) b[o++] = x;
		b.writeUInt16BE(tl, o);
		o += 2;
		o += b.write(topic, o);
		this.nextId = (this.nextId % 65535) + 1;
		b.writeUInt16BE(this.nextId, o);
		o += 2;
		b.write(payload, o);
		this.inflight++;
		this.out.push(b);
		if (this.out.length === 1) setImmediate(() => this.flush());
	}

	private flush(): void {
		const bufs = this.out;
		this.out = [];
		if (bufs.length) this.sock.write(bufs.length === 1 ? bufs[0] : Buffer.concat(bufs));
	}

	close(): Promise<void> {
		this.flush();
		return new Promise((r) => {
			this.sock.end(Buffer.from([0xe0, 0]), () => r()); // DISCONNECT
			this.sock.once('close', () => r());
		});
	}
}

/** MQTT's variable-length "remaining length" (§2.2.3). */
function remainingLength(n: number): number[] {
	const out: number[] = [];
	do {
		let d = n % 128;
		n = Math.floor(n / 128);
		if (n > 0) d |= 0x80;
		out.push(d);
	} while (n > 0);
	return out;
}

export const nativeTopic = (deviceId: string) => `shudi/v1/devices/${deviceId}/up`;

/**
 * A good native message: three values, device time `tsMs`, sequence `seq`. The water level wanders by a few
 * millimetres, below every default threshold: the rules judge every device, as in a normal hour, without an alarm
 * storm. A value that swung across a threshold would make every device raise and clear a rise alarm every few
 * seconds: a benchmark of case handling, not of ingest.
 */
export function nativePayload(tsMs: number, seq: number): string {
	return `{"ts":${tsMs},"seq":${seq},"values":{"water_level_m":${(2 + (seq % 10) / 1000).toFixed(3)},"battery_v":3.9,"rssi_dbm":-80}}`;
}


/** The profiled load's topic: ThingsBoard-style telemetry with the device in the topic (as the embedded broker rewrites it). */
export const profiledTopic = (deviceId: string) => `shudi/v1/tb/${deviceId}/telemetry`;

/** The device profile the profiled load's devices carry (src/lib/domain/device-profiles/builtin.ts). */
export const PROFILED_PROFILE = 'dtu-json';

/**
 * The same three values as nativePayload, as an RS485-to-4G DTU reports them (HoldingByte DTU "Data Format": imei,
 * time, iccid, nested data) for a device with the `dtu-json` profile. `time` is epoch milliseconds, which the profile
 * tells from seconds by magnitude: at full speed a device sends several messages a second, and whole seconds would
 * make them one observation (the idempotency key is device, metric, time). No seq: a DTU sends none, so the bench
 * counts this load's messages by (device, time).
 */
export function profiledPayload(tsMs: number, seq: number): string {
	return `{"imei":"860061060000000","time":${tsMs},"iccid":"89860620220031600000","data":{"water_level_m":${(2 + (seq % 10) / 1000).toFixed(3)},"battery_v":3.9,"rssi_dbm":-80}}`;
}
