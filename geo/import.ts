// Village boundary files as people in a township actually have them — GeoJSON (often picked on AMap), KML/KMZ
// (奥维互动地图, Google Earth), zipped Shapefiles from the land bureau — read into WGS-84 polygons with a name and a
// division code. Conversion of coordinates is in ./crs; the plain-words checks are in ./import-report.
// Pure: bytes in, data out; no file system, no database, no browser DOM (xmldom parses the KML).

import { kml } from '@tmcw/togeojson';
import { DOMParser } from '@xmldom/xmldom';
import { iter } from 'but-unzip';
import { parseDbf, parseShp } from 'shpjs';
import type { Feature, Geometry, MultiPolygon, Polygon, Position } from 'geojson';
import { crsFromPrj, guessCrsFromCoordinates, toWgs84, type CrsGuess, type CrsId } from './crs';
import type { Boundary } from './point-in-polygon';

/** Files above this are refused before any parsing: a township's villages fit in a few megabytes. */
export const MAX_IMPORT_BYTES = 20 * 1024 * 1024;
/** Decompressed bytes read out of a zip at most (a zip bomb must not fill memory). */
export const MAX_UNZIPPED_BYTES = 100 * 1024 * 1024;
export const MAX_FEATURES = 2000;

export type ImportFormat = 'geojson' | 'kml' | 'kmz' | 'shapefile';

/** An error the admin can act on, in both languages. */
export class ImportError extends Error {
	constructor(
		readonly zh: string,
		readonly en: string
	) {
		super(en);
		this.name = 'ImportError';
	}
}

export interface SourceFeature {
	/** 1-based position in the file, as the admin would count. */
	index: number;
	properties: Record<string, unknown>;
	geometry: Boundary;
}

export interface ImportedVillage {
	index: number;
	name: string | null;
	/** A 12-digit 统计用区划代码 when the file carries one (a 19-digit 坐落单位代码 is cut to its village part). */
	code: string | null;
	/** WGS-84 [lng, lat]. */
	geometry: Boundary;
	properties: Record<string, unknown>;
}

export interface ParsedFile {
	format: ImportFormat;
	features: SourceFeature[];
	/** Features that were not polygons (points, lines), counted so the report can say so. */
	skipped: number;
	/** A Shapefile's .prj text, if it had one. */
	prj: string | null;
}

export interface ImportResult extends ParsedFile {
	crs: CrsId;
	crsWhy: { zh: string; en: string };
	villages: ImportedVillage[];
}

export type CrsChoice = CrsId | 'auto';

/** Which format the bytes hold, by content first (names lie), then by name. */
export function detectFormat(bytes: Uint8Array, fileName: string): ImportFormat {
	const lower = fileName.toLowerCase();
	if (bytes[0] === 0x50 && bytes[1] === 0x4b) return lower.endsWith('.kmz') ? 'kmz' : 'shapefile';
	const head = new TextDecoder().decode(bytes.subarray(0, 512)).replace(/^\uFEFF/, '').trimStart();
	if (head.startsWith('<')) return 'kml';
	if (head.startsWith('{')) return 'geojson';
	if (lower.endsWith('.zip') || lower.endsWith('.kmz')) {
		throw new ImportError('压缩文件已损坏，无法打开。', 'The zip file is damaged and cannot be opened.');
	}
	throw new ImportError(
		'无法识别文件格式：请上传 GeoJSON、KML/KMZ 或打包成 .zip 的 Shapefile（含 .shp .dbf .prj）。',
		'Unrecognised file: upload GeoJSON, KML/KMZ, or a Shapefile zipped with its .shp, .dbf and .prj.'
	);
}

/** Read the file into polygons in its own coordinates. Throws ImportError with plain words for bad files. */
export async function parseBoundaryFile(bytes: Uint8Array, fileName: string): Promise<ParsedFile> {
	if (bytes.byteLength > MAX_IMPORT_BYTES) {
		throw new ImportError(
			`文件太大（${mb(bytes.byteLength)} MB），上限是 ${mb(MAX_IMPORT_BYTES)} MB。一个乡镇的村界通常只有几MB，请检查是否导出了整个县或带了影像。`,
			`The file is too large (${mb(bytes.byteLength)} MB); the limit is ${mb(MAX_IMPORT_BYTES)} MB. A township's village boundaries are usually a few MB — check that the export is not a whole county or includes imagery.`
		);
	}
	if (bytes.byteLength === 0) throw new ImportError('文件是空的。', 'The file is empty.');
	const format = detectFormat(bytes, fileName);
	if (format === 'geojson') return collect('geojson', parseGeoJson(bytes), null);
	if (format === 'kml') return collect('kml', parseKml(new TextDecoder().decode(bytes)), null);
	const entries = await unzipEntries(bytes);
	if (format === 'kmz') {
		const doc = [...entries.keys()].find((k) => k.toLowerCase().endsWith('.kml'));
		if (!doc) throw new ImportError('KMZ 中没有 .kml 文件。', 'The KMZ holds no .kml file.');
		return collect('kmz', parseKml(new TextDecoder().decode(entries.get(doc))), null);
	}
	return parseShapefileZip(entries);
}

