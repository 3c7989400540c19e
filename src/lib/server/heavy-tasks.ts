// The jobs that run in worker threads (./heavy-work.ts), one entry each: a name, and a function from plain data to
// plain data (whatever structured clone carries: strings, numbers, arrays, typed arrays). Adding a task is one line
// in `heavyTasks`; `run()` takes its name and types its input and output from here. Nothing here may touch the
// database, the broker or the runtime: a worker has none of them.
import { importBoundaries, importReport, type CrsChoice, type ReportItem } from '../../../geo/index.js';
import { parsePeopleTable } from './people/people-table.js';

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
async function boundaryCheck(input: BoundaryCheckInput): Promise<BoundaryCheckOutput> {
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
	return {
		format: result.format,
		crs: result.crs,
		crsWhy: result.crsWhy,
		villages: result.villages.map((v) => ({ index: v.index, name: v.name, code: v.code })),
		geometries: result.villages.map((v) => JSON.stringify(v.geometry, sevenDecimals)),
		report
	};
}

/** Coordinates to 7 decimals (about 1 cm): below any boundary's accuracy, and half the text of full doubles. */
function sevenDecimals(_key: string, value: unknown): unknown {
	return typeof value === 'number' ? Math.round(value * 1e7) / 1e7 : value;
}

export const heavyTasks = {
	boundaryCheck,
	/** CSV/XLSX of cadres, assignments or the duty roster → rows with their Excel row numbers (./people-table). */
	peopleTable: parsePeopleTable
} satisfies Record<string, (input: never) => unknown>;

export type HeavyTasks = typeof heavyTasks;
export type HeavyTaskName = keyof HeavyTasks;
