// In-process live event bus: ingest publishes what changed after each committed batch, the web layer fans it out
// to browsers over server-sent events. Small updates only (changed sensors), never the whole map.
//
// Every event that changes what a console shows (`sensors`, `status`, `incident`) gets a sequence number and is kept
// for a while in a bounded log, so a reader can say "everything after N" and miss nothing:
// - the sensor list (GET /api/v1/sensors) carries the cursor of the last event emitted before its query ran, so the
//   console can read the list first — in parallel with loading its code — and then open the live stream from there;
// - the live stream sends each event's cursor as its SSE `id`, so after a network drop the browser's own
//   `Last-Event-ID` on reconnect brings exactly the missed events instead of a re-read of the whole list.
// A cursor from another process or an earlier run of this one (another epoch), or older than the log, cannot be
// served: the stream then says `resync` and the console reads the full list again.
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';

export interface SensorUpdate {
	id: string;
	/**
	 * Present only when the batch itself changed it (a silent or offline device reporting again → normal). Alarm
	 * levels come as `status` events from the rule runner, which judges after the batch: a status read here would
	 * race with that judgement and could paint a red sensor normal again.
	 */
	status?: string;
	last_seen: string | null;
	values: Record<string, { value: number; observed_at: string; flags: number }>;
}

export interface LiveEvents {
	sensors: [SensorUpdate[]];
	status: [{ id: string; status: string; at: string }];
	/** A case opened, changed level, was escalated or acted on: consoles re-read it. */
	incident: [{ id: number; type: string; text_zh?: string; to?: { name: string; role: string }[] }];
	/** Events were lost (a producer skipped one, another process's relay broke): open streams tell consoles to re-read. */
	resync: [];
	/** The process is stopping: live streams end so the HTTP server can close. */
	shutdown: [];
}

export type LoggedEvent = 'sensors' | 'status' | 'incident';
const LOGGED = new Set<string>(['sensors', 'status', 'incident']);

export interface LogEntry {
	seq: number;
	/** The event's cursor (its SSE id): the one format since() reads. */
	cursor: string;
	event: LoggedEvent;
	data: LiveEvents[LoggedEvent][0];
}

export interface LiveLogLimits {
	/** Sensor updates (a `sensors` event counts one per sensor, others one each) kept at most. */
	maxItems: number;
	/** How long an event stays replayable, ms. */
	maxAgeMs: number;
	/** After a list is served, events are logged for this long even with no stream open (the console is loading). */
	listGraceMs: number;
}

/** ~50,000 sensor updates are a few tens of MB at most; five minutes covers a phone's network drop or a server restart's reconnect. */
export const DEFAULT_LOG_LIMITS: LiveLogLimits = { maxItems: 50_000, maxAgeMs: 5 * 60_000, listGraceMs: 60_000 };

export class LiveBus extends EventEmitter<LiveEvents> {
	/** Names this process's run: cursors from another process or an earlier run are told apart. */
	readonly epoch = randomBytes(6).toString('base64url');
	private seq = 0;
	private log: (Omit<LogEntry, 'cursor'> & { at: number; items: number })[] = [];
	private head = 0;
	private items = 0;
	/** Sensor updates in entries below `head`: forgotten, still in the array until it is compacted. */
	private forgotten = 0;
	private listServedAt = -Infinity;
	/** The sequence number of the logged event whose listeners are running (emit is synchronous). */
	private dispatching: number | null = null;

	constructor(
		private readonly limits: LiveLogLimits = DEFAULT_LOG_LIMITS,
		private readonly now: () => number = Date.now
	) {
		super();
		// One listener per open browser tab.
		this.setMaxListeners(10_000);
	}

	override emit<K extends keyof LiveEvents>(event: K, ...args: LiveEvents[K]): boolean {
		if (!LOGGED.has(event)) return super.emit(event, ...(args as never));
		this.record(event as LoggedEvent, args[0] as LiveEvents[LoggedEvent][0]);
		const outer = this.dispatching;
		this.dispatching = this.seq;
		try {
			return super.emit(event, ...(args as never));
		} finally {
			this.dispatching = outer;
		}
	}

