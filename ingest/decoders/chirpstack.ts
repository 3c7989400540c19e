// Decoder for the ChirpStack v4 MQTT integration, uplink event (DOMAIN.md "MQTT contract"; ChirpStack v4
// integration.proto `UplinkEvent`, JSON encoding = Protobuf JSON mapping, https://www.chirpstack.io/docs/chirpstack/integrations/events.html):
//   topic    application/{applicationId}/device/{devEui}/event/up
//   payload  {"deduplicationId", "time", "deviceInfo": {…, "devEui"}, "devAddr", "fCnt", "fPort", "data",
//             "object": {…decoded…}, "rxInfo": [{"gatewayId", "rssi", "snr", …}], "txInfo": {…}}
// Proto3 JSON leaves out fields at their default value, so an absent fCnt is 0 and an absent snr is 0.
// `object` is only set when the device profile has a codec: without it there is nothing we can store.
// `time` is the reception time ChirpStack stamps on the uplink (gateway time when the gateway has one, else the
// network server's); LoRaWAN frames carry no device clock, so it is the best observation time there is.
import { DecodeError, copyValues, isPlainObject, own, type Decoded } from './types.js';

const DEV_EUI = /^[0-9a-f]{16}$/;

/** Strongest gateway reception: rssi and its snr, or undefined when no gateway reported an rssi. */
export function bestReception(rx: unknown, rssiKeys: readonly string[]): Record<string, number> | undefined {
	if (!Array.isArray(rx)) return undefined;
	let best: { rssi: number; snr: number } | undefined;
	for (const gw of rx) {
		if (!isPlainObject(gw)) continue;
		const rssi = rssiKeys.map((k) => own(gw, k)).find((v): v is number => typeof v === 'number' && Number.isFinite(v));
		if (rssi === undefined) continue;
		const snrRaw = own(gw, 'snr');
		const snr = typeof snrRaw === 'number' && Number.isFinite(snrRaw) ? snrRaw : 0;
		if (!best || rssi > best.rssi) best = { rssi, snr };
	}
	return best && { rssi_dbm: best.rssi, snr_db: best.snr };
}

export function decodeChirpStack(topicDevEui: string, body: unknown): Decoded {
	if (!isPlainObject(body)) throw new DecodeError('bad_shape', 'uplink event must be a JSON object');
	const info = own(body, 'deviceInfo');
	const bodyEui = isPlainObject(info) ? own(info, 'devEui') : undefined;
	if (typeof bodyEui !== 'string') throw new DecodeError('bad_shape', 'deviceInfo.devEui missing');
	const devEui = bodyEui.toLowerCase();
	if (!DEV_EUI.test(devEui)) throw new DecodeError('bad_shape', 'deviceInfo.devEui is not 16 hex digits');
	if (devEui !== topicDevEui.toLowerCase()) {
		throw new DecodeError('device_mismatch', 'topic devEui differs from deviceInfo.devEui');
	}
	const object = own(body, 'object');
	if (object === undefined || object === null) {
		throw new DecodeError('no_decoded_object', 'no "object": configure a codec in the ChirpStack device profile');
	}
	if (!isPlainObject(object)) throw new DecodeError('bad_shape', '"object" must be a JSON object');
	const fCnt = own(body, 'fCnt');
	const decoded: Decoded = {
		dialect: 'chirpstack',
		device: { by: 'dev_eui', devEui },
		items: [{ ts: own(body, 'time'), seq: fCnt === undefined ? 0 : fCnt, values: copyValues(object) }]
	};
	const extras = bestReception(own(body, 'rxInfo'), ['rssi']);
	if (extras) decoded.extras = extras;
	return decoded;
}

/**
 * ChirpStack v4 `status` event (integration.proto `StatusEvent`; https://www.chirpstack.io/docs/chirpstack/integrations/events.html):
 *   topic    application/{applicationId}/device/{devEui}/event/status
 *   payload  {"deduplicationId", "time", "deviceInfo": {…, "devEui"}, "margin", "externalPowerSource",
 *             "batteryLevelUnavailable", "batteryLevel"}
 * The answer to the DevStatusReq MAC command: batteryLevel is a percentage (0–100) and becomes `battery_pct`.
 * `margin` (the demodulation margin of the request, in dB) is a property of the link, not of the device, and has no
 * metric in the catalogue: it is not stored. A device on external power, or one that cannot measure its battery,
 * reports no level; that status is dead-lettered with that reason so an admin can see why no battery is shown.
 */
export function decodeChirpStackStatus(topicDevEui: string, body: unknown): Decoded {
	if (!isPlainObject(body)) throw new DecodeError('bad_shape', 'status event must be a JSON object');
	const info = own(body, 'deviceInfo');
	const bodyEui = isPlainObject(info) ? own(info, 'devEui') : undefined;
	if (typeof bodyEui !== 'string') throw new DecodeError('bad_shape', 'deviceInfo.devEui missing');
	const devEui = bodyEui.toLowerCase();
	if (!DEV_EUI.test(devEui)) throw new DecodeError('bad_shape', 'deviceInfo.devEui is not 16 hex digits');
	if (devEui !== topicDevEui.toLowerCase()) throw new DecodeError('device_mismatch', 'topic devEui differs from deviceInfo.devEui');
	if (own(body, 'externalPowerSource') === true) {
		throw new DecodeError('no_battery_level', '设备使用外部电源，无电量 / the device is on external power: no battery level');
	}
	if (own(body, 'batteryLevelUnavailable') === true) {
		throw new DecodeError('no_battery_level', '设备无法测量电量 / the device cannot measure its battery level');
	}
	const values: Record<string, unknown> = Object.create(null);
	// Proto3 JSON leaves a float of 0 out: an absent batteryLevel (with neither flag set) is an empty battery.
	values.battery_pct = own(body, 'batteryLevel') ?? 0;
	return { dialect: 'chirpstack', device: { by: 'dev_eui', devEui }, items: [{ ts: own(body, 'time'), values }] };
}
