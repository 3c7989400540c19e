// The ingest pipeline, transport-agnostic: raw message (topic + bytes) → decode → identify device → validate →
// batch writer. Used by the MQTT subscriber and the HTTP twin alike, so both share one validation and storage path.
// Every message that cannot be stored, and every value rejected from a message, goes to the dead letters with a
// reason; a poison message costs one dead-letter row and never blocks the messages behind it.
import { decodeMessage } from './decoders/index.js';
import { DecodeError, type Decoded } from './decoders/types.js';
import { validateDecoded } from './validate.js';
import type { DeviceRegistry, DeviceEntry } from './registry.js';
import type { BatchWriter, DeadLetter } from './writer.js';
import { hashToken } from '../src/lib/server/device-tokens.js';

export interface PipelineCounters {
	received: number;
	deadLetteredByReason: Map<string, number>;
}

export interface MessageContext {
	/** MQTT username, when the transport knows it (embedded broker, HTTP twin). */
	username?: string;
	/** Device already authenticated by the transport (HTTP twin with a bearer token). */
	authenticatedDeviceId?: string;
	receivedAt?: Date;
	/** Replaying a dead letter: report rejections instead of writing them again as new dead letters. */
	replay?: boolean;
}

export interface HandleResult {
	stored: number;
	rejected: { reason: string; detail?: string }[];
	deviceId: string | null;
}

export class IngestPipeline {
	readonly counters: PipelineCounters = { received: 0, deadLetteredByReason: new Map() };

	constructor(
		private readonly registry: DeviceRegistry,
		private readonly writer: BatchWriter
	) {}

	private count(reason: string): void {
		this.counters.deadLetteredByReason.set(reason, (this.counters.deadLetteredByReason.get(reason) ?? 0) + 1);
	}

	/**
	 * Handles one message. The returned promise settles when everything the message produced (readings and dead
	 * letters alike) has committed — only then may the transport acknowledge it.
	 */
	async handle(topic: string, payload: Buffer, ctx: MessageContext = {}): Promise<HandleResult> {
		this.counters.received++;
		const receivedAt = ctx.receivedAt ?? new Date();
		const dead = (reason: string, detail?: string, deviceId?: string | null): DeadLetter => {
			if (!ctx.replay) this.count(reason);
			// PostgreSQL text cannot hold U+0000, and JSON.parse error messages quote the input: escape it in every
			// text field (the raw payload is bytea and keeps every byte).
			return { topic: noNul(topic), payload, reason, detail: detail === undefined ? undefined : noNul(detail), deviceId: deviceId ? noNul(deviceId) : null, receivedAt };
		};
		const keep = (d: DeadLetter[]) => (ctx.replay ? [] : d);
		let decoded: Decoded;
		try {
			decoded = decodeMessage(topic, payload, { username: ctx.username });
		} catch (err) {
			const reason = err instanceof DecodeError ? err.reason : 'decode_failed';
			const d = dead(reason, (err as Error).message, guessDeviceId(topic));
			await this.writer.add([], keep([d]));
			return { stored: 0, rejected: [{ reason, detail: d.detail }], deviceId: null };
		}
		// A known device by id needs no await: the registry's cache answers at once (most messages).
		const ref = decoded.device;
		const known = ref.by === 'id' ? this.registry.cached(ref) : undefined;
		const device = known && !known.revoked ? { ok: true as const, entry: known } : await this.identify(decoded);
		if (!device.ok) {
			const d = dead(device.reason, device.detail, device.id);
			await this.writer.add([], keep([d]));
			return { stored: 0, rejected: [{ reason: device.reason, detail: device.detail }], deviceId: device.id };
		}
		if (ctx.authenticatedDeviceId && ctx.authenticatedDeviceId !== device.entry.id) {
			const d = dead('device_mismatch', `authenticated as ${ctx.authenticatedDeviceId}`, device.entry.id);
			await this.writer.add([], keep([d]));
			return { stored: 0, rejected: [{ reason: 'device_mismatch', detail: d.detail }], deviceId: device.entry.id };
		}
		const { readings, rejected } = validateDecoded(decoded, device.entry.id, this.serverTime(device.entry.id, receivedAt));
		if (!rejected.length) {
			await this.writer.add(readings);
			return { stored: readings.length, rejected: [], deviceId: device.entry.id };
		}
		const deads = rejected.map((r) => dead(r.reason, JSON.stringify({ metric: r.metric, value: r.value }).slice(0, 500), device.entry.id));
		await this.writer.add(readings, keep(deads));
		return {
			stored: readings.length,
			rejected: rejected.map((r) => ({ reason: r.reason, detail: `${r.metric}` })),
			deviceId: device.entry.id
		};
	}

	private lastServerMs = new Map<string, number>();

	/**
	 * Server receipt time, strictly increasing per device. A reading without a trusted device time is stored at its
	 * receipt time, and (device, metric, observed_at) is the idempotency key: two different messages arriving in the
	 * same millisecond must not collapse into one. (The price: a redelivered message without a device time cannot
	 * be recognised as a duplicate — devices should send `ts`.)
	 */
	private serverTime(deviceId: string, at: Date): Date {
		const last = this.lastServerMs.get(deviceId) ?? 0;
		const ms = Math.max(at.getTime(), last + 1);
		this.lastServerMs.set(deviceId, ms);
		return ms === at.getTime() ? at : new Date(ms);
	}

	private async identify(
		decoded: Decoded
	): Promise<{ ok: true; entry: DeviceEntry } | { ok: false; reason: string; detail: string; id: string | null }> {
		const ref = decoded.device;
		let entry: DeviceEntry | undefined;
		let shown: string | null = null;
		if (ref.by === 'id') {
			shown = ref.id;
			entry = await this.registry.find({ id: ref.id });
		} else if (ref.by === 'token') {
			entry = await this.registry.find({ tokenHash: hashToken(ref.token) });
			shown = entry?.id ?? null;
		} else {
			shown = ref.devEui;
			entry = await this.registry.find({ devEui: ref.devEui });
		}
		if (!entry) return { ok: false, reason: 'unknown_device', detail: `no registered device for ${ref.by}`, id: shown };
		if (entry.revoked) return { ok: false, reason: 'revoked_device', detail: 'device credential revoked', id: entry.id };
		return { ok: true, entry };
	}
}

export function noNul(s: string): string {
	return s.includes('\u0000') ? s.replaceAll('\u0000', '\\u0000') : s;
}

/** Best-effort device id from a topic, so dead letters of undecodable messages can still be filtered by device. */
function guessDeviceId(topic: string): string | null {
	const m = /^shudi\/v1\/devices\/([^/]{1,64})\/up$/.exec(topic) ?? /\/devices?\/([^/]{1,64})\//.exec(topic);
	return m ? m[1] : null;
}
