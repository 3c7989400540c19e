// Suspect data (可疑数据): readings no physical process makes — a value that jumps further than the thing measured can
// move between two reports, or a value stuck at exactly the same number report after report (a frozen sensor, a
// stuck ADC, a firmware resending its last value). Pure — no I/O and no clock; the rule runner (ingest/rule-runner.ts)
// keeps the per-sensor state between passes and stores the flags (READING_FLAGS in ./types.ts).
//
// What a suspect reading does (issue 22 item 7): it is flagged, shown as such, and the maintainer is told; it never
// raises an alarm by itself. A jump is held out of the rules until the next reading agrees with it (a confirmed
// level: a real sudden change stays where it went); a jump the next reading disagrees with is a spike and stays out
// for good. A stuck value is only flagged: it raises nothing new by itself (the rules already judged the value when
// it first arrived), and hiding it could hide a real alarm.
//
// Every limit is a default with a reason, overridable per sensor in its thresholds JSON under `suspect`:
//   { "suspect": { "stuck_repeats": 24, "max_step": { "tilt_x_deg": 3 }, "max_rate_per_min": { "water_level_m": 0.3 } } }
// (`stuck_repeats` as one number for every metric, or per metric; 0 turns the stuck check off for it).

/** Plausibility limits of one metric. null = that check does not apply to the metric. */
export interface PlausibleLimits {
	/** Largest believable change between two consecutive reports, whatever the time between them (metric's unit). */
	maxStep: number | null;
	/** Largest believable change per minute (metric's unit); intervals under a minute count as one minute. */
	maxRatePerMin: number | null;
	/** Identical values in a row from which the run is flagged as stuck. */
	stuckAfter: number | null;
}

export interface SuspectDefault extends PlausibleLimits {
	source: string;
}

/**
 * Defaults per metric. The jump limits are far beyond anything the measured thing does while the sensor is still in
 * place — so they catch only what a sensor glitch, a knocked-over mount or a unit mix-up makes — and a real extreme
 * change is still judged once the next reading agrees. Metrics not listed (rain per period, battery, radio) are not
 * checked: a rain gauge reads 0 for days on end, and a rain burst has no "previous level" to jump from.
 */
export const SUSPECT_DEFAULTS: Readonly<Record<string, SuspectDefault>> = Object.freeze({
	// The front of a flash flood in a mountain stream can lift a gauge a metre or more within a minute, and that is
	// exactly when the alarm must not wait: 2 m/min lets such a front through and still calls "a river rising 5 m in
	// one minute" a glitch. Water levels read to the centimetre sit still for hours in the dry season: only 36 identical
	// reports (6 h at the default 10-min interval) count as stuck.
	water_level_m: { maxStep: null, maxRatePerMin: 2, stuckAfter: 36, source: 'shudi default: beyond a flash-flood front (a metre or more a minute); 6 h unchanged at 10-min reports' },
	// A house leaning 5° further between two reports has failed (tan 5° = 8.7 %, three times the red line of 3 %), or
	// the sensor was knocked off its mount. Tilt meters read to 0.001° and drift with temperature every few reports:
	// 12 identical reports (2 h at 10 min) is a frozen sensor.
	tilt_x_deg: { maxStep: 5, maxRatePerMin: 1, stuckAfter: 12, source: 'shudi default: 5° between reports is a collapsed house or a knocked sensor; 2 h unchanged at 0.001°' },
	tilt_y_deg: { maxStep: 5, maxRatePerMin: 1, stuckAfter: 12, source: 'shudi default: 5° between reports is a collapsed house or a knocked sensor; 2 h unchanged at 0.001°' },
	// Crack gauges read to 0.01 mm; 20 mm between reports is four times the red change of 5 mm.
	crack_mm: { maxStep: 20, maxRatePerMin: 5, stuckAfter: 12, source: 'shudi default: 4 × the red change between two reports; 2 h unchanged at 0.01 mm' },
	settlement_mm: { maxStep: 50, maxRatePerMin: 10, stuckAfter: null, source: 'shudi default: 50 mm between reports; settlement is slow, a still value is normal' },
	displacement_mm: { maxStep: null, maxRatePerMin: 100, stuckAfter: 12, source: 'shudi default: 100 mm/min is slope failure, judged once confirmed; GNSS/extensometer noise moves every report' },
	soil_moisture_pct: { maxStep: 60, maxRatePerMin: 20, stuckAfter: 36, source: 'shudi default: 20 points a minute is beyond infiltration; 6 h unchanged' }
});

