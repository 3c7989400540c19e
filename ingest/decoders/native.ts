// Decoder for shudi's own dialect (DOMAIN.md "MQTT contract", row "native"):
//   topic   shudi/v1/devices/{deviceId}/up
//   payload {"ts": ISO-8601 or epoch ms, "seq": int?, "values": {"metric": number, …}}  or an array of those
// An array is a backlog sent after an outage, oldest first. The HTTP twin (POST /api/v1/devices/{id}/readings)
// takes the same body, so it can call decodeNativeBody directly.
import { DecodeError, checkBatch, copyValues, isPlainObject, own, type Decoded, type DecodedItem } from './types.js';

export function decodeNativeBody(deviceId: string, body: unknown): Decoded {
	const raw = Array.isArray(body) ? body : [body];
	if (Array.isArray(body)) checkBatch(body);
	const items = raw.map((el, i): DecodedItem => {
		if (!isPlainObject(el)) throw new DecodeError('bad_shape', `item ${i}: expected an object`);
		const values = own(el, 'values');
		if (!isPlainObject(values)) throw new DecodeError('bad_shape', `item ${i}: "values" must be an object`);
		const item: DecodedItem = { ts: own(el, 'ts'), values: copyValues(values) };
		if (own(el, 'seq') !== undefined) item.seq = own(el, 'seq');
		return item;
	});
	return { dialect: 'native', device: { by: 'id', id: deviceId }, items };
}
