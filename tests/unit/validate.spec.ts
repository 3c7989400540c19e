// Unit tests for ingest/validate.ts: value, timestamp and seq rules (DOMAIN.md "MQTT contract"), the
// keep-good-values-of-a-partly-bad-message decision, and hostile metric names.
import { describe, expect, it } from 'vitest';
import { READING_FLAGS } from '../../src/lib/domain/types.js';
import { decodeMessage, type Decoded } from '../../ingest/decoders/index.js';
import { parseIsoTimestamp, validateDecoded } from '../../ingest/validate.js';

const RECEIVED = new Date('2024-06-01T08:00:30Z');
const T0 = Date.parse('2024-06-01T08:00:00Z');

/** A one-item native Decoded message, the unit every rule applies to. */
function msg(values: Record<string, unknown>, item: { ts?: unknown; seq?: unknown } = { ts: T0 }, extras?: Record<string, number>): Decoded {
	const d: Decoded = { dialect: 'native', device: { by: 'id', id: 'd1' }, items: [{ ...item, ts: item.ts, values }] };
	if (extras) d.extras = extras;
	return d;
}

describe('validateDecoded: values', () => {
	it.each<[string, unknown, string | null]>([
		['water_level_m', 3.2, null],
		['water_level_m', 0, null],
		['rain_mm', 500, null], // inclusive max
		['rain_mm', 500.01, 'out_of_range'],
		['rain_mm', -0.1, 'out_of_range'],
		['tilt_x_deg', 91, 'out_of_range'],
		['water_level_m', '3.2', 'not_a_number'],
		['water_level_m', true, 'not_a_number'],
		['water_level_m', null, 'not_a_number'],
		['water_level_m', { v: 3.2 }, 'not_a_number'],
		['water_level_m', [3.2], 'not_a_number'],
		['water_level_m', NaN, 'not_finite'],
		['water_level_m', Infinity, 'not_finite'],
		['humidity', 50, 'unknown_metric'],
		['Water_Level_M', 1, 'unknown_metric'],
		['"; DROP TABLE readings;--', 1, 'unknown_metric'],
		['<script>alert(1)</script>', 1, 'unknown_metric'],
		['__proto__', 1, 'unknown_metric'],
		['constructor', 1, 'unknown_metric'],
		['toString', 1, 'unknown_metric'],
		['hasOwnProperty', 1, 'unknown_metric']
	])('%s = %j → %s', (metric, value, reason) => {
		const values: Record<string, unknown> = Object.create(null);
		values[metric] = value;
		const sut = validateDecoded(msg(values), 'd1', RECEIVED);
		if (reason === null) {
			expect(sut.rejected).toEqual([]);
			expect(sut.readings).toEqual([
				{ deviceId: 'd1', metric, value, observedAt: new Date(T0), receivedAt: RECEIVED, flags: 0 }
			]);
		} else {
			expect(sut.readings).toEqual([]);
			expect(sut.rejected).toEqual([{ metric, value, reason }]);
		}
	});

	it('keeps the good values of a message with one bad value; the bad one is rejected with its reason', () => {
		const sut = validateDecoded(msg({ tilt_x_deg: 0.2, tilt_y_deg: 'ERR', battery_v: 3.6 }), 'd1', RECEIVED);
		expect(sut.readings.map((r) => r.metric)).toEqual(['tilt_x_deg', 'battery_v']);
		expect(sut.rejected).toEqual([{ metric: 'tilt_y_deg', value: 'ERR', reason: 'not_a_number' }]);
	});

	it('truncates a huge hostile metric name in the rejection', () => {
		const name = 'x'.repeat(10_000);
		const sut = validateDecoded(msg({ [name]: 1 }), 'd1', RECEIVED);
		expect(sut.rejected[0].metric.length).toBe(128);
	});

	it('rejects an item without values as empty', () => {
		expect(validateDecoded(msg({}), 'd1', RECEIVED)).toEqual({
			readings: [],
			rejected: [{ metric: '', value: {}, reason: 'empty' }]
		});
	});

	it('a decoded __proto__ payload neither validates nor pollutes Object.prototype', () => {
		const decoded = decodeMessage(
			'shudi/v1/devices/d1/up',
			Buffer.from('{"ts": 1717228800000, "values": {"__proto__": {"isAdmin": true}, "constructor": {"prototype": {"x": 1}}, "rain_mm": 2}}'),
			{}
		);
		const sut = validateDecoded(decoded, 'd1', RECEIVED);
		expect(sut.readings.map((r) => [r.metric, r.value])).toEqual([['rain_mm', 2]]);
		expect(sut.rejected.map((r) => [r.metric, r.reason])).toEqual([
			['__proto__', 'unknown_metric'],
			['constructor', 'unknown_metric']
		]);
		expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
		expect(({} as Record<string, unknown>).x).toBeUndefined();
	});
});

