// Unit tests for geo/point-in-polygon: village lookup edge cases (borders, vertices, holes, multipolygons,
// the antimeridian) and the plain-language boundary checks.

import { describe, expect, it } from 'vitest';
import type { MultiPolygon, Polygon } from 'geojson';
import { VillageIndex, validateBoundary } from '../../geo';
import type { LngLat } from '../../src/lib/domain/types';

const square = (x0: number, y0: number, x1: number, y1: number): number[][] => [
	[x0, y0],
	[x1, y0],
	[x1, y1],
	[x0, y1],
	[x0, y0]
];
const polygon = (...rings: number[][][]): Polygon => ({ type: 'Polygon', coordinates: rings });

// Two neighbours sharing the edge lng = 1 (ids deliberately listed high first), a village with a hole that holds an
// enclave, a two-part village, and two villages touching the antimeridian from either side.
const villages = [
	{ id: 20, geometry: polygon(square(1, 0, 2, 1)) },
	{ id: 10, geometry: polygon(square(0, 0, 1, 1)) },
	{ id: 30, geometry: polygon(square(10, 10, 14, 14), square(11, 11, 13, 13)) },
	{ id: 35, geometry: polygon(square(11.5, 11.5, 12.5, 12.5)) },
	{
		id: 40,
		geometry: {
			type: 'MultiPolygon',
			coordinates: [[square(20, 0, 21, 1)], [square(22, 0, 23, 1)]]
		} satisfies MultiPolygon
	},
	{ id: 50, geometry: polygon(square(179.5, 0, 180, 1)) },
	{ id: 60, geometry: polygon(square(-180, 0, -179.5, 1)) }
];

describe('VillageIndex.locate', () => {
	const sut = new VillageIndex(villages);

	it.each<[string, LngLat, number | null]>([
		['inside the west village', [0.5, 0.5], 10],
		['inside the east village', [1.5, 0.5], 20],
		['outside every village', [5, 5], null],
		['far away, beyond every bounding box', [-100, -45], null],
		['on the shared edge: lowest id wins', [1, 0.5], 10],
		['on a shared vertex: lowest id wins', [1, 1], 10],
		['on an outer vertex of one village', [2, 0], 20],
		['on an outer edge of one village', [1.5, 1], 20],
		['inside the ring around the hole', [10.5, 10.5], 30],
		['inside the hole, not in the enclave', [11.2, 11.2], null],
		['inside the enclave filling part of the hole', [12, 12], 35],
		['on the hole boundary (boundary counts as inside)', [11, 12], 30],
		['first part of a MultiPolygon', [20.5, 0.5], 40],
		['second part of a MultiPolygon', [22.5, 0.5], 40],
		['between the parts of a MultiPolygon', [21.5, 0.5], null],
		['east of the antimeridian, inside', [179.9, 0.5], 50],
		['exactly on lng 180', [180, 0.5], 50],
		['exactly on lng -180', [-180, 0.5], 60],
		['west of the antimeridian, inside', [-179.9, 0.5], 60],
		['non-finite coordinates', [Number.NaN, 0.5], null]
	])('%s', (_case, point, expected) => {
		expect(sut.locate(point)).toBe(expected);
	});

	it('lists every village touching a border point, lowest id first', () => {
		expect(sut.locateAll([1, 0.5])).toEqual([10, 20]);
	});

	it('resolves a border point the same way whatever the input order', () => {
		const reversed = new VillageIndex([...villages].reverse());
		expect(reversed.locate([1, 0.5])).toBe(10);
		expect(reversed.locate([1, 1])).toBe(10);
	});

	it('orders string ids without locale rules', () => {
		const byCode = new VillageIndex([
			{ id: '522799103202', geometry: polygon(square(0, 0, 1, 1)) },
			{ id: '522799103201', geometry: polygon(square(1, 0, 2, 1)) }
		]);
		expect(byCode.locate([1, 0.5])).toBe('522799103201');
		expect(byCode.locate([0.5, 0.5])).toBe('522799103202');
	});

	it('handles an empty index', () => {
		expect(new VillageIndex([]).locate([0, 0])).toBeNull();
	});
});

describe('validateBoundary', () => {
	it.each<[string, unknown, RegExp[]]>([
		['a valid polygon', polygon(square(0, 0, 1, 1)), []],
		['a valid polygon with a hole', villages[2].geometry, []],
		['a valid multipolygon', villages[4].geometry, []],
		['not an object', 'POLYGON((0 0, 1 0, 1 1, 0 0))', [/not a GeoJSON geometry/]],
		['null', null, [/not a GeoJSON geometry/]],
		['a point', { type: 'Point', coordinates: [0, 0] }, [/Polygon or MultiPolygon, not Point/]],
		['a feature instead of a geometry', { type: 'Feature', geometry: polygon(square(0, 0, 1, 1)) }, [/not Feature/]],
		['no coordinates', { type: 'Polygon', coordinates: [] }, [/no coordinates/]],
		[
			'an unclosed ring',
			polygon([
				[0, 0],
				[1, 0],
				[1, 1],
				[0, 1]
			]),
			[/not closed/]
		],
		[
			'too few positions',
			polygon([
				[0, 0],
				[1, 0],
				[0, 0]
			]),
			[/3 positions; a ring needs at least 4/]
		],
		[
			'a non-finite coordinate',
			polygon([
				[0, 0],
				[1, Number.NaN],
				[1, 1],
				[0, 0]
			]),
			[/position 2 has a coordinate that is not a finite number/]
		],
		[
			'a string coordinate',
			polygon([
				[0, 0],
				['1', 0] as unknown as number[],
				[1, 1],
				[0, 0]
			]),
			[/not a finite number/]
		],
		['longitude out of range', polygon(square(179, 0, 181, 1)), [/longitude outside -180…180/]],
		['latitude out of range (swapped axes)', polygon(square(26, 107, 27, 108)), [/latitude outside -90…90/]],
		['an edge jumping across the antimeridian', polygon(square(-179, 0, 179, 1)), [/spans more than 180°/]],
		[
			'a bad hole inside a multipolygon',
			{
				type: 'MultiPolygon',
				coordinates: [
					[square(0, 0, 3, 3)],
					[
						square(5, 5, 9, 9),
						[
							[6, 6],
							[7, 6],
							[7, 7]
						]
					]
				]
			},
			[/^Polygon 2, hole 1 has 3 positions/, /^Polygon 2, hole 1 is not closed/]
		]
	])('%s', (_case, geometry, expected) => {
		const problems = validateBoundary(geometry);
		expect(problems).toHaveLength(expected.length);
		expected.forEach((pattern, i) => expect(problems[i]).toMatch(pattern));
	});

	it('reports one message per kind of problem per ring, however many positions are bad', () => {
		const ring = Array.from({ length: 100 }, (_, i) => [200 + i, 0]);
		ring.push(ring[0]);
		expect(validateBoundary(polygon(ring))).toHaveLength(1);
	});
});
