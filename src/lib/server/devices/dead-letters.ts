// Dead letters: listing with filters and counts by reason, and replay after the cause is fixed (e.g. the unknown
// device has been registered). A replay re-runs the message through the same pipeline; the original row is kept and
// its outcome noted beside it, so the record of what arrived and why it was refused stays intact.
import { z } from 'zod';
import type { Db } from '../platform/db.js';
import { INT8_SAFE_MAX, id8, intParam, jsonInt, text } from '../platform/params.js';

export const listQuery = z.object({
	reason: z.string().regex(/^[a-z_]{1,40}$/).optional(),
	device: text(128).min(1).optional(),
	before: id8.optional(),
	limit: intParam(1, 500).default(100),
	include_replayed: z.enum(['true', 'false']).default('false')
});

export interface DeadLetterRow {
	id: number;
	received_at: string;
	topic: string;
	reason: string;
	detail: string | null;
	device_id: string | null;
	payload_text: string | null;
	payload_base64: string;
	payload_bytes: number;
	replayed_at: string | null;
	replay_result: string | null;
}

const PREVIEW = 4096;

export async function listDeadLetters(db: Db, q: z.infer<typeof listQuery>) {
	const where: string[] = [];
	const params: unknown[] = [];
	if (q.reason) where.push(`reason = $${params.push(q.reason)}`);
	if (q.device) where.push(`device_id = $${params.push(q.device)}`);
	if (q.before) where.push(`id < $${params.push(q.before)}`);
	if (q.include_replayed === 'false') where.push(`(replay_result IS NULL OR replay_result NOT LIKE 'stored%')`);
	const sql = `SELECT id, received_at, topic, reason, detail, device_id, substring(payload from 1 for ${PREVIEW}) AS payload, length(payload) AS bytes, replayed_at, replay_result
		FROM dead_letters ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT $${params.push(q.limit)}`;
	const rows = await db.query<{ id: number; received_at: Date; topic: string; reason: string; detail: string | null; device_id: string | null; payload: Uint8Array; bytes: number; replayed_at: Date | null; replay_result: string | null }>(sql, params);
	const counts = await db.query<{ reason: string; n: number }>('SELECT reason, count(*)::int AS n FROM dead_letters GROUP BY reason ORDER BY n DESC');
	const utf8 = new TextDecoder('utf-8', { fatal: true });
	return {
		counts: Object.fromEntries(counts.rows.map((r) => [r.reason, r.n])),
		items: rows.rows.map((r): DeadLetterRow => {
			const buf = Buffer.from(r.payload);
			let text: string | null = null;
			try {
				text = utf8.decode(buf);
			} catch {
				text = null; // binary: only base64 is shown
			}
			return {
				id: r.id,
				received_at: new Date(r.received_at).toISOString(),
				topic: r.topic,
				reason: r.reason,
				detail: r.detail,
				device_id: r.device_id,
				payload_text: text,
				payload_base64: buf.toString('base64'),
				payload_bytes: r.bytes,
				replayed_at: r.replayed_at ? new Date(r.replayed_at).toISOString() : null,
				replay_result: r.replay_result
			};
		}),
		next_before: rows.rows.length === q.limit ? rows.rows[rows.rows.length - 1].id : null
	};
}

export const replayBody = z
	.object({
		ids: z.array(jsonInt(1, INT8_SAFE_MAX)).max(10_000).optional(),
		reason: z.string().regex(/^[a-z_]{1,40}$/).optional(),
		device: text(128).min(1).optional(),
		limit: z.number().int().min(1).max(10_000).default(1000)
	})
	.refine((b) => b.ids || b.reason || b.device, { message: 'give ids, reason or device to choose what to replay' });

/**
 * What a replay needs of the ingest pipeline (ingest/pipeline.ts IngestPipeline satisfies it): the web side names
 * the shape it calls rather than importing the ingest service, so dependencies run one way, ingest → server rooms.
 */
export interface MessageHandler {
	handle(topic: string, payload: Buffer, meta: { receivedAt: Date; replay: boolean }): Promise<{ stored: number; rejected: { reason: string; detail?: string }[] }>;
}

/**
 * Replays the chosen dead letters. With `opts.key` (a key an admin has just mapped, profile-mapping.ts) each row is the
 * dead letter of that one value: it is done (`stored …`) once that key is no longer refused, whatever the message's
 * other keys do — they have dead letters of their own, which stay held.
 */
export async function replayDeadLetters(db: Db, pipeline: MessageHandler, b: z.infer<typeof replayBody>, opts: { key?: string } = {}) {
	// A publish the broker refused (acl_refused: a device writing to another's topic; revoked_integration) must never
	// be replayed: the pipeline would store it under the topic's device, the very impersonation the broker stopped.
	const where: string[] = [`topic <> '(connect)'`, `reason NOT IN ('acl_refused', 'revoked_integration')`, `(replay_result IS NULL OR replay_result NOT LIKE 'stored%')`];
	const params: unknown[] = [];
	if (b.ids) where.push(`id = ANY($${params.push(b.ids)}::bigint[])`);
	if (b.reason) where.push(`reason = $${params.push(b.reason)}`);
	if (b.device) where.push(`device_id = $${params.push(b.device)}`);
	const rows = await db.query<{ id: number; topic: string; payload: Uint8Array; received_at: Date }>(
		`SELECT id, topic, payload, received_at FROM dead_letters WHERE ${where.join(' AND ')} ORDER BY id LIMIT $${params.push(b.limit)}`,
		params
	);
	const outcome = { replayed: 0, stored: 0, still_rejected: 0, readings: 0, results: [] as { id: number; result: string }[] };
	for (const r of rows.rows) {
		// The original receipt time: a message without a device time keeps the time it first arrived.
		const res = await pipeline.handle(r.topic, Buffer.from(r.payload), { receivedAt: new Date(r.received_at), replay: true });
		const rejected = opts.key === undefined ? res.rejected : res.rejected.filter((x) => x.detail === opts.key);
		const reasons = [...new Set(rejected.map((x) => x.reason))].join(',');
		const others = [...new Set(res.rejected.filter((x) => !rejected.includes(x)).map((x) => x.reason))].join(',');
		const result =
			rejected.length === 0 ? `stored ${res.stored}${others ? `; other keys still rejected: ${others}` : ''}` : res.stored > 0 ? `partly stored ${res.stored}; rejected: ${reasons}` : `rejected: ${reasons}`;
		await db.query('UPDATE dead_letters SET replayed_at = now(), replay_result = $2 WHERE id = $1', [r.id, result]);
		outcome.replayed++;
		outcome.readings += res.stored;
		if (rejected.length === 0) outcome.stored++;
		else outcome.still_rejected++;
		outcome.results.push({ id: r.id, result });
	}
	return outcome;
}
