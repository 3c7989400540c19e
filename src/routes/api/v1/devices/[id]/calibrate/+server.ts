// POST /api/v1/devices/{id}/calibrate — sets a tilt or crack sensor's baseline to its latest reading (after
// installation, or after repairs). Tilt and crack rules judge change from this baseline; without one they judge
// nothing rather than invent one. Admin only; audited; the previous baseline is kept in the audit log.
import { error, json } from '@sveltejs/kit';
import type { RequestHandler } from './$types';
import { runtime } from '$lib/server/runtime';
import { audit } from '$lib/server/people/auth';
import { DEVICE_ID } from '$lib/server/devices/devices';

const BASELINE_METRICS: Record<string, string[]> = { house_tilt: ['tilt_x_deg', 'tilt_y_deg'], crack: ['crack_mm'] };

export const POST: RequestHandler = async ({ params, locals }) => {
	if (!DEVICE_ID.test(params.id)) error(404, 'no such device');
	const rt = await runtime();
	const d = await rt.db.query<{ kind: string; baseline: Record<string, number> | null }>('SELECT kind, baseline FROM devices WHERE id = $1', [params.id]);
	if (!d.rows[0]) error(404, 'no such device');
	const metrics = BASELINE_METRICS[d.rows[0].kind];
	if (!metrics) error(400, `a ${d.rows[0].kind} sensor has no baseline to calibrate`);
	const latest = await rt.db.query<{ metric: string; value: number; observed_at: Date }>('SELECT metric, value, observed_at FROM latest_values WHERE device_id = $1 AND metric = ANY($2::text[])', [params.id, metrics]);
	if (latest.rows.length !== metrics.length) error(409, `no recent ${metrics.join(' and ')} reading to calibrate from`);
	const baseline = Object.fromEntries(latest.rows.map((r) => [r.metric, r.value]));
	await rt.db.tx(async (q) => {
		await q.query('UPDATE devices SET baseline = $2 WHERE id = $1', [params.id, JSON.stringify(baseline)]);
		await audit(q, { id: locals.user!.id, name: locals.user!.username }, 'device_calibrated', { type: 'device', id: params.id }, { previous: d.rows[0].baseline, baseline });
		await q.query("INSERT INTO device_events (device_id, kind, detail) VALUES ($1, 'calibrated', $2)", [params.id, JSON.stringify({ previous: d.rows[0].baseline, baseline, by: locals.user!.username })]);
	});
	rt.rules?.touch([params.id]);
	return json({ id: params.id, baseline });
};
