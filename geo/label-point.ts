// A point to hang a village's label on: the area-weighted centroid of its largest part when that lies inside,
// otherwise the middle of the widest inside stretch of the horizontal line through it (concave villages).
import booleanPointInPolygon from '@turf/boolean-point-in-polygon';
import type { MultiPolygon, Polygon, Position } from 'geojson';
import { bbox } from './bbox';
import type { LngLat } from '../src/lib/domain/types';

function ringArea(ring: Position[]): number {
	let a = 0;
	for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) a += (ring[j][0] + ring[i][0]) * (ring[j][1] - ring[i][1]);
	return Math.abs(a / 2);
}

function centroid(ring: Position[]): LngLat {
	let a = 0;
	let cx = 0;
	let cy = 0;
	for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
		const f = ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
		a += f;
		cx += (ring[j][0] + ring[i][0]) * f;
		cy += (ring[j][1] + ring[i][1]) * f;
	}
	if (a === 0) return [ring[0][0], ring[0][1]];
	return [cx / (3 * a), cy / (3 * a)];
}

export function labelPoint(geometry: Polygon | MultiPolygon): LngLat {
	const parts = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
	const largest = parts.reduce((best, p) => (ringArea(p[0]) > ringArea(best[0]) ? p : best));
	const poly: Polygon = { type: 'Polygon', coordinates: largest };
	const c = centroid(largest[0]);
	if (booleanPointInPolygon(c, poly)) return c;
	// Scan the centroid's latitude for the widest inside stretch.
	const [min, , max] = bbox(largest[0]) ?? [c[0], c[1], c[0], c[1]];
	let bestStart = NaN;
	let bestLen = -1;
	let start = NaN;
	const steps = 200;
	for (let i = 0; i <= steps; i++) {
		const x = min + ((max - min) * i) / steps;
		const inside = booleanPointInPolygon([x, c[1]], poly, { ignoreBoundary: true });
		if (inside && Number.isNaN(start)) start = x;
		if ((!inside || i === steps) && !Number.isNaN(start)) {
			if (x - start > bestLen) {
				bestLen = x - start;
				bestStart = start;
			}
			start = NaN;
		}
	}
	return bestLen > 0 ? [bestStart + bestLen / 2, c[1]] : [largest[0][0][0], largest[0][0][1]];
}
