// The ingest worker as a child process, for `npm run bench:ingest` and the tests that fault it
// (tests/integration/ingest-faults.spec.ts, bench-floor.spec.ts): its own process, so its RSS and CPU are its own
// and SIGKILL really kills it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import type { Pool } from 'pg';
import { nativeTopic } from './publisher.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface IngestChild {
	child: ChildProcess;
	pid: number;
	/** Last log lines (stdout and stderr), newest last; bounded. */
	logs: string[];
	/** True while the process has not exited. */
	alive(): boolean;
	exited: Promise<number | null>;
	/** Resolves once a log line matches (e.g. /ingest running/); rejects if the process exits first. */
	waitForLog(re: RegExp, timeoutMs?: number): Promise<string>;
	/** SIGTERM (flush and exit 0), escalating to SIGKILL after graceMs. Returns the exit code. */
	stop(graceMs?: number): Promise<number | null>;
	kill(): Promise<void>;
	/** VmRSS in bytes from /proc, or null once the process is gone. */
	rss(): number | null;
}

export interface SpawnIngestOptions {
	databaseUrl: string;
	mqttUrl: string;
	clientId: string;
	shareGroup?: string;
	logLevel?: string;
	batchRows?: number;
	batchMs?: number;
	receiveMax?: number;
	/** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/prof']. */
	nodeArgs?: string[];
	/** Ready once this log line appears; default 'ingest running'. */
	readyLog?: RegExp;
	/**
	 * 'build' runs build-ingest/main.js, the bundle `npm run start:ingest` runs (call buildIngest() first); 'source'
	 * (default) runs ingest/main.ts through tsx; 'floor' runs scripts/bench-floor.ts through tsx (bench:ingest --floor).
	 */
	entry?: 'build' | 'source' | 'floor';
}

/**
 * Bundles the ingest worker as `npm run start:ingest` does (`npm run build:ingest`: vite.ingest.config.ts →
 * build-ingest/main.js). About a second.
 */
