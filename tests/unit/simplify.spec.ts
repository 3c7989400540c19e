// Preview simplification (geo/simplify): Douglas–Peucker per ring, a shared vertex budget, rings never vanish.
import { describe, expect, it } from 'vitest';
import type { MultiPolygon, Polygon, Position } from 'geojson';
import { simplifyBoundary, simplifyToBudget, vertexCount } from '../../geo/simplify';
import { validateBoundary } from '../../geo';
import { wavyRing } from '../../scripts/lib/boundary-shapes';

const square: Position[] = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]];

describe('simplifyBoundary', () => {
	it('drops vertices closer than the tolerance to the line and keeps the corners', () => {
		// A square with a slight bump (0.001) on the bottom edge and a point on the right edge.
		const sut: Polygon = { type: 'Polygon', coordinates: [[[0, 0], [0.5, 0.001], [1, 0], [1, 0.5], [1, 1], [0, 1], [0, 0]]] };
		expect(simplifyBoundary(sut, 0.01).coordinates[0]).toEqual(square.slice(0, 1).concat([[1, 0], [1, 1], [0, 1], [0, 0]]));
		// Below the bump's height it stays.
		expect(simplifyBoundary(sut, 0.0005).coordinates[0]).toContainEqual([0.5, 0.001]);
	});

	it.each([
		['a square, no corner within the tolerance', square, 0.1],
		['a triangle, whatever the tolerance', [[0, 0], [1, 0], [0, 1], [0, 0]], 10]
	])('leaves %s as it is', (_name, ring, tolerance) => {
		expect(simplifyBoundary({ type: 'Polygon', coordinates: [ring as Position[]] }, tolerance as number).coordinates[0]).toEqual(ring);
	});

	it('keeps every ring closed and at least a triangle, holes and islands included, however large the tolerance', () => {
		const outer = wavyRing(107.5, 26.5, 0.02, 500);
		const hole = wavyRing(107.5, 26.5, 0.005, 200).reverse();
		const island = wavyRing(107.6, 26.5, 0.01, 300);
		const g: MultiPolygon = { type: 'MultiPolygon', coordinates: [[outer, hole], [island]] };
		const sut = simplifyBoundary(g, 1);
		for (const ring of sut.coordinates.flat()) {
			expect(ring.length).toBe(4);
			expect(ring[0]).toEqual(ring[3]);
		}
		expect(validateBoundary(sut)).toEqual([]);
	});
});

describe('simplifyToBudget', () => {
	it('returns the geometries untouched when they fit', () => {
		const g: Polygon = { type: 'Polygon', coordinates: [wavyRing(107.5, 26.5, 0.02, 100)] };
		const sut = simplifyToBudget([g], 1000);
		expect(sut.tolerance).toBe(0);
		expect(sut.geometries[0]).toBe(g);
	});

	it('brings 200,000 vertices under the budget with one tolerance and keeps the shape within it', () => {
		const geometries: Polygon[] = Array.from({ length: 20 }, (_, i) => ({ type: 'Polygon', coordinates: [wavyRing(107.5 + i * 0.05, 26.5, 0.02, 10_000)] }));
		const sut = simplifyToBudget(geometries, 20_000);
		const total = sut.geometries.reduce((n, g) => n + vertexCount(g), 0);
		expect(total).toBeLessThanOrEqual(20_000);
		expect(total).toBeGreaterThan(15_000);
		expect(sut.tolerance).toBeGreaterThan(0);
		// Every dropped vertex lies within the tolerance of the simplified outline (checked on one village).
		const kept = (sut.geometries[0] as Polygon).coordinates[0];
		const dist = (p: Position, a: Position, b: Position) => {
			const [dx, dy] = [b[0] - a[0], b[1] - a[1]];
			const t = Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy)));
			return Math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy);
		};
		for (const p of geometries[0].coordinates[0].filter((_, i) => i % 97 === 0)) {
			const d = Math.min(...kept.slice(1).map((b, i) => dist(p, kept[i], b)));
			expect(d).toBeLessThanOrEqual(sut.tolerance + 1e-12);
		}
		expect(sut.geometries.every((g) => validateBoundary(g).length === 0)).toBe(true);
	});
});
