// The rule runner: after readings commit, the sensors they touched are judged by the pure rules in
// src/lib/domain/rules.ts — late and backlog readings in time order (replay) — and alarms rise, change level or clear.
// An alarm opens or joins a case (src/lib/server/cases/incidents.ts). Sensor state (alarm, device status) and case state are
// separate: an alarm clearing by itself leaves its case for 核查.
// Runs beside ingest, never on its acknowledgement path: touched sensors are coalesced and judged at most every
// `everyMs`; a failure is logged and the sensors are tried again on the next pass.
//
// Late data (迟到数据, issue 22 item 7): a device that buffered readings through an outage sends them later, after
// newer ones were judged. Each reading is judged at its own time whenever it arrives: a replay from the earliest late
// reading (with the alarm state recorded for that moment) finds the alarms the late readings make, and only those no
// recorded alarm already covers are raised — marked late, at their observation time, with their arrival — so a
// redelivered backlog raises nothing twice. The sensor's current status still follows its newest reading.
// Suspect data (可疑数据, src/lib/domain/suspect.ts): a jump no physical process makes is flagged and held out of the
// rules until the next reading agrees; a value stuck for many reports is flagged; the maintainer gets a device notice.
import type { Db, Queryable } from '../src/lib/server/platform/db.js';
import type { Logger } from '../src/lib/server/platform/log.js';
import { LOOKBACK_MS, minRepeatsFor, replaySeries, toSeries, worstLevel, type HistoryPoint, type RuleId, type RuleLevel, type Series, type SeriesMap } from '../src/lib/domain/rules.js';
import { KIND_METRICS } from '../src/lib/domain/metrics.js';
import { isMeasuringStatus } from '../src/lib/domain/device-health.js';
import { READING_FLAGS, type Level, type SensorKind } from '../src/lib/domain/types.js';
import { LEVEL_RANK } from '../src/lib/domain/levels.js';
import { forgetBefore, limitsFor, scanSuspects, withoutHeld, type ScanResult, type SuspectState } from '../src/lib/domain/suspect.js';
import { noteAlarmCleared, openOrJoinForAlarm, type IncidentNotice } from '../src/lib/server/cases/incidents.js';
import { HistoryCache, type FedReading } from './history-cache.js';

/** Readings per sensor and metric fed to the rules at most: real devices report every few minutes; a device sending
 * far faster is judged on its newest readings only, so a flood of messages cannot stall the alarm path. */
const MAX_POINTS = 2000;
const HEALTH_METRICS = ['battery_v', 'battery_pct'];
/** Battery points kept beyond the rule's repeat count once judged (forgetJudgedHealth). */
const HEALTH_SPARE = 8;
/** Reading times judged per sensor and pass at most (see run()). */
const MAX_JUDGED = 50;
/** Sensors judged per run() (memory: their look-back windows are held together). */
const CHUNK = 100;
/**
 * A reading that reaches the server more than this after its observation time sat in the device's buffer (an
 * outage's backlog): alarms it raises are marked late. DOMAIN.md trusts a device clock up to 5 minutes ahead; the same
 * margin behind covers clock drift and a slow network, and a real delivery takes seconds.
 */
const LATE_AFTER_MS = 5 * 60_000;
/** Readings whose observed time is the server's receipt time. */
const SERVER_TIMED = READING_FLAGS.CLOCK_UNTRUSTED | READING_FLAGS.NO_DEVICE_TIME;
/** Reading times one late replay judges at most; the late readings' own times are always among them. */
const MAX_LATE_JUDGED = 500;
/** Readings one late replay reads at most (a device reporting every 10 min has ~1,000 in a week's look-back). */
const MAX_LATE_POINTS = 20_000;

/** A sensor's readings that arrived late: observation time → arrival (ms), and the earliest slotted in before judged ones. */
interface LateArrivals {
	arrived: Map<number, number>;
	from: number;
}

/** What the suspect scan of one sensor's metric found, to be stored after the pass. */
interface SuspectFound extends ScanResult {
	deviceId: string;
	metric: string;
}

interface DeviceRow {
	id: string;
	name: string;
	kind: SensorKind;
	thresholds: Record<string, unknown>;
	baseline: Record<string, unknown> | null;
	status: string;
	village_id: number | null;
	lng: number | null;
	lat: number | null;
}

interface ActiveAlarm {
	id: number;
	rule: RuleId;
	level: Level;
	incident_id: number | null;
}

export interface RuleRunResult {
	devicesJudged: number;
	statusChanges: { id: string; status: string; at: string }[];
	notices: IncidentNotice[];
	incidentsTouched: number[];
}

