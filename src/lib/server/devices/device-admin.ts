// A device over its life, from the admin pages: place or move it (its village follows its position), set per-sensor
// thresholds (shown beside the default and its source), hold its alarms in a maintenance window, retire it. Every
// change is a device event and an audit row in one transaction; the rule runner is told to re-judge.
import { z } from 'zod';
import QRCode from 'qrcode';
import type { Db, Queryable } from '../platform/db.js';
import { audit } from '../people/auth.js';
import { localTime, text } from '../platform/params.js';
import { effectiveThresholds, type EffectiveThreshold } from '../../domain/rules.js';
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
	const asUtc = new Date(`${local.length === 16 ? `${local}:00` : local}Z`);
	// The zone's offset at that moment (two passes settle DST edges; Asia/Shanghai has none).
	let t = asUtc.getTime();
	for (let i = 0; i < 2; i++) {
		const parts = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(new Date(t));
		const g = (k: string) => Number(parts.find((p) => p.type === k)?.value);
		const shown = Date.UTC(g('year'), g('month') - 1, g('day'), g('hour'), g('minute'), g('second'));
		t += asUtc.getTime() - shown;
	}
	return new Date(t);
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
