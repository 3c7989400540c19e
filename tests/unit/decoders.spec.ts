// Unit tests for the MQTT decoders (ingest/decoders): samples follow the public payload shapes of each dialect —
// ChirpStack v4 UplinkEvent (Protobuf JSON), The Things Stack v3 data formats, ThingsBoard MQTT Device API — plus
// their quirks (omitted zero fields, missing decoded object) and hostile inputs.
import { describe, expect, it } from 'vitest';
import { decodeMessage, DecodeError, MAX_PAYLOAD_BYTES, type Decoded } from '../../ingest/decoders/index.js';

const buf = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

function decodeError(fn: () => unknown): DecodeError {
	try {
		fn();
	} catch (err) {
		if (err instanceof DecodeError) return err;
		throw err;
	}
	throw new Error('expected a DecodeError');
}

/** A ChirpStack v4 `up` event as the MQTT integration publishes it (JSON marshaler). */
function chirpstackUp(overrides: Record<string, unknown> = {}) {
	return {
		deduplicationId: '3ac7e3c4-4401-4b8d-9386-a5c902f9202d',
		time: '2024-06-01T08:00:00.123456+00:00',
		deviceInfo: {
			tenantId: '52f14cd4-c6f1-4fbd-8f87-4025e1d49242',
			tenantName: 'ChirpStack',
			applicationId: '17c82e96-be03-4f38-aef3-f83d48582d97',
			applicationName: 'township-sensors',
			deviceProfileId: '14855bf7-d10d-4aee-b618-ebfcb64dc7ad',
			deviceProfileName: 'tilt-meter',
			deviceName: 'house-07-tilt',
			devEui: '0101010101010101',
			deviceClassEnabled: 'CLASS_A',
			tags: {}
		},
		devAddr: '00189440',
		adr: true,
		dr: 1,
		fCnt: 4,
		fPort: 1,
		confirmed: false,
		data: 'qg==',
		object: { tilt_x_deg: 0.12, tilt_y_deg: -0.03, battery_v: 3.6 },
		rxInfo: [
			{
				gatewayId: '0016c001f153a14c',
				uplinkId: 4217106255,
				nsTime: '2024-06-01T08:00:00.140Z',
				rssi: -98,
				snr: 6.5,
				channel: 2,
				location: {},
				context: 'EFwMtA==',
				metadata: { region_config_id: 'eu868', region_common_name: 'EU868' },
				crcStatus: 'CRC_OK'
			},
			{ gatewayId: '0016c001f153a14d', uplinkId: 2077, rssi: -71, channel: 2, context: 'AAAAAA==', crcStatus: 'CRC_OK' }
		],
		txInfo: { frequency: 868300000, modulation: { lora: { bandwidth: 125000, spreadingFactor: 11, codeRate: 'CR_4_5' } } },
		...overrides
	};
}
const CS_TOPIC = 'application/17c82e96-be03-4f38-aef3-f83d48582d97/device/0101010101010101/event/up';

/** A The Things Stack v3 uplink message (MQTT `.../up`) with a payload formatter configured. */
function ttsUp(upOverrides: Record<string, unknown> = {}, idsOverrides: Record<string, unknown> = {}) {
	return {
		end_device_ids: {
			device_id: 'crack-12',
			application_ids: { application_id: 'shudi-town' },
			dev_eui: '70B3D57ED005B89A',
			join_eui: '0000000000000001',
			dev_addr: '260BABCD',
			...idsOverrides
		},
		correlation_ids: ['as:up:01HX6YGQ7E0V83YRZ7K4S5J4ZN', 'gs:uplink:01HX6YGQ7AS3VTM5W5W36YV1F1'],
		received_at: '2024-06-01T08:00:00.412Z',
		uplink_message: {
			session_key_id: 'AWNbm/4zfqx0jZ5q1NlBmw==',
			f_port: 2,
			f_cnt: 1834,
			frm_payload: 'ASsBKAAA',
			decoded_payload: { crack_mm: 0.42, battery_v: 3.62 },
			rx_metadata: [
				{
					gateway_ids: { gateway_id: 'eui-aa555a0000000101', eui: 'AA555A0000000101' },
					time: '2024-06-01T08:00:00.392Z',
					timestamp: 3895211423,
					rssi: -68,
					channel_rssi: -68,
					snr: 9.2,
					location: { latitude: 28.2, longitude: 112.9, altitude: 60, source: 'SOURCE_REGISTRY' },
					uplink_token: 'ChsKGQoNZXVpLWFhNTU1YTAwMDAwMTAxEgiqVVoAAAABARCf',
					received_at: '2024-06-01T08:00:00.398Z'
				}
			],
			settings: {
				data_rate: { lora: { bandwidth: 125000, spreading_factor: 7, coding_rate: '4/5' } },
				frequency: '868100000',
				timestamp: 3895211423,
				time: '2024-06-01T08:00:00.392Z'
			},
			received_at: '2024-06-01T08:00:00.401Z',
			consumed_airtime: '0.061696s',
			network_ids: { net_id: '000013', tenant_id: 'ttn', cluster_id: 'eu1' },
			...upOverrides
		}
	};
}
const TTS_TOPIC = 'v3/shudi-town@ttn/devices/crack-12/up';
const TB = 'v1/devices/me/telemetry';

