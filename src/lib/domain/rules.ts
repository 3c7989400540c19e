// Alarm rules: turn one sensor's readings into a four-colour level per rule (DOMAIN.md "Sensor kinds, metrics and
// default levels"). Pure — no I/O and no clock: the ingest rule runner and the web app both call it, and time is
// always passed in as `at` (ms since epoch).
//
// Every default below is a value with a source, overridable per sensor through the sensor's `thresholds` JSON, using
// the same shapes as the demo township (src/lib/server/demo/township.ts). DOMAIN.md: "Every threshold below is a
// *default with a source*, configurable per sensor or site. None of it is law."
//
// Semantics worth knowing before reading the code:
// - `evaluate` judges the state *at* `at` from the readings with t ≤ at only, so a late reading can be slotted into
//   the history and `replay` re-run from the earliest affected time: the result is the same as if it had arrived on
//   time (DOMAIN.md "must re-run when late readings arrive").
// - Hysteresis (DOMAIN.md "clear below a lower value"): rising is immediate; a level is held until the value falls
//   below its clear value = threshold − hysteresis (default 5 % of that threshold; river level 0.05 m). Falling below
//   a level's clear value drops to the highest lower level whose clear value still holds.
// - Minimum repeats (DOMAIN.md "a minimum duration or repeat count where noise is common"): tilt and crack need the
//   condition on 2 consecutive readings before *rising*; dropping is never delayed.
// - A rule that cannot judge (no reading, no window, no baseline, no configured station level) says 'unknown' with
//   a Chinese detail; it never invents a baseline and never yields NaN. 'unknown' means "no judgement": `replay`
//   carries the previous level through it, so an alarm is not cleared just because data stopped (offline detection
//   is a separate timer, DOMAIN.md "own timer, never MQTT session state").
import type { Level, SensorKind } from './types.js';
import { LEVEL_RANK, STATUS_NAMES } from './levels.js';
import { HEALTH_RULE, KIND_DEFAULTS, perKind } from './sensor-kinds.js';

// ---- levels ------------------------------------------------------------------------------------------------------

/** What a rule says: one of the four colours, 'normal', or 'unknown' (cannot judge; see the module header). */
export type RuleLevel = Level | 'normal' | 'unknown';

export { LEVEL_RANK };

/** The highest level among `levels`; 'unknown' (and anything that is not a level) is ignored. Empty → 'normal'. */
export function worstLevel(levels: Iterable<string>): Level | 'normal' {
	let worst: Level | 'normal' = 'normal';
	for (const l of levels) {
		if (isRanked(l) && LEVEL_RANK[l] > LEVEL_RANK[worst]) worst = l;
	}
	return worst;
}

function isRanked(l: string): l is Level | 'normal' {
	return Object.prototype.hasOwnProperty.call(LEVEL_RANK, l);
}

// ---- rule ids ----------------------------------------------------------------------------------------------------

export const RULE_IDS = [
	'level',
	'rise_15min',
	'rise_1h',
	'tilt',
	'crack',
	'rain_1h',
	'rain_3h',
	'rain_6h',
	'rain_24h',
	'settlement_rate',
	'displacement_rate',
	'soil_moisture',
	'gnss_cumulative',
	'gnss_rate',
	'battery_low'
] as const;
export type RuleId = (typeof RULE_IDS)[number];

/** Each kind's rules from the sensor-kind catalogue (sensor-kinds.ts), then the device-health rule. */
const KIND_RULES: Readonly<Record<SensorKind, readonly RuleId[]>> = Object.freeze(perKind((d) => [...d.rules.map((r) => r.id), HEALTH_RULE.id]));

/** The rules evaluated for a sensor kind, in display order; every kind also gets the device-health rule. */
export function rulesFor(kind: SensorKind): RuleId[] {
	const rules = KIND_RULES[kind];
	if (!rules) throw new RangeError(`rulesFor: unknown sensor kind ${JSON.stringify(kind)}`);
	return [...rules];
}

// ---- defaults ----------------------------------------------------------------------------------------------------

/** One default value with where it comes from, so the UI can show both beside a sensor's effective value. */
export interface DefaultValue {
	/** null = no sensible default exists; the value must be configured per sensor (e.g. a station's 警戒水位). */
	value: number | null;
	unit: string;
	source: string;
}

/** A tree of defaults mirroring the `thresholds` JSON shape: the path of a leaf is the path of its override. */
export interface DefaultTree {
	[key: string]: DefaultValue | DefaultTree;
}

const dv = (value: number | null, unit: string, source: string): DefaultValue => ({ value, unit, source });

const SRC_BATTERY = 'shudi default: single-cell Li-ion ≈ 10–15 % left at 3.4 V';

/**
 * Default thresholds per sensor kind (plus `device` for the health rule every kind carries), shaped like the
 * per-sensor `thresholds` JSON. Each kind's defaults and their sources are declared with the kind in the sensor-kind
 * catalogue (sensor-kinds.ts; sources in docs/sensor-kinds.md); the device-health defaults are here.
 */
export const DEFAULT_THRESHOLDS = deepFreeze({
	...KIND_DEFAULTS,
	device: {
		// DOMAIN.md "any: battery_v / battery_pct … low battery". Override path: thresholds.battery.low_v / low_pct.
		battery: { low_v: dv(3.4, 'V', SRC_BATTERY), low_pct: dv(15, '%', SRC_BATTERY) }
	}
} satisfies Record<SensorKind | 'device', DefaultTree>);

/**
 * Per-rule noise handling. `hysteresis` null = 5 % of each level's threshold; a number is an absolute margin in the
 * rule's unit for every level. Override per sensor: thresholds.hysteresis[ruleId], thresholds.min_repeats[ruleId]
 * (or thresholds.min_repeats as one number for every rule of that sensor).
 */
