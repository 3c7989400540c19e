// Synthetic village boundaries of any size, for the boundary benchmark (`npm run bench:boundary`) and the tests that
// need a file too big to commit: wavy "stars" whose radius changes with the angle, so every ring is simple (no edge
// crosses another) however many vertices it has, and figure-eights that cross themselves once.
import type { Position } from 'geojson';

/** A closed ring of `n` vertices around (cx, cy): radius r·(1 ± 10 %) with waves, never crossing itself. */
export function wavyRing(cx: number, cy: number, r: number, n: number): Position[] {
	const ring: Position[] = [];
	for (let i = 0; i < n; i++) {
		const t = (2 * Math.PI * i) / n;
		const k = r * (1 + 0.06 * Math.sin(7 * t) + 0.04 * Math.sin(61 * t));
		ring.push([cx + k * Math.cos(t), cy + k * Math.sin(t)]);
	}
	ring.push(ring[0]);
	return ring;
}

/** A wavy ring whose last quarter is mirrored across the centre line, so the outline crosses itself like an 8. */
export function figureEight(cx: number, cy: number, r: number, n: number): Position[] {
	const ring: Position[] = [];
	for (let i = 0; i < n; i++) {
		const t = (2 * Math.PI * i) / n;
		// x = sin(t), y = sin(2t)/2: a lemniscate, crossing once at the centre.
		ring.push([cx + r * Math.sin(t), cy + (r / 2) * Math.sin(2 * t) * (1 + 0.02 * Math.sin(50 * t))]);
	}
	ring.push(ring[0]);
	return ring;
}

/**
 * A GeoJSON file of `villages` wavy villages with `total` vertices between them, as a land bureau's GIS exports it in
 * CGCS2000 3° Gauss-Krüger zone 35 (EPSG:4523, easting prefixed with the zone): whole metres, so a million vertices
 * stay under 20 MB. Villages sit on a grid 5 km apart near 107.5°E 26.5°N and do not touch.
 */
export function bigBoundaryGeoJson(total: number, villages = 100): string {
	const per = Math.floor(total / villages);
	const side = Math.ceil(Math.sqrt(villages));
	const parts: string[] = [];
	for (let v = 0; v < villages; v++) {
		const cx = 35_700_000 + (v % side) * 5000;
		const cy = 2_900_000 + Math.floor(v / side) * 5000;
		// Radius such that vertices are ≥ 1 m apart after rounding to whole metres.
		const r = Math.max(200, (per * 1.3) / (2 * Math.PI));
		const ring = wavyRing(cx, cy, r, per - 1).map(([x, y]) => `[${Math.round(x)},${Math.round(y)}]`);
		parts.push(`{"type":"Feature","properties":{"XZQMC":"测试${v + 1}村"},"geometry":{"type":"Polygon","coordinates":[[${ring.join(',')}]]}}`);
	}
	return `{"type":"FeatureCollection","features":[\n${parts.join(',\n')}\n]}`;
}