export class RuleRunner {
	private pending = new Set<string>();
	private lastJudged = new Map<string, number>();
	private nextAllowed = new Map<string, number>();
	private timer: NodeJS.Timeout | null = null;
	private running: Promise<void> | null = null;
	/** Per sensor: readings that arrived late since it was last judged. */
	private late = new Map<string, LateArrivals>();
	/** Per sensor and metric: jumps held out of the rules (src/lib/domain/suspect.ts). */
	private suspects = new Map<string, Map<string, SuspectState>>();

	constructor(
		private readonly db: Db,
		private readonly opts: {
			tz: string;
			everyMs?: number;
			minIntervalMs?: number;
			log?: Logger;
			onResult?: (r: RuleRunResult) => void;
			/**
			 * Keep each judged sensor's recent readings in memory, fed by committed batches (ingest/history-cache.ts).
			 * Only correct when this process commits every reading of its devices: off in a share group.
			 */
			cache?: boolean;
		}
	) {
		this.cache = opts.cache === false ? null : new HistoryCache(MAX_POINTS);
	}

	private readonly cache: HistoryCache | null;

	/** A batch this process committed: its readings feed the history cache and its devices are judged soon. */
	committed(r: { readings: readonly FedReading[]; seen: Map<string, Date> }): void {
		this.noteLate(r.readings);
		this.cache?.feed(r.readings);
		this.touch(r.seen.keys());
	}

	/**
	 * Remembers readings that arrived late: slotted in before the sensor's last judged time (and new — a redelivery the
	 * cache already holds is not), or received long after they were observed. Called before the cache is fed.
	 */
	private noteLate(readings: readonly FedReading[]): void {
		for (const r of readings) {
			// Stored at the server's receipt time, not the device's: not backlog, and never to be replayed. (A device clock
			// a few minutes fast moves the judged time ahead of the server's; its readings past the trusted window are then
			// stored at receipt time, before it — as "slotted" each one would replay the sensor's whole look-back.)
			if (r.flags !== undefined && (r.flags & SERVER_TIMED) !== 0) continue;
			const t = r.observedAt.getTime();
			const judged = this.lastJudged.get(r.deviceId);
			const slotted = judged !== undefined && t < judged && !(this.cache?.knows(r.deviceId, r.metric, t) ?? false);
			const delayed = r.receivedAt !== undefined && r.receivedAt.getTime() - t > LATE_AFTER_MS;
			if (!slotted && !delayed) continue;
			let l = this.late.get(r.deviceId);
			if (!l) this.late.set(r.deviceId, (l = { arrived: new Map(), from: Infinity }));
			// Bounded for a sensor the runner does not judge meanwhile (under maintenance): the replay still starts at `from`.
			if (!l.arrived.has(t) && l.arrived.size < MAX_LATE_POINTS) l.arrived.set(t, r.receivedAt?.getTime() ?? Date.now());
			if (slotted && t < l.from) l.from = t;
		}
	}

	touch(ids: Iterable<string>): void {
		for (const id of ids) this.pending.add(id);
		if (!this.timer && !this.running) this.timer = setTimeout(() => this.kick(), this.opts.everyMs ?? 200);
	}

	private kick(): void {
		this.timer = null;
		if (this.running) return;
		this.running = (async () => {
			while (this.pending.size) {
				// Each sensor is judged at most once per minIntervalMs: a sensor reporting many times a second (or a
				// flood of messages) is judged on its newest readings at that pace instead of monopolising the runner.
				const now = Date.now();
				const ids = [...this.pending].filter((id) => (this.nextAllowed.get(id) ?? 0) <= now);
				if (!ids.length) {
					const wait = Math.min(...[...this.pending].map((id) => this.nextAllowed.get(id) ?? now)) - now;
					await new Promise((res) => setTimeout(res, Math.max(10, wait)));
					continue;
				}
				for (const id of ids) {
					this.pending.delete(id);
					this.nextAllowed.set(id, now + (this.opts.minIntervalMs ?? 1000));
				}
				// A few hundred sensors at a time: each pass holds its sensors' look-back windows in memory at once (up to
				// 2000 points per metric each), so a thousand busy sensors judged together peaked above 256 MB of heap.
				for (let i = 0; i < ids.length; i += CHUNK) {
					const chunk = ids.slice(i, i + CHUNK);
					try {
						const r = await this.run(chunk);
						this.opts.onResult?.(r);
					} catch (err) {
						this.opts.log?.error({ err: (err as Error).message }, 'rule run failed; will retry these sensors');
						for (const id of chunk) this.pending.add(id);
						await new Promise((res) => setTimeout(res, 1000));
					}
				}
			}
		})().finally(() => (this.running = null));
	}

	/** Waits until every touched sensor has been judged (tests, shutdown). */
	async idle(): Promise<void> {
		for (let i = 0; i < 1000 && (this.pending.size || this.running || this.timer); i++) {
			if (this.timer) this.kick();
			await (this.running ?? new Promise((r) => setTimeout(r, 10)));
		}
	}

