// The profile engine: one decoded item (as a dialect decoder hands it over) through a device profile into values
// under shudi metric names, in shudi units, with the device's time as epoch milliseconds. Pure, so the ingest and
// the admin pages' preview run the very same code. What it cannot map it returns, never drops:
//   unmapped  keys no field, ignore or fault entry names (the ingest dead-letters them `unknown_metric`, so an admin
//             can map one and replay); a whole unnamed subtree is one key (`history`), not one per leaf;
//   rejected  values a field names but cannot read: not_a_number, not_finite, unknown_unit, wrong_unit, no_value,
//             sensor_fault, needs_offset, bad_timestamp.
// Order of arithmetic: text → number (and its own unit) → × scale + offset (in the source unit) → metric unit.
import { isKnownMetric, METRICS } from '../metrics.js';
import { UNIT_DIMENSION, type DeviceProfile, type ProfileField, type SourceUnit, type TimeUnit } from './schema.js';

export interface ProfileItem {
	ts: unknown;
	seq?: unknown;
	values: Record<string, unknown>;
}

export interface ApplyResult {
	item: ProfileItem;
	/** Items of the profile's series (a backlog array), each with its own time; empty without one. */
	series: ProfileItem[];
	unmapped: { key: string; value: unknown }[];
	rejected: { key: string; value: unknown; reason: string }[];
}

export interface ApplyOptions {
	/** Zone of wall-clock time strings (config TZ_DISPLAY). */
	timeZone: string;
}

/** How many of each unit make one of its dimension's base unit (m, V, °, %, °C …); slopes and °F convert apart. */
const PER_BASE: Partial<Record<SourceUnit, number>> = { m: 1, cm: 100, mm: 1000, V: 1, mV: 1000, '°': 1, deg: 1, rad: Math.PI / 180, '%': 1, '°C': 1, dBm: 1, dB: 1 };

/** Unit spellings seen in vendors' text values ("3.384 V", "25.30 °C", "1234 mm"). */
const UNIT_ALIASES: Record<string, SourceUnit> = {
	m: 'm', cm: 'cm', mm: 'mm', v: 'V', mv: 'mV', '°': '°', deg: 'deg', rad: 'rad', '‰': '‰', '%': '%',
	'°c': '°C', '℃': '°C', c: '°C', '°f': '°F', '℉': '°F', dbm: 'dBm', db: 'dB'
};

/** The converter from a source unit into a metric's unit, or undefined when they measure different things. */
function converter(from: SourceUnit, metric: string): ((v: number) => number) | undefined {
	const to = METRICS[metric].unit as SourceUnit;
	const fromDim = UNIT_DIMENSION[from];
	const toDim = UNIT_DIMENSION[to];
	if (from === to) return (v) => v;
	if (fromDim === 'slope' && toDim === 'angle') {
		// tilt % = tan θ × 100 (DOMAIN.md tilt rule); ‰ likewise × 1000.
		const per = from === '‰' ? 1000 : 100;
		return (v) => (Math.atan(v / per) * 180) / Math.PI;
	}
	if (fromDim !== toDim) return undefined;
	if (from === '°F') return (v) => ((v - 32) * 5) / 9;
	if (to === '°F') return undefined;
	const ratio = PER_BASE[to]! / PER_BASE[from]!;
	// Divide by a whole factor rather than multiply by its inverse: 1234 mm is 1.234 m, not 1.2340000000000002.
	if (ratio >= 1) return (v) => v * ratio;
	const inverse = PER_BASE[from]! / PER_BASE[to]!;
	return Number.isInteger(inverse) ? (v) => v / inverse : (v) => v * ratio;
}

type Segs = string[];

