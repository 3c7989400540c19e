// The sensor-kind catalogue: every fact about a kind of sensor lives here, once — its zh/en name, its metrics with
// units and physical ranges, which metric is its primary measurement, the alarm rules it runs with their default
// thresholds and where each default comes from, how far back the rules look, its map colour and symbol, the case
// category its alarms open, the case title of each rule, and how the demo township names and paces it.
// Everything else (SENSOR_KINDS, METRICS/KIND_METRICS, DEFAULT_THRESHOLDS, kind labels, colours, map shapes, case
// categories and titles) is derived from this table (STYLE.md habit 10, "one catalogue per concept").
//
// A new kind is one entry in SENSOR_KINDS and one in CATALOGUE: `satisfies Record<SensorKind, KindDef>` makes the
// compiler name every field the new entry misses, and tests/unit/sensor-kinds.spec.ts holds the list against the
// database's CHECK on devices.kind (a new kind also needs its migration). docs/sensor-kinds.md says where each default
// comes from. Pure: no I/O, and only type imports, so every other domain module may import it.
import type { Bilingual, CaseCategory } from './labels.js';
import type { DefaultTree, DefaultValue, RuleId } from './rules.js';

/** Every kind of sensor, in the order forms and legends list them. The database's devices.kind CHECK names the same. */
export const SENSOR_KINDS = ['river_level', 'house_tilt', 'crack', 'settlement', 'rain_gauge', 'displacement', 'soil_moisture', 'gnss_displacement'] as const;
export type SensorKind = (typeof SENSOR_KINDS)[number];

export interface MetricDef {
	unit: string;
	/** Inclusive physical range; values outside it are rejected at ingest. */
	min: number;
	max: number;
	zh: string;
	en: string;
}

/** One alarm rule of a kind, with the title a case opened by it carries (DOMAIN.md "Incidents"). */
export interface KindRule {
	id: RuleId;
	/** Case title after the sensor's name, e.g. 「松林村1号水位站：水位超警戒」. */
	title: Bilingual;
}

export interface KindDef<M extends string = string, D extends DefaultTree = DefaultTree> {
	zh: string;
	en: string;
	/** The kind's own metrics (its measurements). Health metrics (battery, radio, temperature) are shared: HEALTH_METRICS. */
	metrics: Readonly<Record<M, MetricDef>>;
	/** The metric charts open on and the first that proves the sensor measures (DOMAIN.md "primary metric"). */
	primaryMetric: NoInfer<M>;
	/** Its measurement rules in display order; every kind also runs the device-health rule (battery_low). */
	rules: readonly KindRule[];
	/** Default thresholds, shaped like the per-sensor `thresholds` JSON; each leaf says its source. */
	defaults: D;
	/** How far back the rules need readings to judge every rule of the kind. */
	lookbackMs: number;
	/** The category of the case its alarms open. */
	category: CaseCategory;
	/** Outline colour on the map and in charts. */
	colour: string;
	/** Map symbol: filled SVG path on a 24×24 grid; its silhouette must differ from every other kind's. */
	shape: string;
	/** Usual report interval in seconds (the demo township's, and a starting point for a new device). */
	intervalS: number;
	/** Demo device ids start with it (RL-01 …). */
	idPrefix: string;
	/** What a site of this kind is called, after the village name: 松林村 + 1号 + 水位站. */
	siteName: string;
}

/** Keeps the literal types of a kind's metrics and defaults (so DEFAULT_THRESHOLDS.house_tilt.tilt_pct.blue type-checks). */
export function defineKind<const M extends string, const D extends DefaultTree>(def: KindDef<M, D>): KindDef<M, D> {
	return def;
}

const dv = (value: number | null, unit: string, source: string): DefaultValue => ({ value, unit, source });

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

