// A device over its life, from the admin pages: place or move it (its village follows its position), set per-sensor
// thresholds (shown beside the default and its source), hold its alarms in a maintenance window, retire it. Every
// change is a device event and an audit row in one transaction; the rule runner is told to re-judge.
import { z } from 'zod';
import QRCode from 'qrcode';
import type { Db, Queryable } from '../platform/db.js';
import { audit } from '../people/auth.js';
import { localTime, text } from '../platform/params.js';
import { effectiveThresholds, type EffectiveThreshold } from '../../domain/rules.js';
import { BUILTIN_PROFILE_NAMES, getProfile, profileFieldsSchema, wallClockToEpochMs, type ProfileField } from '../../domain/device-profiles/index.js';
import type { SensorKind } from '../../domain/types.js';
import { VillageIndex, type Boundary } from '../../../../geo/index.js';

type Actor = { id: number | null; name: string };

export class DeviceAdminError extends Error {
	constructor(
		readonly zh: string,
		readonly en: string
	) {
		super(en);
	}
}

const coord = (min: number, max: number) =>
	z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v), z.number({ message: '坐标必须是数字 a number is required' }).finite().min(min).max(max));
export const moveSchema = z.object({ lng: coord(-180, 180), lat: coord(-90, 90) });
export const maintenanceSchema = z
	.object({
		starts_at: localTime('开始时间 start time'),
		ends_at: localTime('结束时间 end time'),
		reason: text(500).trim().min(1, '请写明原因 give a reason')
	})
	.refine((m) => m.ends_at > m.starts_at, { message: '结束要晚于开始 the end must be after the start' });

/** A QR code (PNG data URL) for the installer: device id, token and where to send, shown once with the token. */
export async function installerQr(d: { id: string; token: string; mqttHost: string; mqttPort: number }): Promise<string> {
	const text = JSON.stringify({ id: d.id, token: d.token, mqtt: `mqtt://${d.mqttHost}:${d.mqttPort}`, username: d.id, topic: `shudi/v1/devices/${d.id}/up` });
	return QRCode.toDataURL(text, { errorCorrectionLevel: 'M', margin: 2, width: 240 });
}

async function deviceEvent(q: Queryable, id: string, kind: string, detail: Record<string, unknown>) {
	await q.query('INSERT INTO device_events (device_id, kind, detail) VALUES ($1, $2, $3)', [id, kind, JSON.stringify(detail)]);
}

export async function moveDevice(db: Db, id: string, to: { lng: number; lat: number }, actor: Actor): Promise<number | null> {
	return db.tx(async (q) => {
		const old = await q.query<{ lng: number | null; lat: number | null; village_id: number | null }>('SELECT lng, lat, village_id FROM devices WHERE id = $1 AND retired_at IS NULL FOR UPDATE', [id]);
		if (!old.rows[0]) throw new DeviceAdminError('没有这个在用的设备。', 'No such device in service.');
		const villages = await q.query<{ id: number; boundary: Boundary }>('SELECT id, boundary FROM villages');
		const villageId = new VillageIndex(villages.rows.map((v) => ({ id: v.id, geometry: v.boundary }))).locate([to.lng, to.lat]);
		await q.query('UPDATE devices SET lng = $2, lat = $3, village_id = $4 WHERE id = $1', [id, to.lng, to.lat, villageId]);
		const detail = { from: old.rows[0], to: { ...to, village_id: villageId }, by: actor.name };
		await deviceEvent(q, id, 'moved', detail);
		await audit(q, actor, 'device_moved', { type: 'device', id }, detail);
		return villageId;
	});
}

/**
 * Thresholds from the form: one field per effective-threshold path, blank = use the default. Only known paths are
 * accepted (a hostile form cannot write arbitrary keys); values must be finite numbers.
 */
export function thresholdsFromForm(kind: SensorKind, form: Record<string, unknown>): { thresholds: Record<string, unknown>; errors: string[] } {
	const thresholds: Record<string, unknown> = {};
	const errors: string[] = [];
	for (const t of effectiveThresholds(kind, {})) {
		const raw = form[`t.${t.path}`];
		if (typeof raw !== 'string' || raw.trim() === '') continue;
		const v = Number(raw.trim());
		if (!Number.isFinite(v)) {
			errors.push(`${t.path}: “${raw.slice(0, 40)}” 不是数字 is not a number`);
			continue;
		}
		const keys = t.path.split('.');
		let node = thresholds;
		for (const k of keys.slice(0, -1)) node = (node[k] ??= {}) as Record<string, unknown>;
		node[keys[keys.length - 1]] = v;
	}
	return { thresholds, errors };
}

