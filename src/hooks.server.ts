// Server hooks: boot the runtime once at server start (database, broker, ingest, simulator per config), resolve the
// session or API token, check the route's access policy before any route code runs, add security headers to every
// response, and never send a stack trace to a client.
import { json, type Handle, type HandleServerError, type RequestEvent, type ServerInit } from '@sveltejs/kit';
import { randomUUID } from 'node:crypto';
import { runtime } from '$lib/server/runtime';
import { logger } from '$lib/server/platform/log';
import { ConfigError } from '$lib/server/platform/config';
import { PortInUseError } from '$lib/../../ingest/broker';
import { SESSION_COOKIE, apiTokenScopes, sessionUser } from '$lib/server/people/auth';
import { ROUTE_ACCESS, accessFor } from '$lib/server/people/access';
import { tileOrigins, widenCsp } from '$lib/domain/basemap';

const log = logger('web');

export const init: ServerInit = async () => {
	let rt: Awaited<ReturnType<typeof runtime>>;
	try {
		rt = await runtime();
	} catch (err) {
		// Start-up problems an operator can fix (bad config, busy port, unreachable database) are one clear line.
		const known = err instanceof ConfigError || err instanceof PortInUseError;
		console.error(`shudi: cannot start: ${(err as Error).message}`);
		if (!known) log.debug({ err: (err as Error).stack }, 'start-up failure');
		process.exit(1);
	}
	let stopping = false;
	const stop = async (why: string) => {
		if (stopping) return;
		stopping = true;
		log.info({ why }, 'shutting down: flushing ingest, closing database');
		rt.bus.emit('shutdown');
		await rt.stop();
		log.info('stopped cleanly');
		process.exit(0);
	};
	// adapter-node closes the HTTP server on SIGINT/SIGTERM, then emits this; live SSE streams are ended first so the
	// server can close at once instead of waiting for them.
	process.on('sveltekit:shutdown' as 'exit', () => void stop('server closed'));
	for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => rt.bus.emit('shutdown'));
	log.info({ db: rt.db.kind, broker: rt.broker ? `embedded :${rt.broker.port}` : rt.mqttUrl ?? 'none' }, 'shudi web ready');
};

export const handle: Handle = async ({ event, resolve }) => {
	const started = performance.now();
	const rt = await runtime();
	const token = event.cookies.get(SESSION_COOKIE);
	event.locals.sessionToken = token;
	event.locals.user = await sessionUser(rt.db, token);
	event.locals.apiToken = null;
	const bearer = /^Bearer (shudi_[A-Za-z0-9_-]{1,90})$/.exec(event.request.headers.get('authorization') ?? '');
	if (bearer) event.locals.apiToken = await apiTokenScopes(rt.db, bearer[1]);

	const denied = crossSiteRefusal(event) ?? checkAccess(event);
	const response = denied ?? (await resolve(event));
	response.headers.set('X-Content-Type-Options', 'nosniff');
	// svelte.config.js holds the offline policy (this server only). A configured raster basemap adds exactly its tile
	// hosts to img-src/connect-src, and tile requests then carry this site's origin (never a path) as Referer, which
	// Tianditu checks against the key's allowed domains.
	const tileHosts = allowedTileHosts(rt.config);
	const csp = response.headers.get('content-security-policy');
	if (csp && tileHosts.length) response.headers.set('content-security-policy', widenCsp(csp, tileHosts));
	response.headers.set('Referrer-Policy', tileHosts.length ? 'strict-origin-when-cross-origin' : 'same-origin');
	response.headers.set('X-Frame-Options', 'DENY');
	response.headers.set('Permissions-Policy', 'camera=(self), geolocation=(self), microphone=()');
	if (event.locals.user) response.headers.set('Cache-Control', 'no-store');
	// W3C Server Timing: the server's time to the response (sign-in, access check, the route), for a browser's network
	// panel and the benchmarks; routes may add their own parts (the sensor list: list, gzip). Durations only.
	response.headers.append('Server-Timing', `total;dur=${(performance.now() - started).toFixed(1)}`);
	return response;
};

const tileHostsByConfig = new WeakMap<object, string[]>();
/** The configured basemaps' tile origins, worked out once per config object (it is frozen). */
function allowedTileHosts(config: Parameters<typeof tileOrigins>[0]): string[] {
	let hosts = tileHostsByConfig.get(config);
	if (!hosts) tileHostsByConfig.set(config, (hosts = tileOrigins(config)));
	return hosts;
}

/**
 * Every state-changing request must come from this site's own pages. SvelteKit refuses cross-site *form* posts only
 * (form content types, https://svelte.dev/docs/kit/configuration#csrf), so a +server.ts route such as /logout, or a
 * JSON route sent a body without a content type, would otherwise act on a cross-site request that carries the cookie
 * (SameSite=Lax still sends it from another port of the same host). Browsers send Origin on every POST; without it,
 * Fetch Metadata (Sec-Fetch-Site) decides. A request with neither is not from a browser (a device, curl) and cannot
 * ride on a victim's cookie.
 */
function crossSiteRefusal(event: RequestEvent): Response | null {
	const { method, headers } = event.request;
	if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return null;
	const origin = headers.get('origin');
	const site = headers.get('sec-fetch-site');
	const same = origin !== null ? origin === event.url.origin : site === null || site === 'same-origin';
	if (same) return null;
	log.warn({ path: event.url.pathname, method, origin, site }, 'cross-site request refused');
	const isApi = event.url.pathname.startsWith('/api/');
	return isApi
		? json({ message: '跨站请求被拒绝 cross-site request refused' }, { status: 403 })
		: new Response('403 — 跨站请求被拒绝 / cross-site request refused', { status: 403, headers: { 'content-type': 'text/plain; charset=utf-8' } });
}

/** The role check for every route (src/lib/server/people/access.ts). Returns a response when the request is refused. */
function checkAccess(event: RequestEvent): Response | null {
	const routeId = event.route.id;
	if (!routeId) return null; // no such route: SvelteKit answers 404
	const policy = accessFor(routeId, event.request.method);
	const isApi = routeId.startsWith('/api/') || routeId === '/metrics';
	if (!policy) {
		if (ROUTE_ACCESS[routeId]) return json({ message: 'method not allowed' }, { status: 405 });
		log.error({ routeId }, 'route has no access policy: refused');
		return json({ message: 'forbidden' }, { status: 403 });
	}
	if (policy === 'public' || policy === 'device') return null;
	const { user, apiToken } = event.locals;
	if (user && user.roles.some((r) => policy.roles.includes(r))) return null;
	if (apiToken && policy.scopes?.some((s) => apiToken.scopes.includes(s))) return null;
	if (!user && !apiToken) {
		if (isApi) return json({ message: 'sign in or send an API token' }, { status: 401 });
		const next = event.url.pathname + event.url.search;
		return new Response(null, { status: 303, headers: { location: `/login?next=${encodeURIComponent(next)}` } });
	}
	return isApi ? json({ message: 'your role may not do this' }, { status: 403 }) : new Response('403 — 无权访问 / not allowed for your role', { status: 403, headers: { 'content-type': 'text/plain; charset=utf-8' } });
}

export const handleError: HandleServerError = ({ error, event, status }) => {
	const id = randomUUID();
	if (status !== 404) log.error({ id, path: event.url.pathname, err: error instanceof Error ? error.stack : String(error) }, 'request failed');
	return { message: status === 404 ? 'Not found' : 'Internal error', id };
};
