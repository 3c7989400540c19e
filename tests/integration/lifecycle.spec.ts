// `npm start` as a newcomer and a service manager meet it: the first lines on a non-terminal stdout carry the URL and
// the demo accounts with no colour codes and no build internals; SIGTERM to the `npm start` process stops the whole
// tree (npm → scripts/start.mjs → scripts/serve.mjs) within SHUTDOWN_TIMEOUT with a keep-alive connection and a live
// stream open, leaves no port listening, and every reading the broker acknowledged before and during the stop is
// stored. Always the embedded database and broker: this is the one-process start. It builds the app first when
// build/ is missing or older than the sources (as `npm start` does), so the first run takes longer.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { openDb } from '../../src/lib/server/platform/db';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHUTDOWN_TIMEOUT_S = 10;

async function freePort(): Promise<number> {
	return new Promise((ok, fail) => {
		const srv = createServer();
		srv.once('error', fail);
		srv.listen(0, '127.0.0.1', () => {
			const addr = srv.address();
			if (!addr || typeof addr === 'string') return fail(new Error('no port'));
			srv.close(() => ok(addr.port));
		});
	});
}

/** True when nothing listens on the port any more (a listener of our own can take it). */
async function portFree(port: number): Promise<boolean> {
	return new Promise((ok) => {
		const srv = createServer();
		srv.once('error', () => ok(false));
		srv.listen(port, '127.0.0.1', () => srv.close(() => ok(true)));
	});
}

function alive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
}

const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
	for (const c of cleanup.splice(0).reverse()) await c();
});

