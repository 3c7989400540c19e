// Device profiles (src/lib/domain/device-profiles): every built-in against its vendor's published samples
// (tests/fixtures/profiles/<name>/, each folder's SOURCE.txt names where the format is published), with the exact
// readings in shudi units and times; then the engine's pieces — paths, units, text numbers, enumerations, time — and
// the schema that keeps a profile data, never code.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
	BUILTIN_PROFILES,
	applyProfile,
	deviceProfile,
	getProfile,
	mergeProfile,
	profileFieldsSchema,
	profileSchema,
	type ApplyResult,
	type DeviceProfile,
	type ProfileItem
} from '../../src/lib/domain/device-profiles/index.js';
import { decodeMessage } from '../../ingest/decoders/index.js';

const DIR = 'tests/fixtures/profiles';
const TZ = 'Asia/Shanghai';
const fixture = (profile: string, file: string): Record<string, unknown> => JSON.parse(readFileSync(join(DIR, profile, file), 'utf8'));
const lora = (values: Record<string, unknown>): ProfileItem => ({ ts: '2026-06-01T00:00:00Z', seq: 7, values });
const named = (name: string): DeviceProfile => {
	const p = getProfile(name);
	if (!p) throw new Error(`no built-in ${name}`);
	return p;
};
const plain = (r: ApplyResult) => ({ ts: r.item.ts, values: { ...r.item.values }, unmapped: r.unmapped, rejected: r.rejected });
const ISO0 = '2026-06-01T00:00:00Z';

