// Demo simulator: the demo devices publish realistic readings over real MQTT (native dialect, QoS 1) at their report
// intervals (the demo seed stores them already shortened by SIMULATE_SPEEDUP, so offline detection sees the truth), with scripted episodes on a 10-minute cycle so the map has life:
//   0:00–1:00 calm · 1:00–4:00 a rainstorm over the valley · 2:00–6:00 the river rises past its 警戒水位 at the
//   downstream stations, then falls · a house tilt creeps all cycle long · one displacement station goes silent
//   from 3:00 to 7:00 (offline detection).
// Publishes are awaited with a bound on messages in flight: un-awaited MQTT.js publishes collapse throughput.
import mqtt, { type MqttClient } from 'mqtt';
import type { Db } from '../src/lib/server/platform/db.js';
import type { Logger } from '../src/lib/server/platform/log.js';

interface SimDevice {
	id: string;
	kind: string;
	interval_s: number;
	thresholds: Record<string, unknown>;
	baseline: Record<string, number> | null;
	order: number;
	seq: number;
	next: number;
	battery: number;
	state: number;
}

const CYCLE_S = 600;

export class Simulator {
	private client: MqttClient | null = null;
	private devices: SimDevice[] = [];
	private timer: NodeJS.Timeout | null = null;
	private started = 0;
	private inFlight = 0;
	published = 0;
	failed = 0;

	constructor(
		private readonly db: Db,
		private readonly opts: { url: string; username?: string; password?: string; log: Logger; cycleOffsetS?: number }
	) {}

	async start(): Promise<void> {
		const r = await this.db.query<{ id: string; kind: string; interval_s: number; thresholds: Record<string, unknown>; baseline: Record<string, number> | null }>(
			'SELECT id, kind, interval_s, thresholds, baseline FROM devices WHERE is_demo AND revoked_at IS NULL ORDER BY id'
		);
		const now = Date.now();
		const byKind = new Map<string, number>();
		this.devices = r.rows.map((d) => {
			const order = byKind.get(d.kind) ?? 0;
			byKind.set(d.kind, order + 1);
			// Spread first reports over the first interval so devices do not all speak at once.
			return { ...d, order, seq: 0, next: now + Math.random() * 2000, battery: 3.9 + Math.random() * 0.2, state: 0 };
		});
		this.started = now - (this.opts.cycleOffsetS ?? 0) * 1000;
		this.client = mqtt.connect(this.opts.url, {
			clientId: `shudi-simulator-${process.pid}`,
			username: this.opts.username,
			password: this.opts.password,
			reconnectPeriod: 1000
		});
		this.client.on('error', (err) => this.opts.log.debug({ err: err.message }, 'simulator mqtt error'));
		this.timer = setInterval(() => this.tick(), 250);
		this.timer.unref();
		this.opts.log.info({ devices: this.devices.length }, 'simulator started');
	}

	/** Seconds into the episode cycle, in simulated time. */
	cycleSecond(now = Date.now()): number {
		return ((now - this.started) / 1000) % CYCLE_S;
	}

	private tick(): void {
		const now = Date.now();
		if (!this.client?.connected) return;
		for (const d of this.devices) {
			if (now < d.next) continue;
			d.next = now + d.interval_s * 1000;
			if (this.inFlight > 200) continue; // bounded in flight: skip a report rather than pile up
			const t = this.cycleSecond(now);
			if (d.kind === 'displacement' && d.order === 0 && t >= 180 && t < 420) continue; // the silent device
			const values = this.values(d, t);
			d.battery = Math.max(3.3, d.battery - 0.0005);
			values.battery_v = round(d.battery, 3);
			values.rssi_dbm = Math.round(-75 - Math.random() * 30);
			const body = JSON.stringify({ ts: new Date(now).toISOString(), seq: ++d.seq, values });
			this.inFlight++;
			this.client
				.publishAsync(`shudi/v1/devices/${d.id}/up`, body, { qos: 1 })
				.then(() => this.published++)
				.catch(() => this.failed++)
				.finally(() => this.inFlight--);
		}
	}

	/** Values for one report, shaped by the episode at cycle second t. */
	values(d: SimDevice, t: number): Record<string, number> {
		const th = d.thresholds as Record<string, number>;
		const noise = (s: number) => (Math.random() - 0.5) * 2 * s;
		const storm = t >= 60 && t < 240 ? Math.sin(((t - 60) / 180) * Math.PI) : 0;
		switch (d.kind) {
			case 'river_level': {
				const normal = Number(th.normal_level_m ?? 2.2);
				const warning = Number(th.warning_level_m ?? normal + 1.4);
				// Flood wave 2:00–6:00; downstream stations (higher order) peak higher: the last ones pass 警戒水位.
				const wave = t >= 120 && t < 360 ? Math.sin(((t - 120) / 240) * Math.PI) : 0;
				const peak = (warning - normal) * (0.55 + 0.12 * d.order);
				return { water_level_m: round(normal + wave * peak + noise(0.02), 3) };
			}
			case 'rain_gauge': {
				// Rolling rain sums use real hours, while the demo's storms come every 10 minutes: storms rain on only
				// every third cycle and only the last gauges get enough for a blue/yellow 1-hour sum, so the map is not
				// painted yellow by compressed time.
				const wet = Math.floor((Date.now() - this.started) / 1000 / CYCLE_S) % 3 === 0;
				const mm = wet && storm > 0 ? storm * (0.6 + 0.5 * d.order) : Math.random() < 0.03 ? 0.2 : 0;
				return { rain_mm: round(mm, 1) };
			}
			case 'house_tilt': {
				const bx = d.baseline?.tilt_x_deg ?? 0;
				const by = d.baseline?.tilt_y_deg ?? 0;
				// House 0 creeps: up to about 1 % extra tilt over the cycle (tan θ × 100), enough to reach yellow.
				const creep = d.order === 0 ? (t / CYCLE_S) * 0.6 : 0;
				return { tilt_x_deg: round(bx + creep + noise(0.01), 4), tilt_y_deg: round(by + noise(0.01), 4) };
			}
			case 'crack': {
				const b = d.baseline?.crack_mm ?? 0.5;
				const creep = d.order === 0 ? (t / CYCLE_S) * 1.5 : 0;
				return { crack_mm: round(b + creep + noise(0.02), 3) };
			}
			case 'displacement':
				d.state += 0.01 + (storm > 0 ? storm * 0.2 : 0);
				return { displacement_mm: round(d.state + noise(0.05), 2) };
			case 'settlement':
				d.state += 0.002;
				return { settlement_mm: round(d.state + noise(0.02), 2) };
			case 'soil_moisture': {
				d.state = Math.min(48, Math.max(22, (d.state || 26) + storm * 1.5 - 0.05));
				return { soil_moisture_pct: round(d.state + noise(0.3), 1) };
			}
			default:
				return {};
		}
	}

	async stop(): Promise<void> {
		if (this.timer) clearInterval(this.timer);
		this.timer = null;
		const c = this.client;
		this.client = null;
		if (c) await c.endAsync().catch(() => undefined);
	}
}

function round(v: number, digits: number): number {
	const f = 10 ** digits;
	return Math.round(v * f) / f;
}
