// The validation report shown before an import is saved: what is wrong with the boundaries, in words an admin can
// act on (zh + en). Errors block saving; warnings are shown and may be accepted.
// Checks: ring structure (reuses validateBoundary), self-intersection (./self-intersections, a segment index),
// missing names and bad or repeated division codes, overlaps between villages and gaps between them (@turf/intersect,
// @turf/union), features far from the township, and the questions the admin must answer before saving (closed lines
// read as areas, a likely GCJ-02 file). Pure.

import area from '@turf/area';
import { featureCollection, polygon as turfPolygon, multiPolygon as turfMultiPolygon } from '@turf/helpers';
import intersect from '@turf/intersect';
import union from '@turf/union';
import RBush from 'rbush';
import type { Feature, MultiPolygon, Polygon, Position } from 'geojson';
import { bboxRect, type Rect } from './bbox';
import { labelPoint } from './label-point';
import { IMPORT_LIMITS, SIMPLIFY_HINT } from './limits';
import { validateBoundary, type Boundary } from './point-in-polygon';
import { selfIntersections } from './self-intersections';

export interface ReportItem {
	level: 'error' | 'warning' | 'info';
	/** Stable machine name of the check, for tests and styling. */
	check:
		| 'structure'
		| 'self_intersection'
		| 'missing_name'
		| 'code'
		| 'duplicate'
		| 'overlap'
		| 'gap'
		| 'far'
		| 'skipped'
		| 'shapefile_parts'
		| 'closed_lines'
		| 'gcj02';
	/** 1-based feature numbers in the file this item is about. */
	features: number[];
	/** Where to look, WGS-84 [lng, lat]. */
	at?: [number, number];
	zh: string;
	en: string;
	/** A question the admin must answer (tick) before the import can be saved. */
	ask?: { zh: string; en: string };
	/** Another reading of the same file the admin may preview instead (set by the server when it stages one). */
	alternative?: { crs: string; importId?: number };
}

export interface ReportVillage {
	index: number;
	name: string | null;
	code: string | null;
	geometry: Boundary;
}

export interface ReportOptions {
	/** The township's extent (its boundary or its current villages), WGS-84 [minLng, minLat, maxLng, maxLat]. */
	township?: [number, number, number, number] | null;
	/** How far outside the township a village may lie before it is reported, metres. */
	farMetres?: number;
	/** Overlaps and gaps smaller than this are digitising noise, square metres. */
	minAreaM2?: number;
	/** Features in the file that were not polygons. */
	skipped?: number;
	/** Features that were closed lines, read as areas. */
	closedLines?: readonly number[];
	/** Members of a zipped Shapefile that are missing (e.g. 'cunjie.dbf'). */
	missingParts?: readonly string[];
	/** Why the file looks like GCJ-02 although it is read as WGS-84. */
	gcj02?: { zh: string; en: string } | null;
}

