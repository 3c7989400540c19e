// GET /api/v1/sensors — every sensor the caller may see, as a GeoJSON FeatureCollection with what the map needs:
// id, name, kind, village_id, status, last_seen, low_battery (SensorListProps). The latest values of one sensor are
// GET /api/v1/sensors/{id}. The `X-Live-Cursor` header is where the live stream takes over (GET /api/v1/live?after=…).
// Gzipped when the client accepts it: 10,000 sensors are 2.7 MB of JSON, 0.3 MB gzipped.
import type { RequestHandler } from './$types';
import { runtime } from '$lib/server/runtime';
import { visibleVillageIds } from '$lib/server/people/auth';
import { sensorsListJSON } from '$lib/server/map/queries';
import { encodeBody } from '$lib/server/platform/gzip-parallel';

export const GET: RequestHandler = async ({ locals, request }) => {
	const rt = await runtime();
	// API tokens (integrations) see the whole township; a signed-in cadre only their own villages.
	const scope = locals.user ? await visibleVillageIds(rt.db, locals.user) : null;
	// Taken before the query: every event up to it is in the list, so a live stream opened `?after=` it misses nothing
	// (events just after it may be in the list too; applying one again changes nothing). src/lib/server/live/events.ts
	const cursor = rt.bus.listServed();
	const t0 = performance.now();
	const body = await sensorsListJSON(rt.db, scope);
	const t1 = performance.now();
	// Gzipped in pieces on libuv's pool threads at once, off the event loop (gzip-parallel.ts).
	const out = await encodeBody(body, request.headers.get('accept-encoding'));
	const headers: Record<string, string> = {
		'content-type': 'application/json',
		vary: 'Accept-Encoding',
		'x-live-cursor': cursor,
		// W3C Server Timing: the query and the compression, as a browser's network panel and the benchmark read them.
		'server-timing': `list;dur=${(t1 - t0).toFixed(1)}${out.gzip ? `, gzip;dur=${(performance.now() - t1).toFixed(1)}` : ''}`
	};
	return new Response(out.body, { headers: out.gzip ? { ...headers, 'content-encoding': 'gzip' } : headers });
};
