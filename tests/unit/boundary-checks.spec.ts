// The boundary checks that must stay fast on big files and the limits that refuse files before minutes are spent
// (geo/self-intersections, geo/limits, the streaming unzip in geo/import), and the files townships really have:
// DataV/AMap GCJ-02, Google Earth closed paths, a Shapefile without its .dbf, the common name fields.
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Polygon, Position } from 'geojson';
import kinks from '@turf/kinks';
import gcoord from 'gcoord';
import { IMPORT_LIMITS, ImportError, gcj02Hint, importBoundaries, importReport, selfIntersections } from '../../geo';
import { bigBoundaryGeoJson, figureEight, wavyRing } from '../../scripts/lib/boundary-shapes';

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../fixtures/boundaries/${name}`, import.meta.url)));
const sq = (x0: number, y0: number, x1: number, y1: number): Position[] => [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]];
const poly = (...rings: Position[][]): Polygon => ({ type: 'Polygon', coordinates: rings });
const encode = (x: unknown) => new TextEncoder().encode(typeof x === 'string' ? x : JSON.stringify(x));

async function importError(bytes: Uint8Array, name: string): Promise<ImportError> {
	const err = await importBoundaries(bytes, name).then(
		() => null,
		(e: unknown) => e
	);
	expect(err).toBeInstanceOf(ImportError);
	return err as ImportError;
}

describe('self-intersections (segment index) agree with @turf/kinks', () => {
	it.each([
		['a square', poly(sq(0, 0, 1, 1)), 0],
		['a bow tie (figure 8)', poly([[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]), 1],
		['a ring touching itself at a vertex', poly([[0, 0], [2, 0], [1, 1], [2, 2], [0, 2], [1, 1], [0, 0]]), 1],
		['a hole crossing its outer ring', poly(sq(0, 0, 4, 4), sq(3, 1, 5, 2)), 2],
		['a hole well inside', poly(sq(0, 0, 4, 4), sq(1, 1, 2, 2)), 0],
		['an open ring (last point not repeated) is not closed by us', poly([[0, 0], [1, 0], [1, 1], [0, 1]]), 0],
		['a spike back along its own edge (parallel edges never meet)', poly([[0, 0], [2, 0], [1, 0], [1, 1], [0, 0]]), 1],
		['repeated points', poly([[0, 0], [1, 0], [1, 0], [1, 1], [0, 1], [0, 0]]), 1],
		['a wavy ring of 5,000 vertices', poly(wavyRing(107.5, 26.5, 0.01, 5000)), 0],
		['a figure eight of 5,000 vertices', poly(figureEight(107.5, 26.5, 0.01, 5000)), 1]
	])('%s', (_name, g, places) => {
		const sut = selfIntersections(g).points;
		const turf = kinks(g).features.map((f) => f.geometry.coordinates.join(','));
		expect(sut.length).toBe(places === 0 ? 0 : new Set(turf).size);
		expect(new Set(sut.map((p) => p.join(',')))).toEqual(new Set(turf));
		if (places === 0) expect(turf).toEqual([]);
	});

	it('a multipolygon whose parts cross each other is reported, like kinks', () => {
		const g = { type: 'MultiPolygon' as const, coordinates: [[sq(0, 0, 2, 2)], [sq(1, 1, 3, 3)]] };
		expect(selfIntersections(g).points.length).toBe(2);
	});

	it('the report names the first crossing and the count, as before', () => {
		const report = importReport([{ index: 1, name: '八字村', code: null, geometry: poly(figureEight(107.5, 26.5, 0.01, 400)) }]);
		expect(report.map((r) => r.check)).toEqual(['self_intersection']);
		expect(report[0].en).toMatch(/八字村 \(feature 1\) crosses itself \(1 place\(s\), first near 107\.50000, 26\.50000\)/);
	});
});

describe('limits refuse a file before minutes are spent', () => {
	it('too many vertices: says the limit and how to simplify', async () => {
		// Small whole numbers keep 1.6 million vertices under the 20 MB file limit; the count is refused before any check.
		const n = IMPORT_LIMITS.vertices + 100_000;
		const ring = `[${Array.from({ length: n }, (_, i) => `[${i % 9},${(i * 7) % 9}]`).join(',')}]`;
		const text = `{"type":"Feature","properties":{"name":"x"},"geometry":{"type":"Polygon","coordinates":[${ring}]}}`;
		expect(text.length).toBeLessThan(IMPORT_LIMITS.fileBytes);
		const err = await importError(encode(text), 'county.geojson');
		expect(err.en).toMatch(/has 1,600,000 vertices, more than the limit of 1,500,000\. Simplify it first: in mapshaper run `-simplify interval=2`/);
		expect(err.zh).toMatch(/超过上限 1,500,000。请先简化.*QGIS/);
	});

	it('too many parts', async () => {
		const parts = Array.from({ length: IMPORT_LIMITS.parts + 1 }, (_, i) => [sq(i * 0.001, 0, i * 0.001 + 0.0005, 0.0005)]);
		const err = await importError(encode({ type: 'Feature', properties: { name: 'x' }, geometry: { type: 'MultiPolygon', coordinates: parts } }), 'x.geojson');
		expect(err.en).toMatch(/5001 polygon parts, more than the limit of 5000.*filter-islands/);
	});

	it.each([
		[IMPORT_LIMITS.features, false],
		[IMPORT_LIMITS.features + 1, true]
	])('%i features refused: %s', async (n, refused) => {
		const features = Array.from({ length: n }, (_, i) => ({ type: 'Feature', properties: { name: `村${i}` }, geometry: poly(sq(i * 0.001, 0, i * 0.001 + 0.0005, 0.0005)) }));
		const result = await importBoundaries(encode({ type: 'FeatureCollection', features }), 'x.geojson').then(
			() => 'ok',
			(e: ImportError) => e.en
		);
		expect(result === 'ok').toBe(!refused);
	});

	it('a 1,000,000-vertex file is read and checked well within the time limit', async () => {
		const t0 = performance.now();
		const sut = await importBoundaries(encode(bigBoundaryGeoJson(1_000_000)), 'big.geojson');
		const report = importReport(sut.villages);
		expect(sut.villages).toHaveLength(100);
		expect(report.map((r) => r.check)).toEqual(['gap']);
		expect(report[0].level).toBe('info');
		expect(performance.now() - t0).toBeLessThan(IMPORT_LIMITS.checkMs);
	});
});

/** A zip (APPNOTE.TXT 4.3) with one deflated entry, written by hand so the test controls its sizes. */
function zipOf(entries: { name: string; data: Uint8Array }[], level = 9): Uint8Array {
	const chunks: Buffer[] = [];
	const central: Buffer[] = [];
	let offset = 0;
	for (const e of entries) {
		const packed = deflateRawSync(e.data, { level });
		const name = Buffer.from(e.name);
		const local = Buffer.alloc(30);
		local.writeUInt32LE(0x04034b50, 0);
		local.writeUInt16LE(20, 4);
		local.writeUInt16LE(8, 8);
		local.writeUInt32LE(packed.length, 18);
		local.writeUInt32LE(e.data.length, 22);
		local.writeUInt16LE(name.length, 26);
		const dir = Buffer.alloc(46);
		dir.writeUInt32LE(0x02014b50, 0);
		dir.writeUInt16LE(20, 4);
		dir.writeUInt16LE(20, 6);
		dir.writeUInt16LE(8, 10);
		dir.writeUInt32LE(packed.length, 20);
		dir.writeUInt32LE(e.data.length, 24);
		dir.writeUInt16LE(name.length, 28);
		dir.writeUInt32LE(offset, 42);
		chunks.push(local, name, packed);
		central.push(dir, name);
		offset += local.length + name.length + packed.length;
	}
	const cd = Buffer.concat(central);
	const end = Buffer.alloc(22);
	end.writeUInt32LE(0x06054b50, 0);
	end.writeUInt16LE(entries.length, 8);
	end.writeUInt16LE(entries.length, 10);
	end.writeUInt32LE(cd.length, 12);
	end.writeUInt32LE(offset, 16);
	return new Uint8Array(Buffer.concat([...chunks, cd, end]));
}

describe('archives inflate as a stream that stops at the limit', () => {
	it('a zip bomb (300 KB inflating to 300 MB) is refused with memory barely moving', async () => {
		const bomb = zipOf([{ name: 'cunjie.shp', data: new Uint8Array(300 * 1024 * 1024) }]);
		expect(bomb.byteLength).toBeLessThan(400 * 1024);
		global.gc?.();
		const before = process.memoryUsage().rss;
		let peak = before;
		const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
		const err = await importError(bomb, 'cunjie.zip');
		clearInterval(timer);
		peak = Math.max(peak, process.memoryUsage().rss);
		expect(err.en).toMatch(/compressed more than 200×.*zip bomb.*refused/);
		expect(err.zh).toMatch(/压缩比超过 200 倍/);
		// Stopped at the ratio limit (a few hundred KB × 200 ≈ 60 MB), not after 300 MB.
		expect((peak - before) / 1024 / 1024).toBeLessThan(100);
	});

	it('past the total, even when each entry is modest', async () => {
		// A random byte every 40: compresses well inside the ratio limit, so only the total stops it.
		const sparse = (n: number) => {
			const out = new Uint8Array(n);
			const noise = randomBytes(Math.ceil(n / 40));
			for (let i = 0; i < noise.length; i++) out[i * 40] = noise[i];
			return out;
		};
		const entries = Array.from({ length: 2 }, (_, i) => ({ name: `part${i}.dbf`, data: sparse(60 * 1024 * 1024) }));
		const zip = zipOf(entries, 1);
		expect(zip.byteLength).toBeLessThan(IMPORT_LIMITS.fileBytes);
		const err = await importError(zip, 'x.zip');
		expect(err.en).toMatch(/unpacks to more than 100 MB \(stopped at part1\.dbf\)/);
	});

	it('too many entries', async () => {
		const entries = Array.from({ length: IMPORT_LIMITS.zipEntries + 1 }, (_, i) => ({ name: `f${i}.txt`, data: encode('x') }));
		const err = await importError(zipOf(entries), 'x.zip');
		expect(err.en).toMatch(/holds 101 files; the limit is 100/);
	});
});

describe('real boundary files', () => {
	it('DataV GeoJSON (GCJ-02): read as WGS-84 by default, but the report asks and offers GCJ-02', async () => {
		const sut = await importBoundaries(fixture('datav-gcj02.geojson'), '990101_full.json');
		expect(sut.crs).toBe('wgs84');
		expect(sut.gcj02?.reason).toBe('properties');
		const report = importReport(sut.villages, { gcj02: sut.gcj02 });
		const ask = report.find((r) => r.check === 'gcj02');
		expect(ask?.zh).toMatch(/高德\/DataV.*GCJ-02/);
		expect(ask?.ask?.en).toMatch(/not AMap GCJ-02/);
		expect(ask?.alternative).toEqual({ crs: 'gcj02' });
		// Read as GCJ-02, the villages are back on their WGS-84 truth within a few metres.
		const asGcj = await importBoundaries(fixture('datav-gcj02.geojson'), '990101_full.json', { crs: 'gcj02' });
		expect(asGcj.gcj02).toBeNull();
		const first = (asGcj.villages[0].geometry as Polygon).coordinates[0][0];
		expect(Math.abs(first[0] - 107.565) * 100_000).toBeLessThan(5);
		expect(Math.abs(first[1] - 26.49) * 110_000).toBeLessThan(5);
	});

	it('an AMap pick without DataV properties is told by its offset from the township’s known lines', async () => {
		const truth = JSON.parse(new TextDecoder().decode(fixture('villages-wgs84.geojson'))) as { features: { properties: object; geometry: Polygon }[] };
		const known = truth.features.flatMap((f) => f.geometry.coordinates[0]);
		const shifted = truth.features.map((f) => ({
			type: 'Feature',
			properties: f.properties,
			geometry: poly(f.geometry.coordinates[0].map((p) => gcoord.transform([p[0], p[1]], gcoord.WGS84, gcoord.GCJ02)))
		}));
		const picked = await importBoundaries(encode({ type: 'FeatureCollection', features: shifted }), 'amap.geojson', { known: { vertices: known } });
		expect(picked.gcj02?.reason).toBe('known_features');
		expect(picked.gcj02?.en).toMatch(/about \d{3} m from the township's existing boundaries, but only about [0-4] m/);
		// The same villages in WGS-84 raise no question.
		const plain = await importBoundaries(fixture('villages-wgs84.geojson'), 'v.geojson', { known: { vertices: known } });
		expect(plain.gcj02).toBeNull();
		expect(gcj02Hint([], known)).toBeNull();
	});

	it('Google Earth paths (closed LineStrings) are read as areas, and the report asks before saving', async () => {
		const sut = await importBoundaries(fixture('google-earth-lines.kml'), '村界.kml');
		expect(sut.villages.map((v) => v.name)).toEqual(['东岭村', '西坡村', '南岗村']);
		expect(sut.closedLines).toEqual([1, 2, 3]);
		const report = importReport(sut.villages, { closedLines: sut.closedLines });
		expect(report.map((r) => [r.check, r.level])).toEqual([['closed_lines', 'warning']]);
		expect(report[0].ask?.zh).toMatch(/闭合的线作为村界/);
	});

	it('an open line is still not an area', async () => {
		const line = { type: 'Feature', properties: { name: 'x' }, geometry: { type: 'LineString', coordinates: [[0, 0], [1, 0], [1, 1], [0, 1]] } };
		const err = await importError(encode({ type: 'FeatureCollection', features: [line] }), 'x.geojson');
		expect(err.en).toMatch(/no polygons/);
	});

	it('a zipped Shapefile without its .dbf says so once, naming the file', async () => {
		const sut = await importBoundaries(fixture('shp-no-dbf.zip'), 'cgcs2000_geo.zip');
		expect(sut.missingParts).toEqual(['cgcs2000_geo.dbf']);
		const report = importReport(sut.villages, { missingParts: sut.missingParts });
		expect(report.filter((r) => r.check === 'missing_name')).toEqual([]);
		const parts = report.filter((r) => r.check === 'shapefile_parts');
		expect(parts).toHaveLength(1);
		expect(parts[0].level).toBe('error');
		expect(parts[0].zh).toMatch(/Shapefile 缺少 cgcs2000_geo\.dbf（属性表/);
		expect(parts[0].en).toMatch(/zip cgcs2000_geo\.dbf together with the \.shp/);
	});

	it('a Shapefile with everything but .prj and .shx notes them and goes on', async () => {
		const sut = await importBoundaries(fixture('zone35_noprj.zip'), 'zone35.zip');
		const report = importReport(sut.villages, { missingParts: sut.missingParts });
		expect(report.map((r) => [r.check, r.level])).toEqual([['shapefile_parts', 'info']]);
		expect(report[0].en).toMatch(/lacks zone35\.prj \(the coordinate system; guessed from the numbers\)/);
	});

	it.each(['cn_name', 'NAME', 'Name', 'XZQMC', 'xzqmc', '村名', '行政村名称', 'ZLDWMC'])('a name field called %s is found', async (key) => {
		const f = { type: 'Feature', properties: { OBJECTID: 7, [key]: '东岭村' }, geometry: poly(sq(107.56, 26.49, 107.57, 26.5)) };
		const sut = await importBoundaries(encode({ type: 'FeatureCollection', features: [f] }), 'x.geojson');
		expect(sut.villages[0].name).toBe('东岭村');
		expect(sut.nameField).toBe(key);
	});

	it.each([
		['XZQDM', '990101001201', '990101001201'],
		['adcode', 990101001201, '990101001201'],
		['ZLDWDM', '9901010012010000000', '990101001201'],
		['区划代码', '990101001201', '990101001201']
	])('a code field called %s is found', async (key, value, code) => {
		const f = { type: 'Feature', properties: { name: '东岭村', [key]: value }, geometry: poly(sq(107.56, 26.49, 107.57, 26.5)) };
		const sut = await importBoundaries(encode({ type: 'FeatureCollection', features: [f] }), 'x.geojson');
		expect(sut.villages[0].code).toBe(code);
	});
});
