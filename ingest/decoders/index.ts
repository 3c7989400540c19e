// Entry point of the MQTT decoders: route a PUBLISH by topic to its dialect (DOMAIN.md "MQTT contract") and turn
// the bytes into a Decoded envelope, or throw DecodeError with a reason for the dead-letter store. Every check
// here happens before any side effect (STYLE.md habit 2); value-level checks are in ingest/validate.ts.
import { decodeChirpStack, decodeChirpStackStatus } from './chirpstack.js';
import { decodeNativeBody } from './native.js';
import { THINGSBOARD_TOPIC, decodeThingsBoard } from './thingsboard.js';
import { decodeTts } from './tts.js';
import { DecodeError, type Decoded } from './types.js';

export * from './types.js';

/** Largest payload we parse: 64 KiB holds a 1000-item backlog; anything bigger is refused unparsed. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

// A topic level is any run of characters but '/'; MQTT forbids the wildcards '+' and '#' in PUBLISH topic names
// (MQTT-3.3.2-2), and we refuse them anyway so an id can never be one.
const LEVEL = '([^/+#]{1,128})';
const NATIVE = new RegExp(`^shudi/v1/devices/${LEVEL}/up$`);
const CHIRPSTACK = new RegExp(`^application/${LEVEL}/device/${LEVEL}/event/(up|status)$`);
// ThingsBoard-style telemetry with the publishing device in the topic, since the original topic names none. The
// embedded broker republishes `v1/devices/me/telemetry` here with the id of the device that authenticated; on an
// external broker the broker must do the same (EMQX topic rewrite to `shudi/v1/tb/${username}/telemetry`, with the
// shudi device id as the MQTT username: README "ThingsBoard firmware on an external broker").
const TB_REWRITTEN = new RegExp(`^shudi/v1/tb/${LEVEL}/telemetry$`);
// The Things Stack: `{appId}@{tenant}` on The Things Network, Cloud and Enterprise; `{appId}` alone on Open Source.
const TTS = new RegExp(`^v3/([^/+#@]{1,128})(?:@([^/+#@]{1,128}))?/devices/${LEVEL}/up$`);

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseJson(payload: Buffer): unknown {
	let text: string;
	try {
		text = utf8.decode(payload);
	} catch {
		throw new DecodeError('bad_json', 'payload is not valid UTF-8');
	}
	try {
		return JSON.parse(text);
	} catch (err) {
		throw new DecodeError('bad_json', `payload is not JSON: ${(err as Error).message}`);
	}
}

export function decodeMessage(topic: string, payload: Buffer, ctx: { username?: string }): Decoded {
	if (payload.length > MAX_PAYLOAD_BYTES) {
		throw new DecodeError('payload_too_large', `payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
	}
	let m: RegExpExecArray | null;
	if ((m = NATIVE.exec(topic))) return decodeNativeBody(m[1], parseJson(payload));
	if (topic === THINGSBOARD_TOPIC) {
		// Only a transport that authenticated the publisher can say which device this is (the embedded broker never
		// forwards this topic: it rewrites it). Arriving from an external broker, it names nobody.
		if (!ctx.username) {
			throw new DecodeError(
				'unattributable',
				'无法确定发布者：外部 MQTT 代理上的 v1/devices/me/telemetry 不含设备身份，请在代理中把它改写为 shudi/v1/tb/${username}/telemetry（见 README） / ' +
					'cannot tell who published: v1/devices/me/telemetry on an external broker names no device; have the broker rewrite it to shudi/v1/tb/${username}/telemetry (README)'
			);
		}
		return decodeThingsBoard(parseJson(payload), ctx.username);
	}
	if ((m = TB_REWRITTEN.exec(topic))) {
		const d = decodeThingsBoard(parseJson(payload), 'authenticated-by-broker');
		return { ...d, device: { by: 'id', id: m[1] } };
	}
	if ((m = CHIRPSTACK.exec(topic))) return m[3] === 'status' ? decodeChirpStackStatus(m[2], parseJson(payload)) : decodeChirpStack(m[2], parseJson(payload));
	if ((m = TTS.exec(topic))) return decodeTts(m[1], m[3], parseJson(payload));
	throw new DecodeError('unknown_topic', `no decoder for topic ${JSON.stringify(topic.slice(0, 200))}`);
}
