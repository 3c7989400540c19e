// Live events across processes. In a split deployment (README "Production picture") the readings, status changes and
// cases come from ingest workers while the duty consoles hang on the web process's live stream: without a relay the
// web process's bus would hear only its own HTTP twin, and the console would not be live at all.
//
// PostgreSQL carries them, with LISTEN/NOTIFY on one channel: a process that produces events (an ingest worker, or an
// `all` process in a share group) sends each as one or more notifications after it happened; a process that serves
// consoles (web, or `all` in a share group) listens and emits them on its own bus, where they get its own cursors
// (events.ts) like any local event. No new service, nothing to run beside PostgreSQL, and notifications are
// delivered in commit order. Each event goes out in pieces under PostgreSQL's payload limit (8,000 bytes): a batch's
// `sensors` update is split by sensor.
//
// NOTIFY is not durable: a listener that loses its connection misses what was sent meanwhile, and a sender that
// cannot send loses those events. Both ends turn that into `resync` (LiveBus.gap): a console's stream is told to read
// the full list again, so nothing is silently missing from its map. Readings themselves never travel this way; they
// are in the database already.
import pg from 'pg';
import type { Db } from '../platform/db.js';
import type { LiveBus, LiveEvents, LoggedEvent, SensorUpdate } from './events.js';
import type { Logger } from '../platform/log.js';

export const LIVE_CHANNEL = 'shudi_live';
/** PostgreSQL refuses a NOTIFY payload of 8,000 bytes or more; the envelope and multi-byte names stay inside this. */
export const MAX_PAYLOAD_BYTES = 7_800;

interface Envelope {
	/** The sending process (its bus epoch): a process that both sends and listens ignores its own. */
	o: string;
	/** Event name; `gap` = the sender lost events (could not send them). */
	e: LoggedEvent | 'gap';
	d?: unknown;
}

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/** One event as NOTIFY payloads, each under the limit. A `sensors` event is split by sensor; nothing is dropped. */
export function encodeEvent(origin: string, event: LoggedEvent, data: LiveEvents[LoggedEvent][0]): string[] {
	const whole = JSON.stringify({ o: origin, e: event, d: data } satisfies Envelope);
	if (bytes(whole) <= MAX_PAYLOAD_BYTES) return [whole];
	if (event !== 'sensors') {
		// A case event's recipients list is the only part that can grow: the console re-reads the case by id anyway.
		const e = data as LiveEvents['incident'][0];
		return [JSON.stringify({ o: origin, e: event, d: { id: e.id, type: e.type } } satisfies Envelope)];
	}
	const out: string[] = [];
	let part: string[] = [];
	let size = 0;
	const head = bytes(JSON.stringify({ o: origin, e: event, d: [] }));
	const flush = () => {
		if (part.length) out.push(`{"o":${JSON.stringify(origin)},"e":"sensors","d":[${part.join(',')}]}`);
		part = [];
		size = head;
	};
	flush();
	for (const u of data as SensorUpdate[]) {
		let one = JSON.stringify(u);
		// One sensor with more metrics than fit (it would take hundreds): its values are left out, the rest is live;
		// its panel reads them from the database when opened.
		if (head + bytes(one) > MAX_PAYLOAD_BYTES) one = JSON.stringify({ ...u, values: {} });
		const n = bytes(one) + 1;
		if (size + n > MAX_PAYLOAD_BYTES) flush();
		part.push(one);
		size += n;
	}
	flush();
	return out;
}

/** Payloads per NOTIFY statement, under PostgreSQL's 65,535 bind parameters. */
const NOTIFY_PARAMS = 1000;

/**
 * One statement that sends `payloads` in order, each its own bind parameter: as a text[] parameter pg would escape
 * every quote of every JSON payload (twice over, a tenth of the ingest's allocations under `npm run bench:ingest`).
 */
function notifyStatement(payloads: readonly string[]): [string, string[]] {
	const refs = payloads.map((_, i) => `$${i + 2}`).join(', ');
	return [`SELECT pg_notify($1, p) FROM unnest(ARRAY[${refs}]::text[]) WITH ORDINALITY AS x(p, i) ORDER BY i`, [LIVE_CHANNEL, ...payloads]];
}