export const RULE_DEFAULTS: Readonly<Record<RuleId, { minRepeats: number; hysteresis: number | null; source: string }>> =
	deepFreeze({
		// River gauges read to the centimetre and water does not jitter like a tilt sensor: no repeat count, and a
		// fixed 5 cm margin so a station hovering at 警戒水位 does not flap.
		level: { minRepeats: 1, hysteresis: 0.05, source: 'shudi default: 5 cm below the station level' },
		rise_15min: { minRepeats: 1, hysteresis: null, source: 'shudi default: 5 %' },
		rise_1h: { minRepeats: 1, hysteresis: null, source: 'shudi default: 5 %' },
		// Tilt meters and crack gauges pick up wind, traffic and temperature: 2 consecutive readings before rising.
		tilt: { minRepeats: 2, hysteresis: null, source: 'shudi default: 2 readings, 5 %' },
		crack: { minRepeats: 2, hysteresis: null, source: 'shudi default: 2 readings, 5 %' },
		// Rain sums are already integrals over an hour or more; a repeat count would only delay a real storm.
		rain_1h: { minRepeats: 1, hysteresis: null, source: 'shudi default: 5 %' },
		rain_3h: { minRepeats: 1, hysteresis: null, source: 'shudi default: 5 %' },
		rain_6h: { minRepeats: 1, hysteresis: null, source: 'shudi default: 5 %' },
		rain_24h: { minRepeats: 1, hysteresis: null, source: 'shudi default: 5 %' },
		settlement_rate: { minRepeats: 1, hysteresis: null, source: 'shudi default: 5 %' },
		displacement_rate: { minRepeats: 1, hysteresis: null, source: 'shudi default: 5 %' },
		soil_moisture: { minRepeats: 1, hysteresis: null, source: 'shudi default: 5 %' },
		// A single GNSS epoch can jump by multipath or a lost fix (low-cost receivers: several mm): 2 solutions in a row.
		gnss_cumulative: { minRepeats: 2, hysteresis: null, source: 'shudi default: 2 solutions, 5 %' },
		gnss_rate: { minRepeats: 2, hysteresis: null, source: 'shudi default: 2 solutions, 5 %' },
		battery_low: { minRepeats: 1, hysteresis: null, source: 'shudi default: 5 % above the low mark' }
	});

/** Default hysteresis as a fraction of the threshold (module header). */
export const DEFAULT_HYSTERESIS_FRACTION = 0.05;

/** How far back the caller should load readings for a kind so every window rule can be judged. */
export const LOOKBACK_MS: Readonly<Record<SensorKind, number>> = Object.freeze(perKind((d) => d.lookbackMs));

/** One row per default leaf: the effective value for a sensor next to the default and its source (for the UI). */
export interface EffectiveThreshold {
	/** Dotted path in the thresholds JSON, e.g. 'tilt_pct.blue' or 'sum_mm.1h.red'. */
	path: string;
	value: number | null;
	default: number | null;
	unit: string;
	source: string;
	overridden: boolean;
}

/** Effective thresholds of a sensor: its override where it has a valid number, else the default. */
export function effectiveThresholds(kind: SensorKind, thresholds: Record<string, unknown> | null | undefined): EffectiveThreshold[] {
	const out: EffectiveThreshold[] = [];
	const walk = (tree: DefaultTree, over: unknown, prefix: string[]): void => {
		for (const [key, node] of Object.entries(tree)) {
			const sub = isRecord(over) ? over[key] : undefined;
			const path = [...prefix, key];
			if (isDefaultValue(node)) {
				const o = finite(sub);
				out.push({
					path: path.join('.'),
					value: o ?? node.value,
					default: node.value,
					unit: node.unit,
					source: o === undefined ? node.source : 'sensor setting',
					overridden: o !== undefined
				});
			} else {
				walk(node, sub, path);
			}
		}
	};
	walk(DEFAULT_THRESHOLDS[kind], thresholds, []);
	walk(DEFAULT_THRESHOLDS.device, thresholds, []);
	return out;
}

// ---- evaluation API ----------------------------------------------------------------------------------------------

export interface HistoryPoint {
	metric: string;
	/** Observation time, ms since epoch. */
	t: number;
	value: number;
}

export interface EvaluateInput {
	kind: SensorKind;
	/** The sensor's thresholds JSON (same shapes as the demo township); missing keys fall back to DEFAULT_THRESHOLDS. */
	thresholds?: Record<string, unknown> | null;
	/** Calibrated baseline (tilt_x_deg/tilt_y_deg, crack_mm); null when the sensor has not been calibrated. */
	baseline?: Record<string, unknown> | null;
	/** All readings of this sensor in the look-back window (LOOKBACK_MS), in any order; readings after `at` are ignored. */
	history: readonly HistoryPoint[];
	/** The moment judged, ms since epoch. */
	at: number;
	/** Each rule's level just before `at` (for hysteresis); missing or 'unknown' counts as 'normal'. */
	previous?: Partial<Record<RuleId, RuleLevel>>;
}

export interface RuleResult {
	rule: RuleId;
	level: RuleLevel;
	/** The judged value in the rule's unit; 0 when level is 'unknown' (nothing could be measured — see `detail`). */
	value: number;
	/** Threshold of the resulting level, or of the lowest level while normal; absent when unknown or unconfigured. */
	threshold?: number;
	/** Chinese explanation for the duty room. */
	detail: string;
}

/** The level of every rule of `input.kind` at `input.at`. */
export function evaluate(input: EvaluateInput): RuleResult[] {
	const ctx: Ctx = { ...base(input, toSeries(input.history)), at: input.at, previous: input.previous ?? {} };
	return rulesFor(input.kind).map((rule) => RULE_FNS[rule](ctx, rule));
}

export interface ReplayResult {
	/** The evaluated times, ascending and de-duplicated. */
	times: number[];
	/** Per rule, its level at each of `times`. */
	levels: Partial<Record<RuleId, RuleLevel[]>>;
	/** The full results at each of `times`. */
	steps: RuleResult[][];
	/** Hysteresis state after the last time: feed it back as `previous` for the next evaluation. */
	last: Partial<Record<RuleId, Level | 'normal'>>;
}

