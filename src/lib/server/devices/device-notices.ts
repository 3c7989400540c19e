// Device-health notices to the admin (issue 22): a known device sent a key no profile maps ('unknown_key', recorded by
// the ingest's batch writer, ingest/writer.ts NOTICES_SQL), or the rules found its data suspect ('suspect_jump',
// 'suspect_stuck', ingest/rule-runner.ts). One row per device, kind, key and local day (migrations/0016), with a count
// and a sample value, so a new firmware field or a mis-set codec is heard of once a day — never dropped in silence,
// never a flood. The admin devices page lists them, each linking to that device's dead letters.
import type { Queryable } from '../platform/db.js';

export interface DeviceNotice {
	device_id: string;
	device_name: string;
	/** 'unknown_key' (key = the key sent), or a kind of suspect data (key = the metric). */
	kind: string;
	key: string;
	/** The local day (TZ_DISPLAY) the notice counts in, YYYY-MM-DD. */
	day: string;
	first_at: string;
	last_at: string;
	count: number;
	/** The newest value sent under the key, as JSON text (cut at 200 characters); null when it could not be kept. */
	sample: string | null;
}

/** Notices of the last `days` local days (today included), newest first; at most `limit`. */
export async function listDeviceNotices(db: Queryable, opts: { days?: number; limit?: number; tz: string }): Promise<DeviceNotice[]> {
	const days = Math.max(1, Math.min(opts.days ?? 7, 90));
	const r = await db.query<{ device_id: string; device_name: string; kind: string; key: string; day: string; first_at: Date; last_at: Date; count: number; sample: string | null }>(
		`SELECT n.device_id, d.name AS device_name, n.kind, n.key, to_char(n.day, 'YYYY-MM-DD') AS day, n.first_at, n.last_at, n.count, n.sample
		 FROM device_notices n JOIN devices d ON d.id = n.device_id
		 WHERE n.day > (now() AT TIME ZONE $1::text)::date - $2::int
		 ORDER BY n.day DESC, n.last_at DESC, n.id
		 LIMIT $3`,
		[opts.tz, days, Math.max(1, Math.min(opts.limit ?? 200, 1000))]
	);
	return r.rows.map((x) => ({ ...x, first_at: new Date(x.first_at).toISOString(), last_at: new Date(x.last_at).toISOString() }));
}

/** Where the admin sees what the device sent: its unknown-key dead letters (or all of its dead letters). */
export function deadLettersLink(deviceId: string, kind = 'unknown_key'): string {
	const reason = kind === 'unknown_key' ? '&reason=unknown_metric' : '';
	return `/admin/dead-letters?device=${encodeURIComponent(deviceId)}${reason}`;
}
