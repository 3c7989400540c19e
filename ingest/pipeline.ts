// The ingest pipeline, transport-agnostic: raw message (topic + bytes) → decode → identify device → the device's
// profile, if it has one (src/lib/domain/device-profiles: vendor keys and units into shudi metrics) → validate →
// batch writer. Used by the MQTT subscriber and the HTTP twin alike, so both share one validation and storage path.
// Every message that cannot be stored, and every value rejected from a message, goes to the dead letters with a
// reason; a poison message costs one dead-letter row and never blocks the messages behind it.
import { decodeMessage } from './decoders/index.js';
import { DecodeError, type Decoded } from './decoders/types.js';
import { validateDecoded, type Rejected, type ValidationResult } from './validate.js';
import { applyProfile } from '../src/lib/domain/device-profiles/apply.js';
import type { DeviceRegistry, DeviceEntry } from './registry.js';
import type { BatchWriter, Committed, DeadLetter } from './writer.js';
import type { Reading } from '../src/lib/domain/types.js';
import { hashToken } from '../src/lib/server/devices/device-tokens.js';

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

	/** Zone of devices' wall-clock time strings (TZ_DISPLAY; the config's default when the env names none). */
	private readonly timeZone: string;

	constructor(
		private readonly registry: DeviceRegistry,
		private readonly writer: BatchWriter,
		opts: { timeZone?: string } = {}
	) {
		this.timeZone = opts.timeZone ?? (process.env.TZ_DISPLAY || 'Asia/Shanghai');
	}

	private count(reason: string): void {
		this.counters.deadLetteredByReason.set(reason, (this.counters.deadLetteredByReason.get(reason) ?? 0) + 1);
	}

	/**
	 * Handles one message. The returned promise settles when everything the message produced (readings and dead
	 * letters alike) has committed — only then may the transport acknowledge it.
	 *
	 * Nearly every message is decodable, from a device known by id, with nothing rejected: that path runs
	 * synchronously up to the writer and is not an async function, so while the message's batch waits for its commit
	 * only its readings stay reachable — not its bytes, its parsed JSON and a suspended frame. With 10,000 messages in
	 * flight, what survives until the commit is what the garbage collector pays for (`npm run bench:ingest`).
	 */
	handle(topic: string, payload: Buffer, ctx: MessageContext = {}): Promise<HandleResult> {
		const plain = this.plain(topic, payload, ctx);
		if (plain instanceof Promise) return plain;
		const stored = plain.readings.length;
		const deviceId = plain.deviceId;
		return this.writer.add(plain.readings).then(() => ({ stored, rejected: [], deviceId }));
	}

	/**
	 * handle() for a transport that needs to know only when it may acknowledge (the MQTT subscriber): `done()` once
	 * everything the message produced has committed, `done(err)` when it never will. The common message goes to the
	 * writer with no promise at all (BatchWriter.enqueue).
	 */
	handleThen(topic: string, payload: Buffer, done: Committed): void {
		let plain: ReturnType<IngestPipeline['plain']>;
		try {
			plain = this.plain(topic, payload, {});
		} catch (err) {
			return done(err as Error);
		}
		if (plain instanceof Promise) plain.then(() => done(), done);
		else this.writer.enqueue(plain.readings, [], done);
	}

	/**
	 * The common message — decodable, from a device in the registry's cache, nothing rejected — as its device and
	 * readings, ready for the writer; any other message is handled here in full (dead letters included), and its
	 * promise returned. Runs synchronously up to the writer.
	 */
	private plain(topic: string, payload: Buffer, ctx: MessageContext): { deviceId: string; readings: Reading[] } | Promise<HandleResult> {
		this.counters.received++;
		const receivedAt = ctx.receivedAt ?? new Date();
		let decoded: Decoded;
		try {
			decoded = decodeMessage(topic, payload, { username: ctx.username });
		} catch (err) {
			const reason = err instanceof DecodeError ? err.reason : 'decode_failed';
			return this.refuse(ctx, this.deadLetter(ctx, topic, payload, receivedAt, reason, (err as Error).message, guessDeviceId(topic)), null);
		}
		const ref = decoded.device;
		const known = ref.by === 'id' ? this.registry.cached(ref) : undefined;
		if (known && !known.revoked && (!ctx.authenticatedDeviceId || ctx.authenticatedDeviceId === known.id)) {
			const deviceId = known.id;
			// A device without a profile keeps the native path untouched: one check of a field, nothing more.
			const v = known.profile === null && known.profileError === undefined
				? validateDecoded(decoded, deviceId, this.serverTime(deviceId, receivedAt))
				: this.profiled(decoded, known, this.serverTime(deviceId, receivedAt));
			if (!v.rejected.length) return { deviceId, readings: v.readings };
			return this.store(topic, payload, ctx, receivedAt, deviceId, v);
		}
		return this.identifyAndStore(topic, payload, ctx, receivedAt, decoded);
	}

	/** The rest of handle() for a device not in the registry's cache, revoked, mismatched or not named by id. */
	private async identifyAndStore(topic: string, payload: Buffer, ctx: MessageContext, receivedAt: Date, decoded: Decoded): Promise<HandleResult> {
		const device = await this.identify(decoded);
		if (!device.ok) {
			return this.refuse(ctx, this.deadLetter(ctx, topic, payload, receivedAt, device.reason, device.detail, device.id), device.id, device.detail);
		}
		if (ctx.authenticatedDeviceId && ctx.authenticatedDeviceId !== device.entry.id) {
			const d = this.deadLetter(ctx, topic, payload, receivedAt, 'device_mismatch', `authenticated as ${ctx.authenticatedDeviceId}`, device.entry.id);
			return this.refuse(ctx, d, device.entry.id);
		}
		const v = this.profiled(decoded, device.entry, this.serverTime(device.entry.id, receivedAt));
		return this.store(topic, payload, ctx, receivedAt, device.entry.id, v);
	}

	/**
	 * Validation through the device's profile. Values the profile maps come under shudi metric names in shudi units;
	 * values it cannot read are rejected with the profile's reason; keys it neither maps nor ignores go on under their
	 * own path, so the validator dead-letters them `unknown_metric` as for any device — an admin can map one and replay.
	 * An item whose every key the profile ignores (a Milesight device-information frame) stores nothing and is no fault;
	 * the network server's radio extras ride on the first item that remains.
	 */
	private profiled(decoded: Decoded, entry: DeviceEntry, receivedAt: Date): ValidationResult {
		const profile = entry.profile;
		if (profile === null) {
			if (entry.profileError === undefined) return validateDecoded(decoded, entry.id, receivedAt);
			return { readings: [], rejected: [{ metric: '', value: entry.profileError, reason: 'bad_profile' }] };
		}
		const before: Rejected[] = [];
		const items: Decoded['items'] = [];
		// The network server's radio extras belong to the uplink itself: they stay only while its own item does.
		let extrasKept = false;
		for (let n = 0; n < decoded.items.length; n++) {
			const item = decoded.items[n];
			const r = applyProfile(profile, item, { timeZone: this.timeZone });
			const values = r.item.values;
			for (let i = 0; i < r.unmapped.length; i++) {
				const u = r.unmapped[i];
				if (!Object.prototype.hasOwnProperty.call(values, u.key)) values[u.key] = u.value;
			}
			for (let i = 0; i < r.rejected.length; i++) {
				const x = r.rejected[i];
				// A bad time rejects every value of the item in the validator, which names each one; no need twice.
				if (x.reason !== 'bad_timestamp') before.push({ metric: x.key, value: x.value, reason: x.reason });
			}
			// Nothing left to store (every key ignored, or rejected above): not an `empty` message, which it was not.
			if (Object.keys(values).length > 0 || Object.keys(item.values).length === 0) {
				if (n === 0) extrasKept = true;
				items.push(r.item);
			}
			// A backlog the device kept through an outage (the profile's series), each reading at its own time.
			for (let i = 0; i < r.series.length; i++) items.push(r.series[i]);
		}
		const same = extrasKept && items.length === decoded.items.length;
		const v = validateDecoded(same ? { ...decoded, items } : { ...decoded, items, extras: extrasKept ? decoded.extras : undefined }, entry.id, receivedAt);
		if (before.length) v.rejected.unshift(...before);
		return v;
	}

	/** Stores a message's good readings and dead-letters its rejected values. */
	private async store(topic: string, payload: Buffer, ctx: MessageContext, receivedAt: Date, deviceId: string, v: ValidationResult): Promise<HandleResult> {
		const { readings, rejected } = v;
		const deads = rejected.map((r) => this.deadLetter(ctx, topic, payload, receivedAt, r.reason, JSON.stringify({ metric: r.metric, value: r.value }).slice(0, 500), deviceId));
		await this.writer.add(readings, ctx.replay ? [] : deads);
		return {
			stored: readings.length,
			rejected: rejected.map((r) => ({ reason: r.reason, detail: `${r.metric}` })),
			deviceId
		};
	}

	/** A message refused whole: its dead letter (none when replaying), and the answer once that has committed. */
	private async refuse(ctx: MessageContext, d: DeadLetter, deviceId: string | null, detail = d.detail): Promise<HandleResult> {
		await this.writer.add([], ctx.replay ? [] : [d]);
		return { stored: 0, rejected: [{ reason: d.reason, detail }], deviceId };
	}

	private deadLetter(ctx: MessageContext, topic: string, payload: Buffer, receivedAt: Date, reason: string, detail?: string, deviceId?: string | null): DeadLetter {
		if (!ctx.replay) this.count(reason);
		// PostgreSQL text cannot hold U+0000, and JSON.parse error messages quote the input: escape it in every
		// text field (the raw payload is bytea and keeps every byte).
		return { topic: noNul(topic), payload, reason, detail: detail === undefined ? undefined : noNul(detail), deviceId: deviceId ? noNul(deviceId) : null, receivedAt };
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