export function importReport(villages: readonly ReportVillage[], options: ReportOptions = {}): ReportItem[] {
	const minArea = options.minAreaM2 ?? 100;
	const items: ReportItem[] = [];
	const who = (v: ReportVillage) => (v.name ? `${v.name}（第${v.index}个）` : `第${v.index}个要素`);
	const whoEn = (v: ReportVillage) => (v.name ? `${v.name} (feature ${v.index})` : `feature ${v.index}`);

	if (options.skipped) {
		items.push({
			level: 'info',
			check: 'skipped',
			features: [],
			zh: `跳过了 ${options.skipped} 个点或线要素（只导入面）。`,
			en: `${options.skipped} point or line features were skipped (only areas are imported).`
		});
	}

	const missing = options.missingParts ?? [];
	const dbfMissing = missing.find((m) => /\.dbf$/i.test(m));
	if (missing.length > 0) {
		const why: Record<string, [string, string]> = {
			dbf: ['属性表，村名和区划代码都在里面', 'the attribute table with the names and codes'],
			prj: ['坐标系说明，已根据坐标数值推断', 'the coordinate system; guessed from the numbers'],
			shx: ['图形索引，导入不需要', 'the shape index; not needed here'],
			cpg: ['字符编码，已自动识别', 'the text encoding; detected']
		};
		const ext = (m: string) => m.slice(m.lastIndexOf('.') + 1).toLowerCase();
		items.push({
			level: dbfMissing ? 'error' : 'info',
			check: 'shapefile_parts',
			features: [],
			zh: `Shapefile 缺少 ${missing.map((m) => `${m}（${why[ext(m)]?.[0] ?? ''}）`).join('、')}${dbfMissing ? `：请把 ${dbfMissing} 和 .shp 一起打包后重新上传。` : '。'}`,
			en: `The Shapefile lacks ${missing.map((m) => `${m} (${why[ext(m)]?.[1] ?? ''})`).join(', ')}${dbfMissing ? `: zip ${dbfMissing} together with the .shp and upload again.` : '.'}`
		});
	}
	if (options.closedLines?.length) {
		const n = options.closedLines.length;
		items.push({
			level: 'warning',
			check: 'closed_lines',
			features: [...options.closedLines],
			zh: `${n} 个村界是闭合的线（第${options.closedLines.join('、')}个，Google Earth/奥维的“路径”画法），已按面读取。`,
			en: `${n} boundaries are closed lines (features ${options.closedLines.join(', ')}, drawn with the Google Earth/Ovital path tool); they are read as areas.`,
			ask: { zh: '把这些闭合的线作为村界（面）保存', en: 'Save these closed lines as village areas' }
		});
	}
	if (options.gcj02) {
		items.push({
			level: 'warning',
			check: 'gcj02',
			features: [],
			zh: `${options.gcj02.zh}现在按WGS-84读取；如果是GCJ-02，请改按GCJ-02预览。`,
			en: `${options.gcj02.en} It is read as WGS-84 now; if it is GCJ-02, preview it as GCJ-02 instead.`,
			ask: { zh: '我确认坐标是WGS-84/CGCS2000，不是高德GCJ-02', en: 'I confirm the coordinates are WGS-84/CGCS2000, not AMap GCJ-02' },
			alternative: { crs: 'gcj02' }
		});
	}

	const usable: ReportVillage[] = [];
	for (const v of villages) {
		const problems = validateBoundary(v.geometry);
		if (problems.length > 0) {
			items.push({
				level: 'error',
				check: 'structure',
				features: [v.index],
				zh: `${who(v)} 的边界无效：${problems.join(' ')}`,
				en: `${whoEn(v)} has an invalid boundary: ${problems.join(' ')}`
			});
			continue;
		}
		const crossings = selfIntersections(v.geometry).points;
		if (crossings.length > 0) {
			const at = crossings[0];
			items.push({
				level: 'error',
				check: 'self_intersection',
				features: [v.index],
				at,
				zh: `${who(v)} 的边界自相交（${crossings.length} 处，第一处在 ${fmt(at)} 附近）：边线不能交叉成“8”字形。`,
				en: `${whoEn(v)} crosses itself (${crossings.length} place(s), first near ${fmt(at)}): the outline must not cross over itself like a figure 8.`
			});
			continue;
		}
		usable.push(v);
	}

	for (const v of villages) {
		// A missing .dbf is said once above, not once per feature.
		if (!v.name && !dbfMissing) {
			items.push({
				level: 'error',
				check: 'missing_name',
				features: [v.index],
				zh: `第${v.index}个要素没有村名：请在文件的名称字段（如 name、名称、XZQMC）里填上。`,
				en: `Feature ${v.index} has no village name: fill in the name field (e.g. name, 名称, XZQMC) in the file.`
			});
		}
	}
	const byName = groupBy(villages.filter((v) => v.name), (v) => v.name as string);
	for (const [name, same] of byName) {
		if (same.length > 1) {
			items.push({
				level: 'warning',
				check: 'duplicate',
				features: same.map((v) => v.index),
				zh: `村名“${name}”出现了 ${same.length} 次（第${same.map((v) => v.index).join('、')}个）：如果是同一个村的几块，请合并成一个多面。`,
				en: `The name “${name}” appears ${same.length} times (features ${same.map((v) => v.index).join(', ')}): if these are parts of one village, merge them into one multipolygon.`
			});
		}
	}
	const byCode = groupBy(villages.filter((v) => v.code), (v) => v.code as string);
	for (const [code, same] of byCode) {
		if (same.length > 1) {
			items.push({
				level: 'error',
				check: 'code',
				features: same.map((v) => v.index),
				zh: `区划代码 ${code} 重复（第${same.map((v) => v.index).join('、')}个）：每个村的代码必须唯一。`,
				en: `Division code ${code} is repeated (features ${same.map((v) => v.index).join(', ')}): each village's code must be unique.`
			});
		}
	}

	items.push(...overlaps(usable, minArea, who, whoEn));
	items.push(...gaps(usable, minArea));
	if (options.township) items.push(...farOutside(usable, options.township, options.farMetres ?? 5000, who, whoEn));
	return items;
}

