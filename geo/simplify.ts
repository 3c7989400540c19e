// Douglas–Peucker simplification of village boundaries for the import preview: a map of a million-vertex file needs
// a few tens of thousands of vertices to look the same on screen, and the browser should not download the rest.
// Only the preview uses it; what is saved is the file's own geometry.
// Each vertex gets an importance once (the largest tolerance at which Douglas–Peucker would still keep it), so
// meeting a vertex budget is one sort, not a search over tolerances. A ring keeps at least a triangle (three
// vertices a third of the way round each other), so no village or hole vanishes from the preview.
// Distances are planar in the coordinates' own units (degrees for WGS-84): at township scale the difference from
// metres only shifts which of two near-equal vertices survives.
import type { Position } from 'geojson';
import type { Boundary } from './point-in-polygon';

/** Importance of each vertex of a closed ring (first = last); the closing vertex shares the first one's. */
function ringImportance(ring: Position[]): Float64Array {
	const n = ring.length - 1;
	const out = new Float64Array(ring.length);
	if (n < 4) return out.fill(Infinity);
	const anchors = [0, Math.floor(n / 3), Math.floor((2 * n) / 3), n];
	for (const a of anchors) out[a] = Infinity;
	const stack: [number, number, number][] = [];
	for (let i = 0; i < 3; i++) stack.push([anchors[i], anchors[i + 1], Infinity]);
	while (stack.length) {
		const [a, b, cap] = stack.pop()!;
		if (b - a < 2) continue;
		const [ax, ay] = ring[a];
		const [bx, by] = ring[b];
		const dx = bx - ax;
		const dy = by - ay;
		const len2 = dx * dx + dy * dy;
		let far = -1;
		let best = -1;
		for (let i = a + 1; i < b; i++) {
			const [px, py] = ring[i];
			let d2: number;
			if (len2 === 0) d2 = (px - ax) ** 2 + (py - ay) ** 2;
			else {
				const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2));
				d2 = (px - ax - t * dx) ** 2 + (py - ay - t * dy) ** 2;
			}
			if (d2 > best) {
				best = d2;
				far = i;
			}
		}
		// A vertex is kept only while the segment it splits exists: its importance never exceeds its parent's.
		const imp = Math.min(Math.sqrt(best), cap);
		out[far] = imp;
		stack.push([a, far, imp], [far, b, imp]);
	}
	return out;
}

const ringsOf = (g: Boundary): Position[][] => (g.type === 'Polygon' ? g.coordinates : g.coordinates.flat());

function rebuild(g: Boundary, keep: (ring: Position[], ringIndex: number) => Position[]): Boundary {
	let k = 0;
	if (g.type === 'Polygon') return { type: 'Polygon', coordinates: g.coordinates.map((r) => keep(r, k++)) };
	return { type: 'MultiPolygon', coordinates: g.coordinates.map((p) => p.map((r) => keep(r, k++))) };
}

/** Vertices of a boundary, closing vertices counted. */
export function vertexCount(g: Boundary): number {
	return ringsOf(g).reduce((n, r) => n + r.length, 0);
}

/** The boundary with every vertex closer than `tolerance` to the simplified line dropped (Douglas–Peucker). */
export function simplifyBoundary(g: Boundary, tolerance: number): Boundary {
	return rebuild(g, (ring) => {
		const imp = ringImportance(ring);
		return ring.filter((_, i) => imp[i] > tolerance);
	});
}

/**
 * Boundaries simplified together, with one tolerance, to at most `maxVertices` vertices in all (closing vertices
 * counted), or as close as the triangles every ring keeps allow. Returns the tolerance used (0: nothing dropped).
 */
export function simplifyToBudget(geometries: Boundary[], maxVertices: number): { geometries: Boundary[]; tolerance: number } {
	const importance = geometries.map((g) => ringsOf(g).map(ringImportance));
	const all = importance.flatMap((rings) => rings);
	const total = all.reduce((n, r) => n + r.length, 0);
	if (total <= maxVertices) return { geometries, tolerance: 0 };
	const finite = new Float64Array(total);
	let m = 0;
	let forced = 0;
	for (const r of all) {
		for (const x of r) {
			if (x === Infinity) forced++;
			else finite[m++] = x;
		}
	}
	const sorted = finite.subarray(0, m).sort().reverse();
	const room = maxVertices - forced;
	// Keep the `room` most important vertices: everything strictly above the first one left out.
	const tolerance = room <= 0 ? Infinity : room >= m ? 0 : sorted[room];
	return {
		tolerance,
		geometries: geometries.map((g, gi) => rebuild(g, (ring, ri) => ring.filter((_, i) => importance[gi][ri][i] > tolerance)))
	};
}
