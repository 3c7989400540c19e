// Invented case history for the demo township (issue 7): about three months of cases up to "now", so the leaders'
// review shows real figures on first start. Every case is an ordinary incidents row with its append-only
// incident_events (report → accept/dispatch → start → resolve → verify …), so the figures are COMPUTED from the same
// records as real cases — nothing here types in a rate or a median. All of it is marked: is_demo = true, titles start
// with 【演示】 and every note says 演示. Deterministic (seeded PRNG, times relative to `now`): the same day gives the
// same history, so a screenshot or a bug report can be reproduced.
//
// The shape is meant to look like a real river-valley township after a rainy season: more flood and slope cases in
// August–September, more fires as it dries; the valley villages (龙潭村, 河口村) get most of the work and their cadres
// are slower and miss more deadlines (the township's complaint: some cadres overloaded, others idle).
import type { Queryable } from '../platform/db.js';
import type { Responsible } from '../cases/incidents.js';
import { TIME_LIMITS } from '../../domain/incident-flow.js';
import type { Level } from '../../domain/types.js';
import { mulberry32, type DemoTownship } from './township.js';

export const DEMO_TITLE_PREFIX = '【演示】';
const DAY = 86_400_000;
const HOUR = 3_600_000;
const MIN = 60_000;

export interface HistoryVillage {
	id: number;
	name: string;
	/** Index in the demo township's village list (0 = 龙潭村 …), which sets its workload. */
	index: number;
	valley: boolean;
}

export interface HistorySensor {
	id: string;
	name: string;
	kind: string;
	lng: number;
	lat: number;
	village_id: number | null;
	thresholds: Record<string, unknown>;
}

export interface HistoryInput {
	now: number;
	days: number;
	villages: HistoryVillage[];
	sensors: HistorySensor[];
	/** Who answered for the village at that moment (the demo's assignments; same as responsibleAt). */
	responsibleAt: (villageId: number, at: number) => Responsible[];
	/** The duty leader on that day (值班领导), for 批示. */
	dutyLeaderAt: (at: number) => { id: number; name: string } | null;
	seed?: number;
}

export interface HistoryEvent {
	at: number;
	actor_name: string;
	action: string;
	from: string | null;
	to: string | null;
	note: string | null;
	lng: number | null;
	lat: number | null;
}

export interface HistoryCase {
	source: 'sensor' | 'device_health' | 'field_report' | 'hotline';
	category: string;
	level: Level;
	status: string;
	title: string;
	description: string;
	reporter_name: string;
	village_id: number;
	device_id: string | null;
	lng: number;
	lat: number;
	opened_at: number;
	ack_due: number;
	resolve_due: number;
	acknowledged_at: number | null;
	arrived_at: number | null;
	resolved_at: number | null;
	closed_at: number | null;
	reopened_count: number;
	escalation_level: number;
	responsible: Responsible[];
	assignee_cadre_id: number | null;
	dispute: { parties: string[]; agreement?: string } | null;
	events: HistoryEvent[];
	alarm: { device_id: string; rule: string; level: Level; value: number; threshold: number; detail: string; raised_at: number; cleared_at: number } | null;
	readings: { device_id: string; metric: string; at: number[]; value: number[] } | null;
}

/** How much work each village gets (index order of the demo township's villages): the valley ones carry most. */
const VILLAGE_WEIGHT = [3.2, 2.0, 1.5, 1.2, 2.8, 0.5, 0.35, 0.6, 0.7, 0.45];
/** Villages whose cadre is overloaded: slower answers, more missed deadlines, more 返工. */
const SLOW_VILLAGES = new Set([0, 4]);

/** Rain by month (1–12), relative: Guizhou's rainy season peaks in June–July and tails off by October. */
const RAIN = [0.3, 0.3, 0.5, 1.0, 2.0, 3.0, 3.0, 2.6, 1.8, 0.8, 0.4, 0.3];
const DRY = [2, 2, 1.5, 0.8, 0.4, 0.3, 0.3, 0.3, 0.5, 1.2, 2, 2];

const CATEGORY_WEIGHTS = (valley: boolean, month: number): [string, number][] => [
	['flood', (valley ? 4 : 0.8) * RAIN[month]],
	['geohazard', (valley ? 0.4 : 2.5) * RAIN[month]],
	['housing', 2 + RAIN[month] * 0.5],
	['fire', (valley ? 0.4 : 1) * DRY[month]],
	['dispute', 1.4],
	['device', 0.7],
	['other', 0.6]
];

