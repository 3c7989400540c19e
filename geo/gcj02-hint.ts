// Signs that longitude-latitude read as WGS-84 is really GCJ-02 (the offset system of AMap, Tencent and DataV),
// which lands a boundary 300–700 m off with nothing to see in the numbers themselves. Two signs:
//   1. properties that only AMap's district API and DataV.GeoAtlas write (adcode with center / centroid / parent /
//      acroutes, as in https://geo.datav.aliyun.com/areas_v3/bound/{adcode}_full.json);
//   2. the file's vertices fit the township's known lines (villages, outline) better after undoing the GCJ-02 offset.
// A hint, never a silent conversion: the admin is asked. Pure.

import Flatbush from 'flatbush';
import type { Position } from 'geojson';
import { toWgs84 } from './crs';
import type { Boundary } from './point-in-polygon';

export interface Gcj02Hint {
	reason: 'properties' | 'known_features';
	zh: string;
	en: string;
}

const DATAV_KEYS = ['center', 'centroid', 'parent', 'acroutes', 'childrenNum', 'subFeatureIndex'];

export function gcj02Hint(
	features: readonly { properties: Record<string, unknown>; geometry: Boundary }[],
	known: readonly Position[]
): Gcj02Hint | null {
	const datav = features.filter((f) => 'adcode' in f.properties && DATAV_KEYS.some((k) => k in f.properties)).length;
	if (datav > 0 && datav * 2 >= features.length) {
		return {
			reason: 'properties',
			zh: `文件带有高德/DataV 的属性（adcode、center、parent 等，${datav} 个要素）：这类数据是GCJ-02坐标，按WGS-84读会偏移约300–700米。`,
			en: `The file carries AMap/DataV properties (adcode, center, parent …, ${datav} features): such data is GCJ-02, and read as WGS-84 it lands about 300–700 m off.`
		};
	}
	const fit = offsetFit(features, known);
	if (fit && fit.asIs > 150 && fit.shifted < fit.asIs / 3) {
		return {
			reason: 'known_features',
			zh: `文件与本镇已有村界相差约 ${Math.round(fit.asIs)} 米，按GCJ-02（高德坐标）换算后只差约 ${Math.round(fit.shifted)} 米：很可能是在高德/腾讯地图上取的点。`,
			en: `The file lies about ${Math.round(fit.asIs)} m from the township's existing boundaries, but only about ${Math.round(fit.shifted)} m once converted from GCJ-02 (AMap): it was most likely picked on AMap/Tencent.`
		};
	}
	return null;
}

/** Median metres from a sample of the file's vertices to the nearest known vertex: as they are, and GCJ-02-corrected. */
export function offsetFit(
	features: readonly { geometry: Boundary }[],
	known: readonly Position[]
): { asIs: number; shifted: number } | null {
	if (known.length < 3) return null;
	const sample = sampleVertices(features, 400);
	if (sample.length < 3) return null;
	const index = new Flatbush(known.length);
	for (const [x, y] of known) index.add(x, y, x, y);
	index.finish();
	const convert = toWgs84('gcj02');
	const nearest = (p: Position) => {
		const [i] = index.neighbors(p[0], p[1], 1);
		return metres(p, known[i]);
	};
	return { asIs: median(sample.map(nearest)), shifted: median(sample.map((p) => nearest(convert(p)))) };
}

function sampleVertices(features: readonly { geometry: Boundary }[], max: number): Position[] {
	const all: Position[] = [];
	for (const f of features) {
		const polys = f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates;
		for (const p of polys) for (const pos of p?.[0] ?? []) if (Number.isFinite(pos[0]) && Number.isFinite(pos[1])) all.push(pos);
	}
	if (all.length <= max) return all;
	const step = all.length / max;
	return Array.from({ length: max }, (_, i) => all[Math.floor(i * step)]);
}

function metres(a: Position, b: Position): number {
	const k = 111_320;
	return Math.hypot((a[0] - b[0]) * k * Math.cos((a[1] * Math.PI) / 180), (a[1] - b[1]) * k);
}

function median(xs: number[]): number {
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.floor(s.length / 2)];
}