export function hasErrors(items: readonly ReportItem[]): boolean {
	return items.some((i) => i.level === 'error');
}

function overlaps(
	villages: ReportVillage[],
	minArea: number,
	who: (v: ReportVillage) => string,
	whoEn: (v: ReportVillage) => string
): ReportItem[] {
	const tree = new RBush<{ minX: number; minY: number; maxX: number; maxY: number; v: ReportVillage }>();
	tree.load(villages.map((v) => ({ ...bboxRect(v.geometry), v })));
	const out: ReportItem[] = [];
	for (const a of villages) {
		for (const { v: b } of tree.search(bboxRect(a.geometry))) {
			if (b.index <= a.index) continue;
			let shared: Feature<Polygon | MultiPolygon> | null = null;
			// The overlap lies inside both boxes: clip both to their common box first, so a detailed village is
			// intersected only along the stretch it shares with its neighbour, not with all its vertices.
			const box = commonBox(bboxRect(a.geometry), bboxRect(b.geometry));
			if (!box) continue;
			const ca = clipToBox(a.geometry, box);
			const cb = clipToBox(b.geometry, box);
			if (!ca || !cb) continue;
			try {
				shared = intersect(featureCollection([asFeature(ca), asFeature(cb)]));
			} catch {
				continue;
			}
			if (!shared) continue;
			const m2 = area(shared);
			if (m2 < minArea) continue;
			const at = labelPoint(shared.geometry);
			out.push({
				level: 'warning',
				check: 'overlap',
				features: [a.index, b.index],
				at,
				zh: `${who(a)} 与 ${who(b)} 重叠约 ${round(m2)} 平方米（在 ${fmt(at)} 附近）：重叠处的报警会派给编号小的村。`,
				en: `${whoEn(a)} and ${whoEn(b)} overlap by about ${round(m2)} m² (near ${fmt(at)}): alarms there go to the village with the lower number.`
			});
		}
	}
	return out;
}

/** Holes in the union of all villages that no village fills: land inside the township that nobody answers for. */
function gaps(villages: ReportVillage[], minArea: number): ReportItem[] {
	if (villages.length < 2) return [];
	const vertices = villages.reduce((n, v) => n + countVertices(v.geometry), 0);
	if (vertices > IMPORT_LIMITS.gapCheckVertices) {
		const max = IMPORT_LIMITS.gapCheckVertices.toLocaleString('en');
		return [
			{
				level: 'info',
				check: 'gap',
				features: [],
				zh: `文件有 ${vertices.toLocaleString('en')} 个顶点，超过 ${max}，没有检查村界之间的空隙。${SIMPLIFY_HINT.zh}`,
				en: `The file has ${vertices.toLocaleString('en')} vertices, more than ${max}: gaps between villages were not checked. ${SIMPLIFY_HINT.en}`
			}
		];
	}
	let merged: Feature<Polygon | MultiPolygon> | null = null;
	try {
		merged = union(featureCollection(villages.map((v) => asFeature(v.geometry))));
	} catch {
		return [];
	}
	if (!merged) return [];
	const polys = merged.geometry.type === 'Polygon' ? [merged.geometry.coordinates] : merged.geometry.coordinates;
	const out: ReportItem[] = [];
	for (const poly of polys) {
		for (const hole of poly.slice(1)) {
			const g: Polygon = { type: 'Polygon', coordinates: [hole] };
			const m2 = area(g);
			if (m2 < minArea) continue;
			const at = labelPoint(g);
			out.push({
				level: 'warning',
				check: 'gap',
				features: [],
				at,
				zh: `村界之间有一块约 ${round(m2)} 平方米的空隙（在 ${fmt(at)} 附近），不属于任何村：那里的报警会交给值班室。`,
				en: `There is a gap of about ${round(m2)} m² between villages (near ${fmt(at)}) that belongs to no village: alarms there go to the duty room.`
			});
		}
	}
	return out;
}

function farOutside(
	villages: ReportVillage[],
	town: [number, number, number, number],
	farMetres: number,
	who: (v: ReportVillage) => string,
	whoEn: (v: ReportVillage) => string
): ReportItem[] {
	const out: ReportItem[] = [];
	for (const v of villages) {
		const at = labelPoint(v.geometry);
		const d = distanceToBox(at, town);
		if (d <= farMetres) continue;
		out.push({
			level: 'warning',
			check: 'far',
			features: [v.index],
			at,
			zh: `${who(v)} 在本镇范围外约 ${(d / 1000).toFixed(1)} 公里：坐标系是否选对了？（高德/百度取点要选GCJ-02/BD-09，高斯坐标要选对中央经线。）`,
			en: `${whoEn(v)} lies about ${(d / 1000).toFixed(1)} km outside the township: is the coordinate system right? (AMap/Baidu picks need GCJ-02/BD-09; Gauss-Krüger needs the right central meridian.)`
		});
	}
	return out;
}