const LEVEL_WEIGHTS: Record<string, [Level, number][]> = {
	flood: [['red', 0.12], ['orange', 0.3], ['yellow', 0.38], ['blue', 0.2]],
	geohazard: [['red', 0.1], ['orange', 0.3], ['yellow', 0.35], ['blue', 0.25]],
	housing: [['red', 0.05], ['orange', 0.2], ['yellow', 0.4], ['blue', 0.35]],
	fire: [['red', 0.15], ['orange', 0.35], ['yellow', 0.3], ['blue', 0.2]],
	dispute: [['yellow', 0.25], ['blue', 0.75]],
	device: [['yellow', 0.3], ['blue', 0.7]],
	other: [['yellow', 0.3], ['blue', 0.7]]
};

const SENSOR_KINDS: Record<string, string[]> = {
	flood: ['river_level'],
	housing: ['house_tilt', 'crack', 'settlement'],
	geohazard: ['displacement', 'soil_moisture']
};

const TITLES: Record<string, string[]> = {
	flood: ['河水上涨漫过便道', '强降雨致农田积水', '沿河低洼处进水', '山洪冲毁过河便桥', '排水沟堵塞致积水'],
	geohazard: ['后山边坡落石', '通组公路边坡滑塌', '房后山体出现裂缝', '挡土墙鼓胀'],
	housing: ['老旧土木房墙体开裂', '危房屋顶局部垮塌', '房屋地基下沉', '空置危房有人居住'],
	fire: ['山林冒烟', '田间焚烧秸秆', '农户厨房起火', '坟地祭扫引燃杂草'],
	dispute: ['宅基地边界纠纷', '邻里排水纠纷', '土地流转租金纠纷', '山林权属纠纷', '养殖异味引发纠纷'],
	device: ['监测设备离线', '监测设备电量低'],
	other: ['道路塌方阻断', '路灯损坏', '桥梁护栏缺失', '饮水管道破裂']
};

const SENSOR_TITLES: Record<string, string> = {
	river_level: '水位超警戒',
	house_tilt: '房屋倾斜',
	crack: '裂缝扩展',
	settlement: '地基沉降',
	displacement: '边坡位移',
	soil_moisture: '土壤含水过高'
};

const LEVEL_ZH: Record<Level, string> = { blue: '蓝色', yellow: '黄色', orange: '橙色', red: '红色' };
const SURNAMES = ['杨', '吴', '龙', '潘', '石', '王', '李', '张', '陈', '罗'];
const GIVEN = ['某某', '大哥', '老伯', '阿姨', '二嫂', '老三'];
const INSTRUCTIONS = [
	'请立即组织转移危险区域群众，确保人员安全。',
	'包村领导到现场指挥，处置情况及时报告。',
	'举一反三，对全村同类隐患开展排查。',
	'请应急办协调力量支援，今日内处置完毕。'
];

function pick<T>(rand: () => number, items: readonly T[]): T {
	return items[Math.floor(rand() * items.length)];
}

function weighted<T>(rand: () => number, items: readonly [T, number][]): T {
	const total = items.reduce((s, [, w]) => s + w, 0);
	let r = rand() * total;
	for (const [v, w] of items) {
		r -= w;
		if (r < 0) return v;
	}
	return items[items.length - 1][0];
}

