// One sensor's history for charts: raw readings for short ranges, the hourly and daily rollups for long ones
// (issue 6: "Long ranges come from downsampled data … never a scan of raw rows"), with the threshold lines and alarms
// to draw over it. Every query is bounded by a primary key prefix (device_id, metric, time) and a LIMIT.
import { z } from 'zod';
import type { Queryable } from '../platform/db.js';
import { METRICS, KIND_METRICS, isKnownMetric } from '../../domain/metrics.js';
import { alarmRulesShown, thresholdLines, type ThresholdLine } from '../../domain/threshold-lines.js';
import { READING_FLAGS, type Level, type SensorKind } from '../../domain/types.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/** Each range, its length and where its points come from. */
export const HISTORY_RANGES = {
	'1h': { ms: HOUR, resolution: 'raw' },
	'24h': { ms: DAY, resolution: 'raw' },
	'7d': { ms: 7 * DAY, resolution: 'hour' },
	'30d': { ms: 30 * DAY, resolution: 'hour' },
	'1y': { ms: 365 * DAY, resolution: 'day' }
} as const satisfies Record<string, { ms: number; resolution: 'raw' | 'hour' | 'day' }>;
export type HistoryRange = keyof typeof HISTORY_RANGES;
export type Resolution = (typeof HISTORY_RANGES)[HistoryRange]['resolution'];

/** Raw ranges return at most this many readings (the newest); a 24 h window of a fast sensor can hold more. */
export const RAW_POINT_CAP = 5000;

export const historyQuery = z.object({
	range: z.enum(Object.keys(HISTORY_RANGES) as [HistoryRange, ...HistoryRange[]]).default('24h'),
	metric: z
		.string()
		.max(64)
		.refine(isKnownMetric, { message: 'unknown metric' })
		.optional(),
	/** End of the window (ISO-8601 or ms since epoch); default now. Lets a case page show the time around the case. */
	end: z
		.union([z.string().datetime({ offset: true }), z.string().regex(/^\d{10,15}$/)])
		.transform((s) => (/^\d+$/.test(s) ? Number(s) : Date.parse(s)))
		// PostgreSQL has no year 0, and JavaScript writes years past 9999 with a sign it cannot read.
		.refine((t) => t >= Date.UTC(1900, 0, 1) && t < Date.UTC(10000, 0, 1), '须为 1900–9999 年间的时间 must be a time between the years 1900 and 9999')
		.optional()
});
export type HistoryQuery = z.infer<typeof historyQuery>;

export interface HistoryAlarm {
	t: number;
	level: Level;
	rule: string;
	detail: string | null;
	cleared_at: number | null;
	/** Raised from late data (迟到数据): `t` is the observation time, `arrived_at` when the readings reached the server. */
	late: boolean;
	arrived_at: number | null;
}

export interface History {
	id: string;
	kind: SensorKind;
	metric: string;
	unit: string;
	range: HistoryRange;
	resolution: Resolution;
	from: number;
	to: number;
	/** Raw: [t_ms, value]. Rollups: [t_ms (bucket start), avg, min, max]. Oldest first. */
	points: ([number, number] | [number, number, number, number])[];
	/** True when a raw range held more than RAW_POINT_CAP readings and only the newest were returned. */
	truncated: boolean;
	/**
	 * Raw ranges: the readings flagged suspect (可疑数据, src/lib/domain/suspect.ts) as [t_ms, READING_FLAGS bits]:
	 * a jump held out of the rules (4) or a value stuck for many reports (8). Empty for rollups.
	 */
	suspect: [number, number][];
	thresholds: ThresholdLine[];
	alarms: HistoryAlarm[];
}

export type HistoryOutcome = { ok: true; history: History } | { ok: false; status: 400 | 404; message: string };

/**
 * The history of device `id`, or why not. `scope` is the set of villages the caller may see (null = all): a device
 * outside it answers 404, exactly like a device that does not exist, so ids cannot be probed.
 */
