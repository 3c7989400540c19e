// CSV for the leaders' exports: RFC 4180 (fields with a comma, quote or line break are quoted, quotes doubled, CRLF
// between records), a UTF-8 byte-order mark first so Excel opens the Chinese as UTF-8 instead of the local code page,
// and a guard against CSV/formula injection (OWASP "CSV Injection"): a text cell starting with = + - @ (or a tab or
// carriage return) gets a leading apostrophe, so a hostile case title never becomes an Excel formula.
// Numbers are written as numbers (a negative figure is not text and is not guarded).

export const BOM = '\uFEFF';

export type CsvValue = string | number | boolean | null | undefined;

const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(v: CsvValue): string {
	if (v === null || v === undefined) return '';
	if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
	let s = String(v);
	if (typeof v === 'string' && FORMULA_START.test(s)) s = "'" + s;
	return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

/** A whole CSV document: BOM, the header row, then the rows, CRLF-separated (RFC 4180 §2.1). */
export function toCsv(header: readonly string[], rows: readonly (readonly CsvValue[])[]): string {
	return BOM + [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n';
}