/** Standard normal (Box–Muller). */
function normal(rand: () => number): number {
	return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

function poisson(rand: () => number, lambda: number): number {
	const l = Math.exp(-lambda);
	let k = 0;
	let p = 1;
	do {
		k++;
		p *= rand();
	} while (p > l);
	return k - 1;
}

/**
 * A point 50–80 m from a sensor of the village (sensors sit ≥ 120 m inside their village's border): near enough to be
 * its place, far enough that a case marker never covers the sensor and takes the click meant for it.
 */
function near(rand: () => number, s: { lng: number; lat: number }, avoid: readonly { lng: number; lat: number }[] = []): [number, number] {
	let p: [number, number] = [s.lng, s.lat];
	// A few tries to keep clear of the village's other sensors too (a house's tilt and crack gauges stand together).
	for (let i = 0; i < 8; i++) {
		const r = 0.0005 + 0.0003 * Math.sqrt(rand());
		const a = 2 * Math.PI * rand();
		p = [Math.round((s.lng + r * Math.cos(a)) * 1e6) / 1e6, Math.round((s.lat + r * 0.9 * Math.sin(a)) * 1e6) / 1e6];
		if (!avoid.some((o) => Math.abs(o.lng - p[0]) < 0.0004 && Math.abs(o.lat - p[1]) < 0.00036)) break;
	}
	return p;
}

/** The order responsibleAt() lists roles in (src/lib/server/cases/incidents.ts). */
const ROLE_ORDER = ['cadre', 'lead', 'secretary', 'grid'];

/**
 * The history's input for the demo township once its villages and cadres have ids: who answered for a village at a
 * moment (the same rule as responsibleAt() in incidents.ts) and the duty leader of a day. Pure, so a test can build
 * the history the seed builds for any date without a database.
 */
export function demoHistoryInput(
	t: DemoTownship,
	villageIds: ReadonlyMap<string, number>,
	cadreIds: ReadonlyMap<string, number>,
	locate: (p: [number, number]) => number | null,
	now: number
): HistoryInput {
	const cadreByKey = new Map(t.cadres.map((c) => [c.key, c]));
	const responsibleAt = (villageId: number, at: number): Responsible[] => {
		const day = new Date(at).toISOString().slice(0, 10);
		return t.assignments
			.filter((a) => villageIds.get(a.village_code) === villageId && a.valid_from <= day && (!a.valid_to || a.valid_to > day))
			.map((a) => ({ role: a.role, cadre_id: cadreIds.get(a.cadre_key)!, name: cadreByKey.get(a.cadre_key)!.name, phone: cadreByKey.get(a.cadre_key)!.phone }))
			.sort((a, b) => ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role) || a.cadre_id - b.cadre_id);
	};
	const dutyLeaderAt = (at: number) => {
		const k = t.dutyRoster(new Date(at).toISOString().slice(0, 10), 1)[0].leader_key;
		return { id: cadreIds.get(k)!, name: cadreByKey.get(k)!.name };
	};
	return {
		now,
		days: 92,
		// The first five villages of the demo township lie along the river valley (township.ts VILLAGE_SPECS).
		villages: t.villages.map((v, index) => ({ id: villageIds.get(v.code)!, name: v.name, index, valley: index < 5 })),
		sensors: t.sensors.map((s) => ({ id: s.id, name: s.name, kind: s.kind, lng: s.lng, lat: s.lat, village_id: locate([s.lng, s.lat]), thresholds: s.thresholds })),
		responsibleAt,
		dutyLeaderAt
	};
}

/**
 * The invented history, oldest case first. Pure: everything comes from `input` and the seed.
 *
 * The random part follows the season of whatever day it is seeded, so on its own it may happen to leave nothing open
 * (a dry week in December closes every case). The duty room's current work is therefore scripted on top of it
 * (currentWork below): open cases waiting, one overdue, one reworked, every level present — the shape the console
 * and the review promise, on any date.
 */
export function buildDemoHistory(input: HistoryInput): HistoryCase[] {
	const seed = input.seed ?? 0x0c45e7;
	const out: HistoryCase[] = [];
	const byVillage = new Map<number, HistorySensor[]>();
	for (const s of input.sensors) if (s.village_id !== null) byVillage.set(s.village_id, [...(byVillage.get(s.village_id) ?? []), s]);
	const villages = input.villages.filter((v) => byVillage.has(v.id));
	// Whole days back from today; the month decides the season. Each day and each case draws from its own generator,
	// so a case's story does not depend on how many cases before it fell outside the window or were cut short by "now":
	// seeded an hour apart, the history is the same but for the cases at its two ends.
	const startDay = Math.floor(input.now / DAY) - input.days;
	for (let d = startDay; d <= Math.floor(input.now / DAY); d++) {
		const month = new Date(d * DAY).getUTCMonth();
		const n = poisson(mulberry32((seed ^ Math.imul(d, 0x9e3779b1)) >>> 0), 0.5 + 0.75 * RAIN[month] + 0.15 * DRY[month]);
		for (let k = 0; k < n; k++) {
			const rand = mulberry32((seed ^ Math.imul(d, 0x9e3779b1) ^ Math.imul(k + 1, 0x85ebca6b)) >>> 0);
			// Reports come mostly in the day (07–22 Beijing time = 23–14 UTC); some at night.
			const hourUtc = rand() < 0.8 ? (23 + rand() * 15) % 24 : rand() * 24;
			const opened = Math.round(d * DAY + hourUtc * HOUR + rand() * HOUR);
			if (opened > input.now - 20 * MIN || opened < input.now - input.days * DAY) continue;
			const village = weighted(rand, villages.map((v) => [v, VILLAGE_WEIGHT[v.index] ?? 1] as [HistoryVillage, number]));
			out.push(oneCase(rand, input, village, byVillage.get(village.id)!, opened, month));
		}
	}
	out.push(...currentWork(input, byVillage));
	return out.sort((a, b) => a.opened_at - b.opened_at);
}