/** Parse, choose the coordinate system (given, or detected), convert to WGS-84, pick names and codes. */
export async function importBoundaries(
	bytes: Uint8Array,
	fileName: string,
	options: { crs?: CrsChoice; nearLng?: number } = {}
): Promise<ImportResult> {
	const parsed = await parseBoundaryFile(bytes, fileName);
	const guess = chooseCrs(parsed, options.crs ?? 'auto', options.nearLng);
	if (!guess.crs) throw new ImportError(`无法确定坐标系：${guess.why.zh}`, `Cannot tell the coordinate system: ${guess.why.en}`);
	const convert = toWgs84(guess.crs);
	const nameKey = pickKey(parsed.features, NAME_KEYS);
	const codeKey = pickKey(parsed.features, CODE_KEYS);
	const villages = parsed.features.map((f) => ({
		index: f.index,
		name: text(f.properties[nameKey ?? '']),
		code: divisionCode(f.properties[codeKey ?? '']),
		geometry: mapGeometry(f.geometry, convert),
		properties: f.properties
	}));
	return { ...parsed, crs: guess.crs, crsWhy: guess.why, villages };
}

function chooseCrs(parsed: ParsedFile, choice: CrsChoice, nearLng?: number): CrsGuess {
	if (choice !== 'auto') return { crs: choice, why: { zh: '由管理员选择', en: 'chosen by the admin' } };
	if (parsed.format === 'kml' || parsed.format === 'kmz') {
		// OGC KML 2.2 §6.2: coordinates are always WGS-84 longitude, latitude.
		return {
			crs: 'wgs84',
			why: { zh: 'KML 规定使用WGS-84经纬度', en: 'KML is always WGS-84 longitude-latitude (OGC KML 2.2)' }
		};
	}
	if (parsed.prj) {
		const fromPrj = crsFromPrj(parsed.prj);
		if (fromPrj.crs || fromPrj.refused) return fromPrj;
	}
	return guessCrsFromCoordinates(samplePositions(parsed.features), nearLng);
}

function parseGeoJson(bytes: Uint8Array): Feature[] {
	let data: unknown;
	try {
		data = JSON.parse(new TextDecoder().decode(bytes).replace(/^\uFEFF/, ''));
	} catch (e) {
		throw new ImportError(
			`GeoJSON 不是有效的JSON：${(e as Error).message}`,
			`The GeoJSON is not valid JSON: ${(e as Error).message}`
		);
	}
	if (!isObject(data)) throw new ImportError('GeoJSON 顶层必须是对象。', 'The GeoJSON must be an object at the top level.');
	if (data.type === 'FeatureCollection' && Array.isArray(data.features)) return data.features as Feature[];
	if (data.type === 'Feature') return [data as unknown as Feature];
	if (typeof data.type === 'string' && 'coordinates' in data) {
		return [{ type: 'Feature', properties: {}, geometry: data as unknown as Geometry }];
	}
	throw new ImportError(
		'GeoJSON 既不是 FeatureCollection，也不是 Feature 或几何对象。',
		'The GeoJSON is not a FeatureCollection, a Feature or a geometry.'
	);
}

function parseKml(xml: string): Feature<Geometry | null>[] {
	const errors: string[] = [];
	let doc: ReturnType<DOMParser['parseFromString']> | null = null;
	try {
		doc = new DOMParser({
			onError: (level, message) => {
				if (level !== 'warning') errors.push(message);
			}
		}).parseFromString(xml, 'text/xml');
	} catch (e) {
		errors.push((e as Error).message);
	}
	if (errors.length > 0 || !doc?.documentElement) {
		throw new ImportError(`KML 不是有效的XML：${errors[0] ?? ''}`, `The KML is not valid XML: ${errors[0] ?? ''}`);
	}
	return kml(doc).features;
}