describe('validateDecoded: timestamps', () => {
	const { CLOCK_UNTRUSTED, NO_DEVICE_TIME } = READING_FLAGS;
	it.each<[string, unknown, { at: string; flags: number } | 'bad_timestamp']>([
		['epoch ms', T0, { at: '2024-06-01T08:00:00.000Z', flags: 0 }],
		['ISO Z', '2024-06-01T08:00:00Z', { at: '2024-06-01T08:00:00.000Z', flags: 0 }],
		['ISO +08:00 (Beijing time)', '2024-06-01T16:00:00+08:00', { at: '2024-06-01T08:00:00.000Z', flags: 0 }],
		['ISO +0800', '2024-06-01T16:00:00.5+0800', { at: '2024-06-01T08:00:00.500Z', flags: 0 }],
		['ISO with nanoseconds (TTS)', '2024-06-01T08:00:00.935284891Z', { at: '2024-06-01T08:00:00.935Z', flags: 0 }],
		['ISO microseconds +00:00 (ChirpStack)', '2024-06-01T08:00:00.123456+00:00', { at: '2024-06-01T08:00:00.123Z', flags: 0 }],
		['absent', undefined, { at: RECEIVED.toISOString(), flags: NO_DEVICE_TIME }],
		['4 min in the future is fine', RECEIVED.getTime() + 240_000, { at: '2024-06-01T08:04:30.000Z', flags: 0 }],
		['6 min in the future', RECEIVED.getTime() + 360_000, { at: RECEIVED.toISOString(), flags: CLOCK_UNTRUSTED }],
		['year 3000 (ms)', Date.parse('3000-01-01T00:00:00Z'), { at: RECEIVED.toISOString(), flags: CLOCK_UNTRUSTED }],
		['year 3000 (ISO)', '3000-01-01T00:00:00Z', { at: RECEIVED.toISOString(), flags: CLOCK_UNTRUSTED }],
		['1970 (ISO, RTC reset)', '1970-01-01T00:00:00Z', { at: RECEIVED.toISOString(), flags: CLOCK_UNTRUSTED }],
		['2019-12-31 (ISO)', '2019-12-31T23:59:59Z', { at: RECEIVED.toISOString(), flags: CLOCK_UNTRUSTED }],
		['2020-01-01 exactly is trusted', '2020-01-01T00:00:00Z', { at: '2020-01-01T00:00:00.000Z', flags: 0 }],
		['1970 as epoch 0', 0, 'bad_timestamp'],
		['epoch seconds', 1717228800, 'bad_timestamp'],
		['negative', -1, 'bad_timestamp'],
		['beyond Date range', 9e15, 'bad_timestamp'],
		['yesterday', 'yesterday', 'bad_timestamp'],
		['empty string', '', 'bad_timestamp'],
		['object', {}, 'bad_timestamp'],
		['null', null, 'bad_timestamp'],
		['boolean', true, 'bad_timestamp'],
		['numeric string', '1717228800000', 'bad_timestamp'],
		['ISO without zone', '2024-06-01T08:00:00', 'bad_timestamp'],
		['date only', '2024-06-01', 'bad_timestamp'],
		['February 31st', '2024-02-31T00:00:00Z', 'bad_timestamp'],
		['hour 24', '2024-06-01T24:00:00Z', 'bad_timestamp'],
		['RFC 2822', 'Sat, 01 Jun 2024 08:00:00 GMT', 'bad_timestamp']
	])('%s', (_name, ts, expected) => {
		const sut = validateDecoded(msg({ rain_mm: 1, battery_v: 3.6 }, ts === undefined ? {} : { ts }), 'd1', RECEIVED);
		if (expected === 'bad_timestamp') {
			expect(sut.readings).toEqual([]);
			expect(sut.rejected).toEqual([
				{ metric: 'rain_mm', value: 1, reason: 'bad_timestamp' },
				{ metric: 'battery_v', value: 3.6, reason: 'bad_timestamp' }
			]);
		} else {
			expect(sut.rejected).toEqual([]);
			expect(sut.readings.map((r) => [r.observedAt.toISOString(), r.flags])).toEqual([
				[expected.at, expected.flags],
				[expected.at, expected.flags]
			]);
		}
	});

	it('parseIsoTimestamp agrees with Date.parse on valid input', () => {
		for (const s of ['2024-06-01T08:00:00Z', '2024-02-29T23:59:59.999-05:30', '2024-06-01T08:00Z']) {
			expect(parseIsoTimestamp(s)).toBe(Date.parse(s));
		}
	});
});

