// Shared domain types: pure data shapes used by the web app, the ingest service and the simulator.
// No I/O here (STYLE.md: src/lib/domain is pure).

/** Coordinates are [lng, lat] in WGS-84 everywhere (DOMAIN.md "Coordinates"). */
export type LngLat = [number, number];

/** The kinds of sensor and everything about each live in the catalogue (sensor-kinds.ts); this is the shared name. */
export { SENSOR_KINDS, type SensorKind } from './sensor-kinds.js';

/** Levels and statuses, their order, names and colours live in levels.ts; these names are the shared shapes. */
export { LEVELS, SENSOR_STATUSES, type Level, type SensorStatus } from './levels.js';

/** Bit flags stored with each reading. */
export const READING_FLAGS = {
	/** The device clock was before 2020 or > 5 min in the future: observed_at is the server's received_at. */
	CLOCK_UNTRUSTED: 1,
	/** The message carried no timestamp at all: observed_at is the server's received_at. */
	NO_DEVICE_TIME: 2,
	/** A jump no physical process makes (src/lib/domain/suspect.ts): held out of the rules until the next reading agrees. */
	SUSPECT_JUMP: 4,
	/** The same value for many reports in a row (src/lib/domain/suspect.ts): likely a frozen sensor. */
	SUSPECT_STUCK: 8
} as const;

/** One value of one metric from one device: the internal format every dialect decodes into. */
export interface Reading {
	deviceId: string;
	metric: string;
	value: number;
	/** When the device observed it (or received_at when the device clock is not trusted). */
	observedAt: Date;
	/** When the server received the message. */
	receivedAt: Date;
	/** READING_FLAGS bits. */
	flags: number;
	/** Device sequence number, when the dialect provides one (native `seq`, LoRaWAN fCnt). */
	seq?: number;
}