/**
 * Evaluate at each of `times` in time order, carrying each step's levels into the next as `previous`. Use it for a
 * backlog or after a late reading: start from the state before the earliest affected time. An 'unknown' step does
 * not reset the carried level (no data is not evidence that the alarm cleared).
 */
export function replay(input: Omit<EvaluateInput, 'at'>, times: readonly number[]): ReplayResult {
	return replaySeries({ ...input, series: toSeries(input.history) }, times);
}

/**
 * One metric's readings in columns, ascending by `t`, one reading per `t`, every `t` and `v` finite — the form the
 * rules judge. `t[i]` is the observation time (ms since epoch) of value `v[i]`. Float64Array views or plain arrays.
 */
export interface Series {
	readonly t: ArrayLike<number>;
	readonly v: ArrayLike<number>;
}

/** A sensor's history in columns: one Series per metric. */
export type SeriesMap = ReadonlyMap<string, Series>;

/**
 * replay() over a history already in columns (the rule runner's cache keeps it so): no point objects, no sorting,
 * and each step sees each series' prefix up to its time by a binary search instead of a copy. A series that breaks
 * the Series contract (unsorted, a repeated time, a non-finite number) is put right first, the same way toSeries()
 * does, so the result is always that of replay() on the same readings (tests/unit/rules.spec.ts holds both equal to
 * evaluate() step by step).
 */
export function replaySeries(input: Omit<EvaluateInput, 'at' | 'history'> & { series: SeriesMap }, times: readonly number[]): ReplayResult {
	const sorted = [...new Set(times.filter(Number.isFinite))].sort((a, b) => a - b);
	const carried: Partial<Record<RuleId, Level | 'normal'>> = {};
	for (const [rule, level] of Object.entries(input.previous ?? {}) as [RuleId, RuleLevel][]) {
		if (level !== 'unknown') carried[rule] = level;
	}
	const levels: Partial<Record<RuleId, RuleLevel[]>> = {};
	for (const rule of rulesFor(input.kind)) levels[rule] = [];
	const steps: RuleResult[][] = [];
	let series: SeriesMap = input.series;
	for (const [metric, s] of input.series) {
		if (!isSeries(s)) {
			const fixed = new Map(series);
			fixed.set(metric, toSeries(toPoints(new Map([[metric, s]]))).get(metric) ?? EMPTY);
			series = fixed;
		}
	}
	const all = base(input, series);
	const fns = rulesFor(input.kind).map((rule) => [rule, RULE_FNS[rule]] as const);
	// One context for every step, its `at` moved on: rules keep nothing of it. Every rule reads `previous` before any
	// level of this step is carried: no copy needed.
	const ctx: Ctx = { ...all, at: 0, previous: carried };
	for (const at of sorted) {
		ctx.at = at;
		const results = fns.map(([rule, fn]) => fn(ctx, rule));
		for (const r of results) {
			levels[r.rule]!.push(r.level);
			if (r.level !== 'unknown') carried[r.rule] = r.level;
		}
		steps.push(results);
	}
	return { times: sorted, levels, steps, last: carried };
}

const EMPTY: Series = { t: [], v: [] };

/** Does `s` keep the Series contract (ascending distinct finite times, finite values)? One pass, no allocation. */
function isSeries(s: Series): boolean {
	const { t, v } = s;
	if (t.length !== v.length) return false;
	for (let i = 0; i < t.length; i++) {
		if (!Number.isFinite(t[i]) || !Number.isFinite(v[i]) || (i > 0 && !(t[i] > t[i - 1]))) return false;
	}
	return true;
}

/**
 * A history in columns: readings with a finite time and value, per metric, ascending by time. Storage is idempotent
 * on (device, metric, observed_at) (DOMAIN.md), so two readings at one time are the same observation delivered twice:
 * one is kept — after a stable sort by time and value, the last, so the answer does not depend on the input order.
 */
export function toSeries(history: readonly HistoryPoint[]): Map<string, Series> {
	const lists = new Map<string, HistoryPoint[]>();
	for (const h of history) {
		if (!Number.isFinite(h.t) || !Number.isFinite(h.value)) continue;
		const list = lists.get(h.metric);
		if (list) list.push(h);
		else lists.set(h.metric, [h]);
	}
	const out = new Map<string, Series>();
	for (const [metric, list] of lists) {
		list.sort((a, b) => a.t - b.t || a.value - b.value);
		const t: number[] = [];
		const v: number[] = [];
		for (let i = 0; i < list.length; i++) {
			if (i < list.length - 1 && list[i + 1].t === list[i].t) continue;
			t.push(list[i].t);
			v.push(list[i].value);
		}
		out.set(metric, { t, v });
	}
	return out;
}

/** The readings of a history in columns, as points (tests, and callers that want objects). */
export function toPoints(series: SeriesMap): HistoryPoint[] {
	const out: HistoryPoint[] = [];
	for (const [metric, s] of series) for (let i = 0; i < s.t.length; i++) out.push({ metric, t: s.t[i], value: s.v[i] });
	return out;
}

/** How many of an ascending list of times are ≤ at (binary search). */
function countUpTo(t: ArrayLike<number>, at: number, hi = t.length): number {
	let lo = 0;
	while (lo < hi) {
		const mid = (lo + hi) >>> 1;
		if (t[mid] <= at) lo = mid + 1;
		else hi = mid;
	}
	return lo;
}

/** First index in [0, hi) of an ascending list of times with t ≥ x (or > x when `strict`); hi when none. */
function firstFrom(t: ArrayLike<number>, x: number, hi: number, strict = false): number {
	let lo = 0;
	while (lo < hi) {
		const mid = (lo + hi) >>> 1;
		if (strict ? t[mid] <= x : t[mid] < x) lo = mid + 1;
		else hi = mid;
	}
	return lo;
}

/** Distinct observation times in a history, ascending: the natural `times` for `replay`. */
export function readingTimes(history: readonly HistoryPoint[]): number[] {
	return [...new Set(history.map((h) => h.t).filter(Number.isFinite))].sort((a, b) => a - b);
}

