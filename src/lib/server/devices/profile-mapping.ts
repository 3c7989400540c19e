// Mapping a key from the dead letters (issue 22 item 3): keys a device sent that its profile does not map are held as
// `unknown_metric` dead letters; here they are grouped by device and key, a field for one is tried out on the held
// messages through the ingest pipeline itself (a dry run the runtime hands in: `PayloadPreviewer`), and, confirmed,
// added to the device's own profile fields (devices.profile_fields, audited) so the held messages can be replayed.
// The device's profile page uses the same preview for a pasted payload.
import { z } from 'zod';
import type { Db, Queryable } from '../platform/db.js';
import { audit } from '../people/auth.js';
import { text } from '../platform/params.js';
import { METRICS } from '../../domain/metrics.js';
import { deviceProfile, fieldSchema, getProfile, profileFieldsSchema, SOURCE_UNITS, type CompiledProfile, type DeviceProfile, type ProfileField } from '../../domain/device-profiles/index.js';
import type { Reading } from '../../domain/types.js';
import { DEVICE_ID } from './devices.js';
import { replayDeadLetters, type MessageHandler } from './dead-letters.js';

type Actor = { id: number | null; name: string };

/** What a preview needs of the ingest (ingest/dry-run.ts dryRunMessage satisfies it; the runtime hands it in). */
export type PayloadPreviewer = (
	device: { id: string; kind: string; intervalS: number; profile: CompiledProfile | null; profileError?: string },
	topic: string,
	payload: Buffer,
	opts: { receivedAt: Date; timeZone: string }
) => Promise<{ readings: Reading[]; rejected: { reason: string; key: string | null; value: unknown; detail: string | null }[] }>;

/** Why a value or message would not be stored, Chinese first (the pipeline's and the profile engine's reasons). */
export const REJECT_REASONS: Record<string, string> = {
	unknown_metric: '未映射的键 key not mapped',
	not_a_number: '不是数字 not a number',
	not_finite: '不是有限数 not a finite number',
	out_of_range: '超出物理范围 outside the physical range',
	bad_timestamp: '时间无法识别 unreadable time',
	bad_seq: '序号无效 bad sequence number',
	needs_offset: '需要本设备的偏移（安装高度） needs this device’s offset (mount height)',
	sensor_fault: '传感器报告故障 the sensor reports a fault',
	unknown_unit: '未知单位 unknown unit',
	wrong_unit: '单位与指标不符 unit does not fit the metric',
	no_value: '无值 no value',
	bad_profile: '设备模板有误 bad device profile',
	empty: '空消息 empty message',
	bad_json: '不是 JSON not JSON',
	unknown_topic: '未知主题 unknown topic',
	payload_too_large: '消息过大 payload too large',
	unknown_device: '未登记的设备 unknown device',
	revoked_device: '设备凭据已吊销 device credential revoked'
};
export const reasonLabel = (reason: string) => REJECT_REASONS[reason] ?? reason;

/** The dialects a pasted payload may be in, and the topic it would arrive on (the device is the one chosen). */
export const DIALECTS = ['native', 'thingsboard', 'chirpstack', 'tts'] as const;
export type PreviewDialect = (typeof DIALECTS)[number];
export const DIALECT_LABELS: Record<PreviewDialect, string> = {
	native: 'shudi 原生 native (shudi/v1/devices/{id}/up)',
	thingsboard: 'ThingsBoard 遥测 telemetry (v1/devices/me/telemetry)',
	chirpstack: 'ChirpStack v4 上行事件 uplink event',
	tts: 'The Things Stack v3 上行 uplink'
};
export function dialectTopic(dialect: PreviewDialect, device: { id: string; dev_eui: string | null }): string {
	if (dialect === 'native') return `shudi/v1/devices/${device.id}/up`;
	// The embedded broker republishes ThingsBoard telemetry under the id of the device that authenticated.
	if (dialect === 'thingsboard') return `shudi/v1/tb/${device.id}/telemetry`;
	if (dialect === 'chirpstack') return `application/preview/device/${device.dev_eui ?? '0000000000000000'}/event/up`;
	return `v3/preview@ttn/devices/${device.id}/up`;
}

export interface DeviceProfileState {
	id: string;
	name: string;
	kind: string;
	dev_eui: string | null;
	interval_s: number;
	/** Built-in profile name, or null for native shudi keys. */
	profile: string | null;
	/** The built-in profile, when named (its label, source and fields, for the page). */
	base: DeviceProfile | null;
	/** The device's own fields (devices.profile_fields) as stored; checked by the schema where they are used. */
	fields: ProfileField[];
}