/** `sensors[0].value` → ['sensors', '0', 'value']. */
export function splitPath(path: string): Segs {
	const out: string[] = [];
	for (const part of path.split('.')) {
		const m = /^([^[]+)((?:\[\d+\])*)$/.exec(part);
		if (!m) {
			out.push(part);
			continue;
		}
		out.push(m[1]);
		for (const idx of m[2].matchAll(/\[(\d+)\]/g)) out.push(idx[1]);
	}
	return out;
}

function joinPath(base: string, key: string, inArray: boolean): string {
	if (inArray) return `${base}[${key}]`;
	return base ? `${base}.${key}` : key;
}

function hasOwn(o: object, k: string): boolean {
	return Object.prototype.hasOwnProperty.call(o, k);
}

function getAt(root: Record<string, unknown>, segs: Segs): unknown {
	let cur: unknown = root;
	for (let i = 0; i < segs.length; i++) {
		if (typeof cur !== 'object' || cur === null || !hasOwn(cur, segs[i])) return undefined;
		cur = (cur as Record<string, unknown>)[segs[i]];
	}
	return cur;
}

interface CompiledField {
	path: string;
	segs: Segs;
	metric: string;
	unit: SourceUnit;
	convert: (v: number) => number;
	scale: number;
	offset: number | undefined;
	needsOffset: boolean;
	enumMap: Map<string, number | null | 'fault'> | undefined;
}

/** A claim tree over key paths: a leaf is taken whole (field, ignore, fault, time); `native` passes metric keys. */
interface ClaimNode {
	children: Map<string, ClaimNode>;
	leaf: boolean;
	native: boolean;
}

export interface CompiledProfile {
	readonly profile: DeviceProfile;
	readonly fields: CompiledField[];
	readonly faults: { path: string; segs: Segs }[];
	readonly time: { path: string; segs: Segs; unit: TimeUnit } | undefined;
	readonly nativeUnder: Segs | undefined;
	readonly claims: ClaimNode;
	readonly series: { path: string; segs: Segs; profile: CompiledProfile } | undefined;
}

function node(): ClaimNode {
	return { children: new Map(), leaf: false, native: false };
}

function claim(root: ClaimNode, segs: Segs, how: 'leaf' | 'native'): void {
	let n = root;
	for (const s of segs) {
		let c = n.children.get(s);
		if (!c) n.children.set(s, (c = node()));
		n = c;
	}
	if (how === 'leaf') n.leaf = true;
	else n.native = true;
}

/** Precomputes paths, converters and the claim tree once per profile (the ingest keeps it per device). */
export function compileProfile(profile: DeviceProfile): CompiledProfile {
	const claims = node();
	const fields = profile.fields.map((f: ProfileField): CompiledField => {
		const unit = f.unit ?? (METRICS[f.metric].unit as SourceUnit);
		const convert = converter(unit, f.metric);
		if (!convert) throw new Error(`unit ${unit} cannot become ${f.metric}`);
		const segs = splitPath(f.path);
		claim(claims, segs, 'leaf');
		return {
			path: f.path,
			segs,
			metric: f.metric,
			unit,
			convert,
			scale: f.scale ?? 1,
			offset: f.offset,
			needsOffset: f.offsetPerDevice === true && f.offset === undefined,
			enumMap: f.enum ? new Map(Object.entries(f.enum).map(([k, v]) => [k.trim(), v])) : undefined
		};
	});
	for (const p of profile.ignore ?? []) claim(claims, splitPath(p), 'leaf');
	const faults = (profile.faults ?? []).map((p) => ({ path: p, segs: splitPath(p) }));
	for (const f of faults) claim(claims, f.segs, 'leaf');
	const time = profile.time ? { path: profile.time.path, segs: splitPath(profile.time.path), unit: profile.time.unit } : undefined;
	if (time) claim(claims, time.segs, 'leaf');
	const nativeUnder = profile.nativeUnder ? splitPath(profile.nativeUnder) : undefined;
	if (nativeUnder) claim(claims, nativeUnder, 'native');
	let series: CompiledProfile['series'];
	if (profile.series) {
		const sp = profile.series;
		const segs = splitPath(sp.path);
		claim(claims, segs, 'leaf');
		// Each element is read as a payload of its own: the same engine, with the series' fields and time.
		series = { path: sp.path, segs, profile: compileProfile({ ...profile, fields: sp.fields, ignore: sp.ignore, faults: sp.faults, time: sp.time, nativeUnder: undefined, series: undefined }) };
	}
	return { profile, fields, faults, time, nativeUnder, claims, series };
}

// A number with an optional unit after it: "3.384 V", "1234 mm", "-1.29", "25.30 °C", "34.50%".
const NUMBER_TEXT = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(\S.*)?$/;
const textUnitConverters = new Map<string, ((v: number) => number) | undefined>();

type Read = { ok: true; value: number } | { ok: false; reason: string } | { ok: 'ignore' };

function readField(f: CompiledField, raw: unknown): Read {
	let n: number;
	let convert = f.convert;
	if (typeof raw === 'number') n = raw;
	else if (typeof raw === 'string' || typeof raw === 'boolean' || raw === null) {
		const text = raw === null ? 'null' : String(raw).trim();
		const mapped = f.enumMap?.get(text);
		if (mapped !== undefined) {
			if (mapped === null) return { ok: 'ignore' };
			if (mapped === 'fault') return { ok: false, reason: 'sensor_fault' };
			return { ok: true, value: mapped };
		}
		if (typeof raw !== 'string') return { ok: false, reason: raw === null ? 'no_value' : 'not_a_number' };
		const m = NUMBER_TEXT.exec(text);
		if (!m) return { ok: false, reason: 'not_a_number' };
		n = Number(m[1]);
		if (m[2] !== undefined) {
			const unit = UNIT_ALIASES[m[2].trim().toLowerCase()] ?? UNIT_ALIASES[m[2].trim()];
			if (!unit) return { ok: false, reason: 'unknown_unit' };
			if (unit !== f.unit) {
				const key = `${unit}\u0000${f.metric}`;
				if (!textUnitConverters.has(key)) textUnitConverters.set(key, converter(unit, f.metric));
				const c = textUnitConverters.get(key);
				if (!c) return { ok: false, reason: 'wrong_unit' };
				convert = c;
			}
		}
	} else return { ok: false, reason: 'not_a_number' };
	if (!Number.isFinite(n)) return { ok: false, reason: 'not_finite' };
	if (f.needsOffset) return { ok: false, reason: 'needs_offset' };
	const v = convert(f.scale === 1 && f.offset === undefined ? n : n * f.scale + (f.offset ?? 0));
	return Number.isFinite(v) ? { ok: true, value: v } : { ok: false, reason: 'not_finite' };
}

/** Epoch seconds, milliseconds, microseconds or nanoseconds, told apart by magnitude (seconds up to the year 5138). */
export function epochMsByMagnitude(t: number): number {
	const a = Math.abs(t);
	if (a < 1e11) return t * 1000;
	if (a < 1e14) return t;
	if (a < 1e17) return t / 1000;
	return t / 1e6;
}

const WALL_CLOCK = /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/;
const HAS_ZONE = /(?:Z|[+-]\d{2}:?\d{2})$/i;
const zoneFormats = new Map<string, Intl.DateTimeFormat>();

/** A wall-clock time in `timeZone` as epoch ms (two passes settle DST edges); NaN for an impossible date. */
export function wallClockToEpochMs(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number, timeZone: string): number {
	if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return NaN;
	const asUtc = Date.UTC(y, mo - 1, d, h, mi, s, ms);
	if (new Date(asUtc).getUTCDate() !== d) return NaN;
	if (timeZone === 'UTC') return asUtc;
	let fmt = zoneFormats.get(timeZone);
	if (!fmt) {
		fmt = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
		zoneFormats.set(timeZone, fmt);
	}
	let t = asUtc;
	for (let i = 0; i < 2; i++) {
		const p: Record<string, number> = {};
		for (const part of fmt.formatToParts(new Date(t))) if (part.type !== 'literal') p[part.type] = Number(part.value);
		const shown = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second, ms);
		t += asUtc - shown;
	}
	return t;
}

