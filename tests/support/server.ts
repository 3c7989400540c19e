// Running the built app for tests and benchmarks: `node scripts/serve.mjs` as a child process on free ports with its
// own data directory, health-checked before use, and a signed-in session cookie for API calls. Nothing here imports
// app code: callers see the app only over HTTP and MQTT, as a user and a device would.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ENTRY = join(ROOT, 'scripts', 'serve.mjs');

/** A free TCP port: the OS picks one for a throwaway listener, which is closed before the port is handed out. */
export async function freePort(): Promise<number> {
	return new Promise((ok, fail) => {
		const srv = createServer();
		srv.unref();
		srv.once('error', fail);
		srv.listen(0, '127.0.0.1', () => {
			const addr = srv.address();
			if (!addr || typeof addr === 'string') return fail(new Error('no port from listen(0)'));
			srv.close(() => ok(addr.port));
		});
	});
}

export interface TestServer {
	/** Base URL of the web app, without a trailing slash. */
	url: string;
	mqttPort: number;
	mqttUrl: string;
	dataDir: string;
	/** Everything the current process printed, for failure messages. */
	output(): string;
	/** SIGINT, then wait for exit (SIGKILL after 10 s). The data directory is kept. */
	stop(): Promise<void>;
	/** stop(), then start again on the same ports and data directory. */
	restart(): Promise<void>;
	/** stop() and delete the data directory. */
	dispose(): Promise<void>;
}

export interface StartOptions {
	/** Run the demo simulator (default true). Off keeps the map quiet so hand-published readings stay put. */
	simulate?: boolean;
	/** Extra environment for the server. */
	env?: Record<string, string>;
	startTimeoutMs?: number;
}

/** Starts `node scripts/serve.mjs` with a fresh data directory and waits until /api/v1/health says ok. */
export async function startServer(opts: StartOptions = {}): Promise<TestServer> {
	if (!existsSync(join(ROOT, 'build', 'handler.js'))) throw new Error('build/ is missing: run npm run build first');
	const [port, mqttPort] = [await freePort(), await freePort()];
	const dataDir = await mkdtemp(join(tmpdir(), 'shudi-e2e-'));
	const url = `http://127.0.0.1:${port}`;
	const env: NodeJS.ProcessEnv = {
		...process.env,
		HOST: '127.0.0.1',
		PORT: String(port),
		ORIGIN: url,
		MQTT_PORT: String(mqttPort),
		DATA_DIR: dataDir,
		// The e2e tier always runs the embedded stack; an empty value means "unset" to the app's config.
		DATABASE_URL: '',
		MQTT_URL: '',
		LOG_LEVEL: 'warn',
		SIMULATE: opts.simulate === false ? 'off' : 'on',
		SHUTDOWN_TIMEOUT: '5',
		...opts.env
	};
	const timeoutMs = opts.startTimeoutMs ?? 90_000;

	let child: ChildProcess | undefined;
	let log = '';
	let exited: Promise<void> = Promise.resolve();

	async function launch(): Promise<void> {
		log = '';
		const proc = spawn(process.execPath, [ENTRY], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
		child = proc;
		proc.stdout!.on('data', (b: Buffer) => (log += b.toString()));
		proc.stderr!.on('data', (b: Buffer) => (log += b.toString()));
		exited = new Promise((done) => proc.once('exit', () => done()));
		let gone = false;
		void exited.then(() => (gone = true));

		const t0 = Date.now();
		for (;;) {
			if (gone) throw new Error(`server exited during start (code ${proc.exitCode}, signal ${proc.signalCode}):\n${log}`);
			try {
				const res = await fetch(`${url}/api/v1/health`, { signal: AbortSignal.timeout(2000) });
				if (res.status === 200 && ((await res.json()) as { ok?: boolean }).ok === true) return;
			} catch {
				// not listening yet
			}
			if (Date.now() - t0 > timeoutMs) {
				await stop();
				throw new Error(`server not healthy after ${timeoutMs} ms:\n${log}`);
			}
			await sleep(200);
		}
	}

	async function stop(): Promise<void> {
		const proc = child;
		if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
		proc.kill('SIGINT');
		const killer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
		await exited;
		clearTimeout(killer);
	}

	await launch();
	return {
		url,
		mqttPort,
		mqttUrl: `mqtt://127.0.0.1:${mqttPort}`,
		dataDir,
		output: () => log,
		stop,
		async restart() {
			await stop();
			await launch();
		},
		async dispose() {
			await stop();
			await rm(dataDir, { recursive: true, force: true });
		}
	};
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Signs in over HTTP (the login form's action) and returns the session cookie, for API calls from tests. */
const cookies = new Map<string, string>();
export async function sessionCookie(server: { url: string }, username = 'admin', password = 'shudi-demo'): Promise<string> {
	const key = `${server.url} ${username}`;
	const known = cookies.get(key);
	if (known) return known;
	const res = await fetch(`${server.url}/login`, {
		method: 'POST',
		redirect: 'manual',
		// SvelteKit refuses cross-site form posts; a same-origin Origin header is what a browser sends.
		headers: { origin: server.url, 'content-type': 'application/x-www-form-urlencoded' },
		body: new URLSearchParams({ username, password }).toString()
	});
	const cookie = res.headers.get('set-cookie')?.split(';')[0];
	// A form post without `Accept: text/html` gets SvelteKit's JSON answer ({type: 'redirect'}) instead of a 303.
	if (res.status >= 300 && res.status !== 303) throw new Error(`sign-in as ${username} failed: HTTP ${res.status}`);
	if (!cookie) throw new Error(`sign-in as ${username} failed: no session cookie`);
	cookies.set(key, cookie);
	return cookie;
}
