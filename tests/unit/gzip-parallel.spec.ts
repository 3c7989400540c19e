import { describe, expect, it } from 'vitest';
import { gunzipSync, createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { encodeBody, gzipParallel } from '../../src/lib/server/platform/gzip-parallel';

const PIECE = 256 * 1024;

/** A sensor-list-like text: ASCII JSON with Chinese names and, now and then, characters outside the BMP. */
function listLike(chars: number): string {
	let s = '';
	for (let i = 0; s.length < chars; i++) s += `{"id":"RL-${i}","name":"清溪河水位站${i}${i % 97 === 0 ? '𠀋😀' : ''}","status":"normal"},`;
	return s.slice(0, chars);
}

describe('gzipParallel', () => {
	it('is one gzip member that any decoder reads back to the same text, for small and multi-piece bodies', async () => {
		for (const body of ['', 'x', '清溪镇', listLike(5000), listLike(3 * 1024 * 1024)]) {
			for (const pieces of [1, 2, 8]) {
				const gz = await gzipParallel(body, { pieces });
				expect(gz.subarray(0, 3)).toEqual(Buffer.from([0x1f, 0x8b, 8]));
				expect(gunzipSync(gz).toString()).toBe(body);
				// Streaming decoder, fed in small chunks as a browser receives it.
				const chunks = Array.from({ length: Math.ceil(gz.length / 1000) }, (_, i) => gz.subarray(i * 1000, (i + 1) * 1000));
				expect((await buffer(Readable.from(chunks).pipe(createGunzip()))).toString()).toBe(body);
			}
		}
	});

	it('never cuts a surrogate pair: a character outside the BMP exactly at a cut survives', async () => {
		// Two pieces of PIECE + 1 characters: the first cut falls between the emoji's two halves.
		const step = PIECE + 1;
		const body = 'a'.repeat(step - 1) + '😀' + 'b'.repeat(step - 1);
		expect(body.charCodeAt(step - 1)).toBeGreaterThanOrEqual(0xd800);
		const out = gunzipSync(await gzipParallel(body, { pieces: 2 })).toString();
		expect(out).toBe(body);
		expect(out).not.toContain('\ufffd');
	});

	it('does not pair a lone high surrogate at a cut with the next character, and survives any pieces option', async () => {
		const step = PIECE + 1;
		// A lone high surrogate just before the cut, then a real pair right after it.
		const body = 'a'.repeat(step - 1) + '\ud800' + '😀' + 'b'.repeat(step - 2);
		expect(gunzipSync(await gzipParallel(body, { pieces: 2 })).toString()).toBe(Buffer.from(body).toString());
		for (const pieces of [NaN, 0, -3, 2.7, Infinity]) expect(gunzipSync(await gzipParallel(body, { pieces })).toString()).toBe(Buffer.from(body).toString());
	});

	it('costs little in size against one-piece gzip on a 3 MB list', async () => {
		const body = listLike(3 * 1024 * 1024);
		const one = await gzipParallel(body, { pieces: 1 });
		const eight = await gzipParallel(body, { pieces: 8 });
		expect(eight.length).not.toBe(one.length); // really cut into pieces
		expect(eight.length).toBeLessThan(one.length * 1.05); // +0.7 % on the real 10,000-sensor list
		expect(one.length).toBeLessThan(Buffer.byteLength(body) / 5);
	});
});

describe('encodeBody', () => {
	it('gzips only a large body for a client that accepts gzip', async () => {
		const big = listLike(20_000);
		expect((await encodeBody(big, 'gzip, deflate, br')).gzip).toBe(true);
		expect(await encodeBody(big, 'br')).toEqual({ body: big, gzip: false });
		expect(await encodeBody(big, null)).toEqual({ body: big, gzip: false });
		expect(await encodeBody('{"features":[]}', 'gzip')).toEqual({ body: '{"features":[]}', gzip: false });
		expect(gunzipSync((await encodeBody(big, 'gzip')).body as Buffer).toString()).toBe(big);
	});

	it('sends no gzip to a client that refuses it with a weight of 0', async () => {
		const big = listLike(20_000);
		for (const refusal of ['gzip;q=0', 'gzip; q=0.000, identity', 'deflate, *;q=0', 'x-gzip']) {
			expect(await encodeBody(big, refusal), refusal).toEqual({ body: big, gzip: false });
		}
		for (const consent of ['GZIP', 'gzip;q=0.1, identity', '*', 'br;q=1.0, gzip;q=0.8, *;q=0.1']) {
			expect((await encodeBody(big, consent)).gzip, consent).toBe(true);
		}
	});
});
