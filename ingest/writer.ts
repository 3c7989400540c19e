// Batch writer: readings and dead letters are collected and written together by size or age (INGEST_BATCH_ROWS /
// INGEST_BATCH_MS), in one transaction of a few statements. Each add() returns a promise that settles when its rows
// have COMMITTED: the MQTT layer holds the PUBACK until then, so nothing acknowledged can be lost.
// If the database is down the batch is kept and retried with back-off; new rows wait for room (bounded buffer),
// which stops acknowledgements and lets the broker hold the rest.
// Two paths, the same rows and rollups (readings_hourly / readings_daily, exact for history charts) either way:
// - fast, for a batch with no reading stored before: readings by binary COPY on PostgreSQL (copy-binary.ts) or a
//   plain INSERT … SELECT FROM unnest(…) on PGlite, then rollups and latest values from the writer's own hourly groups;
// - careful, after a duplicate (23505) failed the fast path: INSERT … ON CONFLICT DO NOTHING RETURNING, the rollups fed
//   only from the rows actually stored.
// Times go to the database as epoch milliseconds (float8, exact for any millisecond for centuries either side of now)
// and become timestamptz by to_timestamp(ms / 1000.0): no ISO strings to format here and parse there, a fifth of a
// batch's cost at 15,000 rows (`npm run bench:rollup`).
import type { Db, Queryable } from '../src/lib/server/platform/db.js';
import type { Logger } from '../src/lib/server/platform/log.js';
import type { Reading } from '../src/lib/domain/types.js';
import { isMeasurement } from '../src/lib/domain/device-health.js';
import { READINGS_COPY_SQL, readingsCopyData } from './copy-binary.js';

export interface DeadLetter {
	topic: string;
	payload: Buffer;
	reason: string;
	detail?: string;
	deviceId?: string | null;
	receivedAt: Date;
}

export interface BatchResult {
	inserted: number;
	duplicates: number;
	deadLettered: number;
	/** Every reading of this batch, stored now or before (a redelivery): the rule runner's history cache. */
	readings: Reading[];
	/** Latest value per device and metric in this batch (for live map updates). */
	latest: Reading[];
	/** Devices heard from in this batch, with the newest received_at. */
	seen: Map<string, Date>;
	/** Devices that were offline and reported again in this batch (measuring or not). */
	online: string[];
	/**
	 * Devices whose status this batch set to normal: unknown, offline or without measurement data before, and now with
	 * a fresh measurement of their own kind (deviceStatusOnMessage, src/lib/domain/device-health.ts).
	 */
	revived: string[];
	/** Devices whose status this batch set to no_data: heard from (metadata, a stale measurement) but not measuring. */
	noData: string[];
}

/** Told once a message's rows have committed (no argument), or with the error when they never will be. */
export type Committed = (err?: Error) => void;

interface Entry {
	readings: Reading[];
	dead: DeadLetter[];
	done: Committed;
	/** When it was queued (performance.now()): a batch is due once its oldest message is maxAgeMs old. */
	at: number;
}

export interface WriterStats {
	batches: number;
	inserted: number;
	duplicates: number;
	deadLettered: number;
	lastBatchRows: number;
	lastBatchMs: number;
	failures: number;
}

const LAST_SEEN_EVERY_MS = 5000;

/** The device-health notice of one unknown key: the key and a sample value, from an 'unknown_metric' dead letter. */
export function unknownKeyOf(detail: string | undefined): { key: string; sample: string | null } | null {
	if (!detail) return null;
	// The pipeline writes {"metric": …, "value": …}, cut at 500 characters: a cut one no longer parses, so the key
	// (written first) is read by pattern then.
	try {
		const d = JSON.parse(detail) as { metric?: unknown; value?: unknown };
		if (typeof d.metric !== 'string' || !d.metric) return null;
		return { key: d.metric.slice(0, 200), sample: d.value === undefined ? null : JSON.stringify(d.value).slice(0, 200) };
	} catch {
		const m = /^\{"metric":("(?:[^"\\]|\\.)*")/.exec(detail);
		if (!m) return null;
		try {
			const key = JSON.parse(m[1]) as string;
			return key ? { key: key.slice(0, 200), sample: null } : null;
		} catch {
			return null;
		}
	}
}

/**
 * Unknown keys of known devices become device-health notices (migrations/0016): one row per device, key and local day,
 * counted, with the newest sample. Rows are grouped here first: ON CONFLICT DO UPDATE may touch a row once per
 * statement. Only devices that exist (a dead letter names the device it was attributed to).
 */
const NOTICES_SQL = `INSERT INTO device_notices AS n (device_id, kind, key, day, first_at, last_at, count, sample)
	 SELECT x.dev, 'unknown_key', x.key, (x.t AT TIME ZONE $5::text)::date, min(x.t), max(x.t), count(*)::int,
	        (array_agg(x.sample ORDER BY x.t DESC))[1]
	 FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[]) AS x(dev, key, t, sample)
	 JOIN devices d ON d.id = x.dev
	 GROUP BY x.dev, x.key, 4
	 ON CONFLICT (device_id, kind, key, day) DO UPDATE
	 SET count = n.count + excluded.count, last_at = GREATEST(n.last_at, excluded.last_at),
	     first_at = LEAST(n.first_at, excluded.first_at), sample = coalesce(excluded.sample, n.sample)`;

