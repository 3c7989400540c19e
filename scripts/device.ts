// Device registry CLI: `npm run device:add -- --id RL-07 --kind river_level --lng 107.5 --lat 26.5 [--name …]
// [--interval 300] [--dev-eui 0011223344556677] [--profile milesight-em500-swl]` prints the new token ONCE;
// `device:rotate -- --id …` issues a new one (the old stops working); `device:revoke -- --id …` revokes the credential
// (readings are kept); `tsx scripts/device.ts profile --id … --profile NAME|none` changes a device's profile.
// --profile names a built-in device profile (src/lib/domain/device-profiles); an unknown name is refused with the list.
import { parseArgs } from 'node:util';
import { DEVICE_ID, DeviceError, newDeviceSchema, registerDevice, revokeDevice, rotateDeviceToken } from '../src/lib/server/devices/devices.js';
import { DeviceAdminError, checkProfileName, setDeviceProfile } from '../src/lib/server/devices/device-admin.js';
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
		'dev-eui': { type: 'string' },
		profile: { type: 'string' }
	},
	strict: true
});
if (!a.id || !DEVICE_ID.test(a.id)) fail('--id is required: 1–64 of A-Z a-z 0-9 _ . : - (starting with a letter or digit)');
const actor = { id: null, name: 'cli' };
// Refused before anything is written: a device registered without the profile it needs would store nothing useful.
const profile = a.profile === undefined || a.profile === 'none' ? null : a.profile;
if (profile !== null) {
	try {
		checkProfileName(profile);
	} catch (err) {
		fail(`--profile: ${err instanceof DeviceAdminError ? `${err.zh} ${err.en}` : (err as Error).message}`);
	}
}
if (cmd === 'profile' && a.profile === undefined) fail('--profile NAME (or none) is required');

const db = await openCliDb();
try {
	if (cmd === 'add') {
		const parsed = newDeviceSchema.safeParse({ id: a.id, kind: a.kind, name: a.name, lng: a.lng, lat: a.lat, interval_s: a.interval, dev_eui: a['dev-eui'] });
		if (!parsed.success) fail(parsed.error.issues.map((i) => `--${String(i.path[0]).replace('_s', '').replace('_', '-')}: ${i.message}`).join('; '));
		const { token, villageId } = await registerDevice(db, parsed.data, actor);
		if (profile !== null) await setDeviceProfile(db, a.id, profile, actor);
		console.log(`registered ${a.id} (${parsed.data.kind})${villageId ? ` in village #${villageId}` : ' — outside every village'}${profile ? `, profile ${profile}` : ''}`);
		console.log(`token (shown once, store it on the device): ${token}`);
		console.log(`MQTT: username ${a.id}, password <token>, topic shudi/v1/devices/${a.id}/up`);
	} else if (cmd === 'rotate') {
		const token = await rotateDeviceToken(db, a.id, actor);
		console.log(`new token for ${a.id} (shown once; the old one no longer works): ${token}`);
	} else if (cmd === 'revoke') {
		await revokeDevice(db, a.id, actor);
		console.log(`revoked ${a.id}: its messages now go to the dead letters; its readings are kept`);
	} else if (cmd === 'profile') {
		await setDeviceProfile(db, a.id, profile, actor);
		console.log(`${a.id}: profile ${profile ?? 'none (native shudi keys)'}; the ingest applies it within seconds`);
	} else {
		fail('usage: device.ts add|rotate|revoke|profile --id ID …');
	}
} catch (err) {
	if (err instanceof DeviceError) fail(err.message);
	if (err instanceof DeviceAdminError) fail(`${err.zh} ${err.en}`);
	throw err;
} finally {
	await db.close();
}
