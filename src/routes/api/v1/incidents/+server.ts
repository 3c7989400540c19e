// GET /api/v1/incidents?status=&level=&category=&village=&cadre=&from=&to=&overdue=&q=&limit=&offset=&counts= — cases,
// most urgent first, scoped to what the caller may see: one page of them, the total they page through, and with
// counts=true the whole set's counts (per level, overdue, unacknowledged, per village) — the duty console's figures.
// POST /api/v1/incidents — a field report or hotline entry (JSON, or multipart with photos). The whole request is
// checked (fields, category, coordinates, photos' count, size and type by their bytes) and the caller's hourly
// limits applied before any photo is written, so a refused request leaves nothing on disk.
import { error, json } from '@sveltejs/kit';
import { z } from 'zod';
import type { RequestHandler } from './$types';
import { runtime, type Runtime } from '$lib/server/runtime';
import { countIncidents, countOnly, incidentFilter, listIncidents } from '$lib/server/cases/incident-queries';
import { CATEGORIES, openFieldReport } from '$lib/server/cases/incidents';
import { readJson } from '$lib/server/platform/http';
import { audit } from '$lib/server/people/auth';
import { logger } from '$lib/server/platform/log';
import { LEVELS } from '$lib/domain/types';
import gcoord from 'gcoord';
import { MAX_PHOTOS, MAX_PHOTO_BYTES, UploadError, checkPhotos, discardPhotos, writePhotos, type CheckedPhoto, type StoredPhoto } from '$lib/server/cases/uploads';
import { SlidingWindowLimiter, take, type Take } from '$lib/server/platform/rate-limit';
import { clientAddress } from '$lib/server/platform/client-address';

