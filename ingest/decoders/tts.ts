// Decoder for The Things Stack v3 MQTT uplink messages (DOMAIN.md "MQTT contract"; TTS "Data Formats",
// https://www.thethingsindustries.com/docs/integrations/data-formats/ "Uplink Messages"):
//   topic    v3/{appId}@{tenant}/devices/{deviceId}/up
//   payload  {"end_device_ids": {"device_id", "application_ids": {"application_id"}, "dev_eui", …},
//             "received_at", "uplink_message": {"f_port", "f_cnt", "frm_payload", "decoded_payload": {…},
//             "rx_metadata": [{"gateway_ids", "time", "rssi", "channel_rssi", "snr", …}], "settings": {…},
//             "received_at", …}}
// TTS omits fields whose value is "", 0 or false: an absent f_cnt is frame 0, an absent snr is 0 dB.
//
// Observation time. LoRaWAN frames carry no device clock, so the best we have is when the radio heard it:
//   1. rx_metadata[].gps_time: "guaranteed to be based on a GPS PPS signal, with an accuracy of 1 millisecond";
//   2. uplink_message.received_at: the Network Server's clock at reception (a managed server clock);
//   3. top-level received_at: the Application Server's clock, later still.
// rx_metadata[].time and settings.time are deliberately NOT used: TTS documents their accuracy as undefined (a
// gateway without GPS may report any clock), and a subtly wrong time would slip past the validator's sanity window.
//
// Device: by dev_eui when present (how LoRa devices are registered here), else by the TTS device_id.
import { bestReception } from './chirpstack.js';
import { DecodeError, copyValues, isPlainObject, own, type Decoded } from './types.js';

function observationTime(body: Record<string, unknown>, up: Record<string, unknown>): unknown {
	const rx = own(up, 'rx_metadata');
	if (Array.isArray(rx)) {
		for (const gw of rx) {
			if (isPlainObject(gw) && typeof own(gw, 'gps_time') === 'string') return own(gw, 'gps_time');
		}
	}
	return own(up, 'received_at') ?? own(body, 'received_at');
}

export function decodeTts(topicAppId: string, topicDeviceId: string, body: unknown): Decoded {
	if (!isPlainObject(body)) throw new DecodeError('bad_shape', 'uplink message must be a JSON object');
	const ids = own(body, 'end_device_ids');
	if (!isPlainObject(ids) || typeof own(ids, 'device_id') !== 'string') {
		throw new DecodeError('bad_shape', 'end_device_ids.device_id missing');
	}
	if (own(ids, 'device_id') !== topicDeviceId) {
		throw new DecodeError('device_mismatch', 'topic device id differs from end_device_ids.device_id');
	}
	const appIds = own(ids, 'application_ids');
	const appId = isPlainObject(appIds) ? own(appIds, 'application_id') : undefined;
	if (appId !== undefined && appId !== topicAppId) {
		throw new DecodeError('device_mismatch', 'topic application id differs from end_device_ids.application_ids');
	}
	const up = own(body, 'uplink_message');
	if (!isPlainObject(up)) throw new DecodeError('bad_shape', 'uplink_message missing');
	const payload = own(up, 'decoded_payload');
	if (payload === undefined || payload === null) {
		throw new DecodeError('no_decoded_object', 'no decoded_payload: configure a payload formatter in The Things Stack');
	}
	if (!isPlainObject(payload)) throw new DecodeError('bad_shape', 'decoded_payload must be a JSON object');

	const eui = own(ids, 'dev_eui');
	const device: Decoded['device'] =
		typeof eui === 'string' && /^[0-9a-fA-F]{16}$/.test(eui)
			? { by: 'dev_eui', devEui: eui.toLowerCase() }
			: { by: 'id', id: topicDeviceId };
	const fCnt = own(up, 'f_cnt');
	const decoded: Decoded = {
		dialect: 'tts',
		device,
		items: [{ ts: observationTime(body, up), seq: fCnt === undefined ? 0 : fCnt, values: copyValues(payload) }]
	};
	// rssi "equals channel_rssi"; either may be the one present, and both are omitted when 0.
	const extras = bestReception(own(up, 'rx_metadata'), ['rssi', 'channel_rssi']);
	if (extras) decoded.extras = extras;
	return decoded;
}