export async function deviceProfileState(db: Queryable, id: string): Promise<DeviceProfileState | null> {
	if (!DEVICE_ID.test(id)) return null;
	const r = await db.query<{ id: string; name: string; kind: string; dev_eui: string | null; interval_s: number; profile: string | null; profile_fields: unknown }>(
		'SELECT id, name, kind, dev_eui, interval_s, profile, profile_fields FROM devices WHERE id = $1 AND retired_at IS NULL',
		[id]
	);
	const d = r.rows[0];
	if (!d) return null;
	const parsed = profileFieldsSchema.safeParse(d.profile_fields ?? []);
	return { ...d, base: d.profile ? (getProfile(d.profile) ?? null) : null, fields: parsed.success ? parsed.data : [] };
}

/** The device's own fields with `field` added (a field for the same path replaced). */
export function withField(fields: readonly ProfileField[], field: ProfileField): ProfileField[] {
	return [...fields.filter((f) => f.path !== field.path), field];
}

/** The compiled profile the device would have with `fields` as its own, for a preview (or its error). */
export function tryProfile(d: DeviceProfileState, fields: readonly ProfileField[]) {
	return deviceProfile(d.profile, fields);
}

// ---- groups of unknown keys ------------------------------------------------------------------------------------

/** The key and value of an `unknown_metric` dead letter: the pipeline writes {"metric": key, "value": value}, cut at 500. */
export function keyOfDetail(detail: string | null): { key: string; value: unknown } | null {
	if (!detail) return null;
	try {
		const d = JSON.parse(detail) as { metric?: unknown; value?: unknown };
		return typeof d.metric === 'string' && d.metric ? { key: d.metric, value: d.value } : null;
	} catch {
		// A cut detail no longer parses: its key comes first and is read by pattern; its value is lost.
		const m = /^\{"metric":("(?:[^"\\]|\\.)*")/.exec(detail);
		if (!m) return null;
		try {
			const key = JSON.parse(m[1]) as string;
			return key ? { key, value: undefined } : null;
		} catch {
			return null;
		}
	}
}

export interface UnknownKeyGroup {
	device_id: string;
	device_name: string | null;
	profile: string | null;
	key: string;
	count: number;
	first_at: string;
	last_at: string;
	/** Up to five distinct recent values, as JSON text. */
	samples: string[];
	/** Ids of the held dead letters, newest first (at most MAX_HELD). */
	ids: number[];
}

/**
 * Held for mapping: never replayed, or replayed while its key was still unknown. A replay after mapping notes the
 * key's fate (replayDeadLetters with a key): `stored …`, or the reason its value is refused now (`rejected:
 * not_a_number`) — no longer an unknown key, so it leaves the groups and stays in the dead-letter list with its outcome.
 */
const HELD = `(replay_result IS NULL OR (replay_result NOT LIKE 'stored%' AND replay_result LIKE '%unknown_metric%'))`;

/** A group names at most this many held dead letters, to preview and replay at once. */
export const MAX_HELD = 1000;
/** Dead letters read to build the groups: enough for a township's backlog, bounded for a flood of them. */
const SCAN = 20_000;

export const groupsQuery = z.object({ device: text(128).min(1).optional() });

export async function unknownKeyGroups(db: Queryable, q: { device?: string } = {}): Promise<{ groups: UnknownKeyGroup[]; scanned: number; truncated: boolean }> {
	const params: unknown[] = [];
	let where = `d.reason = 'unknown_metric' AND d.device_id IS NOT NULL AND ${HELD.replaceAll('replay_result', 'd.replay_result')}`;
	if (q.device) where += ` AND d.device_id = $${params.push(q.device)}`;
	const r = await db.query<{ id: number; device_id: string; detail: string | null; received_at: Date; name: string | null; profile: string | null }>(
		`SELECT d.id, d.device_id, d.detail, d.received_at, v.name, v.profile FROM dead_letters d LEFT JOIN devices v ON v.id = d.device_id
		 WHERE ${where} ORDER BY d.id DESC LIMIT $${params.push(SCAN)}`,
		params
	);
	const groups = new Map<string, UnknownKeyGroup>();
	for (const row of r.rows) {
		const k = keyOfDetail(row.detail);
		if (!k) continue;
		const id = `${row.device_id}\u0000${k.key}`;
		const at = new Date(row.received_at).toISOString();
		let g = groups.get(id);
		if (!g) groups.set(id, (g = { device_id: row.device_id, device_name: row.name, profile: row.profile, key: k.key, count: 0, first_at: at, last_at: at, samples: [], ids: [] }));
		g.count++;
		if (at < g.first_at) g.first_at = at;
		if (at > g.last_at) g.last_at = at;
		if (g.ids.length < MAX_HELD) g.ids.push(Number(row.id));
		if (k.value !== undefined && g.samples.length < 5) {
			const s = JSON.stringify(k.value).slice(0, 80);
			if (!g.samples.includes(s)) g.samples.push(s);
		}
	}
	const list = [...groups.values()].sort((a, b) => (a.last_at < b.last_at ? 1 : a.last_at > b.last_at ? -1 : a.key.localeCompare(b.key)));
	return { groups: list, scanned: r.rows.length, truncated: r.rows.length === SCAN };
}

