// The jobs that run in worker threads (./heavy-work.ts), one entry each: a name, and a function from plain data to
// plain data (whatever structured clone carries: strings, numbers, arrays, typed arrays). Adding a task is one line
// in `heavyTasks`; `run()` takes its name and types its input and output from here. Nothing here may touch the
// database, the broker or the runtime: a worker has none of them. Files are fine: uploads arrive as a path under
// DATA_DIR/incoming (platform/upload-stream.ts) and staged boundaries live under DATA_DIR/staging, so megabytes of
// geometry never pass through the event loop that serves pages, broker and ingest.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { stagedFiles } from './platform/upload-stream.js';
import { VillageIndex, bbox, importBoundaries, importReport, type Boundary, type CrsChoice, type ReportItem } from '../../../geo/index.js';
import { simplifyToBudget, vertexCount } from '../../../geo/simplify.js';
import { parsePeopleTable, type ParseInput, type ParsedTable } from './people/people-table.js';

export interface BoundaryCheckInput {
	bytes: Uint8Array;
	fileName: string;
	crs: CrsChoice;
	/** The township's extent, WGS-84 [minLng, minLat, maxLng, maxLat], or null for an empty database. */
	township: [number, number, number, number] | null;
	/** Vertices of the township's known lines (villages, outline), WGS-84, to tell GCJ-02 files by their offset. */
	known: [number, number][];
}

export interface BoundaryCheckOutput {
	format: string;
	crs: string;
	crsWhy: { zh: string; en: string };
	villages: { index: number; name: string | null; code: string | null }[];
	/**
	 * Each village's geometry as JSON text, in `villages` order: a string crosses the thread boundary as one copy,
	 * where a million nested arrays would be rebuilt one by one on the event loop the worker is there to spare.
	 */
	geometries: string[];
	report: ReportItem[];
}

/** Read, convert and check a boundary file (geo/import, geo/crs, geo/import-report). */
async function checkBoundaries(input: BoundaryCheckInput) {
	const { township } = input;
	const result = await importBoundaries(input.bytes, input.fileName, {
		crs: input.crs,
		nearLng: township ? (township[0] + township[2]) / 2 : undefined,
		known: { vertices: input.known }
	});
	const report = importReport(result.villages, {
		township,
		skipped: result.skipped,
		closedLines: result.closedLines,
		missingParts: result.missingParts,
		gcj02: result.gcj02
	});
	return { result, report };
}

async function boundaryCheck(input: BoundaryCheckInput): Promise<BoundaryCheckOutput> {
	const { result, report } = await checkBoundaries(input);
	return {
		format: result.format,
		crs: result.crs,
		crsWhy: result.crsWhy,
		villages: result.villages.map((v) => ({ index: v.index, name: v.name, code: v.code })),
		geometries: result.villages.map((v) => JSON.stringify(v.geometry, sevenDecimals)),
		report
	};
}

/** Vertices the import preview shows at most: enough to look like the file on a township map, ~1 MB of JSON. */
export const PREVIEW_VERTICES = 50_000;

export interface BoundaryStageInput extends Omit<BoundaryCheckInput, 'bytes'> {
	/** The file: a path under DATA_DIR/incoming, or its bytes (scripts and tests). */
	source: { path: string } | { bytes: Uint8Array };
	/** Where the staged geometry goes: `<dir>/<token>.json` (as checked) and `<dir>/<token>.preview.json` (simplified). */
	stagingDir: string;
	token: string;
}

export interface BoundaryStageOutput extends Omit<BoundaryCheckOutput, 'geometries' | 'villages'> {
	villages: { index: number; name: string | null; code: string | null; vertices: number }[];
	preview: { vertices: number; shown: number; toleranceDeg: number };
}

async function writeWhole(path: string, text: string): Promise<void> {
	// A reader never sees half a file: written aside, then renamed into place.
	await writeFile(`${path}.tmp`, text);
	await rename(`${path}.tmp`, path);
}

