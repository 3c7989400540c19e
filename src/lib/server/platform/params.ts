// Query-string, form and path parameters, parsed to the range of the column they end up in. A value the database
// would refuse ("integer out of range", "date/time field value out of range") is refused here first with a 400 that
// names the field, never a 500. Numbers are plain decimal digits: Number() alone takes '0xff', '1e9', ' 7 ' and ''.
import { error } from '@sveltejs/kit';
import { z } from 'zod';

/** PostgreSQL integer (int4) and the part of bigint (int8) a JavaScript number holds exactly. */
export const INT4_MAX = 2_147_483_647;
export const INT8_SAFE_MAX = Number.MAX_SAFE_INTEGER;

/** A whole number in [min, max], written as decimal digits (a leading '+' or '-' allowed only where min < 0). */
export function intParam(min: number, max: number, message?: string) {
	const digits = min < 0 ? /^[+-]?\d{1,16}$/ : /^\+?\d{1,16}$/;
	const msg = message ?? `须为 ${min} 至 ${max} 的整数 must be a whole number from ${min} to ${max}`;
	return z
		.string()
		.trim()
		.regex(digits, msg)
		.transform(Number)
		.pipe(z.number().int().min(min, msg).max(max, msg));
}

/** A whole number from a JSON body, in [min, max]: JSON's 1e20 is an integer to JavaScript, not to int4/int8. */
export const jsonInt = (min: number, max: number) => z.number().int().min(min).max(max);

/** The id of a serial (int4) row: villages, cadres, cases, users, tokens. */
export const id4 = intParam(1, INT4_MAX);
/** The id of a bigserial (int8) row: audit entries, dead letters, attempts. */
export const id8 = intParam(1, INT8_SAFE_MAX);

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Text for a text or JSON column: PostgreSQL cannot store U+0000, and half of a UTF-16 surrogate pair is no character
 * at all (jsonb refuses it), so both are refused here instead of failing the query.
 */
export function text(max: number) {
	return z
		.string()
		.max(max, `最多 ${max} 个字符 at most ${max} characters`)
		.refine((s) => !s.includes('\u0000') && !LONE_SURROGATE.test(s), '含有无效字符 contains an invalid character (NUL or a lone surrogate)');
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
/** A real calendar day YYYY-MM-DD between 1900 and 9999 (2025-02-30 is not one). */
export const day = z.string().refine((s) => {
	if (!DAY.test(s)) return false;
	const d = new Date(s + 'T00:00:00Z');
	return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s) && s >= '1900-01-01';
}, '须为日期 YYYY-MM-DD must be a date YYYY-MM-DD');

/** An ISO-8601 instant with an offset, between 1900 and 9999 (PostgreSQL refuses year 0; JavaScript writes 5-digit years with a sign). */
export const instant = z
	.string()
	.datetime({ offset: true })
	.refine((s) => {
		const t = Date.parse(s);
		return Number.isFinite(t) && t >= Date.UTC(1900, 0, 1) && t < Date.UTC(10000, 0, 1);
	}, '须为 1900–9999 年间的时间 must be a time between the years 1900 and 9999');

const LOCAL = /^(\d{4})-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/;
/** A wall-clock time from <input type="datetime-local"> (no offset; TZ_DISPLAY applies), years 1900–9999. */
export const localTime = (message = '须为时间 YYYY-MM-DDTHH:MM must be a local time YYYY-MM-DDTHH:MM') =>
	z.string().refine((s) => {
		const m = LOCAL.exec(s);
		if (!m || Number(m[1]) < 1900) return false;
		const d = new Date(s.length === 16 ? s + ':00Z' : s + 'Z');
		return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s);
	}, message);

/** One line naming every bad field: "village: … ; from: …". */
export function issuesMessage(err: z.ZodError, fallback = 'input'): string {
	return err.issues.map((i) => `${i.path.join('.') || fallback}: ${i.message}`).join('; ');
}

/**
 * The query string against a schema: the first value of each key the schema knows, blank values dropped (an empty
 * select means "any"). Throws a 400 naming the bad fields.
 */
export function parseQuery<S extends z.ZodObject>(schema: S, params: URLSearchParams): z.output<S> {
	const raw: Record<string, string> = {};
	for (const [k, v] of params) if (!(k in raw) && v.trim() !== '' && k in schema.shape) raw[k] = v;
	const parsed = schema.safeParse(raw);
	if (!parsed.success) error(400, issuesMessage(parsed.error, 'query'));
	return parsed.data;
}

/** One optional query parameter against a schema; null when absent or blank. Throws a 400 naming it. */
export function queryParam<T>(params: URLSearchParams, name: string, schema: z.ZodType<T, string>): T | null {
	const v = params.get(name);
	if (v === null || v.trim() === '') return null;
	const parsed = schema.safeParse(v);
	if (!parsed.success) error(400, `${name}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
	return parsed.data;
}

/** A text path segment such as a device id: one no column can hold (NUL, a lone surrogate, too long) names no row, so 404. */
export function pathKey(raw: string, notFound = '未找到 not found', max = 128): string {
	if (!text(max).min(1).safeParse(raw).success) error(404, notFound);
	return raw;
}

/** A numeric path segment such as /incidents/[id]: anything outside the column's range names no row, so 404. */
export function pathId(raw: string, notFound = '未找到 not found', max = INT4_MAX): number {
	const parsed = intParam(1, max).safeParse(raw);
	if (!parsed.success) error(404, notFound);
	return parsed.data;
}