async function unzipEntries(bytes: Uint8Array): Promise<Map<string, Uint8Array>> {
	const out = new Map<string, Uint8Array>();
	let total = 0;
	if (!hasZipDirectory(bytes)) {
		throw new ImportError('压缩文件已损坏，无法打开。', 'The zip file is damaged and cannot be opened.');
	}
	try {
		for (const entry of iter(bytes)) {
			if (entry.filename.includes('__MACOSX') || !/\.(shp|dbf|prj|cpg|kml)$/i.test(entry.filename)) continue;
			const data = await entry.read();
			total += data.byteLength;
			if (total > MAX_UNZIPPED_BYTES) {
				throw new ImportError(
					`压缩包解压后超过 ${mb(MAX_UNZIPPED_BYTES)} MB，已拒绝。`,
					`The zip unpacks to more than ${mb(MAX_UNZIPPED_BYTES)} MB; refused.`
				);
			}
			out.set(entry.filename, data);
		}
	} catch (e) {
		if (e instanceof ImportError) throw e;
		throw new ImportError('压缩文件已损坏，无法打开。', 'The zip file is damaged and cannot be opened.');
	}
	return out;
}

/**
 * The zip's end-of-central-directory record (APPNOTE.TXT §4.3.16) is present and points inside the file. Checked
 * before but-unzip runs: its backwards search for the record never ends on a small file that lacks one (but-unzip
 * 0.1.10, a truncated download).
 */
function hasZipDirectory(bytes: Uint8Array): boolean {
	const stop = Math.max(0, bytes.length - 22 - 65_535);
	for (let i = bytes.length - 22; i >= stop; i--) {
		if (bytes[i] === 0x50 && bytes[i + 1] === 0x4b && bytes[i + 2] === 0x05 && bytes[i + 3] === 0x06) {
			const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
			const size = dv.getUint32(i + 12, true);
			const offset = dv.getUint32(i + 16, true);
			return offset + size <= i;
		}
	}
	return false;
}

function parseShapefileZip(entries: Map<string, Uint8Array>): ParsedFile {
	const find = (base: string, ext: string) =>
		[...entries.keys()].find((k) => k.toLowerCase() === `${base}.${ext}`.toLowerCase());
	const shps = [...entries.keys()].filter((k) => k.toLowerCase().endsWith('.shp'));
	if (shps.length === 0) {
		throw new ImportError(
			'压缩包里没有 .shp 文件：请把同名的 .shp、.dbf、.prj 一起打包。',
			'The zip holds no .shp file: zip the .shp, .dbf and .prj of one layer together.'
		);
	}
	if (shps.length > 1) {
		throw new ImportError(
			`压缩包里有 ${shps.length} 个图层（${shps.join('、')}），请只打包村界那一个。`,
			`The zip holds ${shps.length} layers (${shps.join(', ')}); zip only the village boundary layer.`
		);
	}
	const base = shps[0].slice(0, -4);
	const shp = entries.get(shps[0]) as Uint8Array;
	const dbfName = find(base, 'dbf');
	const prjName = find(base, 'prj');
	const cpgName = find(base, 'cpg');
	const prj = prjName ? new TextDecoder().decode(entries.get(prjName)) : null;
	let geometries: Geometry[];
	try {
		// No .prj handed to shpjs: we convert ourselves, so that the CRS is reported and can be overridden.
		geometries = parseShp(view(shp));
	} catch {
		throw new ImportError('.shp 文件已损坏，无法读取。', 'The .shp file is damaged and cannot be read.');
	}
	let rows: Record<string, unknown>[] = [];
	if (dbfName) {
		const dbf = entries.get(dbfName) as Uint8Array;
		// Chinese land-bureau DBFs are usually GBK and often ship without a .cpg; sniff when it is missing.
		const cpg = cpgName ? new TextDecoder().decode(entries.get(cpgName)).trim() : isUtf8(dbf) ? 'utf-8' : 'gbk';
		try {
			rows = parseDbf(view(dbf), cpgAlias(cpg));
		} catch {
			throw new ImportError('.dbf 属性表已损坏，无法读取。', 'The .dbf attribute table is damaged and cannot be read.');
		}
	}
	const features: Feature[] = geometries.map((geometry, i) => ({
		type: 'Feature',
		geometry,
		properties: rows[i] ?? {}
	}));
	return collect('shapefile', features, prj);
}

function collect(format: ImportFormat, features: Feature<Geometry | null>[], prj: string | null): ParsedFile {
	const out: SourceFeature[] = [];
	let skipped = 0;
	features.forEach((f, i) => {
		const geometry = isObject(f) ? polygonsOf(f.geometry) : null;
		if (!geometry) {
			skipped++;
			return;
		}
		out.push({ index: i + 1, properties: isObject(f.properties) ? f.properties : {}, geometry });
	});
	if (out.length === 0) {
		throw new ImportError(
			features.length === 0
				? '文件中没有任何要素。'
				: `文件中没有面（多边形）：${features.length} 个要素都是点或线。村界必须是闭合的面。`,
			features.length === 0
				? 'The file has no features.'
				: `The file has no polygons: all ${features.length} features are points or lines. Village boundaries must be closed areas.`
		);
	}
	if (out.length > MAX_FEATURES) {
		throw new ImportError(
			`文件中有 ${out.length} 个面，超过上限 ${MAX_FEATURES}：一个乡镇的行政村不会这么多，请检查是否导出了地块图层。`,
			`The file has ${out.length} polygons, more than ${MAX_FEATURES}: a township has far fewer villages — is this a parcel layer?`
		);
	}
	return { format, features: out, skipped, prj };
}

