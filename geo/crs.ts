// Coordinate systems a Chinese township's boundary files arrive in, and conversion of each to WGS-84 (which the app
// stores; CGCS2000 is the same within the accuracy of any village boundary, DOMAIN.md "Coordinates").
//   - WGS-84 / CGCS2000 longitude-latitude: KML (OGC KML 2.2 §6.2 mandates WGS-84), GPS, 天地图, most GeoJSON.
//   - GCJ-02 (AMap, Tencent, phone picks) and BD-09 (Baidu): offset systems, converted with gcoord.
//   - CGCS2000 3-degree Gauss-Krüger projected zones, EPSG:4513–4554 (land-bureau Shapefiles), converted with proj4.
// Pure: no I/O.

import gcoord from 'gcoord';
import proj4 from 'proj4';
import type { Position } from 'geojson';

export type GeographicCrs = 'wgs84' | 'gcj02' | 'bd09';
/** 'wgs84' | 'gcj02' | 'bd09' | 'EPSG:4513' … 'EPSG:4554'. */
export type CrsId = GeographicCrs | `EPSG:${number}`;

export interface GkZone {
	epsg: number;
	/** Central meridian, degrees east. */
	lon0: number;
	/** 3° zone number (25 … 45): central meridian = 3 × zone. */
	zone: number;
	/** True for EPSG:4513–4533, whose false easting carries the zone number (35 500 000 m for zone 35). */
	zonePrefixed: boolean;
	/** The proj string, as `projinfo EPSG:xxxx -o PROJ` prints it (PROJ 9.1 database). */
	proj: string;
	name: string;
}

/**
 * EPSG:4513–4533 are "CGCS2000 / 3-degree Gauss-Kruger zone 25 … 45" (false easting zone × 10⁶ + 500 000 m);
 * EPSG:4534–4554 are "CGCS2000 / 3-degree Gauss-Kruger CM 75E … 135E" (false easting 500 000 m). Both: transverse
 * Mercator, scale 1, latitude of origin 0, CGCS2000 ellipsoid (a = 6378137, 1/f = 298.257222101, the same numbers
 * as GRS80). Generated rather than listed; tests compare a sample against PROJ's own database output.
 */
export const GK_ZONES: readonly GkZone[] = Array.from({ length: 42 }, (_, i) => {
	const zonePrefixed = i < 21;
	const zone = 25 + (i % 21);
	const lon0 = zone * 3;
	const x0 = zonePrefixed ? zone * 1_000_000 + 500_000 : 500_000;
	return {
		epsg: 4513 + i,
		lon0,
		zone,
		zonePrefixed,
		proj: `+proj=tmerc +lat_0=0 +lon_0=${lon0} +k=1 +x_0=${x0} +y_0=0 +ellps=GRS80 +units=m +no_defs`,
		name: zonePrefixed ? `CGCS2000 / 3-degree Gauss-Kruger zone ${zone}` : `CGCS2000 / 3-degree Gauss-Kruger CM ${lon0}E`
	};
});

export function gkZone(crs: CrsId): GkZone | undefined {
	const m = /^EPSG:(\d+)$/.exec(crs);
	return m ? GK_ZONES.find((z) => z.epsg === Number(m[1])) : undefined;
}

export function isCrsId(x: string): x is CrsId {
	return x === 'wgs84' || x === 'gcj02' || x === 'bd09' || gkZone(x as CrsId) !== undefined;
}

/** Plain-words names for the CRS picker and the report. */
export function crsLabel(crs: CrsId): { zh: string; en: string } {
	if (crs === 'wgs84') return { zh: 'WGS-84 / CGCS2000 经纬度', en: 'WGS-84 / CGCS2000 longitude-latitude' };
	if (crs === 'gcj02') return { zh: 'GCJ-02（高德、腾讯、手机选点）', en: 'GCJ-02 (AMap, Tencent, phone picks)' };
	if (crs === 'bd09') return { zh: 'BD-09（百度地图）', en: 'BD-09 (Baidu Maps)' };
	const z = gkZone(crs);
	if (!z) return { zh: crs, en: crs };
	return z.zonePrefixed
		? {
				zh: `CGCS2000 3度带高斯-克吕格 第${z.zone}带（中央经线${z.lon0}°E，带号在东坐标前）${crs}`,
				en: `CGCS2000 3° Gauss-Krüger zone ${z.zone} (CM ${z.lon0}°E, zone number in the easting) ${crs}`
			}
		: {
				zh: `CGCS2000 3度带高斯-克吕格 中央经线${z.lon0}°E ${crs}`,
				en: `CGCS2000 3° Gauss-Krüger CM ${z.lon0}°E ${crs}`
			};
}

