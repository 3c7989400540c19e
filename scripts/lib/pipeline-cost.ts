// The ingest pipeline's own CPU per message — decode, the device's profile, validation, up to the writer — for the
// native payload and the profiled one, in this process with no broker and no database: what a profile adds to each
// message, free of the noise of a shared machine that the end-to-end phases of `npm run bench:ingest` carry.
import { IngestPipeline } from '../../ingest/pipeline.js';
import type { DeviceEntry, DeviceRegistry } from '../../ingest/registry.js';
import type { BatchWriter, Committed, DeadLetter } from '../../ingest/writer.js';
import type { Reading } from '../../src/lib/domain/types.js';
import { deviceProfile } from '../../src/lib/domain/device-profiles/index.js';
import { PROFILED_PROFILE, nativePayload, nativeTopic, profiledPayload, profiledTopic } from './publisher.js';

export interface PipelineCost {
	/** Microseconds of CPU per message, median over rounds. */
	nativeUs: number;
	profiledUs: number;
	rounds: { nativeUs: number; profiledUs: number }[];
	/** Readings and dead letters the last profiled round produced (a check that the profile really stored). */
	profiledReadings: number;
	profiledDeadLetters: number;
}

/** A writer that keeps nothing: the cost measured is the pipeline's, not the database's. */
class CountingWriter {
	readings = 0;
	dead = 0;
	enqueue(readings: Reading[], dead: DeadLetter[], done: Committed): void {
		this.readings += readings.length;
		this.dead += dead.length;
		done();
	}
	add(readings: Reading[], dead: DeadLetter[] = []): Promise<void> {
		this.enqueue(readings, dead, () => undefined);
		return Promise.resolve();
	}
}

function registry(ids: string[], profile: string | null): DeviceRegistry {
	const compiled = profile ? deviceProfile(profile, []) : null;
	if (compiled && !compiled.ok) throw new Error(compiled.error);
	const byId = new Map<string, DeviceEntry>(
		ids.map((id) => [id, { id, kind: 'river_level', tokenHash: null, devEui: null, revoked: false, intervalS: 600, profile: compiled && compiled.ok ? compiled.profile : null }])
	);
	return { cached: (k: { id?: string }) => (k.id === undefined ? undefined : byId.get(k.id)), find: async (k: { id?: string }) => (k.id === undefined ? undefined : byId.get(k.id)) } as unknown as DeviceRegistry;
}

function round(load: 'native' | 'profiled', messages: number, devices: number): { us: number; writer: CountingWriter } {
	const ids = Array.from({ length: devices }, (_, i) => `cost-${i}`);
	const writer = new CountingWriter();
	const pipeline = new IngestPipeline(registry(ids, load === 'profiled' ? PROFILED_PROFILE : null), writer as unknown as BatchWriter, { timeZone: 'Asia/Shanghai' });
	const topic = load === 'profiled' ? profiledTopic : nativeTopic;
	const payload = load === 'profiled' ? profiledPayload : nativePayload;
	// Built before the clock starts: the publisher's cost is not the ingest's.
	const t0 = Date.now() - 3_600_000;
	const msgs = Array.from({ length: messages }, (_, i) => ({ topic: topic(ids[i % devices]), body: Buffer.from(payload(t0 + i, i + 1)) }));
	const done = () => undefined;
	const cpu0 = process.cpuUsage();
	for (const m of msgs) pipeline.handleThen(m.topic, m.body, done);
	const c = process.cpuUsage(cpu0);
	return { us: (c.user + c.system) / messages, writer };
}

/** Alternating rounds of each load (after a warm-up of both), medians of the per-message CPU. */
export function measurePipelineCost(opts: { messages?: number; rounds?: number; devices?: number } = {}): PipelineCost {
	const messages = opts.messages ?? 100_000;
	const devices = opts.devices ?? 1000;
	round('native', messages / 2, devices);
	round('profiled', messages / 2, devices);
	const rounds: PipelineCost['rounds'] = [];
	let last: CountingWriter | null = null;
	for (let r = 0; r < (opts.rounds ?? 5); r++) {
		const first = r % 2 === 0 ? 'native' : 'profiled';
		const a = round(first, messages, devices);
		const b = round(first === 'native' ? 'profiled' : 'native', messages, devices);
		const [n, p] = first === 'native' ? [a, b] : [b, a];
		rounds.push({ nativeUs: n.us, profiledUs: p.us });
		last = p.writer;
	}
	const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
	return {
		nativeUs: med(rounds.map((r) => r.nativeUs)),
		profiledUs: med(rounds.map((r) => r.profiledUs)),
		rounds,
		profiledReadings: last?.readings ?? 0,
		profiledDeadLetters: last?.dead ?? 0
	};
}
