// The validation report shown before an import is saved: what is wrong with the boundaries, in words an admin can
// act on (zh + en). Errors block saving; warnings are shown and may be accepted.
// Checks: ring structure (reuses validateBoundary), self-intersection (@turf/kinks), missing names and bad or
// repeated division codes, overlaps between villages and gaps between them (@turf/intersect, @turf/union), and
// features far from the township. Pure.

import area from '@turf/area';
import { featureCollection, polygon as turfPolygon, multiPolygon as turfMultiPolygon } from '@turf/helpers';
import intersect from '@turf/intersect';
import kinks from '@turf/kinks';
import union from '@turf/union';
import RBush from 'rbush';
import type { Feature, MultiPolygon, Polygon, Position } from 'geojson';
import { labelPoint } from './label-point';
import { validateBoundary, type Boundary } from './point-in-polygon';

export interface ReportItem {
	level: 'error' | 'warning' | 'info';
	/** Stable machine name of the check, for tests and styling. */
	check: 'structure' | 'self_intersection' | 'missing_name' | 'code' | 'duplicate' | 'overlap' | 'gap' | 'far' | 'skipped';
	/** 1-based feature numbers in the file this item is about. */
	features: number[];
	/** Where to look, WGS-84 [lng, lat]. */
	at?: [number, number];
	zh: string;
	en: string;
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
		const crossings = kinks(asFeature(v.geometry)).features;
		if (crossings.length > 0) {
			const at = crossings[0].geometry.coordinates as [number, number];
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
		if (!v.name) {
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
	tree.load(villages.map((v) => ({ ...bounds(v.geometry), v })));
	const out: ReportItem[] = [];
	for (const a of villages) {
		for (const { v: b } of tree.search(bounds(a.geometry))) {
			if (b.index <= a.index) continue;
			let shared: Feature<Polygon | MultiPolygon> | null = null;
			try {
				shared = intersect(featureCollection([asFeature(a.geometry), asFeature(b.geometry)]));
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

export function bounds(g: Boundary): { minX: number; minY: number; maxX: number; maxY: number } {
	let minX = Infinity;
	let minY = Infinity;
	let maxX = -Infinity;
	let maxY = -Infinity;
	const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
	for (const p of polys)
		for (const [x, y] of p[0] ?? []) {
			minX = Math.min(minX, x);
			minY = Math.min(minY, y);
			maxX = Math.max(maxX, x);
			maxY = Math.max(maxY, y);
		}
	return { minX, minY, maxX, maxY };
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
