// The bounding box of anything with coordinates: what every map fits to, what the importers index villages by and
// what the server stores in villages.bbox. One function, so the maps, the point-in-polygon index and the database
// agree on the same box.
import type { GeoJSON, Position } from 'geojson';

/** `[minLng, minLat, maxLng, maxLat]` (RFC 7946 §5, two dimensions). */
export type Bbox = [number, number, number, number];

/**
 * What `bbox` reads: a GeoJSON object (geometry, Feature, FeatureCollection, GeometryCollection), a position, nested
 * coordinate arrays (a ring, a polygon's rings, a multipolygon), or a list of any of these; null and undefined add nothing.
 */
export type BboxInput = GeoJSON | Position | readonly BboxInput[] | null | undefined;

/**
 * The smallest `[minLng, minLat, maxLng, maxLat]` holding every position in `input`, or null when it holds none.
 * Every ring counts (a hole inside its outer ring changes nothing; one drawn outside it is not hidden). A `bbox`
 * member already on the GeoJSON is not trusted: uploaded files carry stale ones. Positions are compared one at a
 * time in a loop — never `Math.min(...coords)`, whose spread overflows the call stack on a million-vertex file.
 * Township scale is assumed: a shape crossing the antimeridian gets a box spanning the globe rather than the
 * west > east box RFC 7946 §5.2 allows.
 */
export function bbox(input: BboxInput): Bbox | null {
	let minLng = Infinity;
	let minLat = Infinity;
	let maxLng = -Infinity;
	let maxLat = -Infinity;

	const add = (p: readonly unknown[]): void => {
		const lng = p[0] as number;
		const lat = p[1] as number;
		// Comparisons, not Math.min: a NaN coordinate is skipped instead of poisoning the box.
		if (lng < minLng) minLng = lng;
		if (lng > maxLng) maxLng = lng;
		if (lat < minLat) minLat = lat;
		if (lat > maxLat) maxLat = lat;
	};

	// Recursion goes as deep as the nesting (five levels at most for a MultiPolygon in a collection), never per vertex.
	const walk = (x: unknown): void => {
		if (x === null || typeof x !== 'object') return;
		if (Array.isArray(x)) {
			if (isPosition(x)) return add(x);
			for (const item of x) {
				if (Array.isArray(item) && isPosition(item)) add(item);
				else walk(item);
			}
			return;
		}
		const g = x as GeoJSON;
		switch (g.type) {
			case 'FeatureCollection':
				for (const f of g.features) walk(f.geometry);
				return;
			case 'Feature':
				return walk(g.geometry);
			case 'GeometryCollection':
				for (const child of g.geometries) walk(child);
				return;
			default:
				if ('coordinates' in g) walk(g.coordinates);
		}
	};

	walk(input);
	return minLng <= maxLng && minLat <= maxLat ? [minLng, minLat, maxLng, maxLat] : null;
}

function isPosition(a: readonly unknown[]): boolean {
	return typeof a[0] === 'number' && typeof a[1] === 'number';
}

/** A box in the `{ minX, minY, maxX, maxY }` shape an R-tree (rbush) indexes and searches by. */
export interface Rect {
	minX: number;
	minY: number;
	maxX: number;
	maxY: number;
}

/** `bbox` as an R-tree entry; nothing inside gives an inverted box, which no search ever finds. */
export function bboxRect(input: BboxInput): Rect {
	const [minX, minY, maxX, maxY] = bbox(input) ?? [Infinity, Infinity, -Infinity, -Infinity];
	return { minX, minY, maxX, maxY };
}
