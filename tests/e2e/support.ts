// Browser-tier helpers: run the built app (`node scripts/serve.mjs`) as a child process on free ports with its own data
// directory, drive Debian's Chromium through playwright-core, collect page errors, and save screenshots for people to
// look at. Nothing here imports app code: the e2e tier sees the app only as a user and a device would.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Map as MaplibreMap } from 'maplibre-gl';

declare global {
	interface Window {
		/** Set by the console page once MapLibre is up (src/routes/+page.svelte). */
		shudiMap?: MaplibreMap;
	}
}

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

/** Headless Debian Chromium (or CHROMIUM_PATH), software GL so MapLibre renders without a GPU. */
export async function launchBrowser(): Promise<Browser> {
	const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
	if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath}: install chromium or set CHROMIUM_PATH`);
	return chromium.launch({
		executablePath,
		headless: true,
		args: [
			'--no-sandbox',
			'--disable-gpu',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
			'--no-first-run',
			'--use-gl=swiftshader',
			'--enable-unsafe-swiftshader'
		]
	});
}

/** Uncaught page exceptions and console errors, gathered from the moment this is called. */
export function collectPageErrors(page: Page): string[] {
	const errors: string[] = [];
	page.on('pageerror', (err) => errors.push(`pageerror: ${err.stack ?? err.message}`));
	page.on('console', (msg) => {
		if (msg.type() === 'error') errors.push(`console.error: ${msg.text()} (${msg.location().url})`);
	});
	return errors;
}

/** Writes artifacts/screenshots/<name>.png and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
	const dir = join(ROOT, 'artifacts', 'screenshots');
	await mkdir(dir, { recursive: true });
	const path = join(dir, `${name}.png`);
	await page.screenshot({ path });
	return path;
}

/** How many features of a layer MapLibre has drawn in the current view (0 before the map exists). */
export async function renderedCount(page: Page, layer: string): Promise<number> {
	return page.evaluate((id) => window.shudiMap?.queryRenderedFeatures({ layers: [id] }).length ?? 0, layer);
}

/**
 * How many sensors the console map shows in the current view: single symbols plus the sensors inside drawn
 * clusters (layers `sensor-symbols` and `sensor-clusters` of src/lib/components/TownshipMap.svelte).
 */
export async function renderedSensors(page: Page): Promise<number> {
	return page.evaluate(() => {
		const map = window.shudiMap;
		if (!map) return 0;
		const single = new Set(map.queryRenderedFeatures({ layers: ['sensor-symbols'] }).map((f) => f.properties.id));
		const clusters = new Map(map.queryRenderedFeatures({ layers: ['sensor-clusters'] }).map((f) => [f.properties.cluster_id, Number(f.properties.point_count)]));
		return single.size + [...clusters.values()].reduce((a, b) => a + b, 0);
	});
}

/** Resolves once the map exists, the console's sensors are in, and MapLibre has finished loading and rendering ('idle'). */
export async function mapIdle(page: Page): Promise<void> {
	await page.waitForFunction(() => !!window.shudiMap, undefined, { timeout: 30_000 });
	// The console reads its sensors after the page has loaded and shows a notice until they are in.
	await page.waitForFunction(() => !document.querySelector('[data-testid="sensors-loading"]'), undefined, { timeout: 30_000 });
	await page.evaluate(
		() =>
			new Promise<void>((done) => {
				const map = window.shudiMap!;
				if (map.loaded() && !map.isMoving()) {
					// loaded() can be true between frames while a repaint is still pending; one more idle settles it.
					map.once('idle', () => done());
					map.triggerRepaint();
				} else map.once('idle', () => done());
			})
	);
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

/** Signs a browser page in through the login form, as a person would. */
export async function signIn(page: Page, server: { url: string }, username = 'duty', password = 'shudi-demo'): Promise<void> {
	// After the scripts have loaded and the page is hydrated, as a person who waits for the page would.
	await page.goto(`${server.url}/login`, { waitUntil: 'networkidle' });
	await page.fill('input[name=username]', username);
	await page.fill('input[name=password]', password);
	try {
		await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.click('button[type=submit]')]);
	} catch (err) {
		// Say what the page showed: a refused login and a slow server look alike from a timeout alone.
		const alert = await page.locator('[role=alert]').allTextContents().catch(() => []);
		const typed = await page.inputValue('input[name=username]').catch(() => '?');
		throw new Error(`sign-in as ${username} did not leave ${page.url()} (alert: ${JSON.stringify(alert)}, user name field: ${JSON.stringify(typed)}): ${(err as Error).message}`);
	}
}