describe('decodeMessage: accepted shapes', () => {
	it.each<[string, string, unknown, { username?: string }, Partial<Decoded>]>([
		[
			'native single',
			'shudi/v1/devices/rl-001/up',
			{ ts: '2024-06-01T08:00:00Z', seq: 7, values: { water_level_m: 3.21 } },
			{},
			{
				dialect: 'native',
				device: { by: 'id', id: 'rl-001' },
				items: [{ ts: '2024-06-01T08:00:00Z', seq: 7, values: { water_level_m: 3.21 } }]
			}
		],
		[
			'native backlog array, ts in ms, no seq',
			'shudi/v1/devices/rg-9/up',
			[
				{ ts: 1717228800000, values: { rain_mm: 1.5 } },
				{ ts: 1717229100000, values: { rain_mm: 0 } }
			],
			{},
			{
				items: [
					{ ts: 1717228800000, values: { rain_mm: 1.5 } },
					{ ts: 1717229100000, values: { rain_mm: 0 } }
				]
			}
		],
		[
			'ThingsBoard bare object (server time)',
			TB,
			{ water_level_m: 2.5, battery_pct: 80 },
			{ username: 'tok-A' },
			{
				dialect: 'thingsboard',
				device: { by: 'token', token: 'tok-A' },
				items: [{ ts: undefined, values: { water_level_m: 2.5, battery_pct: 80 } }]
			}
		],
		[
			'ThingsBoard {ts, values}',
			TB,
			{ ts: 1451649600512, values: { temperature_c: 22.5 } },
			{ username: 'tok-A' },
			{ items: [{ ts: 1451649600512, values: { temperature_c: 22.5 } }] }
		],
		[
			'ThingsBoard array of bare objects',
			TB,
			[{ rain_mm: 1 }, { battery_v: 3.7 }],
			{ username: 'tok-A' },
			{
				items: [
					{ ts: undefined, values: { rain_mm: 1 } },
					{ ts: undefined, values: { battery_v: 3.7 } }
				]
			}
		],
		[
			'ThingsBoard array of {ts, values}',
			TB,
			[
				{ ts: 1451649600000, values: { rain_mm: 2 } },
				{ ts: 1451649601000, values: { rain_mm: 3 } }
			],
			{ username: 'tok-A' },
			{
				items: [
					{ ts: 1451649600000, values: { rain_mm: 2 } },
					{ ts: 1451649601000, values: { rain_mm: 3 } }
				]
			}
		],
		[
			'ChirpStack v4 up: best rssi (-71) wins, its omitted snr is 0; devEui lower-cased',
			CS_TOPIC,
			chirpstackUp(),
			{},
			{
				dialect: 'chirpstack',
				device: { by: 'dev_eui', devEui: '0101010101010101' },
				items: [
					{
						ts: '2024-06-01T08:00:00.123456+00:00',
						seq: 4,
						values: { tilt_x_deg: 0.12, tilt_y_deg: -0.03, battery_v: 3.6 }
					}
				],
				extras: { rssi_dbm: -71, snr_db: 0 }
			}
		],
		[
			'ChirpStack first uplink: fCnt 0 is omitted by proto3 JSON → seq 0; upper-case EUIs',
			'application/app/device/0A0B0C0D0E0F1011/event/up',
			chirpstackUp({
				fCnt: undefined,
				deviceInfo: { devEui: '0A0B0C0D0E0F1011' },
				rxInfo: [{ gatewayId: 'x', rssi: -120, snr: -7.25 }]
			}),
			{},
			{
				device: { by: 'dev_eui', devEui: '0a0b0c0d0e0f1011' },
				items: [
					{ ts: '2024-06-01T08:00:00.123456+00:00', seq: 0, values: { tilt_x_deg: 0.12, tilt_y_deg: -0.03, battery_v: 3.6 } }
				],
				extras: { rssi_dbm: -120, snr_db: -7.25 }
			}
		],
		[
			'TTS v3 uplink: NS received_at is the time (gateway time is not trusted), dev_eui ref',
			TTS_TOPIC,
			ttsUp(),
			{},
			{
				dialect: 'tts',
				device: { by: 'dev_eui', devEui: '70b3d57ed005b89a' },
				items: [{ ts: '2024-06-01T08:00:00.401Z', seq: 1834, values: { crack_mm: 0.42, battery_v: 3.62 } }],
				extras: { rssi_dbm: -68, snr_db: 9.2 }
			}
		],
		[
			'TTS first uplink: f_cnt and snr omitted (zero), only channel_rssi, gps_time preferred',
			TTS_TOPIC,
			ttsUp({
				f_cnt: undefined,
				rx_metadata: [
					{ gateway_ids: { gateway_id: 'gw1' }, channel_rssi: -90, gps_time: '2024-06-01T08:00:00.390Z' },
					{ gateway_ids: { gateway_id: 'gw2' }, rssi: -101, channel_rssi: -101, snr: -3 }
				]
			}),
			{},
			{
				items: [{ ts: '2024-06-01T08:00:00.390Z', seq: 0, values: { crack_mm: 0.42, battery_v: 3.62 } }],
				extras: { rssi_dbm: -90, snr_db: 0 }
			}
		],
		[
			'TTS without dev_eui (ABP) and without rx_metadata: device by id, top-level received_at, no extras',
			TTS_TOPIC,
			ttsUp({ rx_metadata: undefined, received_at: undefined }, { dev_eui: undefined }),
			{},
			{
				device: { by: 'id', id: 'crack-12' },
				items: [{ ts: '2024-06-01T08:00:00.412Z', seq: 1834, values: { crack_mm: 0.42, battery_v: 3.62 } }],
				extras: undefined
			}
		]
	])('%s', (_name, topic, body, ctx, expected) => {
		const sut = decodeMessage(topic, buf(body), ctx);
		// Values are null-prototype objects; compare their contents.
		const plain = { ...sut, items: sut.items.map((i) => ({ ...i, values: { ...i.values } })) };
		const { extras, ...rest } = expected;
		expect(plain).toMatchObject(rest);
		if ('extras' in expected) expect(sut.extras).toEqual(extras);
	});
});