/** One step of a scripted case: minutes after it opened, who, what, and the status it leads to. */
type Step = [minutes: number, actor: 'system' | 'duty' | 'cadre', action: string, to: string | null, note: string | null];

interface Script {
	villageIndex: number;
	category: string;
	level: Level;
	source: HistoryCase['source'];
	what: string;
	/** How long ago it opened. */
	agoMin: number;
	steps: Step[];
}

/**
 * The duty room's current work, relative to now: an overloaded valley cadre past the deadline on an orange case, a
 * yellow case dispatched this morning, a villager's blue call waiting to be accepted, and last week's red case
 * closed after one rework. No device is attached, so no live alarm joins them and no escalation timer waits on them.
 */
const CURRENT_WORK: Script[] = [
	{
		villageIndex: 0, category: 'flood', level: 'orange', source: 'field_report', what: '沿河低洼处进水', agoMin: 15 * 60,
		steps: [
			[30, 'system', 'escalate', null, 'L2'],
			[52, 'cadre', 'accept', 'accepted', null],
			[190, 'cadre', 'start', 'in_progress', '已到现场，正在组织抽排（演示）']
		]
	},
	{
		villageIndex: 4, category: 'housing', level: 'yellow', source: 'hotline', what: '老旧土木房墙体开裂', agoMin: 6 * 60,
		steps: [
			[38, 'duty', 'accept', 'accepted', null],
			[45, 'duty', 'dispatch', 'dispatched', 'cadre']
		]
	},
	{ villageIndex: 2, category: 'dispute', level: 'blue', source: 'hotline', what: '邻里排水纠纷', agoMin: 3 * 60, steps: [] },
	{
		villageIndex: 1, category: 'geohazard', level: 'red', source: 'field_report', what: '后山边坡落石', agoMin: 9 * 24 * 60,
		steps: [
			[6, 'cadre', 'accept', 'accepted', null],
			[40, 'cadre', 'start', 'in_progress', '已到现场（演示）'],
			[95, 'cadre', 'resolve', 'resolved', '已处置，现场已安全（演示）'],
			[180, 'duty', 'verify_fail', 'in_progress', '核查发现隐患未彻底消除，退回重办（演示）'],
			[300, 'cadre', 'resolve', 'resolved', '已按要求整改完毕（演示）'],
			[420, 'duty', 'verify_pass', 'closed', null]
		]
	}
];

