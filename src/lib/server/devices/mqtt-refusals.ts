// Refused MQTT connections at the embedded broker, aggregated so an admin sees who is knocking without a flood of
// rows: one row per (minute, client id, username, reason) with a count and the first attempt's time and address.
// The broker's authenticate hook only calls note() (a map update); rows are written in one statement per flush,
// off the connect path. Hard caps: at most `perMinute` rows a minute (further keys add to one overflow row,
// client id '*', reason 'over_cap') and `maxRows` rows in all (the oldest minutes are pruned). Both drops are counted.
// Refused PUBLISHes (the broker's ACL, issue 22 item 5) are counted the same way, and the first of each key in a
// minute is also written to the dead letters with its topic and bytes, so an admin sees what was refused and why
// without a flood: a client retrying a refused topic every second adds one dead letter a minute.
import type { Db } from '../platform/db.js';
import type { Logger } from '../platform/log.js';

export interface Refusal {
	clientId: string;
	/** The MQTT username as given; never a token (the broker passes '(token)' for a token sent as username). */
	username: string | undefined;
	reason: string;
	address: string | null;
}

export interface RefusalRow {
	id: number;
	minute: string;
	client_id: string;
	username: string;
	reason: string;
	attempts: number;
	first_at: string;
	first_address: string | null;
}

interface Entry {
	minute: Date;
	clientId: string;
	username: string;
	reason: string;
	firstAt: Date;
	address: string | null;
	/** Attempts not yet written. */
	delta: number;
}

/** A refused PUBLISH: the refusal plus what its dead letter keeps. */
export interface PublishRefusal extends Refusal {
	topic: string;
	payload: Buffer;
	detail: string;
	/** The device that published, when a device did (dead letters are filtered by device). */
	deviceId?: string | null;
}

interface Sample {
	topic: string;
	payload: Buffer;
	reason: string;
	detail: string;
	deviceId: string | null;
	at: Date;
}

/** Largest payload kept in a refused publish's dead letter (the decoders' own limit, ingest/decoders/index.ts). */
const SAMPLE_BYTES = 64 * 1024;

export const OVER_CAP = 'over_cap';
const MINUTE = 60_000;
/** Unwritten entries kept while the database is unreachable, in minutes' worth of the per-minute cap. */
const PENDING_MINUTES = 10;

export class RefusalRecorder {
	/** Refusals by reason since start (Prometheus counters read these). */
	readonly counts = new Map<string, number>();
	/** Attempts folded into the overflow row (per_minute), or lost with pruned or unwritable rows (retained). */
	readonly dropped = { per_minute: 0, retained: 0 };
	private minute = 0;
	private keys = new Map<string, Entry>();
	private pending = new Set<Entry>();
	private timer: NodeJS.Timeout | null = null;
	private flushing: Promise<void> | null = null;

	constructor(
		private readonly db: Db,
		private readonly opts: { perMinute: number; maxRows: number; flushMs?: number; log?: Logger; now?: () => number }
	) {}

	start(): void {
		this.timer ??= setInterval(() => void this.flush(), this.opts.flushMs ?? 2000);
		this.timer.unref();
	}

	/** Writes what is pending and stops the timer. */
	async stop(): Promise<void> {
		if (this.timer) clearInterval(this.timer);
		this.timer = null;
		await this.flush();
	}

	private samples: Sample[] = [];

	/**
	 * A refused PUBLISH: counted like a refused connection, and the first of its (client, username, reason) in this
	 * minute kept as a dead letter.
	 */
	notePublish(r: PublishRefusal): void {
		if (!this.note(r)) return;
		const now = this.opts.now?.() ?? Date.now();
		const more = '（本分钟内同类拒绝只计数，见被拒连接表 / further refusals of this kind this minute are only counted in the refused-connections table）';
		this.samples.push({
			topic: r.topic.slice(0, 1000),
			payload: r.payload.length > SAMPLE_BYTES ? r.payload.subarray(0, SAMPLE_BYTES) : r.payload,
			reason: r.reason,
			detail: `${r.detail}; client ${r.clientId.slice(0, 100)}${r.payload.length > SAMPLE_BYTES ? `; payload cut to ${SAMPLE_BYTES} of ${r.payload.length} bytes` : ''} ${more}`,
			deviceId: r.deviceId ?? null,
			at: new Date(now)
		});
	}

	/** Counts a refusal; true when it opened a new key this minute (not the overflow row, not dropped). */
	note(r: Refusal): boolean {
		this.counts.set(r.reason, (this.counts.get(r.reason) ?? 0) + 1);
		const now = this.opts.now?.() ?? Date.now();
		const minute = now - (now % MINUTE);
		if (minute !== this.minute) {
			this.minute = minute;
			this.keys = new Map();
		}
		const clientId = r.clientId.slice(0, 100);
		const username = (r.username ?? '').slice(0, 100);
		let key = `${clientId}\u0000${username}\u0000${r.reason}`;
		let e = this.keys.get(key);
		let fresh = false;
		if (!e && this.keys.size >= this.opts.perMinute) {
			this.dropped.per_minute++;
			key = OVER_CAP;
			e = this.keys.get(key);
			if (!e) this.keys.set(key, (e = this.entry(minute, now, '*', '*', OVER_CAP, null)));
		} else if (!e) {
			this.keys.set(key, (e = this.entry(minute, now, clientId, username, r.reason, r.address)));
			fresh = true;
		}
		if (!this.pending.has(e) && this.pending.size >= this.opts.perMinute * PENDING_MINUTES) {
			this.dropped.retained++;
			return false;
		}
		e.delta++;
		this.pending.add(e);
		return fresh;
	}

