// Second ingest step: judge every value of a Decoded message and turn the good ones into Readings
// (DOMAIN.md "MQTT contract" and metric table; physical ranges from src/lib/domain/metrics.ts).
//
// DECISION: validation is per value, not per message. A message with one bad value keeps its good values (stored)
// and the bad value goes to the dead letters with its reason: one broken sensor channel must not hide the others.
// Item-level faults (bad timestamp, bad seq) reject every value of that item only, never the rest of a batch.
//
// Rules:
// - metric must be in METRICS ('unknown_metric'); value must be a JS number ('not_a_number': strings such as "21.5",
//   booleans, null, objects, arrays), finite ('not_finite'; JSON itself cannot carry NaN/Infinity, so this guards
//   callers that build Decoded by hand), and within the metric's physical min..max ('out_of_range').
// - ts: absent → observedAt = receivedAt, flag NO_DEVICE_TIME. An ISO-8601 string with a time zone, or epoch
//   milliseconds. A number below 1e11 (before 1973-03-03 in ms) is epoch *seconds* or a since-boot counter: the unit
//   is wrong, so 'bad_timestamp' rather than a guess. DOMAIN.md's native contract says ISO or epoch ms, and a
//   since-boot counter in seconds would pass as a plausible 1970s time: firmware that sends seconds gets a device
//   profile (src/lib/domain/device-profiles, time unit `auto` or `s`), which converts before this step. Unparseable ('yesterday', {}, null, no zone) → 'bad_timestamp'.
//   Parseable but before 2020-01-01Z or more than 5 min after receivedAt → observedAt = receivedAt, CLOCK_UNTRUSTED.
// - seq, when present, must be an integer 0..2^53-1, else the item's values are rejected 'bad_seq'.
// - an item with no values → 'empty'.
// - extras (rssi_dbm/snr_db from the network server) become readings with the first item's time (LoRa messages
//   carry exactly one item); a device-reported key of the same name wins.
// Duplicate keys cannot reach us: JSON.parse keeps the last one of a JSON object.
import { isKnownMetric, METRICS } from '../src/lib/domain/metrics.js';
import { READING_FLAGS, type Reading } from '../src/lib/domain/types.js';
import type { Decoded } from './decoders/types.js';

export interface Rejected {
	metric: string;
	value: unknown;
	reason: string;
}

export interface ValidationResult {
	readings: Reading[];
	rejected: Rejected[];
}

/** Device clocks before this are not trusted (DOMAIN.md). */
export const TRUSTED_SINCE_MS = Date.UTC(2020, 0, 1);
/** Device clocks more than this ahead of the server are not trusted (DOMAIN.md). */
export const MAX_FUTURE_MS = 5 * 60 * 1000;
/** Epoch-ms numbers below this are taken to be seconds or a since-boot counter. */
const MIN_EPOCH_MS = 1e11;
/** Metric names are echoed into dead letters: keep a hostile 60 KiB key from bloating them. */
const MAX_METRIC_NAME = 128;

// RFC 3339 / ISO-8601 extended date-time with a mandatory zone; seconds and fraction optional.
const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|([+-])(\d{2}):?(\d{2}))$/i;

/** Strict ISO-8601 parse to epoch ms; NaN when invalid (Date.parse would roll 2020-02-31 into March). */
export function parseIsoTimestamp(s: string): number {
	const m = ISO.exec(s);
	if (!m) return NaN;
	const [y, mo, d, h, mi] = [m[1], m[2], m[3], m[4], m[5]].map(Number);
	const sec = m[6] ? Number(m[6]) : 0;
	const ms = m[7] ? Number(m[7].padEnd(3, '0').slice(0, 3)) : 0;
	if (mo < 1 || mo > 12 || h > 23 || mi > 59 || sec > 59) return NaN;
	const t = Date.UTC(y, mo - 1, d, h, mi, sec, ms);
	if (new Date(t).getUTCDate() !== d) return NaN;
	if (m[8].toUpperCase() === 'Z') return t;
	const oh = Number(m[10]);
	const om = Number(m[11]);
	if (oh > 23 || om > 59) return NaN;
	const offset = (oh * 60 + om) * 60_000;
	return m[9] === '+' ? t - offset : t + offset;
}