/** The device's time as epoch ms, an ISO string with a zone (validated downstream), or NaN when unreadable. */
function resolveTime(raw: unknown, unit: TimeUnit, timeZone: string): unknown {
	if (typeof raw === 'number') {
		if (!Number.isFinite(raw)) return NaN;
		if (unit === 's') return raw * 1000;
		if (unit === 'ms') return raw;
		if (unit === 'us') return raw / 1000;
		if (unit === 'auto') return epochMsByMagnitude(raw);
		return NaN;
	}
	if (typeof raw !== 'string') return NaN;
	const s = raw.trim();
	if (/^\d{9,19}$/.test(s) && (unit === 'auto' || unit === 's' || unit === 'ms' || unit === 'us')) return resolveTime(Number(s), unit, timeZone);
	if (HAS_ZONE.test(s) && (unit === 'auto' || unit === 'iso')) return s;
	const m = WALL_CLOCK.exec(s);
	if (m && (unit === 'auto' || unit === 'local' || unit === 'utc')) {
		const [y, mo, d, h, mi] = [m[1], m[2], m[3], m[4], m[5]].map(Number);
		const sec = m[6] ? Number(m[6]) : 0;
		const ms = m[7] ? Number(m[7].padEnd(3, '0').slice(0, 3)) : 0;
		return wallClockToEpochMs(y, mo, d, h, mi, sec, ms, unit === 'utc' ? 'UTC' : timeZone);
	}
	return NaN;
}

function isContainer(v: unknown): v is Record<string, unknown> {
	return typeof v === 'object' && v !== null;
}

