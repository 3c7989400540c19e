// Village boundary files as people in a township actually have them — GeoJSON (often picked on AMap), KML/KMZ
// (奥维互动地图, Google Earth), zipped Shapefiles from the land bureau — read into WGS-84 polygons with a name and a
// division code. Conversion of coordinates is in ./crs; the plain-words checks are in ./import-report.
// Pure: bytes in, data out; no file system, no database, no browser DOM (xmldom parses the KML).

import { kml } from '@tmcw/togeojson';
import { DOMParser } from '@xmldom/xmldom';
import { iter } from 'but-unzip';
import { inflateRawSync } from 'node:zlib';
import { parseDbf, parseShp } from 'shpjs';
import type { Feature, Geometry, MultiPolygon, Polygon, Position } from 'geojson';
import { crsFromPrj, guessCrsFromCoordinates, toWgs84, type CrsGuess, type CrsId } from './crs';
import { gcj02Hint, type Gcj02Hint } from './gcj02-hint';
import { IMPORT_LIMITS, SIMPLIFY_HINT } from './limits';
import type { Boundary } from './point-in-polygon';

/** Files above this are refused before any parsing: a township's villages fit in a few megabytes. */
export const MAX_IMPORT_BYTES = IMPORT_LIMITS.fileBytes;
/** Decompressed bytes read out of a zip at most (a zip bomb must not fill memory). */
export const MAX_UNZIPPED_BYTES = IMPORT_LIMITS.zipTotalBytes;
export const MAX_FEATURES = IMPORT_LIMITS.features;

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
	/** Closed lines (first point = last) read as areas: Google Earth and 奥维 draw boundaries as paths. */
	closedLines: number[];
	/** A Shapefile's .prj text, if it had one. */
	prj: string | null;
	/** Members of a Shapefile that the zip lacks, e.g. ['cunjie.dbf', 'cunjie.prj']. */
	missingParts: string[];
}

