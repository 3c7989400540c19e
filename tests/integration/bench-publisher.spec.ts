// The bench's hand-written load generator (RawPublisher in scripts/lib/publisher.ts) must put on the wire what the
// ingest figures claim: every message, to its topic, byte for byte, as QoS 1, never more unacknowledged than the
// window. Checked through an Aedes broker of its own (no auth) and an MQTT.js subscriber. No timings here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { RawPublisher } from '../../scripts/lib/publisher';

describe('bench load generator (RawPublisher)', () => {
	let broker: Aedes;
	let server: Server;
	let url: string;
	let sub: MqttClient;
	const got: { topic: string; payload: string; qos: number }[] = [];

	beforeAll(async () => {
		broker = await Aedes.createBroker();
		server = createServer(broker.handle);
		await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
		url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
		sub = await mqtt.connectAsync(url, { clientId: 'bench-publisher-spec', clean: true });
		await sub.subscribeAsync('bench/#', { qos: 1 });
		sub.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString('utf8'), qos: packet.qos }));
	});

	afterAll(async () => {
		await sub?.endAsync(true);
		await new Promise<void>((r) => broker.close(() => r()));
		await new Promise<void>((r) => server.close(() => r()));
	});

	async function until(ok: () => boolean, ms = 10_000): Promise<void> {
		const end = Date.now() + ms;
		while (!ok()) {
			if (Date.now() > end) throw new Error('timed out');
			await new Promise((r) => setTimeout(r, 20));
		}
	}

	it('delivers every message once, to its topic, byte for byte, at QoS 1, within the window', async () => {
		got.length = 0;
		const window = 7;
		const pub = await RawPublisher.connect(url, 3, window);
		const sent: { topic: string; payload: string }[] = [];
		let maxPending = 0;
		for (let i = 0; i < 600; i++) {
			// Lengths across the one- and two-byte "remaining length" boundary (127), and multi-byte UTF-8.
			const topic = `bench/设备-${i % 11}/up`;
			const payload = JSON.stringify({ seq: i, note: '水位'.repeat(i % 90), pad: 'x'.repeat(i % 7) });
			sent.push({ topic, payload });
			const w = pub.publish(i % 3, topic, payload);
			maxPending = Math.max(maxPending, pub.pending);
			if (w) await w;
		}
		await pub.drain();
		expect(pub.acked).toBe(600);
		expect(pub.pending).toBe(0);
		expect(maxPending).toBeLessThanOrEqual(3 * window);
		await until(() => got.length >= 600);
		await new Promise((r) => setTimeout(r, 100)); // nothing more arrives
		expect(got).toHaveLength(600);
		expect(got.every((g) => g.qos === 1)).toBe(true);
		const key = (m: { topic: string; payload: string }) => `${m.topic} ${m.payload}`;
		expect(got.map(key).sort()).toEqual(sent.map(key).sort());
		// Each connection keeps its own order.
		for (let c = 0; c < 3; c++) {
			const mine = sent.filter((_, i) => i % 3 === c).map((m) => JSON.parse(m.payload).seq);
			expect(got.map((g) => JSON.parse(g.payload).seq).filter((s: number) => s % 3 === c)).toEqual(mine);
		}
		await pub.close();
	});

	it('refuses a window that packet ids cannot number', async () => {
		await expect(RawPublisher.connect(url, 1, 65535)).rejects.toThrow(/window/);
	});

	it('fails to connect to a port where no broker listens', async () => {
		const srv = createServer();
		await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
		const port = (srv.address() as AddressInfo).port;
		await new Promise<void>((r) => srv.close(() => r()));
		await expect(RawPublisher.connect(`mqtt://127.0.0.1:${port}`, 1, 10)).rejects.toThrow();
	});
});
