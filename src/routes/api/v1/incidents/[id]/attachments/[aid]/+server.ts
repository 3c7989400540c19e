// GET a case photo — only to those who may see the case; served with its sniffed type and no sniffing by browsers.
import { error } from '@sveltejs/kit';
import type { RequestHandler } from './$types';
import { runtime } from '$lib/server/runtime';
import { INT8_SAFE_MAX, pathId } from '$lib/server/platform/params';
import { incidentDetail } from '$lib/server/cases/incident-queries';
import { readPhoto } from '$lib/server/cases/uploads';

export const GET: RequestHandler = async ({ params, locals }) => {
	const id = pathId(params.id, 'not found', INT8_SAFE_MAX);
	const aid = pathId(params.aid, 'not found', INT8_SAFE_MAX);
	const rt = await runtime();
	if (!(await incidentDetail(rt.db, locals.user, id))) error(404, 'not found');
	const a = await rt.db.query<{ sha256: string; mime: string }>('SELECT sha256, mime FROM attachments WHERE id = $1 AND incident_id = $2', [aid, id]);
	if (!a.rows[0]) error(404, 'not found');
	const bytes = await readPhoto(rt.config.DATA_DIR, a.rows[0].sha256, a.rows[0].mime).catch(() => error(404, 'file missing'));
	return new Response(new Uint8Array(bytes), { headers: { 'content-type': a.rows[0].mime, 'cache-control': 'private, max-age=86400', 'content-disposition': 'inline' } });
};