const converters = new Map<string, proj4.Converter>();
function gkConverter(zone: GkZone): proj4.Converter {
	let c = converters.get(zone.proj);
	if (!c) {
		c = proj4(zone.proj, 'WGS84');
		converters.set(zone.proj, c);
	}
	return c;
}

/** A converter from `crs` to WGS-84 [lng, lat]. Projected inputs are [easting, northing] in metres. */
export function toWgs84(crs: CrsId): (p: Position) => Position {
	if (crs === 'wgs84') return (p) => [p[0], p[1]];
	if (crs === 'gcj02') return (p) => gcoord.transform([p[0], p[1]], gcoord.GCJ02, gcoord.WGS84);
	if (crs === 'bd09') return (p) => gcoord.transform([p[0], p[1]], gcoord.BD09, gcoord.WGS84);
	const zone = gkZone(crs);
	if (!zone) throw new Error(`unknown coordinate system ${crs}`);
	const c = gkConverter(zone);
	return (p) => c.forward([p[0], p[1]]);
}

/** WGS-84 [lng, lat] → [easting, northing] in a GK zone: for tests and for building fixtures. */
export function fromWgs84ToGk(crs: CrsId, p: Position): Position {
	const zone = gkZone(crs);
	if (!zone) throw new Error(`not a Gauss-Krüger zone: ${crs}`);
	return gkConverter(zone).inverse([p[0], p[1]]);
}

export interface CrsGuess {
	crs: CrsId | null;
	/** The file names a system that must not be guessed past (Beijing 1954, Xi'an 1980). */
	refused?: boolean;
	/** Why this guess, in plain words; or why no guess could be made. */
	why: { zh: string; en: string };
}

/**
 * The CRS named by a Shapefile's .prj (WKT 1 as ArcGIS/QGIS/GDAL write it). Recognises geographic WGS-84 and
 * CGCS2000, and CGCS2000 Gauss-Krüger / transverse Mercator by their central meridian and false easting (names
 * vary: "CGCS2000_3_Degree_GK_CM_105E", "CGCS2000 / 3-degree Gauss-Kruger zone 35", custom names). Beijing 1954 and
 * Xi'an 1980 are refused by name: they differ from CGCS2000 by up to 100 m and need a local 7-parameter transform.
 */
