// Warning levels and sensor statuses in one place: their order, rank, zh/en names and map colours. Every page, the
// server, the ingest rule runner and the demo read levels from here, so a level is ordered, named and coloured one way.
// The four colours follow the national 蓝/黄/橙/红 warning convention, lowest to highest (DOMAIN.md "Sensor kinds").

/** Four-colour warning levels, lowest to highest: blue 蓝 < yellow 黄 < orange 橙 < red 红. */
export const LEVELS = ['blue', 'yellow', 'orange', 'red'] as const;
export type Level = (typeof LEVELS)[number];

/** Highest first: the order of queues, counts and legends, where the worst comes first. */
export const LEVELS_WORST_FIRST: readonly Level[] = Object.freeze([...LEVELS].reverse());

/**
 * What a sensor shows on the map: a level, or a non-alarm state. "The window" is N × the sensor's expected report
 * interval (OFFLINE_AFTER_INTERVALS); a measurement is a value of one of its kind's own metrics (KIND_METRICS) —
 * never radio (rssi, snr), battery or other metadata (isMeasurement, device-health.ts).
 * - normal: a measurement within the window, and no alarm. Only a measurement makes a sensor normal.
 * - a level (blue … red): an alarm raised by the rules.
 * - no_data 无测量数据: messages arrive, but no measurement within the window — metadata only, or never a
 *   measurement at all. It is not safe and not known: the sensor is alive and says nothing about what it watches.
 * - offline 离线: nothing at all within the window (neither measurement nor metadata), after it had reported.
 * - unknown 未上报: nothing ever arrived.
 * - maintenance: alarms held during a maintenance window (unchanged by the timer).
 * How they follow each other: deviceStatusOnMessage / deviceStatusOnTimer in device-health.ts.
 */
export const SENSOR_STATUSES = ['normal', 'blue', 'yellow', 'orange', 'red', 'no_data', 'offline', 'unknown', 'maintenance'] as const;
export type SensorStatus = (typeof SENSOR_STATUSES)[number];

/** The order legends and counts list statuses in: the levels worst first, then the non-alarm states. */
export const STATUSES_WORST_FIRST: readonly SensorStatus[] = Object.freeze([...LEVELS_WORST_FIRST, 'normal', 'no_data', 'offline', 'unknown', 'maintenance']);

/** Rank of each level, lowest to highest; 'normal' ranks below every level. */
export const LEVEL_RANK: Readonly<Record<Level | 'normal', number>> = Object.freeze({ normal: 0, blue: 1, yellow: 2, orange: 3, red: 4 });

export function isLevel(x: unknown): x is Level {
	return typeof x === 'string' && (LEVELS as readonly string[]).includes(x);
}

/** Rank of a level (normal 0 … red 4); null (a case without a level) ranks below normal. */
export function levelRank(level: Level | 'normal' | null): number {
	return level === null ? -1 : LEVEL_RANK[level];
}

/** Ascending comparator (blue before red); null first. Reverse it for worst-first lists. */
export function compareLevels(a: Level | 'normal' | null, b: Level | 'normal' | null): number {
	return levelRank(a) - levelRank(b);
}

/**
 * Severity of a status for map clusters: a cluster takes the most severe of its sensors, so a red sensor is never
 * hidden inside a green cluster, and a device problem (offline, no measurement) still shows through a cluster of
 * normal sensors. no_data ranks above offline: a sensor that still talks but no longer measures is the one a duty
 * officer would otherwise take for a working one.
 */
export const STATUS_SEVERITY: Readonly<Record<SensorStatus, number>> = Object.freeze({ normal: 0, unknown: 1, maintenance: 2, offline: 3, no_data: 4, blue: 5, yellow: 6, orange: 7, red: 8 });

/** Names of every status, Chinese first. */
export const STATUS_NAMES: Readonly<Record<SensorStatus, { zh: string; en: string }>> = Object.freeze({
	normal: { zh: '正常', en: 'Normal' },
	blue: { zh: '蓝色', en: 'Blue' },
	yellow: { zh: '黄色', en: 'Yellow' },
	orange: { zh: '橙色', en: 'Orange' },
	red: { zh: '红色', en: 'Red' },
	no_data: { zh: '无测量数据', en: 'No measurement data' },
	offline: { zh: '离线', en: 'Offline' },
	unknown: { zh: '未上报', en: 'Never reported' },
	maintenance: { zh: '维护中', en: 'Maintenance' }
});

/** One-character level names for dense text (time-limit summaries, legend lines): 红, 橙 … */
export const LEVEL_SHORT_NAMES: Readonly<Record<Level, { zh: string; en: string }>> = Object.freeze({
	blue: { zh: '蓝', en: 'blue' },
	yellow: { zh: '黄', en: 'yellow' },
	orange: { zh: '橙', en: 'orange' },
	red: { zh: '红', en: 'red' }
});

/**
 * Map and chart colours: the four warning colours, normal green, offline grey, unknown light grey, maintenance purple,
 * and no_data near-black — "not safe, not known": no hue that could read as a level or as green, and far darker than
 * the greys (contrast with white 15:1, with offline grey 3.5:1, with normal green 4.4:1; tests/unit/levels.spec.ts).
 */
export const STATUS_COLOURS: Readonly<Record<SensorStatus, string>> = Object.freeze({
	normal: '#2e9d4f',
	blue: '#1f6fd1',
	yellow: '#e6c200',
	orange: '#f07c00',
	red: '#d7191c',
	no_data: '#262626',
	offline: '#7a7a7a',
	unknown: '#c8c8c8',
	maintenance: '#8e5bd6'
});

/** The colour of a case or reading with no level (a field report not yet graded). */
export const NO_LEVEL_COLOUR = '#7a7a7a';

/** Colour of a level or status as the database or API gives it; no level (null) → NO_LEVEL_COLOUR. */
export function levelColour(level: string | null | undefined): string {
	return level && Object.prototype.hasOwnProperty.call(STATUS_COLOURS, level) ? STATUS_COLOURS[level as SensorStatus] : NO_LEVEL_COLOUR;
}