/**
 * last_seen, last_measured_at and the status a batch's messages set, per device ($1 ids, $2 newest receipt ms, $3
 * newest measurement ms or NULL, $4 OFFLINE_AFTER_INTERVALS). The status follows deviceStatusOnMessage
 * (src/lib/domain/device-health.ts): a fresh measurement revives an unknown, offline or no_data sensor to normal;
 * anything else heard turns unknown or offline into no_data; a measuring sensor keeps its status (the timer and the
 * rules move it). The CTE reads the status before the update, for the device events and live updates.
 */
const DEVICE_SEEN_SQL = `WITH prev AS (SELECT id, status FROM devices WHERE id = ANY($1::text[]))
	 UPDATE devices AS d
	 SET last_seen = GREATEST(d.last_seen, to_timestamp(v.ms / 1000.0)),
	     last_measured_at = GREATEST(d.last_measured_at, to_timestamp(v.mms / 1000.0)),
	     status = CASE WHEN d.status NOT IN ('unknown', 'offline', 'no_data') THEN d.status
	                   WHEN v.mms IS NOT NULL AND v.mms >= v.ms - d.interval_s * 1000.0 * $4::float8 THEN 'normal'
	                   ELSE 'no_data' END
	 FROM unnest($1::text[], $2::float8[], $3::float8[]) AS v(id, ms, mms), prev
	 WHERE d.id = v.id AND prev.id = d.id
	 RETURNING d.id, prev.status AS was, d.status AS now`;

// PostgreSQL array literals for the unnest parameters, built here rather than by pg: pg's conversion calls
// toString, two regex replaces and a quoting concatenation per element and grows the literal one element at a time —
// a sixth of the ingest's allocations at 15,000 rows a batch (`npm run bench:ingest`). Numbers go in as JavaScript
// prints them (shortest round-trip form, which float8 and integer input read back exactly); strings are quoted and
// escaped once per distinct string (device ids and metric names repeat in every batch).
const quotedCache = new Map<string, string>();

