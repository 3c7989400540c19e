// Process configuration: the environment is read once, validated against one typed schema, and frozen.
// Every bad key is named in a single error at start (STYLE.md habit 1), so a typo never surfaces at 3 a.m.
import { z } from 'zod';
import { xyzUrlProblem } from '../../domain/basemap.js';

const bool = z
	.enum(['1', '0', 'true', 'false', 'on', 'off', 'yes', 'no'])
	.transform((v) => ['1', 'true', 'on', 'yes'].includes(v));
const port = z.coerce.number().int().min(0).max(65535);
const url = (protocols: string[]) =>
	z
		.string()
		.url()
		.refine((v) => protocols.some((p) => v.startsWith(p + '://')), {
			message: `must start with ${protocols.map((p) => p + '://').join(' or ')}`
		});

const schema = z.object({
	PORT: port.default(3000),
	HOST: z.string().min(1).default('0.0.0.0'),
	DATA_DIR: z.string().min(1).default('./data'),
	DATABASE_URL: url(['postgres', 'postgresql']).optional(),
	MQTT_URL: url(['mqtt', 'mqtts', 'tcp', 'ws', 'wss']).optional(),
	MQTT_PORT: port.default(1883),
	/** Service account the ingest service uses on an external broker (the embedded broker makes its own). */
	MQTT_USERNAME: z.string().optional(),
	MQTT_PASSWORD: z.string().optional(),
	/** Demo township seeded into an empty database. Default: on for the embedded database, off with DATABASE_URL. */
	DEMO: bool.optional(),
	/** Demo devices publish simulated readings. Default: follows DEMO. */
	SIMULATE: bool.optional(),
	DEMO_PASSWORD: z.string().min(8).default('shudi-demo'),
	TZ_DISPLAY: z
		.string()
		.default('Asia/Shanghai')
		.refine(
			(tz) => {
				try {
					new Intl.DateTimeFormat('en', { timeZone: tz });
					return true;
				} catch {
					return false;
				}
			},
			{ message: 'is not an IANA time zone' }
		),
	LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
	/** pretty (a person at a terminal) or json (a service manager, a log shipper). Unset: pretty when stdout is a terminal (log.ts). */
	LOG_FORMAT: z.enum(['pretty', 'json']).optional(),
	/**
	 * Seconds a stopping server (SIGTERM/SIGINT) gives open HTTP requests, live streams and MQTT sessions before it cuts
	 * them and exits. The name and unit are adapter-node's (scripts/serve.mjs reads it too).
	 */
	SHUTDOWN_TIMEOUT: z.coerce.number().positive().max(600).default(10),
	/**
	 * Refused MQTT connections are kept as one row per (client id, username, reason) per minute (mqtt-refusals.ts): at
	 * most this many rows a minute (the rest are counted in one overflow row) and this many rows in all (oldest go first).
	 */
	MQTT_REFUSAL_ROWS_PER_MINUTE: z.coerce.number().int().min(1).max(10_000).default(100),
	MQTT_REFUSAL_ROWS_MAX: z.coerce.number().int().min(100).max(10_000_000).default(50_000),
	/** Behind a TLS-terminating reverse proxy: believe X-Forwarded-Proto/Host (scripts/serve.mjs). */
	TRUST_PROXY: bool.default(false),
	/** Which parts this process runs: all (default), web, ingest. */
	SHUDI_ROLE: z.enum(['all', 'web', 'ingest']).default('all'),
	/** Multiplier applied to demo devices' report intervals' inverse: 20 means 20x faster than real life. */
	SIMULATE_SPEEDUP: z.coerce.number().positive().max(10_000).default(20),
	/**
	 * Ingest batch limits (issue 3): rows per batch and maximum age of a batch in ms. 30,000 rows = the default receive
	 * window of 10,000 three-value messages: behind, a batch takes all of it (1.25× the stored rate of 15,000-row
	 * batches at full speed, the same p99 when keeping up: `npm run bench:ingest -- --batch-rows 15000` beside the default).
	 */
	INGEST_BATCH_ROWS: z.coerce.number().int().min(1).max(100_000).default(30_000),
	INGEST_BATCH_MS: z.coerce.number().int().min(1).max(60_000).default(250),
	// Messages the broker may have in flight to one ingest worker before their PUBACKs (MQTT 5 receive maximum).
	// Bounds the worker's memory; the rest waits in the broker's queue (size it: README, production).
	INGEST_RECEIVE_MAX: z.coerce.number().int().min(100).max(65_535).default(10_000),
	/**
	 * Accept ThingsBoard firmware's raw `v1/devices/me/telemetry` (device = MQTT username) on an external broker. It
	 * cannot work: the ingest receives the message from the broker, not from the device, and the topic names nobody —
	 * so with MQTT_URL set this option stops the start with that reason. Have the broker rewrite the topic to
	 * `shudi/v1/tb/${username}/telemetry` instead (README). On the embedded broker it changes nothing (it rewrites).
	 */
	THINGSBOARD_RAW: bool.default(false),
	/** Shared-subscription group for several ingest workers on one external broker (`$share/<group>/…`). */
	INGEST_SHARE_GROUP: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
	/** Alarm rules and cases run in the ingest process (off: ingest only stores, e.g. for a pure throughput bench). */
	RULES: bool.default(true),
	/**
	 * Processes sharing one PostgreSQL relay live events to each other (live-relay.ts), so consoles on a web process
	 * are live. Off only where no console is served from another process (it saves the ingest building the events).
	 */
	LIVE_RELAY: bool.default(true),
	/** How often the durable escalation scheduler looks for overdue, unacknowledged cases. */
	ESCALATION_EVERY_MS: z.coerce.number().int().min(100).max(600_000).default(5000),
	/** A device is offline after this many expected report intervals without a message. */
	OFFLINE_AFTER_INTERVALS: z.coerce.number().positive().max(1000).default(3),
	/** Stable client id for the persistent MQTT session (clean: false) — one per ingest worker. */
	INGEST_CLIENT_ID: z.string().min(1).max(64).default('shudi-ingest-1'),
	/**
	 * Optional raster basemaps (src/lib/domain/basemap.ts). Unset = the own-data basemap only, fully offline.
	 * Tianditu's browser key (tk) is 32 hex digits; it is sent to browsers, as Tianditu's JavaScript API does too.
	 */
	BASEMAP_TIANDITU_TK: z.string().regex(/^[0-9a-fA-F]{32}$/, 'must be a Tianditu key: 32 hex digits').optional(),
	/** Any XYZ raster tile service in WGS-84/CGCS2000 Web Mercator: https://host/path/{z}/{x}/{y}.png */
	BASEMAP_XYZ_URL: z
		.string()
		.superRefine((v, ctx) => {
			const problem = xyzUrlProblem(v);
			if (problem) ctx.addIssue({ code: 'custom', message: problem });
		})
		.optional(),
	/** The XYZ basemap's name in the layer switcher. */
	BASEMAP_XYZ_NAME: z.string().min(1).max(40).optional(),
	/** Attribution the XYZ tile provider requires (shown on the map while it is on). */
	BASEMAP_XYZ_ATTRIBUTION: z.string().max(200).optional(),
	/**
	 * Field reports and hotline entries one account (or API token) may file per hour, and one client address across
	 * accounts (a township office shares one address). Past it: 429 with Retry-After.
	 */
	REPORT_LIMIT_PER_HOUR: z.coerce.number().int().min(1).max(100_000).default(60),
	REPORT_LIMIT_PER_HOUR_PER_ADDRESS: z.coerce.number().int().min(1).max(100_000).default(300),
	/** Photos one account, and one client address, may upload per hour. */
	UPLOAD_LIMIT_PER_HOUR: z.coerce.number().int().min(1).max(100_000).default(120),
	UPLOAD_LIMIT_PER_HOUR_PER_ADDRESS: z.coerce.number().int().min(1).max(100_000).default(600)
});