export const GET: RequestHandler = async ({ url, locals }) => {
	const parsed = incidentFilter.safeParse(Object.fromEntries(url.searchParams));
	if (!parsed.success) error(400, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
	const rt = await runtime();
	const f = parsed.data;
	const items = await listIncidents(rt.db, locals.user, f);
	if (f.counts === 'true') {
		const counts = await countIncidents(rt.db, locals.user, f);
		return json({ items, total: counts.total, offset: f.offset, limit: f.limit, counts });
	}
	// A page shorter than asked from the first row is the whole set: no second query for its size.
	const total = f.offset === 0 && items.length < f.limit ? items.length : await countOnly(rt.db, locals.user, f);
	return json({ items, total, offset: f.offset, limit: f.limit });
};

const reportSchema = z.object({
	category: z.enum(CATEGORIES),
	title: z.string().trim().min(1).max(200),
	description: z.string().trim().max(5000).optional(),
	level: z.enum(LEVELS).nullable().optional(),
	lng: z.number().finite().min(-180).max(180),
	lat: z.number().finite().min(-90).max(90),
	/** Phone and AMap/Tencent picks are GCJ-02 (DOMAIN.md "Coordinates"): converted to WGS-84 on the way in. */
	crs: z.enum(['wgs84', 'gcj02']).default('wgs84'),
	source: z.enum(['field_report', 'hotline']).default('field_report'),
	reporter_name: z.string().trim().max(100).optional(),
	dispute: z.object({ parties: z.array(z.string().trim().min(1).max(100)).min(1).max(20), agreement: z.string().max(5000).optional() }).nullable().optional()
});

/** A multipart report's fields, as the JSON body would have them. */
function fromForm(f: FormData): unknown {
	const num = (k: string) => (f.get(k) === null || f.get(k) === '' ? undefined : Number(f.get(k)));
	const str = (k: string) => (typeof f.get(k) === 'string' && f.get(k) !== '' ? String(f.get(k)) : undefined);
	const parties = f.getAll('parties').filter((x): x is string => typeof x === 'string' && x.trim() !== '');
	return {
		category: str('category'),
		title: str('title'),
		description: str('description'),
		level: str('level'),
		lng: num('lng'),
		lat: num('lat'),
		crs: str('crs'),
		source: str('source'),
		reporter_name: str('reporter_name'),
		dispute: parties.length ? { parties, agreement: str('agreement') } : undefined
	};
}

const log = logger('reports');
const HOUR_MS = 3600_000;

interface Limits {
	reportsByCaller: SlidingWindowLimiter;
	reportsByAddress: SlidingWindowLimiter;
	uploadsByCaller: SlidingWindowLimiter;
	uploadsByAddress: SlidingWindowLimiter;
}
/** One set of limiters per runtime (its config is one frozen object), so each process counts its own callers. */
const limitsByConfig = new WeakMap<object, Limits>();
function limitsFor(rt: Runtime): Limits {
	let l = limitsByConfig.get(rt.config);
	if (!l) {
		const c = rt.config;
		l = {
			reportsByCaller: new SlidingWindowLimiter('REPORT_LIMIT_PER_HOUR', c.REPORT_LIMIT_PER_HOUR, HOUR_MS),
			reportsByAddress: new SlidingWindowLimiter('REPORT_LIMIT_PER_HOUR_PER_ADDRESS', c.REPORT_LIMIT_PER_HOUR_PER_ADDRESS, HOUR_MS),
			uploadsByCaller: new SlidingWindowLimiter('UPLOAD_LIMIT_PER_HOUR', c.UPLOAD_LIMIT_PER_HOUR, HOUR_MS),
			uploadsByAddress: new SlidingWindowLimiter('UPLOAD_LIMIT_PER_HOUR_PER_ADDRESS', c.UPLOAD_LIMIT_PER_HOUR_PER_ADDRESS, HOUR_MS)
		};
		limitsByConfig.set(rt.config, l);
	}
	return l;
}

function tooMany(retryAfterS: number, what: 'report' | 'upload'): Response {
	const minutes = Math.max(1, Math.ceil(retryAfterS / 60));
	const message =
		what === 'report'
			? `上报过于频繁，请 ${minutes} 分钟后再试 Too many reports: try again in ${minutes} min`
			: `上传照片过多，请 ${minutes} 分钟后再试 Too many photos uploaded: try again in ${minutes} min`;
	return json({ message }, { status: 429, headers: { 'retry-after': String(retryAfterS) } });
}

export const POST: RequestHandler = async (event) => {
	const { request, locals } = event;
	const rt = await runtime();
	const actor = locals.user ? { id: locals.user.id, name: locals.user.display_name } : { id: null, name: `API: ${locals.apiToken?.name ?? '?'}` };
	const caller = locals.user ? `user:${locals.user.id}` : `token:${locals.apiToken?.name ?? '?'}`;
	// An adapter or proxy that cannot tell the address: all such callers share one bucket.
	const address = clientAddress(event, rt.config.TRUST_PROXY) ?? 'unknown';
	const limits = limitsFor(rt);
	const reportTakes: Take[] = [
		{ limiter: limits.reportsByCaller, key: caller },
		{ limiter: limits.reportsByAddress, key: address }
	];
	const refuse = async (v: Exclude<ReturnType<typeof take>, { ok: true }>, what: 'report' | 'upload') => {
		log.warn({ limit: v.limiter.name, key: v.key, retry_after_s: v.retryAfterS }, 'report refused: over the hourly limit');
		// The first refusal in a window goes to the audit log, where an admin sees it; the rest would only repeat it.
		if (v.first) await audit(rt.db, actor, 'rate_limited', { type: 'limit', id: v.limiter.name }, { key: v.key, address, retry_after_s: v.retryAfterS });
		return tooMany(v.retryAfterS, what);
	};
	// Over the report limit already: refused before the body is read.
	const early = take(reportTakes, { dryRun: true });
	if (!early.ok) return refuse(early, 'report');

	const multipart = (request.headers.get('content-type') ?? '').startsWith('multipart/form-data');
	let body: unknown;
	let files: File[] = [];
	if (multipart) {
		const declared = Number(request.headers.get('content-length') ?? '0');
		if (declared > MAX_PHOTOS * MAX_PHOTO_BYTES + 256 * 1024) error(413, `照片过多或过大：最多 ${MAX_PHOTOS} 张，每张 ${MAX_PHOTO_BYTES / 1024 / 1024} MB at most ${MAX_PHOTOS} photos of ${MAX_PHOTO_BYTES / 1024 / 1024} MB`);
		let form: FormData;
		try {
			form = await request.formData();
		} catch {
			error(400, '请求格式错误 body is not valid multipart/form-data');
		}
		body = fromForm(form);
		files = form.getAll('photos').filter((x): x is File => typeof x === 'object' && x !== null && 'arrayBuffer' in x && (x as File).size > 0);
	} else body = await readJson(request, 64 * 1024);
	const parsed = reportSchema.safeParse(body);
	if (!parsed.success) error(400, parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
	let checked: CheckedPhoto[];
	try {
		checked = await checkPhotos(files);
	} catch (err) {
		if (err instanceof UploadError) error(400, err.message);
		throw err;
	}
	const verdict = take([
		...reportTakes,
		{ limiter: limits.uploadsByCaller, key: caller, n: checked.length },
		{ limiter: limits.uploadsByAddress, key: address, n: checked.length }
	]);
	if (!verdict.ok) return refuse(verdict, verdict.limiter === limits.reportsByCaller || verdict.limiter === limits.reportsByAddress ? 'report' : 'upload');

	const r = parsed.data;
	const [lng, lat] = r.crs === 'gcj02' ? (gcoord.transform([r.lng, r.lat], gcoord.GCJ02, gcoord.WGS84) as [number, number]) : [r.lng, r.lat];
	// Only now, with everything checked, does a photo touch the disk.
	const photos: StoredPhoto[] = await writePhotos(rt.config.DATA_DIR, checked);
	let out: Awaited<ReturnType<typeof openFieldReport>>;
	try {
		out = await openFieldReport(rt.db, { ...r, lng, lat, category: r.category, photos }, actor, rt.config.TZ_DISPLAY);
	} catch (err) {
		await discardPhotos(rt.db, photos).catch((e) => log.warn({ err: (e as Error).message }, 'could not remove the photos of a failed report; the sweep will'));
		throw err;
	}
	rt.notify(out.notices);
	return json({ id: out.id }, { status: 201 });
};
