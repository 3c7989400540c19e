// What the network servers' HTTP integrations share (issue 22 item 4): the per-integration secret header, checked
// before the body is read; refusals recorded where an admin sees them (the refused-credentials table on the dead
// letters page); and the message handed to the ingest pipeline under the topic the same event has over MQTT, so
// decoding, validation, dead letters and storage are one path (ingest/pipeline.ts).
//
// Answers: 401 for an unknown integration or a wrong secret, 403 for a revoked one. A message that arrived is answered
// 200 once it has committed — stored or dead-lettered alike: the network server did its part, and a 4xx for a bad
// payload would only make it retry the same bytes or, for a TTS webhook, count it as unhealthy and stop sending.
import { error, json, type RequestEvent } from '@sveltejs/kit';
import { runtime, type Runtime } from '$lib/server/runtime';
import { readBytes } from '$lib/server/platform/http';
import { clientAddress } from '$lib/server/platform/client-address';
import { INTEGRATION_ID, SECRET_HEADER, checkSecret, findIntegration, type Integration, type IntegrationKind } from '$lib/server/devices/integrations';
import { MAX_PAYLOAD_BYTES } from '$ingest/decoders/index.js';

export async function authenticate(event: RequestEvent, kind: IntegrationKind): Promise<{ rt: Runtime; integration: Integration }> {
	const rt = await runtime();
	const id = event.params.id ?? '';
	const secret = event.request.headers.get(SECRET_HEADER) ?? '';
	const integration = secret ? await findIntegration(rt.db, id) : undefined;
	const why = secret ? checkSecret(integration, kind, secret) : 'no_credentials';
	if (why) {
		rt.refusals.note({ clientId: `(http ${kind})`, username: INTEGRATION_ID.test(id) ? id : '(invalid id)', reason: why, address: clientAddress(event, rt.config.TRUST_PROXY) });
		if (why === 'revoked_integration') error(403, `集成 ${id} 已吊销 / integration ${id} was revoked`);
		// Unknown and wrong answer alike, so the endpoint does not tell which integration ids exist.
		error(401, `集成未知或密钥错误：请在请求头 ${SECRET_HEADER} 中发送集成密钥 / unknown integration or wrong secret: send the integration's secret in the ${SECRET_HEADER} header`);
	}
	return { rt, integration: integration! };
}

export function readBody(event: RequestEvent): Promise<Buffer> {
	return readBytes(event.request, MAX_PAYLOAD_BYTES);
}

/** The body as a JSON object, or null: only to read the ids that make up the topic (the decoder judges the rest). */
export function peek(body: Buffer): Record<string, unknown> | null {
	try {
		const v: unknown = JSON.parse(body.toString('utf8'));
		return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
	} catch {
		return null;
	}
}

/** A string field of the body, if it is there and safe as one MQTT topic level; else '_'. */
export function topicLevel(doc: Record<string, unknown> | null, path: readonly string[]): string {
	let v: unknown = doc;
	for (const k of path) {
		if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.prototype.hasOwnProperty.call(v, k)) return '_';
		v = (v as Record<string, unknown>)[k];
	}
	return typeof v === 'string' && /^[^/+#\u0000]{1,128}$/.test(v) ? v : '_';
}

/** Runs the message through the pipeline as if it had arrived on `topic`, and answers once it has committed. */
export async function ingest(rt: Runtime, topic: string, body: Buffer): Promise<Response> {
	const res = await rt.pipeline!.handle(topic, body, { receivedAt: new Date() });
	if (res.stored === 0 && res.rejected.length) {
		return json({
			stored: 0,
			rejected: res.rejected,
			message: '未存储任何读数；拒绝原因均已记入死信 / nothing stored; every rejection is in the dead letters'
		});
	}
	return json({ stored: res.stored, rejected: res.rejected });
}

/** An event shudi does not store: acknowledged, so the network server does not retry it, and said so. */
export function ignored(kind: string, event: string): Response {
	return json({
		ignored: true,
		event: event.slice(0, 64),
		message: `已接收并忽略：shudi 不存储 ${kind} 的此类事件 / acknowledged and ignored: shudi stores no ${kind} event of this type`
	});
}
