// Village lookup: which village's boundary contains a point (routing a sensor or a field report to the cadres
// responsible for it, DOMAIN.md "Territorial responsibility"), plus plain-language checks on an uploaded boundary.
// Pure: no database, no DOM, no MapLibre (STYLE.md layout rule for geo/).

import RBush from 'rbush';
import { booleanPointInPolygon } from '@turf/boolean-point-in-polygon';
import type { MultiPolygon, Polygon, Position } from 'geojson';
import type { LngLat } from '../src/lib/domain/types';
import { bboxRect } from './bbox';

export type VillageId = number | string;
export type Boundary = Polygon | MultiPolygon;

export interface VillageBoundary<Id extends VillageId = VillageId> {
	id: Id;
	geometry: Boundary;
}

interface IndexEntry<Id extends VillageId> {
	minX: number;
	minY: number;
	maxX: number;
	maxY: number;
	id: Id;
	geometry: Boundary;
}

/**
 * Total order on ids so that border points always resolve the same way: numbers by value before strings,
 * strings by UTF-16 code units (not localeCompare, whose result depends on the ICU data of the host).
 */
export function compareVillageIds(a: VillageId, b: VillageId): number {
	if (typeof a === 'number' && typeof b === 'number') return a - b;
	if (typeof a === 'number') return -1;
	if (typeof b === 'number') return 1;
	return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Spatial index over village boundaries. The R-tree narrows a lookup to the few villages whose bounding box holds
 * the point; the exact test then runs only on those.
 *
 * Boundaries that cross the antimeridian must be split into a MultiPolygon first (RFC 7946 §3.1.9); a single ring
 * spanning it would get a bounding box covering the whole globe and an inverted inside test.
 */
export class VillageIndex<Id extends VillageId = VillageId> {
	readonly #tree = new RBush<IndexEntry<Id>>();
	readonly #size: number;

	constructor(villages: readonly VillageBoundary<Id>[]) {
		const entries = villages.map((v) => ({ ...bboxRect(v.geometry), id: v.id, geometry: v.geometry }));
		this.#tree.load(entries);
		this.#size = entries.length;
	}

	get size(): number {
		return this.#size;
	}

	/**
	 * The id of the village containing `point`, or null when none does. A point on a shared border (or a shared
	 * vertex) belongs to every neighbour touching it, so the lowest id wins: a reading must never be routed to two
	 * villages, and the same point must route the same way on every run. Points inside a hole are outside that
	 * village (the hole may be another village, an enclave, which then wins).
	 */
	locate(point: LngLat): Id | null {
		const [lng, lat] = point;
		if (!Number.isFinite(lng) || !Number.isFinite(lat)) return null;
		let best: Id | null = null;
		for (const entry of this.#tree.search({ minX: lng, minY: lat, maxX: lng, maxY: lat })) {
			if (best !== null && compareVillageIds(entry.id, best) >= 0) continue;
			if (booleanPointInPolygon(point, entry.geometry, { ignoreBoundary: false })) best = entry.id;
		}
		return best;
	}

	/** Every village containing `point` (boundary included), lowest id first: for admin views of overlaps. */
	locateAll(point: LngLat): Id[] {
		const [lng, lat] = point;
		if (!Number.isFinite(lng) || !Number.isFinite(lat)) return [];
		return this.#tree
			.search({ minX: lng, minY: lat, maxX: lng, maxY: lat })
			.filter((e) => booleanPointInPolygon(point, e.geometry, { ignoreBoundary: false }))
			.map((e) => e.id)
			.sort(compareVillageIds);
	}
}

/**
 * Problems with a boundary, in words an admin uploading a file can act on; an empty list means it is usable.
 * Checks the structure RFC 7946 §3.1.6 requires (closed linear rings of four or more positions) and WGS-84 ranges.
 * It does not check self-intersection: that needs a geometry engine and is left to the importer.
 */
export function validateBoundary(geometry: unknown): string[] {
	if (!isObject(geometry)) return ['The boundary is not a GeoJSON geometry object.'];
	const { type, coordinates } = geometry;
	if (type !== 'Polygon' && type !== 'MultiPolygon') {
		const given = typeof type === 'string' ? type : 'an untyped object';
		return [`The boundary must be a Polygon or MultiPolygon, not ${given}.`];
	}
	if (!Array.isArray(coordinates) || coordinates.length === 0) return [`The ${type} has no coordinates.`];

	const problems: string[] = [];
	if (type === 'Polygon') {
		checkPolygon(coordinates, 'The polygon', problems);
	} else {
		coordinates.forEach((polygon, p) => checkPolygon(polygon, `Polygon ${p + 1}`, problems));
	}
	return problems;
}

function checkPolygon(polygon: unknown, label: string, problems: string[]): void {
	if (!Array.isArray(polygon) || polygon.length === 0) {
		problems.push(`${label} has no rings.`);
		return;
	}
	polygon.forEach((ring, r) => {
		const name = `${label}, ${r === 0 ? 'outer ring' : `hole ${r}`}`;
		if (!Array.isArray(ring)) {
			problems.push(`${name} is not a list of positions.`);
			return;
		}
		checkRing(ring, name, problems);
	});
}

function checkRing(ring: unknown[], name: string, problems: string[]): void {
	if (ring.length < 4) {
		problems.push(`${name} has ${ring.length} positions; a ring needs at least 4 (3 corners and the first repeated).`);
	}
	// One message per kind of problem per ring: a file with 10 000 bad points should not produce 10 000 lines.
	let badPosition = -1;
	let nonFinite = -1;
	let lngRange = -1;
	let latRange = -1;
	let wideEdge = -1;
	ring.forEach((pos, i) => {
		if (!Array.isArray(pos) || pos.length < 2) {
			if (badPosition < 0) badPosition = i;
			return;
		}
		const [lng, lat] = pos as unknown[];
		if (typeof lng !== 'number' || typeof lat !== 'number' || !Number.isFinite(lng) || !Number.isFinite(lat)) {
			if (nonFinite < 0) nonFinite = i;
			return;
		}
		if ((lng < -180 || lng > 180) && lngRange < 0) lngRange = i;
		if ((lat < -90 || lat > 90) && latRange < 0) latRange = i;
		const prev = ring[i - 1];
		if (i > 0 && isLngLat(prev) && Math.abs(lng - prev[0]) > 180 && wideEdge < 0) wideEdge = i;
	});
	if (badPosition >= 0) problems.push(`${name}: position ${badPosition + 1} is not a [longitude, latitude] pair.`);
	if (nonFinite >= 0) problems.push(`${name}: position ${nonFinite + 1} has a coordinate that is not a finite number.`);
	if (lngRange >= 0) {
		problems.push(
			`${name}: position ${lngRange + 1} has a longitude outside -180…180 (are longitude and latitude swapped?).`
		);
	}
	if (latRange >= 0) {
		problems.push(
			`${name}: position ${latRange + 1} has a latitude outside -90…90 (are longitude and latitude swapped?).`
		);
	}
	if (wideEdge >= 0) {
		problems.push(
			`${name}: the edge ending at position ${wideEdge + 1} spans more than 180° of longitude; ` +
				'split boundaries that cross the antimeridian (RFC 7946 §3.1.9).'
		);
	}
	const first = ring[0];
	const last = ring[ring.length - 1];
	if (ring.length >= 2 && isLngLat(first) && isLngLat(last) && (first[0] !== last[0] || first[1] !== last[1])) {
		problems.push(`${name} is not closed: its last position must repeat its first.`);
	}
}

function isObject(x: unknown): x is Record<string, unknown> {
	return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isLngLat(x: unknown): x is Position {
	return Array.isArray(x) && x.length >= 2 && Number.isFinite(x[0]) && Number.isFinite(x[1]);
}
