// Per-key request limits for one process: a sliding window that keeps, per key, the times of the requests it let
// through in the last window. A fixed window (what rate-limiter-flexible's memory store counts) lets twice the limit
// through across a window boundary; a sliding log does not, and its memory is bounded by keys × limit, which is small
// for the limits it serves (tens to hundreds per hour). Limits are per process: a deployment with several web
// processes allows each its own share.

export interface Take {
	limiter: SlidingWindowLimiter;
	key: string;
	/** How many units this request uses (a report is 1, a request with 4 photos is 4 uploads). */
	n?: number;
}

export type Verdict = { ok: true } | { ok: false; limiter: SlidingWindowLimiter; key: string; retryAfterS: number; first: boolean };

export class SlidingWindowLimiter {
	private readonly hits = new Map<string, number[]>();
	/** Keys already refused in their current window: the first refusal is the one worth recording. */
	private readonly refusedUntil = new Map<string, number>();
	private lastPrune = 0;

	constructor(
		readonly name: string,
		readonly limit: number,
		readonly windowMs: number,
		private readonly now: () => number = Date.now
	) {}

	/** Seconds until `n` more units fit for `key` (0 = they fit now). */
	wait(key: string, n = 1): number {
		const t = this.now();
		const list = this.live(key, t);
		if (n > this.limit) return Math.ceil(this.windowMs / 1000);
		if (list.length + n <= this.limit) return 0;
		// The (list.length + n - limit)-th oldest hit must leave the window before n more fit.
		const until = list[list.length + n - this.limit - 1] + this.windowMs;
		return Math.max(1, Math.ceil((until - t) / 1000));
	}

	private live(key: string, t: number): number[] {
		this.prune(t);
		const list = this.hits.get(key);
		if (!list) return [];
		let drop = 0;
		while (drop < list.length && list[drop] <= t - this.windowMs) drop++;
		if (drop) list.splice(0, drop);
		return list;
	}

	record(key: string, n = 1): void {
		const t = this.now();
		const list = this.live(key, t);
		for (let i = 0; i < n; i++) list.push(t);
		this.hits.set(key, list);
	}

	/** Notes a refusal; true when it is the first for this key since its window last had room. */
	refused(key: string, retryAfterS: number): boolean {
		const t = this.now();
		const first = (this.refusedUntil.get(key) ?? 0) <= t;
		this.refusedUntil.set(key, t + retryAfterS * 1000);
		return first;
	}

	/** Drops keys whose every hit has left the window, at most once a minute, so idle keys cost nothing. */
	private prune(t: number): void {
		if (t - this.lastPrune < 60_000) return;
		this.lastPrune = t;
		for (const [k, list] of this.hits) if (!list.length || list[list.length - 1] <= t - this.windowMs) this.hits.delete(k);
		for (const [k, until] of this.refusedUntil) if (until <= t) this.refusedUntil.delete(k);
	}
}

/** Checks every limit first and records in all of them only when all have room, so a refusal uses up nothing. */
export function take(takes: Take[], opts: { dryRun?: boolean } = {}): Verdict {
	for (const x of takes) {
		const retryAfterS = x.limiter.wait(x.key, x.n ?? 1);
		if (retryAfterS > 0) return { ok: false, limiter: x.limiter, key: x.key, retryAfterS, first: x.limiter.refused(x.key, retryAfterS) };
	}
	if (!opts.dryRun) for (const x of takes) if ((x.n ?? 1) > 0) x.limiter.record(x.key, x.n ?? 1);
	return { ok: true };
}