describe('built-in profiles against vendor samples', () => {
	it('every built-in has a fixture folder with a SOURCE line and at least one sample', () => {
		for (const p of BUILTIN_PROFILES) {
			const files = readdirSync(join(DIR, p.name));
			expect(readFileSync(join(DIR, p.name, 'SOURCE.txt'), 'utf8'), p.name).toMatch(/^SOURCE: \S/);
			expect(files.filter((f) => f.endsWith('.json')).length, p.name).toBeGreaterThan(0);
			expect(p.source).toMatch(/^https:\/\//);
		}
		expect(BUILTIN_PROFILES.map((p) => p.name)).toEqual(
			expect.arrayContaining(['milesight-em500-swl', 'milesight-em310-tilt', 'milesight-em500-udl', 'dragino-ldds75', 'dragino-lse01', 'dtu-json', 'thingsboard-keys'])
		);
	});

	// [profile, fixture, readings, unmapped, rejected]
	const LORA_CASES: [string, string, Record<string, number>, ApplyResult['unmapped'], ApplyResult['rejected']][] = [
		['milesight-em500-swl', 'readme-017564037702.json', { water_level_m: 0.02, battery_pct: 100 }, [], []],
		['milesight-em500-swl', '017555-03779600.json', { water_level_m: 1.5, battery_pct: 85 }, [], []],
		['milesight-em500-swl', '01755c-0377ffff-depth-error.json', { battery_pct: 92 }, [], [{ key: 'depth_error', value: 'collection failed', reason: 'sensor_fault' }]],
		['milesight-em500-udl', 'readme-01756403821e00.json', { battery_pct: 100 }, [], [{ key: 'distance', value: 30, reason: 'needs_offset' }]],
		['milesight-em310-tilt', 'readme-03cf00000000282307.json', { tilt_x_deg: 0, tilt_y_deg: 0 }, [], []],
		['milesight-em310-tilt', '017562-03cf3200ceff142300.json', { tilt_x_deg: 0.5, tilt_y_deg: -0.5, battery_pct: 98 }, [], []],
		['dragino-ldds75', 'cs4-0d3804d20000fd01.json', { battery_v: 3.384 }, [], [{ key: 'Distance', value: '1234 mm', reason: 'needs_offset' }]],
		['dragino-ldds75', 'ttn-no-sensor.json', { battery_v: 3.384 }, [], [{ key: 'Distance', value: 'No Sensor', reason: 'sensor_fault' }]],
		['dragino-lse01', 'ttn-v114-0d38-0000-0d7a-0a2d-00c8-00.json', { soil_moisture_pct: 34.5, temperature_c: 26.05, battery_v: 3.384 }, [], []],
		['dragino-lse01', 'cs4-v121-0d38-00ea-0d7a-ff7e-00c8-00.json', { soil_moisture_pct: 34.5, temperature_c: -1.29, battery_v: 3.384 }, [], []]
	];
	it.each(LORA_CASES)('%s %s', (name, file, readings, unmapped, rejected) => {
		const r = applyProfile(named(name), lora(fixture(name, file)), { timeZone: TZ });
		expect(plain(r)).toEqual({ ts: ISO0, values: readings, unmapped, rejected });
		expect(r.item.seq).toBe(7);
		expect(r.series).toEqual([]);
	});

	it('EM500-SWL history frame: the backlog becomes readings at their own times (epoch seconds), faults held', () => {
		const r = applyProfile(named('milesight-em500-swl'), lora(fixture('milesight-em500-swl', '20ce80d3f3699600-history.json')), { timeZone: TZ });
		expect(r.series.map((i) => ({ ts: i.ts, values: { ...i.values } }))).toEqual([{ ts: 1777587072000, values: { water_level_m: 1.5 } }]);
		expect([{ ...r.item.values }, r.unmapped, r.rejected]).toEqual([{}, [], []]);
		// Two points as the vendor decoder gives them for frame 20ce80d3f3699600 20ce8cd3f369ffff: the second failed.
		const two = applyProfile(named('milesight-em500-swl'), lora({ history: [{ timestamp: 1777587072, depth: 150 }, { timestamp: 1777587084, depth_error: 'collection failed' }] }), { timeZone: TZ });
		expect(two.series.map((i) => i.ts)).toEqual([1777587072000]);
		expect(two.rejected).toEqual([{ key: 'history[1].depth_error', value: 'collection failed', reason: 'sensor_fault' }]);
	});

	it('EM500-UDL history: the device’s mount height holds for its backlog too', () => {
		const history = { history: [{ timestamp: 1777587072, distance: 4000 }, { timestamp: 1777587084, distance: 3992 }] };
		const bare = applyProfile(named('milesight-em500-udl'), lora(history), { timeZone: TZ });
		expect(bare.rejected.map((x) => `${x.key} ${x.reason}`)).toEqual(['history[0].distance needs_offset', 'history[1].distance needs_offset']);
		const udl = mergeProfile(named('milesight-em500-udl'), [{ path: 'distance', metric: 'water_level_m', unit: 'mm', scale: -1, offset: 5000 }]);
		const r = applyProfile(udl, lora(history), { timeZone: TZ });
		expect(r.series.map((i) => [i.ts, i.values.water_level_m])).toEqual([
			[1777587072000, 1],
			[1777587084000, 1.008]
		]);
	});

	it('ultrasonic gauges: the device’s mount height (its own profile field) turns distance into a level', () => {
		const udl = mergeProfile(named('milesight-em500-udl'), [{ path: 'distance', metric: 'water_level_m', unit: 'mm', scale: -1, offset: 5000 }]);
		const r = applyProfile(udl, lora(fixture('milesight-em500-udl', '017550-0382a00f.json')), { timeZone: TZ });
		expect(plain(r)).toEqual({ ts: ISO0, values: { water_level_m: 1, battery_pct: 80 }, unmapped: [], rejected: [] });
		const ldds = mergeProfile(named('dragino-ldds75'), [{ path: 'Distance', metric: 'water_level_m', unit: 'mm', scale: -1, offset: 3000, enum: { 'No Sensor': 'fault' } }]);
		const r2 = applyProfile(ldds, lora(fixture('dragino-ldds75', 'cs4-0d3804d20000fd01.json')), { timeZone: TZ });
		expect({ ...r2.item.values }).toEqual({ water_level_m: 1.766, battery_v: 3.384 });
	});

	it('the ChirpStack uplink of an EM500-SWL, decoded then profiled: 150 cm is 1.5 m at the network server’s time', () => {
		const event = fixture('milesight-em500-swl', 'chirpstack-uplink.json');
		const d = decodeMessage('application/17c82e96-be03-4f38-aef3-f83d48582d97/device/24e124126c481234/event/up', Buffer.from(JSON.stringify(event)), {});
		const r = applyProfile(named('milesight-em500-swl'), d.items[0], { timeZone: TZ });
		expect(plain(r)).toEqual({ ts: '2026-06-01T00:00:00.000+00:00', values: { water_level_m: 1.5, battery_pct: 85 }, unmapped: [], rejected: [] });
		expect(d.extras).toEqual({ rssi_dbm: -97, snr_db: 7.5 });
	});

	it('DTU JSON: epoch seconds, nested data with metric-named keys, null as a failed read', () => {
		const r = applyProfile(named('dtu-json'), { ts: undefined, values: fixture('dtu-json', 'doc-shape-epoch-seconds.json') }, { timeZone: TZ });
		expect(plain(r)).toEqual({
			ts: Date.parse('2026-06-01T00:00:00Z'),
			values: { water_level_m: 1.23, battery_v: 12.1 },
			unmapped: [],
			rejected: [{ key: 'data.rain_mm', value: null, reason: 'no_value' }]
		});
	});

	it('DTU JSON: a zone-less time string is Beijing wall-clock time (TZ_DISPLAY); unknown data keys are unmapped by path', () => {
		const r = applyProfile(named('dtu-json'), { ts: undefined, values: fixture('dtu-json', 'local-time-string.json') }, { timeZone: TZ });
		expect(new Date(r.item.ts as number).toISOString()).toBe('2026-06-01T00:00:00.000Z');
		expect({ ...r.item.values }).toEqual({ water_level_m: 1.25 });
		expect(r.unmapped).toEqual([{ key: 'data.k3', value: 666 }]);
	});

	it('ThingsBoard keys, as the ThingsBoard decoder hands them over: plain keys at server time, and {ts in seconds, values}', () => {
		const tb = (body: unknown) => decodeMessage('v1/devices/me/telemetry', Buffer.from(JSON.stringify(body)), { username: 'tok' }).items[0];
		const r = applyProfile(named('thingsboard-keys'), tb(fixture('thingsboard-keys', 'plain-keys.json')), { timeZone: TZ });
		expect(plain(r)).toEqual({ ts: undefined, values: { water_level_m: 2.35, temperature_c: 21.5, battery_pct: 87 }, unmapped: [], rejected: [] });
		const r2 = applyProfile(named('thingsboard-keys'), tb(fixture('thingsboard-keys', 'ts-values-seconds.json')), { timeZone: TZ });
		expect(plain(r2)).toEqual({ ts: Date.parse(ISO0), values: { water_level_m: 2.4, battery_pct: 86 }, unmapped: [], rejected: [] });
	});
});

describe('the engine', () => {
	const base = (over: Partial<DeviceProfile> & { fields: DeviceProfile['fields'] }): DeviceProfile =>
		profileSchema.parse({ name: 'test', label: { zh: '测试', en: 'test' }, source: 'tests', ...over });
	const run = (p: DeviceProfile, values: Record<string, unknown>, ts?: unknown) => applyProfile(p, { ts, values }, { timeZone: TZ });

	it('paths reach into nested objects and arrays; unclaimed siblings come back by path', () => {
		const p = base({ fields: [{ path: 'sensors[1].value', metric: 'crack_mm' }, { path: 'data.level', metric: 'water_level_m', unit: 'cm' }] });
		const r = run(p, { sensors: [{ value: 9 }, { value: 1.25 }], data: { level: 321, other: 'x' } });
		expect({ ...r.item.values }).toEqual({ crack_mm: 1.25, water_level_m: 3.21 });
		expect(r.unmapped).toEqual([{ key: 'sensors[0]', value: { value: 9 } }, { key: 'data.other', value: 'x' }]);
	});

	it.each([
		['cm → m', { unit: 'cm', metric: 'water_level_m' }, 250, 2.5],
		['mm → m', { unit: 'mm', metric: 'water_level_m' }, 1234, 1.234],
		['m → mm', { unit: 'm', metric: 'crack_mm' }, 0.0025, 2.5],
		['mV → V', { unit: 'mV', metric: 'battery_v' }, 3384, 3.384],
		['‰ slope → degrees', { unit: '‰', metric: 'tilt_x_deg' }, 4, (Math.atan(0.004) * 180) / Math.PI],
		['% slope → degrees', { unit: '%slope', metric: 'tilt_x_deg' }, 100, 45],
		['rad → degrees', { unit: 'rad', metric: 'tilt_y_deg' }, Math.PI / 4, 45],
		['°F → °C', { unit: '°F', metric: 'temperature_c' }, 212, 100],
		['scale and offset in the source unit first', { unit: 'cm', metric: 'water_level_m', scale: 0.1, offset: 100 }, 500, 1.5]
	])('%s', (_n, f, raw, want) => {
		const r = run(base({ fields: [{ path: 'v', ...(f as { metric: string }) }] }), { v: raw });
		expect(r.item.values[(f as { metric: string }).metric]).toBeCloseTo(want, 12);
	});

	it.each([
		['"3.384 V"', 'battery_v', 'V', '3.384 V', 3.384, undefined],
		['"3384 mV" into a V field', 'battery_v', 'V', '3384 mV', 3.384, undefined],
		['"25.30 °C"', 'temperature_c', '°C', '25.30 °C', 25.3, undefined],
		['" 34.50 " text', 'soil_moisture_pct', '%', ' 34.50 ', 34.5, undefined],
		['"12 furlongs"', 'water_level_m', 'm', '12 furlongs', undefined, 'unknown_unit'],
		['"3 mm" for a voltage', 'battery_v', 'V', '3 mm', undefined, 'wrong_unit'],
		['"abc"', 'battery_v', 'V', 'abc', undefined, 'not_a_number'],
		['an object', 'battery_v', 'V', { v: 1 }, undefined, 'not_a_number'],
		['null', 'battery_v', 'V', null, undefined, 'no_value']
	])('text %s', (_n, metric, unit, raw, want, reason) => {
		const r = run(base({ fields: [{ path: 'k', metric, unit: unit as never }] }), { k: raw });
		if (want === undefined) expect(r.rejected).toEqual([{ key: 'k', value: raw, reason }]);
		else expect(r.item.values[metric]).toBeCloseTo(want, 12);
	});

	it('enumerations map text and booleans to numbers, ignore them, or call them a fault', () => {
		const p = base({ fields: [{ path: 'door', metric: 'displacement_mm', enum: { open: 1, closed: 0, true: 5, unknown: null, broken: 'fault' } }] });
		expect(run(p, { door: 'open' }).item.values.displacement_mm).toBe(1);
		expect(run(p, { door: ' closed ' }).item.values.displacement_mm).toBe(0);
		expect(run(p, { door: true }).item.values.displacement_mm).toBe(5);
		const ignored = run(p, { door: 'unknown' });
		expect([{ ...ignored.item.values }, ignored.rejected, ignored.unmapped]).toEqual([{}, [], []]);
		expect(run(p, { door: 'broken' }).rejected).toEqual([{ key: 'door', value: 'broken', reason: 'sensor_fault' }]);
	});

	it('ignored keys vanish (with their subtrees); top-level shudi metric names pass through as native readings', () => {
		const p = base({ fields: [], ignore: ['meta', 'sn'] });
		const r = run(p, { meta: { a: 1 }, sn: 'x', battery_v: 3.6, mystery: 1 });
		expect({ ...r.item.values }).toEqual({ battery_v: 3.6 });
		expect(r.unmapped).toEqual([{ key: 'mystery', value: 1 }]);
	});

	it.each([
		['epoch seconds', 's', 1780272000, Date.parse(ISO0)],
		['epoch ms by magnitude', 'auto', 1780272000123, 1780272000123],
		['epoch seconds by magnitude', 'auto', 1780272000, Date.parse(ISO0)],
		['epoch µs by magnitude', 'auto', 1780272000123456, 1780272000123.456],
		['epoch seconds as text', 'auto', '1780272000', Date.parse(ISO0)],
		['ISO with zone passes on for the validator', 'auto', '2026-06-01T08:00:00+08:00', '2026-06-01T08:00:00+08:00'],
		['local wall clock', 'local', '2026-06-01 08:00:00', Date.parse(ISO0)],
		['local with slashes', 'auto', '2026/06/01 08:00', Date.parse(ISO0)],
		['UTC wall clock', 'utc', '2026/06/01 00:00:00', Date.parse(ISO0)]
	])('time: %s', (_n, unit, raw, want) => {
		const p = base({ fields: [{ path: 'v', metric: 'rain_mm' }], time: { path: 't', unit: unit as never } });
		const r = run(p, { t: raw, v: 1 });
		expect(r.item.ts).toEqual(want);
		expect(r.unmapped).toEqual([]);
	});

	it.each([
		['an impossible date', 'local', '2026-02-30 08:00:00'],
		['text in an epoch field', 's', 'yesterday'],
		['a zone-less string where ISO is required', 'iso', '2026-06-01 08:00:00']
	])('time: %s is bad_timestamp, so the validator rejects every value of the item', (_n, unit, raw) => {
		const p = base({ fields: [{ path: 'v', metric: 'rain_mm' }], time: { path: 't', unit: unit as never } });
		const r = run(p, { t: raw, v: 1 });
		expect(r.item.ts).toBeNaN();
		expect(r.rejected).toEqual([{ key: 't', value: raw, reason: 'bad_timestamp' }]);
	});

	it('a profile time field absent from the payload falls back to the envelope time, read by magnitude', () => {
		const p = base({ fields: [{ path: 'v', metric: 'rain_mm' }], time: { path: 't', unit: 'local' } });
		expect(run(p, { v: 1 }, 1780272000).item.ts).toBe(Date.parse(ISO0));
		expect(run(p, { v: 1 }).item.ts).toBeUndefined();
	});
});

describe('the schema keeps profiles data', () => {
	const good = { name: 'x-1', label: { zh: '甲', en: 'x' }, source: 'https://example.org', fields: [{ path: 'a', metric: 'battery_v', unit: 'mV' }] };
	it('accepts a plain profile and refuses code, unknown keys, unknown metrics and units that measure something else', () => {
		expect(profileSchema.safeParse(good).success).toBe(true);
		expect(profileSchema.safeParse({ ...good, script: 'return 1' }).success).toBe(false);
		expect(profileSchema.safeParse({ ...good, fields: [{ path: 'a', metric: 'battery_v', transform: 'v*2' }] }).success).toBe(false);
		expect(profileSchema.safeParse({ ...good, fields: [{ path: 'a', metric: 'voltage' }] }).success).toBe(false);
		const wrong = profileSchema.safeParse({ ...good, fields: [{ path: 'a', metric: 'battery_v', unit: 'cm' }] });
		expect(wrong.success).toBe(false);
		expect(wrong.error?.issues[0].message).toMatch(/cannot become battery_v/);
		expect(profileFieldsSchema.safeParse([{ path: 'a..b', metric: 'battery_v' }]).success).toBe(false);
	});

	it('a device row: unknown profile names and bad fields are errors; no profile and no fields is the native fast path', () => {
		expect(deviceProfile(null, [])).toEqual({ ok: true, profile: null });
		expect(deviceProfile('no-such', [])).toMatchObject({ ok: false, error: expect.stringMatching(/unknown profile no-such/) });
		expect(deviceProfile('dtu-json', [{ path: 'x', metric: 'nope' }])).toMatchObject({ ok: false });
		const own = deviceProfile(null, [{ path: 'lvl', metric: 'water_level_m', unit: 'cm' }]);
		expect(own.ok && own.profile && { ...applyProfile(own.profile, { ts: undefined, values: { lvl: 120, battery_v: 3.5 } }, { timeZone: TZ }).item.values }).toEqual({ water_level_m: 1.2, battery_v: 3.5 });
	});
});