const SRC_TILT_BLUE = 'GB 50007 4‰';
const SRC_TILT_YELLOW = 'JGJ 125-99 masonry danger point';
const SRC_TILT_HIGH = '2022 自建房结构安全排查技术要点';
const SRC_CRACK = 'DOMAIN.md crack default (change from baseline)';
const SRC_RAIN = 'county flash-flood example (Jianghua); per site';
const SRC_RIVER_LEVEL = 'SL 651-2014 / station 警戒水位 (per station, no default)';
const SRC_RIVER_GUARANTEE = 'SL 651-2014 / station 保证水位 (per station, no default)';
const SRC_RIVER_RISE = 'shudi default (demo township stations); tune per station';
const SRC_SITE = 'shudi default (demo township; slope-monitoring practice); per site';
// docs/sensor-kinds.md "gnss_displacement": no standard publishes a township-wide GNSS figure; the cumulative marks are
// per slope (none by default) and the rate marks are placeholders the township sets per slope.
const SRC_GNSS_CUMULATIVE = 'per slope, no default (DZ/T 0221-2006, T/CAGHP practice): set from the slope survey';
const SRC_GNSS_RATE = 'placeholder (shudi, as displacement 5/10/20 mm/d): the township must set it per slope';
const SRC_TANGENT = '许强 et al. 2008 improved tangent angle 45°/80°/85°';
const SRC_TANGENT_V = 'per slope, no default: the uniform-rate (等速) phase rate from the slope’s own record';