export interface ImportResult extends ParsedFile {
	crs: CrsId;
	crsWhy: { zh: string; en: string };
	villages: ImportedVillage[];
	/** The attribute that gave the names and the one that gave the codes, if any. */
	nameField: string | null;
	codeField: string | null;
	/** Signs that a file read as WGS-84 is really GCJ-02 (AMap, DataV); null when none or when the admin chose. */
	gcj02: Gcj02Hint | null;
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

/** What the importer compares a file with to tell GCJ-02 from WGS-84: vertices of the township's known lines, WGS-84. */
export interface KnownFeatures {
	vertices: Position[];
}

/** Parse, choose the coordinate system (given, or detected), convert to WGS-84, pick names and codes. */
export async function importBoundaries(
	bytes: Uint8Array,
	fileName: string,
	options: { crs?: CrsChoice; nearLng?: number; known?: KnownFeatures } = {}
): Promise<ImportResult> {
	const parsed = await parseBoundaryFile(bytes, fileName);
	const choice = options.crs ?? 'auto';
	const guess = chooseCrs(parsed, choice, options.nearLng);
	if (!guess.crs) throw new ImportError(`无法确定坐标系：${guess.why.zh}`, `Cannot tell the coordinate system: ${guess.why.en}`);
	const convert = toWgs84(guess.crs);
	const nameKey = pickKey(parsed.features, NAME_KEYS);
	const codeKey = pickKey(parsed.features, CODE_KEYS);
	const villages = parsed.features.map((f) => ({
		index: f.index,
		name: text(nameKey ? f.properties[nameKey] : undefined),
		code: divisionCode(codeKey ? f.properties[codeKey] : undefined),
		geometry: mapGeometry(f.geometry, convert),
		properties: f.properties
	}));
	// Only a file taken as WGS-84 by default is questioned: an admin's explicit choice is an answer already.
	const gcj02 =
		choice === 'auto' && guess.crs === 'wgs84' && parsed.format !== 'kml' && parsed.format !== 'kmz'
			? gcj02Hint(parsed.features, options.known?.vertices ?? [])
			: null;
	return { ...parsed, crs: guess.crs, crsWhy: guess.why, villages, nameField: nameKey ?? null, codeField: codeKey ?? null, gcj02 };
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

/**
 * The entries a boundary file needs, inflated with a running byte count: Node's zlib stops inflating the moment an
 * entry would pass `maxOutputLength` (the smallest of the per-entry limit, what is left of the total, and the
 * compression-ratio limit), so a zip bomb costs at most the limit in memory, never its full inflated size.
 */
async function unzipEntries(bytes: Uint8Array): Promise<Map<string, Uint8Array>> {
	const L = IMPORT_LIMITS;
	const out = new Map<string, Uint8Array>();
	if (!hasZipDirectory(bytes)) {
		throw new ImportError('压缩文件已损坏，无法打开。', 'The zip file is damaged and cannot be opened.');
	}
	let total = 0;
	let limit: { bytes: number; why: 'entry' | 'total' | 'ratio' } = { bytes: 0, why: 'entry' };
	const inflate = (raw: Uint8Array): Uint8Array => {
		const byRatio = Math.max(1024 * 1024, raw.byteLength * L.zipRatio);
		const left = L.zipTotalBytes - total;
		limit =
			left <= L.zipEntryBytes && left <= byRatio
				? { bytes: left, why: 'total' }
				: byRatio < L.zipEntryBytes
					? { bytes: byRatio, why: 'ratio' }
					: { bytes: L.zipEntryBytes, why: 'entry' };
		return inflateRawSync(raw, { maxOutputLength: Math.max(1, limit.bytes) });
	};
	try {
		const entries = [...iter(bytes, inflate)];
		if (entries.length > L.zipEntries) {
			throw new ImportError(
				`压缩包里有 ${entries.length} 个文件，上限是 ${L.zipEntries} 个：请只打包村界图层（.shp .shx .dbf .prj .cpg）。`,
				`The zip holds ${entries.length} files; the limit is ${L.zipEntries}: zip only the village layer (.shp .shx .dbf .prj .cpg).`
			);
		}
		for (const entry of entries) {
			if (entry.filename.includes('__MACOSX') || !/\.(shp|shx|dbf|prj|cpg|kml)$/i.test(entry.filename)) continue;
			// .shx is only noted as present: the .shp alone holds every shape.
			if (/\.shx$/i.test(entry.filename)) {
				out.set(entry.filename, new Uint8Array(0));
				continue;
			}
			let data: Uint8Array;
			try {
				data = await entry.read();
			} catch (e) {
				if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) throw zipLimitError(entry.filename, limit.why);
				throw e;
			}
			total += data.byteLength;
			if (total > L.zipTotalBytes) throw zipLimitError(entry.filename, 'total');
			out.set(entry.filename, data);
		}
	} catch (e) {
		if (e instanceof ImportError) throw e;
		throw new ImportError('压缩文件已损坏，无法打开。', 'The zip file is damaged and cannot be opened.');
	}
	return out;
}

function zipLimitError(name: string, why: 'entry' | 'total' | 'ratio'): ImportError {
	const L = IMPORT_LIMITS;
	if (why === 'ratio') {
		return new ImportError(
			`压缩包中的 ${name} 压缩比超过 ${L.zipRatio} 倍，不像村界数据（可能是“压缩炸弹”），已停止解压并拒绝。`,
			`${name} in the zip is compressed more than ${L.zipRatio}× — not boundary data (possibly a zip bomb); inflating stopped, file refused.`
		);
	}
	const max = why === 'entry' ? L.zipEntryBytes : L.zipTotalBytes;
	return new ImportError(
		`压缩包解压后超过 ${mb(max)} MB（在 ${name} 处停止），已拒绝：请只打包本镇的村界图层。`,
		`The zip unpacks to more than ${mb(max)} MB (stopped at ${name}); refused: zip only this township's village layer.`
	);
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
	const file = base.split('/').pop() ?? base;
	const missingParts = (['shx', 'dbf', 'prj', 'cpg'] as const).filter((ext) => !find(base, ext)).map((ext) => `${file}.${ext}`);
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
	return { ...collect('shapefile', features, prj), missingParts };
}

function collect(format: ImportFormat, features: Feature<Geometry | null>[], prj: string | null): ParsedFile {
	const out: SourceFeature[] = [];
	const closedLines: number[] = [];
	let skipped = 0;
	let parts = 0;
	let vertices = 0;
	features.forEach((f, i) => {
		let geometry = isObject(f) ? polygonsOf(f.geometry) : null;
		if (!geometry && isObject(f)) {
			geometry = closedLinesOf(f.geometry);
			if (geometry) closedLines.push(i + 1);
		}
		if (!geometry) {
			skipped++;
			return;
		}
		const polys = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
		parts += polys.length;
		for (const p of polys) for (const r of p) vertices += Array.isArray(r) ? r.length : 0;
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
	const L = IMPORT_LIMITS;
	if (out.length > L.features) {
		throw new ImportError(
			`文件中有 ${out.length} 个面，超过上限 ${L.features}：一个乡镇的行政村不会这么多，请检查是否导出了地块图层。`,
			`The file has ${out.length} polygons, more than ${L.features}: a township has far fewer villages — is this a parcel layer?`
		);
	}
	if (parts > L.parts) {
		throw new ImportError(
			`文件中有 ${parts} 个面块，超过上限 ${L.parts}。${SIMPLIFY_HINT.zh}（mapshaper 还可以用 \`-filter-islands min-area=100\` 去掉碎小面块。）`,
			`The file has ${parts} polygon parts, more than the limit of ${L.parts}. ${SIMPLIFY_HINT.en} (mapshaper's \`-filter-islands min-area=100\` drops tiny slivers.)`
		);
	}
	if (vertices > L.vertices) {
		throw new ImportError(
			`文件中有 ${vertices.toLocaleString('en')} 个顶点，超过上限 ${L.vertices.toLocaleString('en')}。${SIMPLIFY_HINT.zh}`,
			`The file has ${vertices.toLocaleString('en')} vertices, more than the limit of ${L.vertices.toLocaleString('en')}. ${SIMPLIFY_HINT.en}`
		);
	}
	return { format, features: out, skipped, closedLines, prj, missingParts: [] };
}

/**
 * A boundary drawn as a path that ends where it starts (Google Earth's and 奥维's path tool write a LineString, OGC
 * KML 2.2 §10.7), as a polygon: each closed line becomes one part. Open lines are not areas and stay skipped.
 */
function closedLinesOf(g: unknown): Boundary | null {
	const lines: Position[][] = [];
	const walk = (x: unknown) => {
		if (!isObject(x)) return;
		if (x.type === 'LineString' && Array.isArray(x.coordinates)) lines.push(x.coordinates as Position[]);
		else if (x.type === 'MultiLineString' && Array.isArray(x.coordinates)) lines.push(...(x.coordinates as Position[][]));
		else if (x.type === 'GeometryCollection' && Array.isArray(x.geometries)) x.geometries.forEach(walk);
	};
	walk(g);
	const closed = lines.filter((l) => l.length >= 4 && isNumPair(l[0]) && isNumPair(l[l.length - 1]) && l[0][0] === l[l.length - 1][0] && l[0][1] === l[l.length - 1][1]);
	if (closed.length === 0 || closed.length !== lines.length) return null;
	const rings = closed.map((l) => l.map((p) => [p[0], p[1]]));
	return rings.length === 1
		? { type: 'Polygon', coordinates: [rings[0]] }
		: { type: 'MultiPolygon', coordinates: rings.map((r) => [r]) };
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

/**
 * Attribute names that hold a village's name, most specific first, matched without regard to case: 三调/国土
 * 行政区名称 XZQMC and 坐落单位名称 ZLDWMC, 村级调查区 CJDCQMC, hand-made tables (村名, 行政村 …), OSM-style cn_name /
 * name_zh, DataV's and KML's name, and the bare MC of older land-bureau tables.
 */
export const NAME_KEYS = [
	'XZQMC', 'ZLDWMC', 'CJDCQMC', 'CUNMC', 'CMC', '村名', '村名称', '村庄名称', '行政村', '行政村名', '行政村名称', '村委会', '名称',
	'cn_name', 'name_zh', 'name_cn', 'name_chn', 'chinese_name', 'name', 'MC'
];
/**
 * …and its division code: 行政区代码 XZQDM; 坐落单位代码 ZLDWDM and CJDCQDM are 19 digits of which the first 12 are the
 * village; DataV's adcode; hand-made 区划代码.
 */
export const CODE_KEYS = ['XZQDM', 'ZLDWDM', 'CJDCQDM', 'division_code', 'adcode', 'code', '区划代码', '行政区划代码', '统计用区划代码', '代码', 'DM'];

/** The file's own spelling of the first of `keys` that any feature fills in, compared case-insensitively. */
function pickKey(features: SourceFeature[], keys: string[]): string | undefined {
	const spelled = new Map<string, string>();
	for (const f of features) for (const k of Object.keys(f.properties)) if (!spelled.has(k.trim().toLowerCase())) spelled.set(k.trim().toLowerCase(), k);
	for (const want of keys) {
		const k = spelled.get(want.toLowerCase());
		if (k !== undefined && features.some((f) => text(f.properties[k]) !== null)) return k;
	}
	return undefined;
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
