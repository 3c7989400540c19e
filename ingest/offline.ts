// Offline detection by ingest's own timer (DOMAIN.md: never MQTT session state — a device on NB-IoT or behind a
// LoRaWAN network server has no session at all). The timer counts measurements only (issue 22): once a sensor's last
// measurement of its own kind is older than OFFLINE_AFTER_INTERVALS × its expected report interval, it is `offline`
// if nothing at all arrived in that window, and `no_data` (无测量数据) if metadata — radio, battery — still arrives:
// a gauge that talks but no longer measures must never stay green. The rules are deviceStatusOnTimer in
// src/lib/domain/device-health.ts; the batch writer moves the sensor back with its next message. Each change is a
// row in device_events and a callback for in-process listeners (live map).
import type { Db } from '../src/lib/server/platform/db.js';
import type { Logger } from '../src/lib/server/platform/log.js';

export interface DeviceStatusChange {
	id: string;
	status: 'offline' | 'online' | 'no_data';
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

	/** One pass; returns the devices that went offline or no_data. Safe to run from several ingest workers at once. */
	async check(now = new Date()): Promise<DeviceStatusChange[]> {
		if (this.running) return [];
		this.running = true;
		try {
			const changed = await this.db.tx(async (q) => {
				// The window's start per device; a sensor that never measured (last_measured_at NULL) is judged by what it
				// sent. Already-offline, never-heard (unknown) and maintenance sensors are left alone, and so is a no_data
				// sensor that is still heard from.
				const r = await q.query<{ id: string; status: 'offline' | 'no_data'; was: string; last_seen: Date | null; last_measured_at: Date | null }>(
					`WITH due AS (
					   SELECT id, status AS was FROM devices
					   WHERE revoked_at IS NULL AND status NOT IN ('offline', 'unknown', 'maintenance') AND last_seen IS NOT NULL
					     AND (last_seen < $1::timestamptz - make_interval(secs => interval_s * $2::float8)
					          OR (status <> 'no_data' AND (last_measured_at IS NULL
					              OR last_measured_at < $1::timestamptz - make_interval(secs => interval_s * $2::float8))))
					     -- A device switched off for maintenance is neither offline nor without data.
					     AND NOT EXISTS (SELECT 1 FROM device_maintenance m WHERE m.device_id = devices.id AND m.cancelled_at IS NULL
					                     AND m.starts_at <= $1::timestamptz AND m.ends_at > $1::timestamptz)
					   FOR UPDATE
					 )
					 UPDATE devices d SET status = CASE WHEN d.last_seen < $1::timestamptz - make_interval(secs => d.interval_s * $2::float8)
					                                    THEN 'offline' ELSE 'no_data' END
					 FROM due WHERE d.id = due.id
					 RETURNING d.id, d.status, due.was, d.last_seen, d.last_measured_at`,
					[now.toISOString(), this.opts.afterIntervals ?? 3]
				);
				if (r.rows.length) {
					await q.query(
						`INSERT INTO device_events (device_id, at, kind, detail)
						 SELECT id, $2::timestamptz, k, jsonb_build_object('from', was, 'last_seen', ls, 'last_measured_at', lm)
						 FROM unnest($1::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[]) AS x(id, k, was, ls, lm)`,
						[
							r.rows.map((x) => x.id),
							now.toISOString(),
							r.rows.map((x) => x.status),
							r.rows.map((x) => x.was),
							r.rows.map((x) => iso(x.last_seen)),
							r.rows.map((x) => iso(x.last_measured_at))
						]
					);
				}
				return r.rows.map((x) => ({ id: x.id, status: x.status, at: now.toISOString(), last_seen: iso(x.last_seen) }));
			});
			if (changed.length) {
				const ids = (st: string) => changed.filter((c) => c.status === st).map((c) => c.id);
				this.opts.log?.info({ offline: ids('offline'), noData: ids('no_data') }, 'devices without measurement');
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

function iso(t: Date | null): string | null {
	return t ? new Date(t).toISOString() : null;
}
