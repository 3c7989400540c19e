// A multipart form upload streamed to a file on disk, chunk by chunk, with its size limit enforced while it
// streams. `request.formData()` would buffer the whole body and parse it in one go on the event loop that also
// serves pages, runs the embedded broker and stores readings (about a second for 20 MB); here the loop only ever
// handles one socket chunk at a time, and the file's path is what the worker thread (./heavy-work.ts) reads.
// Parser: busboy — the streaming multipart parser Multer and Fastify build on, maintained by mscdex; Node has no
// streaming multipart parser of its own, and a hand-written one would have to get boundaries split across chunks,
// header folding and limits right (RFC 7578).
import busboy from 'busboy';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';

/** The upload is refused: too large, not a form, or unreadable. `zh`/`en` are for the admin. */
export class UploadRefused extends Error {
	constructor(
		readonly zh: string,
		readonly en: string
	) {
		super(en);
		this.name = 'UploadRefused';
	}
}

export interface ReceivedFile {
	/** Where the bytes are, under DATA_DIR/incoming. */
	path: string;
	/** The name the browser gave, at most 200 characters. */
	name: string;
	bytes: number;
}

export interface ReceivedUpload {
	/** The form's text fields, in order. */
	fields: Map<string, string[]>;
	/** First value of a text field. */
	field(name: string): string | undefined;
	/** The file, or null when none was chosen (an empty file part). */
	file: ReceivedFile | null;
	/** Removes the file; safe to call twice. */
	discard(): Promise<void>;
}

export interface UploadOptions {
	/** DATA_DIR: the file goes to DATA_DIR/incoming. */
	dataDir: string;
	/** The form field that carries the file; other file fields are read past and dropped. */
	fileField: string;
	maxFileBytes: number;
	/** Text fields (a boundary form has two, a confirm form a few dozen answers). */
	maxFields?: number;
}

/** A staged boundary import's files: `.json` holds a JSON array of the villages' geometries in order, `.preview.json` their simplified copies. */
export const stagedFiles = (dir: string, token: string) => ({ full: join(dir, `${token}.json`), preview: join(dir, `${token}.preview.json`) });

/** Where uploads wait while a worker reads them. */
export const incomingDir = (dataDir: string) => join(resolve(dataDir), 'incoming');
/** An upload still here after this is left from a crash: a request reads its file within the check's time limit. */
export const INCOMING_MAX_AGE_MS = 60 * 60_000;

const mb = (n: number) => `${Math.round((n / 1024 / 1024) * 10) / 10} MB`;
const tooLarge = (max: number) => new UploadRefused(`文件太大，上限 ${mb(max)}。`, `The file is too large (limit ${mb(max)}).`);

/**
 * Streams a multipart/form-data request: text fields into memory, the one file to DATA_DIR/incoming. Throws
 * UploadRefused (and leaves no file) when the body is not a form, cannot be parsed, or the file passes
 * `maxFileBytes`; a declared Content-Length past the limit is refused before a byte is read.
 */
export async function receiveUpload(request: Request, opts: UploadOptions): Promise<ReceivedUpload> {
	const type = request.headers.get('content-type') ?? '';
	if (!/^multipart\/form-data/i.test(type) || !request.body) {
		throw new UploadRefused('请用表单上传文件。', 'Send the file from the upload form.');
	}
	// Headers and text fields take a few kilobytes at most: a body declared larger than the file limit plus that is refused unread.
	const declared = Number(request.headers.get('content-length'));
	if (Number.isFinite(declared) && declared > opts.maxFileBytes + 256 * 1024) throw tooLarge(opts.maxFileBytes);

	const dir = incomingDir(opts.dataDir);
	await mkdir(dir, { recursive: true });
	const fields = new Map<string, string[]>();
	let file: ReceivedFile | null = null;
	let refused: UploadRefused | null = null;
	const writes: Promise<void>[] = [];
	const written: string[] = [];

	let parser: busboy.Busboy;
	try {
		parser = busboy({
			headers: { 'content-type': type },
			limits: { fileSize: opts.maxFileBytes, files: 1, fields: opts.maxFields ?? 50, fieldSize: 64 * 1024, parts: (opts.maxFields ?? 50) + 1 },
			defParamCharset: 'utf8'
		});
	} catch {
		throw new UploadRefused('上传的表单无法读取。', 'The upload form could not be read.');
	}
	parser.on('field', (name, value) => {
		const list = fields.get(name) ?? [];
		list.push(value);
		fields.set(name, list);
	});
	parser.on('file', (name, stream, info) => {
		if (name !== opts.fileField || file) {
			stream.resume();
			return;
		}
		const path = join(dir, `${Date.now()}-${randomBytes(6).toString('hex')}.upload`);
		written.push(path);
		const entry: ReceivedFile = { path, name: (info.filename ?? '').slice(0, 200), bytes: 0 };
		file = entry;
		stream.on('data', (chunk: Buffer) => (entry.bytes += chunk.length));
		stream.on('limit', () => (refused ??= tooLarge(opts.maxFileBytes)));
		writes.push(pipeline(stream, createWriteStream(path)));
	});
	parser.on('fieldsLimit', () => (refused ??= new UploadRefused('表单字段过多。', 'Too many form fields.')));
	parser.on('partsLimit', () => (refused ??= new UploadRefused('表单字段过多。', 'Too many form fields.')));

	const discard = async () => {
		await Promise.all(written.map((p) => unlink(p).catch(() => {})));
	};
	try {
		await pipeline(Readable.fromWeb(request.body as unknown as NodeReadableStream<Uint8Array>), inSlices, parser);
		await Promise.all(writes);
	} catch (err) {
		await Promise.allSettled(writes);
		await discard();
		if (refused) throw refused;
		throw new UploadRefused(`上传中断或表单无法读取（${(err as Error).message}）。`, `The upload broke off or the form could not be read (${(err as Error).message}).`);
	}
	if (refused) {
		await discard();
		throw refused;
	}
	const got = file as ReceivedFile | null;
	if (got && got.bytes === 0) {
		// An empty file part is what a browser sends when no file was chosen.
		await discard();
	}
	return {
		fields,
		field: (name) => fields.get(name)?.[0],
		file: got && got.bytes > 0 ? got : null,
		discard
	};
}

/** Bytes busboy parses per turn of the event loop: a socket delivers 64 kB at a time, an in-memory body all at once. */
const SLICE_BYTES = 64 * 1024;

/** Hands the body on in slices of SLICE_BYTES, a turn of the event loop apart, whatever size its chunks come in. */
async function* inSlices(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
	for await (const chunk of source) {
		for (let at = 0; at < chunk.byteLength; at += SLICE_BYTES) {
			yield chunk.subarray(at, at + SLICE_BYTES);
			if (chunk.byteLength > SLICE_BYTES) await new Promise((r) => setImmediate(r));
		}
	}
}

/** Removes uploads older than `maxAgeMs` (left by a crash mid-request); returns how many. */
export async function sweepIncoming(dataDir: string, maxAgeMs = INCOMING_MAX_AGE_MS, now = Date.now()): Promise<number> {
	const dir = incomingDir(dataDir);
	let names: string[];
	try {
		names = await readdir(dir);
	} catch {
		return 0;
	}
	let removed = 0;
	for (const name of names) {
		if (!name.endsWith('.upload')) continue;
		const s = await stat(join(dir, name)).catch(() => null);
		if (s?.isFile() && now - s.mtimeMs >= maxAgeMs) await unlink(join(dir, name)).then(() => removed++, () => {});
	}
	return removed;
}
