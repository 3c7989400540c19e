// Outbound webhooks (issue 5 item 7) as an outbox: the alarm path only inserts rows (`enqueue`, inside its own
// transaction, so a notification exists exactly when the case change it reports was committed); this worker delivers
// them later with retries and back-off. A slow, broken or misconfigured robot can therefore never delay or fail an
// alarm, and one broken webhook never stops deliveries to the others.
//
// Delivery is at least once: a worker that dies between the POST and recording its outcome sends that row again after
// the claim lease runs out. Each request carries `x-shudi-delivery: <id>` so a receiver that cares can drop repeats.
// Webhook URLs carry the robot's secret key, so they are never logged.
import type { Db, Queryable } from '../platform/db.js';
import type { Logger } from '../platform/log.js';
import { formatFor, type NotificationEvent, type NotificationFormat } from './formats.js';

export type { NotificationEvent } from './formats.js';

/** Queues one delivery per enabled webhook; returns how many. Cheap: one INSERT … SELECT in the caller's transaction. */
export async function enqueue(q: Queryable, event: NotificationEvent): Promise<number> {
	const r = await q.query(`INSERT INTO webhook_deliveries (webhook_id, event) SELECT id, $1::jsonb FROM webhooks WHERE enabled`, [JSON.stringify(event)]);
	return r.rowCount;
}

export interface WebhookWorkerOptions {
	log?: Logger;
	fetch?: typeof fetch;
	/** Clock in epoch ms (tests drive time with it). */
	now?: () => number;
	/** Poll interval of start(); default 2000 ms. */
	everyMs?: number;
	/** Attempts before a delivery is marked 'failed'; default 8 (about 21 min of retrying). */
	maxAttempts?: number;
	/** Per-request timeout, connect to last body byte; default 5000 ms. */
	timeoutMs?: number;
	/** Time zone for the times shown in robot messages; default Asia/Shanghai. */
	tz?: string;
	/** Source of the back-off jitter, [0, 1); tests may pin it. */
	random?: () => number;
}

export interface RunResult {
	sent: number;
	failed: number;
	retried: number;
}

interface Claimed {
	id: number;
	webhook_id: number;
	event: NotificationEvent;
	attempts: number;
	name: string;
	url: string;
	format: NotificationFormat;
}

type Outcome = { ok: true } | { ok: false; error: string; transport: boolean };

const BATCH = 50;
const BASE_BACKOFF_MS = 5_000;
const MAX_BACKOFF_MS = 3_600_000;
const JITTER = 0.2;
const ERROR_MAX_CHARS = 300;
const RESPONSE_MAX_CHARS = 200;

/** Delay before the next try after `attempts` failed ones: 2^attempts × 5 s, capped at 1 h, ±20 % jitter. */
export function backoffMs(attempts: number, random: () => number = Math.random): number {
	const base = Math.min(BASE_BACKOFF_MS * 2 ** Math.max(0, attempts), MAX_BACKOFF_MS);
	return Math.round(base * (1 + JITTER * (2 * random() - 1)));
}

export class WebhookWorker {
	private timer: NodeJS.Timeout | null = null;
	private running: Promise<RunResult> | null = null;
	private readonly fetch: typeof fetch;
	private readonly now: () => number;
	private readonly maxAttempts: number;
	private readonly timeoutMs: number;
	private readonly random: () => number;

	constructor(
		private readonly db: Db,
		private readonly opts: WebhookWorkerOptions = {}
	) {
		this.fetch = opts.fetch ?? globalThis.fetch;
		this.now = opts.now ?? Date.now;
		this.maxAttempts = Math.max(1, opts.maxAttempts ?? 8);
		this.timeoutMs = opts.timeoutMs ?? 5000;
		this.random = opts.random ?? Math.random;
	}

	start(): void {
		if (this.timer) return;
		this.timer = setInterval(() => void this.runOnce(), this.opts.everyMs ?? 2000);
		this.timer.unref();
	}