/** The catalogue. Order of keys is irrelevant; SENSOR_KINDS gives the order. */
export const CATALOGUE = {
	river_level: defineKind({
		zh: '水位',
		en: 'River level',
		metrics: { water_level_m: { unit: 'm', min: -50, max: 9000, zh: '水位', en: 'Water level' } },
		primaryMetric: 'water_level_m',
		rules: [
			{ id: 'level', title: { zh: '水位超警戒', en: 'Water above warning level' } },
			{ id: 'rise_15min', title: { zh: '水位快速上涨', en: 'Water rising fast' } },
			{ id: 'rise_1h', title: { zh: '水位快速上涨', en: 'Water rising fast' } }
		],
		defaults: {
			// DOMAIN.md: "per station: 警戒水位 → orange, 保证水位 → red". A station level has no township-wide default.
			normal_level_m: dv(null, 'm', 'station 常水位 (informational, not a rule)'),
			warning_level_m: dv(null, 'm', SRC_RIVER_LEVEL),
			guarantee_level_m: dv(null, 'm', SRC_RIVER_GUARANTEE),
			// DOMAIN.md: "rate of rise (m per 15 min / per hour) → yellow"; the values are the demo township's.
			rise_per_15min_m: dv(0.3, 'm', SRC_RIVER_RISE),
			rise_per_hour_m: dv(0.5, 'm', SRC_RIVER_RISE)
		},
		lookbackMs: HOUR,
		category: 'flood',
		colour: '#0b62a4',
		// ▼ — the hydrological water-level mark
		shape: 'M2 4.5 H22 L12 21.5 Z',
		intervalS: 300,
		idPrefix: 'RL',
		siteName: '水位站'
	}),
	house_tilt: defineKind({
		zh: '危房倾斜',
		en: 'House tilt',
		metrics: {
			tilt_x_deg: { unit: '°', min: -90, max: 90, zh: '倾角X', en: 'Tilt X' },
			tilt_y_deg: { unit: '°', min: -90, max: 90, zh: '倾角Y', en: 'Tilt Y' }
		},
		primaryMetric: 'tilt_x_deg',
		rules: [{ id: 'tilt', title: { zh: '房屋倾斜', en: 'House tilting' } }],
		defaults: {
			// DOMAIN.md: 0.4 % (GB 50007 4‰) blue, 0.7 % (old JGJ 125 masonry danger point) yellow, 2 % orange, 3 % red
			// (2022 self-built-house screening rule).
			tilt_pct: {
				blue: dv(0.4, '%', SRC_TILT_BLUE),
				yellow: dv(0.7, '%', SRC_TILT_YELLOW),
				orange: dv(2, '%', SRC_TILT_HIGH),
				red: dv(3, '%', SRC_TILT_HIGH)
			}
		},
		lookbackMs: 7 * DAY,
		category: 'housing',
		colour: '#8c510a',
		// a house with a pitched roof
		shape: 'M12 1.8 L22.5 11 H19.5 V21.5 H4.5 V11 H1.5 Z',
		intervalS: 600,
		idPrefix: 'HT',
		siteName: '危房倾斜监测点'
	}),
	crack: defineKind({
		zh: '裂缝',
		en: 'Crack',
		metrics: { crack_mm: { unit: 'mm', min: -100, max: 500, zh: '裂缝宽度', en: 'Crack width' } },
		primaryMetric: 'crack_mm',
		rules: [{ id: 'crack', title: { zh: '裂缝扩展', en: 'Crack widening' } }],
		defaults: {
			// DOMAIN.md: change from baseline 1 mm yellow, 2 mm orange, 5 mm red.
			change_mm: { yellow: dv(1, 'mm', SRC_CRACK), orange: dv(2, 'mm', SRC_CRACK), red: dv(5, 'mm', SRC_CRACK) }
		},
		lookbackMs: 7 * DAY,
		category: 'housing',
		colour: '#bf812d',
		// a lightning-like crack, broad enough to read in light grey
		shape: 'M12 0.5 L3 14 H9.5 L7 23.5 L21 9 H14.5 L18 0.5 Z',
		intervalS: 600,
		idPrefix: 'CR',
		siteName: '裂缝监测点'
	}),
	settlement: defineKind({
		zh: '沉降',
		en: 'Settlement',
		metrics: { settlement_mm: { unit: 'mm', min: -2000, max: 2000, zh: '沉降', en: 'Settlement' } },
		primaryMetric: 'settlement_mm',
		rules: [{ id: 'settlement_rate', title: { zh: '地基沉降', en: 'Foundation settling' } }],
		defaults: {
			// DOMAIN.md: rate > 4 mm/month yellow (GB 50007 stability criterion for settlement observation).
			rate_mm_per_month: { yellow: dv(4, 'mm/30d', 'GB 50007 settlement stability 4 mm/month') }
		},
		lookbackMs: 30 * DAY,
		category: 'housing',
		colour: '#6a3d9a',
		// a levelling plate: square
		shape: 'M3.5 3.5 H20.5 V20.5 H3.5 Z',
		intervalS: 3600,
		idPrefix: 'ST',
		siteName: '沉降监测点'
	}),
	rain_gauge: defineKind({
		zh: '雨量',
		en: 'Rain gauge',
		metrics: { rain_mm: { unit: 'mm', min: 0, max: 500, zh: '雨量', en: 'Rainfall' } },
		primaryMetric: 'rain_mm',
		rules: [
			{ id: 'rain_1h', title: { zh: '强降雨', en: 'Heavy rain' } },
			{ id: 'rain_3h', title: { zh: '强降雨', en: 'Heavy rain' } },
			{ id: 'rain_6h', title: { zh: '强降雨', en: 'Heavy rain' } },
			{ id: 'rain_24h', title: { zh: '强降雨', en: 'Heavy rain' } }
		],
		defaults: {
			// DOMAIN.md: rolling sums 1 h / 3 h / 6 h / 24 h: blue 35/55/70/100, yellow 45/75/95/130, orange 60/100/120/160,
			// red 80/120/150/200 (county flash-flood example; per site).
			sum_mm: {
				'1h': { blue: dv(35, 'mm', SRC_RAIN), yellow: dv(45, 'mm', SRC_RAIN), orange: dv(60, 'mm', SRC_RAIN), red: dv(80, 'mm', SRC_RAIN) },
				'3h': { blue: dv(55, 'mm', SRC_RAIN), yellow: dv(75, 'mm', SRC_RAIN), orange: dv(100, 'mm', SRC_RAIN), red: dv(120, 'mm', SRC_RAIN) },
				'6h': { blue: dv(70, 'mm', SRC_RAIN), yellow: dv(95, 'mm', SRC_RAIN), orange: dv(120, 'mm', SRC_RAIN), red: dv(150, 'mm', SRC_RAIN) },
				'24h': { blue: dv(100, 'mm', SRC_RAIN), yellow: dv(130, 'mm', SRC_RAIN), orange: dv(160, 'mm', SRC_RAIN), red: dv(200, 'mm', SRC_RAIN) }
			}
		},
		lookbackMs: 24 * HOUR,
		category: 'flood',
		colour: '#01665e',
		// a raindrop
		shape: 'M12 1.5 C12 1.5 4.5 10.5 4.5 15 A7.5 7.5 0 0 0 19.5 15 C19.5 10.5 12 1.5 12 1.5 Z',
		intervalS: 300,
		idPrefix: 'RG',
		siteName: '雨量站'
	}),
	displacement: defineKind({
		zh: '位移',
		en: 'Displacement',
		metrics: { displacement_mm: { unit: 'mm', min: -10000, max: 10000, zh: '位移', en: 'Displacement' } },
		primaryMetric: 'displacement_mm',
		rules: [{ id: 'displacement_rate', title: { zh: '边坡位移', en: 'Slope moving' } }],
		defaults: {
			// DOMAIN.md leaves displacement "per site"; creep → accelerating → imminent-failure bands as in the demo township.
			rate_mm_per_day: { yellow: dv(5, 'mm/d', SRC_SITE), orange: dv(10, 'mm/d', SRC_SITE), red: dv(20, 'mm/d', SRC_SITE) }
		},
		lookbackMs: DAY,
		category: 'geohazard',
		colour: '#b2182b',
		// a diamond (displacement station)
		shape: 'M12 1 L23 12 L12 23 L1 12 Z',
		intervalS: 600,
		idPrefix: 'DP',
		siteName: '位移监测点'
	}),
	soil_moisture: defineKind({
		zh: '土壤含水',
		en: 'Soil moisture',
		metrics: { soil_moisture_pct: { unit: '%', min: 0, max: 100, zh: '土壤含水率', en: 'Soil moisture' } },
		primaryMetric: 'soil_moisture_pct',
		rules: [{ id: 'soil_moisture', title: { zh: '土壤含水过高', en: 'Soil near saturation' } }],
		defaults: {
			// DOMAIN.md leaves soil moisture "per site"; near-saturation of residual slope soils, as in the demo township.
			pct: { yellow: dv(40, '%', SRC_SITE), orange: dv(45, '%', SRC_SITE), red: dv(50, '%', SRC_SITE) }
		},
		lookbackMs: 7 * DAY,
		category: 'geohazard',
		colour: '#4d9221',
		// a hexagon
		shape: 'M12 1.5 L21.5 7 V17 L12 22.5 L2.5 17 V7 Z',
		intervalS: 900,
		idPrefix: 'SM',
		siteName: '土壤含水率监测点'
	}),
	gnss_displacement: defineKind({
		zh: '地表位移(GNSS)',
		en: 'Surface displacement (GNSS)',
		// DOMAIN.md: east, north, up in mm from the station's baseline (the receiver or its cloud solution reports them
		// relative to the reference position set at installation). ±10 m: past that the station has slid with the slope.
		metrics: {
			gnss_east_mm: { unit: 'mm', min: -10000, max: 10000, zh: '东向位移', en: 'East displacement' },
			gnss_north_mm: { unit: 'mm', min: -10000, max: 10000, zh: '北向位移', en: 'North displacement' },
			gnss_up_mm: { unit: 'mm', min: -10000, max: 10000, zh: '垂向位移', en: 'Vertical displacement' }
		},
		primaryMetric: 'gnss_east_mm',
		rules: [
			{ id: 'gnss_cumulative', title: { zh: '地表累计位移超限', en: 'Ground moved beyond its limit' } },
			{ id: 'gnss_rate', title: { zh: '地表位移加速', en: 'Ground moving fast' } }
		],
		defaults: {
			// Horizontal displacement from the baseline, √(E² + N²): per slope, no default.
			horizontal_mm: { yellow: dv(null, 'mm', SRC_GNSS_CUMULATIVE), orange: dv(null, 'mm', SRC_GNSS_CUMULATIVE), red: dv(null, 'mm', SRC_GNSS_CUMULATIVE) },
			// Horizontal rate over the last 24 h: placeholders until the township sets the slope's own.
			rate_mm_per_day: { yellow: dv(5, 'mm/d', SRC_GNSS_RATE), orange: dv(10, 'mm/d', SRC_GNSS_RATE), red: dv(20, 'mm/d', SRC_GNSS_RATE) },
			// Improved tangent angle: with the slope's uniform-phase rate v set, the rate rule judges α = arctan(rate / v).
			tangent_angle: {
				uniform_rate_mm_per_day: dv(null, 'mm/d', SRC_TANGENT_V),
				yellow: dv(45, '°', SRC_TANGENT),
				orange: dv(80, '°', SRC_TANGENT),
				red: dv(85, '°', SRC_TANGENT)
			}
		},
		lookbackMs: 2 * DAY,
		category: 'geohazard',
		colour: '#c51b7d',
		// a four-pointed star (a survey mark seen from above)
		shape: 'M12 0.5 L15 9 L23.5 12 L15 15 L12 23.5 L9 15 L0.5 12 L9 9 Z',
		intervalS: 3600,
		idPrefix: 'GN',
		siteName: 'GNSS地表位移监测点'
	})
} satisfies Record<SensorKind, KindDef>;

