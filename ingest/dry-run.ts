// A dry run of the ingest pipeline for the admin's preview: one message, as a device or network server sent it,
// through the very pipeline that stores readings (decode → the device's profile → validation), for one device with a
// profile the admin is trying out — with a writer that keeps what it is handed instead of writing it. So the preview
// shows what would be stored and what would still be refused, by the same code, never by a look-alike.
import { IngestPipeline } from './pipeline.js';
import type { DeviceEntry, DeviceRegistry } from './registry.js';
import type { BatchWriter, Committed, DeadLetter } from './writer.js';
import type { Reading } from '../src/lib/domain/types.js';
import type { CompiledProfile } from '../src/lib/domain/device-profiles/index.js';

export interface DryRunDevice {
	id: string;
	kind: string;
	intervalS: number;
	/** The profile to try (compiled); null = native shudi keys. */
	profile: CompiledProfile | null;
	profileError?: string;
}

export interface DryRunResult {
	readings: Reading[];
	/** Everything the pipeline would dead-letter: the reason and, for one value, its key and value. */
	rejected: { reason: string; key: string | null; value: unknown; detail: string | null }[];
}

/**
 * Runs one message through a pipeline whose registry knows only `device` (whatever the message names: the admin chose
 * the device) and whose writer records instead of writing. Nothing reaches the database.
 */
export async function dryRunMessage(device: DryRunDevice, topic: string, payload: Buffer, opts: { receivedAt: Date; timeZone: string }): Promise<DryRunResult> {
	const entry: DeviceEntry = { id: device.id, kind: device.kind, tokenHash: null, devEui: null, revoked: false, intervalS: device.intervalS, profile: device.profile, profileError: device.profileError };
	const readings: Reading[] = [];
	const dead: DeadLetter[] = [];
	const registry = { cached: () => entry, find: async () => entry } as unknown as DeviceRegistry;
	const writer = {
		add: async (r: Reading[], d: DeadLetter[] = []) => {
			readings.push(...r);
			dead.push(...d);
		},
		enqueue: (r: Reading[], d: DeadLetter[], done: Committed) => {
			readings.push(...r);
			dead.push(...d);
			done();
		}
	} as unknown as BatchWriter;
	// A fresh pipeline per run: its per-device server clock starts from this message's receipt time.
	const pipeline = new IngestPipeline(registry, writer, { timeZone: opts.timeZone });
	await pipeline.handle(topic, payload, { receivedAt: opts.receivedAt });
	return {
		readings,
		rejected: dead.map((d) => {
			const one = valueOf(d.detail);
			return { reason: d.reason, key: one?.key ?? null, value: one?.value, detail: one ? null : (d.detail ?? null) };
		})
	};
}

/** The pipeline writes a rejected value's detail as {"metric": key, "value": value}; a whole message's is plain text. */
function valueOf(detail: string | undefined): { key: string; value: unknown } | null {
	if (!detail || !detail.startsWith('{"metric":')) return null;
	try {
		const d = JSON.parse(detail) as { metric?: unknown; value?: unknown };
		return typeof d.metric === 'string' ? { key: d.metric, value: d.value } : null;
	} catch {
		return null;
	}
}