/** Polygon or MultiPolygon from any geometry (KML MultiGeometry arrives as a GeometryCollection); 2D only. */
function polygonsOf(g: unknown): Boundary | null {
	if (!isObject(g)) return null;
	const parts: Position[][][] = [];
	const walk = (x: unknown) => {
		if (!isObject(x)) return;
		if (x.type === 'Polygon' && Array.isArray(x.coordinates)) parts.push(x.coordinates as Position[][]);
		else if (x.type === 'MultiPolygon' && Array.isArray(x.coordinates)) parts.push(...(x.coordinates as Position[][][]));
		else if (x.type === 'GeometryCollection' && Array.isArray(x.geometries)) x.geometries.forEach(walk);
	};
	walk(g);
	if (parts.length === 0) return null;
	const flat = parts.map((rings) =>
		Array.isArray(rings) ? rings.map((r) => (Array.isArray(r) ? r.map((p) => (Array.isArray(p) ? [p[0], p[1]] : p)) : r)) : rings
	);
	return flat.length === 1
		? ({ type: 'Polygon', coordinates: flat[0] } satisfies Polygon)
		: ({ type: 'MultiPolygon', coordinates: flat } satisfies MultiPolygon);
}

function mapGeometry(g: Boundary, f: (p: Position) => Position): Boundary {
	const ring = (r: Position[]) => (Array.isArray(r) ? r.map((p) => (isNumPair(p) ? f(p) : p)) : r);
	return g.type === 'Polygon'
		? { type: 'Polygon', coordinates: g.coordinates.map(ring) }
		: { type: 'MultiPolygon', coordinates: g.coordinates.map((poly) => poly.map(ring)) };
}

function samplePositions(features: SourceFeature[]): Position[] {
	const out: Position[] = [];
	for (const f of features) {
		const polys = f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates;
		for (const p of polys) for (const pos of p?.[0] ?? []) if (out.length < 5000 && isNumPair(pos)) out.push(pos);
	}
	return out;
}

/** Attribute names that hold a village's name, most specific first (三调 坐落单位名称, 行政区名称, KML <name>). */
const NAME_KEYS = ['XZQMC', 'ZLDWMC', 'CUNMC', '村名', '村名称', '行政村', '名称', 'name', 'NAME', 'Name', 'MC'];
/** …and its division code (行政区代码; 坐落单位代码 is 19 digits of which the first 12 are the village). */
const CODE_KEYS = ['XZQDM', 'ZLDWDM', 'division_code', 'code', 'CODE', '区划代码', '代码', 'DM'];

function pickKey(features: SourceFeature[], keys: string[]): string | undefined {
	return keys.find((k) => features.some((f) => text(f.properties[k]) !== null));
}

function text(x: unknown): string | null {
	if (typeof x === 'number' && Number.isFinite(x)) return String(x);
	if (typeof x !== 'string') return null;
	const t = x.trim();
	return t === '' ? null : t;
}

function divisionCode(x: unknown): string | null {
	const t = typeof x === 'number' ? String(Math.trunc(x)) : text(x);
	if (!t) return null;
	if (/^[0-9]{12}$/.test(t)) return t;
	if (/^[0-9]{19}$/.test(t)) return t.slice(0, 12);
	return null;
}

function cpgAlias(cpg: string): string {
	// ArcGIS writes code pages as bare numbers; 936 is GBK.
	if (/^(ANSI\s)?936$/i.test(cpg) || /^cp936$/i.test(cpg)) return 'gbk';
	return cpg;
}

function isUtf8(bytes: Uint8Array): boolean {
	try {
		new TextDecoder('utf-8', { fatal: true }).decode(bytes);
		return true;
	} catch {
		return false;
	}
}

function view(b: Uint8Array): DataView {
	return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function mb(n: number): string {
	return (n / 1024 / 1024).toFixed(n >= 10 * 1024 * 1024 ? 0 : 1);
}

function isObject(x: unknown): x is Record<string, unknown> {
	return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isNumPair(p: unknown): p is Position {
	return Array.isArray(p) && typeof p[0] === 'number' && typeof p[1] === 'number';
}