/** Metrics every kind may send beside its own: device health and radio, never a measurement. */
export const HEALTH_METRICS: Readonly<Record<string, MetricDef>> = Object.freeze({
	battery_v: { unit: 'V', min: 0, max: 60, zh: '电池电压', en: 'Battery voltage' },
	battery_pct: { unit: '%', min: 0, max: 100, zh: '电量', en: 'Battery' },
	rssi_dbm: { unit: 'dBm', min: -200, max: 20, zh: '信号强度', en: 'RSSI' },
	snr_db: { unit: 'dB', min: -40, max: 40, zh: '信噪比', en: 'SNR' },
	temperature_c: { unit: '°C', min: -60, max: 100, zh: '温度', en: 'Temperature' }
});

/** The device-health rule every kind runs, and the title of the case it opens. */
export const HEALTH_RULE: { id: 'battery_low'; title: Bilingual } = Object.freeze({ id: 'battery_low', title: Object.freeze({ zh: '设备电量低', en: 'Low battery' }) });

/** Whether `k` names a kind of the catalogue (strings arrive from the database, forms and the API). */
export function isSensorKind(k: string): k is SensorKind {
	return (SENSOR_KINDS as readonly string[]).includes(k);
}

/** One kind's entry. */
export function kindDef(k: SensorKind): KindDef {
	return CATALOGUE[k];
}

/** A table with one value per kind, built from each kind's entry: the shape every derived table has. */
export function perKind<T>(pick: (def: KindDef, kind: SensorKind) => T): Record<SensorKind, T> {
	return Object.fromEntries(SENSOR_KINDS.map((k) => [k, pick(CATALOGUE[k], k)])) as Record<SensorKind, T>;
}

/** Each kind's default thresholds, with their literal shapes (rules.ts adds the device-health defaults). */
export type KindDefaults = { [K in SensorKind]: (typeof CATALOGUE)[K]['defaults'] };
export const KIND_DEFAULTS: KindDefaults = perKind((d) => d.defaults) as KindDefaults;

/** Case title of an alarm rule (zh and en), over every kind's rules and the health rule; undefined for an unknown rule. */
export function ruleTitle(rule: string): Bilingual | undefined {
	if (rule === HEALTH_RULE.id) return HEALTH_RULE.title;
	for (const k of SENSOR_KINDS) for (const r of CATALOGUE[k].rules) if (r.id === rule) return r.title;
	return undefined;
}