	stop(): void {
		if (this.timer) clearTimeout(this.timer);
		this.timer = null;
	}

	/** Judges these sensors now. The reads are one query each for all sensors; a transaction only where state changes. */
	async run(ids: string[]): Promise<RuleRunResult> {
		const out: RuleRunResult = { devicesJudged: 0, statusChanges: [], notices: [], incidentsTouched: [] };
		const devs = await this.db.query<DeviceRow>(
			`SELECT id, name, kind, thresholds, baseline, status, village_id, lng, lat FROM devices WHERE id = ANY($1::text[]) AND revoked_at IS NULL AND status <> 'maintenance'`,
			[ids]
		);
		if (!devs.rows.length) return out;
		const histories = await this.histories(devs.rows);
		const alarms = await this.db.query<ActiveAlarm & { device_id: string }>(
			'SELECT id, device_id, rule, level, incident_id FROM alarms WHERE device_id = ANY($1::text[]) AND cleared_at IS NULL',
			[devs.rows.map((d) => d.id)]
		);
		const activeBy = new Map<string, ActiveAlarm[]>();
		for (const a of alarms.rows) (activeBy.get(a.device_id) ?? activeBy.set(a.device_id, []).get(a.device_id)!).push(a);
		let judged = 0;
		const found: SuspectFound[] = [];
		for (const d of devs.rows) {
			// Judging a busy sensor can take milliseconds (thousands of points, tens of times): every few sensors, let
			// the ingest's I/O (socket reads, commits and their PUBACKs) run, so the alarm path never holds it for long.
			if (++judged % 8 === 0) await new Promise((res) => setImmediate(res));
			const history = histories.get(d.id);
			if (!history) continue;
			const late = this.late.get(d.id);
			this.late.delete(d.id);
			const held = this.findSuspects(d, history, this.lastJudged.get(d.id) ?? -Infinity, late, found);
			// The rules judge without the held-out jumps; the times judged are still every reading's.
			const judgedSeries: SeriesMap = held ? new Map([...history].map(([m, s]) => [m, withoutHeld(s, held.get(m))])) : history;
			if (late && Number.isFinite(late.from)) {
				const rows = activeBy.get(d.id) ?? activeBy.set(d.id, []).get(d.id)!;
				try {
					await this.judgeLate(d, late, held, rows, out);
				} catch (err) {
					// The pass is retried (kick()); the late readings must be judged then, with any that came meanwhile.
					const since = this.late.get(d.id);
					if (since) {
						for (const [t, at] of since.arrived) late.arrived.set(t, at);
						late.from = Math.min(late.from, since.from);
					}
					this.late.set(d.id, late);
					throw err;
				}
			}
			// Judge at every reading time not judged yet (late readings included), in time order. A sensor reporting
			// faster than the rules run is judged on an even sample of at most MAX_JUDGED of them, always the newest.
			const times = timesToJudge(history, this.lastJudged.get(d.id) ?? -Infinity);
			if (!times.length) continue;
			const judgeTimes = sample(times, MAX_JUDGED);
			const active = { rows: activeBy.get(d.id) ?? [] };
			const previous: Partial<Record<RuleId, RuleLevel>> = {};
			for (const a of active.rows) previous[a.rule] = a.level;
			const rep = replaySeries({ kind: d.kind, thresholds: d.thresholds, baseline: d.baseline, series: judgedSeries, previous }, judgeTimes);
			const judgedTo = judgeTimes[judgeTimes.length - 1];
			this.lastJudged.set(d.id, judgedTo);
			this.forgetJudgedHealth(d, judgedTo);
			out.devicesJudged++;
			if (!changes(rep.steps, previous, d.status)) continue; // nothing rises, falls or clears: no transaction
			await this.db.tx(async (q) => {
				const state = new Map<RuleId, ActiveAlarm | null>(active.rows.map((a) => [a.rule, a]));
				for (let i = 0; i < rep.times.length; i++) {
					const at = new Date(rep.times[i]);
					for (const res of rep.steps[i]) {
						if (res.level === 'unknown') continue;
						const cur = state.get(res.rule) ?? null;
						if (res.level === 'normal') {
							if (cur) {
								await q.query('UPDATE alarms SET cleared_at = $2 WHERE id = $1', [cur.id, at.toISOString()]);
								if (cur.incident_id) {
									await noteAlarmCleared(q, cur.incident_id, at, res.detail);
									out.incidentsTouched.push(cur.incident_id);
								}
								state.set(res.rule, null);
							}
							continue;
						}
						if (cur && cur.level === res.level) continue;
						// Judged again (a restart, a backlog redelivered): an alarm already recorded over this time is not raised twice.
						if (!cur && (await coveredAt(q, d.id, res.rule, res.level, at))) continue;
						const arrived = late?.arrived.get(rep.times[i]);
						const lateMark = arrived === undefined ? undefined : { arrivedAt: new Date(arrived) };
						const joined = await openOrJoinForAlarm(q, { deviceId: d.id, deviceName: d.name, kind: d.kind, villageId: d.village_id, lng: d.lng, lat: d.lat, rule: res.rule, level: res.level, detail: res.detail, at, late: lateMark }, this.opts.tz);
						out.notices.push(...joined.notices);
						out.incidentsTouched.push(joined.incidentId);
						if (cur) {
							await q.query('UPDATE alarms SET level = $2, value = $3, threshold = $4, detail = $5, level_changed_at = $6, incident_id = $7 WHERE id = $1', [cur.id, res.level, res.value, res.threshold ?? null, res.detail, at.toISOString(), joined.incidentId]);
							state.set(res.rule, { ...cur, level: res.level, incident_id: joined.incidentId });
						} else {
							const ins = await q.query<{ id: number }>(
								`INSERT INTO alarms (device_id, rule, level, value, threshold, detail, raised_at, level_changed_at, incident_id, late, arrived_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10) RETURNING id`,
								[d.id, res.rule, res.level, res.value, res.threshold ?? null, res.detail, at.toISOString(), joined.incidentId, !!lateMark, lateMark?.arrivedAt.toISOString() ?? null]
							);
							state.set(res.rule, { id: ins.rows[0].id, rule: res.rule, level: res.level, incident_id: joined.incidentId });
						}
					}
				}
				const levels = [...state.values()].filter((a): a is ActiveAlarm => !!a).map((a) => a.level);
				const status = levels.length ? worstLevel(levels) : 'normal';
				// Only a measuring sensor takes its level from the rules: offline, no_data (metadata such as a battery alone
				// never makes a sensor normal) and unknown are the writer's and the timer's (device-health.ts).
				if (isMeasuringStatus(d.status) && status !== d.status) {
					await q.query("UPDATE devices SET status = $2 WHERE id = $1 AND status NOT IN ('offline', 'maintenance', 'no_data', 'unknown')", [d.id, status]);
					out.statusChanges.push({ id: d.id, status, at: new Date().toISOString() });
				}
			});
		}
		if (found.length) await this.storeSuspects(found);
		out.incidentsTouched = [...new Set(out.incidentsTouched)];
		return out;
	}

