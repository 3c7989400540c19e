// Device health as the console counts it: a sensor whose latest battery reading is under the default low mark.
// The same marks as the battery rule's defaults (rules.ts DEFAULT_THRESHOLDS.device.battery, DOMAIN.md "any:
// battery_v / battery_pct … low battery"); the server applies them in SQL for the sensor list and the page again to
// live readings, so both must read them from here. Per-sensor overrides are the alarm rule's business, not the count's.
import { DEFAULT_THRESHOLDS } from './rules.js';
import { KIND_METRICS } from './metrics.js';
import { isLevel } from './levels.js';

export const LOW_BATTERY_MARK = Object.freeze({
	battery_v: DEFAULT_THRESHOLDS.device.battery.low_v.value as number,
	battery_pct: DEFAULT_THRESHOLDS.device.battery.low_pct.value as number
});

/**
 * Low battery judged from the metrics a reading carries: true or false when it has battery_v or battery_pct, and
 * undefined when it has neither (the sensor keeps what was known).
 */
export function lowBattery(values: Readonly<Record<string, { value: number } | undefined>>): boolean | undefined {
	const v = values.battery_v?.value;
	const pct = values.battery_pct?.value;
	if (v === undefined && pct === undefined) return undefined;
	return (v !== undefined && v < LOW_BATTERY_MARK.battery_v) || (pct !== undefined && pct < LOW_BATTERY_MARK.battery_pct);
}

// ---------------------------------------------------------------------------------------------------------------
// Honest status (issue 22): only a measurement says a sensor works. Radio metadata (rssi_dbm, snr_db added by the
// network server), battery and any other health value prove the device is alive, never that what it watches is safe:
// a river gauge that sends only its signal strength must not show green. The rules of this section are the reference
// the ingest's SQL follows (ingest/writer.ts on each message, ingest/offline.ts on its timer); the integration tests
// (tests/integration/honest-status.spec.ts) hold the SQL to them.

/** A value of one of the kind's own metrics (KIND_METRICS): the only kind of reading that can make a sensor normal. */
export function isMeasurement(kind: string, metric: string): boolean {
	const own = Object.prototype.hasOwnProperty.call(KIND_METRICS, kind) ? KIND_METRICS[kind] : undefined;
	return own !== undefined && own.includes(metric);
}

/** Statuses the ingest moves by itself; a level or normal is "measuring", the rest say why there is no measurement. */
export type HealthStatus = 'normal' | 'no_data' | 'offline' | 'unknown';

/** normal or an alarm level: the sensor measures, and the rule runner owns its status. */
export function isMeasuringStatus(status: string): boolean {
	return status === 'normal' || isLevel(status);
}

/**
 * The status a message sets, given the status before it. `freshMeasurement`: the message carries a measurement
 * observed within the offline window (a backlog reading from days ago proves nothing about now).
 * - a fresh measurement revives a sensor that was unknown, offline or without data: normal (the rules then judge it);
 * - anything else that arrives (metadata, a stale measurement) turns unknown or offline into no_data — something is
 *   heard, so the sensor is not offline, and nothing measured, so it is not normal;
 * - a measuring sensor (normal or a level) and maintenance keep their status: the timer decides when a measurement is
 *   overdue (deviceStatusOnTimer), the rules decide levels.
 */
export function deviceStatusOnMessage(status: string, freshMeasurement: boolean): string {
	if (status !== 'unknown' && status !== 'offline' && status !== 'no_data') return status;
	return freshMeasurement ? 'normal' : 'no_data';
}

/**
 * The status the offline timer sets. The timer counts measurements only: when the last measurement (or, for a sensor
 * that never measured, any report) is older than the window, the sensor is offline if nothing at all arrived within the
 * window, else no_data. Unknown (nothing ever), maintenance and a sensor already offline are left alone; a sensor
 * already no_data goes offline once its metadata stops too.
 */
export function deviceStatusOnTimer(s: { status: string; lastSeen: Date | null; lastMeasured: Date | null; now: Date; windowMs: number }): string {
	if (s.status === 'unknown' || s.status === 'maintenance' || s.status === 'offline') return s.status;
	const cutoff = s.now.getTime() - s.windowMs;
	const heard = s.lastSeen !== null && s.lastSeen.getTime() >= cutoff;
	if (!heard) return s.lastSeen === null ? s.status : 'offline';
	const measured = s.lastMeasured !== null && s.lastMeasured.getTime() >= cutoff;
	return measured ? s.status : 'no_data';
}

/**
 * When a sensor last measured, as its panel shows it: the stored time (last_measured_at) or a newer measurement among
 * the latest values the page has received live since — radio and battery values never count. Null: never.
 */
export function lastMeasuredAt(kind: string, stored: string | null, values: Readonly<Record<string, { observed_at: string } | undefined>>): string | null {
	let best = stored;
	for (const [metric, v] of Object.entries(values)) {
		if (v && isMeasurement(kind, metric) && (best === null || Date.parse(v.observed_at) > Date.parse(best))) best = v.observed_at;
	}
	return best;
}
