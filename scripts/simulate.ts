// `npm run simulate -- --devices N --rate R --url mqtt://… [--seconds S] [--prefix SIM] [--username U --password P]
// [--inflight 1000] [--register]` — drives any broker with N simulated devices publishing native-dialect messages
// (3 values each, increasing seq, device time) at R messages/s in total, QoS 1, with a bounded number in flight.
// `--register` first inserts the devices into DATABASE_URL / the embedded database (tokens are random and unused:
// point it at an anonymous broker such as a local Mosquitto, or give --username/--password of a publishing account).
import mqtt from 'mqtt';
import { parseArgs } from 'node:util';
import { hashToken, newDeviceToken } from '../src/lib/server/devices/device-tokens.js';

const { values: a } = parseArgs({
	options: {
		devices: { type: 'string', default: '100' },
		rate: { type: 'string', default: '100' },
		url: { type: 'string', default: process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883' },
		seconds: { type: 'string', default: '0' },
		prefix: { type: 'string', default: 'SIM' },
		username: { type: 'string' },
		password: { type: 'string' },
		inflight: { type: 'string', default: '1000' },
		connections: { type: 'string', default: '4' },
		register: { type: 'boolean', default: false }
	}
});

const n = Number(a.devices);
const rate = Number(a.rate);
const seconds = Number(a.seconds);
const inflightMax = Number(a.inflight);
const conns = Math.max(1, Number(a.connections));
for (const [k, v] of Object.entries({ devices: n, rate, inflight: inflightMax })) {
	if (!Number.isFinite(v) || v <= 0) {
		console.error(`error: --${k} must be a positive number`);
		process.exit(2);
	}
}
const ids = Array.from({ length: n }, (_, i) => `${a.prefix}-${String(i + 1).padStart(6, '0')}`);

if (a.register) {
	const { openCliDb } = await import('./cli-db.js');
	const db = await openCliDb();
	const kinds = ['river_level', 'rain_gauge', 'crack'];
	await db.query(
		`INSERT INTO devices (id, name, kind, lng, lat, interval_s, token_hash)
		 SELECT id, id, kind, 107.45 + random() * 0.1, 26.47 + random() * 0.06, 60, th FROM unnest($1::text[], $2::text[], $3::text[]) AS x(id, kind, th)
		 ON CONFLICT (id) DO NOTHING`,
		[ids, ids.map((_, i) => kinds[i % 3]), ids.map(() => hashToken(newDeviceToken()))]
	);
	await db.close();
	console.log(`registered ${n} devices ${ids[0]} … ${ids[n - 1]}`);
}

const clients = await Promise.all(
	Array.from({ length: conns }, (_, i) => mqtt.connectAsync(a.url!, { clientId: `shudi-sim-${process.pid}-${i}`, username: a.username, password: a.password, reconnectPeriod: 1000 }))
);
const seq = new Array<number>(n).fill(0);
let sent = 0;
let acked = 0;
let failed = 0;
let inflight = 0;
const t0 = Date.now();
let stop = false;
process.on('SIGINT', () => (stop = true));

function body(i: number): string {
	seq[i]++;
	return JSON.stringify({ ts: new Date().toISOString(), seq: seq[i], values: { water_level_m: 2 + Math.random(), battery_v: 3.7 + Math.random() * 0.3, rssi_dbm: -70 - Math.round(Math.random() * 30) } });
}

const report = setInterval(() => {
	const s = (Date.now() - t0) / 1000;
	console.log(`${s.toFixed(0)}s sent ${sent} acked ${acked} failed ${failed} in flight ${inflight} (${(acked / s).toFixed(0)} msg/s)`);
}, 5000);

let next = 0;
while (!stop && (seconds <= 0 || Date.now() - t0 < seconds * 1000)) {
	const due = Math.floor(((Date.now() - t0) / 1000) * rate);
	while (sent < due && inflight < inflightMax) {
		const i = next++ % n;
		const c = clients[i % conns];
		inflight++;
		sent++;
		c.publishAsync(`shudi/v1/devices/${ids[i]}/up`, body(i), { qos: 1 })
			.then(() => acked++)
			.catch(() => failed++)
			.finally(() => inflight--);
	}
	await new Promise((r) => setTimeout(r, inflight >= inflightMax ? 1 : 5));
}
while (inflight > 0) await new Promise((r) => setTimeout(r, 10));
clearInterval(report);
const s = (Date.now() - t0) / 1000;
console.log(`done: sent ${sent}, acked ${acked}, failed ${failed} in ${s.toFixed(1)} s (${(acked / s).toFixed(0)} msg/s)`);
await Promise.all(clients.map((c) => c.endAsync()));
