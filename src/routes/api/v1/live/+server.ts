// Server-sent events: small updates for sensors that changed in each committed batch. The browser's EventSource
// reconnects by itself after a server restart or a network drop and then re-reads the full state once.
import type { RequestHandler } from './$types';
import { runtime } from '$lib/server/runtime';
import { visibleVillageIds } from '$lib/server/auth';
import type { SensorUpdate } from '$lib/server/events';

export const GET: RequestHandler = async ({ request, locals }) => {
	const rt = await runtime();
	// A cadre's stream carries only their own villages' sensors.
	const scope = locals.user ? await visibleVillageIds(rt.db, locals.user) : null;
	const allowed = scope ? new Set((await rt.db.query<{ id: string }>('SELECT id FROM devices WHERE village_id = ANY($1::int[])', [[...scope]])).rows.map((r) => r.id)) : null;
	const enc = new TextEncoder();
	let cleanup = () => {};
	const stream = new ReadableStream<Uint8Array>({
		start(controller) {
			const send = (event: string, data: unknown) => {
				try {
					controller.enqueue(enc.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
				} catch {
					cleanup();
				}
			};
			const onSensors = (updates: SensorUpdate[]) => {
				const mine = allowed ? updates.filter((u) => allowed.has(u.id)) : updates;
				if (mine.length) send('sensors', mine);
			};
			// Case changes carry only the id and kind; the console re-reads the cases it may see.
			const onIncident = (e: { id: number; type: string }) => send('incident', { id: e.id, type: e.type });
			const onStatus = (change: { id: string; status: string; at: string }) => {
				if (!allowed || allowed.has(change.id)) send('status', change);
			};
			const onShutdown = () => {
				cleanup();
				try {
					controller.close();
				} catch {
					/* already closed */
				}
			};
			// A comment line every 20 s keeps proxies from closing an idle stream.
			const ping = setInterval(() => {
				try {
					controller.enqueue(enc.encode(': ping\n\n'));
				} catch {
					cleanup();
				}
			}, 20_000);
			cleanup = () => {
				clearInterval(ping);
				rt.bus.off('sensors', onSensors);
				rt.bus.off('status', onStatus);
				rt.bus.off('incident', onIncident);
				rt.bus.off('shutdown', onShutdown);
			};
			rt.bus.on('sensors', onSensors);
			rt.bus.on('status', onStatus);
			rt.bus.on('incident', onIncident);
			rt.bus.on('shutdown', onShutdown);
			controller.enqueue(enc.encode('retry: 2000\n\n'));
			send('hello', { at: new Date().toISOString() });
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