	/**
	 * Inside a listener: the cursor of the event being handled (even if a listener emitted another one meanwhile).
	 * Elsewhere: the cursor of the newest event so far.
	 */
	cursor(): string {
		return this.cursorOf(this.dispatching ?? this.seq);
	}

	private cursorOf(seq: number): string {
		return `${this.epoch}.${seq}`;
	}

	/**
	 * Whether anyone can still need an event: a stream is open, or a list was served a moment ago and its reader's
	 * stream is about to open. Producers use it to skip building events nobody will read.
	 */
	wanted(event: LoggedEvent): boolean {
		return this.listenerCount(event) > 0 || this.now() - this.listServedAt < this.limits.listGraceMs;
	}

	/** A sensor list was read: its reader will ask for what came after its cursor. Returns that cursor. */
	listServed(): string {
		this.listServedAt = this.now();
		return this.cursor();
	}

	/**
	 * Events were lost: a producer left one out because nobody wanted it (`wanted`), or events from another process
	 * did not arrive (live-relay.ts). No earlier cursor can be served any more, so a reader that still holds one
	 * resyncs instead of silently missing them, and open streams are told to resync now (`resync`).
	 */
	gap(): void {
		this.seq++;
		this.log = [];
		this.head = 0;
		this.items = 0;
		this.forgotten = 0;
		this.emit('resync');
	}

	/**
	 * The logged events after `cursor`, oldest first, or null when they cannot all be given: a cursor of another
	 * epoch, malformed, from the future, or older than the log reaches.
	 */
	since(cursor: string | null | undefined): LogEntry[] | null {
		const m = /^([A-Za-z0-9_-]{1,32})\.(\d{1,15})$/.exec(cursor ?? '');
		if (!m || m[1] !== this.epoch) return null;
		const after = Number(m[2]);
		if (after > this.seq) return null;
		this.trim();
		const live = this.log.length - this.head;
		// Every event from after+1 on must still be here: the oldest kept one is at most after+1.
		const oldest = live ? this.log[this.head].seq : this.seq + 1;
		if (oldest > after + 1) return null;
		const out: LogEntry[] = [];
		for (let i = this.head; i < this.log.length; i++) {
			const e = this.log[i];
			if (e.seq > after) out.push({ seq: e.seq, cursor: this.cursorOf(e.seq), event: e.event, data: e.data });
		}
		return out;
	}

	private record(event: LoggedEvent, data: LiveEvents[LoggedEvent][0]): void {
		this.seq++;
		const items = event === 'sensors' ? Math.max(1, (data as SensorUpdate[]).length) : 1;
		this.log.push({ seq: this.seq, event, data, at: this.now(), items });
		this.items += items;
		this.trim();
	}

	private trim(): void {
		const oldestAt = this.now() - this.limits.maxAgeMs;
		while (this.head < this.log.length && (this.items > this.limits.maxItems || this.log[this.head].at < oldestAt)) {
			this.items -= this.log[this.head].items;
			this.forgotten += this.log[this.head].items;
			this.head++;
		}
		// Compact once the forgotten entries are half the array, or hold as many updates as the live ones (amortised
		// O(1) per event either way). An entry can be a batch of a thousand updates: a fixed floor of 1,024 forgotten
		// entries would keep ~240,000 updates (~100 MB) reachable in an ingest storing 15,000 msg/s
		// (`npm run bench:ingest -- --seconds 60 --rate 15000 --skip-baseline`).
		if (this.head > 0 && (this.head * 2 >= this.log.length || this.forgotten >= this.items)) {
			this.log = this.log.slice(this.head);
			this.head = 0;
			this.forgotten = 0;
		}
	}

	/** Sensor updates the log keeps reachable, forgotten ones included until compaction: for tests of its bound. */
	get heldItems(): number {
		let n = 0;
		for (const e of this.log) n += e.items;
		return n;
	}
}
