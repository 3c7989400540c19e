// Boundary import (geo/import, geo/crs, geo/import-report): real files in every format and coordinate system a
// township's boundaries arrive in, checked against truth points that do not come from the code under test
// (tests/fixtures/boundaries/README.md says where each comes from), and bad inputs giving plain-words errors.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Polygon, Position } from 'geojson';
import proj4 from 'proj4';
import {
	GK_ZONES,
	ImportError,
	MAX_IMPORT_BYTES,
	crsFromPrj,
	guessCrsFromCoordinates,
	hasErrors,
	importBoundaries,
	importReport
} from '../../geo';
import type { ImportedVillage } from '../../geo';

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../fixtures/boundaries/${name}`, import.meta.url)));

/** Great-circle distance in metres (haversine on the WGS-84 mean radius): plenty for a 1 m tolerance. */
function metres(a: Position, b: Position): number {
	const R = 6_371_008.8;
	const rad = Math.PI / 180;
	const dLat = (b[1] - a[1]) * rad;
	const dLng = (b[0] - a[0]) * rad;
	const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLng / 2) ** 2;
	return 2 * R * Math.asin(Math.sqrt(h));
}

const vertices = (v: ImportedVillage): Position[] =>
	v.geometry.type === 'Polygon' ? v.geometry.coordinates[0] : v.geometry.coordinates[0][0];

/** The nearest imported vertex to a truth point, anywhere in the file. */
function nearest(villages: ImportedVillage[], truth: Position): number {
	return Math.min(...villages.flatMap((v) => vertices(v).map((p) => metres(p, truth))));
}

// Every vertex of the truth file, with the village it belongs to.
const truth = JSON.parse(new TextDecoder().decode(fixture('villages-wgs84.geojson'))) as {
	features: { properties: { name: string; code: string }; geometry: Polygon }[];
};
const truthVertices = truth.features.flatMap((f) => f.geometry.coordinates[0].map((p) => ({ name: f.properties.name, p })));

async function expectImportError(promise: Promise<unknown>, en: RegExp, zh: RegExp) {
	const err = await promise.then(
		() => null,
		(e: unknown) => e
	);
	expect(err).toBeInstanceOf(ImportError);
	expect((err as ImportError).en).toMatch(en);
	expect((err as ImportError).zh).toMatch(zh);
}

describe('CGCS2000 Gauss-Krüger zones', () => {
	it('generates all 42 EPSG codes 4513–4554', () => {
		expect(GK_ZONES.map((z) => z.epsg)).toEqual(Array.from({ length: 42 }, (_, i) => 4513 + i));
	});

	// Strings as `projinfo EPSG:xxxx -o PROJ` (PROJ 9.1.1) prints them, minus +type=crs.
	it.each([
		[4513, '+proj=tmerc +lat_0=0 +lon_0=75 +k=1 +x_0=25500000 +y_0=0 +ellps=GRS80 +units=m +no_defs'],
		[4523, '+proj=tmerc +lat_0=0 +lon_0=105 +k=1 +x_0=35500000 +y_0=0 +ellps=GRS80 +units=m +no_defs'],
		[4533, '+proj=tmerc +lat_0=0 +lon_0=135 +k=1 +x_0=45500000 +y_0=0 +ellps=GRS80 +units=m +no_defs'],
		[4534, '+proj=tmerc +lat_0=0 +lon_0=75 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs'],
		[4544, '+proj=tmerc +lat_0=0 +lon_0=105 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs'],
		[4554, '+proj=tmerc +lat_0=0 +lon_0=135 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs']
	])('EPSG:%i matches the PROJ database', (epsg, proj) => {
		expect(GK_ZONES.find((z) => z.epsg === epsg)?.proj).toBe(proj);
	});

	it('proj4 reproduces PROJ’s published tmerc/GRS80 test case (test/gie/builtins.gie)', () => {
		const [x, y] = proj4('WGS84', '+proj=tmerc +ellps=GRS80 +lon_0=0 +k=1 +x_0=0 +y_0=0 +units=m', [2, 1]);
		expect(Math.abs(x - 222650.796885261)).toBeLessThan(0.001);
		expect(Math.abs(y - 110642.229411933)).toBeLessThan(0.001);
	});

	it('reads the zone from an ESRI .prj and from a GDAL .prj', () => {
		const esri =
			'PROJCS["CGCS2000_3_Degree_GK_CM_105E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",105.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]';
		expect(crsFromPrj(esri).crs).toBe('EPSG:4544');
		const gdalZone =
			'PROJCS["CGCS2000 / 3-degree Gauss-Kruger zone 35",GEOGCS["China Geodetic Coordinate System 2000",DATUM["China_2000",SPHEROID["CGCS2000",6378137,298.257222101]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",105],PARAMETER["scale_factor",1],PARAMETER["false_easting",35500000],PARAMETER["false_northing",0],UNIT["metre",1]]';
		expect(crsFromPrj(gdalZone).crs).toBe('EPSG:4523');
		const beijing54 = 'PROJCS["Beijing_1954_3_Degree_GK_CM_105E",GEOGCS["GCS_Beijing_1954"]]';
		const refused = crsFromPrj(beijing54);
		expect(refused.crs).toBeNull();
		expect(refused.why.en).toMatch(/Beijing 1954/);
	});

	it('guesses from magnitudes: zone-numbered eastings name their zone; plain ones take the township’s meridian', () => {
		expect(guessCrsFromCoordinates([[35757275, 2933707]]).crs).toBe('EPSG:4523');
		// 757 km east of CM 105°E is 107.58°E; read with CM 108°E it would be 110.6°E, far from the township.
		expect(guessCrsFromCoordinates([[757275, 2933707]], 107.5).crs).toBe('EPSG:4544');
		expect(guessCrsFromCoordinates([[757275, 2933707]], 110.5).crs).toBe('EPSG:4545');
		expect(guessCrsFromCoordinates([[757275, 2933707]], 60).crs).toBeNull();
		expect(guessCrsFromCoordinates([[757275, 2933707]]).crs).toBeNull();
		expect(guessCrsFromCoordinates([[107.5, 26.5]]).crs).toBe('wgs84');
	});
});

describe('importing each format and coordinate system', () => {
	it('GeoJSON in WGS-84: names and codes from the properties, coordinates unchanged', async () => {
		const sut = await importBoundaries(fixture('villages-wgs84.geojson'), 'villages.geojson');
		expect(sut.format).toBe('geojson');
		expect(sut.crs).toBe('wgs84');
		expect(sut.villages.map((v) => [v.name, v.code])).toEqual([
			['东岭村', '990101001201'],
			['西坡村', '990101001202'],
			['南岗村', '990101001203']
		]);
		expect(importReport(sut.villages)).toEqual([]);
	});

	it('KML as 奥维 exports it: altitudes dropped, MultiGeometry kept as the polygon, the point skipped', async () => {
		const sut = await importBoundaries(fixture('villages-ovital.kml'), '村界.kml');
		expect(sut.format).toBe('kml');
		expect(sut.crs).toBe('wgs84');
		expect(sut.villages.map((v) => v.name)).toEqual(['东岭村', '西坡村', '南岗村']);
		expect(sut.skipped).toBe(1);
		expect(vertices(sut.villages[0])[0]).toEqual([107.565, 26.49]);
		const report = importReport(sut.villages, { skipped: sut.skipped });
		expect(report.map((r) => r.check)).toEqual(['skipped']);
		expect(hasErrors(report)).toBe(false);
	});

	it('zipped Shapefile in EPSG:4544 with an ESRI .prj and a GBK table: every vertex within 1 m of its truth', async () => {
		const sut = await importBoundaries(fixture('cunjie_4544.zip'), 'cunjie_4544.zip');
		expect(sut.format).toBe('shapefile');
		expect(sut.crs).toBe('EPSG:4544');
		expect(sut.crsWhy.en).toMatch(/\.prj names .*CM 105°E/);
		// GBK decoded although the zip has no .cpg.
		expect(sut.villages.map((v) => [v.name, v.code])).toEqual([
			['东岭村', '990101001201'],
			['西坡村', '990101001202'],
			['南岗村', '990101001203']
		]);
		for (const { p } of truthVertices) expect(nearest(sut.villages, p)).toBeLessThan(1);
		// The vertex cs2cs gives as 757275.4146, 2933707.3781 (fixture README) is 107.58, 26.49.
		expect(nearest(sut.villages, [107.58, 26.49])).toBeLessThan(1);
	});

	it('zipped Shapefile in EPSG:4523 without a .prj: zone 35 read from the eastings, within 1 m', async () => {
		const sut = await importBoundaries(fixture('zone35_noprj.zip'), 'zone35.zip');
		expect(sut.prj).toBeNull();
		expect(sut.crs).toBe('EPSG:4523');
		expect(sut.crsWhy.en).toMatch(/zone number 35/);
		for (const { p } of truthVertices) expect(nearest(sut.villages, p)).toBeLessThan(1);
	});

	it('zipped Shapefile in CGCS2000 geographic: taken as is', async () => {
		const sut = await importBoundaries(fixture('cgcs2000_geo.zip'), 'geo.zip');
		expect(sut.crs).toBe('wgs84');
		for (const { p } of truthVertices) expect(nearest(sut.villages, p)).toBeLessThan(0.01);
	});

	it('GCJ-02 (AMap) points land within 5 m of their published WGS-84 truth', async () => {
		const sut = await importBoundaries(fixture('beijing-gcj02.geojson'), 'amap.geojson', { crs: 'gcj02' });
		const [v] = sut.villages;
		// Unconverted, the AMap point is hundreds of metres off: the conversion does real work.
		expect(metres([116.39713623, 39.90874539], [116.39089, 39.90734])).toBeGreaterThan(400);
		expect(metres(vertices(v)[0], [116.39089, 39.90734])).toBeLessThan(5);
		expect(metres(vertices(v)[2], [116.404, 39.915])).toBeLessThan(5);
	});

	it('BD-09 (Baidu) points land within 5 m of their WGS-84 truth', async () => {
		const sut = await importBoundaries(fixture('beijing-bd09.geojson'), 'baidu.geojson', { crs: 'bd09' });
		const [v] = sut.villages;
		expect(metres(vertices(v)[0], [116.39089, 39.90734])).toBeLessThan(5);
		expect(metres(vertices(v)[2], [116.39775550083061, 39.91359571849836])).toBeLessThan(5);
	});

	it('a choice of the admin overrides detection (a GK file read with the wrong meridian lands far away)', async () => {
		const sut = await importBoundaries(fixture('cunjie_4544.zip'), 'x.zip', { crs: 'EPSG:4545' });
		expect(sut.crs).toBe('EPSG:4545');
		expect(nearest(sut.villages, [107.58, 26.49])).toBeGreaterThan(100_000);
		const report = importReport(sut.villages, { township: [107.44, 26.46, 107.56, 26.54] });
		expect(report.filter((r) => r.check === 'far')).toHaveLength(3);
	});
});

describe('bad files get plain-words errors', () => {
	it('a 50 MB file is refused before parsing', async () => {
		const big = new Uint8Array(50 * 1024 * 1024);
		big.set(new TextEncoder().encode('{"type":"FeatureCollection","features":['));
		expect(big.byteLength).toBeGreaterThan(MAX_IMPORT_BYTES);
		await expectImportError(importBoundaries(big, 'county.geojson'), /too large \(50 MB\); the limit is 20 MB/, /文件太大/);
	});

	it('a broken zip', async () => {
		await expectImportError(importBoundaries(fixture('broken.zip'), 'broken.zip'), /zip file is damaged/, /压缩文件已损坏/);
	});

	it('a KML with no polygons', async () => {
		await expectImportError(
			importBoundaries(fixture('points-only.kml'), 'points.kml'),
			/no polygons: all 3 features are points or lines/,
			/没有面/
		);
	});

	it.each([
		['not JSON', '{"type": "FeatureCollection", "features": [', /not valid JSON/],
		['not XML', '<kml><Document><Placemark>', /not valid XML/],
		['neither', 'hello', /Unrecognised file/],
		['empty collection', '{"type":"FeatureCollection","features":[]}', /no features/],
		['a zip without a .shp', 'PK\u0005\u0006' + '\u0000'.repeat(18), /no \.shp file|damaged/]
	])('%s', async (_label, text, en) => {
		const err = await importBoundaries(new TextEncoder().encode(text), 'file').catch((e: unknown) => e);
		expect(err).toBeInstanceOf(ImportError);
		expect((err as ImportError).en).toMatch(en);
	});

	it('a GK file with no .prj and no township to take the meridian from asks for the coordinate system', async () => {
		const text = JSON.stringify({
			type: 'Feature',
			properties: { name: 'x' },
			geometry: { type: 'Polygon', coordinates: [[[757275, 2933707], [757300, 2933707], [757300, 2933730], [757275, 2933707]]] }
		});
		await expectImportError(
			importBoundaries(new TextEncoder().encode(text), 'x.geojson'),
			/choose the central meridian/,
			/请选择中央经线/
		);
	});
});

describe('the validation report', () => {
	it('names overlaps, a self-intersecting ring, a missing name and a village far outside the township', async () => {
		const sut = await importBoundaries(fixture('villages-problems.geojson'), 'problems.geojson');
		const report = importReport(sut.villages, { township: [107.44, 26.46, 107.6, 26.54] });
		const by = (check: string) => report.filter((r) => r.check === check);
		expect(by('overlap')).toHaveLength(1);
		expect(by('overlap')[0].features).toEqual([1, 2]);
		expect(by('overlap')[0].en).toMatch(/重叠甲村 \(feature 1\) and 重叠乙村 \(feature 2\) overlap by about 33\d{4} m²/);
		expect(by('self_intersection')).toHaveLength(1);
		expect(by('self_intersection')[0].en).toMatch(/八字村 \(feature 3\) crosses itself/);
		expect(by('missing_name')[0].features).toEqual([4]);
		expect(by('far')).toHaveLength(1);
		expect(by('far')[0].zh).toMatch(/远方村.*本镇范围外约 \d+\.\d 公里/);
		expect(hasErrors(report)).toBe(true);
	});

	it('finds a gap that no village fills, and ignores an enclave filled by another village', () => {
		const sq = (x0: number, y0: number, x1: number, y1: number) => [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]];
		const ring = (holeFilled: boolean) => [
			{ index: 1, name: '北村', code: null, geometry: { type: 'Polygon' as const, coordinates: [sq(0, 0.02, 0.03, 0.03)] } },
			{ index: 2, name: '南村', code: null, geometry: { type: 'Polygon' as const, coordinates: [sq(0, 0, 0.03, 0.01)] } },
			{ index: 3, name: '西村', code: null, geometry: { type: 'Polygon' as const, coordinates: [sq(0, 0.01, 0.01, 0.02)] } },
			{ index: 4, name: '东村', code: null, geometry: { type: 'Polygon' as const, coordinates: [sq(0.02, 0.01, 0.03, 0.02)] } },
			...(holeFilled
				? [{ index: 5, name: '中村', code: null, geometry: { type: 'Polygon' as const, coordinates: [sq(0.01, 0.01, 0.02, 0.02)] } }]
				: [])
		];
		const gaps = importReport(ring(false)).filter((r) => r.check === 'gap');
		expect(gaps).toHaveLength(1);
		// 0.01° × 0.01° at the equator ≈ 1.23 km².
		expect(gaps[0].en).toMatch(/gap of about 123\d{4} m²/);
		expect(importReport(ring(true))).toEqual([]);
	});

	it('repeated division codes are an error, repeated names a warning', () => {
		const g = { type: 'Polygon' as const, coordinates: [[[0, 0], [0.001, 0], [0.001, 0.001], [0, 0]]] };
		const g2 = { type: 'Polygon' as const, coordinates: [[[1, 0], [1.001, 0], [1.001, 0.001], [1, 0]]] };
		const report = importReport([
			{ index: 1, name: '同名村', code: '990101001201', geometry: g },
			{ index: 2, name: '同名村', code: '990101001201', geometry: g2 }
		]);
		expect(report.map((r) => [r.check, r.level])).toEqual([
			['duplicate', 'warning'],
			['code', 'error']
		]);
	});
});