export function buildIngest(): void {
	const r = spawnSync(process.execPath, [resolve(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'vite.ingest.config.ts'], { cwd: ROOT, stdio: 'inherit' });
	if (r.status !== 0) throw new Error(`building the ingest failed (exit ${r.status})`);
}

/**
 * The node flags `npm run start:ingest` runs the ingest with (its heap limit), read from package.json so the bench
 * and the fault tests measure the process as shipped.
 */
export function shippedIngestNodeArgs(): string[] {
	const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
	return pkg.scripts['start:ingest'].split(/\s+/).filter((a) => /^--max-(old|semi)-space-size=\d+$/.test(a));
}

/**
 * Starts the ingest — `node build-ingest/main.js` (entry 'build', as shipped) or `node --import tsx ingest/main.ts` — with
 * the shipped node flags unless `nodeArgs` are given (node itself, not `npm run` or `npx tsx`: then the pid we hold is the
 * ingest itself, so SIGKILL really kills it and /proc/<pid>/status is its RSS) and waits until it logs that it is running.
 */
export async function spawnIngest(o: SpawnIngestOptions): Promise<IngestChild> {
	const env: NodeJS.ProcessEnv = { ...process.env };
	for (const k of Object.keys(env)) if (/^(INGEST_|MQTT_|DATABASE_URL$|SHUDI_|DEMO$|SIMULATE$)/.test(k)) delete env[k];
	Object.assign(env, {
		DATABASE_URL: o.databaseUrl,
		MQTT_URL: o.mqttUrl,
		INGEST_CLIENT_ID: o.clientId,
		LOG_LEVEL: o.logLevel ?? 'info',
		...(o.shareGroup ? { INGEST_SHARE_GROUP: o.shareGroup } : {}),
		...(o.batchRows ? { INGEST_BATCH_ROWS: String(o.batchRows) } : {}),
		...(o.batchMs ? { INGEST_BATCH_MS: String(o.batchMs) } : {}),
		...(o.receiveMax ? { INGEST_RECEIVE_MAX: String(o.receiveMax) } : {})
	});
	const entry = o.entry === 'build' ? ['build-ingest/main.js'] : ['--import', 'tsx', o.entry === 'floor' ? 'scripts/bench-floor.ts' : 'ingest/main.ts'];
	const child = spawn(process.execPath, [...(o.nodeArgs ?? shippedIngestNodeArgs()), ...entry], {
		cwd: ROOT,
		env,
		stdio: ['ignore', 'pipe', 'pipe']
	});
	const logs: string[] = [];
	const watchers = new Set<(line: string) => void>();
	let code: number | null | undefined;
	const exited = new Promise<number | null>((r) =>
		child.once('exit', (c, sig) => {
			code = c ?? (sig ? null : c);
			r(code);
		})
	);
	// Whole lines only: a chunk may end inside a line (the floor's "floor stored N" is read as a number).
	const onData = () => {
		let partial = '';
		return (chunk: string) => {
			const lines = (partial + chunk).split('\n');
			partial = lines.pop()!;
			for (const line of lines) {
				if (!line) continue;
				logs.push(line);
				if (logs.length > 5000) logs.splice(0, 1000);
				for (const w of watchers) w(line);
			}
		};
	};
	child.stdout!.setEncoding('utf8').on('data', onData());
	child.stderr!.setEncoding('utf8').on('data', onData());
	const pid = child.pid!;
	const alive = () => code === undefined;
	const waitForLog = (re: RegExp, timeoutMs = 30_000) =>
		new Promise<string>((resolveLine, reject) => {
			const hit = logs.find((l) => re.test(l));
			if (hit) return resolveLine(hit);
			const done = () => {
				watchers.delete(w);
				clearTimeout(t);
			};
			const w = (line: string) => {
				if (re.test(line)) {
					done();
					resolveLine(line);
				}
			};
			const t = setTimeout(() => {
				done();
				reject(new Error(`ingest did not log ${re} within ${timeoutMs} ms; last lines:\n${logs.slice(-20).join('\n')}`));
			}, timeoutMs);
			watchers.add(w);
			void exited.then((c) => {
				if (!watchers.has(w)) return;
				done();
				reject(new Error(`ingest exited (${c}) before logging ${re}; last lines:\n${logs.slice(-20).join('\n')}`));
			});
		});
	const ic: IngestChild = {
		child,
		pid,
		logs,
		alive,
		exited,
		waitForLog,
		async stop(graceMs = 10_000) {
			if (!alive()) return code ?? null;
			child.kill('SIGTERM');
			const t = setTimeout(() => alive() && child.kill('SIGKILL'), graceMs);
			const c = await exited;
			clearTimeout(t);
			return c;
		},
		async kill() {
			if (!alive()) return;
			child.kill('SIGKILL');
			await exited;
		},
		rss() {
			try {
				const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
				return m ? Number(m[1]) * 1024 : null;
			} catch {
				return null;
			}
		}
	};
	try {
		await waitForLog(o.readyLog ?? /"msg":"ingest running"/, 60_000);
	} catch (err) {
		await ic.kill();
		throw err;
	}
	return ic;
}

/** A persistent session outlives its client: end it, or the broker keeps queueing for it (7-day expiry). */
export async function dropSession(url: string, clientId: string): Promise<void> {
	const c = await mqtt.connectAsync(url, { clientId, protocolVersion: 5, clean: true, properties: { sessionExpiryInterval: 0 }, reconnectPeriod: 0 });
	await c.endAsync();
}

/**
 * Waits until the broker routes device topics to the ingest. "ingest running" is logged after CONNACK but before
 * the SUBACK, so a brand-new session can miss the first messages; a probe from an unregistered device id is
 * published until its dead letter appears.
 */
export async function waitUntilSubscribed(
	url: string,
	q: { query: <T>(t: string, p?: unknown[]) => Promise<{ rows: T[] }> } | Pool,
	probeId: string,
	timeoutMs = 20_000
): Promise<void> {
	const c = await mqtt.connectAsync(url, { protocolVersion: 4 });
	try {
		const t0 = Date.now();
		for (;;) {
			await c.publishAsync(nativeTopic(probeId), '{"values":{}}', { qos: 1 });
			await sleep(200);
			const r = await (q as Pool).query('SELECT 1 FROM dead_letters WHERE device_id = $1 LIMIT 1', [probeId]);
			if (r.rows.length) return;
			if (Date.now() - t0 > timeoutMs) throw new Error(`ingest did not receive a probe within ${timeoutMs} ms`);
		}
	} finally {
		await c.endAsync(true);
	}
}

function sleep(ms: number): Promise<void> {
	return new Promise((r) => setTimeout(r, ms));
}