/** Metres from a point to a lng/lat box (0 inside), on a local equirectangular approximation — fine at township scale. */
function distanceToBox(p: [number, number], [minX, minY, maxX, maxY]: [number, number, number, number]): number {
	const dx = p[0] < minX ? minX - p[0] : p[0] > maxX ? p[0] - maxX : 0;
	const dy = p[1] < minY ? minY - p[1] : p[1] > maxY ? p[1] - maxY : 0;
	const metresPerDeg = 111_320;
	return Math.hypot(dx * metresPerDeg * Math.cos((p[1] * Math.PI) / 180), dy * metresPerDeg);
}

function countVertices(g: Boundary): number {
	const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
	let n = 0;
	for (const p of polys) for (const r of p) n += r.length;
	return n;
}

function commonBox(a: Rect, b: Rect): Rect | null {
	const box = { minX: Math.max(a.minX, b.minX), minY: Math.max(a.minY, b.minY), maxX: Math.min(a.maxX, b.maxX), maxY: Math.min(a.maxY, b.maxY) };
	return box.minX < box.maxX && box.minY < box.maxY ? box : null;
}

/**
 * The part of a polygon inside an axis-aligned box (Sutherland–Hodgman, one pass per side; exact for a convex clip
 * window). Where the clipped area falls apart, the pieces stay joined by zero-width seams along the box's edge,
 * which add no area to an intersection.
 */
export function clipToBox(g: Boundary, box: Rect): Boundary | null {
	const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
	const out: Position[][][] = [];
	for (const poly of polys) {
		const outer = poly[0] ? clipRing(poly[0], box) : [];
		if (outer.length < 4) continue;
		const holes = poly.slice(1).map((h) => clipRing(h, box)).filter((h) => h.length >= 4);
		out.push([outer, ...holes]);
	}
	if (out.length === 0) return null;
	return out.length === 1 ? { type: 'Polygon', coordinates: out[0] } : { type: 'MultiPolygon', coordinates: out };
}

function clipRing(ring: Position[], box: Rect): Position[] {
	const open = ring.length > 1 && ring[0][0] === ring[ring.length - 1][0] && ring[0][1] === ring[ring.length - 1][1] ? ring.slice(0, -1) : ring;
	let pts: Position[] = open;
	const sides: [(p: Position) => boolean, (p: Position, q: Position) => Position][] = [
		[(p) => p[0] >= box.minX, (p, q) => atX(p, q, box.minX)],
		[(p) => p[0] <= box.maxX, (p, q) => atX(p, q, box.maxX)],
		[(p) => p[1] >= box.minY, (p, q) => atY(p, q, box.minY)],
		[(p) => p[1] <= box.maxY, (p, q) => atY(p, q, box.maxY)]
	];
	for (const [inside, cut] of sides) {
		if (pts.length === 0) break;
		const next: Position[] = [];
		for (let i = 0; i < pts.length; i++) {
			const p = pts[i];
			const prev = pts[(i + pts.length - 1) % pts.length];
			const pin = inside(p);
			if (pin !== inside(prev)) next.push(cut(prev, p));
			if (pin) next.push(p);
		}
		pts = next;
	}
	if (pts.length < 3) return [];
	return [...pts, pts[0]];
}

function atX(p: Position, q: Position, x: number): Position {
	return [x, p[1] + ((q[1] - p[1]) * (x - p[0])) / (q[0] - p[0])];
}

function atY(p: Position, q: Position, y: number): Position {
	return [p[0] + ((q[0] - p[0]) * (y - p[1])) / (q[1] - p[1]), y];
}

function asFeature(g: Boundary): Feature<Polygon | MultiPolygon> {
	return g.type === 'Polygon' ? turfPolygon(g.coordinates) : turfMultiPolygon(g.coordinates);
}

function groupBy<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
	const m = new Map<string, T[]>();
	for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
	return m;
}

function fmt(p: Position): string {
	return `${p[0].toFixed(5)}, ${p[1].toFixed(5)}`;
}

function round(m2: number): string {
	return m2 >= 10_000 ? String(Math.round(m2 / 100) * 100) : String(Math.round(m2));
}
