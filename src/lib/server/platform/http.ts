// Request body helpers: size limits enforced while reading (a lying Content-Length cannot get past them) and
// clear 4xx errors for bad bodies.
import { error } from '@sveltejs/kit';

export async function readBytes(request: Request, limit: number): Promise<Buffer> {
	const declared = Number(request.headers.get('content-length') ?? '0');
	if (declared > limit) error(413, `body of ${declared} bytes exceeds the limit of ${limit}`);
	if (!request.body) return Buffer.alloc(0);
	const chunks: Uint8Array[] = [];
	let size = 0;
	const reader = request.body.getReader();
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		size += value.byteLength;
		if (size > limit) {
			await reader.cancel();
			error(413, `body exceeds the limit of ${limit} bytes`);
		}
		chunks.push(value);
	}
	return Buffer.concat(chunks);
}

export async function readJson(request: Request, limit: number): Promise<unknown> {
	const buf = await readBytes(request, limit);
	try {
		return JSON.parse(buf.toString('utf8'));
	} catch {
		error(400, 'body is not valid JSON');
	}
}