export async function setThresholds(db: Db, id: string, thresholds: Record<string, unknown>, actor: Actor): Promise<void> {
	await db.tx(async (q) => {
		const old = await q.query<{ thresholds: unknown }>('SELECT thresholds FROM devices WHERE id = $1 AND retired_at IS NULL FOR UPDATE', [id]);
		if (!old.rows[0]) throw new DeviceAdminError('没有这个在用的设备。', 'No such device in service.');
		await q.query('UPDATE devices SET thresholds = $2 WHERE id = $1', [id, JSON.stringify(thresholds)]);
		const detail = { from: old.rows[0].thresholds, to: thresholds, by: actor.name };
		await deviceEvent(q, id, 'thresholds_changed', detail);
		await audit(q, actor, 'device_thresholds_changed', { type: 'device', id }, detail);
	});
}

/** Times from a datetime-local field are in the display time zone; stored as instants. */
export function localToInstant(local: string, tz: string): Date {
	const [date, time] = local.split('T');
	const [y, mo, d] = date.split('-').map(Number);
	const [h, mi, sec] = time.split(':').map(Number);
	return new Date(wallClockToEpochMs(y, mo, d, h, mi, sec || 0, 0, tz));
}

/** A profile name the ingest knows, or an error listing the ones it does (the CLI and the admin pages say the same). */
export function checkProfileName(name: string): void {
	if (!getProfile(name)) {
		throw new DeviceAdminError(`没有名为 ${name} 的设备模板；可用：${BUILTIN_PROFILE_NAMES.join(', ')}`, `No profile named ${name}; known: ${BUILTIN_PROFILE_NAMES.join(', ')}`);
	}
}

/**
 * Sets a device's profile (a built-in name, or null for native shudi keys) and, when given, its own extra fields.
 * The ingest's registry picks the change up on its next refresh (seconds).
 */
export async function setDeviceProfile(db: Db, id: string, profile: string | null, actor: Actor, fields?: ProfileField[]): Promise<void> {
	if (profile !== null) checkProfileName(profile);
	if (fields !== undefined) {
		const parsed = profileFieldsSchema.safeParse(fields);
		if (!parsed.success) throw new DeviceAdminError(`附加字段有误：${parsed.error.issues[0].message}`, `Bad profile fields: ${parsed.error.issues[0].message}`);
	}
	await db.tx(async (q) => {
		const old = await q.query<{ profile: string | null; profile_fields: unknown }>('SELECT profile, profile_fields FROM devices WHERE id = $1 AND retired_at IS NULL FOR UPDATE', [id]);
		if (!old.rows[0]) throw new DeviceAdminError('没有这个在用的设备。', 'No such device in service.');
		await q.query('UPDATE devices SET profile = $2, profile_fields = COALESCE($3::jsonb, profile_fields) WHERE id = $1', [id, profile, fields === undefined ? null : JSON.stringify(fields)]);
		await audit(q, actor, 'device_profile_changed', { type: 'device', id }, { from: old.rows[0], to: { profile, profile_fields: fields ?? old.rows[0].profile_fields }, by: actor.name });
	});
}

/** The spans a baseline may be taken over (校准基线), and how. */
export const CALIBRATION_WINDOWS = { '1h': 3_600_000, '6h': 6 * 3_600_000, '24h': 24 * 3_600_000 } as const;
export type CalibrationWindow = keyof typeof CALIBRATION_WINDOWS;
export const calibrateSchema = z.object({
	window: z.enum(['1h', '6h', '24h'], { message: '时间窗只能是 1h、6h 或 24h window must be 1h, 6h or 24h' }).default('1h'),
	method: z.enum(['median', 'mean'], { message: '方法只能是 median（中位数）或 mean（平均值） method must be median or mean' }).default('median')
});
/**
 * Readings per metric a calibration window needs at least: with three, a median already ignores one bad reading, and
 * a sensor reporting every 10 minutes has six in the shortest window.
 */
export const MIN_CALIBRATION_READINGS = 3;
/** The metrics a kind's baseline is made of (the tilt and crack rules judge change from it). */
const BASELINE_METRICS: Partial<Record<SensorKind, string[]>> = { house_tilt: ['tilt_x_deg', 'tilt_y_deg'], crack: ['crack_mm'] };

