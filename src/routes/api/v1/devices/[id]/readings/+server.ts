// HTTP twin of the MQTT native dialect for devices behind carrier platforms (NB-IoT): POST the native JSON body with
// `Authorization: Bearer <device token>`. Same decoding, validation, dead letters and storage as MQTT; the response
// comes after the readings have committed, so a 200 means stored.
import { error, json } from '@sveltejs/kit';
import type { RequestHandler } from './$types';
import { runtime } from '$lib/server/runtime';
import { readBytes } from '$lib/server/platform/http';
import { tokenMatches } from '$lib/server/devices/device-tokens';
import { MAX_PAYLOAD_BYTES } from '$ingest/decoders/index.js';

const ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

export const POST: RequestHandler = async ({ params, request }) => {
	const rt = await runtime();
	const auth = request.headers.get('authorization') ?? '';
	const m = /^Bearer ([A-Za-z0-9_\-.~+/=]{1,200})$/.exec(auth);
	if (!m) error(401, 'device token required: Authorization: Bearer <token>');
	if (!ID.test(params.id)) error(404, 'no such device');
	const dev = await rt.registry.find({ id: params.id });
	// Unknown device and wrong token answer the same, so the endpoint does not reveal which ids exist.
	if (!dev || !tokenMatches(m[1], dev.tokenHash)) error(401, 'unknown device or wrong token');
	if (dev.revoked) error(403, 'device credential revoked');
	const body = await readBytes(request, MAX_PAYLOAD_BYTES);
	const res = await rt.pipeline!.handle(`shudi/v1/devices/${params.id}/up`, body, { authenticatedDeviceId: dev.id });
	if (res.stored === 0 && res.rejected.length) {
		return json({ stored: 0, rejected: res.rejected, message: 'nothing stored; every rejection is in the dead letters' }, { status: 400 });
	}
	return json({ stored: res.stored, rejected: res.rejected });
};
