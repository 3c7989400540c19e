// shpjs ships no types; only the two pieces geo/import.ts uses are declared (shpjs 6, lib/index.js).
declare module 'shpjs' {
	import type { Geometry } from 'geojson';
	/** Geometries of a .shp; with a .prj (WKT or proj4 converter) they are reprojected to WGS-84, without it left as is. */
	export function parseShp(shp: DataView | ArrayBuffer, prj?: string | false): Geometry[];
	/** Rows of a .dbf, decoded with the .cpg code page (UTF-8 when absent). */
	export function parseDbf(dbf: DataView | ArrayBuffer, cpg?: string): Record<string, unknown>[];
}