export interface Calibration {
	baseline: Record<string, number>;
	window: CalibrationWindow;
	method: 'median' | 'mean';
	from: string;
	to: string;
	counts: Record<string, number>;
}

/** Median (the mean of the middle two for an even count) or mean of a non-empty list. */
function centre(values: number[], method: 'median' | 'mean'): number {
	if (method === 'mean') return values.reduce((a, b) => a + b, 0) / values.length;
	const s = [...values].sort((a, b) => a - b);
	const m = s.length >> 1;
	return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Sets a tilt or crack sensor's baseline from a window of its readings (the last 1 h / 6 h / 24 h before `now`):
 * the median or mean per metric, never a single reading, so one gust or a passing lorry does not become the
 * reference every later alarm is measured from. Suspect readings (READING_FLAGS.SUSPECT_*) are left out. Refuses when
 * a metric has fewer than MIN_CALIBRATION_READINGS in the window. Audited with the window, method and counts.
 */
export async function calibrate(db: Db, id: string, opts: { window: CalibrationWindow; method: 'median' | 'mean' }, actor: Actor, now = new Date()): Promise<Calibration> {
	return db.tx(async (q) => {
		const d = await q.query<{ kind: SensorKind; baseline: Record<string, number> | null }>('SELECT kind, baseline FROM devices WHERE id = $1 AND retired_at IS NULL FOR UPDATE', [id]);
		if (!d.rows[0]) throw new DeviceAdminError('没有这个在用的设备。', 'No such device in service.');
		const metrics = BASELINE_METRICS[d.rows[0].kind];
		if (!metrics) throw new DeviceAdminError(`${d.rows[0].kind} 类设备没有可校准的基线。`, `A ${d.rows[0].kind} sensor has no baseline to calibrate.`);
		const from = new Date(now.getTime() - CALIBRATION_WINDOWS[opts.window]);
		const r = await q.query<{ metric: string; value: number }>(
			'SELECT metric, value FROM readings WHERE device_id = $1 AND metric = ANY($2::text[]) AND observed_at > $3 AND observed_at <= $4 AND (flags & 12) = 0',
			[id, metrics, from.toISOString(), now.toISOString()]
		);
		const baseline: Record<string, number> = {};
		const counts: Record<string, number> = {};
		for (const m of metrics) {
			const values = r.rows.filter((x) => x.metric === m).map((x) => x.value);
			counts[m] = values.length;
			if (values.length < MIN_CALIBRATION_READINGS) {
				throw new DeviceAdminError(
					`近 ${opts.window.replace('h', ' 小时')}内 ${m} 只有 ${values.length} 个可用读数，至少需要 ${MIN_CALIBRATION_READINGS} 个才能校准；请选更长的时间窗或等设备多报几次。`,
					`Only ${values.length} usable ${m} readings in the last ${opts.window}; calibration needs at least ${MIN_CALIBRATION_READINGS}. Choose a longer window or wait for more reports.`
				);
			}
			baseline[m] = Math.round(centre(values, opts.method) * 1e6) / 1e6;
		}
		const out: Calibration = { baseline, window: opts.window, method: opts.method, from: from.toISOString(), to: now.toISOString(), counts };
		await q.query('UPDATE devices SET baseline = $2 WHERE id = $1', [id, JSON.stringify(baseline)]);
		const detail = { previous: d.rows[0].baseline, ...out, by: actor.name };
		await deviceEvent(q, id, 'calibrated', detail);
		await audit(q, actor, 'device_calibrated', { type: 'device', id }, detail);
		return out;
	});
}

export async function scheduleMaintenance(db: Db, id: string, w: { starts_at: Date; ends_at: Date; reason: string }, actor: Actor): Promise<number> {
	return db.tx(async (q) => {
		const d = await q.query('SELECT 1 FROM devices WHERE id = $1 AND retired_at IS NULL', [id]);
		if (!d.rows[0]) throw new DeviceAdminError('没有这个在用的设备。', 'No such device in service.');
		const r = await q.query<{ id: number }>(
			'INSERT INTO device_maintenance (device_id, starts_at, ends_at, reason, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING id',
			[id, w.starts_at.toISOString(), w.ends_at.toISOString(), w.reason, actor.name]
		);
		const detail = { window: Number(r.rows[0].id), starts_at: w.starts_at.toISOString(), ends_at: w.ends_at.toISOString(), reason: w.reason, by: actor.name };
		await deviceEvent(q, id, 'maintenance_scheduled', detail);
		await audit(q, actor, 'device_maintenance_scheduled', { type: 'device', id }, detail);
		return Number(r.rows[0].id);
	});
}

export async function cancelMaintenance(db: Db, id: string, windowId: number, actor: Actor): Promise<void> {
	await db.tx(async (q) => {
		const r = await q.query('UPDATE device_maintenance SET cancelled_at = now() WHERE id = $1 AND device_id = $2 AND cancelled_at IS NULL', [windowId, id]);
		if (!r.rowCount) throw new DeviceAdminError('没有这个维护窗口。', 'No such maintenance window.');
		await deviceEvent(q, id, 'maintenance_cancelled', { window: windowId, by: actor.name });
		await audit(q, actor, 'device_maintenance_cancelled', { type: 'device', id }, { window: windowId });
	});
}

export async function retireDevice(db: Db, id: string, reason: string, actor: Actor): Promise<void> {
	await db.tx(async (q) => {
		const r = await q.query('UPDATE devices SET retired_at = now(), revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 AND retired_at IS NULL', [id]);
		if (!r.rowCount) throw new DeviceAdminError('没有这个在用的设备。', 'No such device in service.');
		await deviceEvent(q, id, 'retired', { reason, by: actor.name });
		await audit(q, actor, 'device_retired', { type: 'device', id }, { reason });
	});
}

export interface DeviceDetail {
	id: string;
	name: string;
	kind: SensorKind;
	lng: number | null;
	lat: number | null;
	village: string | null;
	status: string;
	baseline: Record<string, number> | null;
	revoked: boolean;
	retired: boolean;
	/** Effective thresholds with the default's own source kept beside an override's. */
	thresholds: (EffectiveThreshold & { default_source: string })[];
	maintenance: { id: number; starts_at: string; ends_at: string; reason: string; created_by: string; cancelled: boolean; active: boolean }[];
	events: { at: string; kind: string; detail: Record<string, unknown> }[];
}

export async function deviceDetail(q: Queryable, id: string): Promise<DeviceDetail | null> {
	const r = await q.query<{ id: string; name: string; kind: SensorKind; lng: number | null; lat: number | null; village: string | null; status: string; baseline: Record<string, number> | null; thresholds: Record<string, unknown>; revoked_at: Date | null; retired_at: Date | null }>(
		`SELECT d.id, d.name, d.kind, d.lng, d.lat, v.name AS village, d.status, d.baseline, d.thresholds, d.revoked_at, d.retired_at
		 FROM devices d LEFT JOIN villages v ON v.id = d.village_id WHERE d.id = $1`,
		[id]
	);
	const d = r.rows[0];
	if (!d) return null;
	const m = await q.query<{ id: number; starts_at: Date; ends_at: Date; reason: string; created_by: string; cancelled_at: Date | null }>(
		'SELECT id, starts_at, ends_at, reason, created_by, cancelled_at FROM device_maintenance WHERE device_id = $1 ORDER BY starts_at DESC',
		[id]
	);
	const e = await q.query<{ at: Date; kind: string; detail: Record<string, unknown> }>('SELECT at, kind, detail FROM device_events WHERE device_id = $1 ORDER BY at DESC, id DESC LIMIT 200', [id]);
	const now = Date.now();
	return {
		id: d.id,
		name: d.name,
		kind: d.kind,
		lng: d.lng,
		lat: d.lat,
		village: d.village,
		status: d.status,
		baseline: d.baseline,
		revoked: !!d.revoked_at,
		retired: !!d.retired_at,
		thresholds: (() => {
			const defaults = new Map(effectiveThresholds(d.kind, {}).map((t) => [t.path, t.source]));
			return effectiveThresholds(d.kind, d.thresholds).map((t) => ({ ...t, default_source: defaults.get(t.path) ?? t.source }));
		})(),
		maintenance: m.rows.map((w) => ({
			id: Number(w.id),
			starts_at: new Date(w.starts_at).toISOString(),
			ends_at: new Date(w.ends_at).toISOString(),
			reason: w.reason,
			created_by: w.created_by,
			cancelled: !!w.cancelled_at,
			active: !w.cancelled_at && new Date(w.starts_at).getTime() <= now && new Date(w.ends_at).getTime() > now
		})),
		events: e.rows.map((x) => ({ at: new Date(x.at).toISOString(), kind: x.kind, detail: x.detail }))
	};
}
