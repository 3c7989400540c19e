// The rule runner's memory of each sensor's recent readings, so judging a sensor does not read its whole look-back
// window back from the database every time. Without it, with 1000 devices reporting ~10 times a second, the
// per-pass read of up to 2000 points × metrics × devices is the ingest's largest cost — most of its garbage
// collection and a third of the database's time (`npm run bench:ingest`).
//
// A sensor's series are loaded from the database once (the rule runner's query), then kept up to date from the
// batches this process commits. That is only correct while this process sees every reading of the device: with a
// share group (several ingest workers) each worker sees a share, so the runner does not use the cache then; and
// every sensor is read from the database again every few minutes, in case some other process stored readings.
// Memory is bounded: at most `maxPoints` per series, and `maxTotal` points over all sensors, least recently fed
// sensors forgotten first (and read from the database again when next judged).
//
// Each series is kept in columns (Float64Array times and values), and history() hands the rules views of them
// (src/lib/domain/rules.ts replaySeries): no object per point per pass, which would be most of the ingest's garbage
// (`npm run bench:ingest`). A view must stay what it was while the rules judge it, across awaits in which new
// batches are fed: so a slot below `end` is never written again — appends go past `end`, trimming moves `start`,
// and anything else (a late reading inserted in the middle, compaction when the buffer is full) copies into new arrays.
import type { HistoryPoint, Series as SeriesView, SeriesMap } from '../src/lib/domain/rules.js';

interface Series {
	t: Float64Array;
	v: Float64Array;
	/** Live points are [start, end). */
	start: number;
	end: number;
}

const MIN_CAPACITY = 16;

/**
 * How long a sensor's copy lives: between half and all of the maximum age, fixed per sensor id (FNV-1a). Sensors are
 * loaded together (at start, after a restart), and one age for all re-read them together: 200 busy sensors × 2,000
 * points in one pass held the embedded database's thread for 2.3 s every five minutes (`npm run bench:soak`).
 */
export function expiry(id: string, maxAgeMs: number): number {
	let h = 0x811c9dc5;
	for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
	return Math.round(maxAgeMs * (0.5 + 0.5 * ((h >>> 0) / 0x1_0000_0000)));
}

interface Entry {
	/** What the series were loaded for (the sensor's kind): a different tag means reload. */
	tag: string;
	/** When this copy is read from the database again (see `expiry`). */
	expiresAt: number;
	/** Metrics this sensor is judged on; other metrics are not kept (but still move `newest`). */
	metrics: ReadonlySet<string>;
	series: Map<string, Series>;
	/** Newest observation time over all the device's metrics (the look-back is counted back from it). */
	newest: number;
	points: number;
}

export interface FedReading {
	deviceId: string;
	metric: string;
	observedAt: Date;
	value: number;
	/** When the server received it (the rule runner tells late data by it). */
	receivedAt?: Date;
	/** READING_FLAGS bits: a reading stored at its receipt time (no device time, or an untrusted one) is never late. */
	flags?: number;
}

export class HistoryCache {
	private entries = new Map<string, Entry>();
	/** Devices being loaded from the database: readings committed meanwhile are kept here and merged after. */
	private loading = new Map<string, FedReading[]>();
	private total = 0;

	constructor(
		private readonly maxPoints = 2000,
		private readonly maxTotal = 4_000_000,
		/**
		 * Read each sensor from the database again after this long, so readings this process never saw (another
		 * process's HTTP twin, a backfill, a manual fix) are in the judgement within minutes at worst.
		 */
		private readonly maxAgeMs = 5 * 60_000,
		private readonly now: () => number = Date.now
	) {}

	get size(): number {
		return this.entries.size;
	}

	get points(): number {
		return this.total;
	}

	/** Loaded, and loaded for this tag (the sensor's kind: a sensor re-registered as another kind is read again). */
	has(id: string, tag?: string): boolean {
		const e = this.entries.get(id);
		return !!e && (tag === undefined || e.tag === tag) && this.now() < e.expiresAt;
	}

