// The duty console's alarm queue: one page of open cases (most urgent first) and the figures of ALL open cases in
// the caller's scope (per level, overdue, unacknowledged, per village), both counted by the server in one request
// (GET /api/v1/incidents?status=open&counts=true). Nothing here is counted from a list, so a queue of 5,000 cases
// shows 5,000. When the figures cannot be read the state says so: a console never shows zeros it did not read.
import type { IncidentCounts, IncidentRow } from './server/cases/incident-queries';

export interface QueuePage {
	items: IncidentRow[];
	total: number;
	offset: number;
	limit: number;
	counts: IncidentCounts;
}

/** loading: nothing read yet; loaded: figures are current; stale: the last read failed, older figures shown; failed: none read. */
export type QueueState = 'loading' | 'loaded' | 'stale' | 'failed';

/** After a failed read, the next try. */
export const RETRY_MS = 5000;

type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

/** A louder alarm: more red (or orange) cases open than before. */
export function louder(before: IncidentCounts | null, after: IncidentCounts): 'red' | 'orange' | null {
	if (!before) return null;
	if (after.by_level.red > before.by_level.red) return 'red';
	if (after.by_level.orange > before.by_level.orange) return 'orange';
	return null;
}

export class CaseQueue {
	items = $state.raw<IncidentRow[]>([]);
	counts = $state.raw<IncidentCounts | null>(null);
	offset = $state(0);
	state = $state<QueueState>('loading');
	/** When the figures shown were read (ms since epoch). */
	readAt = $state<number | null>(null);
	readonly pageSize: number;
	/** Pages shown: 1-based current page and the number of pages, from the server's total. */
	get page(): number {
		return Math.floor(this.offset / this.pageSize) + 1;
	}
	get pages(): number {
		return Math.max(1, Math.ceil((this.counts?.total ?? 0) / this.pageSize));
	}

	#fetch: Fetch;
	#ctl: AbortController | null = null;
	#timer: ReturnType<typeof setTimeout> | null = null;

	constructor(fetcher: Fetch, initial: QueuePage | null = null, pageSize = 50) {
		this.#fetch = fetcher;
		this.pageSize = pageSize;
		if (initial) this.#take(initial, Date.now());
	}

	#take(p: QueuePage, at: number): void {
		this.items = p.items;
		this.counts = p.counts;
		this.offset = p.offset;
		this.state = 'loaded';
		this.readAt = at;
	}

	/**
	 * Reads the current page and the figures again; an earlier read still under way is cancelled. Returns the louder
	 * level when more red or orange cases are open than before (for the alarm sound), or null.
	 */
	async refresh(): Promise<'red' | 'orange' | null> {
		this.#ctl?.abort();
		const ctl = (this.#ctl = new AbortController());
		const before = this.counts;
		try {
			const res = await this.#fetch(`/api/v1/incidents?status=open&counts=true&limit=${this.pageSize}&offset=${this.offset}`, { signal: ctl.signal });
			if (!res.ok) throw new Error(`HTTP ${res.status}`);
			const p = (await res.json()) as QueuePage;
			if (ctl.signal.aborted) return null;
			// The page ran past the end (cases closed meanwhile): show the last page that has cases.
			if (p.items.length === 0 && p.total > 0 && p.offset > 0) {
				this.offset = Math.floor((p.total - 1) / this.pageSize) * this.pageSize;
				this.#ctl = null;
				return this.refresh();
			}
			this.#take(p, Date.now());
			return louder(before, p.counts);
		} catch (e) {
			if (ctl.signal.aborted) return null;
			this.state = this.counts ? 'stale' : 'failed';
			console.warn('case queue:', e);
			this.refreshSoon(RETRY_MS);
			return null;
		} finally {
			if (this.#ctl === ctl) this.#ctl = null;
		}
	}

	/** A refresh soon: a burst of case events (a storm opening many cases) becomes one read. */
	refreshSoon(delayMs = 300, then?: (l: 'red' | 'orange' | null) => void): void {
		if (this.#timer) return;
		this.#timer = setTimeout(() => {
			this.#timer = null;
			void this.refresh().then((l) => then?.(l));
		}, delayMs);
	}

	/** Shows page `n` (1-based) of the queue. */
	goto(n: number): Promise<'red' | 'orange' | null> {
		const last = this.pages;
		this.offset = (Math.min(Math.max(1, Math.floor(n)), last) - 1) * this.pageSize;
		return this.refresh();
	}

	stop(): void {
		this.#ctl?.abort();
		if (this.#timer) clearTimeout(this.#timer);
		this.#timer = null;
	}
}