/**
 * Sends this process's live events to PostgreSQL. Sends are queued and go one statement at a time, in order; if one
 * fails (database away) its events are lost and the next successful send starts with a `gap`, so listeners resync.
 */
export function startRelayOut(bus: LiveBus, db: Db, log: Logger): () => Promise<void> {
	let queue: string[] = [];
	let sending: Promise<void> | null = null;
	let lost = false;
	const send = async () => {
		while (queue.length) {
			const payloads = lost ? [JSON.stringify({ o: bus.epoch, e: 'gap' } satisfies Envelope), ...queue] : queue;
			queue = [];
			try {
				for (let i = 0; i < payloads.length; i += NOTIFY_PARAMS) await db.query(...notifyStatement(payloads.slice(i, i + NOTIFY_PARAMS)));
				lost = false;
			} catch (err) {
				if (!lost) log.warn({ err: (err as Error).message, events: payloads.length }, 'could not relay live events; consoles elsewhere will resync');
				lost = true;
			}
		}
		sending = null;
	};
	const on = (event: LoggedEvent) => (data: LiveEvents[LoggedEvent][0]) => {
		queue.push(...encodeEvent(bus.epoch, event, data));
		sending ??= send();
	};
	const listeners = { sensors: on('sensors'), status: on('status'), incident: on('incident') };
	for (const [e, fn] of Object.entries(listeners)) bus.on(e as LoggedEvent, fn as never);
	return async () => {
		for (const [e, fn] of Object.entries(listeners)) bus.off(e as LoggedEvent, fn as never);
		await sending;
	};
}

/**
 * Listens for other processes' live events on a connection of its own and emits them on `bus`. A lost connection is
 * a gap (streams resync) and is retried every few seconds. Resolves once listening.
 */
export async function startRelayIn(bus: LiveBus, url: string, log: Logger, retryMs = 2000): Promise<() => Promise<void>> {
	let client: pg.Client | null = null;
	let stopped = false;
	let retry: NodeJS.Timeout | null = null;
	const onNotification = (msg: pg.Notification) => {
		if (msg.channel !== LIVE_CHANNEL || !msg.payload) return;
		let env: Envelope;
		try {
			env = JSON.parse(msg.payload) as Envelope;
		} catch {
			log.warn({ bytes: msg.payload.length }, 'unreadable live event from another process; consoles resync');
			return bus.gap();
		}
		if (env.o === bus.epoch) return;
		if (env.e === 'gap') return bus.gap();
		if (env.e === 'sensors' || env.e === 'status' || env.e === 'incident') bus.emit(env.e, env.d as never);
	};
	const lost = (err?: Error) => {
		if (stopped || !client) return;
		const c = client;
		client = null;
		c.removeAllListeners('notification');
		c.end().catch(() => {});
		log.warn({ err: err?.message }, 'lost the live event connection; consoles resync, retrying');
		bus.gap();
		retry = setTimeout(() => void connect().catch(() => {}), retryMs);
		retry.unref();
	};
	const connect = async () => {
		const c = new pg.Client({ connectionString: url });
		c.on('error', (err) => (client === c ? lost(err) : undefined));
		c.on('end', () => (client === c ? lost() : undefined));
		try {
			await c.connect();
			await c.query(`LISTEN ${LIVE_CHANNEL}`);
		} catch (err) {
			c.end().catch(() => {});
			if (stopped) return;
			retry = setTimeout(() => void connect().catch(() => {}), retryMs);
			retry.unref();
			throw err;
		}
		if (stopped) return void c.end().catch(() => {});
		c.on('notification', onNotification);
		client = c;
		// Whatever was sent while no connection listened is gone: a reconnect is a gap.
		bus.gap();
	};
	try {
		await connect();
	} catch (err) {
		log.warn({ err: (err as Error).message }, 'cannot listen for live events yet; retrying');
	}
	return async () => {
		stopped = true;
		if (retry) clearTimeout(retry);
		const c = client;
		client = null;
		await c?.end().catch(() => {});
	};
}