describe('validateDecoded: seq, batches and extras', () => {
	it.each<[string, unknown, number | 'bad_seq']>([
		['0', 0, 0],
		['LoRa 32-bit fCnt', 4294967295, 4294967295],
		['max safe integer', Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
		['2^53 + 2', 2 ** 53 + 2, 'bad_seq'],
		['negative', -1, 'bad_seq'],
		['fraction', 1.5, 'bad_seq'],
		['string', '7', 'bad_seq'],
		['null', null, 'bad_seq']
	])('seq %s', (_name, seq, expected) => {
		const sut = validateDecoded(msg({ rain_mm: 1 }, { ts: T0, seq }), 'd1', RECEIVED);
		if (expected === 'bad_seq') {
			expect(sut.readings).toEqual([]);
			expect(sut.rejected).toEqual([{ metric: 'rain_mm', value: 1, reason: 'bad_seq' }]);
		} else {
			expect(sut.readings[0].seq).toBe(expected);
		}
	});

	it('omits seq on readings when the item has none', () => {
		const sut = validateDecoded(msg({ rain_mm: 1 }), 'd1', RECEIVED);
		expect(sut.readings[0]).not.toHaveProperty('seq');
	});

	it('a bad item in a backlog rejects only that item', () => {
		const decoded: Decoded = {
			dialect: 'native',
			device: { by: 'id', id: 'd1' },
			items: [
				{ ts: T0 - 600_000, values: { rain_mm: 1 } },
				{ ts: 'yesterday', values: { rain_mm: 2 } },
				{ ts: T0, seq: -3, values: { rain_mm: 3 } },
				{ ts: T0, values: { rain_mm: 4 } }
			]
		};
		const sut = validateDecoded(decoded, 'd1', RECEIVED);
		expect(sut.readings.map((r) => r.value)).toEqual([1, 4]);
		expect(sut.rejected.map((r) => [r.value, r.reason])).toEqual([
			[2, 'bad_timestamp'],
			[3, 'bad_seq']
		]);
	});

	it('extras become readings with the item time; a device-reported key wins', () => {
		const sut = validateDecoded(msg({ crack_mm: 0.4, snr_db: 5 }, { ts: T0, seq: 9 }, { rssi_dbm: -98, snr_db: 7 }), 'd1', RECEIVED);
		expect(sut.readings.map((r) => [r.metric, r.value, r.observedAt.getTime(), r.seq])).toEqual([
			['crack_mm', 0.4, T0, 9],
			['snr_db', 5, T0, 9],
			['rssi_dbm', -98, T0, 9]
		]);
	});

	it('a ChirpStack event validates end to end', () => {
		const decoded = decodeMessage(
			'application/a/device/0101010101010101/event/up',
			Buffer.from(
				JSON.stringify({
					deduplicationId: '3ac7e3c4-4401-4b8d-9386-a5c902f9202d',
					time: '2024-06-01T08:00:00.123456+00:00',
					deviceInfo: { devEui: '0101010101010101', deviceName: 'x' },
					object: { tilt_x_deg: 0.12, temperature: 25, battery_v: '3.6' },
					rxInfo: [{ gatewayId: 'g', rssi: -98, snr: 6.5 }]
				})
			),
			{}
		);
		const sut = validateDecoded(decoded, 'dev-7', RECEIVED);
		expect(sut.readings.map((r) => [r.metric, r.value, r.seq, r.flags])).toEqual([
			['tilt_x_deg', 0.12, 0, 0],
			['rssi_dbm', -98, 0, 0],
			['snr_db', 6.5, 0, 0]
		]);
		expect(sut.rejected).toEqual([
			{ metric: 'temperature', value: 25, reason: 'unknown_metric' },
			{ metric: 'battery_v', value: '3.6', reason: 'not_a_number' }
		]);
		expect(sut.readings[0].deviceId).toBe('dev-7');
	});
});
