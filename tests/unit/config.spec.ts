import { describe, expect, it } from 'vitest';
import { parseConfig, ConfigError } from '../../src/lib/server/platform/config';

describe('config', () => {
	it('has working defaults for the one-command demo', () => {
		const sut = parseConfig({});
		expect(sut).toMatchObject({ PORT: 3000, HOST: '0.0.0.0', DATA_DIR: './data', MQTT_PORT: 1883, TZ_DISPLAY: 'Asia/Shanghai', LOG_LEVEL: 'info', DEMO: true, SIMULATE: true });
		expect(sut.DATABASE_URL).toBeUndefined();
		expect(Object.isFrozen(sut)).toBe(true);
	});

	it('turns demo and simulation off by default against a real database', () => {
		const sut = parseConfig({ DATABASE_URL: 'postgres://u@h/db' });
		expect(sut.DEMO).toBe(false);
		expect(sut.SIMULATE).toBe(false);
		expect(parseConfig({ DATABASE_URL: 'postgres://u@h/db', DEMO: 'on' }).SIMULATE).toBe(true);
		expect(parseConfig({ DEMO: 'on', SIMULATE: 'off' }).SIMULATE).toBe(false);
	});

	it('names every bad key at once', () => {
		let err: unknown;
		try {
			parseConfig({ PORT: 'eighty', MQTT_URL: 'http://x', TZ_DISPLAY: 'Mars/Olympus', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x', SIMULATE: 'maybe' });
		} catch (e) {
			err = e;
		}
		expect(err).toBeInstanceOf(ConfigError);
		const keys = (err as ConfigError).problems.map((p) => p.split(':')[0]).sort();
		expect(keys).toEqual(['DATABASE_URL', 'LOG_LEVEL', 'MQTT_URL', 'PORT', 'SIMULATE', 'TZ_DISPLAY']);
	});

	it.each([
		['PORT', '70000'],
		['MQTT_PORT', '-1'],
		['INGEST_BATCH_ROWS', '0'],
		['DEMO_PASSWORD', 'short']
	])('rejects %s=%s', (key, value) => {
		expect(() => parseConfig({ [key]: value })).toThrow(key);
	});

	it('treats empty strings as unset', () => {
		expect(parseConfig({ PORT: '', DATABASE_URL: '' }).PORT).toBe(3000);
	});
});