/** `"…"` with `\` and `"` escaped: an array element PostgreSQL reads back as exactly `s` (arrays.html, "Array Value Input"). */
function quoted(s: string): string {
	let q = quotedCache.get(s);
	if (q === undefined) {
		if (quotedCache.size >= 50_000) quotedCache.clear();
		q = '"' + s.replace(/[\\"]/g, '\\$&') + '"';
		quotedCache.set(s, q);
	}
	return q;
}

/** Array literal of strings. */
export function textArrayLiteral(xs: readonly string[]): string {
	const parts = new Array<string>(xs.length);
	for (let i = 0; i < xs.length; i++) parts[i] = quoted(xs[i]);
	return '{' + parts.join(',') + '}';
}

/** Array literal of finite numbers; null → NULL. */
export function numberArrayLiteral(xs: readonly (number | null)[]): string {
	const parts = new Array<number | string>(xs.length);
	for (let i = 0; i < xs.length; i++) parts[i] = xs[i] ?? 'NULL';
	return '{' + parts.join(',') + '}';
}

/** SQLSTATE class 22 (data exception) or 23 (integrity violation): the data is at fault, not the connection. */
function isDataError(err: unknown): boolean {
	const code = (err as { code?: unknown })?.code;
	return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

/**
 * The upsert of one rollup table from `source`, rows already grouped per (device, metric, bucket) with n, sum, min,
 * max, last_at, last_value. Buckets are UTC hours / days, whatever the session time zone (the same expression as
 * migrations/0007_rollups.sql). `last_*` follow the newest observation, so a late reading for an old bucket does not
 * overwrite its last value.
 */
function rollupUpsert(table: 'readings_hourly' | 'readings_daily', source: string): string {
	return `
	   INSERT INTO ${table} AS t (device_id, metric, bucket, n, sum, min, max, last_at, last_value)
	   ${source}
	   ON CONFLICT (device_id, metric, bucket) DO UPDATE SET
	     n = t.n + excluded.n, sum = t.sum + excluded.sum, min = LEAST(t.min, excluded.min), max = GREATEST(t.max, excluded.max),
	     last_value = CASE WHEN excluded.last_at >= t.last_at THEN excluded.last_value ELSE t.last_value END,
	     last_at = GREATEST(t.last_at, excluded.last_at)`;
}

/** The readings of a batch from the unnest parameters $1…$7 (readingColumns with seq). */
const READINGS_INSERT = `INSERT INTO readings (device_id, metric, observed_at, value, received_at, flags, seq)
	   SELECT d, m, to_timestamp(o / 1000.0), v, to_timestamp(r / 1000.0), f, s
	   FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::float8[], $6::int2[], $7::int8[]) AS x(d, m, o, v, r, f, s)`;

/**
 * The careful statement: one batch's readings and their rollups in one statement; $1…$7 are the unnest arrays.
 * ON CONFLICT DO NOTHING keeps a redelivered reading out (idempotent storage), and the rollups are fed from RETURNING
 * — only rows actually stored, so a redelivered reading is never counted twice. Used after a duplicate was seen (see
 * BatchWriter.write()); other batches take READINGS_INSERT_FAST_SQL.
 * The stored rows are grouped per hour once (`hour`); the daily rollup is grouped from those groups (a few per device
 * and metric) rather than from every row again: the same figures with one sort of every row less
 * (`npm run bench:rollup`). A day's `sum` then adds per-hour sums, so its last bits may differ from adding row by
 * row; sums already depend on the order batches arrive in.
 */
function readingsInsertSql(): string {
	return `WITH ins AS (
	   ${READINGS_INSERT}
	   ON CONFLICT DO NOTHING
	   RETURNING device_id, metric, observed_at, value
	 ), hour AS (
	   SELECT device_id, metric, date_trunc('hour', observed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket, count(*)::int AS n, sum(value) AS sum,
	          min(value) AS min, max(value) AS max, max(observed_at) AS last_at, (array_agg(value ORDER BY observed_at DESC))[1] AS last_value
	   FROM ins GROUP BY 1, 2, 3
	 ), ${rollupsFrom('hour')}
	 SELECT count(*)::int AS inserted FROM ins`;
}

/**
 * The `hourly` and `daily` CTEs that upsert both rollup tables from `cte`, a CTE of hourly groups (device_id, metric,
 * bucket, n, sum, min, max, last_at, last_value; one row per series and hour): the hours as they are, the days grouped
 * from them (a few per series) rather than from every row again.
 */
function rollupsFrom(cte: string): string {
	return `hourly AS (${rollupUpsert('readings_hourly', `SELECT device_id, metric, bucket, n, sum, min, max, last_at, last_value FROM ${cte}`)}
	 ), daily AS (${rollupUpsert(
			'readings_daily',
			`SELECT device_id, metric, date_trunc('day', bucket AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', sum(n)::int, sum(sum), min(min), max(max),
	          max(last_at), (array_agg(last_value ORDER BY last_at DESC))[1]
	   FROM ${cte} GROUP BY 1, 2, 3`
		)}
	 )`;
}

/** The idempotent statement (exported for `npm run bench:rollup`, which times it against a plain INSERT). */
export const READINGS_INSERT_SQL = readingsInsertSql();

/**
 * The readings alone, idempotent, no rollups or latest values ($1…$7 as above): not a writer path, but the benches'
 * yardstick (`bench:rollup`'s baseline, the retry of `bench:ingest --floor` after a repeated reading).
 */
export const READINGS_ONLY_SQL = `${READINGS_INSERT}
	   ON CONFLICT DO NOTHING`;

/**
 * The fast path's rollups and latest values, for batches that hold no reading stored before (the readings themselves
 * go in by binary COPY on PostgreSQL, or by the INSERT of READINGS_INSERT_FAST_SQL on PGlite, and fail whole with 23505
 * on a duplicate: see BatchWriter.write()). Every row of such a batch is stored, so the writer's own hourly groups
 * (`batchGroups().hourly`) are exactly what RETURNING would have fed the rollups; PostgreSQL groups only those (a few per
 * series) into days, and takes each series' newest group for `latest_values` — one statement and a third of the bytes
 * of sending readings, days and latest values each (`npm run bench:rollup`). `$k…$k+10` are the hourly groups:
 * device, metric, bucket ms, n, sum, min, max, last ms, last value, last received ms, last flags.
 */
function groupsStatement(k: number, before = ''): string {
	const p = (i: number) => `$${k + i}`;
	return `WITH ${before}g AS (
	   SELECT d AS device_id, m AS metric, to_timestamp(b / 1000.0) AS bucket, n, su AS sum, mi AS min, ma AS max,
	          to_timestamp(la / 1000.0) AS last_at, lval AS last_value, to_timestamp(lr / 1000.0) AS last_received, lf AS flags
	   FROM unnest(${p(0)}::text[], ${p(1)}::text[], ${p(2)}::float8[], ${p(3)}::int4[], ${p(4)}::float8[], ${p(5)}::float8[], ${p(6)}::float8[],
	               ${p(7)}::float8[], ${p(8)}::float8[], ${p(9)}::float8[], ${p(10)}::int2[]) AS x(d, m, b, n, su, mi, ma, la, lval, lr, lf)
	 ), ${rollupsFrom('g')}
	 ${latestUpsert('SELECT DISTINCT ON (device_id, metric) device_id, metric, last_at, last_value, last_received, flags FROM g ORDER BY device_id, metric, last_at DESC')}`;
}

/** The upsert of latest_values from `source` (device, metric, observed_at, value, received_at, flags; one row per series). */
function latestUpsert(source: string): string {
	return `INSERT INTO latest_values AS lv (device_id, metric, observed_at, value, received_at, flags)
	 ${source}
	 ON CONFLICT (device_id, metric) DO UPDATE
	 SET observed_at = excluded.observed_at, value = excluded.value, received_at = excluded.received_at, flags = excluded.flags
	 WHERE excluded.observed_at >= lv.observed_at`;
}

/** The fast path on a real PostgreSQL, after the binary COPY of the readings: $1…$11 are the hourly groups. */
export const ROLLUP_GROUPS_SQL = groupsStatement(1);

/** The fast path on PGlite: the readings ($1…$7, as in READINGS_INSERT_SQL but without ON CONFLICT), then $8…$18. */
export const READINGS_INSERT_FAST_SQL = groupsStatement(
	8,
	`ins AS (
	   ${READINGS_INSERT}
	 ), `
);

const HOUR_MS = 3_600_000;

/** One hourly rollup group: a series' readings in one UTC hour, with the newest one's value, receipt and flags. */
interface Group {
	deviceId: string;
	metric: string;
	bucket: number;
	n: number;
	sum: number;
	min: number;
	max: number;
	lastAt: number;
	lastValue: number;
	lastReceived: number;
	lastFlags: number;
}

/** A batch's readings sorted out in one pass: what every statement and listener of a batch needs. */
export interface BatchGroups {
	/**
	 * The hourly rollup groups, as the careful statement forms them in SQL: UTC hours (epoch milliseconds floored to
	 * the hour, as date_trunc('hour', … AT TIME ZONE 'UTC') does), `last_*` at the newest observation.
	 */
	hourly: Group[];
	/** The newest reading of each series (device and metric); the first of equal times. */
	latest: Reading[];
	/** Each device's latest receipt time. */
	seen: Map<string, Date>;
	/**
	 * The batch's readings with each series' rows together (series in order of first appearance, each series' rows in
	 * arrival order): the order they are inserted in. Consecutive inserts into one series then land on the same leaf
	 * page of the primary key; in arrival order every row was a descent to another page. A batch where every series
	 * has one row comes back as it was.
	 */
	ordered: readonly Reading[];
}

interface SeriesSlot {
	metric: string;
	/** The series' number in the batch, in order of first appearance. */
	index: number;
	newest: Reading;
	/** The series' first hour; the rare series with more (a batch across an hour, a backlog) keeps them in `more`. */
	group: Group;
	more?: Map<number, Group>;
}

/**
 * Groups a batch once — per device, then metric (a few per device, found by a loop), then hour — for the rollups, the
 * latest values, `last_seen` and the live updates alike. Three groupings of every row, each a map of maps, would
 * be a tenth of what the ingest allocates (`npm run bench:ingest`).
 */
export function batchGroups(readings: readonly Reading[]): BatchGroups {
	const byDevice = new Map<string, { seen: Date; series: SeriesSlot[] }>();
	const hourly: Group[] = [];
	const seriesOf = new Int32Array(readings.length);
	const rowsOf: number[] = [];
	for (let i = 0; i < readings.length; i++) {
		const r = readings[i];
		let dev = byDevice.get(r.deviceId);
		if (!dev) byDevice.set(r.deviceId, (dev = { seen: r.receivedAt, series: [] }));
		else if (r.receivedAt > dev.seen) dev.seen = r.receivedAt;
		let slot: SeriesSlot | undefined;
		for (const x of dev.series) {
			if (x.metric === r.metric) {
				slot = x;
				break;
			}
		}
		const t = r.observedAt.getTime();
		const bucket = Math.floor(t / HOUR_MS) * HOUR_MS;
		if (!slot) {
			const g = newGroup(r, t, bucket);
			hourly.push(g);
			seriesOf[i] = rowsOf.length;
			rowsOf.push(1);
			dev.series.push({ metric: r.metric, index: seriesOf[i], newest: r, group: g });
			continue;
		}
		seriesOf[i] = slot.index;
		rowsOf[slot.index]++;
		if (r.observedAt > slot.newest.observedAt) slot.newest = r;
		const g = slot.group.bucket === bucket ? slot.group : slot.more?.get(bucket);
		if (!g) {
			const ng = newGroup(r, t, bucket);
			hourly.push(ng);
			(slot.more ??= new Map()).set(bucket, ng);
			continue;
		}
		g.n++;
		g.sum += r.value;
		if (r.value < g.min) g.min = r.value;
		if (r.value > g.max) g.max = r.value;
		if (t > g.lastAt) {
			g.lastAt = t;
			g.lastValue = r.value;
			g.lastReceived = r.receivedAt.getTime();
			g.lastFlags = r.flags;
		}
	}
	const latest: Reading[] = [];
	const seen = new Map<string, Date>();
	for (const [id, dev] of byDevice) {
		seen.set(id, dev.seen);
		for (const slot of dev.series) latest.push(slot.newest);
	}
	return { hourly, latest, seen, ordered: rowsOf.length === readings.length ? readings : bySeries(readings, seriesOf, rowsOf) };
}

/** `readings` with each series' rows together: a counting sort on the series numbers, stable within a series. */
function bySeries(readings: readonly Reading[], seriesOf: Int32Array, rowsOf: number[]): Reading[] {
	const next = new Int32Array(rowsOf.length);
	for (let k = 1; k < rowsOf.length; k++) next[k] = next[k - 1] + rowsOf[k - 1];
	const out = new Array<Reading>(readings.length);
	for (let i = 0; i < readings.length; i++) out[next[seriesOf[i]]++] = readings[i];
	return out;
}

function newGroup(r: Reading, t: number, bucket: number): Group {
	return {
		deviceId: r.deviceId,
		metric: r.metric,
		bucket,
		n: 1,
		sum: r.value,
		min: r.value,
		max: r.value,
		lastAt: t,
		lastValue: r.value,
		lastReceived: r.receivedAt.getTime(),
		lastFlags: r.flags
	};
}

/** The 18 parameters of READINGS_INSERT_FAST_SQL for a batch of new readings, the rows in the writer's order. */
export function fastInsertParams(readings: readonly Reading[]): string[] {
	const { ordered, hourly } = batchGroups(readings);
	return [...readingColumns(ordered, true), ...groupColumns(hourly)];
}

/** The unnest parameters of hourly groups (ROLLUP_GROUPS_SQL's 11). */
export function groupColumns(groups: readonly Group[]): string[] {
	const n = groups.length;
	const device = new Array<string>(n);
	const metric = new Array<string>(n);
	const cols = Array.from({ length: 9 }, () => new Array<number>(n));
	const [bucket, count, sum, min, max, lastAt, lastValue, lastReceived, lastFlags] = cols;
	for (let i = 0; i < n; i++) {
		const g = groups[i];
		device[i] = g.deviceId;
		metric[i] = g.metric;
		bucket[i] = g.bucket;
		count[i] = g.n;
		sum[i] = g.sum;
		min[i] = g.min;
		max[i] = g.max;
		lastAt[i] = g.lastAt;
		lastValue[i] = g.lastValue;
		lastReceived[i] = g.lastReceived;
		lastFlags[i] = g.lastFlags;
	}
	return [textArrayLiteral(device), textArrayLiteral(metric), ...cols.map(numberArrayLiteral)];
}

/** The careful path's latest values: the newest reading per series of the batch ($1…$6 as readingColumns without seq). */
export const LATEST_SQL = latestUpsert(`SELECT d, m, to_timestamp(o / 1000.0), v, to_timestamp(r / 1000.0), f
	 FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::float8[], $6::int2[]) AS x(d, m, o, v, r, f)`);

/** Batches written with ON CONFLICT after a duplicate was seen: redeliveries come in bursts (a reconnect, a restart). */
const CAREFUL_BATCHES = 20;

/** The unnest parameters of readings: device, metric, observed ms, value, received ms, flags[, seq]. */
export function readingColumns(readings: readonly Reading[], withSeq: boolean): string[] {
	const n = readings.length;
	const device = new Array<string>(n);
	const metric = new Array<string>(n);
	const observed = new Array<number>(n);
	const value = new Array<number>(n);
	const received = new Array<number>(n);
	const flags = new Array<number>(n);
	const seq = new Array<number | null>(n);
	for (let i = 0; i < n; i++) {
		const r = readings[i];
		device[i] = r.deviceId;
		metric[i] = r.metric;
		observed[i] = r.observedAt.getTime();
		value[i] = r.value;
		received[i] = r.receivedAt.getTime();
		flags[i] = r.flags;
		seq[i] = r.seq ?? null;
	}
	const cols = [textArrayLiteral(device), textArrayLiteral(metric), numberArrayLiteral(observed), numberArrayLiteral(value), numberArrayLiteral(received), numberArrayLiteral(flags)];
	if (withSeq) cols.push(numberArrayLiteral(seq));
	return cols;
}

export class BatchWriter {
	private lastSeenWritten = new Map<string, number>();
	/** When each device's last_measured_at was last written: measurements are throttled apart from metadata. */
	private lastMeasuredWritten = new Map<string, number>();
	/** Each device's kind, which says which of its readings are measurements; read from the database once. */
	private kinds = new Map<string, string>();
	/** One entry per message, in arrival order; a message is never split across batches. */
	private queue: Entry[] = [];
	private rows = 0;
	private timer: NodeJS.Timeout | null = null;
	private flushing: Promise<void> | null = null;
	private roomWaiters: (() => void)[] = [];
	private closed = false;
	readonly stats: WriterStats = { batches: 0, inserted: 0, duplicates: 0, deadLettered: 0, lastBatchRows: 0, lastBatchMs: 0, failures: 0 };

	constructor(
		private readonly db: Db,
		private readonly opts: {
			maxRows: number;
			maxAgeMs: number;
			/** Rows held in memory at most (the bounded buffer while the database is down). */
			maxBuffered?: number;
			log?: Logger;
			onCommitted?: (r: BatchResult) => void;
			/** Rows and milliseconds of each committed batch (metrics). */
			onBatch?: (rows: number, ms: number) => void;
			/** OFFLINE_AFTER_INTERVALS: a measurement older than this many report intervals does not make a sensor normal. */
			offlineAfterIntervals?: number;
			/** TZ_DISPLAY: the day a device-health notice counts in. */
			tz?: string;
		}
	) {}

	/** Devices just marked offline or no_data: their next reading must update last_seen and status at once. */
	forget(deviceIds: Iterable<string>): void {
		for (const id of deviceIds) {
			this.lastSeenWritten.delete(id);
			this.lastMeasuredWritten.delete(id);
		}
	}

	/** Kinds of these devices, read once per device (a kind never changes: a device of another kind is another device). */
	private async loadKinds(q: Queryable, ids: Iterable<string>): Promise<void> {
		const missing = [...ids].filter((id) => !this.kinds.has(id));
		if (!missing.length) return;
		if (this.kinds.size + missing.length > 200_000) this.kinds.clear();
		const r = await q.query<{ id: string; kind: string }>('SELECT id, kind FROM devices WHERE id = ANY($1::text[])', [textArrayLiteral(missing)]);
		for (const row of r.rows) this.kinds.set(row.id, row.kind);
	}

	/** Rows waiting to be written. */
	get depth(): number {
		return this.rows;
	}

	/** Queues one message's rows; resolves once they are committed. Waits for room when the buffer is full. */
	add(readings: Reading[], dead: DeadLetter[] = []): Promise<void> {
		return new Promise<void>((resolve, reject) => this.enqueue(readings, dead, (err) => (err ? reject(err) : resolve())));
	}

	/**
	 * add() without a promise: `done` is called once the rows have committed, or with the error when they never will
	 * (the writer closed). The MQTT subscriber's path: a promise per message, and the chain of them up to the PUBACK,
	 * would stay reachable until the commit, and a batch's commit would run several microtasks per message
	 * (`npm run bench:ingest`). Waits for room when the buffer is full; messages waiting for room keep their order.
	 */
	enqueue(readings: Reading[], dead: DeadLetter[], done: Committed): void {
		if (this.closed) return done(new Error('writer closed'));
		const limit = this.opts.maxBuffered ?? this.opts.maxRows * 20;
		if (this.rows >= limit || this.roomWaiters.length) {
			this.roomWaiters.push(() => this.enqueue(readings, dead, done));
			return;
		}
		this.queue.push({ readings, dead, done, at: performance.now() });
		this.rows += readings.length + dead.length;
		if (this.rows >= this.opts.maxRows) this.kick();
		else if (!this.timer && !this.flushing) this.timer = setTimeout(() => this.kick(), this.opts.maxAgeMs);
	}

	/** Tells a message's sender; a sender that throws cannot break the batch loop for the others. */
	private settle(e: Entry, err?: Error): void {
		try {
			e.done(err);
		} catch (thrown) {
			this.opts.log?.error({ err: (thrown as Error).message }, 'a commit listener failed');
		}
	}

	private kick(): void {
		if (this.timer) clearTimeout(this.timer);
		this.timer = null;
		if (!this.flushing) {
			this.flushing = this.loop().finally(() => {
				this.flushing = null;
				// A message queued after the loop's last look, while its promise settled, saw a flush under way and set no
				// timer: start its wait now (a commit tells its senders synchronously, so they add at once).
				if (!this.queue.length || this.timer || this.closed) return;
				if (this.rows >= this.opts.maxRows || this.closing) this.kick();
				else this.timer = setTimeout(() => this.kick(), this.opts.maxAgeMs);
			});
		}
	}

	/** Flushes until empty; one batch at a time so commits (and therefore acks) stay in arrival order. */
	private async loop(): Promise<void> {
		let backoff = 100;
		while (this.queue.length) {
			let n = 0;
			let taken = 0;
			while (n < this.queue.length && (taken === 0 || taken < this.opts.maxRows)) {
				const e = this.queue[n];
				taken += e.readings.length + e.dead.length;
				n++;
			}
			const batch = this.queue.slice(0, n);
			const readings = batch.flatMap((e) => e.readings);
			const dead = batch.flatMap((e) => e.dead);
			const t0 = performance.now();
			try {
				const res = await this.write(readings, dead);
				backoff = 100;
				this.queue.splice(0, n);
				this.rows -= taken;
				this.stats.batches++;
				this.stats.inserted += res.inserted;
				this.stats.duplicates += res.duplicates;
				this.stats.deadLettered += res.deadLettered;
				this.stats.lastBatchRows = taken;
				this.stats.lastBatchMs = performance.now() - t0;
				this.opts.onBatch?.(taken, this.stats.lastBatchMs);
				for (const e of batch) this.settle(e);
				this.releaseRoom();
				try {
					this.opts.onCommitted?.(res);
				} catch (err) {
					this.opts.log?.error({ err }, 'onCommitted listener failed');
				}
			} catch (err) {
				this.stats.failures++;
				if (isDataError(err)) {
					// The database refused the data itself (not the connection): retrying the same batch would wedge
					// ingest for every device. Write the messages one by one; one that still cannot be stored becomes a
					// dead letter with its raw bytes, so the rest go through and nothing vanishes.
					await this.isolate(batch, err as Error);
					this.queue.splice(0, n);
					this.rows -= taken;
					this.releaseRoom();
					continue;
				}
				// Keep the batch at the front and retry: the database may be restarting.
				if (this.closed) {
					for (const e of this.queue.splice(0)) this.settle(e, err as Error);
					this.rows = 0;
					return;
				}
				this.opts.log?.warn({ err: (err as Error).message, retryInMs: backoff, buffered: this.rows }, 'batch write failed; retrying');
				await new Promise((r) => setTimeout(r, backoff));
				backoff = Math.min(backoff * 2, 5000);
				continue;
			}
			// Keep writing at once while a full batch waits or the oldest waiting message is already due (it arrived
			// during this write); otherwise let the age timer gather more rows until it is due. Counting the age from
			// the oldest message, not from the last commit, keeps a steady stream from waiting a whole extra period.
			const wait = this.queue.length ? this.opts.maxAgeMs - (performance.now() - this.queue[0].at) : 0;
			if (this.queue.length && this.rows < this.opts.maxRows && !this.closing && wait > 0) {
				this.timer = setTimeout(() => this.kick(), wait);
				return;
			}
		}
	}

	private closing = false;

	private async isolate(batch: Entry[], first: Error): Promise<void> {
		this.opts.log?.error({ err: first.message, messages: batch.length }, 'database refused a batch; writing its messages one by one');
		for (const e of batch) {
			try {
				const res = await this.write(e.readings, e.dead);
				this.stats.inserted += res.inserted;
				this.stats.duplicates += res.duplicates;
				this.stats.deadLettered += res.deadLettered;
				this.settle(e);
			} catch (err) {
				if (!isDataError(err)) {
					this.settle(e, err as Error); // connection trouble: unacknowledged, so the broker redelivers it
					continue;
				}
				const src = e.dead[0] ?? null;
				try {
					await this.write([], [
						{
							topic: (src?.topic ?? `device ${e.readings[0]?.deviceId ?? '?'}`).replaceAll('\u0000', '\\u0000'),
							payload: src?.payload ?? Buffer.from(JSON.stringify(e.readings)),
							reason: 'unstorable',
							detail: String((err as Error).message).replaceAll('\u0000', '\\u0000').slice(0, 500),
							deviceId: null,
							receivedAt: src?.receivedAt ?? new Date()
						}
					]);
					this.stats.deadLettered++;
					this.settle(e);
				} catch (err2) {
					this.settle(e, err2 as Error);
				}
			}
		}
	}

	private releaseRoom(): void {
		const w = this.roomWaiters.splice(0);
		for (const r of w) r();
	}

	/** Batches left to write with ON CONFLICT (see CAREFUL_BATCHES). */
	private careful = 0;

	/**
	 * Writes one batch. Fast path first: a plain INSERT, since almost every batch holds only new readings. A duplicate
	 * (a redelivery after a reconnect or restart) makes it fail with 23505 and roll back whole; the batch is then written
	 * again with ON CONFLICT DO NOTHING, and so are the next few, because redeliveries come in bursts. Either way a
	 * reading is stored once and counted in the rollups once.
	 */
	private async write(readings: Reading[], dead: DeadLetter[]): Promise<BatchResult> {
		const careful = this.careful > 0 || !readings.length;
		if (this.careful > 0) this.careful--;
		try {
			return await this.writeTx(readings, dead, !careful);
		} catch (err) {
			if (careful || (err as { code?: string }).code !== '23505') throw err;
			this.careful = CAREFUL_BATCHES;
			return await this.writeTx(readings, dead, false);
		}
	}

	private async writeTx(readings: Reading[], dead: DeadLetter[], fast: boolean): Promise<BatchResult> {
		const { hourly, latest, seen, ordered } = batchGroups(readings);
		let inserted = 0;
		let online: string[] = [];
		let revived: string[] = [];
		let noData: string[] = [];
		let wrote: string[] = [];
		let wroteMeasured: string[] = [];
		await this.db.tx(async (q) => {
			if (readings.length) {
				// Rollups (migrations/0007_rollups.sql) count only rows stored by this batch: all of them on the fast path,
				// RETURNING's on the careful one. Rows are grouped per bucket first: ON CONFLICT DO UPDATE may touch a row
				// only once per statement. Data-modifying CTEs always run to completion, whatever the outer SELECT reads.
				if (fast && q.copyFrom) {
					// A real PostgreSQL: the rows by binary COPY, then rollups and latest values from the writer's groups.
					// A duplicate fails the COPY with 23505 like the INSERT, and the batch goes the careful way.
					await q.copyFrom(READINGS_COPY_SQL, readingsCopyData(ordered));
					await q.query(ROLLUP_GROUPS_SQL, groupColumns(hourly));
					inserted = readings.length;
				} else if (fast) {
					await q.query(READINGS_INSERT_FAST_SQL, [...readingColumns(ordered, true), ...groupColumns(hourly)]);
					inserted = readings.length;
				} else {
					const res = await q.query<{ inserted: number }>(READINGS_INSERT_SQL, readingColumns(ordered, true));
					inserted = res.rows[0].inserted;
					// Every reading of the batch, stored now or before: a redelivery may still be the newest a series has.
					await q.query(LATEST_SQL, readingColumns(latest, false));
				}
				// last_seen is written at most every LAST_SEEN_EVERY_MS per device: offline detection works in multiples
				// of report intervals, so a few seconds of lag cost nothing, and the per-batch UPDATE of every device
				// would be a fifth of the batch time at high rates (`npm run bench:ingest`). last_measured_at has its own
				// clock, so a measurement right after a metadata-only message still revives the sensor at once.
				// Only a measurement of the device's own kind counts (isMeasurement): radio, battery and other metadata
				// are stored and feed the rules, but never make a sensor normal (issue 22).
				await this.loadKinds(q, seen.keys());
				const measured = new Map<string, number>();
				for (const r of latest) {
					const kind = this.kinds.get(r.deviceId);
					if (kind === undefined || !isMeasurement(kind, r.metric)) continue;
					// Never later than its receipt: a device clock up to 5 minutes ahead is trusted for the reading, not here.
					const t = Math.min(r.observedAt.getTime(), r.receivedAt.getTime());
					if (t > (measured.get(r.deviceId) ?? -Infinity)) measured.set(r.deviceId, t);
				}
				const now = Date.now();
				const ids = [...seen.keys()].filter(
					(id) => now - (this.lastSeenWritten.get(id) ?? 0) >= LAST_SEEN_EVERY_MS || (measured.has(id) && now - (this.lastMeasuredWritten.get(id) ?? 0) >= LAST_SEEN_EVERY_MS)
				);
				wrote = ids;
				wroteMeasured = ids.filter((id) => measured.has(id));
				// Alarm levels are the rule runner's business (issue 5); this sets only normal / no_data (DEVICE_SEEN_SQL).
				const upd = await q.query<{ id: string; was: string; now: string }>(DEVICE_SEEN_SQL, [
					textArrayLiteral(ids),
					numberArrayLiteral(ids.map((id) => seen.get(id)!.getTime())),
					numberArrayLiteral(ids.map((id) => measured.get(id) ?? null)),
					this.opts.offlineAfterIntervals ?? 3
				]);
				online = upd.rows.filter((r) => r.was === 'offline').map((r) => r.id);
				revived = upd.rows.filter((r) => r.now === 'normal' && r.was !== 'normal').map((r) => r.id);
				noData = upd.rows.filter((r) => r.now === 'no_data' && r.was !== 'no_data').map((r) => r.id);
				// Comebacks from offline or from no_data are 'online' events; a sensor that talks without measuring is a
				// 'no_data' event — both part of its history, like going offline.
				const events = upd.rows.filter((r) => r.was !== r.now && ((r.now === 'normal' && (r.was === 'offline' || r.was === 'no_data')) || r.now === 'no_data'));
				if (events.length) {
					await q.query(
						`INSERT INTO device_events (device_id, kind, detail)
						 SELECT id, k, jsonb_build_object('from', was) FROM unnest($1::text[], $2::text[], $3::text[]) AS x(id, k, was)`,
						[events.map((e) => e.id), events.map((e) => (e.now === 'normal' ? 'online' : 'no_data')), events.map((e) => e.was)]
					);
				}
			}
			if (dead.length) {
				await q.query(
					`INSERT INTO dead_letters (received_at, topic, payload, reason, detail, device_id)
					 SELECT t, topic, decode(p, 'hex'), reason, detail, dev
					 FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS x(t, topic, p, reason, detail, dev)`,
					[
						dead.map((d) => d.receivedAt.toISOString()),
						dead.map((d) => d.topic),
						dead.map((d) => d.payload.toString('hex')),
						dead.map((d) => d.reason),
						dead.map((d) => d.detail ?? null),
						dead.map((d) => d.deviceId ?? null)
					]
				);
				// A key no profile maps, on a device we know: a notice to the admin (device-notices.ts shows them).
				const keys = dead.flatMap((d) => {
					const k = d.reason === 'unknown_metric' && d.deviceId ? unknownKeyOf(d.detail) : null;
					return k ? [{ dev: d.deviceId!, at: d.receivedAt, ...k }] : [];
				});
				if (keys.length) {
					await q.query(NOTICES_SQL, [
						keys.map((k) => k.dev),
						keys.map((k) => k.key),
						keys.map((k) => k.at.toISOString()),
						keys.map((k) => k.sample),
						this.opts.tz ?? 'Asia/Shanghai'
					]);
				}
			}
		});
		const at = Date.now();
		for (const id of wrote) this.lastSeenWritten.set(id, at);
		for (const id of wroteMeasured) this.lastMeasuredWritten.set(id, at);
		return { inserted, duplicates: readings.length - inserted, deadLettered: dead.length, readings, latest, seen, online, revived, noData };
	}

	/** Writes what is buffered and stops accepting. */
	async close(): Promise<void> {
		this.closing = true;
		if (this.queue.length) this.kick();
		while (this.flushing) await this.flushing;
		this.closed = true;
		if (this.timer) clearTimeout(this.timer);
		this.timer = null;
	}
}