	/**
	 * The suspect scan of a sensor's readings not judged yet (after `last`) and of its late ones (with the reading
	 * after each, whose predecessor changed): what it finds goes to `found`; returns the sensor's held-out jumps, or
	 * undefined when none is held. Only the new end of each series is looked at: a pass costs its new readings.
	 */
	private findSuspects(d: DeviceRow, history: SeriesMap, last: number, late: LateArrivals | undefined, found: SuspectFound[]): Map<string, SuspectState> | undefined {
		let mine = this.suspects.get(d.id);
		for (const [metric, s] of history) {
			const n = s.t.length;
			if (n === 0) continue;
			const lim = limitsFor(metric, d.thresholds);
			if (!lim) continue;
			let k = n;
			while (k > 0 && s.t[k - 1] > last) k--;
			const idx: number[] = [];
			if (late && Number.isFinite(late.from)) {
				for (const t of late.arrived.keys()) {
					if (t > last) continue;
					const i = indexOf(s.t, t);
					if (i >= 0) idx.push(i, i + 1);
				}
			}
			for (let i = k; i < n; i++) idx.push(i);
			if (!idx.length) continue;
			const indices = k === 0 || idx.length === n - k ? idx : [...new Set(idx)].filter((i) => i < n).sort((a, b) => a - b);
			let state = mine?.get(metric);
			if (!state) {
				if (!mine) this.suspects.set(d.id, (mine = new Map()));
				mine.set(metric, (state = new Map()));
			}
			const r = scanSuspects(s, indices, lim, state);
			if (r.jumps.length || r.stuck.length || r.confirmed.length) found.push({ deviceId: d.id, metric, ...r });
			if (state.size) forgetBefore(state, s.t[0]);
		}
		if (!mine) return undefined;
		for (const st of mine.values()) if (st.size) return mine;
		return undefined;
	}