export async function sensorHistory(q: Queryable, id: string, scope: Set<number> | null, query: HistoryQuery, now = Date.now()): Promise<HistoryOutcome> {
	const dev = await q.query<{ id: string; kind: SensorKind; village_id: number | null; thresholds: Record<string, unknown> | null; baseline: Record<string, unknown> | null }>(
		'SELECT id, kind, village_id, thresholds, baseline FROM devices WHERE id = $1',
		[id]
	);
	const d = dev.rows[0];
	if (!d || (scope && (d.village_id === null || !scope.has(d.village_id)))) return { ok: false, status: 404, message: 'no such sensor' };
	const metric = query.metric ?? KIND_METRICS[d.kind]?.[0];
	if (!metric) return { ok: false, status: 400, message: 'metric: this sensor kind has no default metric; name one' };
	const spec = HISTORY_RANGES[query.range];
	const to = Math.min(query.end ?? now, now);
	const from = to - spec.ms;
	const fromIso = new Date(from).toISOString();
	const toIso = new Date(to).toISOString();

	let points: History['points'];
	let truncated = false;
	let suspect: History['suspect'] = [];
	if (spec.resolution === 'raw') {
		// Newest first with a LIMIT: the primary key (device_id, metric, observed_at) walks backwards from `to`.
		const r = await q.query<{ t: Date; value: number; flags: number }>(
			`SELECT observed_at AS t, value, flags FROM readings
			 WHERE device_id = $1 AND metric = $2 AND observed_at > $3 AND observed_at <= $4
			 ORDER BY observed_at DESC LIMIT $5`,
			[id, metric, fromIso, toIso, RAW_POINT_CAP + 1]
		);
		truncated = r.rows.length > RAW_POINT_CAP;
		const kept = r.rows.slice(0, RAW_POINT_CAP).reverse();
		points = kept.map((x) => [new Date(x.t).getTime(), x.value]);
		suspect = kept.filter((x) => (x.flags & (READING_FLAGS.SUSPECT_JUMP | READING_FLAGS.SUSPECT_STUCK)) !== 0).map((x) => [new Date(x.t).getTime(), x.flags & (READING_FLAGS.SUSPECT_JUMP | READING_FLAGS.SUSPECT_STUCK)]);
	} else {
		const table = spec.resolution === 'hour' ? 'readings_hourly' : 'readings_daily';
		// A bucket is included when any part of it falls in the window: its start is after from − bucket length.
		const bucketMs = spec.resolution === 'hour' ? HOUR : DAY;
		const r = await q.query<{ t: Date; avg: number; min: number; max: number }>(
			`SELECT bucket AS t, sum / n AS avg, min, max FROM ${table}
			 WHERE device_id = $1 AND metric = $2 AND bucket > $3 AND bucket <= $4
			 ORDER BY bucket LIMIT 10000`,
			[id, metric, new Date(from - bucketMs).toISOString(), toIso]
		);
		points = r.rows.map((x) => [new Date(x.t).getTime(), x.avg, x.min, x.max]);
	}

	const shown = alarmRulesShown(metric, KIND_METRICS[d.kind] ?? []);
	let alarms: HistoryAlarm[] = [];
	if (shown !== 'none') {
		const a = await q.query<{ rule: string; level: Level; detail: string | null; raised_at: Date; cleared_at: Date | null; late: boolean; arrived_at: Date | null }>(
			`SELECT rule, level, detail, raised_at, cleared_at, late, arrived_at FROM alarms
			 WHERE device_id = $1 AND raised_at <= $3 AND (cleared_at IS NULL OR cleared_at >= $2) AND (rule = 'battery_low') = $4
			 ORDER BY raised_at LIMIT 500`,
			[id, fromIso, toIso, shown === 'battery']
		);
		alarms = a.rows.map((x) => ({ t: new Date(x.raised_at).getTime(), level: x.level, rule: x.rule, detail: x.detail, cleared_at: x.cleared_at ? new Date(x.cleared_at).getTime() : null, late: x.late, arrived_at: x.arrived_at ? new Date(x.arrived_at).getTime() : null }));
	}

	return {
		ok: true,
		history: {
			id: d.id,
			kind: d.kind,
			metric,
			unit: METRICS[metric]?.unit ?? '',
			range: query.range,
			resolution: spec.resolution,
			from,
			to,
			points,
			truncated,
			suspect,
			thresholds: thresholdLines(d.kind, metric, d.thresholds, d.baseline),
			alarms
		}
	};
}