function currentWork(input: HistoryInput, byVillage: Map<number, HistorySensor[]>): HistoryCase[] {
	const out: HistoryCase[] = [];
	for (const s of CURRENT_WORK) {
		const village = input.villages.find((v) => v.index === s.villageIndex);
		const sensors = village && byVillage.get(village.id);
		if (!village || !sensors?.length) continue;
		const opened = Math.floor((input.now - s.agoMin * MIN) / MIN) * MIN;
		const responsible = input.responsibleAt(village.id, opened);
		const cadre = responsible.find((r) => r.role === 'cadre') ?? null;
		const lead = responsible.find((r) => r.role === 'lead') ?? null;
		// Beside the village's first sensor, never on it: a case marker drawn over a sensor would take the click meant
		// for the sensor (~60 m off; sensors sit ≥ 120 m inside their village's border, so the case stays in the village).
		const lng = Math.round((sensors[0].lng + 0.0006) * 1e6) / 1e6;
		const lat = Math.round((sensors[0].lat + 0.0004) * 1e6) / 1e6;
		const what = `${village.name}${s.what}`;
		const description = `演示数据（虚构）：${what}。${s.source === 'hotline' ? '群众来电反映。' : ''}`;
		const reporter = s.source === 'hotline' ? '村民（热线）' : (cadre?.name ?? '网格员');
		const actor = { system: '系统 system', duty: '值班员（演示）', cadre: cadre ? `${cadre.name}（演示）` : '值班员（演示）' };
		const events: HistoryEvent[] = [{ at: opened, actor_name: reporter, action: 'report', from: null, to: 'reported', note: description, lng: null, lat: null }];
		let status = 'reported';
		let escalation = cadre ? 0 : -1;
		let assignee: number | null = null;
		const at: Partial<Record<'acknowledged' | 'arrived' | 'resolved' | 'closed', number>> = {};
		let reopened = 0;
		for (const [minutes, who, action, to, note] of s.steps) {
			const t = opened + minutes * MIN;
			let text = note;
			if (action === 'escalate') {
				if (!lead) continue;
				escalation = 1;
				text = `超时未受理，升级至 L2 包村领导：${lead.name}（演示）`;
			}
			if (action === 'dispatch') {
				if (!cadre) continue;
				assignee = cadre.cadre_id;
				text = `派遣给 ${cadre.name}（演示）`;
			}
			if (['accept', 'dispatch', 'start', 'reject'].includes(action)) at.acknowledged ??= t;
			if (action === 'start') at.arrived ??= t;
			if (action === 'resolve') at.resolved = t;
			if (action === 'verify_fail') (reopened++, delete at.resolved);
			if (to === 'closed') at.closed = t;
			const onSite = action === 'start' || action === 'resolve';
			events.push({ at: t, actor_name: actor[who], action, from: to ? status : null, to, note: text, lng: onSite ? lng : null, lat: onSite ? lat : null });
			if (to) status = to;
		}
		const limits = TIME_LIMITS[s.level];
		out.push({
			source: s.source,
			category: s.category,
			level: s.level,
			status,
			title: `${DEMO_TITLE_PREFIX}${what}`,
			description,
			reporter_name: reporter,
			village_id: village.id,
			device_id: null,
			lng,
			lat,
			opened_at: opened,
			ack_due: opened + limits.ackMs,
			resolve_due: opened + limits.resolveMs,
			acknowledged_at: at.acknowledged ?? null,
			arrived_at: at.arrived ?? null,
			resolved_at: at.resolved ?? null,
			closed_at: at.closed ?? null,
			reopened_count: reopened,
			escalation_level: escalation,
			responsible,
			assignee_cadre_id: assignee,
			dispute: s.category === 'dispute' ? { parties: ['杨某（演示）', '吴某（演示）'] } : null,
			events,
			alarm: null,
			readings: null
		});
	}
	return out;
}

