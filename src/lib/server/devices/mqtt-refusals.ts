// Refused MQTT connections at the embedded broker, aggregated so an admin sees who is knocking without a flood of
// rows: one row per (minute, client id, username, reason) with a count and the first attempt's time and address.
// The broker's authenticate hook only calls note() (a map update); rows are written in one statement per flush,
// off the connect path. Hard caps: at most `perMinute` rows a minute (further keys add to one overflow row,
// client id '*', reason 'over_cap') and `maxRows` rows in all (the oldest minutes are pruned). Both drops are counted.
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

	note(r: Refusal): void {
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
		if (!e && this.keys.size >= this.opts.perMinute) {
			this.dropped.per_minute++;
			key = OVER_CAP;
			e = this.keys.get(key);
			if (!e) this.keys.set(key, (e = this.entry(minute, now, '*', '*', OVER_CAP, null)));
		} else if (!e) {
			this.keys.set(key, (e = this.entry(minute, now, clientId, username, r.reason, r.address)));
		}
		if (!this.pending.has(e) && this.pending.size >= this.opts.perMinute * PENDING_MINUTES) {
			this.dropped.retained++;
			return;
		}
		e.delta++;
		this.pending.add(e);
	}

	private entry(minute: number, now: number, clientId: string, username: string, reason: string, address: string | null): Entry {
		return { minute: new Date(minute), clientId, username, reason, firstAt: new Date(now), address: address?.slice(0, 64) ?? null, delta: 0 };
	}

	/** One upsert for everything pending, then pruning past maxRows. Concurrent calls share one pass. */
	flush(): Promise<void> {
		this.flushing ??= this.write().finally(() => (this.flushing = null));
		return this.flushing;
	}

	private async write(): Promise<void> {
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
