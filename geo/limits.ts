// Every limit a boundary file meets, in one place: the importer enforces them, the admin page lists them, the README
// documents them. They are sized for a township: its villages fit in a few megabytes and well under a million
// vertices; a file past them is almost always a whole county, a parcel layer or an undigitised GPS trace, and is
// refused in milliseconds instead of being checked for minutes.

export const IMPORT_LIMITS = {
	/** Bytes of the uploaded file. */
	fileBytes: 20 * 1024 * 1024,
	/** Features (villages) in the file. */
	features: 2000,
	/** Polygon parts across the file (a multipolygon's islands; holes are not counted). */
	parts: 5000,
	/** Vertices across the file. */
	vertices: 1_500_000,
	/** Entries in a zip (KMZ or zipped Shapefile). */
	zipEntries: 100,
	/** Inflated bytes of one zip entry. */
	zipEntryBytes: 100 * 1024 * 1024,
	/** Inflated bytes of all entries read. */
	zipTotalBytes: 100 * 1024 * 1024,
	/** Inflated / compressed size of an entry: boundary data compresses 2–20×; a zip bomb 1000×. */
	zipRatio: 200,
	/**
	 * Vertices up to which gaps between villages are looked for: the check merges every village into one outline
	 * (@turf/union), which takes about 7 s per 100,000 vertices; above this the report says it was skipped.
	 */
	gapCheckVertices: 200_000,
	/** Time for reading and checking one file, in a worker thread; past it the worker is stopped. */
	checkMs: 120_000
} as const;

/** How to bring a file under the vertex or part limit, said once for every message that needs it. */
export const SIMPLIFY_HINT = {
	zh: '请先简化：mapshaper 中运行 `-simplify interval=2`（保留2米以内的形状），或在 QGIS 中用 “矢量 → 几何工具 → 简化”（容差 0.00002°，约2米）；只导出本镇的村界图层。',
	en: 'Simplify it first: in mapshaper run `-simplify interval=2` (keeps the shape within 2 m), or in QGIS use Vector → Geometry Tools → Simplify (tolerance 0.00002°, about 2 m); export only this township’s village layer.'
} as const;

/** Lines for the admin page: what is refused, in both languages. */
export function limitLines(): { zh: string; en: string }[] {
	const L = IMPORT_LIMITS;
	const mb = (n: number) => `${Math.round(n / 1024 / 1024)} MB`;
	return [
		{ zh: `文件不超过 ${mb(L.fileBytes)}`, en: `file up to ${mb(L.fileBytes)}` },
		{ zh: `不超过 ${L.features} 个村（要素）`, en: `at most ${L.features} villages (features)` },
		{ zh: `不超过 ${L.parts} 个面块`, en: `at most ${L.parts} polygon parts` },
		{ zh: `不超过 ${L.vertices.toLocaleString('en')} 个顶点`, en: `at most ${L.vertices.toLocaleString('en')} vertices` },
		{
			zh: `压缩包：不超过 ${L.zipEntries} 个文件，解压后不超过 ${mb(L.zipTotalBytes)}，压缩比不超过 ${L.zipRatio} 倍`,
			en: `zip: at most ${L.zipEntries} entries, ${mb(L.zipTotalBytes)} unpacked, compression ratio ${L.zipRatio}×`
		},
		{
			zh: `超过 ${L.gapCheckVertices.toLocaleString('en')} 个顶点的文件不检查村界之间的空隙`,
			en: `gaps between villages are not checked above ${L.gapCheckVertices.toLocaleString('en')} vertices`
		},
		{ zh: `读取和检查限时 ${L.checkMs / 1000} 秒`, en: `reading and checking stops after ${L.checkMs / 1000} s` }
	];
}
