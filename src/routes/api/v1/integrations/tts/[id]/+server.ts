// The Things Stack webhook (https://www.thethingsindustries.com/docs/integrations/webhooks/creating-webhooks/): TTS
// POSTs each enabled message type to the base URL plus that type's path, body in the "JSON" webhook format — the
// same document its MQTT server publishes (https://www.thethingsindustries.com/docs/integrations/data-formats/).
// An uplink message goes to the ingest pipeline under its MQTT topic, `v3/{appId}@{tenant}/devices/{deviceId}/up`;
// another message type (join accept, downlink events, location solved, service data) is told by its top-level key,
// acknowledged and ignored, and the answer says so. A body that is none of these is dead-lettered by the decoder.
import type { RequestHandler } from './$types';
import { ttsAppTopic } from '$lib/server/devices/integrations';
import { authenticate, ignored, ingest, peek, readBody, topicLevel } from '../../receive.server';

const OTHER_TYPES = [
	'join_accept',
	'downlink_ack',
	'downlink_nack',
	'downlink_sent',
	'downlink_failed',
	'downlink_queued',
	'downlink_queue_invalidated',
	'location_solved',
	'service_data',
	'uplink_normalized'
];

export const POST: RequestHandler = async (event) => {
	const { rt, integration } = await authenticate(event, 'tts');
	const body = await readBody(event);
	const doc = peek(body);
	const other = doc && !Object.prototype.hasOwnProperty.call(doc, 'uplink_message') ? OTHER_TYPES.find((k) => Object.prototype.hasOwnProperty.call(doc, k)) : undefined;
	if (other) return ignored('The Things Stack', other);
	const deviceId = topicLevel(doc, ['end_device_ids', 'device_id']);
	return ingest(rt, `v3/${ttsAppTopic(integration)}/devices/${deviceId}/up`, body);
};