	/**
	 * Does the cache already hold this reading — or need not (a metric the sensor is not judged on)? False when the
	 * sensor is not loaded: the caller cannot tell a redelivery from a new reading then.
	 */
	knows(id: string, metric: string, t: number): boolean {
		const e = this.entries.get(id);
		if (!e) return false;
		if (!e.metrics.has(metric)) return true;
		const s = e.series.get(metric);
		if (!s) return false;
		const i = lowerBound(s.t, s.start, s.end, t);
		return i < s.end && s.t[i] === t;
	}

	/** Readings this process has just committed. Unknown devices are ignored: they are loaded when judged. */
	feed(readings: readonly FedReading[]): void {
		const fed = new Set<string>();
		for (const r of readings) {
			const pending = this.loading.get(r.deviceId);
			if (pending) {
				pending.push(r);
				continue;
			}
			const e = this.entries.get(r.deviceId);
			if (!e) continue;
			this.total += this.add(e, r.metric, r.observedAt.getTime(), r.value);
			fed.add(r.deviceId);
		}
		// Least recently fed first in the map's order, so eviction forgets quiet sensors before busy ones.
		for (const id of fed) {
			const e = this.entries.get(id)!;
			this.entries.delete(id);
			this.entries.set(id, e);
		}
		this.evict();
	}

	/** Marks devices as being read from the database; call before the read starts. */
	beginLoad(ids: Iterable<string>): void {
		for (const id of ids) {
			this.forget(id);
			this.loading.set(id, []);
		}
	}

	/** The database read for `id` (points newer than its look-back start), plus what was fed meanwhile. */
	finishLoad(id: string, tag: string, metrics: ReadonlySet<string>, newest: number, points: readonly HistoryPoint[]): void {
		const fed = this.loading.get(id) ?? [];
		this.loading.delete(id);
		const e: Entry = { tag, expiresAt: this.now() + expiry(id, this.maxAgeMs), metrics, series: new Map(), newest: Number.isFinite(newest) ? newest : -Infinity, points: 0 };
		const sorted = [...points].sort((a, b) => a.t - b.t);
		for (const p of sorted) this.add(e, p.metric, p.t, p.value);
		for (const r of fed) this.add(e, r.metric, r.observedAt.getTime(), r.value);
		this.forget(id);
		this.entries.set(id, e);
		this.total += e.points;
		this.evict();
	}

	/** A failed database read: forget what was buffered (the next judgement reads again). */
	abortLoad(ids: Iterable<string>): void {
		for (const id of ids) this.loading.delete(id);
	}

	forget(id: string): void {
		const e = this.entries.get(id);
		if (!e) return;
		this.total -= e.points;
		this.entries.delete(id);
	}

	/**
	 * The sensor's points inside its look-back window, counted back from its newest reading — the same set the
	 * database query returns: per metric the newest `maxPoints` with t ≥ newest − lookback. Trims older points.
	 */
	history(id: string, lookbackMs: number): SeriesMap | undefined {
		const e = this.entries.get(id);
		if (!e) return undefined;
		const since = e.newest - lookbackMs;
		const out = new Map<string, SeriesView>();
		for (const [metric, s] of e.series) {
			const cut = lowerBound(s.t, s.start, s.end, since) - s.start;
			if (cut > 0) {
				s.start += cut;
				e.points -= cut;
				this.total -= cut;
			}
			const from = Math.max(s.start, s.end - this.maxPoints);
			out.set(metric, { t: s.t.subarray(from, s.end), v: s.v.subarray(from, s.end) });
		}
		return out;
	}

	/**
	 * Forgets a metric's points at or before `t` except the newest `keep` of them (the rule runner, once it has judged
	 * everything up to `t`, for series whose rule reads only its last few values: the battery). Views handed out
	 * before stay as they were (only `start` moves).
	 */
	keepFrom(id: string, metric: string, t: number, keep: number): void {
		const e = this.entries.get(id);
		const s = e?.series.get(metric);
		if (!e || !s) return;
		const after = upperBound(s.t, s.start, s.end, t);
		const from = Math.max(s.start, after - Math.max(0, keep));
		const drop = from - s.start;
		if (drop <= 0) return;
		s.start = from;
		e.points -= drop;
		this.total -= drop;
	}

