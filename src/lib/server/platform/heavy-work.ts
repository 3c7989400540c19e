// Heavy work off the event loop that serves pages, runs the embedded broker and stores readings: parsing and checking
// uploaded files runs in worker threads of one pool per process, with a time limit and cancellation. A task past
// its limit, or cancelled, has its worker terminated (not merely forgotten), so a runaway file stops costing CPU.
// Pool: piscina — maintained by Node.js collaborators, terminates the worker of an aborted task, caps its queue and
// the worker's heap (resourceLimits), and names the exported function per task.
// Tasks are listed in ./heavy-tasks.ts; the worker entry is ./heavy-work-worker.ts, found by `workerEntry()` both as
// TypeScript source (vitest, tsx, vite dev: through ./heavy-work-worker.dev.mjs) and in the production build, where
// vite.config.ts bundles it as build-workers/heavy-work.js.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import type { HeavyTaskName, HeavyTasks } from '../heavy-tasks.js';
import { logger } from './log.js';
import type { WorkerReply, WorkerRequest } from '../heavy-work-worker.js';

export type TaskInput<K extends HeavyTaskName> = Parameters<HeavyTasks[K]>[0];
export type TaskOutput<K extends HeavyTaskName> = Awaited<ReturnType<HeavyTasks[K]>>;

/** A task's error meant for a person (ImportError and kin), carried back from the worker. */
export class HeavyTaskError extends Error {
	constructor(
		readonly kind: string,
		readonly zh: string,
		readonly en: string
	) {
		super(en);
		this.name = 'HeavyTaskError';
	}
}

/** The task ran out of time or was cancelled; its worker was terminated. */
export class HeavyTaskStopped extends Error {
	constructor(
		readonly reason: 'timeout' | 'cancelled' | 'busy',
		readonly zh: string,
		readonly en: string
	) {
		super(en);
		this.name = 'HeavyTaskStopped';
	}
}

/** Where the worker entry is: the built bundle's file, or the TypeScript source loaded through tsx. */
export function workerEntry(): { filename: string; execArgv: string[] } {
	const here = dirname(fileURLToPath(import.meta.url));
	const source = join(here, '..', 'heavy-work-worker.dev.mjs');
	if (existsSync(source)) return { filename: pathToFileURL(source).href, execArgv: [] };
	// Built, this module sits in build/server/chunks/…; the worker bundle is build-workers/heavy-work.js beside build/.
	for (let dir = here, i = 0; i < 6; i++, dir = dirname(dir)) {
		const built = join(dir, 'build-workers', 'heavy-work.js');
		if (existsSync(built)) return { filename: pathToFileURL(built).href, execArgv: [] };
	}
	throw new Error(`heavy-work: worker entry not found above ${here} (run npm run build: it writes build-workers/heavy-work.js)`);
}

let pool: Piscina<WorkerRequest, WorkerReply> | null = null;

function thePool(): Piscina<WorkerRequest, WorkerReply> {
	if (pool) return pool;
	const entry = workerEntry();
	pool = new Piscina<WorkerRequest, WorkerReply>({
		filename: entry.filename,
		execArgv: entry.execArgv,
		// Two cores in a typical duty-room box: one heavy task at a time keeps a core for pages, broker and ingest.
		minThreads: 0,
		maxThreads: 1,
		maxQueue: 8,
		idleTimeout: 30_000,
		// A file that would need more than this is refused by the worker's own heap limit, not by the server's.
		resourceLimits: { maxOldGenerationSizeMb: 1536 }
	});
	logger('heavy-work').info({ worker: entry.filename }, 'worker pool started');
	const p = pool;
	process.once('sveltekit:shutdown' as 'exit', () => void closeHeavyWork(p));
	return p;
}

/**
 * Run a task in a worker thread. Rejects with HeavyTaskError for a person's error, HeavyTaskStopped when the time
 * limit passes, `signal` aborts or the queue is full; `transfer` hands buffers to the worker without a copy.
 */
export async function run<K extends HeavyTaskName>(
	task: K,
	input: TaskInput<K>,
	options: { timeoutMs: number; signal?: AbortSignal; transfer?: ArrayBuffer[] }
): Promise<TaskOutput<K>> {
	const timeout = AbortSignal.timeout(options.timeoutMs);
	const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
	const seconds = Math.round(options.timeoutMs / 1000);
	let reply: WorkerReply;
	try {
		reply = await thePool().run({ task, input }, { signal, transferList: options.transfer });
	} catch (err) {
		if (timeout.aborted) {
			throw new HeavyTaskStopped(
				'timeout',
				`处理超过 ${seconds} 秒，已停止。文件可能太复杂：请简化后重试。`,
				`Stopped after ${seconds} s: the file may be too complex; simplify it and try again.`
			);
		}
		if (options.signal?.aborted) throw new HeavyTaskStopped('cancelled', '已取消。', 'Cancelled.');
		if (/queue is at limit/i.test((err as Error).message ?? '')) {
			throw new HeavyTaskStopped('busy', '服务器正忙于处理其他文件，请稍后再试。', 'The server is busy with other files; try again in a minute.');
		}
		throw err;
	}
	if (!reply.ok) throw new HeavyTaskError(reply.name, reply.zh, reply.en);
	return reply.value as TaskOutput<K>;
}

/** Stop the pool: running tasks are ended and their workers terminated. */
export async function closeHeavyWork(p: Piscina<WorkerRequest, WorkerReply> | null = pool): Promise<void> {
	if (!p) return;
	if (p === pool) pool = null;
	await p.destroy();
}

/** Worker threads alive right now (for /metrics and tests of the pool itself). */
export function heavyWorkThreads(): number {
	return pool?.threads.length ?? 0;
}