// ---- internals: context ------------------------------------------------------------------------------------------

interface Ctx {
	kind: SensorKind;
	thresholds: Record<string, unknown>;
	baseline: Record<string, unknown>;
	at: number;
	previous: Partial<Record<RuleId, RuleLevel>>;
	/** Every reading of the sensor in columns (the Series contract); a rule sees only those with t ≤ at. */
	series: SeriesMap;
	/** Specs by rule (and metric): they depend on the thresholds only, so one replay builds each once. */
	specs: Map<string, Spec>;
}

function base(input: Omit<EvaluateInput, 'at' | 'history'>, series: SeriesMap): Omit<Ctx, 'at' | 'previous'> {
	return {
		kind: input.kind,
		thresholds: isRecord(input.thresholds) ? input.thresholds : {},
		baseline: isRecord(input.baseline) ? input.baseline : {},
		series,
		specs: new Map()
	};
}

/** A metric's series and how many of its readings have t ≤ ctx.at (n = 0: none). */
function upTo(ctx: Ctx, metric: string): { s: Series; n: number } {
	const s = ctx.series.get(metric) ?? EMPTY;
	return { s, n: countUpTo(s.t, ctx.at) };
}

/** The last min(n, k) values of a series' first n, oldest first: what decide() looks at. */
function tail(v: ArrayLike<number>, n: number, k: number, f?: (x: number) => number): number[] {
	const out: number[] = [];
	for (let i = Math.max(0, n - k); i < n; i++) out.push(f ? f(v[i]) : v[i]);
	return out;
}

/** The sensor's override at `path` if it is a finite number, else the default at the same path (may be null). */
function setting(ctx: Ctx, tree: DefaultTree, path: string[]): number | null {
	let over: unknown = ctx.thresholds;
	let def: DefaultTree | DefaultValue = tree;
	for (const key of path) {
		over = isRecord(over) ? over[key] : undefined;
		def = isDefaultValue(def) ? def : def[key];
		if (def === undefined) break;
	}
	const o = finite(over);
	if (o !== undefined) return o;
	return def !== undefined && isDefaultValue(def) ? def.value : null;
}

function minRepeats(ctx: Ctx, rule: RuleId): number {
	return minRepeatsFor(ctx.thresholds, rule);
}

/** How many consecutive readings confirm a level of `rule` for a sensor with these thresholds (its override or the default). */
export function minRepeatsFor(thresholds: unknown, rule: RuleId): number {
	const raw = isRecord(thresholds) ? thresholds.min_repeats : undefined;
	const v = isRecord(raw) ? finite(raw[rule]) : finite(raw);
	if (v !== undefined && v >= 1) return Math.floor(v);
	return RULE_DEFAULTS[rule].minRepeats;
}

function hysteresis(ctx: Ctx, rule: RuleId, threshold: number): number {
	const raw = ctx.thresholds.hysteresis;
	const v = isRecord(raw) ? finite(raw[rule]) : undefined;
	if (v !== undefined && v >= 0) return v;
	const d = RULE_DEFAULTS[rule].hysteresis;
	return d ?? Math.abs(threshold) * DEFAULT_HYSTERESIS_FRACTION;
}

// ---- internals: banded decision with hysteresis and repeats -------------------------------------------------------

interface Band {
	level: Level;
	threshold: number;
	/** While this level is held, it stays until the value passes this (below it for 'above' rules). */
	clear: number;
}

interface Spec {
	rule: RuleId;
	/** Ascending by level rank; only configured levels. */
	bands: Band[];
	/** 'above': alarm when value ≥ threshold (or > when strict); 'below': alarm when value ≤ (or <) threshold. */
	direction: 'above' | 'below';
	strict: boolean;
	minRepeats: number;
}

/** Floating-point slack: a sum like 0.1 + 0.2 must count as reaching 0.3. */
const EPS = 1e-9;

function reaches(v: number, thr: number, spec: Spec): boolean {
	const slack = EPS * Math.max(1, Math.abs(thr));
	if (spec.direction === 'above') return spec.strict ? v > thr + slack : v >= thr - slack;
	return spec.strict ? v < thr - slack : v <= thr + slack;
}

function holds(v: number, clear: number, spec: Spec): boolean {
	const slack = EPS * Math.max(1, Math.abs(clear));
	return spec.direction === 'above' ? v >= clear - slack : v <= clear + slack;
}

function rawLevel(v: number, spec: Spec): Level | 'normal' {
	let level: Level | 'normal' = 'normal';
	for (const b of spec.bands) if (reaches(v, b.threshold, spec) && LEVEL_RANK[b.level] > LEVEL_RANK[level]) level = b.level;
	return level;
}

/**
 * Keeps the spec of `key` (a rule, or a rule and metric) for this context's thresholds: rules look it up as
 * `ctx.specs.get(key) ?? remember(ctx, key, makeSpec(…))`, so a spec is built once per replay and a step allocates
 * nothing for it (a closure per call would be a tenth of what judging allocates — `npm run bench:rules`).
 */
function remember(ctx: Ctx, key: string, spec: Spec): Spec {
	ctx.specs.set(key, spec);
	return spec;
}

/** The rule's spec for yellow/orange/red thresholds at `<key>.<level>` (override or default), exceeded going up. */
function upwardSpec(ctx: Ctx, rule: RuleId, tree: DefaultTree, key: string): Spec {
	return ctx.specs.get(rule) ?? remember(ctx, rule, makeSpec(ctx, rule, (['yellow', 'orange', 'red'] as const).map((l) => [l, setting(ctx, tree, [key, l])]), 'above'));
}

function makeSpec(ctx: Ctx, rule: RuleId, levels: [Level, number | null][], direction: Spec['direction'], strict = false): Spec {
	const bands: Band[] = [];
	for (const [level, threshold] of levels) {
		if (threshold === null) continue;
		const h = hysteresis(ctx, rule, threshold);
		bands.push({ level, threshold, clear: direction === 'above' ? threshold - h : threshold + h });
	}
	bands.sort((a, b) => LEVEL_RANK[a.level] - LEVEL_RANK[b.level]);
	return { rule, bands, direction, strict, minRepeats: minRepeats(ctx, rule) };
}

