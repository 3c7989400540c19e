// Gzip of a large response body on more than one core, as pigz does it: the body is cut into pieces, each piece is
// deflated on its own in libuv's thread pool at the same time, and the pieces' raw deflate streams are joined into one
// gzip member (RFC 1952: header, deflate data, CRC-32 and length of the whole body).
//
// Joining is valid deflate (RFC 1951): every piece but the last ends with a sync flush — an empty stored block that
// leaves the stream byte-aligned with no final-block bit — and only the last piece ends the stream. No piece refers
// back into an earlier one (each was compressed without the others' bytes), so the decoder needs nothing from the
// boundary. The cost is a slightly larger result (each piece starts with an empty dictionary: +0.7 % at 8 pieces of the
// sensor list). Any gzip decoder reads it: it is one ordinary member, not several concatenated members.
//
// Why: the 10,000-sensor list is 2.8 MB; gzip level 1 takes ~14 ms of its server time on one pool thread while the
// other core waits; in 8 pieces ~8 ms (`npm run bench:queries`).
import { deflateRaw, constants, crc32 } from 'node:zlib';
import { promisify } from 'node:util';
import Negotiator from 'negotiator';

const deflateRawAsync = promisify(deflateRaw);

/** Characters per piece at least: below that the pool hand-off costs more than it saves. */
const MIN_PIECE = 256 * 1024;

/** gzip header: magic, deflate, no flags, no mtime, no extra flags, OS unknown (255). */
const HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);

export async function gzipParallel(body: string, opts: { level?: number; pieces?: number } = {}): Promise<Buffer<ArrayBuffer>> {
	// Cut by characters (a JS string cannot be cut by bytes), each piece encoded to UTF-8 and handed to the pool before
	// the next is encoded, so encoding overlaps deflating. A cut never splits a surrogate pair (a lone surrogate, which
	// UTF-8 cannot hold, is encoded as U+FFFD wherever the cut falls, as Buffer.from does).
	const want = Number.isFinite(opts.pieces) ? Math.floor(opts.pieces!) : 8;
	const pieces = Math.max(1, Math.min(want, Math.floor(body.length / MIN_PIECE) || 1));
	const step = Math.ceil(body.length / pieces);
	const parts: Promise<Buffer>[] = [];
	let crc = 0;
	let length = 0;
	for (let from = 0; from < body.length || parts.length === 0; ) {
		let to = Math.min(body.length, from + step);
		if (to < body.length && isHighSurrogate(body.charCodeAt(to - 1)) && isLowSurrogate(body.charCodeAt(to))) to++;
		const last = to >= body.length;
		const data = Buffer.from(body.slice(from, to));
		parts.push(deflateRawAsync(data, { level: opts.level ?? 1, finishFlush: last ? constants.Z_FINISH : constants.Z_SYNC_FLUSH }));
		crc = crc32(data, crc);
		length += data.length;
		from = to;
		if (last) break;
	}
	const trailer = Buffer.alloc(8);
	trailer.writeUInt32LE(crc >>> 0, 0);
	// ISIZE is the length modulo 2^32 (RFC 1952 §2.3.1).
	trailer.writeUInt32LE(length % 0x1_0000_0000, 4);
	return Buffer.concat([HEADER, ...(await Promise.all(parts)), trailer]);
}

function isHighSurrogate(c: number): boolean {
	return c >= 0xd800 && c <= 0xdbff;
}

function isLowSurrogate(c: number): boolean {
	return c >= 0xdc00 && c <= 0xdfff;
}

/**
 * A response body, gzipped when the client accepts it (RFC 9110 §12.5.3) and it is worth it: the sensor list's route
 * and its benchmark (scripts/bench-queries.ts) both call this, so the benchmark times what the route does. Level 1
 * because it runs per request and already shrinks the list ninefold: levels above it save a tenth more for twice the time.
 */
export async function encodeBody(body: string, acceptEncoding: string | null): Promise<{ body: string | Buffer<ArrayBuffer>; gzip: boolean }> {
	if (body.length > 8192 && acceptsGzip(acceptEncoding)) return { body: await gzipParallel(body, { level: 1 }), gzip: true };
	return { body, gzip: false };
}

/**
 * Whether an Accept-Encoding header allows gzip: listed, or covered by `*`, with a weight above 0. `gzip;q=0` and
 * `*;q=0` refuse it (RFC 9110 §12.4.2, §12.5.3): a mere mention of the word is not a yes.
 * The header's grammar (weights, case, spaces) is left to `negotiator`, the parser Express and Koa use.
 */
export function acceptsGzip(acceptEncoding: string | null): boolean {
	if (!acceptEncoding) return false;
	return new Negotiator({ headers: { 'accept-encoding': acceptEncoding } }).encodings(['gzip']).length > 0;
}