	private entry(minute: number, now: number, clientId: string, username: string, reason: string, address: string | null): Entry {
		return { minute: new Date(minute), clientId, username, reason, firstAt: new Date(now), address: address?.slice(0, 64) ?? null, delta: 0 };
	}

	/** The refused publishes' dead letters, in one statement; kept for the next pass if the database is away. */
	private async writeSamples(): Promise<void> {
		if (!this.samples.length) return;
		const batch = this.samples;
		this.samples = [];
		try {
			await this.db.query(
				`INSERT INTO dead_letters (received_at, topic, payload, reason, detail, device_id)
				 SELECT t, topic, decode(p, 'hex'), reason, detail, dev
				 FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS x(t, topic, p, reason, detail, dev)`,
				[
					batch.map((b) => b.at.toISOString()),
					batch.map((b) => noNul(b.topic)),
					batch.map((b) => b.payload.toString('hex')),
					batch.map((b) => b.reason),
					batch.map((b) => noNul(b.detail)),
					batch.map((b) => (b.deviceId ? noNul(b.deviceId) : null))
				]
			);
		} catch (err) {
			// The per-minute cap bounds how many wait here: one per key.
			this.samples = batch.concat(this.samples).slice(-this.opts.perMinute * PENDING_MINUTES);
			this.opts.log?.warn({ err: (err as Error).message }, 'could not dead-letter refused publishes; retrying');
		}
	}

	/** One upsert for everything pending, then pruning past maxRows. Concurrent calls share one pass. */
	flush(): Promise<void> {
		this.flushing ??= this.write().finally(() => (this.flushing = null));
		return this.flushing;
	}

	private async write(): Promise<void> {
		await this.writeSamples();
		if (!this.pending.size) return;
		const batch = [...this.pending].map((e) => ({ e, n: e.delta }));
		this.pending.clear();
		for (const b of batch) b.e.delta = 0;
		try {
			await this.db.query(
				`INSERT INTO mqtt_refusals AS t (minute, client_id, username, reason, attempts, first_at, first_address)
				 SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::int[], $6::timestamptz[], $7::text[])
				 ON CONFLICT (minute, client_id, username, reason) DO UPDATE SET attempts = t.attempts + excluded.attempts`,
				[
					batch.map((b) => b.e.minute.toISOString()),
					batch.map((b) => b.e.clientId),
					batch.map((b) => b.e.username),
					batch.map((b) => b.e.reason),
					batch.map((b) => b.n),
					batch.map((b) => b.e.firstAt.toISOString()),
					batch.map((b) => b.e.address)
				]
			);
		} catch (err) {
			// Kept for the next pass (the pending cap bounds the memory this can take).
			for (const b of batch) {
				b.e.delta += b.n;
				this.pending.add(b.e);
			}
			this.opts.log?.warn({ err: (err as Error).message }, 'could not record refused MQTT connections; retrying');
			return;
		}
		try {
			const pruned = await this.db.query<{ attempts: number }>(
				`WITH gone AS (DELETE FROM mqtt_refusals WHERE id IN (SELECT id FROM mqtt_refusals ORDER BY minute DESC, id DESC OFFSET $1) RETURNING attempts)
				 SELECT coalesce(sum(attempts), 0)::int AS attempts FROM gone`,
				[this.opts.maxRows]
			);
			this.dropped.retained += pruned.rows[0]?.attempts ?? 0;
		} catch (err) {
			this.opts.log?.warn({ err: (err as Error).message }, 'could not prune refused MQTT connections');
		}
	}
}

/** The newest aggregated rows and the totals by reason over the last day, for the admin's dead-letters page. */
export async function listRefusals(db: Db, limit = 100): Promise<{ rows: RefusalRow[]; byReason: Record<string, number>; attempts: number }> {
	const rows = await db.query<{ id: number; minute: Date; client_id: string; username: string; reason: string; attempts: number; first_at: Date; first_address: string | null }>(
		'SELECT id, minute, client_id, username, reason, attempts, first_at, first_address FROM mqtt_refusals ORDER BY minute DESC, id DESC LIMIT $1',
		[limit]
	);
	const totals = await db.query<{ reason: string; n: number }>(
		"SELECT reason, sum(attempts)::int AS n FROM mqtt_refusals WHERE minute > now() - interval '1 day' GROUP BY reason ORDER BY n DESC"
	);
	const byReason = Object.fromEntries(totals.rows.map((r) => [r.reason, r.n]));
	return {
		rows: rows.rows.map((r) => ({
			id: Number(r.id),
			minute: new Date(r.minute).toISOString(),
			client_id: r.client_id,
			username: r.username,
			reason: r.reason,
			attempts: r.attempts,
			first_at: new Date(r.first_at).toISOString(),
			first_address: r.first_address
		})),
		byReason,
		attempts: Object.values(byReason).reduce((a, b) => a + b, 0)
	};
}

/** PostgreSQL text cannot hold U+0000 (a topic or client id may). */
function noNul(s: string): string {
	return s.includes('\u0000') ? s.replaceAll('\u0000', '\\u0000') : s;
}
