// Offline detection by ingest's own timer (DOMAIN.md: never MQTT session state — a device on NB-IoT or behind a
// LoRaWAN network server has no session at all). A device is offline after OFFLINE_AFTER_INTERVALS × its expected
// report interval without a message; the batch writer marks it online again with its next reading. Each change is a
// row in device_events and a callback for in-process listeners (live map).
import type { Db } from '../src/lib/server/platform/db.js';
import type { Logger } from '../src/lib/server/platform/log.js';

export interface DeviceStatusChange {
	id: string;
	status: 'offline' | 'online';
	at: string;
	last_seen: string | null;
}

export class OfflineWatcher {
	private timer: NodeJS.Timeout | null = null;
	private running = false;

	constructor(
		private readonly db: Db,
		private readonly opts: { afterIntervals?: number; everyMs?: number; log?: Logger; onChange?: (c: DeviceStatusChange[]) => void }
	) {}

	start(): void {
		this.timer = setInterval(() => void this.check(), this.opts.everyMs ?? 5000);
		this.timer.unref();
	}

	stop(): void {
		if (this.timer) clearInterval(this.timer);
		this.timer = null;
	}

	/** One pass; returns the devices that went offline. Safe to run from several ingest workers at once. */
	async check(now = new Date()): Promise<DeviceStatusChange[]> {
		if (this.running) return [];
		this.running = true;
		try {
			const changed = await this.db.tx(async (q) => {
				const r = await q.query<{ id: string; last_seen: Date | null }>(
					`UPDATE devices SET status = 'offline'
					 WHERE revoked_at IS NULL AND status NOT IN ('offline', 'unknown', 'maintenance')
					   AND last_seen < $1::timestamptz - make_interval(secs => interval_s * $2::float8)
					   -- A device switched off for maintenance is not "offline".
					   AND NOT EXISTS (SELECT 1 FROM device_maintenance m WHERE m.device_id = devices.id AND m.cancelled_at IS NULL
					                   AND m.starts_at <= $1::timestamptz AND m.ends_at > $1::timestamptz)
					 RETURNING id, last_seen`,
					[now.toISOString(), this.opts.afterIntervals ?? 3]
				);
				if (r.rows.length) {
					await q.query(
						`INSERT INTO device_events (device_id, at, kind, detail)
						 SELECT id, $2::timestamptz, 'offline', jsonb_build_object('last_seen', ls) FROM unnest($1::text[], $3::timestamptz[]) AS x(id, ls)`,
						[r.rows.map((x) => x.id), now.toISOString(), r.rows.map((x) => (x.last_seen ? new Date(x.last_seen).toISOString() : null))]
					);
				}
				return r.rows.map((x) => ({ id: x.id, status: 'offline' as const, at: now.toISOString(), last_seen: x.last_seen ? new Date(x.last_seen).toISOString() : null }));
			});
			if (changed.length) {
				this.opts.log?.info({ devices: changed.map((c) => c.id) }, 'devices offline');
				this.opts.onChange?.(changed);
			}
			return changed;
		} catch (err) {
			this.opts.log?.warn({ err: (err as Error).message }, 'offline check failed');
			return [];
		} finally {
			this.running = false;
		}
	}
}