	/** Stops polling and waits for a pass in flight, so a shutdown does not cut a delivery between POST and bookkeeping. */
	async stop(): Promise<void> {
		if (this.timer) clearInterval(this.timer);
		this.timer = null;
		await this.running;
	}

	/** One pass over the due deliveries. Never throws: every problem is logged and shows in the rows. */
	runOnce(): Promise<RunResult> {
		// Passes never overlap within a process; across processes the claim's SKIP LOCKED and lease keep them apart.
		this.running ??= this.pass().finally(() => {
			this.running = null;
		});
		return this.running;
	}

	private async pass(): Promise<RunResult> {
		const result: RunResult = { sent: 0, failed: 0, retried: 0 };
		let claimed: Claimed[];
		try {
			claimed = await this.claim();
		} catch (err) {
			this.opts.log?.warn({ err: (err as Error).message }, 'webhook claim failed');
			return result;
		}
		if (!claimed.length) return result;
		// One chain per webhook: each robot gets its messages in order, and all robots are served at once, so a
		// hanging one costs the others nothing.
		const byHook = new Map<number, Claimed[]>();
		for (const d of claimed) byHook.set(d.webhook_id, [...(byHook.get(d.webhook_id) ?? []), d]);
		await Promise.all([...byHook.values()].map((chain) => this.deliverChain(chain, result)));
		return result;
	}

	/**
	 * Picks due rows and leases them: next_attempt_at moves past the longest this pass can take, so a second worker
	 * skips them and a crashed one's rows come back by themselves. The HTTP calls happen after this short
	 * transaction — holding row locks (on the embedded database: the whole database) across slow robots would stall
	 * the alarm path. Rows of a webhook disabled since they were queued are closed as failed rather than sent late.
	 */
	private claim(): Promise<Claimed[]> {
		const now = this.now();
		const lease = now + BATCH * this.timeoutMs + 30_000;
		return this.db.tx(async (q) => {
			await q.query(
				`UPDATE webhook_deliveries d SET status = 'failed', last_error = 'webhook disabled'
				 FROM webhooks w WHERE w.id = d.webhook_id AND NOT w.enabled AND d.status = 'pending'`
			);
			const r = await q.query<Claimed>(
				`UPDATE webhook_deliveries d SET next_attempt_at = $2
				 FROM (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1
				       ORDER BY next_attempt_at, id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED) due, webhooks w
				 WHERE d.id = due.id AND w.id = d.webhook_id
				 RETURNING d.id, d.webhook_id, d.event, d.attempts, w.name, w.url, w.format`,
				[new Date(now).toISOString(), new Date(lease).toISOString()]
			);
			return r.rows.map((x) => ({ ...x, id: Number(x.id), event: typeof x.event === 'string' ? JSON.parse(x.event) : x.event })).sort((a, b) => a.id - b.id);
		});
	}

	private async deliverChain(chain: Claimed[], result: RunResult): Promise<void> {
		for (let i = 0; i < chain.length; i++) {
			const d = chain[i];
			const outcome = await this.post(d);
			const deferUntil = await this.record(d, outcome, result);
			if (deferUntil !== null && !outcome.ok && outcome.transport && i + 1 < chain.length) {
				// The robot is unreachable or hanging: the rest of its queue waits with this row instead of each costing
				// a full timeout now. Not an attempt for them — nothing was sent.
				await this.release(
					chain.slice(i + 1).map((x) => x.id),
					deferUntil
				);
				return;
			}
		}
	}

