import { describe, expect, it } from 'vitest';
import { signedDistanceField, KIND_SHAPES, STATUS_RANK, RANK_STATUS } from '../../src/lib/map-symbols';
import { SENSOR_KINDS, SENSOR_STATUSES } from '../../src/lib/domain/types';

describe('map symbols', () => {
	it('has a shape for every sensor kind, no two alike', () => {
		expect(Object.keys(KIND_SHAPES).sort()).toEqual([...SENSOR_KINDS].sort());
		expect(new Set(Object.values(KIND_SHAPES)).size).toBe(SENSOR_KINDS.length);
	});

	it('ranks every status, alarms above device trouble above quiet, and maps ranks back', () => {
		expect(Object.keys(STATUS_RANK).sort()).toEqual([...SENSOR_STATUSES].sort());
		const byRank = [...SENSOR_STATUSES].sort((a, b) => STATUS_RANK[b] - STATUS_RANK[a]);
		// A sensor that talks but measures nothing (no_data) shows through a cluster before one that is silent.
		expect(byRank.slice(0, 6)).toEqual(['red', 'orange', 'yellow', 'blue', 'no_data', 'offline']);
		for (const s of SENSOR_STATUSES) expect(RANK_STATUS[STATUS_RANK[s]]).toBe(s);
	});

	it("encodes a distance field the way MapLibre's SDF shader reads it (edge ≈ 192, 32 per pixel)", () => {
		// A 20×20 filled square in a 40×40 image.
		const w = 40;
		const alpha = new Uint8ClampedArray(w * w).map((_, i) => (i % w >= 10 && i % w < 30 && Math.floor(i / w) >= 10 && Math.floor(i / w) < 30 ? 255 : 0));
		const sut = signedDistanceField(alpha, w, w);
		const at = (x: number, y: number) => sut[y * w + x];
		// Just inside and just outside the left edge sit either side of the 192 threshold, one pixel step apart.
		expect(at(10, 20)).toBeGreaterThan(192);
		expect(at(9, 20)).toBeLessThan(192);
		expect(at(10, 20) - at(9, 20)).toBeCloseTo(32, 0);
		// Deep inside is saturated, far outside is empty, and values fall monotonically outward.
		expect(at(20, 20)).toBe(255);
		expect(at(0, 20)).toBe(0);
		for (let x = 1; x <= 10; x++) expect(at(x, 20)).toBeGreaterThanOrEqual(at(x - 1, 20));
	});
});
