// Photo uploads for cases: size and count limits, and the type decided by the file's own bytes (magic numbers),
// never by its name or the browser's claimed Content-Type. Files are stored under DATA_DIR/uploads by content hash
// and served only to those who may see the case. A file on disk that no attachment row names (a report whose
// transaction failed after its photos were written) is an orphan: the sweep removes it once it is old enough that no
// request can still be about to commit a row naming it.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile, readFile, readdir, rename, stat, unlink, utimes } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Queryable } from '../platform/db.js';
import type { Logger } from '../platform/log.js';

export const MAX_PHOTO_BYTES = 8 * 1024 * 1024;
export const MAX_PHOTOS = 6;
/** An unreferenced upload younger than this may belong to a report still in its transaction: the sweep leaves it. */
export const ORPHAN_MIN_AGE_MS = 10 * 60_000;
export const ORPHAN_SWEEP_EVERY_MS = 15 * 60_000;

const SIGNATURES: { mime: string; ext: string; test: (b: Buffer) => boolean }[] = [
	{ mime: 'image/jpeg', ext: 'jpg', test: (b) => b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
	{ mime: 'image/png', ext: 'png', test: (b) => b.length > 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) },
	{ mime: 'image/webp', ext: 'webp', test: (b) => b.length > 12 && b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP' }
];
const STORED_NAME = /^([0-9a-f]{64})\.(jpg|png|webp)$/;
const TEMP_NAME = /^[0-9a-f]{64}\.(jpg|png|webp)\.tmp-[0-9a-f]+$/;

export class UploadError extends Error {}

export function sniffImage(bytes: Buffer): { mime: string; ext: string } | null {
	const s = SIGNATURES.find((x) => x.test(bytes));
	return s ? { mime: s.mime, ext: s.ext } : null;
}

/** A photo checked in memory and not yet on disk. */
export interface CheckedPhoto {
	file_name: string;
	mime: string;
	ext: string;
	bytes: number;
	sha256: string;
	buf: Buffer;
}

export interface StoredPhoto {
	file_name: string;
	mime: string;
	bytes: number;
	sha256: string;
	path: string;
	/** This request wrote the file (it was not on disk before). */
	created: boolean;
}

/** Checks every file in memory (count, size, type by its bytes); throws UploadError naming the first bad one. */
export async function checkPhotos(files: File[]): Promise<CheckedPhoto[]> {
	if (files.length > MAX_PHOTOS) throw new UploadError(`照片过多：最多 ${MAX_PHOTOS} 张 too many photos: at most ${MAX_PHOTOS}`);
	const out: CheckedPhoto[] = [];
	for (const f of files) {
		const mb = MAX_PHOTO_BYTES / 1024 / 1024;
		if (f.size > MAX_PHOTO_BYTES) throw new UploadError(`${f.name}：照片大于 ${mb} MB ${f.name}: larger than ${mb} MB`);
		const buf = Buffer.from(await f.arrayBuffer());
		const kind = sniffImage(buf);
		if (!kind) throw new UploadError(`${f.name}：不是 JPEG、PNG 或 WebP 图片 ${f.name}: not a JPEG, PNG or WebP image`);
		const sha256 = createHash('sha256').update(buf).digest('hex');
		out.push({ file_name: f.name.slice(0, 200) || `photo.${kind.ext}`, mime: kind.mime, ext: kind.ext, bytes: buf.length, sha256, buf });
	}
	return out;
}

const uploadDir = (dataDir: string) => join(resolve(dataDir), 'uploads');

/**
 * Writes checked photos: each to a temporary name, then renamed, so a reader never sees half a file. A file already
 * there (the same bytes uploaded before) gets a fresh mtime, so the sweep does not take it from under this request.
 */
export async function writePhotos(dataDir: string, photos: CheckedPhoto[]): Promise<StoredPhoto[]> {
	const dir = uploadDir(dataDir);
	await mkdir(dir, { recursive: true });
	const out: StoredPhoto[] = [];
	for (const p of photos) {
		const path = join(dir, `${p.sha256}.${p.ext}`);
		let created = false;
		const now = new Date();
		try {
			await utimes(path, now, now);
		} catch {
			const tmp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
			await writeFile(tmp, p.buf);
			await rename(tmp, path);
			created = true;
		}
		out.push({ file_name: p.file_name, mime: p.mime, bytes: p.bytes, sha256: p.sha256, path, created });
	}
	return out;
}

/** Removes the files a failed request wrote, unless an attachment row names them. */
export async function discardPhotos(q: Queryable, photos: StoredPhoto[]): Promise<void> {
	const mine = photos.filter((p) => p.created);
	if (!mine.length) return;
	const used = await q.query<{ sha256: string }>('SELECT DISTINCT sha256 FROM attachments WHERE sha256 = ANY($1::text[])', [mine.map((p) => p.sha256)]);
	const keep = new Set(used.rows.map((r) => r.sha256));
	for (const p of mine) if (!keep.has(p.sha256)) await unlink(p.path).catch(() => {});
}

/**
 * Removes uploads no attachment row names, and temporary files left by a crash, once older than `minAgeMs`.
 * Returns how many files it removed.
 */
export async function sweepOrphans(q: Queryable, dataDir: string, minAgeMs = ORPHAN_MIN_AGE_MS, now = Date.now()): Promise<number> {
	const dir = uploadDir(dataDir);
	let names: string[];
	try {
		names = await readdir(dir);
	} catch {
		return 0;
	}
	const old: { name: string; sha256: string | null }[] = [];
	for (const name of names) {
		const m = STORED_NAME.exec(name);
		if (!m && !TEMP_NAME.test(name)) continue;
		const s = await stat(join(dir, name)).catch(() => null);
		if (s?.isFile() && now - s.mtimeMs >= minAgeMs) old.push({ name, sha256: m ? m[1] : null });
	}
	let removed = 0;
	for (let i = 0; i < old.length; i += 1000) {
		const chunk = old.slice(i, i + 1000);
		const shas = chunk.filter((x) => x.sha256).map((x) => x.sha256!);
		const used = shas.length ? await q.query<{ sha256: string }>('SELECT DISTINCT sha256 FROM attachments WHERE sha256 = ANY($1::text[])', [shas]) : { rows: [] };
		const keep = new Set(used.rows.map((r) => r.sha256));
		for (const x of chunk) {
			if (x.sha256 && keep.has(x.sha256)) continue;
			await unlink(join(dir, x.name)).then(
				() => removed++,
				() => {}
			);
		}
	}
	return removed;
}

/** Sweeps once now and then every `everyMs`; returns the stop function. */
export function startOrphanSweep(q: Queryable, dataDir: string, log: Logger, everyMs = ORPHAN_SWEEP_EVERY_MS): () => Promise<void> {
	let running: Promise<void> | null = null;
	const pass = () => {
		running ??= sweepOrphans(q, dataDir)
			.then((n) => {
				if (n) log.info({ removed: n }, 'orphan uploads removed');
			})
			.catch((err) => log.warn({ err: (err as Error).message }, 'orphan upload sweep failed'))
			.finally(() => (running = null));
	};
	pass();
	const timer = setInterval(pass, everyMs);
	timer.unref();
	return async () => {
		clearInterval(timer);
		await running;
	};
}

export async function readPhoto(dataDir: string, sha256: string, mime: string): Promise<Buffer> {
	if (!/^[0-9a-f]{64}$/.test(sha256)) throw new UploadError('bad id');
	const ext = SIGNATURES.find((s) => s.mime === mime)?.ext;
	if (!ext) throw new UploadError('bad type');
	return readFile(join(uploadDir(dataDir), `${sha256}.${ext}`));
}