interface Decision {
	level: Level | 'normal';
	threshold?: number;
	/**
	 * Why the level is what it is, beyond "reached" (absent: nothing to add): held by hysteresis until the value passes
	 * `clear`, or the latest value reaches `raw` only `count` times in a row of the `need` that confirm it. Kept as
	 * figures, not words: the detail is written only when read (see Judgement).
	 */
	why?: { held: true; clear: number } | { held: false; raw: Level; threshold: number; count: number; need: number };
}

/**
 * `values` are the rule's judged values, oldest first, the last being the value at `at`. Rising needs the last
 * `minRepeats` values all to reach the level; the current level is held while the latest value stays past its clear value.
 * Only the last `minRepeats` values matter (the repeat count in the note is below `minRepeats` whenever it is
 * shown, so it never reaches further back): callers pass just those — see tail() — or a whole series with the range
 * `from … to` of them.
 */
function decide(values: ArrayLike<number>, spec: Spec, previous: RuleLevel | undefined, from = 0, to = values.length): Decision {
	// `values[from … to)` are judged (a series' last values are passed in place: no copy per step).
	const latest = values[to - 1];
	const prev: Level | 'normal' = previous && previous !== 'unknown' && isRanked(previous) ? previous : 'normal';
	let confirmed: Level | 'normal' = 'normal';
	if (to - from >= spec.minRepeats) {
		confirmed = rawLevel(values[to - spec.minRepeats], spec);
		for (let i = to - spec.minRepeats + 1; i < to; i++) {
			const l = rawLevel(values[i], spec);
			if (LEVEL_RANK[l] < LEVEL_RANK[confirmed]) confirmed = l;
		}
	}
	// Hysteresis: from the previous level downward, the first band whose clear value the latest value still holds.
	let held: Level | 'normal' = 'normal';
	for (let i = spec.bands.length - 1; i >= 0; i--) {
		const b = spec.bands[i];
		if (LEVEL_RANK[b.level] <= LEVEL_RANK[prev] && holds(latest, b.clear, spec)) {
			held = b.level;
			break;
		}
	}
	const level = LEVEL_RANK[confirmed] >= LEVEL_RANK[held] ? confirmed : held;
	const band = bandOf(spec, level);
	const raw = rawLevel(latest, spec);
	const d: Decision = { level, threshold: band?.threshold ?? spec.bands[0]?.threshold };
	if (level !== 'normal' && LEVEL_RANK[raw] < LEVEL_RANK[level] && band) {
		d.why = { held: true, clear: band.clear };
	} else if (raw !== 'normal' && LEVEL_RANK[raw] > LEVEL_RANK[level]) {
		const threshold = bandOf(spec, raw)!.threshold;
		let count = 0;
		for (let i = to - 1; i >= from && reaches(values[i], threshold, spec); i--) count++;
		d.why = { held: false, raw, threshold, count, need: spec.minRepeats };
	}
	return d;
}

/** The band of `level` in a spec (none for normal, or a level the sensor has no threshold for). */
function bandOf(spec: Spec, level: Level | 'normal'): Band | undefined {
	for (const b of spec.bands) if (b.level === level) return b;
	return undefined;
}

/** The words for Decision.why, after the reached/normal clause. */
function note(d: Decision): string {
	const w = d.why;
	if (!w) return '';
	if (w.held) return `，未越过解除值 ${fmt(w.clear)}，保持${STATUS_NAMES[d.level].zh}`;
	return `，达到${STATUS_NAMES[w.raw].zh}阈值 ${fmt(w.threshold)} 仅 ${w.count} 次，需连续 ${w.need} 次确认`;
}

/**
 * A rule's judgement at one time. Its Chinese `detail` is written each time it is read, from figures kept here: a replay
 * judges every step of every rule, and the rule runner reads the detail only of the steps that raise, change or clear
 * an alarm — formatting every step's would be most of what judging allocates (`npm run bench:rules`). Own fields are
 * exactly what the detail is made of, so two judgements with equal fields have equal details.
 */
class Judgement implements RuleResult {
	threshold?: number;
	constructor(
		readonly rule: RuleId,
		readonly level: Level | 'normal',
		readonly value: number,
		private readonly decision: Decision,
		private readonly what: string,
		private readonly unit: string,
		private readonly cmp: string,
		private readonly prefix: string
	) {
		if (decision.threshold !== undefined) this.threshold = decision.threshold;
	}

	get detail(): string {
		const d = this.decision;
		const body =
			d.level === 'normal'
				? `${this.what} ${fmt(this.value)}${this.unit}，正常${note(d)}`
				: `${this.what} ${fmt(this.value)}${this.unit}，${this.cmp}${STATUS_NAMES[d.level].zh}阈值 ${fmt(d.threshold!)}${this.unit}${note(d)}`;
		return this.prefix + body;
	}

	/** As a plain RuleResult (JSON.stringify would not see the getter). */
	toJSON(): RuleResult {
		const r: RuleResult = { rule: this.rule, level: this.level, value: this.value, detail: this.detail };
		if (this.threshold !== undefined) r.threshold = this.threshold;
		return r;
	}
}

/** `prefix` goes before the detail when the level is not normal (the battery rule's '电量低：'). */
function result(rule: RuleId, d: Decision, value: number, what: string, unit: string, spec: Spec, prefix = ''): RuleResult {
	const cmp = spec.direction === 'above' ? (spec.strict ? '超过' : '达到') : spec.strict ? '低于' : '不高于';
	return new Judgement(rule, d.level, value, d, what, unit, cmp, d.level === 'normal' ? '' : prefix);
}

function unknown(rule: RuleId, detail: string): RuleResult {
	return { rule, level: 'unknown', value: 0, detail };
}

// ---- internals: the rules ----------------------------------------------------------------------------------------

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

