// Photo uploads for cases: size and count limits, and the type decided by the file's own bytes (magic numbers),
// never by its name or the browser's claimed Content-Type. Files are stored under DATA_DIR/uploads by content hash
// and served only to those who may see the case.
import { createHash } from 'node:crypto';
import { mkdir, writeFile, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export const MAX_PHOTO_BYTES = 8 * 1024 * 1024;
export const MAX_PHOTOS = 6;

const SIGNATURES: { mime: string; ext: string; test: (b: Buffer) => boolean }[] = [
	{ mime: 'image/jpeg', ext: 'jpg', test: (b) => b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
	{ mime: 'image/png', ext: 'png', test: (b) => b.length > 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) },
	{ mime: 'image/webp', ext: 'webp', test: (b) => b.length > 12 && b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP' }
];

export class UploadError extends Error {}

export function sniffImage(bytes: Buffer): { mime: string; ext: string } | null {
	const s = SIGNATURES.find((x) => x.test(bytes));
	return s ? { mime: s.mime, ext: s.ext } : null;
}

export interface StoredPhoto {
	file_name: string;
	mime: string;
	bytes: number;
	sha256: string;
	path: string;
}

/** Validates every file first (nothing is written if one is bad), then stores them. */
export async function storePhotos(dataDir: string, files: File[]): Promise<StoredPhoto[]> {
	if (files.length > MAX_PHOTOS) throw new UploadError(`at most ${MAX_PHOTOS} photos`);
	const checked: { f: File; buf: Buffer; kind: { mime: string; ext: string } }[] = [];
	for (const f of files) {
		if (f.size > MAX_PHOTO_BYTES) throw new UploadError(`${f.name}: larger than ${MAX_PHOTO_BYTES / 1024 / 1024} MB`);
		const buf = Buffer.from(await f.arrayBuffer());
		const kind = sniffImage(buf);
		if (!kind) throw new UploadError(`${f.name}: not a JPEG, PNG or WebP image`);
		checked.push({ f, buf, kind });
	}
	const dir = join(resolve(dataDir), 'uploads');
	await mkdir(dir, { recursive: true });
	const out: StoredPhoto[] = [];
	for (const { f, buf, kind } of checked) {
		const sha256 = createHash('sha256').update(buf).digest('hex');
		const path = join(dir, `${sha256}.${kind.ext}`);
		await writeFile(path, buf);
		out.push({ file_name: f.name.slice(0, 200) || `photo.${kind.ext}`, mime: kind.mime, bytes: buf.length, sha256, path });
	}
	return out;
}

export async function readPhoto(dataDir: string, sha256: string, mime: string): Promise<Buffer> {
	if (!/^[0-9a-f]{64}$/.test(sha256)) throw new UploadError('bad id');
	const ext = SIGNATURES.find((s) => s.mime === mime)?.ext;
	if (!ext) throw new UploadError('bad type');
	return readFile(join(resolve(dataDir), 'uploads', `${sha256}.${ext}`));
}