type ItemTime = { observedAt: Date; flags: number } | { error: 'bad_timestamp' };

function resolveTime(ts: unknown, receivedAt: Date): ItemTime {
	if (ts === undefined) return { observedAt: receivedAt, flags: READING_FLAGS.NO_DEVICE_TIME };
	let t: number;
	if (typeof ts === 'number') t = Number.isFinite(ts) && ts >= MIN_EPOCH_MS ? ts : NaN;
	else if (typeof ts === 'string') t = parseIsoTimestamp(ts);
	else t = NaN;
	// Beyond ±8.64e15 ms a Date is invalid (ECMA-262 "Time Values and Time Range").
	if (!(Math.abs(t) <= 8.64e15)) return { error: 'bad_timestamp' };
	if (t < TRUSTED_SINCE_MS || t > receivedAt.getTime() + MAX_FUTURE_MS) {
		return { observedAt: receivedAt, flags: READING_FLAGS.CLOCK_UNTRUSTED };
	}
	return { observedAt: new Date(t), flags: 0 };
}

function checkSeq(seq: unknown): boolean {
	return typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0;
}

function checkValue(metric: string, value: unknown): string | undefined {
	if (!isKnownMetric(metric)) return 'unknown_metric';
	if (typeof value !== 'number') return 'not_a_number';
	if (!Number.isFinite(value)) return 'not_finite';
	const def = METRICS[metric];
	if (value < def.min || value > def.max) return 'out_of_range';
	return undefined;
}

export function validateDecoded(decoded: Decoded, deviceId: string, receivedAt: Date): ValidationResult {
	const readings: Reading[] = [];
	const rejected: Rejected[] = [];

	// Plain loops over the keys, no [key, value] pair per value and no closure per message: this runs for every
	// message, and what it allocates the garbage collector pays for (`npm run bench:ingest`).
	const items = decoded.items;
	for (let index = 0; index < items.length; index++) {
		const item = items[index];
		const own = Object.keys(item.values);
		if (own.length === 0) reject(rejected, '', item.values, 'empty');
		// The network server's extras (first item only) that the device did not report itself.
		const extras = index === 0 && decoded.extras ? decoded.extras : null;
		const extraKeys = extras ? Object.keys(extras).filter((k) => !Object.prototype.hasOwnProperty.call(item.values, k)) : [];
		const keys = extraKeys.length ? [...own, ...extraKeys] : own;
		const hasSeq = item.seq !== undefined;
		if (hasSeq && !checkSeq(item.seq)) {
			for (let i = 0; i < keys.length; i++) reject(rejected, keys[i], i < own.length ? item.values[keys[i]] : extras![keys[i]], 'bad_seq');
			continue;
		}
		const time = resolveTime(item.ts, receivedAt);
		if ('error' in time) {
			for (let i = 0; i < keys.length; i++) reject(rejected, keys[i], i < own.length ? item.values[keys[i]] : extras![keys[i]], time.error);
			continue;
		}
		for (let i = 0; i < keys.length; i++) {
			const metric = keys[i];
			const value = i < own.length ? item.values[metric] : extras![metric];
			const reason = checkValue(metric, value);
			if (reason) {
				reject(rejected, metric, value, reason);
				continue;
			}
			const reading: Reading = {
				deviceId,
				metric,
				value: value as number,
				observedAt: time.observedAt,
				receivedAt,
				flags: time.flags
			};
			if (hasSeq) reading.seq = item.seq as number;
			readings.push(reading);
		}
	}
	return { readings, rejected };
}

function reject(rejected: Rejected[], metric: string, value: unknown, reason: string): void {
	rejected.push({ metric: metric.slice(0, MAX_METRIC_NAME), value, reason });
}
