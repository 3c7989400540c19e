// Where a boundary's edges cross or touch each other, in O(n log n) for real boundaries: every edge goes into a
// packed static R-tree (flatbush: typed arrays, one bulk load, so a 1,000,000-edge index costs a few hundred ms and
// ~40 MB) and is tested only against the edges whose boxes it meets. @turf/kinks tests every pair of edges, which is
// quadratic (`npm run bench:boundary` prints both).
// Semantics follow @turf/kinks, whose answers the report has always given: every ring of every part is checked
// against itself and the others; two edges meet when they share a point (crossing or touching), except neighbouring
// edges of one ring and the first and last edge of a closed ring; parallel edges never meet. Pure.

import Flatbush from 'flatbush';
import type { MultiPolygon, Polygon, Position } from 'geojson';

export interface SelfIntersections {
	/** Distinct meeting points, in the order of the first edge involved (ring by ring, edge by edge). */
	points: [number, number][];
}

/** Meeting points of a polygon's edges; stops collecting after `limit` distinct points (the report shows the first). */
export function selfIntersections(geometry: Polygon | MultiPolygon, limit = 1000): SelfIntersections {
	const rings = geometry.type === 'Polygon' ? geometry.coordinates : geometry.coordinates.flat();
	let n = 0;
	for (const r of rings) n += Math.max(0, r.length - 1);
	if (n < 2) return { points: [] };
	// Edge e runs from (xs[e], ys[e]) to (xs2[e], ys2[e]); ring[e] and pos[e] say where it is, last[e] if it closes.
	const x1 = new Float64Array(n);
	const y1 = new Float64Array(n);
	const x2 = new Float64Array(n);
	const y2 = new Float64Array(n);
	const ringOf = new Uint32Array(n);
	const posOf = new Uint32Array(n);
	const ringLen = new Uint32Array(rings.length);
	const ringClosed = new Uint8Array(rings.length);
	const index = new Flatbush(n);
	let e = 0;
	rings.forEach((ring: Position[], r) => {
		const edges = Math.max(0, ring.length - 1);
		ringLen[r] = edges;
		if (edges > 0) {
			const a = ring[0];
			const b = ring[ring.length - 1];
			ringClosed[r] = a[0] === b[0] && a[1] === b[1] ? 1 : 0;
		}
		for (let i = 0; i < edges; i++, e++) {
			const p = ring[i];
			const q = ring[i + 1];
			x1[e] = p[0];
			y1[e] = p[1];
			x2[e] = q[0];
			y2[e] = q[1];
			ringOf[e] = r;
			posOf[e] = i;
			index.add(Math.min(p[0], q[0]), Math.min(p[1], q[1]), Math.max(p[0], q[0]), Math.max(p[1], q[1]));
		}
	});
	index.finish();

	const seen = new Set<string>();
	const points: [number, number][] = [];
	const found: number[] = [];
	for (let a = 0; a < n && points.length < limit; a++) {
		found.length = 0;
		index.search(
			Math.min(x1[a], x2[a]),
			Math.min(y1[a], y2[a]),
			Math.max(x1[a], x2[a]),
			Math.max(y1[a], y2[a]),
			(b) => {
				if (b <= a) return false;
				if (ringOf[a] === ringOf[b]) {
					const r = ringOf[a];
					if (posOf[b] - posOf[a] === 1) return false;
					if (posOf[a] === 0 && posOf[b] === ringLen[r] - 1 && ringClosed[r]) return false;
				}
				found.push(b);
				return false;
			}
		);
		// Results arrive in tree order; sort so "the first place" is the one nearest the start of the ring.
		found.sort((p, q) => p - q);
		for (const b of found) {
			const at = meet(x1[a], y1[a], x2[a], y2[a], x1[b], y1[b], x2[b], y2[b]);
			if (!at) continue;
			const key = `${at[0]},${at[1]}`;
			if (seen.has(key)) continue;
			seen.add(key);
			points.push(at);
			if (points.length >= limit) break;
		}
	}
	return { points };
}

/** The point two closed segments share, or null; parallel segments never meet (as in @turf/kinks). */
function meet(
	ax1: number,
	ay1: number,
	ax2: number,
	ay2: number,
	bx1: number,
	by1: number,
	bx2: number,
	by2: number
): [number, number] | null {
	const d = (by2 - by1) * (ax2 - ax1) - (bx2 - bx1) * (ay2 - ay1);
	if (d === 0) return null;
	const na = (bx2 - bx1) * (ay1 - by1) - (by2 - by1) * (ax1 - bx1);
	const nb = (ax2 - ax1) * (ay1 - by1) - (ay2 - ay1) * (ax1 - bx1);
	const ua = na / d;
	const ub = nb / d;
	if (ua < 0 || ua > 1 || ub < 0 || ub > 1) return null;
	return [ax1 + ua * (ax2 - ax1), ay1 + ua * (ay2 - ay1)];
}
