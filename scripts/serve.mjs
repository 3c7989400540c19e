#!/usr/bin/env node
// The HTTP server around the built SvelteKit app (adapter-node's handler). Why not adapter-node's own index.js: it
// assumes HTTPS unless ORIGIN is fixed, so a duty room reaching the server over plain HTTP by IP or host name would
// have every form refused as cross-site. Here the protocol is taken from the socket itself; only with
// TRUST_PROXY=1 (behind nginx/Caddy doing TLS) are X-Forwarded-Proto/Host believed.
// SIGINT/SIGTERM: stop accepting, end live streams, then emit `sveltekit:shutdown` so the runtime flushes ingest and
// closes the database (src/hooks.server.ts).
import http from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const trustProxy = ['1', 'true', 'on', 'yes'].includes(process.env.TRUST_PROXY ?? '');
process.env.PROTOCOL_HEADER = 'x-forwarded-proto';
// Field reports carry up to 6 photos of 8 MB; each route enforces its own, smaller limit while reading.
process.env.BODY_SIZE_LIMIT ??= '52M';
process.env.HOST_HEADER = trustProxy ? 'x-forwarded-host' : 'host';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { handler } = await import(pathToFileURL(join(root, 'build', 'handler.js')).href);

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '0.0.0.0';

const server = http.createServer((req, res) => {
	if (!trustProxy) {
		// Never let a client claim HTTPS or another host: this server speaks plain HTTP on its own socket.
		req.headers['x-forwarded-proto'] = 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http';
		delete req.headers['x-forwarded-host'];
	}
	handler(req, res, () => {
		res.statusCode = 404;
		res.end('Not found');
	});
});

server.on('error', (err) => {
	console.error(err.code === 'EADDRINUSE' ? `shudi: cannot start: HTTP port ${port} is already in use; set PORT to a free port` : `shudi: HTTP server error: ${err.message}`);
	process.exit(1);
});
server.listen(port, host, () => console.log(`shudi: listening on http://${host === '0.0.0.0' ? 'localhost' : host}:${port}`));

let stopping = false;
function shutdown(reason) {
	if (stopping) return;
	stopping = true;
	server.close(() => process.emit('sveltekit:shutdown', reason));
	server.closeIdleConnections();
	// Live streams end on the runtime's shutdown event; anything still open after 5 s is cut.
	setTimeout(() => server.closeAllConnections(), 5000).unref();
}
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