export type Config = Readonly<
	Omit<z.infer<typeof schema>, 'DEMO' | 'SIMULATE'> & { DEMO: boolean; SIMULATE: boolean }
>;

export class ConfigError extends Error {
	constructor(public readonly problems: string[]) {
		super(`invalid configuration:\n  ${problems.join('\n  ')}`);
	}
}

/** Parses an environment into a frozen Config, or throws ConfigError naming every bad key. */
export function parseConfig(env: Record<string, string | undefined>): Config {
	// Only our keys are read; empty strings mean "unset" (a common .env mistake, not a value).
	const picked: Record<string, string> = {};
	for (const key of Object.keys(schema.shape)) {
		const v = env[key];
		if (v !== undefined && v !== '') picked[key] = v;
	}
	const result = schema.safeParse(picked);
	if (!result.success) {
		throw new ConfigError(
			result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message} (got ${JSON.stringify(picked[String(i.path[0])] ?? null)})`)
		);
	}
	const c = result.data;
	if (c.THINGSBOARD_RAW && c.MQTT_URL && c.SHUDI_ROLE !== 'web') {
		throw new ConfigError([
			'THINGSBOARD_RAW: 外部 MQTT 代理上无法识别 v1/devices/me/telemetry 的发布者（主题中没有设备，ingest 收不到设备的用户名），不能启用；' +
				'请在代理中把该主题改写为 shudi/v1/tb/${username}/telemetry（如 EMQX 主题重写）并关闭此项 / ' +
				'an external broker cannot tell the ingest who published v1/devices/me/telemetry (the topic names no device and the ' +
				"publisher's username never reaches a subscriber): have the broker rewrite it to shudi/v1/tb/${username}/telemetry " +
				'(EMQX topic rewrite, README) and unset THINGSBOARD_RAW (got "true" with MQTT_URL set)'
		]);
	}
	const demo = c.DEMO ?? !c.DATABASE_URL;
	return Object.freeze({ ...c, DEMO: demo, SIMULATE: c.SIMULATE ?? demo });
}

let cached: Config | undefined;
/** The process's config, parsed on first use from process.env. */
export function config(): Config {
	cached ??= parseConfig(process.env);
	return cached;
}