	private async post(d: Claimed): Promise<Outcome> {
		let req: ReturnType<typeof formatFor>;
		try {
			req = formatFor(d.format, d.event, { tz: this.opts.tz });
		} catch (err) {
			return { ok: false, transport: false, error: `cannot format the event: ${(err as Error).message}` };
		}
		try {
			const res = await this.fetch(d.url, {
				method: 'POST',
				headers: { ...req.headers, 'user-agent': 'shudi-webhooks/1', 'x-shudi-delivery': String(d.id) },
				body: req.body,
				// A robot never redirects; following one would turn the POST into a GET somewhere else.
				redirect: 'manual',
				signal: AbortSignal.timeout(this.timeoutMs)
			});
			const text = await res.text();
			if (res.status < 200 || res.status > 299) return { ok: false, transport: false, error: `HTTP ${res.status}${text ? ': ' + oneLine(text, RESPONSE_MAX_CHARS) : ''}` };
			if (d.format === 'json') return { ok: true };
			// Both robots answer 200 for their own errors (bad key, keyword missing, rate limit) with a non-zero errcode.
			let parsed: { errcode?: unknown; errmsg?: unknown };
			try {
				parsed = JSON.parse(text);
			} catch {
				return { ok: false, transport: false, error: `HTTP ${res.status} with a body that is not JSON: ${oneLine(text, RESPONSE_MAX_CHARS)}` };
			}
			if (parsed?.errcode === 0) return { ok: true };
			return { ok: false, transport: false, error: `errcode ${String(parsed?.errcode)}: ${oneLine(String(parsed?.errmsg ?? ''), RESPONSE_MAX_CHARS)}` };
		} catch (err) {
			const e = err as Error & { cause?: { code?: string; message?: string } };
			if (e.name === 'TimeoutError' || e.name === 'AbortError') return { ok: false, transport: true, error: `timeout after ${this.timeoutMs} ms` };
			const cause = e.cause?.code ?? e.cause?.message;
			return { ok: false, transport: true, error: oneLine(cause ? `${e.message}: ${cause}` : e.message, ERROR_MAX_CHARS) };
		}
	}

	/** Writes the outcome; returns when a failed row is due again (null when sent or given up). Never throws. */
	private async record(d: Claimed, outcome: Outcome, result: RunResult): Promise<number | null> {
		const attempts = d.attempts + 1;
		const now = this.now();
		try {
			if (outcome.ok) {
				await this.db.query(`UPDATE webhook_deliveries SET status = 'sent', attempts = $2, sent_at = $3 WHERE id = $1`, [d.id, attempts, new Date(now).toISOString()]);
				result.sent++;
				return null;
			}
			const error = oneLine(outcome.error, ERROR_MAX_CHARS);
			const giveUp = attempts >= this.maxAttempts;
			const next = now + backoffMs(attempts, this.random);
			await this.db.query(
				`UPDATE webhook_deliveries SET status = $2, attempts = $3, last_error = $4, next_attempt_at = $5 WHERE id = $1`,
				[d.id, giveUp ? 'failed' : 'pending', attempts, error, new Date(giveUp ? now : next).toISOString()]
			);
			this.opts.log?.warn(
				{ delivery: d.id, webhook: d.webhook_id, name: d.name, format: d.format, type: d.event?.type, attempts, err: error, ...(giveUp ? {} : { retryAt: new Date(next).toISOString() }) },
				giveUp ? 'webhook delivery failed for good' : 'webhook delivery failed; will retry'
			);
			if (giveUp) result.failed++;
			else result.retried++;
			return giveUp ? null : next;
		} catch (err) {
			// The lease brings the row back; the worst case is one repeat of an already delivered message.
			this.opts.log?.warn({ delivery: d.id, err: (err as Error).message }, 'webhook outcome not recorded');
			return null;
		}
	}

	private async release(ids: number[], at: number): Promise<void> {
		try {
			await this.db.query(`UPDATE webhook_deliveries SET next_attempt_at = $2 WHERE id = ANY($1::bigint[]) AND status = 'pending'`, [ids, new Date(at).toISOString()]);
		} catch (err) {
			this.opts.log?.warn({ deliveries: ids.length, err: (err as Error).message }, 'webhook deferral not recorded');
		}
	}
}

function oneLine(s: string, max: number): string {
	const t = s.replace(/\s+/g, ' ').trim();
	return t.length > max ? t.slice(0, max - 1) + '…' : t;
}