/** The held dead letters of one device and key, oldest first. */
async function heldFor(db: Queryable, deviceId: string, key: string, limit = MAX_HELD) {
	const r = await db.query<{ id: number; topic: string; payload: Uint8Array; received_at: Date; detail: string | null }>(
		`SELECT id, topic, payload, received_at, detail FROM dead_letters
		 WHERE reason = 'unknown_metric' AND device_id = $1 AND ${HELD}
		 ORDER BY id`,
		[deviceId]
	);
	return r.rows.filter((row) => keyOfDetail(row.detail)?.key === key).slice(0, limit);
}

// ---- the mapping form -------------------------------------------------------------------------------------------

const FIELD_NAMES: Record<string, string> = { path: '键 key', metric: '指标 metric', unit: '单位 unit', scale: '倍数 scale', offset: '偏移 offset', enum: '枚举 enumeration' };
const CODE_ZH: Record<string, string> = {
	invalid_type: '类型不对',
	invalid_value: '不是可选的值',
	invalid_format: '格式不对',
	too_big: '太大或太长',
	too_small: '太小或太短',
	unrecognized_keys: '多余的字段',
	custom: '无效'
};

/** Zod issues as lines an admin reads: the field's name, then the message, Chinese first. */
export function issueLines(issues: readonly z.core.$ZodIssue[]): string[] {
	return issues.map((i) => {
		const where = FIELD_NAMES[String(i.path[0] ?? '')] ?? (i.path.join('.') || '字段 field');
		const msg = /[\u4e00-\u9fff]/.test(i.message) ? i.message : `${CODE_ZH[i.code] ?? '无效'} ${i.message}`;
		return `${where}: ${msg}`;
	});
}

/** The form as typed: kept on every error so nothing the admin wrote is lost. */
export interface MappingInput {
	metric: string;
	unit: string;
	scale: string;
	offset: string;
	enum: string;
}

export function mappingInput(form: Record<string, unknown>): MappingInput {
	const s = (k: string) => (typeof form[k] === 'string' ? (form[k] as string).slice(0, 2000) : '');
	return { metric: s('metric'), unit: s('unit'), scale: s('scale'), offset: s('offset'), enum: s('enum') };
}

/**
 * A field from the form: the key, the metric and unit chosen, scale and offset as typed, and an enumeration written
 * one per line as `text = number` (or `= null` to ignore, `= fault` for a sensor fault). Judged by fieldSchema, the
 * same schema the ingest reads the device's fields with.
 */
export function fieldFromInput(key: string, input: MappingInput): { ok: true; field: ProfileField } | { ok: false; errors: string[] } {
	const errors: string[] = [];
	const num = (name: 'scale' | 'offset') => {
		const t = input[name].trim();
		if (t === '') return undefined;
		const n = Number(t);
		if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) || !Number.isFinite(n)) errors.push(`${FIELD_NAMES[name]}: 不是数字 not a number (${t.slice(0, 40)})`);
		return n;
	};
	let enumMap: Record<string, number | null | 'fault'> | undefined;
	const lines = input.enum.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
	if (lines.length) {
		enumMap = {};
		for (const line of lines) {
			const at = line.lastIndexOf('=');
			const [k, v] = at < 0 ? [line, ''] : [line.slice(0, at).trim(), line.slice(at + 1).trim()];
			if (at < 0 || k === '' || v === '') {
				errors.push(`${FIELD_NAMES.enum}: 每行写成「文字 = 数值」 write each line as text = number (${line.slice(0, 40)})`);
				continue;
			}
			enumMap[k] = v === 'null' ? null : v === 'fault' ? 'fault' : Number.isFinite(Number(v)) ? Number(v) : NaN;
			if (Number.isNaN(enumMap[k])) errors.push(`${FIELD_NAMES.enum}: ${v.slice(0, 40)} 不是数字、null 或 fault is not a number, null or fault`);
		}
	}
	const raw: Record<string, unknown> = { path: key, metric: input.metric };
	if (input.unit) raw.unit = input.unit;
	const scale = num('scale');
	const offset = num('offset');
	if (scale !== undefined) raw.scale = scale;
	if (offset !== undefined) raw.offset = offset;
	if (enumMap) raw.enum = enumMap;
	if (errors.length) return { ok: false, errors };
	const parsed = fieldSchema.safeParse(raw);
	if (!parsed.success) return { ok: false, errors: issueLines(parsed.error.issues) };
	return { ok: true, field: parsed.data };
}

