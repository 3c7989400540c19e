// Device registry cache for the ingest path and the embedded broker: who may publish, under which id, token or
// DevEUI. Loaded from the devices table and refreshed on a short timer and on a miss (rate-limited), so a device
// registered with `npm run device:add` is accepted within seconds without restarting anything.
import type { Queryable } from '../src/lib/server/platform/db.js';
import { deviceProfile, type CompiledProfile } from '../src/lib/domain/device-profiles/index.js';

export interface DeviceEntry {
	id: string;
	kind: string;
	tokenHash: string | null;
	devEui: string | null;
	revoked: boolean;
	intervalS: number;
	/** The device's profile (named built-in extended by its own fields), compiled; null = native shudi keys. */
	profile: CompiledProfile | null;
	/** Why the device's profile cannot be used (unknown name, bad fields): its messages are dead-lettered with it. */
	profileError?: string;
}

export class DeviceRegistry {
	private byId = new Map<string, DeviceEntry>();
	private byToken = new Map<string, DeviceEntry>();
	private byEui = new Map<string, DeviceEntry>();
	/** Compiled profiles by (name, fields): thousands of devices share a few profiles, and reloads recompile none. */
	private profiles = new Map<string, ReturnType<typeof deviceProfile>>();
	private lastLoad = 0;
	private loading: Promise<void> | null = null;
	private timer: NodeJS.Timeout | null = null;

	constructor(
		private readonly db: Queryable,
		private readonly opts: { refreshMs?: number; minMissReloadMs?: number } = {}
	) {}

	async start(): Promise<void> {
		await this.reload();
		const every = this.opts.refreshMs ?? 5000;
		this.timer = setInterval(() => void this.reload().catch(() => undefined), every);
		this.timer.unref();
	}

	stop(): void {
		if (this.timer) clearInterval(this.timer);
		this.timer = null;
	}

	reload(): Promise<void> {
		this.loading ??= (async () => {
			try {
				const r = await this.db.query<{ id: string; kind: string; token_hash: string | null; dev_eui: string | null; revoked: boolean; interval_s: number; profile: string | null; profile_fields: unknown }>(
					'SELECT id, kind, token_hash, dev_eui, revoked_at IS NOT NULL AS revoked, interval_s, profile, profile_fields FROM devices'
				);
				const profiles = new Map<string, ReturnType<typeof deviceProfile>>();
				const byId = new Map<string, DeviceEntry>();
				const byToken = new Map<string, DeviceEntry>();
				const byEui = new Map<string, DeviceEntry>();
				for (const row of r.rows) {
					const e: DeviceEntry = { id: row.id, kind: row.kind, tokenHash: row.token_hash, devEui: row.dev_eui, revoked: row.revoked, intervalS: row.interval_s, profile: null };
					const fields = row.profile_fields ?? [];
					if (row.profile !== null || (Array.isArray(fields) && fields.length > 0)) {
						const key = `${row.profile ?? ''}\u0000${JSON.stringify(fields)}`;
						let p = profiles.get(key) ?? this.profiles.get(key);
						if (!p) p = deviceProfile(row.profile, fields);
						profiles.set(key, p);
						if (p.ok) e.profile = p.profile;
						else e.profileError = p.error;
					}
					byId.set(e.id, e);
					if (e.tokenHash) byToken.set(e.tokenHash, e);
					if (e.devEui) byEui.set(e.devEui, e);
				}
				this.byId = byId;
				this.byToken = byToken;
				this.byEui = byEui;
				this.profiles = profiles;
				this.lastLoad = Date.now();
			} finally {
				this.loading = null;
			}
		})();
		return this.loading;
	}

	/** Looks a device up, reloading once if it is missing and the cache is older than minMissReloadMs. */
	async find(key: { id?: string; tokenHash?: string; devEui?: string }): Promise<DeviceEntry | undefined> {
		let e = this.cached(key);
		if (!e && Date.now() - this.lastLoad > (this.opts.minMissReloadMs ?? 1000)) {
			await this.reload().catch(() => undefined);
			e = this.cached(key);
		}
		return e;
	}

	/** The cached entry, without reloading on a miss: the ingest's per-message fast path (find() on a miss). */
	cached(key: { id?: string; tokenHash?: string; devEui?: string }): DeviceEntry | undefined {
		if (key.id !== undefined) return this.byId.get(key.id);
		if (key.tokenHash !== undefined) return this.byToken.get(key.tokenHash);
		if (key.devEui !== undefined) return this.byEui.get(key.devEui);
		return undefined;
	}

	all(): DeviceEntry[] {
		return [...this.byId.values()];
	}
}