function oneCase(rand: () => number, input: HistoryInput, village: HistoryVillage, sensors: HistorySensor[], opened: number, month: number): HistoryCase {
	const now = input.now;
	const category = weighted(rand, CATEGORY_WEIGHTS(village.valley, month));
	const kinds = SENSOR_KINDS[category] ?? [];
	const matching = sensors.filter((s) => kinds.includes(s.kind));
	// Sensor-raised cases only when long past: a still-open demo case must never be joined by a live alarm.
	const old = opened < now - 4 * DAY;
	const sensor = old && matching.length && rand() < 0.55 ? pick(rand, matching) : null;
	const deviceCase = category === 'device' && old ? pick(rand, sensors) : null;
	let level = weighted(rand, LEVEL_WEIGHTS[category]);
	if (sensor?.kind === 'river_level' && (level === 'blue' || level === 'yellow')) level = 'orange';
	const source: HistoryCase['source'] = sensor ? 'sensor' : deviceCase ? 'device_health' : rand() < 0.55 ? 'field_report' : 'hotline';
	const responsible = input.responsibleAt(village.id, opened);
	const cadre = responsible.find((r) => r.role === 'cadre') ?? null;
	const lead = responsible.find((r) => r.role === 'lead') ?? null;
	const [lng, lat] = sensor ? [sensor.lng, sensor.lat] : near(rand, deviceCase ?? pick(rand, sensors), sensors);
	const slow = SLOW_VILLAGES.has(village.index);
	const limits = TIME_LIMITS[level];
	const villager = pick(rand, SURNAMES) + pick(rand, GIVEN);
	const reporter = source === 'hotline' ? `${villager}（热线）` : source === 'field_report' ? (cadre?.name ?? '网格员') : '系统 system';
	const what = sensor ? `${sensor.name}：${SENSOR_TITLES[sensor.kind]}` : deviceCase ? `${deviceCase.name}：${pick(rand, TITLES.device)}` : `${village.name}${pick(rand, TITLES[category])}`;
	const title = `${DEMO_TITLE_PREFIX}${what}`;
	const description = `演示数据（虚构）：${what}。${source === 'hotline' ? `群众${villager}来电反映。` : ''}`;

	const events: HistoryEvent[] = [];
	let status = 'reported';
	let acknowledged: number | null = null;
	let arrived: number | null = null;
	let resolved: number | null = null;
	let closed: number | null = null;
	let reopened = 0;
	let escalation = cadre ? 0 : -1;
	let assignee: number | null = null;
	const duty = '值班员（演示）';
	const cadreName = cadre ? `${cadre.name}（演示）` : duty;
	/** Adds an event unless it lies in the future; returns false once the story has reached now. */
	const ev = (at: number, actor: string, action: string, to: string | null, note: string | null, loc = false): boolean => {
		if (at > now) return false;
		const [elng, elat] = loc ? near(rand, { lng, lat }) : [null, null];
		events.push({ at, actor_name: actor, action, from: to ? status : null, to, note, lng: elng, lat: elat });
		if (to) status = to;
		return true;
	};
	const spread = (sigma: number) => Math.exp(sigma * normal(rand));

	ev(opened, source === 'sensor' || source === 'device_health' ? '系统 system' : reporter, 'report', 'reported', sensor ? `${LEVEL_ZH[level]}告警（演示）` : description);
	const story = (): void => {
		const ackAt = opened + Math.max(MIN, limits.ackMs * (slow ? 0.95 : 0.35) * spread(0.8));
		if (ackAt > opened + limits.ackMs && escalation >= 0 && lead) {
			if (!ev(opened + limits.ackMs, '系统 system', 'escalate', null, `超时未受理，升级至 L2 包村领导：${lead.name}（演示）`)) return;
			escalation = 1;
		}
		const reject = source === 'hotline' && (category === 'dispute' || category === 'other') && rand() < 0.18;
		if (reject) {
			if (!ev(ackAt, duty, 'reject', 'rejected', '经核实不属于本镇职责范围，已告知来电人（演示）')) return;
			acknowledged = ackAt;
			closed = ackAt;
			return;
		}
		const byDuty = !cadre || rand() < 0.4;
		if (!ev(ackAt, byDuty ? duty : cadreName, 'accept', 'accepted', null)) return;
		acknowledged = ackAt;
		let t = ackAt;
		if (byDuty && cadre) {
			t += (2 + rand() * 10) * MIN;
			if (!ev(t, duty, 'dispatch', 'dispatched', `派遣给 ${cadre.name}（演示）`)) return;
			assignee = cadre.cadre_id;
		}
		if ((level === 'red' || level === 'orange') && rand() < 0.35) {
			const leader = input.dutyLeaderAt(opened);
			if (leader) ev(opened + limits.ackMs * (0.5 + rand()), `${leader.name}（演示）`, 'instruct', status, `${pick(rand, INSTRUCTIONS)}（演示）`);
		}
		t += Math.max(5 * MIN, limits.resolveMs * (slow ? 0.2 : 0.08) * spread(0.6));
		if (!ev(t, cadreName, 'start', 'in_progress', '已到现场（演示）', true)) return;
		arrived = t;
		const fails = rand() < (slow ? 0.2 : 0.06) ? 1 : 0;
		for (let round = 0; round <= fails; round++) {
			t += Math.max(10 * MIN, limits.resolveMs * (slow ? 0.55 : 0.3) * (round ? 0.4 : 1) * spread(0.55));
			if (!ev(t, cadreName, 'resolve', 'resolved', round ? '已按要求整改完毕（演示）' : '已处置，现场已安全（演示）', true)) return;
			resolved = t;
			t += (0.5 + rand() * 6) * HOUR;
			if (round < fails) {
				if (!ev(t, duty, 'verify_fail', 'in_progress', '核查发现隐患未彻底消除，退回重办（演示）')) return;
				resolved = null;
				reopened++;
			}
		}
		if (!ev(t, duty, 'verify_pass', 'closed', null)) return;
		closed = t;
	};
	story();

	let alarm: HistoryCase['alarm'] = null;
	let readings: HistoryCase['readings'] = null;
	if (sensor) {
		const end = closed ?? resolved ?? opened + 6 * HOUR;
		if (sensor.kind === 'river_level') {
			const th = sensor.thresholds as { normal_level_m: number; warning_level_m: number; guarantee_level_m: number };
			const peak = level === 'red' ? th.guarantee_level_m + 0.2 : th.warning_level_m + 0.3 + rand() * 0.3;
			// A flood wave: rises over ~3 h to cross the 警戒水位 at `opened`, peaks an hour later, recedes over ~8 h.
			const from = opened - 6 * HOUR;
			const to = Math.min(Math.max(end, opened + 12 * HOUR) + 4 * HOUR, now - DAY);
			const at: number[] = [];
			const value: number[] = [];
			const crossFrac = (th.warning_level_m - th.normal_level_m) / (peak - th.normal_level_m);
			const riseMs = 3 * HOUR;
			const peakAt = opened + (1 - crossFrac) * riseMs;
			let cleared = opened + 8 * HOUR;
			for (let x = from; x <= to; x += 10 * MIN) {
				const shape = x < peakAt ? Math.exp(-(((peakAt - x) / (riseMs * 1.15)) ** 2) * 2.2) : Math.exp(-(x - peakAt) / (5 * HOUR));
				const v = Math.round((th.normal_level_m + (peak - th.normal_level_m) * shape + 0.02 * normal(rand)) * 1000) / 1000;
				if (x > peakAt && v < th.warning_level_m - 0.1 && cleared === opened + 8 * HOUR) cleared = x;
				at.push(x);
				value.push(v);
			}
			readings = { device_id: sensor.id, metric: 'water_level_m', at, value };
			alarm = { device_id: sensor.id, rule: 'level', level, value: peak, threshold: level === 'red' ? th.guarantee_level_m : th.warning_level_m, detail: `水位 ${peak.toFixed(2)} m（演示）`, raised_at: opened, cleared_at: cleared };
		} else {
			alarm = { device_id: sensor.id, rule: sensor.kind, level, value: 0, threshold: 0, detail: `${SENSOR_TITLES[sensor.kind]}（演示）`, raised_at: opened, cleared_at: Math.min(end, now - HOUR) };
		}
	}

	return {
		source,
		category,
		level,
		status,
		title,
		description,
		reporter_name: reporter,
		village_id: village.id,
		// Only a finished case keeps its device: an open one would be joined by the sensor's next live alarm.
		device_id: (sensor ?? deviceCase) && (status === 'closed' || status === 'rejected') ? (sensor ?? deviceCase)!.id : null,
		lng,
		lat,
		opened_at: opened,
		ack_due: opened + limits.ackMs,
		resolve_due: opened + limits.resolveMs,
		acknowledged_at: acknowledged,
		arrived_at: arrived,
		resolved_at: resolved,
		closed_at: closed,
		reopened_count: reopened,
		escalation_level: escalation,
		responsible,
		assignee_cadre_id: assignee,
		dispute: category === 'dispute' ? { parties: [`${pick(rand, SURNAMES)}某（演示）`, `${pick(rand, SURNAMES)}某（演示）`] } : null,
		events,
		alarm: (sensor ?? deviceCase) && (status === 'closed' || status === 'rejected') ? alarm : null,
		readings: (sensor ?? deviceCase) && (status === 'closed' || status === 'rejected') ? readings : null
	};
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

/**
 * Writes the history in a handful of statements (ids drawn from the sequences first, then one jsonb_to_recordset
 * INSERT per table), so the demo still starts in about a second. Call inside the seeding transaction.
 */
export async function insertDemoHistory(q: Queryable, cases: HistoryCase[]): Promise<void> {
	if (!cases.length) return;
	const ids = (await q.query<{ id: string }>(`SELECT nextval('incidents_id_seq')::text AS id FROM generate_series(1, $1)`, [cases.length])).rows.map((r) => Number(r.id));
	const incidents = cases.map((c, i) => ({
		id: ids[i],
		source: c.source,
		category: c.category,
		level: c.level,
		status: c.status,
		title: c.title,
		description: c.description,
		reporter_name: c.reporter_name,
		village_id: c.village_id,
		device_id: c.device_id,
		lng: c.lng,
		lat: c.lat,
		opened_at: iso(c.opened_at),
		ack_due: iso(c.ack_due),
		resolve_due: iso(c.resolve_due),
		closed_at: iso(c.closed_at),
		acknowledged_at: iso(c.acknowledged_at),
		arrived_at: iso(c.arrived_at),
		resolved_at: iso(c.resolved_at),
		reopened_count: c.reopened_count,
		escalation_level: c.escalation_level,
		responsible: c.responsible,
		assignee_cadre_id: c.assignee_cadre_id,
		dispute: c.dispute
	}));
	await q.query(
		`INSERT INTO incidents (id, source, category, level, status, title, description, reporter_name, village_id, device_id, lng, lat, opened_at, ack_due, resolve_due,
		                        closed_at, acknowledged_at, arrived_at, resolved_at, reopened_count, escalation_level, next_check_at, responsible, assignee_cadre_id, dispute, is_demo)
		 SELECT id, source, category, level, status, title, description, reporter_name, village_id, device_id, lng, lat, opened_at, ack_due, resolve_due,
		        closed_at, acknowledged_at, arrived_at, resolved_at, reopened_count, escalation_level, NULL, responsible, assignee_cadre_id, dispute, true
		 FROM jsonb_to_recordset($1::jsonb) AS x(id bigint, source text, category text, level text, status text, title text, description text, reporter_name text,
		      village_id integer, device_id text, lng float8, lat float8, opened_at timestamptz, ack_due timestamptz, resolve_due timestamptz, closed_at timestamptz,
		      acknowledged_at timestamptz, arrived_at timestamptz, resolved_at timestamptz, reopened_count integer, escalation_level integer, responsible jsonb,
		      assignee_cadre_id integer, dispute jsonb)`,
		[JSON.stringify(incidents)]
	);
	const events = cases.flatMap((c, i) => c.events.map((e) => ({ incident_id: ids[i], at: iso(e.at), actor_name: e.actor_name, action: e.action, from_status: e.from, to_status: e.to, note: e.note, lng: e.lng, lat: e.lat })));
	await q.query(
		`INSERT INTO incident_events (incident_id, at, actor_name, action, from_status, to_status, note, lng, lat)
		 SELECT incident_id, at, actor_name, action, from_status, to_status, note, lng, lat
		 FROM jsonb_to_recordset($1::jsonb) AS x(incident_id bigint, at timestamptz, actor_name text, action text, from_status text, to_status text, note text, lng float8, lat float8)
		 ORDER BY at`,
		[JSON.stringify(events)]
	);
	const alarms = cases.flatMap((c, i) => (c.alarm ? [{ ...c.alarm, raised_at: iso(c.alarm.raised_at), cleared_at: iso(c.alarm.cleared_at), incident_id: ids[i] }] : []));
	if (alarms.length) {
		await q.query(
			`INSERT INTO alarms (device_id, rule, level, value, threshold, detail, raised_at, level_changed_at, cleared_at, incident_id)
			 SELECT device_id, rule, level, value, threshold, detail, raised_at, raised_at, cleared_at, incident_id
			 FROM jsonb_to_recordset($1::jsonb) AS x(device_id text, rule text, level text, value float8, threshold float8, detail text, raised_at timestamptz, cleared_at timestamptz, incident_id bigint)`,
			[JSON.stringify(alarms)]
		);
	}
	const series = cases.flatMap((c) => (c.readings ? [c.readings] : []));
	if (series.length) {
		// Two cases of one sensor close together share readings: keep one per (device, metric, time), as storage would.
		const seen = new Set<string>();
		const rows = series.flatMap((s) => s.at.map((t, k) => ({ device_id: s.device_id, metric: s.metric, observed_at: iso(t), value: s.value[k] }))).filter((r) => {
			const key = `${r.device_id}|${r.metric}|${r.observed_at}`;
			return seen.has(key) ? false : (seen.add(key), true);
		});
		await q.query(
			`INSERT INTO readings (device_id, metric, observed_at, value, received_at)
			 SELECT device_id, metric, observed_at, value, observed_at FROM jsonb_to_recordset($1::jsonb) AS x(device_id text, metric text, observed_at timestamptz, value float8)
			 ON CONFLICT DO NOTHING`,
			[JSON.stringify(rows)]
		);
		// Roll the invented readings up like the batch writer would (migrations 0007), so the 7-day chart has them too.
		for (const [table, unit] of [['readings_hourly', 'hour'], ['readings_daily', 'day']] as const) {
			await q.query(
				`INSERT INTO ${table} (device_id, metric, bucket, n, sum, min, max, last_at, last_value)
				 SELECT device_id, metric, date_trunc('${unit}', observed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', count(*), sum(value), min(value), max(value),
				        max(observed_at), (array_agg(value ORDER BY observed_at DESC))[1]
				 FROM jsonb_to_recordset($1::jsonb) AS x(device_id text, metric text, observed_at timestamptz, value float8)
				 GROUP BY 1, 2, 3 ON CONFLICT DO NOTHING`,
				[JSON.stringify(rows)]
			);
		}
	}
}