/** The metrics and units a form offers, Chinese labels first (the metric table). */
export function metricChoices() {
	return Object.entries(METRICS).map(([id, m]) => ({ id, unit: m.unit, label: `${m.zh} ${m.en} (${id}, ${m.unit})` }));
}
export const UNIT_CHOICES = SOURCE_UNITS;

// ---- preview ----------------------------------------------------------------------------------------------------

export interface PreviewMessage {
	id: number | null;
	received_at: string;
	topic: string;
	readings: { metric: string; label: string; value: number; unit: string; observed_at: string; flags: number }[];
	rejected: { key: string | null; reason: string; reason_label: string; value: string | null; detail: string | null }[];
}

export interface Preview {
	messages: PreviewMessage[];
	/** Readings that would be stored in all. */
	readings: number;
	/** Messages where the key would be stored (mapping preview); null for a pasted payload. */
	mapped: number | null;
	/** Rejections by reason. */
	rejected: Record<string, number>;
	profile_error: string | null;
}

function previewMessage(id: number | null, receivedAt: Date, topic: string, r: Awaited<ReturnType<PayloadPreviewer>>): PreviewMessage {
	return {
		id,
		received_at: receivedAt.toISOString(),
		topic,
		readings: r.readings.map((x) => ({ metric: x.metric, label: METRICS[x.metric] ? `${METRICS[x.metric].zh} ${METRICS[x.metric].en}` : x.metric, value: x.value, unit: METRICS[x.metric]?.unit ?? '', observed_at: x.observedAt.toISOString(), flags: x.flags })),
		rejected: r.rejected.map((x) => ({ key: x.key, reason: x.reason, reason_label: reasonLabel(x.reason), value: x.value === undefined ? null : JSON.stringify(x.value).slice(0, 120), detail: x.detail }))
	};
}

function summarise(messages: PreviewMessage[], mapped: number | null, profileError: string | null): Preview {
	const rejected: Record<string, number> = {};
	for (const m of messages) for (const x of m.rejected) rejected[x.reason] = (rejected[x.reason] ?? 0) + 1;
	return { messages, readings: messages.reduce((n, m) => n + m.readings.length, 0), mapped, rejected, profile_error: profileError };
}

/**
 * What the held dead letters of `key` would give with `field` added to the device's own fields: each message through
 * the pipeline's dry run. `shown` limits the messages returned (all of them are counted).
 */
export async function previewMapping(db: Queryable, preview: PayloadPreviewer, d: DeviceProfileState, key: string, field: ProfileField, timeZone: string, shown = 20): Promise<Preview & { held: number }> {
	const p = tryProfile(d, withField(d.fields, field));
	const held = await heldFor(db, d.id, key);
	if (!p.ok) return { ...summarise([], 0, p.error), held: held.length };
	const messages: PreviewMessage[] = [];
	let mapped = 0;
	for (const row of held) {
		const at = new Date(row.received_at);
		const r = await preview({ id: d.id, kind: d.kind, intervalS: d.interval_s, profile: p.profile }, row.topic, Buffer.from(row.payload), { receivedAt: at, timeZone });
		if (!r.rejected.some((x) => x.key === key) && r.readings.some((x) => x.metric === field.metric)) mapped++;
		messages.push(previewMessage(Number(row.id), at, row.topic, r));
	}
	const all = summarise(messages, mapped, null);
	return { ...all, messages: all.messages.slice(-shown), held: held.length };
}

export const pasteSchema = z.object({
	dialect: z.enum(DIALECTS, { message: '请选择消息格式 choose the message format' }),
	payload: z.string().min(1, '请粘贴消息 paste a payload').max(64 * 1024, '消息超过 64 KiB payload over 64 KiB')
});