	/**
	 * Flags what the suspect scans found (readings and latest values), clears the flag of jumps the next reading
	 * confirmed, and tells the maintainer: one device notice per sensor, kind, metric and local day, counted. Only rows
	 * whose flag changes count, so judging the same readings again (a restart, a redelivery) tells nobody twice.
	 */
	private async storeSuspects(found: SuspectFound[]): Promise<void> {
		const day = new Intl.DateTimeFormat('en-CA', { timeZone: this.opts.tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
		for (const f of found) {
			for (const [bit, times, kind] of [
				[READING_FLAGS.SUSPECT_JUMP, f.jumps, 'suspect_jump'],
				[READING_FLAGS.SUSPECT_STUCK, f.stuck, 'suspect_stuck']
			] as const) {
				if (!times.length) continue;
				const at = times.map((t) => new Date(t).toISOString());
				const r = await this.db.query<{ observed_at: Date; value: number }>(
					`UPDATE readings SET flags = flags | ${bit} WHERE device_id = $1 AND metric = $2 AND observed_at = ANY($3::timestamptz[]) AND (flags & ${bit}) = 0 RETURNING observed_at, value`,
					[f.deviceId, f.metric, at]
				);
				await this.db.query(`UPDATE latest_values SET flags = flags | ${bit} WHERE device_id = $1 AND metric = $2 AND observed_at = ANY($3::timestamptz[])`, [f.deviceId, f.metric, at]);
				if (!r.rows.length) continue;
				const newest = r.rows.reduce((a, b) => (new Date(a.observed_at) > new Date(b.observed_at) ? a : b));
				const sample = JSON.stringify({ value: newest.value, observed_at: new Date(newest.observed_at).toISOString() });
				await this.db.query(
					`INSERT INTO device_notices (device_id, kind, key, day, first_at, last_at, count, sample) VALUES ($1, $2, $3, $4, now(), now(), $5, $6)
					 ON CONFLICT (device_id, kind, key, day) DO UPDATE SET last_at = now(), count = device_notices.count + excluded.count, sample = excluded.sample`,
					[f.deviceId, kind, f.metric, day, r.rows.length, sample]
				);
				this.opts.log?.warn({ device: f.deviceId, metric: f.metric, kind, count: r.rows.length, sample }, 'suspect data flagged');
			}
			if (f.confirmed.length) {
				const at = f.confirmed.map((t) => new Date(t).toISOString());
				const clear = `flags & ${~READING_FLAGS.SUSPECT_JUMP & 0x7fff}`;
				await this.db.query(`UPDATE readings SET flags = ${clear} WHERE device_id = $1 AND metric = $2 AND observed_at = ANY($3::timestamptz[])`, [f.deviceId, f.metric, at]);
				await this.db.query(`UPDATE latest_values SET flags = ${clear} WHERE device_id = $1 AND metric = $2 AND observed_at = ANY($3::timestamptz[])`, [f.deviceId, f.metric, at]);
			}
		}
	}

	/**
	 * Judges a sensor's late readings at their own times: a replay from the earliest of them, over the readings from its
	 * look-back on (read from the database: a late reading may lie before what the cache keeps), starting from the alarm
	 * state recorded for that moment. Each run of a raised level the replay finds and no recorded alarm of that rule
	 * covers (at that level or higher) becomes an alarm marked late — cleared where the replay clears it, active when it
	 * lasts to the newest reading — and opens or joins the sensor's case. Rate and window rules are judged at every
	 * reading time from the late one on, so a reading slotted into a window counts at each time whose window holds it.
	 */
	private async judgeLate(d: DeviceRow, late: LateArrivals, held: Map<string, SuspectState> | undefined, active: ActiveAlarm[], out: RuleRunResult): Promise<void> {
		const from = late.from;
		const fromIso = new Date(from).toISOString();
		const metrics = [...(KIND_METRICS[d.kind] ?? []), ...HEALTH_METRICS];
		const r = await this.db.query<{ metric: string; observed_at: Date; value: number }>(
			`SELECT metric, observed_at, value FROM readings r
			 WHERE device_id = $1 AND metric = ANY($2::text[]) AND observed_at >= $3
			   AND NOT EXISTS (SELECT 1 FROM device_maintenance m WHERE m.device_id = r.device_id AND m.cancelled_at IS NULL
			                   AND r.observed_at >= m.starts_at AND r.observed_at < m.ends_at)
			 ORDER BY observed_at LIMIT ${MAX_LATE_POINTS}`,
			[d.id, metrics, new Date(from - LOOKBACK_MS[d.kind]).toISOString()]
		);
		const points: HistoryPoint[] = r.rows.map((x) => ({ metric: x.metric, t: new Date(x.observed_at).getTime(), value: x.value }));
		let series: SeriesMap = toSeries(points);
		if (held) series = new Map([...series].map(([m, s]) => [m, withoutHeld(s, held.get(m))]));
		const all = [...new Set(points.filter((p) => p.t >= from).map((p) => p.t))].sort((a, b) => a - b);
		if (!all.length) return;
		const times = all.length <= MAX_LATE_JUDGED ? all : [...new Set([...sample(all, MAX_LATE_JUDGED), ...[...late.arrived.keys()].filter((t) => t >= from)])].sort((a, b) => a - b);
		const prev = await this.db.query<{ rule: RuleId; level: Level }>(
			'SELECT rule, level FROM alarms WHERE device_id = $1 AND raised_at < $2 AND (cleared_at IS NULL OR cleared_at >= $2)',
			[d.id, fromIso]
		);
		const previous: Partial<Record<RuleId, RuleLevel>> = {};
		for (const a of prev.rows) if (!previous[a.rule] || LEVEL_RANK[a.level] > LEVEL_RANK[previous[a.rule] as Level]) previous[a.rule] = a.level;
		const rep = replaySeries({ kind: d.kind, thresholds: d.thresholds, baseline: d.baseline, series, previous }, times);
		const recorded = (
			await this.db.query<{ rule: RuleId; level: Level; raised_at: Date; cleared_at: Date | null }>(
				'SELECT rule, level, raised_at, cleared_at FROM alarms WHERE device_id = $1 AND (cleared_at IS NULL OR cleared_at >= $2)',
				[d.id, fromIso]
			)
		).rows.map((a) => ({ rule: a.rule, level: a.level, from: new Date(a.raised_at).getTime(), to: a.cleared_at ? new Date(a.cleared_at).getTime() : Infinity }));
		const fresh = levelRuns(rep.times, rep.levels, previous).filter((run) => {
			const start = rep.times[run.at];
			const end = run.until === null ? Infinity : rep.times[run.until];
			return !recorded.some((a) => a.rule === run.rule && LEVEL_RANK[a.level] >= LEVEL_RANK[run.level] && a.from < end && start < a.to);
		});
		if (!fresh.length) return;
		await this.db.tx(async (q) => {
			for (const run of fresh) {
				const open = run.until === null;
				// A run lasting to the newest reading is the sensor's current state: the forward pass owns an alarm already active.
				if (open && active.some((a) => a.rule === run.rule)) continue;
				const at = new Date(rep.times[run.at]);
				const res = rep.steps[run.at].find((x) => x.rule === run.rule)!;
				const arrivedAt = new Date(arrivalFor(late.arrived, at.getTime()));
				const joined = await openOrJoinForAlarm(q, { deviceId: d.id, deviceName: d.name, kind: d.kind, villageId: d.village_id, lng: d.lng, lat: d.lat, rule: run.rule, level: run.level, detail: res.detail, at, late: { arrivedAt } }, this.opts.tz);
				out.notices.push(...joined.notices);
				out.incidentsTouched.push(joined.incidentId);
				const clearedAt = open ? null : new Date(rep.times[run.until!]);
				const ins = await q.query<{ id: number }>(
					`INSERT INTO alarms (device_id, rule, level, value, threshold, detail, raised_at, level_changed_at, incident_id, cleared_at, late, arrived_at)
					 VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, true, $10) RETURNING id`,
					[d.id, run.rule, run.level, res.value, res.threshold ?? null, res.detail, at.toISOString(), joined.incidentId, clearedAt?.toISOString() ?? null, arrivedAt.toISOString()]
				);
				if (clearedAt) {
					const clear = rep.steps[run.until!].find((x) => x.rule === run.rule)!;
					await noteAlarmCleared(q, joined.incidentId, clearedAt, clear.detail);
				} else {
					active.push({ id: ins.rows[0].id, rule: run.rule, level: run.level, incident_id: joined.incidentId });
				}
			}
		});
	}

	/**
	 * The battery rule reads only the last `min_repeats` battery values at or before each judged time, and the next
	 * pass judges only times after `judgedTo` (timesToJudge): so of the battery points at or before it, the cache needs
	 * the newest `min_repeats` and no more — not the 2,000 it keeps of a judged series. Kept whole, a busy sensor's battery
	 * series is half the cache (`npm run bench:ingest -- --seconds 150`). A few more are kept than needed, and none are forgotten for a
	 * sensor with a maintenance window inside its look-back: readings inside a window are never judged (`outside`),
	 * so the values the rule needs may lie before the window.
	 */
	private forgetJudgedHealth(d: DeviceRow, judgedTo: number): void {
		if (!this.cache) return;
		// A window that ended before the look-back cannot hide anything the rules are given (history() cuts there).
		const windowEnd = this.windowEnds.get(d.id);
		if (windowEnd !== undefined && windowEnd > judgedTo - LOOKBACK_MS[d.kind]) return;
		const keep = minRepeatsFor(d.thresholds, 'battery_low') + HEALTH_SPARE;
		for (const m of HEALTH_METRICS) this.cache.keepFrom(d.id, m, judgedTo, keep);
	}

	/** The latest end of each sensor's maintenance windows (not cancelled), as of the last histories() read. */
	private windowEnds = new Map<string, number>();

	/**
	 * Each sensor's readings in its look-back window before its newest reading, in columns: from the cache (views of
	 * its arrays), or one query for the rest. Sensors without a reading are left out.
	 */
	private async histories(devs: DeviceRow[]): Promise<Map<string, SeriesMap>> {
		const cache = this.cache;
		if (!cache) {
			const out = new Map<string, SeriesMap>();
			for (const [id, r] of await this.readHistories(devs)) if (r.points.length) out.set(id, toSeries(r.points));
			return out;
		}
		const cold = devs.filter((d) => !cache.has(d.id, d.kind));
		if (cold.length) {
			cache.beginLoad(cold.map((d) => d.id));
			try {
				const read = await this.readHistories(cold);
				for (const d of cold) {
					const r = read.get(d.id);
					cache.finishLoad(d.id, d.kind, new Set([...(KIND_METRICS[d.kind] ?? []), ...HEALTH_METRICS]), r?.newest ?? -Infinity, r?.points ?? []);
				}
			} catch (err) {
				cache.abortLoad(cold.map((d) => d.id));
				throw err;
			}
		}
		// Readings taken during a maintenance window are kept but never judged (as in the database read below). The
		// windows are read each pass, so one added or cancelled after the readings came in counts all the same.
		const windows = await this.db.query<{ device_id: string; starts_at: Date; ends_at: Date }>(
			'SELECT device_id, starts_at, ends_at FROM device_maintenance WHERE device_id = ANY($1::text[]) AND cancelled_at IS NULL',
			[devs.map((d) => d.id)]
		);
		const held = new Map<string, [number, number][]>();
		for (const w of windows.rows) (held.get(w.device_id) ?? held.set(w.device_id, []).get(w.device_id)!).push([new Date(w.starts_at).getTime(), new Date(w.ends_at).getTime()]);
		this.windowEnds = new Map([...held].map(([id, ws]) => [id, Math.max(...ws.map((w) => w[1]))]));
		const out = new Map<string, SeriesMap>();
		for (const d of devs) {
			let h = cache.history(d.id, LOOKBACK_MS[d.kind]);
			const ws = held.get(d.id);
			if (h && ws) h = new Map([...h].map(([metric, s]) => [metric, outside(s, ws)]));
			if (h && [...h.values()].some((s) => s.t.length > 0)) out.set(d.id, h);
		}
		return out;
	}

	/** The database read: each sensor's look-back window before its newest reading, for all sensors in one query. */
	private async readHistories(devs: DeviceRow[]): Promise<Map<string, { newest: number; points: HistoryPoint[] }>> {
		const latest = await this.db.query<{ device_id: string; t: Date }>(
			'SELECT device_id, max(observed_at) AS t FROM latest_values WHERE device_id = ANY($1::text[]) GROUP BY device_id',
			[devs.map((d) => d.id)]
		);
		const newest = new Map(latest.rows.map((r) => [r.device_id, new Date(r.t).getTime()]));
		const dev: string[] = [];
		const met: string[] = [];
		const since: string[] = [];
		for (const d of devs) {
			const t = newest.get(d.id);
			if (t === undefined) continue;
			for (const m of [...(KIND_METRICS[d.kind] ?? []), ...HEALTH_METRICS]) {
				dev.push(d.id);
				met.push(m);
				since.push(new Date(t - LOOKBACK_MS[d.kind]).toISOString());
			}
		}
		const out = new Map<string, { newest: number; points: HistoryPoint[] }>();
		for (const [id, t] of newest) out.set(id, { newest: t, points: [] });
		if (!dev.length) return out;
		const r = await this.db.query<{ device_id: string; metric: string; observed_at: Date; value: number }>(
			`SELECT k.device_id, k.metric, x.observed_at, x.value
			 FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS k(device_id, metric, since)
			 CROSS JOIN LATERAL (
			   SELECT observed_at, value FROM readings
			   WHERE device_id = k.device_id AND metric = k.metric AND observed_at >= k.since
			     -- Readings taken during a maintenance window are kept but never judged: no alarm while work is done.
			     AND NOT EXISTS (SELECT 1 FROM device_maintenance m WHERE m.device_id = k.device_id AND m.cancelled_at IS NULL
			                     AND readings.observed_at >= m.starts_at AND readings.observed_at < m.ends_at)
			   ORDER BY observed_at DESC LIMIT ${MAX_POINTS}
			 ) x`,
			[dev, met, since]
		);
		for (const row of r.rows) out.get(row.device_id)!.points.push({ metric: row.metric, t: new Date(row.observed_at).getTime(), value: row.value });
		return out;
	}
}

/** Is an alarm of `rule` at `level` or higher recorded over `at` (raised at or before it, cleared after it)? */
async function coveredAt(q: Queryable, deviceId: string, rule: RuleId, level: Level, at: Date): Promise<boolean> {
	const r = await q.query<{ level: Level }>('SELECT level FROM alarms WHERE device_id = $1 AND rule = $2 AND raised_at <= $3 AND cleared_at > $3', [deviceId, rule, at.toISOString()]);
	return r.rows.some((a) => LEVEL_RANK[a.level] >= LEVEL_RANK[level]);
}

/**
 * The runs of a raised level in a replay, per rule: for each run (consecutive times not normal; 'unknown' carries the
 * level before it), its worst level, the index of the first time at that level (`at`), and the index of the first
 * time after it below that level (`until`; null when the worst level lasts to the last time judged).
 */
function levelRuns(times: readonly number[], levels: Partial<Record<RuleId, RuleLevel[]>>, previous: Partial<Record<RuleId, RuleLevel>>): { rule: RuleId; level: Level; at: number; until: number | null }[] {
	const out: { rule: RuleId; level: Level; at: number; until: number | null }[] = [];
	for (const [rule, seq] of Object.entries(levels) as [RuleId, RuleLevel[]][]) {
		let carried: RuleLevel = previous[rule] ?? 'normal';
		let worst: Level | null = null;
		let at = -1;
		let until: number | null = null;
		for (let i = 0; i < times.length; i++) {
			const l: RuleLevel = seq[i] === 'unknown' ? carried : seq[i];
			carried = l;
			if (l !== 'normal' && l !== 'unknown') {
				if (worst === null || LEVEL_RANK[l] > LEVEL_RANK[worst]) {
					worst = l;
					at = i;
					until = null;
				} else if (until === null && LEVEL_RANK[l] < LEVEL_RANK[worst]) until = i;
			} else if (worst !== null) {
				out.push({ rule, level: worst, at, until: until ?? i });
				worst = null;
			}
		}
		if (worst !== null) out.push({ rule, level: worst, at, until });
	}
	return out;
}

/** When the late data behind an alarm at `t` arrived: the newest arrival among late readings at or before `t`. */
function arrivalFor(arrived: Map<number, number>, t: number): number {
	let best = -Infinity;
	let any = Infinity;
	for (const [obs, at] of arrived) {
		if (obs <= t && at > best) best = at;
		if (at < any) any = at;
	}
	return Number.isFinite(best) ? best : Number.isFinite(any) ? any : Date.now();
}

/** Index of time `t` in an ascending list of times, or −1. */
function indexOf(ts: ArrayLike<number>, t: number): number {
	let lo = 0;
	let hi = ts.length;
	while (lo < hi) {
		const mid = (lo + hi) >>> 1;
		if (ts[mid] < t) lo = mid + 1;
		else hi = mid;
	}
	return lo < ts.length && ts[lo] === t ? lo : -1;
}

/** A series without its readings inside any of the windows [from, to) (maintenance: kept, never judged). */
function outside(s: Series, windows: [number, number][]): Series {
	const t: number[] = [];
	const v: number[] = [];
	for (let i = 0; i < s.t.length; i++) {
		if (windows.some(([a, b]) => s.t[i] >= a && s.t[i] < b)) continue;
		t.push(s.t[i]);
		v.push(s.v[i]);
	}
	return { t, v };
}

/**
 * The reading times after `last` over all of a sensor's series, ascending and distinct; when there is none, its
 * newest reading time alone (judged again, e.g. after the thresholds changed); empty for a sensor without readings.
 * Series are ascending, so only the new end of each is looked at.
 */
function timesToJudge(history: SeriesMap, last: number): number[] {
	const out: number[] = [];
	let newest = -Infinity;
	for (const s of history.values()) {
		const n = s.t.length;
		if (n === 0) continue;
		if (s.t[n - 1] > newest) newest = s.t[n - 1];
		for (let i = n - 1; i >= 0 && s.t[i] > last; i--) out.push(s.t[i]);
	}
	if (!out.length) return newest === -Infinity ? [] : [newest];
	out.sort((a, b) => a - b);
	let k = 0;
	for (let i = 0; i < out.length; i++) if (i === 0 || out[i] !== out[k - 1]) out[k++] = out[i];
	out.length = k;
	return out;
}

/** At most n of the sorted times, evenly spaced, always including the last. */
function sample(times: number[], n: number): number[] {
	if (times.length <= n) return times;
	const out: number[] = [];
	const step = (times.length - 1) / (n - 1);
	for (let i = 0; i < n; i++) out.push(times[Math.round(i * step)]);
	return out;
}

/** Would replaying these steps raise, change or clear an alarm, or change the sensor's status? */
function changes(steps: { rule: RuleId; level: RuleLevel }[][], previous: Partial<Record<RuleId, RuleLevel>>, status: string): boolean {
	const cur: Partial<Record<RuleId, RuleLevel>> = { ...previous };
	for (const step of steps) {
		for (const r of step) {
			if (r.level === 'unknown') continue;
			const was = cur[r.rule] ?? 'normal';
			if (r.level !== was) return true;
			cur[r.rule] = r.level;
		}
	}
	const levels = Object.values(cur).filter((l): l is Level => !!l && l !== 'normal' && l !== 'unknown');
	const want = levels.length ? worstLevel(levels) : 'normal';
	return isMeasuringStatus(status) && want !== status;
}
