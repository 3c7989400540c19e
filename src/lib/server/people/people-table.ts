// Bytes of a people spreadsheet (CSV in UTF-8 or GBK, or XLSX) → its rows, each with the row number Excel shows.
// A pure function of (bytes, file name): no database, no files, no clock, and a result that survives structured
// cloning, so it runs in a worker thread as well as inline. Size guards refuse a file before parsing starts.
import { parse as parseCsv } from 'csv-parse/sync';
import { readSheet } from 'read-excel-file/node';

/** Upload limit for one people file. */
export const MAX_TABLE_BYTES = 5 * 1024 * 1024;
/** Data rows in one import; a township's cadres, assignments or a year of duty days fit many times over. */
export const MAX_TABLE_ROWS = 5000;
/**
 * Inflated size of everything an XLSX holds (sheet XML, shared strings, styles). 5,000 rows of ten short cells
 * inflate to 3.2 MB and parse in about 1.2 s; 60,000 rows still fit a 3.3 MB upload, inflate to 40 MB and take
 * about 6 s before the row count could refuse them. 12 MB leaves room for wide rows and long cells.
 */
export const MAX_SHEET_XML_BYTES = 12 * 1024 * 1024;

/** One non-blank row; `row` is the 1-based sheet row number, counting title rows and blank rows as Excel does. */
export interface SheetRow {
	row: number;
	cells: string[];
}

export type ParsedTable =
	| { ok: true; format: 'csv' | 'xlsx'; encoding: 'utf-8' | 'gbk' | null; rows: SheetRow[] }
	| { ok: false; zh: string; en: string };

export interface ParseInput {
	bytes: Uint8Array;
	fileName: string;
}

const refuse = (zh: string, en: string): ParsedTable => ({ ok: false, zh, en });

export async function parsePeopleTable({ bytes, fileName }: ParseInput): Promise<ParsedTable> {
	if (bytes.byteLength > MAX_TABLE_BYTES) {
		return refuse(`文件太大，上限 ${MAX_TABLE_BYTES / 1024 / 1024} MB。`, `The file is too large; the limit is ${MAX_TABLE_BYTES / 1024 / 1024} MB.`);
	}
	let grid: string[][];
	let format: 'csv' | 'xlsx';
	let encoding: 'utf-8' | 'gbk' | null = null;
	if (bytes[0] === 0x50 && bytes[1] === 0x4b) {
		format = 'xlsx';
		const inflated = zipInflatedBytes(bytes);
		if (inflated === null) return refuse('无法读取这个Excel文件（压缩包已损坏）。', 'Cannot read this Excel file (the archive is damaged).');
		if (inflated > MAX_SHEET_XML_BYTES) {
			return refuse(
				`Excel 文件解压后超过 ${MAX_SHEET_XML_BYTES / 1024 / 1024} MB（上限约 ${MAX_TABLE_ROWS} 行）：请删去多余的工作表、空白格式和图片，或另存为 CSV 分批导入。`,
				`The Excel file inflates to more than ${MAX_SHEET_XML_BYTES / 1024 / 1024} MB (the limit is about ${MAX_TABLE_ROWS} rows): delete extra sheets, formatting and pictures, or save as CSV and import in parts.`
			);
		}
		try {
			grid = (await readSheet(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))).map((r) => r.map(cellText));
		} catch {
			return refuse('无法读取这个Excel文件（只支持 .xlsx，旧的 .xls 请另存为 .xlsx 或 CSV）。', 'Cannot read this Excel file (only .xlsx; save old .xls files as .xlsx or CSV).');
		}
	} else if (/\.xls$/i.test(fileName) || (bytes[0] === 0xd0 && bytes[1] === 0xcf)) {
		return refuse('旧的 .xls 格式不支持，请另存为 .xlsx 或 CSV。', 'The old .xls format is not supported; save as .xlsx or CSV.');
	} else {
		format = 'csv';
		const decoded = decodeText(bytes);
		encoding = decoded.encoding;
		try {
			// Blank lines stay as records so the index of each record is the row Excel shows for it.
			grid = parseCsv(decoded.text, { bom: true, relax_column_count: true, skip_empty_lines: false, trim: true }) as string[][];
		} catch (e) {
			return refuse(`CSV 格式错误：${(e as Error).message}`, `The CSV is malformed: ${(e as Error).message}`);
		}
	}
	const rows: SheetRow[] = [];
	grid.forEach((cells, i) => {
		if (cells.some((c) => c.trim() !== '')) rows.push({ row: i + 1, cells });
	});
	if (rows.length < 2) return refuse('表格是空的：表头下面每行一条。', 'The table is empty: one row each below the header.');
	// A few rows of title and header come on top of the data rows.
	if (rows.length > MAX_TABLE_ROWS + 10) {
		return refuse(`超过 ${MAX_TABLE_ROWS} 行，请分批导入。`, `More than ${MAX_TABLE_ROWS} rows; import in parts.`);
	}
	return { ok: true, format, encoding, rows };
}

function cellText(c: unknown): string {
	if (c === null || c === undefined) return '';
	if (c instanceof Date) return c.toISOString().slice(0, 10);
	return String(c).trim();
}

/** Excel on Chinese Windows saves CSV as GBK; everything else is UTF-8. */
function decodeText(bytes: Uint8Array): { text: string; encoding: 'utf-8' | 'gbk' } {
	try {
		return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), encoding: 'utf-8' };
	} catch {
		return { text: new TextDecoder('gbk').decode(bytes), encoding: 'gbk' };
	}
}

/**
 * Sum of the uncompressed sizes the zip's central directory declares (APPNOTE.TXT 4.3.12 and 4.3.16), read
 * without inflating anything; null when there is no readable directory. ZIP64 markers (0xFFFFFFFF) count as
 * their full value, which is over any limit here. This stops honest large workbooks, the common case, before
 * minutes go into them; a forged directory that understates sizes is not caught here.
 */
export function zipInflatedBytes(bytes: Uint8Array): number | null {
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	// The end-of-central-directory record is 22 bytes plus a comment of at most 65,535 bytes.
	for (let eocd = bytes.length - 22; eocd >= Math.max(0, bytes.length - 22 - 0xffff); eocd--) {
		if (view.getUint32(eocd, true) !== 0x06054b50) continue;
		const entries = view.getUint16(eocd + 10, true);
		let at = view.getUint32(eocd + 16, true);
		let total = 0;
		for (let i = 0; i < entries; i++) {
			if (at + 46 > bytes.length || view.getUint32(at, true) !== 0x02014b50) return null;
			total += view.getUint32(at + 24, true);
			at += 46 + view.getUint16(at + 28, true) + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
		}
		return total;
	}
	return null;
}