describe('decodeMessage: refused messages', () => {
	const big = Buffer.alloc(MAX_PAYLOAD_BYTES + 1024, 0x20); // 65 KiB of spaces: never parsed
	const batch1001 = Array.from({ length: 1001 }, (_, i) => ({ ts: 1717228800000 + i, values: { rain_mm: 0 } }));
	it.each<[string, string, Buffer, { username?: string }, string]>([
		['malformed JSON', 'shudi/v1/devices/d1/up', buf('{"ts": 1, "values": {'), {}, 'bad_json'],
		['NaN literal is not JSON', 'shudi/v1/devices/d1/up', buf('{"values": {"rain_mm": NaN}}'), {}, 'bad_json'],
		['not UTF-8', 'shudi/v1/devices/d1/up', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), {}, 'bad_json'],
		['empty payload', 'shudi/v1/devices/d1/up', Buffer.alloc(0), {}, 'bad_json'],
		['65 KiB payload', 'shudi/v1/devices/d1/up', big, {}, 'payload_too_large'],
		['1001-item batch (native)', 'shudi/v1/devices/d1/up', buf(batch1001), {}, 'batch_too_large'],
		['1001-item batch (ThingsBoard)', TB, buf(batch1001), { username: 't' }, 'batch_too_large'],
		['empty array', 'shudi/v1/devices/d1/up', buf([]), {}, 'empty'],
		['unknown topic', 'shudi/v2/devices/d1/up', buf({ values: {} }), {}, 'unknown_topic'],
		['native topic without id', 'shudi/v1/devices//up', buf({ values: {} }), {}, 'unknown_topic'],
		['native topic extra level', 'shudi/v1/devices/a/b/up', buf({ values: {} }), {}, 'unknown_topic'],
		['ChirpStack other event type', CS_TOPIC.replace('/up', '/join'), buf(chirpstackUp()), {}, 'unknown_topic'],
		['native scalar body', 'shudi/v1/devices/d1/up', buf(42), {}, 'bad_shape'],
		['native values not an object', 'shudi/v1/devices/d1/up', buf({ values: [1, 2] }), {}, 'bad_shape'],
		['native null item in batch', 'shudi/v1/devices/d1/up', buf([{ values: { rain_mm: 1 } }, null]), {}, 'bad_shape'],
		['ThingsBoard without username (external broker: nobody to attribute it to)', TB, buf({ rain_mm: 1 }), {}, 'unattributable'],
		['ThingsBoard string body', TB, buf('"rain_mm=1"'), { username: 't' }, 'bad_shape'],
		['ChirpStack without object (no codec)', CS_TOPIC, buf(chirpstackUp({ object: undefined })), {}, 'no_decoded_object'],
		['ChirpStack object is a string', CS_TOPIC, buf(chirpstackUp({ object: '{"a":1}' })), {}, 'bad_shape'],
		[
			'ChirpStack topic devEui ≠ deviceInfo.devEui',
			'application/x/device/0202020202020202/event/up',
			buf(chirpstackUp()),
			{},
			'device_mismatch'
		],
		['ChirpStack devEui not hex', CS_TOPIC, buf(chirpstackUp({ deviceInfo: { devEui: 'AQEBAQEBAQE=' } })), {}, 'bad_shape'],
		['TTS without decoded_payload', TTS_TOPIC, buf(ttsUp({ decoded_payload: undefined })), {}, 'no_decoded_object'],
		['TTS topic device ≠ end_device_ids.device_id', 'v3/shudi-town@ttn/devices/crack-13/up', buf(ttsUp()), {}, 'device_mismatch'],
		['TTS topic app ≠ application_ids', 'v3/other-app@ttn/devices/crack-12/up', buf(ttsUp()), {}, 'device_mismatch'],
		['TTS without uplink_message', TTS_TOPIC, buf({ end_device_ids: ttsUp().end_device_ids }), {}, 'bad_shape']
	])('%s → %s', (_name, topic, payload, ctx, reason) => {
		const err = decodeError(() => decodeMessage(topic, payload, ctx));
		expect(err.reason).toBe(reason);
		expect(err.message.length).toBeGreaterThan(0);
	});
});

describe('decodeMessage: hostile keys stay data', () => {
	it.each([
		['native', 'shudi/v1/devices/d1/up', '{"values": {"__proto__": {"polluted": 1}, "constructor": 5, "rain_mm": 1}}', {}],
		['ThingsBoard bare', TB, '{"__proto__": {"polluted": 1}, "rain_mm": 1}', { username: 't' }],
		[
			'ChirpStack object',
			CS_TOPIC,
			JSON.stringify(chirpstackUp({ object: 'X' })).replace('"X"', '{"__proto__": {"polluted": 1}, "rain_mm": 1}'),
			{}
		]
	])('%s: __proto__ is an own key and Object.prototype is untouched', (_name, topic, text, ctx) => {
		const sut = decodeMessage(topic, Buffer.from(text), ctx);
		const values = sut.items[0].values;
		expect(Object.keys(values)).toContain('__proto__');
		expect(Object.getPrototypeOf(values)).toBeNull();
		expect(({} as Record<string, unknown>).polluted).toBeUndefined();
		expect(values.rain_mm).toBe(1);
	});
});
