// The writer's binary COPY data (ingest/copy-binary.ts): PostgreSQL's binary COPY layout, and a value its column cannot
// hold refused as bad data (SQLSTATE 22003), not as a connection fault the writer would retry for ever. That PostgreSQL
// stores exactly what the unnest path stores is tests/integration/array-literals.spec.ts (needs PostgreSQL).
import { describe, expect, it } from 'vitest';
import { readingsCopyData } from '../../ingest/copy-binary';
import type { Reading } from '../../src/lib/domain/types';

const r = (o: Partial<Reading> = {}): Reading => ({
	deviceId: 'RL-01',
	metric: 'water_level_m',
	value: 3.21,
	observedAt: new Date('2000-01-01T00:00:00.001Z'),
	receivedAt: new Date('1999-12-31T23:59:59.999Z'),
	flags: 2,
	...o
});

describe('binary COPY data of readings', () => {
	it('lays out signature, rows and trailer as PostgreSQL reads them', () => {
		const b = readingsCopyData([r(), r({ deviceId: '河-01', seq: 2 ** 40 + 5 })]);
		expect(b.subarray(0, 11).toString('latin1')).toBe('PGCOPY\n\xff\r\n\0');
		expect(b.readInt32BE(11)).toBe(0); // flags
		expect(b.readInt32BE(15)).toBe(0); // header extension
		let o = 19;
		const field = () => {
			const n = b.readInt32BE(o);
			o += 4;
			if (n < 0) return null;
			const f = b.subarray(o, o + n);
			o += n;
			return f;
		};
		const rows: unknown[][] = [];
		for (;;) {
			const count = b.readInt16BE(o);
			o += 2;
			if (count === -1) break;
			expect(count).toBe(7);
			const [d, m, obs, v, rec, fl, seq] = Array.from({ length: 7 }, field);
			rows.push([d!.toString('utf8'), m!.toString('utf8'), obs!.readBigInt64BE(), v!.readDoubleBE(), rec!.readBigInt64BE(), fl!.readInt16BE(), seq && seq.readBigInt64BE()]);
		}
		expect(o).toBe(b.length);
		// Timestamps are microseconds since 2000-01-01 UTC: 1 ms after it, and 1 ms before it.
		expect(rows).toEqual([
			['RL-01', 'water_level_m', 1000n, 3.21, -1000n, 2, null],
			['河-01', 'water_level_m', 1000n, 3.21, -1000n, 2, 2n ** 40n + 5n]
		]);
	});

	it.each([
		['flags beyond int2', r({ flags: 40_000 })],
		['a fractional seq', r({ seq: 1.5 })]
	])('refuses %s as bad data (22003), not as a fault to retry', (_, bad) => {
		expect(() => readingsCopyData([r(), bad])).toThrow(expect.objectContaining({ code: '22003' }));
	});
});
