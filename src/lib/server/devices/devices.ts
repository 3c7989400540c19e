// Device registry operations shared by the CLI (scripts/device.ts) and the admin pages: register (token shown once),
// rotate, revoke. Every change is a device event and an audit-log row in the same transaction.
import { z } from 'zod';
import { SENSOR_KINDS } from '../../domain/types.js';
import { hashToken, newDeviceToken } from './device-tokens.js';
import { audit } from '../people/auth.js';
import type { Db, Queryable } from '../platform/db.js';
import { VillageIndex } from '../../../../geo/index.js';

export const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/** A coordinate from a form or the CLI: a number, or non-blank text that parses as one. */
const coord = (min: number, max: number) =>
	z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v), z.number({ message: 'a number is required' }).finite().min(min).max(max));

export const newDeviceSchema = z.object({
	id: z.string().regex(DEVICE_ID, '1–64 of A-Z a-z 0-9 _ . : - starting with a letter or digit'),
	kind: z.enum(SENSOR_KINDS),
	name: z
		.string()
		.trim()
		.min(1)
		.max(100)
		.refine((s) => !/[\u0000-\u001f\u007f]/.test(s), 'no control characters')
		.optional(),
	// A blank field must be an error, not longitude 0: coerce only non-empty text.
	lng: coord(-180, 180),
	lat: coord(-90, 90),
	interval_s: z.coerce.number().int().min(1).max(7 * 86400).default(600),
	dev_eui: z
		.string()
		.regex(/^[0-9a-fA-F]{16}$/, '16 hex digits')
		.transform((s) => s.toLowerCase())
		.optional()
});

export type NewDevice = z.infer<typeof newDeviceSchema>;
type Actor = { id: number | null; name: string };

export class DeviceError extends Error {}

export async function registerDevice(db: Db, d: NewDevice, actor: Actor): Promise<{ token: string; villageId: number | null }> {
	const exists = await db.query('SELECT 1 FROM devices WHERE id = $1', [d.id]);
	if (exists.rows.length) throw new DeviceError(`device ${d.id} exists already`);
	const villages = await db.query<{ id: number; boundary: GeoJSON.Polygon | GeoJSON.MultiPolygon }>('SELECT id, boundary FROM villages');
	// Routing: the device belongs to the village whose polygon contains it.
	const villageId = new VillageIndex(villages.rows.map((v) => ({ id: v.id, geometry: v.boundary }))).locate([d.lng, d.lat]);
	const token = newDeviceToken();
	await db.tx(async (q) => {
		await q.query(
			'INSERT INTO devices (id, name, kind, lng, lat, village_id, interval_s, token_hash, dev_eui) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
			[d.id, d.name ?? d.id, d.kind, d.lng, d.lat, villageId, d.interval_s, hashToken(token), d.dev_eui ?? null]
		);
		await q.query("INSERT INTO device_events (device_id, kind, detail) VALUES ($1, 'registered', $2)", [d.id, JSON.stringify({ by: actor.name })]);
		await audit(q, actor, 'device_added', { type: 'device', id: d.id }, { kind: d.kind, lng: d.lng, lat: d.lat, village_id: villageId });
	});
	return { token, villageId };
}

/** One row of `devices` as bulk seeding writes it (the demo township, the benchmark fixture). */
export interface DeviceRow {
	id: string;
	name: string;
	kind: string;
	lng: number;
	lat: number;
	village_id: number | null;
	interval_s: number;
	token_hash: string | null;
	thresholds: Record<string, unknown>;
	baseline: Record<string, unknown> | null;
	is_demo: boolean;
}

/**
 * Inserts many devices in one statement (INSERT … SELECT FROM unnest: one round trip, and PGlite has no COPY).
 * No device events or audit rows: this is for seeding, not for an admin registering a device (registerDevice).
 */
export async function insertDevices(q: Queryable, rows: DeviceRow[]): Promise<void> {
	if (!rows.length) return;
	await q.query(
		`INSERT INTO devices (id, name, kind, lng, lat, village_id, interval_s, token_hash, thresholds, baseline, is_demo)
		 SELECT id, name, kind, lng, lat, village_id, interval_s, token_hash, thresholds::jsonb, baseline::jsonb, is_demo
		 FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::float8[], $6::int[], $7::int[], $8::text[], $9::text[], $10::text[], $11::bool[])
		   AS x(id, name, kind, lng, lat, village_id, interval_s, token_hash, thresholds, baseline, is_demo)`,
		[
			rows.map((r) => r.id),
			rows.map((r) => r.name),
			rows.map((r) => r.kind),
			rows.map((r) => r.lng),
			rows.map((r) => r.lat),
			rows.map((r) => r.village_id),
			rows.map((r) => r.interval_s),
			rows.map((r) => r.token_hash),
			rows.map((r) => JSON.stringify(r.thresholds)),
			rows.map((r) => (r.baseline ? JSON.stringify(r.baseline) : null)),
			rows.map((r) => r.is_demo)
		]
	);
}

export async function rotateDeviceToken(db: Db, id: string, actor: Actor): Promise<string> {
	const token = newDeviceToken();
	await db.tx(async (q) => {
		const r = await q.query('UPDATE devices SET token_hash = $2, revoked_at = NULL WHERE id = $1', [id, hashToken(token)]);
		if (!r.rowCount) throw new DeviceError(`no device ${id}`);
		await q.query("INSERT INTO device_events (device_id, kind, detail) VALUES ($1, 'token_rotated', $2)", [id, JSON.stringify({ by: actor.name })]);
		await audit(q, actor, 'device_token_rotated', { type: 'device', id });
	});
	return token;
}

export async function revokeDevice(db: Db, id: string, actor: Actor): Promise<void> {
	await db.tx(async (q) => {
		const r = await q.query('UPDATE devices SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [id]);
		if (!r.rowCount) throw new DeviceError(`no active device ${id}`);
		await q.query("INSERT INTO device_events (device_id, kind, detail) VALUES ($1, 'revoked', $2)", [id, JSON.stringify({ by: actor.name })]);
		await audit(q, actor, 'device_revoked', { type: 'device', id });
	});
}