/** Check a boundary file and write its staged geometry to files; only metadata and the report come back. */
async function boundaryStage(input: BoundaryStageInput): Promise<BoundaryStageOutput> {
	const bytes = 'path' in input.source ? new Uint8Array(await readFile(input.source.path)) : input.source.bytes;
	const { result, report } = await checkBoundaries({ ...input, bytes });
	const geometries = result.villages.map((v) => v.geometry);
	const simple = simplifyToBudget(geometries, PREVIEW_VERTICES);
	const files = stagedFiles(input.stagingDir, input.token);
	await writeWhole(files.full, `[${geometries.map((g) => JSON.stringify(g, sevenDecimals)).join(',')}]`);
	await writeWhole(files.preview, JSON.stringify(simple.geometries, sevenDecimals));
	const vertices = geometries.map(vertexCount);
	return {
		format: result.format,
		crs: result.crs,
		crsWhy: result.crsWhy,
		villages: result.villages.map((v, i) => ({ index: v.index, name: v.name, code: v.code, vertices: vertices[i] })),
		report,
		preview: {
			vertices: vertices.reduce((a, b) => a + b, 0),
			shown: simple.geometries.reduce((n, g) => n + vertexCount(g), 0),
			toleranceDeg: simple.tolerance
		}
	};
}

export interface BoundaryConfirmInput {
	/** The staged `.json` file. */
	path: string;
	/** The village id each staged geometry becomes (the one it replaces, or one taken from the sequence). */
	targets: number[];
	/** Villages the import leaves alone, boundaries as JSON text, so devices in them stay routed there. */
	others: { id: number; boundary: string }[];
	devices: { id: string; lng: number | null; lat: number | null; village_id: number | null }[];
}

export interface BoundaryConfirmOutput {
	/** Each staged geometry as JSON text and its box, in staged order. */
	geometries: string[];
	bboxes: [number, number, number, number][];
	/** Devices whose village changes with this import. */
	moves: { id: string; village_id: number | null }[];
}

/** Read a staged file for saving and work out where every device lands (the lookup live alarms use). */
async function boundaryConfirm(input: BoundaryConfirmInput): Promise<BoundaryConfirmOutput> {
	const staged = JSON.parse(await readFile(input.path, 'utf8')) as Boundary[];
	if (staged.length !== input.targets.length) throw new Error(`staged file holds ${staged.length} villages, expected ${input.targets.length}`);
	const index = new VillageIndex([
		...staged.map((geometry, i) => ({ id: input.targets[i], geometry })),
		...input.others.map((o) => ({ id: o.id, geometry: JSON.parse(o.boundary) as Boundary }))
	]);
	const moves: BoundaryConfirmOutput['moves'] = [];
	for (const d of input.devices) {
		const now = d.lng === null || d.lat === null ? null : index.locate([d.lng, d.lat]);
		if (now !== d.village_id) moves.push({ id: d.id, village_id: now });
	}
	return {
		geometries: staged.map((g) => JSON.stringify(g)),
		bboxes: staged.map((g) => bbox(g) as [number, number, number, number]),
		moves
	};
}

/** A people spreadsheet from an upload's path (or bytes) → its rows (./people/people-table). */
async function peopleTable(input: ParseInput | { path: string; fileName: string }): Promise<ParsedTable> {
	if ('path' in input) return parsePeopleTable({ bytes: new Uint8Array(await readFile(input.path)), fileName: input.fileName });
	return parsePeopleTable(input);
}

/** Coordinates to 7 decimals (about 1 cm): below any boundary's accuracy, and half the text of full doubles. */
function sevenDecimals(_key: string, value: unknown): unknown {
	return typeof value === 'number' ? Math.round(value * 1e7) / 1e7 : value;
}

export const heavyTasks = {
	boundaryCheck,
	boundaryStage,
	boundaryConfirm,
	/** CSV/XLSX of cadres, assignments or the duty roster → rows with their Excel row numbers (./people-table). */
	peopleTable
} satisfies Record<string, (input: never) => unknown>;

export type HeavyTasks = typeof heavyTasks;
export type HeavyTaskName = keyof HeavyTasks;
