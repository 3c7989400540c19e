// Server-sent events: small updates for sensors that changed in each committed batch, status changes and case
// changes. Each event's `id` is its cursor in the bus's log (src/lib/server/live/events.ts). A stream opened with
// `?after=<cursor>` (the cursor the sensor list came with) or reopened by the browser with `Last-Event-ID` first
// gets every logged event after that cursor, then live ones, with nothing lost or repeated in between: listening and
// the replay happen in one synchronous step. When the cursor cannot be served (another process or run, too old, none
// given) the stream begins with `resync`: the console then reads the full list again. The same is sent on an open
// stream when events were lost on the way (events.ts `gap`, live-relay.ts).
import type { RequestHandler } from './$types';
import { runtime } from '$lib/server/runtime';
import { visibleVillageIds } from '$lib/server/people/auth';
import type { LiveEvents, LoggedEvent, SensorUpdate } from '$lib/server/live/events';

export const GET: RequestHandler = async ({ request, locals, url }) => {
	const rt = await runtime();
	// A cadre's stream carries only their own villages' sensors.
	const scope = locals.user ? await visibleVillageIds(rt.db, locals.user) : null;
	const allowed = scope ? new Set((await rt.db.query<{ id: string }>('SELECT id FROM devices WHERE village_id = ANY($1::int[])', [[...scope]])).rows.map((r) => r.id)) : null;
	// The browser's own header on a reconnect is newer than the cursor in the URL it first opened.
	const after = request.headers.get('last-event-id') || url.searchParams.get('after');
	const enc = new TextEncoder();
	let cleanup = () => {};
	const stream = new ReadableStream<Uint8Array>({
		start(controller) {
			const write = (text: string) => {
				try {
					controller.enqueue(enc.encode(text));
				} catch {
					cleanup();
				}
			};
			const send = (event: string, data: unknown, id?: string) => write(`${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
			/** What of one logged event this stream may carry (null: none of it). */
			const visible = (event: LoggedEvent, data: LiveEvents[LoggedEvent][0]): unknown => {
				if (event === 'sensors') {
					const updates = data as SensorUpdate[];
					const mine = allowed ? updates.filter((u) => allowed.has(u.id)) : updates;
					return mine.length ? mine : null;
				}
				if (event === 'status') return !allowed || allowed.has((data as LiveEvents['status'][0]).id) ? data : null;
				// Case changes carry only the id and kind; the console re-reads the cases it may see.
				const e = data as LiveEvents['incident'][0];
				return { id: e.id, type: e.type };
			};
			const forward = (event: LoggedEvent) => (data: LiveEvents[LoggedEvent][0]) => {
				const out = visible(event, data);
				// Inside a listener the bus's cursor is this event's own.
				if (out !== null) send(event, out, rt.bus.cursor());
			};
			const onSensors = forward('sensors');
			const onStatus = forward('status');
			const onIncident = forward('incident');
			const onResync = () => send('resync', { cursor: rt.bus.cursor() }, rt.bus.cursor());
			const onShutdown = () => {
				cleanup();
				try {
					controller.close();
				} catch {
					/* already closed */
				}
			};
			// A comment line every 20 s keeps proxies from closing an idle stream.
			const ping = setInterval(() => write(': ping\n\n'), 20_000);
			cleanup = () => {
				clearInterval(ping);
				rt.bus.off('sensors', onSensors);
				rt.bus.off('status', onStatus);
				rt.bus.off('incident', onIncident);
				rt.bus.off('resync', onResync);
				rt.bus.off('shutdown', onShutdown);
			};
			rt.bus.on('sensors', onSensors);
			rt.bus.on('status', onStatus);
			rt.bus.on('incident', onIncident);
			rt.bus.on('resync', onResync);
			rt.bus.on('shutdown', onShutdown);
			write('retry: 2000\n\n');
			send('hello', { at: new Date().toISOString(), cursor: rt.bus.cursor() });
			const missed = rt.bus.since(after);
			if (missed === null) send('resync', { cursor: rt.bus.cursor() }, rt.bus.cursor());
			else
				for (const e of missed) {
					const out = visible(e.event, e.data);
					if (out !== null) send(e.event, out, e.cursor);
				}
			request.signal.addEventListener('abort', onShutdown);
		},
		cancel() {
			cleanup();
		}
	});
	return new Response(stream, {
		headers: { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' }
	});
};
