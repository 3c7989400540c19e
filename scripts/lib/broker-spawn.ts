// A Mosquitto of the benchmark's own, started and stopped by `npm run bench:ingest` when no --url is given.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import mqtt from 'mqtt';

/**
 * A Mosquitto of the bench's own on a free port, configured as README's production section says: a queue large
 * enough that the broker never drops a backlog (`max_queued_messages`), no persistence file, loopback only. The
 * machine's own Mosquitto keeps the stock `max_queued_messages 1000`, which silently drops messages whenever a
 * subscriber — the counting baseline too — falls more than 1000 messages behind (mosquitto.conf(5),
 * max_queued_messages).
 */
export async function startOwnMosquitto(): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
	const port = await new Promise<number>((ok, fail) => {
		const srv = createServer();
		srv.once('error', fail);
		srv.listen(0, '127.0.0.1', () => {
			const addr = srv.address();
			srv.close(() => (addr && typeof addr !== 'string' ? ok(addr.port) : fail(new Error('no port'))));
		});
	});
	const dir = mkdtempSync(resolve(tmpdir(), 'shudi-bench-mosq-'));
	const conf = resolve(dir, 'mosquitto.conf');
	writeFileSync(
		conf,
		[`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'max_queued_messages 10000000', 'log_dest stderr', 'log_type error', 'log_type warning'].join('\n') + '\n'
	);
	const child = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
	const errors: string[] = [];
	child.stderr!.on('data', (b: Buffer) => errors.push(b.toString()));
	const exited = new Promise<void>((r) => child.once('exit', () => r()));
	child.once('error', (e) => errors.push(e.message));
	const url = `mqtt://127.0.0.1:${port}`;
	for (let i = 0; ; i++) {
		try {
			const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 1000 });
			await c.endAsync(true);
			break;
		} catch (err) {
			if (i > 50 || child.exitCode !== null) throw new Error(`could not start mosquitto: ${errors.join('') || (err as Error).message}`);
			await sleep(100);
		}
	}
	return {
		url,
		pid: child.pid!,
		async stop() {
			child.kill('SIGTERM');
			await exited;
			rmSync(dir, { recursive: true, force: true });
			const dropped = errors.join('').match(/dropped/gi);
			if (dropped) console.error(`bench mosquitto reported dropped messages: ${errors.join('').slice(0, 500)}`);
		}
	};
}

function sleep(ms: number): Promise<void> {
	return new Promise((r) => setTimeout(r, ms));
}