	/** Adds one point to a sensor's series; returns the change in its point count. */
	private add(e: Entry, metric: string, t: number, value: number): number {
		if (t > e.newest) e.newest = t;
		if (!e.metrics.has(metric)) return 0;
		let s = e.series.get(metric);
		if (!s) e.series.set(metric, (s = { t: new Float64Array(MIN_CAPACITY), v: new Float64Array(MIN_CAPACITY), start: 0, end: 0 }));
		let delta = 1;
		if (s.end === s.start || t > s.t[s.end - 1]) {
			if (s.end === s.t.length) this.regrow(s, s.end, 0);
			s.t[s.end] = t;
			s.v[s.end] = value;
			s.end++;
		} else {
			const i = lowerBound(s.t, s.start, s.end, t);
			// The database keeps the first reading for a (device, metric, time): a redelivery changes nothing.
			if (s.t[i] === t) return 0;
			// Into new arrays, leaving a gap at i: the old ones may be under a view the rules are judging.
			const at = i - s.start;
			this.regrow(s, i, 1);
			s.t[at] = t;
			s.v[at] = value;
			s.end++;
		}
		// Keep the newest maxPoints, trimming in steps (a sixteenth) so a steady stream does not trim on every reading.
		// Steps of a quarter and spare capacity of a half would take 3,001 slots for 2,000 points, ~50 MB of a full
		// cache that this tighter fit leaves at ~36 MB; the price is a copy of the series every ~250 readings (a full
		// cache: `npm run bench:ingest -- --seconds 150`).
		if (s.end - s.start > this.maxPoints * 1.0625) {
			const drop = s.end - s.start - this.maxPoints;
			s.start += drop;
			delta -= drop;
		}
		e.points += delta;
		return delta;
	}

	/**
	 * Moves a series' live points into new arrays with room to grow, leaving `gap` free slots before old index `at`
	 * (an insertion). Never writes the old arrays (see the module header). `start` becomes 0; `end` is the old count.
	 */
	private regrow(s: Series, at: number, gap: number): void {
		const n = s.end - s.start;
		const cap = Math.max(MIN_CAPACITY, n + gap + 1, Math.min(2 * (n + gap), Math.ceil(this.maxPoints * 1.125) + 1));
		const t = new Float64Array(cap);
		const v = new Float64Array(cap);
		t.set(s.t.subarray(s.start, at));
		v.set(s.v.subarray(s.start, at));
		t.set(s.t.subarray(at, s.end), at - s.start + gap);
		v.set(s.v.subarray(at, s.end), at - s.start + gap);
		s.t = t;
		s.v = v;
		s.end = n;
		s.start = 0;
	}

	private evict(): void {
		if (this.total <= this.maxTotal) return;
		for (const [id, e] of this.entries) {
			if (this.total <= this.maxTotal * 0.9) break;
			this.total -= e.points;
			this.entries.delete(id);
		}
	}
}

/** First index i in [lo, hi) with xs[i] >= x (xs ascending there); hi when none. */
function lowerBound(xs: Float64Array, lo: number, hi: number, x: number): number {
	while (lo < hi) {
		const mid = (lo + hi) >>> 1;
		if (xs[mid] < x) lo = mid + 1;
		else hi = mid;
	}
	return lo;
}

/** First index i in [lo, hi) with xs[i] > x (xs ascending there); hi when none. */
function upperBound(xs: Float64Array, lo: number, hi: number, x: number): number {
	while (lo < hi) {
		const mid = (lo + hi) >>> 1;
		if (xs[mid] <= x) lo = mid + 1;
		else hi = mid;
	}
	return lo;
}
