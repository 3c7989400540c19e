// The worker-thread entry of ./heavy-work.ts: runs one task of ./heavy-tasks.ts by name. Errors meant for a person
// (an ImportError and its kin carry `zh` and `en`) come back as data, because structured clone keeps only an
// Error's message and stack; anything else is rethrown as it is.
import { heavyTasks, type HeavyTaskName } from './heavy-tasks.js';

export interface WorkerRequest {
	task: HeavyTaskName;
	input: unknown;
}

export type WorkerReply = { ok: true; value: unknown } | { ok: false; name: string; zh: string; en: string };

export default async function runTask({ task, input }: WorkerRequest): Promise<WorkerReply> {
	const fn = heavyTasks[task] as ((input: unknown) => unknown) | undefined;
	if (!fn) throw new Error(`unknown heavy task: ${String(task)}`);
	try {
		return { ok: true, value: await fn(input) };
	} catch (err) {
		const e = err as { name?: unknown; zh?: unknown; en?: unknown };
		if (typeof e?.zh === 'string' && typeof e?.en === 'string') return { ok: false, name: String(e.name ?? 'Error'), zh: e.zh, en: e.en };
		throw err;
	}
}
