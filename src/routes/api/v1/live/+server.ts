// Server-sent events: small updates for sensors that changed in each committed batch. The browser's EventSource
// reconnects by itself after a server restart or a network drop and then re-reads the full state once.
import type { RequestHandler } from './$types';
import { runtime } from '$lib/server/runtime';
import type { SensorUpdate } from '$lib/server/events';

export const GET: RequestHandler = async ({ request }) => {
	const rt = await runtime();
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
			const onSensors = (updates: SensorUpdate[]) => send('sensors', updates);
			const onStatus = (change: { id: string; status: string; at: string }) => send('status', change);
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
				rt.bus.off('shutdown', onShutdown);
			};
			rt.bus.on('sensors', onSensors);
			rt.bus.on('status', onStatus);
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