export function crsFromPrj(wkt: string): CrsGuess {
	const text = wkt.trim();
	if (/beijing[ _]?1954|xian[ _]?1980|xi'an[ _]?1980/i.test(text)) {
		return {
			crs: null,
			refused: true,
			why: {
				zh: '.prj 是北京54或西安80坐标系：与CGCS2000相差可达百米，需要当地七参数转换，请先用GIS软件转成CGCS2000后再导入。',
				en: '.prj says Beijing 1954 or Xi’an 1980: these differ from CGCS2000 by up to 100 m and need a local 7-parameter transform; convert to CGCS2000 in a GIS first.'
			}
		};
	}
	if (/^GEOGCS\[/i.test(text)) {
		return {
			crs: 'wgs84',
			why: { zh: '.prj 为地理坐标（经纬度）', en: '.prj is a geographic (longitude-latitude) system' }
		};
	}
	if (!/^PROJCS\[/i.test(text)) {
		return { crs: null, why: { zh: '无法识别 .prj 内容', en: 'the .prj could not be understood' } };
	}
	if (!/transverse_mercator|gauss_kruger|gauss-kruger/i.test(text)) {
		return {
			crs: null,
			why: { zh: '.prj 是横轴墨卡托以外的投影，不支持', en: '.prj is a projection other than transverse Mercator: not supported' }
		};
	}
	const param = (name: string): number | undefined => {
		const m = new RegExp(`PARAMETER\\["${name}",\\s*(-?[0-9.eE+]+)\\]`, 'i').exec(text);
		return m ? Number(m[1]) : undefined;
	};
	const lon0 = param('central_meridian');
	const x0 = param('false_easting') ?? 0;
	const k = param('scale_factor') ?? 1;
	if (lon0 === undefined || k !== 1) {
		return { crs: null, why: { zh: '.prj 参数不是3度带高斯投影', en: '.prj parameters are not a 3° Gauss-Krüger zone' } };
	}
	const zone = GK_ZONES.find(
		(z) => z.lon0 === lon0 && (z.zonePrefixed ? x0 === z.zone * 1_000_000 + 500_000 : x0 === 500_000)
	);
	if (!zone) {
		return {
			crs: null,
			why: {
				zh: `.prj 中央经线 ${lon0}° 或东偏 ${x0} 不属于CGCS2000 3度带（EPSG:4513–4554）`,
				en: `.prj central meridian ${lon0}° or false easting ${x0} is not a CGCS2000 3° zone (EPSG:4513–4554)`
			}
		};
	}
	return {
		crs: `EPSG:${zone.epsg}`,
		why: { zh: `.prj 指明 ${crsLabel(`EPSG:${zone.epsg}`).zh}`, en: `.prj names ${crsLabel(`EPSG:${zone.epsg}`).en}` }
	};
}

/**
 * Guess the CRS from coordinate magnitudes alone. Longitude-latitude is told apart from metres easily; a
 * zone-prefixed easting (≥ 10⁷ m) names its own zone; a plain GK easting (about 2·10⁵ … 8·10⁵ m) needs a central
 * meridian, taken from `nearLng` (the township's longitude) when known. GCJ-02 and BD-09 cannot be told from
 * WGS-84 by the numbers: the admin says so when they picked on AMap or Baidu.
 */
export function guessCrsFromCoordinates(sample: readonly Position[], nearLng?: number): CrsGuess {
	const finite = sample.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]));
	if (finite.length === 0) return { crs: null, why: { zh: '文件中没有坐标', en: 'the file has no coordinates' } };
	const lngLat = finite.every((p) => Math.abs(p[0]) <= 180 && Math.abs(p[1]) <= 90);
	if (lngLat) {
		return {
			crs: 'wgs84',
			why: {
				zh: '坐标是经纬度，按WGS-84/CGCS2000处理；如果是在高德/腾讯或百度上取的点，请选择GCJ-02或BD-09',
				en: 'coordinates are longitude-latitude, taken as WGS-84/CGCS2000; if they were picked on AMap/Tencent or Baidu, choose GCJ-02 or BD-09'
			}
		};
	}
	const xs = finite.map((p) => p[0]);
	const ys = finite.map((p) => p[1]);
	const northingOk = ys.every((y) => y > 0 && y < 6_000_000);
	const zones = new Set(xs.map((x) => Math.floor(x / 1_000_000)));
	if (northingOk && zones.size === 1) {
		const z = [...zones][0];
		const zone = GK_ZONES.find((g) => g.zonePrefixed && g.zone === z);
		if (zone) {
			return {
				crs: `EPSG:${zone.epsg}`,
				why: {
					zh: `东坐标以带号 ${z} 开头：${crsLabel(`EPSG:${zone.epsg}`).zh}`,
					en: `eastings start with zone number ${z}: ${crsLabel(`EPSG:${zone.epsg}`).en}`
				}
			};
		}
	}
	if (northingOk && xs.every((x) => x > 100_000 && x < 900_000)) {
		if (nearLng !== undefined && Number.isFinite(nearLng)) {
			// The easting says how far east of its meridian the data lies; pick the meridian that puts it nearest the
			// township (a township near a zone edge may well use the neighbouring zone's meridian).
			const meanX = xs.reduce((a, b) => a + b, 0) / xs.length;
			const lat = ys.reduce((a, b) => a + b, 0) / ys.length / 110_574;
			const offsetDeg = (meanX - 500_000) / (111_320 * Math.cos((lat * Math.PI) / 180));
			const zone = GK_ZONES.filter((g) => !g.zonePrefixed).reduce((best, g) =>
				Math.abs(g.lon0 + offsetDeg - nearLng) < Math.abs(best.lon0 + offsetDeg - nearLng) ? g : best
			);
			const lon0 = zone.lon0;
			if (Math.abs(lon0 + offsetDeg - nearLng) < 1) {
				return {
					crs: `EPSG:${zone.epsg}`,
					why: {
						zh: `坐标是米制高斯投影（无带号），取使其落在本镇附近的中央经线${lon0}°E；如不对请手动选择`,
						en: `coordinates are Gauss-Krüger metres without a zone number; central meridian ${lon0}°E puts them at the township — choose another if wrong`
					}
				};
			}
		}
		return {
			crs: null,
			why: {
				zh: '坐标是米制高斯投影但没有带号，请选择中央经线',
				en: 'coordinates are Gauss-Krüger metres without a zone number: choose the central meridian'
			}
		};
	}
	return {
		crs: null,
		why: {
			zh: '坐标既不是经纬度也不像CGCS2000 3度带高斯坐标，请选择坐标系',
			en: 'coordinates are neither longitude-latitude nor CGCS2000 3° Gauss-Krüger: choose the coordinate system'
		}
	};
}
