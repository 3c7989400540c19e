// Device registry CLI: `npm run device:add -- --id RL-07 --kind river_level --lng 107.5 --lat 26.5 [--name …]
// [--interval 300] [--dev-eui 0011223344556677]` prints the new token ONCE; `device:rotate -- --id …` issues a new
// one (the old stops working); `device:revoke -- --id …` revokes the credential (readings are kept).
import { parseArgs } from 'node:util';
import { SENSOR_KINDS } from '../src/lib/domain/types.js';
import { hashToken, newDeviceToken } from '../src/lib/server/device-tokens.js';
import { VillageIndex } from '../geo/index.js';
import { fail, openCliDb } from './cli-db.js';

const [cmd, ...rest] = process.argv.slice(2);
const { values: a } = parseArgs({
	args: rest,
	options: {
		id: { type: 'string' },
		kind: { type: 'string' },
		name: { type: 'string' },
		lng: { type: 'string' },
		lat: { type: 'string' },
		interval: { type: 'string' },
		'dev-eui': { type: 'string' }
	},
	strict: true
});

const ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
if (!a.id || !ID.test(a.id)) fail('--id is required: 1–64 of A-Z a-z 0-9 _ . : - (starting with a letter or digit)');

const db = await openCliDb();
try {
	if (cmd === 'add') {
		if (!a.kind || !(SENSOR_KINDS as readonly string[]).includes(a.kind)) fail(`--kind must be one of ${SENSOR_KINDS.join(', ')}`);
		const lng = Number(a.lng);
		const lat = Number(a.lat);
		if (!Number.isFinite(lng) || lng < -180 || lng > 180) fail('--lng must be a longitude in degrees (WGS-84), e.g. 107.5');
		if (!Number.isFinite(lat) || lat < -90 || lat > 90) fail('--lat must be a latitude in degrees (WGS-84), e.g. 26.5');
		const interval = a.interval === undefined ? 600 : Number(a.interval);
		if (!Number.isInteger(interval) || interval <= 0) fail('--interval must be a whole number of seconds');
		const devEui = a['dev-eui']?.toLowerCase();
		if (devEui !== undefined && !/^[0-9a-f]{16}$/.test(devEui)) fail('--dev-eui must be 16 hex digits');
		const exists = await db.query('SELECT 1 FROM devices WHERE id = $1', [a.id]);
		if (exists.rows.length) fail(`device ${a.id} exists already (use device:rotate for a new token)`);
		const villages = await db.query<{ id: number; boundary: GeoJSON.Polygon | GeoJSON.MultiPolygon }>('SELECT id, boundary FROM villages');
		const village = new VillageIndex(villages.rows.map((v) => ({ id: v.id, geometry: v.boundary }))).locate([lng, lat]);
		const token = newDeviceToken();
		await db.tx(async (q) => {
			await q.query(
				'INSERT INTO devices (id, name, kind, lng, lat, village_id, interval_s, token_hash, dev_eui) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
				[a.id, a.name ?? a.id, a.kind, lng, lat, village, interval, hashToken(token), devEui ?? null]
			);
			await q.query("INSERT INTO device_events (device_id, kind, detail) VALUES ($1, 'registered', $2)", [a.id, JSON.stringify({ via: 'cli' })]);
		});
		console.log(`registered ${a.id} (${a.kind})${village ? ` in village #${village}` : ' — outside every village'}`);
		console.log(`token (shown once, store it on the device): ${token}`);
		console.log(`MQTT: username ${a.id}, password <token>, topic shudi/v1/devices/${a.id}/up`);
	} else if (cmd === 'rotate') {
		const token = newDeviceToken();
		const r = await db.query('UPDATE devices SET token_hash = $2, revoked_at = NULL WHERE id = $1', [a.id, hashToken(token)]);
		if (!r.rowCount) fail(`no device ${a.id}`);
		await db.query("INSERT INTO device_events (device_id, kind, detail) VALUES ($1, 'token_rotated', '{\"via\":\"cli\"}')", [a.id]);
		console.log(`new token for ${a.id} (shown once; the old one no longer works): ${token}`);
	} else if (cmd === 'revoke') {
		const r = await db.query('UPDATE devices SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [a.id]);
		if (!r.rowCount) fail(`no active device ${a.id}`);
		await db.query("INSERT INTO device_events (device_id, kind, detail) VALUES ($1, 'revoked', '{\"via\":\"cli\"}')", [a.id]);
		console.log(`revoked ${a.id}: its messages now go to the dead letters; its readings are kept`);
	} else {
		fail('usage: device.ts add|rotate|revoke --id ID …');
	}
} finally {
	await db.close();
}
