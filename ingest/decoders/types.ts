// Shared shapes for the MQTT decoders: what each device dialect decodes into *before* validation
// (DOMAIN.md "MQTT contract"). Decoders only check the envelope (topic, JSON shape, device identity);
// ingest/validate.ts judges every value. Nothing here does I/O.

/** How the message names its device; the device registry resolves it to our device id. */
export type DeviceRef = { by: 'id'; id: string } | { by: 'token'; token: string } | { by: 'dev_eui'; devEui: string };

/** One metric value as it came off the wire, before validation. */
export interface RawValue {
	metric: string;
	value: unknown;
	ts?: unknown;
	seq?: unknown;
}

export type Dialect = 'native' | 'thingsboard' | 'chirpstack' | 'tts';

/** One timestamped group of values (one native/ThingsBoard array element, or one LoRaWAN uplink). */
export interface DecodedItem {
	ts: unknown;
	seq?: unknown;
	/** Null-prototype object: keys such as `__proto__` stay plain data and cannot reach Object.prototype. */
	values: Record<string, unknown>;
}

export interface Decoded {
	dialect: Dialect;
	device: DeviceRef;
	items: DecodedItem[];
	/** Radio metadata from the network server (e.g. rssi_dbm / snr_db of the best gateway), not from the device. */
	extras?: Record<string, number>;
}

/** A message that cannot be decoded at all; `reason` is a short snake_case code stored with the dead letter. */
export class DecodeError extends Error {
	constructor(
		public reason: string,
		message: string
	) {
		super(message);
		this.name = 'DecodeError';
	}
}

/** Largest batch (array) we accept in one message: a day of 1-minute backlog fits; more is a runaway device. */
export const MAX_BATCH_ITEMS = 1000;

export function isPlainObject(v: unknown): v is Record<string, unknown> {
	if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
	const proto = Object.getPrototypeOf(v);
	return proto === Object.prototype || proto === null;
}

/**
 * Copy the top-level keys of a parsed JSON object into a null-prototype object. JSON.parse makes `"__proto__"` an
 * own data property; copying it into an ordinary `{}` with `out[k] = v` would call the Object.prototype setter and
 * swap the prototype, so the copy must never have one.
 */
export function copyValues(src: Record<string, unknown>): Record<string, unknown> {
	const out: Record<string, unknown> = Object.create(null);
	for (const key of Object.keys(src)) out[key] = src[key];
	return out;
}

/** Check the batch size of a dialect that allows arrays (native, ThingsBoard). */
export function checkBatch(body: unknown[]): void {
	if (body.length > MAX_BATCH_ITEMS) {
		throw new DecodeError('batch_too_large', `batch of ${body.length} items exceeds ${MAX_BATCH_ITEMS}`);
	}
	if (body.length === 0) throw new DecodeError('empty', 'empty array: nothing to store');
}

/** Own-property read: never walks the prototype chain (a body key `constructor` is data, not Object). */
export function own(obj: Record<string, unknown>, key: string): unknown {
	return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}
