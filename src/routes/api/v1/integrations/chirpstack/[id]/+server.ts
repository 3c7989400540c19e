// ChirpStack v4 HTTP integration (https://www.chirpstack.io/docs/chirpstack/integrations/http.html): ChirpStack POSTs
// every event of the application to this URL with `?event=<type>`, body encoded as set in the integration ("JSON":
// the Protobuf JSON mapping, the same document its MQTT integration publishes). `up` and `status` go to the ingest
// pipeline under their MQTT topic, `application/{applicationId}/device/{devEui}/event/{up|status}`; every other event
// type (join, ack, txack, log, location, integration) is acknowledged and ignored, and the answer says so.
import { error } from '@sveltejs/kit';
import type { RequestHandler } from './$types';
import { authenticate, ignored, ingest, peek, readBody, topicLevel } from '../../receive.server';

const EVENTS = new Set(['up', 'status']);

export const POST: RequestHandler = async (event) => {
	const { rt, integration } = await authenticate(event, 'chirpstack');
	const type = event.url.searchParams.get('event');
	if (!type) error(400, '缺少 event 查询参数（ChirpStack 会自动附加）/ the event query parameter is missing (ChirpStack adds it)');
	if (!EVENTS.has(type)) return ignored('ChirpStack', type);
	const body = await readBody(event);
	// The topic's device level comes from the body; the decoder checks it against deviceInfo.devEui again, and a body
	// without one is dead-lettered there (bad_json, bad_shape) like the same message over MQTT.
	const doc = peek(body);
	const devEui = topicLevel(doc, ['deviceInfo', 'devEui']);
	const app = topicLevel(doc, ['deviceInfo', 'applicationId']);
	// The integration is one application's: a device of another application is that application's to deliver.
	const topic = `application/${app === '_' ? integration.applicationId : app}/device/${devEui}/event/${type}`;
	if (app !== '_' && app !== integration.applicationId) {
		await rt.writer!.add(
			[],
			[
				{
					topic,
					payload: body,
					reason: 'application_mismatch',
					detail: `集成 ${integration.id} 属于应用 ${integration.applicationId}，消息来自应用 ${app} / integration ${integration.id} belongs to application ${integration.applicationId}, the event to ${app}`,
					deviceId: null,
					receivedAt: new Date()
				}
			]
		);
		return ignored('ChirpStack', `${type} of another application (dead-lettered: application_mismatch)`);
	}
	return ingest(rt, topic, body);
};