describe('npm start', () => {
	it('starts quietly, stops the whole tree on SIGTERM within the bound, frees its ports and keeps every acknowledged reading', { timeout: 300_000 }, async () => {
		const [port, mqttPort] = [await freePort(), await freePort()];
		const dataDir = await mkdtemp(join(tmpdir(), 'shudi-lifecycle-'));
		cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
		const url = `http://127.0.0.1:${port}`;
		const env: NodeJS.ProcessEnv = { ...process.env, HOST: '127.0.0.1', PORT: String(port), MQTT_PORT: String(mqttPort), DATA_DIR: dataDir };
		// What a newcomer's shell has: none of the test runner's settings, the app's defaults for the rest.
		for (const k of Object.keys(env)) if (k.startsWith('VITEST') || k.startsWith('TEST_')) delete env[k];
		for (const k of ['NODE_ENV', 'LOG_FORMAT', 'LOG_LEVEL', 'DATABASE_URL', 'MQTT_URL', 'FORCE_COLOR']) delete env[k];
		Object.assign(env, { SIMULATE: 'off', SHUTDOWN_TIMEOUT: String(SHUTDOWN_TIMEOUT_S) });

		const npm = spawn('npm', ['start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
		let out = '';
		npm.stdout!.on('data', (b: Buffer) => (out += b.toString()));
		npm.stderr!.on('data', (b: Buffer) => (out += b.toString()));
		const exited = new Promise<{ code: number | null; at: number }>((r) => npm.once('exit', (code) => r({ code, at: Date.now() })));
		cleanup.push(() => {
			if (npm.exitCode === null) npm.kill('SIGKILL');
		});

		const t0 = Date.now();
		while (!/停止 Stop:.*\n/.test(out)) {
			if (npm.exitCode !== null) throw new Error(`npm start exited during start:\n${out}`);
			if (Date.now() - t0 > 240_000) throw new Error(`not ready after 240 s:\n${out}`);
			await new Promise((r) => setTimeout(r, 200));
		}

		// The quiet start: the address and the accounts within the first screenful, no colour codes, no build internals.
		const lines = out.split('\n');
		const first = lines.slice(0, 20).join('\n');
		expect(first, out).toContain(`打开 Open:             ${url}`);
		expect(first, out).toMatch(/演示账号 Demo accounts: admin, leader, duty, cadre — 密码 password: shudi-demo/);
		expect(first, out).toContain(`数据 Data:             ${dataDir}`);
		expect(out).not.toMatch(/\u001b\[/);
		expect(out).not.toMatch(/npm run preview|PLUGIN_TIMINGS|chunks are larger/);
		if (out.includes('构建网页应用 Building')) expect(existsSync(join(dataDir, 'logs', 'build.log'))).toBe(true);

		const startPid = Number(/kill -TERM (\d+)/.exec(out)![1]);
		const serverPid = Number(readFileSync(join(dataDir, 'shudi.pid'), 'utf8'));
		expect(startPid).not.toBe(npm.pid);
		expect(serverPid).not.toBe(startPid);

		// A keep-alive connection left open after its request, and a console's live stream.
		const agent = new http.Agent({ keepAlive: true });
		cleanup.push(() => agent.destroy());
		await new Promise<void>((ok, fail) => http.get(`${url}/api/v1/health`, { agent }, (res) => res.resume().on('end', ok)).on('error', fail));
		const login = await fetch(`${url}/login`, {
			method: 'POST',
			redirect: 'manual',
			headers: { origin: url, 'content-type': 'application/x-www-form-urlencoded' },
			body: new URLSearchParams({ username: 'duty', password: 'shudi-demo' }).toString()
		});
		const cookie = login.headers.get('set-cookie')?.split(';')[0];
		expect(cookie, `sign-in: HTTP ${login.status}`).toBeTruthy();
		const live = await fetch(`${url}/api/v1/live`, { headers: { cookie: cookie! } });
		expect(live.status).toBe(200);
		const reader = live.body!.getReader();
		await reader.read();
		const streamEnded = (async () => {
			try {
				while (!(await reader.read()).done);
			} catch {
				/* cut: also an end */
			}
		})();

		// A demo river gauge publishes, before and while the server stops; the broker's PUBACKs say what it took.
		const sensors = (await (await fetch(`${url}/api/v1/sensors`, { headers: { authorization: 'Bearer shudi_demo-read-shudi-demo' } })).json()) as {
			features: { id?: string; properties: { id?: string; kind: string } }[];
		};
		const gauge = sensors.features.map((f) => ({ id: (f.properties.id ?? f.id)!, kind: f.properties.kind })).find((s) => s.kind === 'river_level');
		expect(gauge, JSON.stringify(sensors).slice(0, 300)).toBeTruthy();
		const dev = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { username: gauge!.id, password: `shudi-demo-${gauge!.id}`, reconnectPeriod: 0 });
		dev.on('error', () => undefined);
		cleanup.push(() => void dev.end(true));
		const base = Date.now() - 3_600_000;
		const acked: number[] = [];
		const publish = (seq: number) =>
			dev
				.publishAsync(`shudi/v1/devices/${gauge!.id}/up`, JSON.stringify({ ts: new Date(base + seq * 1000).toISOString(), seq, values: { water_level_m: 2 + seq / 1000 } }), { qos: 1 })
				.then(() => void acked.push(seq))
				.catch(() => undefined);
		for (let seq = 1; seq <= 30; seq++) await publish(seq);
		expect(acked).toHaveLength(30);

		const stopAt = Date.now();
		process.kill(npm.pid!, 'SIGTERM');
		// Keep publishing through the stop, as a field device would.
		let seq = 31;
		while (dev.connected && Date.now() - stopAt < 3000) await Promise.race([publish(seq++), new Promise((r) => setTimeout(r, 200))]);

		const { at } = await exited;
		await waitUntil(() => !alive(startPid) && !alive(serverPid), 5000);
		const took = Math.max(at, Date.now()) - stopAt;
		expect(took, out).toBeLessThan(SHUTDOWN_TIMEOUT_S * 1000 + 2000);
		await streamEnded;
		expect(await portFree(port)).toBe(true);
		expect(await portFree(mqttPort)).toBe(true);
		expect(out).toContain('stopped cleanly');

		// Every reading the broker acknowledged is in the database the server left behind.
		const db = await openDb({ dataDir: join(dataDir, 'pgdata') });
		try {
			const r = await db.query<{ seq: number }>('SELECT seq FROM readings WHERE device_id = $1 AND observed_at >= $2 ORDER BY seq', [gauge!.id, new Date(base)]);
			const stored = new Set(r.rows.map((x) => Number(x.seq)));
			expect(acked.filter((s) => !stored.has(s)), `acked ${acked.length}, stored ${stored.size}`).toEqual([]);
		} finally {
			await db.close();
		}
	});
});

async function waitUntil(fn: () => boolean, ms: number): Promise<void> {
	const t0 = Date.now();
	while (!fn()) {
		if (Date.now() - t0 > ms) throw new Error(`condition not met within ${ms} ms`);
		await new Promise((r) => setTimeout(r, 50));
	}
}
