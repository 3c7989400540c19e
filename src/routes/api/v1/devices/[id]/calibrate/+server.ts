// POST /api/v1/devices/{id}/calibrate — sets a tilt or crack sensor's baseline (校准基线) from a window of its readings
// (after installation, or after repairs): body `{"window": "1h" | "6h" | "24h", "method": "median" | "mean"}`, both
// optional (1 h, median). Tilt and crack rules judge change from this baseline; without one they judge nothing rather
// than invent one. Admin only; audited with the window, method and reading counts, the previous baseline kept.
import { error, json } from '@sveltejs/kit';
import type { RequestHandler } from './$types';
import { runtime } from '$lib/server/runtime';
import { DEVICE_ID } from '$lib/server/devices/devices';
import { calibrate, calibrateSchema, DeviceAdminError } from '$lib/server/devices/device-admin';
import { readBytes } from '$lib/server/platform/http';
import { issuesMessage } from '$lib/server/platform/params';

export const POST: RequestHandler = async ({ params, locals, request }) => {
	if (!DEVICE_ID.test(params.id)) error(404, 'no such device');
	const raw = (await readBytes(request, 4096)).toString('utf8').trim();
	let body: unknown = {};
	if (raw) {
		try {
			body = JSON.parse(raw);
		} catch {
			error(400, '请求体不是 JSON body is not valid JSON');
		}
	}
	const opts = calibrateSchema.safeParse(body ?? {});
	if (!opts.success) error(400, issuesMessage(opts.error));
	const rt = await runtime();
	const d = await rt.db.query<{ kind: string }>('SELECT kind FROM devices WHERE id = $1 AND retired_at IS NULL', [params.id]);
	if (!d.rows[0]) error(404, 'no such device');
	if (d.rows[0].kind !== 'house_tilt' && d.rows[0].kind !== 'crack') error(400, `${d.rows[0].kind} 类设备没有可校准的基线 a ${d.rows[0].kind} sensor has no baseline to calibrate`);
	try {
		const c = await calibrate(rt.db, params.id, opts.data, { id: locals.user!.id, name: locals.user!.username });
		rt.rules?.touch([params.id]);
		return json({ id: params.id, ...c });
	} catch (err) {
		if (err instanceof DeviceAdminError) error(409, `${err.zh} ${err.en}`);
		throw err;
	}
};