/** A pasted payload through the device's current profile (or with `fields` as its own fields). */
export async function previewPayload(preview: PayloadPreviewer, d: DeviceProfileState, input: z.infer<typeof pasteSchema>, timeZone: string, now = new Date()): Promise<Preview> {
	const p = tryProfile(d, d.fields);
	const topic = dialectTopic(input.dialect, d);
	const r = await preview({ id: d.id, kind: d.kind, intervalS: d.interval_s, profile: p.ok ? p.profile : null, profileError: p.ok ? undefined : p.error }, topic, Buffer.from(input.payload, 'utf8'), { receivedAt: now, timeZone });
	return summarise([previewMessage(null, now, topic, r)], null, p.ok ? null : p.error);
}

// ---- saving -----------------------------------------------------------------------------------------------------

export class MappingError extends Error {
	constructor(
		readonly zh: string,
		readonly en: string
	) {
		super(en);
	}
}

/** Adds (or replaces, for the same key) one of the device's own fields, audited, in one transaction. */
export async function addProfileField(db: Db, id: string, field: ProfileField, actor: Actor): Promise<ProfileField[]> {
	return db.tx(async (q) => {
		const old = await q.query<{ profile: string | null; profile_fields: unknown }>('SELECT profile, profile_fields FROM devices WHERE id = $1 AND retired_at IS NULL FOR UPDATE', [id]);
		const row = old.rows[0];
		if (!row) throw new MappingError('没有这个在用的设备。', 'No such device in service.');
		const had = profileFieldsSchema.safeParse(row.profile_fields ?? []);
		if (!had.success) throw new MappingError('设备现有的附加字段无效，请先修正。', 'The device’s own fields are invalid; fix them first.');
		const next = withField(had.data, field);
		const check = deviceProfile(row.profile, next);
		if (!check.ok) throw new MappingError(`字段无法使用：${check.error}`, `Field cannot be used: ${check.error}`);
		await q.query('UPDATE devices SET profile_fields = $2::jsonb WHERE id = $1', [id, JSON.stringify(next)]);
		await audit(q, actor, 'device_profile_field_added', { type: 'device', id }, { profile: row.profile, field, replaced: had.data.find((f) => f.path === field.path) ?? null });
		return next;
	});
}

/** Removes one of the device's own fields by key path, audited. */
export async function removeProfileField(db: Db, id: string, path: string, actor: Actor): Promise<ProfileField[]> {
	return db.tx(async (q) => {
		const old = await q.query<{ profile_fields: unknown }>('SELECT profile_fields FROM devices WHERE id = $1 AND retired_at IS NULL FOR UPDATE', [id]);
		const row = old.rows[0];
		if (!row) throw new MappingError('没有这个在用的设备。', 'No such device in service.');
		const fields = Array.isArray(row.profile_fields) ? (row.profile_fields as { path?: unknown }[]) : [];
		const removed = fields.find((f) => f?.path === path);
		if (!removed) throw new MappingError(`设备没有键 ${path} 的附加字段。`, `The device has no own field for ${path}.`);
		const next = fields.filter((f) => f?.path !== path);
		await q.query('UPDATE devices SET profile_fields = $2::jsonb WHERE id = $1', [id, JSON.stringify(next)]);
		await audit(q, actor, 'device_profile_field_removed', { type: 'device', id }, { removed });
		return next as ProfileField[];
	});
}

/** The ids of the held dead letters of a device and key, for the replay after mapping. */
export async function heldIds(db: Queryable, deviceId: string, key: string): Promise<number[]> {
	return (await heldFor(db, deviceId, key)).map((r) => Number(r.id));
}

/**
 * Confirmed: the field joins the device's own fields (audited), the device registry reloads so the pipeline reads
 * the device with it, and the held dead letters of that key are replayed through the pipeline (their originals kept,
 * outcomes noted). A second call finds nothing held and stores nothing twice.
 */
export async function mapAndReplay(
	db: Db,
	pipeline: MessageHandler,
	reloadRegistry: () => Promise<void>,
	d: DeviceProfileState,
	key: string,
	field: ProfileField,
	actor: Actor
) {
	const fields = await addProfileField(db, d.id, field, actor);
	await reloadRegistry();
	const ids = await heldIds(db, d.id, key);
	const out = ids.length ? await replayDeadLetters(db, pipeline, { ids, limit: MAX_HELD }, { key }) : { replayed: 0, stored: 0, still_rejected: 0, readings: 0, results: [] };
	await audit(db, actor, 'dead_letters_replayed', { type: 'device', id: d.id }, { key, replayed: out.replayed, stored: out.stored, still_rejected: out.still_rejected, readings: out.readings });
	return { fields, ...out };
}