function isRecord(v: unknown): v is Record<string, unknown> {
	return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nonNegative(v: unknown): number | undefined {
	return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** A metric's limits for a sensor: its thresholds.suspect overrides, else the default; null when nothing applies. */
export function limitsFor(metric: string, thresholds: unknown): PlausibleLimits | null {
	const def = SUSPECT_DEFAULTS[metric];
	const over = isRecord(thresholds) && isRecord(thresholds.suspect) ? thresholds.suspect : {};
	const pick = (key: string): number | undefined => {
		const raw = over[key];
		return isRecord(raw) ? nonNegative(raw[metric]) : undefined;
	};
	const stuckRaw = over.stuck_repeats;
	const stuck = isRecord(stuckRaw) ? nonNegative(stuckRaw[metric]) : nonNegative(stuckRaw);
	const out: PlausibleLimits = {
		maxStep: pick('max_step') ?? def?.maxStep ?? null,
		maxRatePerMin: pick('max_rate_per_min') ?? def?.maxRatePerMin ?? null,
		// 0 or 1 would call every reading stuck: 0 turns the check off, anything below 2 is no run at all.
		stuckAfter: stuck !== undefined ? (stuck >= 2 ? Math.floor(stuck) : null) : (def?.stuckAfter ?? null)
	};
	return out.maxStep === null && out.maxRatePerMin === null && out.stuckAfter === null ? null : out;
}

const MINUTE = 60_000;

/** Is going from value `va` at `ta` to `vb` at `tb` (ms) a change no physical process makes? */
export function implausible(ta: number, va: number, tb: number, vb: number, lim: PlausibleLimits): boolean {
	const change = Math.abs(vb - va);
	if (lim.maxStep !== null && change > lim.maxStep) return true;
	if (lim.maxRatePerMin !== null && change > lim.maxRatePerMin * Math.max(1, Math.abs(tb - ta) / MINUTE)) return true;
	return false;
}

/** One metric's readings in columns, ascending by time (the rules' Series). */
export interface Columns {
	readonly t: ArrayLike<number>;
	readonly v: ArrayLike<number>;
}

/**
 * What is held out of one metric's series, by observation time: 'pending' = a jump waiting for the next reading,
 * 'spike' = a jump the next reading disagreed with. Confirmed jumps are simply no longer here.
 */
export type SuspectState = Map<number, 'pending' | 'spike'>;

export interface ScanResult {
	/** Times newly found to be jumps (flag them suspect). */
	jumps: number[];
	/** Pending jumps the next reading agreed with (judge them again; the suspect flag may go). */
	confirmed: number[];
	/** Times newly found inside a stuck run of at least stuckAfter identical values (flag them). */
	stuck: number[];
	/** A stuck run reached its length at these times (tell the maintainer once per run). */
	stuckStarts: number[];
}

/**
 * Judges the readings at `indices` (ascending; the new and late ones) of series `s` against `lim`, updating `state`.
 * Each index is compared with the reading before it — or, when that one is held out, the last one before it that is
 * not — and, where it confirms or refutes a pending jump just before it, settles that jump.
 */
export function scanSuspects(s: Columns, indices: readonly number[], lim: PlausibleLimits, state: SuspectState): ScanResult {
	const out: ScanResult = { jumps: [], confirmed: [], stuck: [], stuckStarts: [] };
	const jumpsOn = lim.maxStep !== null || lim.maxRatePerMin !== null;
	for (const i of indices) {
		if (i < 0 || i >= s.t.length) continue;
		const t = s.t[i];
		const v = s.v[i];
		if (jumpsOn && i > 0) {
			const before = s.t[i - 1];
			if (state.get(before) === 'pending') {
				if (implausible(before, s.v[i - 1], t, v, lim)) state.set(before, 'spike');
				else {
					state.delete(before);
					out.confirmed.push(before);
				}
			}
			let j = i - 1;
			while (j >= 0 && state.has(s.t[j])) j--;
			if (j >= 0 && implausible(s.t[j], s.v[j], t, v, lim)) {
				if (!state.has(t)) out.jumps.push(t);
				state.set(t, 'pending');
			} else if (state.get(t) === 'pending') {
				// A late reading slotted in before it makes this one plausible after all.
				state.delete(t);
				out.confirmed.push(t);
			}
		}
		if (lim.stuckAfter !== null) {
			let run = 1;
			while (run < lim.stuckAfter + 1 && i - run >= 0 && s.v[i - run] === v) run++;
			if (run >= lim.stuckAfter) {
				out.stuck.push(t);
				if (run === lim.stuckAfter) out.stuckStarts.push(t);
			}
		}
	}
	return out;
}

/** The series without its held-out times (a copy), or `s` itself when none of them is in it. */
export function withoutHeld<S extends Columns>(s: S, state: SuspectState | undefined): S | Columns {
	if (!state || state.size === 0) return s;
	const t: number[] = [];
	const v: number[] = [];
	let dropped = 0;
	for (let i = 0; i < s.t.length; i++) {
		if (state.has(s.t[i])) {
			dropped++;
			continue;
		}
		t.push(s.t[i]);
		v.push(s.v[i]);
	}
	return dropped ? { t, v } : s;
}

/** Forgets held-out times before `since` (out of every look-back). */
export function forgetBefore(state: SuspectState, since: number): void {
	for (const t of state.keys()) if (t < since) state.delete(t);
}