/** Keys of `obj` no claim covers, as paths; the native subtree's metric-named keys go to `out`. */
function collectUnmapped(obj: Record<string, unknown>, claims: ClaimNode, base: string, out: Record<string, unknown>, unmapped: ApplyResult['unmapped'], rejected: ApplyResult['rejected'], top: boolean): void {
	const inArray = Array.isArray(obj);
	for (const key of Object.keys(obj)) {
		const value = obj[key];
		const c = claims.children.get(key);
		const path = joinPath(base, key, inArray);
		if (c?.leaf) continue;
		if (c?.native && isContainer(value) && !Array.isArray(value)) {
			for (const k of Object.keys(value)) {
				const sub = c.children.get(k);
				if (sub?.leaf) continue;
				// A DTU reports a failed register read as null (HoldingByte DTU "Data Format"): say so, don't store 0.
				if (isKnownMetric(k) && value[k] === null) rejected.push({ key: joinPath(path, k, false), value: null, reason: 'no_value' });
				else if (isKnownMetric(k) && !hasOwn(out, k)) out[k] = value[k];
				else if (sub && isContainer(value[k])) collectUnmapped(value[k] as Record<string, unknown>, sub, joinPath(path, k, false), out, unmapped, rejected, false);
				else unmapped.push({ key: joinPath(path, k, false), value: value[k] });
			}
			continue;
		}
		if (c && isContainer(value)) {
			collectUnmapped(value, c, path, out, unmapped, rejected, false);
			continue;
		}
		// A top-level key that is already a shudi metric name is a native reading (validated downstream).
		if (top && isKnownMetric(key)) {
			if (!hasOwn(out, key)) out[key] = value;
			continue;
		}
		unmapped.push({ key: path, value });
	}
}

/**
 * One decoded item through a profile. `profile` may be compiled once (compileProfile) and reused: the ingest does
 * that per device; the admin preview may pass the plain profile.
 */
export function applyProfile(profile: DeviceProfile | CompiledProfile, item: ProfileItem, opts: ApplyOptions): ApplyResult {
	const p = 'claims' in profile ? profile : compileProfile(profile);
	const src = item.values;
	const values: Record<string, unknown> = Object.create(null);
	const unmapped: ApplyResult['unmapped'] = [];
	const rejected: ApplyResult['rejected'] = [];

	for (let i = 0; i < p.fields.length; i++) {
		const f = p.fields[i];
		const raw = f.segs.length === 1 ? (hasOwn(src, f.segs[0]) ? src[f.segs[0]] : undefined) : getAt(src, f.segs);
		// An absent key is not an error: payloads carry different channels in different frames.
		if (raw === undefined || hasOwn(values, f.metric)) continue;
		const r = readField(f, raw);
		if (r.ok === true) values[f.metric] = r.value;
		else if (r.ok === false) rejected.push({ key: f.path, value: raw, reason: r.reason });
	}
	for (const f of p.faults) {
		const raw = getAt(src, f.segs);
		if (raw !== undefined) rejected.push({ key: f.path, value: raw, reason: 'sensor_fault' });
	}
	collectUnmapped(src, p.claims, '', values, unmapped, rejected, true);

	let ts = item.ts;
	if (p.time) {
		const own = getAt(src, p.time.segs);
		const raw = own !== undefined ? own : item.ts;
		if (raw !== undefined) {
			ts = resolveTime(raw, own !== undefined ? p.time.unit : 'auto', opts.timeZone);
			if (typeof ts === 'number' && !Number.isFinite(ts)) rejected.push({ key: own !== undefined ? p.time.path : 'ts', value: raw, reason: 'bad_timestamp' });
		}
	}
	const out: ProfileItem = { ts, values };
	if (item.seq !== undefined) out.seq = item.seq;
	const series: ProfileItem[] = [];
	if (p.series) {
		const arr = getAt(src, p.series.segs);
		if (Array.isArray(arr)) {
			for (let i = 0; i < arr.length; i++) {
				const at = `${p.series.path}[${i}]`;
				const el = arr[i];
				if (!isContainer(el) || Array.isArray(el)) {
					unmapped.push({ key: at, value: el });
					continue;
				}
				// An element without its own time has none: the envelope's would be the upload's, not the reading's.
				const r = applyProfile(p.series.profile, { ts: NaN, values: el }, opts);
				for (const u of r.unmapped) unmapped.push({ key: `${at}.${u.key}`, value: u.value });
				for (const x of r.rejected) rejected.push({ key: `${at}.${x.key}`, value: x.value, reason: x.reason });
				if (Object.keys(r.item.values).length) series.push(r.item);
			}
		} else if (arr !== undefined) unmapped.push({ key: p.series.path, value: arr });
	}
	return { item: out, series, unmapped, rejected };
}
