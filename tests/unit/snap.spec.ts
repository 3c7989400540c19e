// Snapping while drawing (geo/snap): vertices of neighbouring villages win over their edges, edges over nothing,
// nothing beyond the tolerance. The projection is a plain scale so screen distances are easy to reason about.
import { describe, expect, it } from 'vitest';
import { snapToBoundaries } from '../../geo';

// 1° = 1000 px, y down like a screen.
const project = (p: number[]) => ({ x: p[0] * 1000, y: -p[1] * 1000 });
const neighbour = { type: 'Polygon' as const, coordinates: [[[0, 0], [0.1, 0], [0.1, 0.1], [0, 0.1], [0, 0]]] };

describe('snapToBoundaries', () => {
	it.each([
		['a vertex within 10 px', { x: 104, y: -3 }, [0.1, 0]],
		['the vertex rather than the edge it ends', { x: 101, y: -8 }, [0.1, 0]],
		['the nearest point of an edge', { x: 105, y: -50 }, [0.1, 0.05]],
		['nothing beyond the tolerance', { x: 120, y: -50 }, undefined]
	])('%s', (_l, pointer, expected) => {
		const got = snapToBoundaries(pointer, [neighbour], project, 10);
		if (expected === undefined) expect(got).toBeUndefined();
		else {
			expect(got![0]).toBeCloseTo(expected[0], 9);
			expect(got![1]).toBeCloseTo(expected[1], 9);
		}
	});
});
