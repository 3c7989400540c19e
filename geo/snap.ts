// Snapping a pointer to neighbouring village boundaries while drawing, so that a new or edited boundary shares its
// neighbours' lines exactly instead of leaving slivers and gaps. Works in screen pixels (what the hand controls)
// through a projection the caller supplies; pure, so it is tested without a map.
import type { Position } from 'geojson';
import type { Boundary } from './point-in-polygon';

export type Project = (p: Position) => { x: number; y: number };

/**
 * The boundary position to snap to for a pointer at `pointer` (screen px): the nearest vertex within `tolerancePx`,
 * else the nearest point on an edge within it, else undefined. Vertices win over edges so shared corners line up.
 */
export function snapToBoundaries(pointer: { x: number; y: number }, boundaries: readonly Boundary[], project: Project, tolerancePx = 10): Position | undefined {
	let bestVertex: Position | undefined;
	let bestVertexD = tolerancePx;
	let bestEdge: Position | undefined;
	let bestEdgeD = tolerancePx;
	for (const b of boundaries) {
		const polys = b.type === 'Polygon' ? [b.coordinates] : b.coordinates;
		for (const poly of polys) {
			for (const ring of poly) {
				let prev: { x: number; y: number } | null = null;
				for (let i = 0; i < ring.length; i++) {
					const p = project(ring[i]);
					const dv = Math.hypot(p.x - pointer.x, p.y - pointer.y);
					if (dv <= bestVertexD) {
						bestVertexD = dv;
						bestVertex = [ring[i][0], ring[i][1]];
					}
					if (prev) {
						const { t, d } = nearestOnSegment(pointer, prev, p);
						if (d <= bestEdgeD) {
							bestEdgeD = d;
							const a = ring[i - 1];
							const c = ring[i];
							// Interpolating lng/lat linearly is exact enough over one village edge (tens to hundreds of metres).
							bestEdge = [a[0] + (c[0] - a[0]) * t, a[1] + (c[1] - a[1]) * t];
						}
					}
					prev = p;
				}
			}
		}
	}
	return bestVertex ?? bestEdge;
}

function nearestOnSegment(p: { x: number; y: number }, a: { x: number; y: number }, b: { x: number; y: number }): { t: number; d: number } {
	const dx = b.x - a.x;
	const dy = b.y - a.y;
	const len2 = dx * dx + dy * dy;
	const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2));
	return { t, d: Math.hypot(a.x + dx * t - p.x, a.y + dy * t - p.y) };
}
