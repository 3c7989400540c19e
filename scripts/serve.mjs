#!/usr/bin/env node
// The HTTP server around the built SvelteKit app (adapter-node's handler). Why not adapter-node's own index.js: it
// assumes HTTPS unless ORIGIN is fixed, so a duty room reaching the server over plain HTTP by IP or host name would
// have every form refused as cross-site. Here the protocol is taken from the socket itself; only with
// TRUST_PROXY=1 (behind nginx/Caddy doing TLS) are X-Forwarded-Proto/Host believed.
// SIGINT/SIGTERM: stop accepting, end live streams, then emit `sveltekit:shutdown` so the runtime flushes ingest and
// closes the database (src/hooks.server.ts). The whole stop is bounded by SHUTDOWN_TIMEOUT seconds (default 10):
// HTTP requests still running at half of it are cut, and a process still alive at the end exits anyway, so a
// service manager's stop always ends with nothing listening.
import http from 'node:http';
import { dirname, join, resolve } from 'node:path';
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

// Validated by the config when the handler above started the runtime (src/lib/server/platform/config.ts).
const shutdownMs = Number(process.env.SHUTDOWN_TIMEOUT || 10) * 1000;

server.on('error', (err) => {
	console.error(err.code === 'EADDRINUSE' ? `shudi: cannot start: HTTP port ${port} is already in use; set PORT to a free port` : `shudi: HTTP server error: ${err.message}`);
	process.exit(1);
});
server.listen(port, host, () => void banner().catch((err) => console.error(`shudi: ${err.message}`)));

/** The few lines a person starting the server needs: where to open it, how to sign in, where the data is, how to stop. */
async function banner() {
	const url = `http://${host === '0.0.0.0' || host === '::' ? 'localhost' : host}:${port}`;
	// The runtime the handler started (src/lib/server/runtime.ts keeps it on globalThis under this symbol).
	const rt = await globalThis[Symbol.for('shudi.runtime')];
	const lines = ['', `属地 shudi 已启动 is running`, `  打开 Open:             ${url}`];
	if (rt) {
		const demo = await rt.db.query("SELECT username FROM users WHERE is_demo AND disabled_at IS NULL ORDER BY id");
		if (demo.rows.length && rt.config.DEMO)
			lines.push(`  演示账号 Demo accounts: ${demo.rows.map((r) => r.username).join(', ')} — 密码 password: ${rt.config.DEMO_PASSWORD}`);
		if (rt.broker) lines.push(`  设备接入 MQTT:         mqtt://localhost:${rt.broker.port}`);
		lines.push(`  数据 Data:             ${rt.config.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : resolve(rt.config.DATA_DIR)}`);
	}
	lines.push(`  停止 Stop:             Ctrl+C（或 or kill -TERM ${process.ppid && process.send ? process.ppid : process.pid}）`, '');
	console.log(lines.join('\n'));
	process.send?.({ ready: url });
}

let stopping = false;
function shutdown(reason) {
	if (stopping) return;
	stopping = true;
	// The runtime's own SIGINT/SIGTERM listener ends live streams at once (src/hooks.server.ts); idle keep-alive
	// sockets are closed now and as each busy one finishes its request.
	server.close(() => process.emit('sveltekit:shutdown', reason));
	server.closeIdleConnections();
	const idle = setInterval(() => server.closeIdleConnections(), 100).unref();
	setTimeout(() => {
		clearInterval(idle);
		server.closeAllConnections();
	}, shutdownMs / 2).unref();
	setTimeout(() => {
		console.error(`shudi: still stopping after ${shutdownMs / 1000} s (SHUTDOWN_TIMEOUT); exiting now`);
		process.exit(1);
	}, shutdownMs).unref();
}
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
// Started by scripts/start.mjs: if that parent goes away without a signal (killed outright), stop too rather than
// keep the ports as an orphan.
process.on('disconnect', () => shutdown('parent gone'));