type RuleFn = (ctx: Ctx, rule: RuleId) => RuleResult;

const river = DEFAULT_THRESHOLDS.river_level as DefaultTree;

/** Latest water level vs the station's 警戒水位 (orange) and 保证水位 (red) — DOMAIN.md river_level. */
const levelRule: RuleFn = (ctx, rule) => {
	const spec =
		ctx.specs.get(rule) ??
		remember(ctx, rule, makeSpec(ctx, rule, [['orange', setting(ctx, river, ['warning_level_m'])], ['red', setting(ctx, river, ['guarantee_level_m'])]], 'above'));
	if (spec.bands.length === 0) return unknown(rule, '未配置警戒水位/保证水位，无法判定');
	const { s, n } = upTo(ctx, 'water_level_m');
	if (n === 0) return unknown(rule, '无水位数据');
	return result(rule, decide(s.v, spec, ctx.previous[rule], Math.max(0, n - spec.minRepeats), n), s.v[n - 1], '水位', ' m', spec);
};

/**
 * Rise over a window ending at `at`: latest reading minus the reading nearest to at − window among those inside
 * [at − window, at] (start inclusive). Not extrapolated: a rise seen over a shorter span is a lower bound of the rise
 * over the full window, so a short history cannot turn gauge noise into an alarm. Needs ≥ 2 readings in the window.
 * The rise series for repeats is not needed (minRepeats 1), so only the value at `at` is judged.
 */
function changeOver(ctx: Ctx, metric: string, windowMs: number): { change: number; spanMs: number } | null {
	const { s, n } = upTo(ctx, metric);
	const first = firstFrom(s.t, ctx.at - windowMs, n);
	if (n - first < 2) return null;
	return { change: s.v[n - 1] - s.v[first], spanMs: s.t[n - 1] - s.t[first] };
}

const riseRule = (windowMs: number, key: string, label: string): RuleFn => {
	const what = `${label}涨幅`;
	const tooFew = `${label}内水位读数不足 2 个，无法计算涨幅`;
	return (ctx, rule) => {
		const c = changeOver(ctx, 'water_level_m', windowMs);
		if (!c) return unknown(rule, tooFew);
		const spec = ctx.specs.get(rule) ?? remember(ctx, rule, makeSpec(ctx, rule, [['yellow', setting(ctx, river, [key])]], 'above'));
		if (spec.bands.length === 0) return unknown(rule, '未配置涨幅阈值');
		return result(rule, decide([c.change], spec, ctx.previous[rule]), c.change, what, ' m', spec);
	};
};

/**
 * The newest `k` tilt samples up to `at`, oldest first: one sample per observation time of either axis, each axis
 * carried forward from its latest reading, and none before both axes have one. Walks back from the newest reading,
 * so a long history costs nothing.
 */
function tiltSamples(ctx: Ctx, k: number): { x: number; y: number }[] {
	const { s: xs, n: nx } = upTo(ctx, 'tilt_x_deg');
	const { s: ys, n: ny } = upTo(ctx, 'tilt_y_deg');
	const out: { x: number; y: number }[] = [];
	let i = nx;
	let j = ny;
	// At each union time (newest first) the carried values are xs[i − 1] and ys[j − 1]; stop once an axis has none.
	while (out.length < k && i > 0 && j > 0) {
		const tx = xs.t[i - 1];
		const ty = ys.t[j - 1];
		out.push({ x: xs.v[i - 1], y: ys.v[j - 1] });
		const time = Math.max(tx, ty);
		if (tx === time) i--;
		if (ty === time) j--;
	}
	return out.reverse();
}

/** Tilt % = tan θ × 100, θ the resultant of the x and y changes from the calibrated baseline (DOMAIN.md house_tilt). */
export function tiltPct(dxDeg: number, dyDeg: number): number {
	const theta = Math.hypot(dxDeg, dyDeg);
	return Math.tan((theta * Math.PI) / 180) * 100;
}

const tiltRule: RuleFn = (ctx, rule) => {
	const bx = finite(ctx.baseline.tilt_x_deg);
	const by = finite(ctx.baseline.tilt_y_deg);
	if (bx === undefined || by === undefined) return unknown(rule, '缺少倾角基准值（tilt_x_deg/tilt_y_deg），需先标定');
	const t = DEFAULT_THRESHOLDS.house_tilt as DefaultTree;
	const spec =
		ctx.specs.get(rule) ??
		remember(ctx, rule, makeSpec(ctx, rule, (['blue', 'yellow', 'orange', 'red'] as const).map((l) => [l, setting(ctx, t, ['tilt_pct', l])]), 'above'));
	const samples = tiltSamples(ctx, spec.minRepeats);
	if (samples.length === 0) return unknown(rule, '无倾角数据');
	const values = samples.map((s) => tiltPct(s.x - bx, s.y - by));
	return result(rule, decide(values, spec, ctx.previous[rule]), values[values.length - 1], '相对基准倾斜率', '%', spec);
};

/** Crack change = |width − baseline|: a gauge that closes as much as it opens signals the same structural movement. */
const crackRule: RuleFn = (ctx, rule) => {
	const base = finite(ctx.baseline.crack_mm);
	if (base === undefined) return unknown(rule, '缺少裂缝基准值（crack_mm），需先标定');
	const { s, n } = upTo(ctx, 'crack_mm');
	if (n === 0) return unknown(rule, '无裂缝数据');
	const c = DEFAULT_THRESHOLDS.crack as DefaultTree;
	const spec = upwardSpec(ctx, rule, c, 'change_mm');
	const values = tail(s.v, n, spec.minRepeats, (v) => Math.abs(v - base));
	return result(rule, decide(values, spec, ctx.previous[rule]), values[values.length - 1], '裂缝相对基准变化', ' mm', spec);
};

/**
 * Rolling rain sum over (at − window, at]: start exclusive, end inclusive. A report's rain_mm is the amount fallen in
 * the period *ending* at its time, so a report stamped exactly at − window measured rain before the window. A window
 * with no report at all is 'unknown' (the gauge said nothing; offline detection says why). A history shorter than
 * the window gives a lower bound, which is still a true exceedance when it reaches a threshold.
 */
