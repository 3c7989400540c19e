// Device health as the console counts it: a sensor whose latest battery reading is under the default low mark.
// The same marks as the battery rule's defaults (rules.ts DEFAULT_THRESHOLDS.device.battery, DOMAIN.md "any:
// battery_v / battery_pct … low battery"); the server applies them in SQL for the sensor list and the page again to
// live readings, so both must read them from here. Per-sensor overrides are the alarm rule's business, not the count's.
import { DEFAULT_THRESHOLDS } from './rules.js';

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
