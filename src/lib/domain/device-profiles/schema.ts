// Device profiles as data (DOMAIN.md "Device profiles"): what a device's decoded payload means in shudi's metrics.
// A profile is declarative JSON checked against this schema — never code run on the server — so an admin can write
// one, a helper can add a field to it, and the same schema judges both. Paths, units, scale/offset, text numbers,
// enumerations, ignored keys, fault keys and the time field are all it can say.
import { z } from 'zod';
import { METRICS, isKnownMetric } from '../metrics.js';

/**
 * Units a source value may be in, grouped by what they measure. A field's unit must measure the same thing as its
 * metric's unit (METRICS[metric].unit), which the schema checks, so no profile can turn a voltage into metres.
 * Slopes: ‰ and % are tan θ × 1000 / × 100 (DOMAIN.md tilt rule), so they become degrees through atan, not a factor.
 */
export const UNIT_DIMENSION = {
	m: 'length',
	cm: 'length',
	mm: 'length',
	V: 'voltage',
	mV: 'voltage',
	'°': 'angle',
	deg: 'angle',
	rad: 'angle',
	'‰': 'slope',
	'%slope': 'slope',
	'%': 'ratio',
	'°C': 'temperature',
	'°F': 'temperature',
	dBm: 'power',
	dB: 'ratio_db'
} as const;
export type SourceUnit = keyof typeof UNIT_DIMENSION;
export const SOURCE_UNITS = Object.keys(UNIT_DIMENSION) as SourceUnit[];

/** The dimension of a metric's own unit; slopes convert into angles. */
export function metricDimension(metric: string): string | undefined {
	const unit = METRICS[metric]?.unit;
	if (unit === undefined) return undefined;
	return UNIT_DIMENSION[unit as SourceUnit];
}

/** Whether a value in `unit` can become a value of `metric`. */
export function unitFits(unit: SourceUnit, metric: string): boolean {
	const want = metricDimension(metric);
	const have = UNIT_DIMENSION[unit];
	return want !== undefined && (have === want || (have === 'slope' && want === 'angle'));
}

// A key path: dot-separated object keys with optional [n] array indexes — `data.level`, `sensors[0].value`.
const PATH = /^[^.[\]]+(?:\[\d{1,4}\])*(?:\.[^.[\]]+(?:\[\d{1,4}\])*)*$/;
export const pathSchema = z
	.string()
	.min(1)
	.max(200)
	.regex(PATH, '路径形如 data.level 或 sensors[0].value a path looks like data.level or sensors[0].value');

const bilingual = z.object({ zh: z.string().min(1).max(80), en: z.string().min(1).max(80) });

/**
 * What a text value means: a number, `null` (ignore that value: nothing stored, nothing dead-lettered) or `"fault"`
 * (the sensor says it could not measure: the value is rejected as `sensor_fault`, visible in the dead letters).
 * Keys are compared after trimming; JSON booleans match "true"/"false".
 */
const enumSchema = z.record(z.string().max(80), z.union([z.number().finite(), z.null(), z.literal('fault')]));

export const fieldSchema = z
	.object({
		path: pathSchema,
		metric: z.string().refine(isKnownMetric, { message: '不是 shudi 的指标 not a shudi metric' }),
		/** Unit the device sends; default: the metric's own unit. A text value's own unit ("3.384 V") wins over it. */
		unit: z.enum(SOURCE_UNITS as [SourceUnit, ...SourceUnit[]]).optional(),
		/** value × scale + offset, in the source unit, before unit conversion. */
		scale: z.number().finite().optional(),
		offset: z.number().finite().optional(),
		/**
		 * The offset depends on the installation (an ultrasonic gauge's mount height above the datum): a built-in
		 * profile cannot know it, so until the device's own profile fields give it, values are rejected `needs_offset`
		 * (held in the dead letters, replayable) rather than stored as a wrong level.
		 */
		offsetPerDevice: z.boolean().optional(),
		enum: enumSchema.optional()
	})
	.strict()
	.superRefine((f, ctx) => {
		if (f.unit && !unitFits(f.unit, f.metric)) {
			ctx.addIssue({ code: 'custom', path: ['unit'], message: `单位 ${f.unit} 不能换算成 ${f.metric} (${METRICS[f.metric].unit}) unit ${f.unit} cannot become ${f.metric}` });
		}
	});
export type ProfileField = z.infer<typeof fieldSchema>;

/**
 * Time units: `auto` tells epoch seconds, milliseconds and microseconds apart by magnitude and takes ISO strings;
 * `local` is a wall-clock string ("2026-06-01 08:00:00") in the configured zone (TZ_DISPLAY); `utc` the same in UTC.
 */
export const TIME_UNITS = ['auto', 's', 'ms', 'us', 'iso', 'local', 'utc'] as const;
export type TimeUnit = (typeof TIME_UNITS)[number];
export const timeSchema = z.object({ path: pathSchema, unit: z.enum(TIME_UNITS) }).strict();

/**
 * A backlog the device sends as an array of readings, each with its own time (Milesight `history`:
 * [{timestamp, depth}] after an outage): every element becomes an item of its own, read by these fields.
 */
export const seriesSchema = z
	.object({
		path: pathSchema,
		time: timeSchema,
		fields: z.array(fieldSchema).min(1).max(50),
		ignore: z.array(pathSchema).max(50).default([]),
		faults: z.array(pathSchema).max(20).default([])
	})
	.strict();

export const profileSchema = z
	.object({
		name: z.string().regex(/^[a-z0-9][a-z0-9-]{1,63}$/, '名称只用小写字母、数字和连字符 name: lower-case letters, digits, hyphens'),
		label: bilingual,
		/** Where the payload format is published (vendor decoder, manual, API reference). */
		source: z.string().min(1).max(500),
		notes: z.object({ zh: z.string().min(1).max(600), en: z.string().min(1).max(600) }).optional(),
		fields: z.array(fieldSchema).max(200),
		/** Keys (or whole subtrees) that carry nothing to store: versions, serials, flags. Never dead-lettered. */
		ignore: z.array(pathSchema).max(200).default([]),
		/** Keys whose presence means the sensor could not measure; rejected `sensor_fault` with their value. */
		faults: z.array(pathSchema).max(50).default([]),
		/**
		 * An object whose keys, when they are shudi metric names, are readings in shudi units already (a DTU whose
		 * key names the installer set to water_level_m, …).
		 */
		nativeUnder: pathSchema.optional(),
		/** The device's own time, when the payload has one. Absent: the envelope's time (`ts`, network server time). */
		time: timeSchema.optional(),
		series: seriesSchema.optional()
	})
	.strict();
export type DeviceProfile = z.output<typeof profileSchema>;
export type DeviceProfileInput = z.input<typeof profileSchema>;

/** A device's own additions to its named profile (devices.profile_fields): fields only, checked the same way. */
export const profileFieldsSchema = z.array(fieldSchema).max(100);
