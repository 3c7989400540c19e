// Unit tests for geo/bbox: the one bounding box every map fits to, the importers index by and the server stores.

import { describe, expect, it } from 'vitest';
import type { Polygon, Position } from 'geojson';
import { bbox, bboxRect, type Bbox, type BboxInput } from '../../geo';

const square = (x0: number, y0: number, x1: number, y1: number): Position[] => [
	[x0, y0],
	[x1, y0],
	[x1, y1],
	[x0, y1],
	[x0, y0]
];
const polygon = (...rings: Position[][]): Polygon => ({ type: 'Polygon', coordinates: rings });

/** A closed ring of `n` vertices on an ellipse around (107.5, 26.5): its extremes are exactly the ellipse's. */
function bigRing(n: number): Position[] {
	const ring: Position[] = new Array(n);
	for (let i = 0; i < n - 1; i++) {
		const a = (2 * Math.PI * i) / (n - 1);
		ring[i] = [107.5 + 0.06 * Math.cos(a), 26.5 + 0.04 * Math.sin(a)];
	}
	ring[n - 1] = ring[0];
	return ring;
}

describe('bbox', () => {
	it.each<[string, BboxInput, Bbox | null]>([
		['a polygon with a hole: the outer ring sets the box', polygon(square(0, 0, 4, 3), square(1, 1, 2, 2)), [0, 0, 4, 3]],
		['a hole drawn outside its ring is not hidden', polygon(square(0, 0, 1, 1), square(5, 5, 6, 7)), [0, 0, 6, 7]],
		['a multipolygon spans all its parts', { type: 'MultiPolygon', coordinates: [[square(20, 0, 21, 1)], [square(22, -1, 23, 0.5)]] }, [20, -1, 23, 1]],
		['a single point is a box of no size', { type: 'Point', coordinates: [107.5, 26.5] }, [107.5, 26.5, 107.5, 26.5]],
		['a bare position', [107.5, 26.5], [107.5, 26.5, 107.5, 26.5]],
		['a position with an altitude', { type: 'Point', coordinates: [1, 2, 900] }, [1, 2, 1, 2]],
		['a line', { type: 'LineString', coordinates: [[3, 4], [-1, 9], [2, 2]] }, [-1, 2, 3, 9]],
		[
			'a feature collection of mixed geometries, a null geometry skipped',
			{
				type: 'FeatureCollection',
				features: [
					{ type: 'Feature', properties: {}, geometry: polygon(square(0, 0, 1, 1)) },
					{ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [5, -2] } },
					{ type: 'Feature', properties: {}, geometry: null as unknown as Polygon }
				]
			},
			[0, -2, 5, 1]
		],
		['a geometry collection', { type: 'GeometryCollection', geometries: [{ type: 'Point', coordinates: [1, 1] }, { type: 'LineString', coordinates: [[-3, 0], [0, 4]] }] }, [-3, 0, 1, 4]],
		['a list of geometries, positions and nulls', [polygon(square(0, 0, 1, 1)), null, [7, 8], undefined], [0, 0, 7, 8]],
		['a stale bbox member on the GeoJSON is not trusted', { type: 'Point', coordinates: [1, 2], bbox: [0, 0, 50, 50] }, [1, 2, 1, 2]],
		['a NaN coordinate is skipped, not spread over the box', { type: 'LineString', coordinates: [[1, 1], [NaN, NaN], [2, 3]] }, [1, 1, 2, 3]],
		['empty: null', null, null],
		['empty: an empty feature collection', { type: 'FeatureCollection', features: [] }, null],
		['empty: a polygon without rings', { type: 'Polygon', coordinates: [] }, null],
		['empty: a ring without positions', [[]], null],
		['empty: only NaN', [NaN, NaN], null]
	])('%s', (_name, input, expected) => {
		expect(bbox(input)).toEqual(expected);
	});

	it('reads a 1,000,000-vertex ring without overflowing the stack', () => {
		const ring = bigRing(1_000_000);
		// The spread this function avoids really does overflow at this size, so the case below tests something.
		expect(() => Math.min(...ring.map((p) => p[0]))).toThrow(RangeError);
		const sut = bbox(polygon(ring));
		expect(sut).not.toBeNull();
		const [w, s, e, n] = sut!;
		expect(w).toBeCloseTo(107.44, 9);
		expect(e).toBeCloseTo(107.56, 9);
		expect(s).toBeCloseTo(26.46, 9);
		expect(n).toBeCloseTo(26.54, 9);
	});
});

describe('bboxRect', () => {
	it.each<[string, BboxInput, { minX: number; minY: number; maxX: number; maxY: number }]>([
		['a polygon', polygon(square(0, 0, 4, 3)), { minX: 0, minY: 0, maxX: 4, maxY: 3 }],
		['nothing: an inverted box that no search finds', { type: 'Polygon', coordinates: [] }, { minX: Infinity, minY: Infinity, maxX: -Infinity, maxY: -Infinity }]
	])('%s', (_name, input, expected) => {
		expect(bboxRect(input)).toEqual(expected);
	});
});
