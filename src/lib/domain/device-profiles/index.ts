// Device profiles: the schema, the engine and the built-in list, for the ingest and the admin pages alike.
import { METRICS } from '../metrics.js';
import { compileProfile, type CompiledProfile } from './apply.js';
import { BUILTIN_PROFILE_INPUTS } from './builtin.js';
import { profileFieldsSchema, profileSchema, type DeviceProfile, type ProfileField } from './schema.js';

export * from './schema.js';
export { applyProfile, compileProfile, epochMsByMagnitude, splitPath, wallClockToEpochMs, type ApplyOptions, type ApplyResult, type CompiledProfile, type ProfileItem } from './apply.js';

/** The built-ins, parsed once through the same schema an admin's profile would meet (a bad one fails at import). */
export const BUILTIN_PROFILES: readonly DeviceProfile[] = Object.freeze(BUILTIN_PROFILE_INPUTS.map((p) => profileSchema.parse(p)));
const BY_NAME = new Map(BUILTIN_PROFILES.map((p) => [p.name, p]));

/** The base of a device with its own fields but no named profile: every key a native shudi metric. */
const NATIVE: DeviceProfile = profileSchema.parse({ name: 'native', label: { zh: 'shudi 原生键名', en: 'native shudi keys' }, source: 'DOMAIN.md "MQTT contract"', fields: [] });

export const BUILTIN_PROFILE_NAMES: readonly string[] = BUILTIN_PROFILES.map((p) => p.name);

export function getProfile(name: string): DeviceProfile | undefined {
	return BY_NAME.get(name);
}

/**
 * A named profile extended by a device's own fields (devices.profile_fields). A device field for a path the profile
 * already maps replaces it (an ultrasonic gauge's mount height as the offset of `distance`); a path the profile
 * ignored or called a fault is mapped from then on.
 */
export function mergeProfile(base: DeviceProfile, extra: readonly ProfileField[]): DeviceProfile {
	if (extra.length === 0) return base;
	const paths = new Set(extra.map((f) => f.path));
	// A series reads the same channel in its backlog (EM500-UDL `history[].distance`): the device's field for that
	// key holds there too, or its backlog would be stored without the mount height the live value has.
	const series = base.series && {
		...base.series,
		fields: base.series.fields.map((f) => extra.find((e) => e.path === f.path) ?? f)
	};
	return {
		...base,
		fields: [...extra, ...base.fields.filter((f) => !paths.has(f.path))],
		ignore: base.ignore.filter((p) => !paths.has(p)),
		faults: base.faults.filter((p) => !paths.has(p)),
		series
	};
}

/** Metrics a profile can yield: its fields' (and, for a native subtree, any metric). */
export function profileMetrics(p: DeviceProfile): string[] {
	if (p.nativeUnder) return Object.keys(METRICS);
	return [...new Set([...p.fields, ...(p.series?.fields ?? [])].map((f) => f.metric))];
}

/**
 * A device's effective, compiled profile from its row (profile name, profile_fields JSON), or an error naming what is
 * wrong: an unknown name, or fields that fail the schema.
 */
export function deviceProfile(name: string | null, fields: unknown): { ok: true; profile: CompiledProfile | null } | { ok: false; error: string } {
	const parsed = profileFieldsSchema.safeParse(fields ?? []);
	if (!parsed.success) return { ok: false, error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
	// No named profile: native shudi keys, plus whatever fields the device was given of its own.
	if (name === null) return { ok: true, profile: parsed.data.length ? compileProfile(mergeProfile(NATIVE, parsed.data)) : null };
	const base = getProfile(name);
	if (!base) return { ok: false, error: `未知的设备模板 unknown profile ${name}` };
	return { ok: true, profile: compileProfile(mergeProfile(base, parsed.data)) };
}
