// Decoder for the ThingsBoard-compatible dialect (DOMAIN.md "MQTT contract"; ThingsBoard MQTT Device API,
// https://thingsboard.io/docs/reference/mqtt-api/ "Telemetry upload"):
//   topic    v1/devices/me/telemetry, device identified by the MQTT CONNECT username = access token
//   payload  {"key": value, …}                       server time is used
//            {"ts": 1451649600512, "values": {…}}    ts is Unix epoch milliseconds
//            [ either of those, … ]
// ThingsBoard itself accepts strings, booleans and JSON objects as telemetry values; we pass them through and the
// validator rejects anything that is not a number in a known metric's range.
import { DecodeError, checkBatch, copyValues, isPlainObject, own, type Decoded, type DecodedItem } from './types.js';

export const THINGSBOARD_TOPIC = 'v1/devices/me/telemetry';

function decodeItem(el: unknown, i: number): DecodedItem {
	if (!isPlainObject(el)) throw new DecodeError('bad_shape', `item ${i}: expected an object`);
	const values = own(el, 'values');
	// The timestamped form is recognised like ThingsBoard does: both "ts" and an object "values" present.
	if (own(el, 'ts') !== undefined && isPlainObject(values)) {
		return { ts: own(el, 'ts'), values: copyValues(values) };
	}
	return { ts: undefined, values: copyValues(el) };
}

export function decodeThingsBoard(body: unknown, username: string | undefined): Decoded {
	if (!username) throw new DecodeError('no_credentials', 'ThingsBoard dialect needs the MQTT username (device token)');
	if (Array.isArray(body)) checkBatch(body);
	const raw = Array.isArray(body) ? body : [body];
	return { dialect: 'thingsboard', device: { by: 'token', token: username }, items: raw.map(decodeItem) };
}