const rainRule = (windowMs: number, key: '1h' | '3h' | '6h' | '24h'): RuleFn => (ctx, rule) => {
	const { s, n } = upTo(ctx, 'rain_mm');
	const first = firstFrom(s.t, ctx.at - windowMs, n, true);
	if (first === n) return unknown(rule, `近${key.replace('h', '小时')}无雨量数据`);
	// Oldest first, as the sum always was: the same floating-point result.
	let sum = 0;
	for (let i = first; i < n; i++) sum += s.v[i];
	const r = DEFAULT_THRESHOLDS.rain_gauge as DefaultTree;
	const spec =
		ctx.specs.get(rule) ??
		remember(ctx, rule, makeSpec(ctx, rule, (['blue', 'yellow', 'orange', 'red'] as const).map((l) => [l, setting(ctx, r, ['sum_mm', key, l])]), 'above'));
	return result(rule, decide([sum], spec, ctx.previous[rule]), sum, `近${key.replace('h', '小时')}累计雨量`, ' mm', spec);
};

/** Settlement: |change| within the last 30 days, strictly > 4 mm (DOMAIN.md "> 4 mm/month"); see changeOver. */
const settlementRule: RuleFn = (ctx, rule) => {
	const c = changeOver(ctx, 'settlement_mm', 30 * DAY);
	if (!c) return unknown(rule, '近30天沉降读数不足 2 个，无法计算速率');
	const s = DEFAULT_THRESHOLDS.settlement as DefaultTree;
	const spec = ctx.specs.get(rule) ?? remember(ctx, rule, makeSpec(ctx, rule, [['yellow', setting(ctx, s, ['rate_mm_per_month', 'yellow'])]], 'above', true));
	const v = Math.abs(c.change);
	return result(rule, decide([v], spec, ctx.previous[rule]), v, '近30天沉降变化', ' mm', spec);
};

/** Displacement: |change| within the last 24 h against mm/day bands (DOMAIN.md "rate of change per day, per site"). */
const displacementRule: RuleFn = (ctx, rule) => {
	const c = changeOver(ctx, 'displacement_mm', DAY);
	if (!c) return unknown(rule, '近24小时位移读数不足 2 个，无法计算速率');
	const d = DEFAULT_THRESHOLDS.displacement as DefaultTree;
	const spec = upwardSpec(ctx, rule, d, 'rate_mm_per_day');
	const v = Math.abs(c.change);
	return result(rule, decide([v], spec, ctx.previous[rule]), v, '近24小时位移变化', ' mm', spec);
};

const soilRule: RuleFn = (ctx, rule) => {
	const { s: series, n } = upTo(ctx, 'soil_moisture_pct');
	if (n === 0) return unknown(rule, '无土壤含水率数据');
	const s = DEFAULT_THRESHOLDS.soil_moisture as DefaultTree;
	const spec = upwardSpec(ctx, rule, s, 'pct');
	return result(rule, decide(series.v, spec, ctx.previous[rule], Math.max(0, n - spec.minRepeats), n), series.v[n - 1], '土壤含水率', '%', spec);
};

const BATTERY_CANDIDATES: readonly { metric: string; key: string; unit: string; label: string; spec: string }[] = [
	{ metric: 'battery_v', key: 'low_v', unit: ' V', label: '电池电压', spec: 'battery_low:battery_v' },
	{ metric: 'battery_pct', key: 'low_pct', unit: '%', label: '电量', spec: 'battery_low:battery_pct' }
];

/**
 * battery_v < 3.4 V or battery_pct < 15 % → blue, detail '电量低'. Device health is deliberately the lowest colour:
 * a flat battery endangers nobody by itself; it routes to the device maintainer (DOMAIN.md incident source "device
 * health", category 设备故障), and the offline timer catches the battery that actually dies. Voltage wins when a
 * device reports both; hysteresis clears 5 % above the low mark so a battery sagging under radio load does not flap.
 */
const batteryRule: RuleFn = (ctx, rule) => {
	const dev = DEFAULT_THRESHOLDS.device as DefaultTree;
	let best: RuleResult | null = null;
	for (const c of BATTERY_CANDIDATES) {
		const { s, n } = upTo(ctx, c.metric);
		if (n === 0) continue;
		const spec = ctx.specs.get(c.spec) ?? remember(ctx, c.spec, makeSpec(ctx, rule, [['blue', setting(ctx, dev, ['battery', c.key])]], 'below', true));
		if (spec.bands.length === 0) continue;
		const d = decide(s.v, spec, ctx.previous[rule], Math.max(0, n - spec.minRepeats), n);
		const r = result(rule, d, s.v[n - 1], c.label, c.unit, spec, '电量低：');
		if (!best || (best.level === 'normal' && r.level !== 'normal')) best = r;
	}
	return best ?? unknown(rule, '未上报电量');
};

// ---- GNSS surface displacement (gnss_displacement; defaults and sources: sensor-kinds.ts, docs/sensor-kinds.md) ------

const GNSS_E = 'gnss_east_mm';
const GNSS_N = 'gnss_north_mm';

/**
 * The newest `k` horizontal GNSS samples up to `at`, oldest first: one per observation time of either axis, each axis
 * carried forward from its latest solution, none before both axes have one (receivers send E, N, U together; a lost
 * value must not pair a new east with nothing).
 */
function gnssSamples(ctx: Ctx, k: number): { e: number; n: number }[] {
	const { s: es, n: ne } = upTo(ctx, GNSS_E);
	const { s: ns, n: nn } = upTo(ctx, GNSS_N);
	const out: { e: number; n: number }[] = [];
	let i = ne;
	let j = nn;
	while (out.length < k && i > 0 && j > 0) {
		const te = es.t[i - 1];
		const tn = ns.t[j - 1];
		out.push({ e: es.v[i - 1], n: ns.v[j - 1] });
		const time = Math.max(te, tn);
		if (te === time) i--;
		if (tn === time) j--;
	}
	return out.reverse();
}

