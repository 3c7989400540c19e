// A batch of readings as the data of `COPY readings … FROM STDIN (FORMAT binary)`, the fast path's insert on a real
// PostgreSQL (ingest/writer.ts). PostgreSQL's binary COPY format (docs: sql-copy.html, "Binary Format"): a signature,
// a flags word and a header extension length, then per row a 16-bit field count and each field as a 32-bit length
// (-1 for NULL) and its bytes in the type's binary send/recv form, then a 16-bit -1.
//
// Why: the unnest INSERT needs every value printed into an array literal, sent as text and parsed back by
// PostgreSQL; per 15,000-row batch that is ~1.4 MB of text. In binary the same batch with its rollups takes 0.75× the
// time (`npm run bench:rollup`, encoding included). PGlite cannot COPY FROM STDIN, so the embedded database keeps the
// unnest statement; both store the same rows (tests/integration/array-literals.spec.ts).
import type { Reading } from '../src/lib/domain/types.js';

export const READINGS_COPY_SQL = 'COPY readings (device_id, metric, observed_at, value, received_at, flags, seq) FROM STDIN (FORMAT binary)';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** 2000-01-01T00:00:00Z, PostgreSQL's timestamp epoch, in Unix milliseconds. */
const PG_EPOCH_MS = 946_684_800_000;
const TWO_32 = 4_294_967_296;
/** Bytes of a row apart from its two strings: field count, 7 lengths, 2 timestamps, float8, int2, int8. */
const ROW_FIXED = 2 + 7 * 4 + 8 + 8 + 8 + 2 + 8;

/** Writes `n`, an integer, as a big-endian int64 at `o` (exact for any safe integer; BigInt beyond). */
function int64(buf: Buffer, o: number, n: number): void {
	if (Number.isSafeInteger(n)) {
		const hi = Math.floor(n / TWO_32);
		buf.writeInt32BE(hi, o);
		buf.writeUInt32BE(n - hi * TWO_32, o + 4);
	} else {
		buf.writeBigInt64BE(BigInt(n), o);
	}
}

/**
 * A timestamptz: microseconds since 2000-01-01 UTC. Readings carry whole milliseconds (Date), so this is exact and the
 * same instant as the unnest path's to_timestamp(ms / 1000.0). A Date beyond the int64 range of microseconds cannot
 * occur (JavaScript dates end at ±8.64e15 ms); PostgreSQL refuses one outside its own range, as it does in the other path.
 */
function timestamptz(buf: Buffer, o: number, ms: number): void {
	const us = (ms - PG_EPOCH_MS) * 1000;
	if (Number.isSafeInteger(us)) int64(buf, o, us);
	else buf.writeBigInt64BE(BigInt(ms - PG_EPOCH_MS) * 1000n, o);
}

/**
 * The binary COPY data of `readings`, in the column order of READINGS_COPY_SQL. A value its column cannot hold (flags
 * outside int2, a seq that is not an integer) throws with SQLSTATE 22003, as PostgreSQL would refuse it in the unnest
 * path: the writer then treats the batch as bad data (message by message, dead letters), not as a lost connection to
 * retry. Validation lets no such value through today.
 */
export function readingsCopyData(readings: readonly Reading[]): Buffer {
	try {
		return encode(readings);
	} catch (err) {
		if (!(err instanceof RangeError)) throw err;
		throw Object.assign(new Error(`reading out of range for its column: ${err.message}`), { code: '22003' });
	}
}

function encode(readings: readonly Reading[]): Buffer {
	let size = SIGNATURE.length + 8 + 2;
	for (const r of readings) size += ROW_FIXED + 3 * (r.deviceId.length + r.metric.length);
	const buf = Buffer.allocUnsafe(size);
	SIGNATURE.copy(buf, 0);
	let o = SIGNATURE.length;
	buf.writeInt32BE(0, o); // flags: no OIDs
	buf.writeInt32BE(0, o + 4); // header extension length
	o += 8;
	for (const r of readings) {
		buf.writeInt16BE(7, o);
		o += 2;
		// A string takes at most 3 bytes per UTF-16 unit in UTF-8, so the size above always suffices.
		let n = buf.write(r.deviceId, o + 4, 'utf8');
		buf.writeInt32BE(n, o);
		o += 4 + n;
		n = buf.write(r.metric, o + 4, 'utf8');
		buf.writeInt32BE(n, o);
		o += 4 + n;
		buf.writeInt32BE(8, o);
		timestamptz(buf, o + 4, r.observedAt.getTime());
		buf.writeInt32BE(8, o + 12);
		buf.writeDoubleBE(r.value + 0, o + 16); // -0 is stored as 0, as the unnest path's literal prints it
		buf.writeInt32BE(8, o + 24);
		timestamptz(buf, o + 28, r.receivedAt.getTime());
		buf.writeInt32BE(2, o + 36);
		buf.writeInt16BE(r.flags, o + 40);
		o += 42;
		if (r.seq === undefined || r.seq === null) {
			buf.writeInt32BE(-1, o);
			o += 4;
		} else {
			if (!Number.isInteger(r.seq)) throw new RangeError(`seq ${r.seq} is not an integer`);
			buf.writeInt32BE(8, o);
			int64(buf, o + 4, r.seq);
			o += 12;
		}
	}
	buf.writeInt16BE(-1, o);
	return buf.subarray(0, o + 2);
}