/**
 * Horizontal cumulative displacement √(ΔE² + ΔN²) from the baseline. The metrics are already relative to the station's
 * reference position (DOMAIN.md), so an uncalibrated station counts from 0; a calibrated baseline (gnss_east_mm,
 * gnss_north_mm) re-zeroes it. The marks are per slope: with none configured the rule says so instead of guessing.
 */
const gnssCumulativeRule: RuleFn = (ctx, rule) => {
	const tree = DEFAULT_THRESHOLDS.gnss_displacement as DefaultTree;
	const spec = upwardSpec(ctx, rule, tree, 'horizontal_mm');
	if (spec.bands.length === 0) return unknown(rule, '未设定本坡体的累计位移阈值（horizontal_mm），无法判定');
	const samples = gnssSamples(ctx, spec.minRepeats);
	if (samples.length === 0) return unknown(rule, '无GNSS东向/北向位移数据');
	const be = finite(ctx.baseline[GNSS_E]) ?? 0;
	const bn = finite(ctx.baseline[GNSS_N]) ?? 0;
	const values = samples.map((s) => Math.hypot(s.e - be, s.n - bn));
	return result(rule, decide(values, spec, ctx.previous[rule]), values[values.length - 1], '水平累计位移', ' mm', spec);
};

/**
 * Horizontal movement within the 24 h ending at time `t`: the vector change of E and N between the latest solution
 * and the one nearest t − 24 h inside the window (as changeOver: not extrapolated, so a short record gives a lower
 * bound). null when either axis has fewer than 2 solutions in the window.
 */
function gnssDayChange(ctx: Ctx, t: number): number | null {
	const es = ctx.series.get(GNSS_E) ?? EMPTY;
	const ns = ctx.series.get(GNSS_N) ?? EMPTY;
	const ne = countUpTo(es.t, t);
	const nn = countUpTo(ns.t, t);
	const fe = firstFrom(es.t, t - DAY, ne);
	const fn = firstFrom(ns.t, t - DAY, nn);
	if (ne - fe < 2 || nn - fn < 2) return null;
	return Math.hypot(es.v[ne - 1] - es.v[fe], ns.v[nn - 1] - ns.v[fn]);
}

/**
 * Rate: horizontal movement over the last 24 h in mm/day, judged at the newest east solutions (minRepeats of them).
 * Once the township sets the slope's uniform-phase rate v (tangent_angle.uniform_rate_mm_per_day), the same rate is
 * judged as the improved tangent angle α = arctan(rate / v) against 45° / 80° / 85° (许强 et al. 2008, DOMAIN.md
 * gnss): α above 45° means the slope moves faster than in its uniform phase — it is accelerating.
 */
const gnssRateRule: RuleFn = (ctx, rule) => {
	const tree = DEFAULT_THRESHOLDS.gnss_displacement as DefaultTree;
	const v0 = setting(ctx, tree, ['tangent_angle', 'uniform_rate_mm_per_day']);
	const angle = v0 !== null && v0 > 0;
	const spec =
		ctx.specs.get(rule) ??
		remember(
			ctx,
			rule,
			angle
				? makeSpec(ctx, rule, (['yellow', 'orange', 'red'] as const).map((l) => [l, setting(ctx, tree, ['tangent_angle', l])]), 'above', true)
				: makeSpec(ctx, rule, (['yellow', 'orange', 'red'] as const).map((l) => [l, setting(ctx, tree, ['rate_mm_per_day', l])]), 'above')
		);
	if (spec.bands.length === 0) return unknown(rule, '未设定本坡体的位移速率阈值，无法判定');
	const { s: es, n: ne } = upTo(ctx, GNSS_E);
	const values: number[] = [];
	for (let i = Math.max(0, ne - spec.minRepeats); i < ne; i++) {
		const c = gnssDayChange(ctx, es.t[i]);
		if (c !== null) values.push(angle ? (Math.atan(c / v0) * 180) / Math.PI : c);
	}
	if (values.length === 0) return unknown(rule, '近24小时GNSS解算不足 2 个，无法计算位移速率');
	const latest = values[values.length - 1];
	return angle
		? result(rule, decide(values, spec, ctx.previous[rule]), latest, `改进切线角（等速 ${fmt(v0)} mm/d）`, '°', spec)
		: result(rule, decide(values, spec, ctx.previous[rule]), latest, '近24小时水平位移', ' mm', spec);
};

const RULE_FNS: Record<RuleId, RuleFn> = {
	level: levelRule,
	rise_15min: riseRule(15 * MIN, 'rise_per_15min_m', '15分钟'),
	rise_1h: riseRule(HOUR, 'rise_per_hour_m', '1小时'),
	tilt: tiltRule,
	crack: crackRule,
	rain_1h: rainRule(HOUR, '1h'),
	rain_3h: rainRule(3 * HOUR, '3h'),
	rain_6h: rainRule(6 * HOUR, '6h'),
	rain_24h: rainRule(24 * HOUR, '24h'),
	settlement_rate: settlementRule,
	displacement_rate: displacementRule,
	soil_moisture: soilRule,
	gnss_cumulative: gnssCumulativeRule,
	gnss_rate: gnssRateRule,
	battery_low: batteryRule
};

// ---- small helpers -----------------------------------------------------------------------------------------------

function isRecord(v: unknown): v is Record<string, unknown> {
	return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isDefaultValue(v: unknown): v is DefaultValue {
	return isRecord(v) && 'source' in v && 'value' in v;
}

function finite(v: unknown): number | undefined {
	return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** Up to 3 decimals, trailing zeros dropped: details read '0.45%', not '0.4500000001%'. */
function fmt(v: number): string {
	return String(Math.round(v * 1000) / 1000);
}

function deepFreeze<T>(o: T): T {
	if (typeof o === 'object' && o !== null) {
		for (const v of Object.values(o)) deepFreeze(v);
		Object.freeze(o);
	}
	return o;
}
