// Demo data generator for an INVENTED township: every place, name, division code, person and phone number here is
// made up. It gives the demo and the tests a realistic-looking river-valley township in Guizhou (villages that tile
// it exactly, a river, sensors of every kind, cadres, assignments and a duty roster) without touching real data.
// Pure: no I/O; a seeded PRNG makes every call return the same township.

import type { LineString, Polygon } from 'geojson';
import { perKind as fromCatalogue, type SensorKind } from '../../domain/sensor-kinds';

export const DEMO_NOTICE =
	'演示数据：清溪镇及其村庄、河流、监测点、人员和电话均为虚构，与任何真实地点或个人无关。' +
	' / Demo data: the township 清溪镇, its villages, river, sensors, people and phone numbers are all invented and ' +
	'correspond to no real place or person.';

/** The simulator divides every sensor's interval_s by this, so a demo shows movement within minutes. */
export const DEMO_SPEEDUP = 20;

export interface DemoVillage {
	/** Invented 12-digit division code: county slot 522799 is not assigned to any real county. */
	code: string;
	name: string;
	boundary: Polygon;
}

export interface DemoSensor {
	id: string;
	name: string;
	kind: SensorKind;
	lng: number;
	lat: number;
	village_code: string;
	interval_s: number;
	thresholds: Record<string, unknown>;
	baseline: Record<string, number> | null;
}

export interface DemoCadre {
	key: string;
	name: string;
	phone: string;
	position: string;
}

export type AssignmentRole = 'lead' | 'cadre' | 'secretary' | 'grid';

export interface DemoAssignment {
	cadre_key: string;
	village_code: string;
	role: AssignmentRole;
	/** ISO date, inclusive. */
	valid_from: string;
	/** ISO date, exclusive (the day the successor takes over); absent while the assignment is current. */
	valid_to?: string;
}

export interface DutyDay {
	date: string;
	officer_key: string;
	leader_key: string;
}

export interface DemoTownship {
	notice: string;
	township: { name: string; division_code: string | null; boundary: Polygon };
	villages: DemoVillage[];
	river: { name: string; line: LineString };
	sensors: DemoSensor[];
	cadres: DemoCadre[];
	assignments: DemoAssignment[];
	dutyRoster: (fromDate: string, days: number) => DutyDay[];
}

// ---- frame -------------------------------------------------------------------------------------------------------
// Everything is laid out in metres east/north of the south-west corner, then mapped to WGS-84 with a local
// equirectangular projection: over 12 km the error is far below the 0.1 m the coordinates are rounded to.

const ORIGIN_LNG = 107.44;
const ORIGIN_LAT = 26.46;
const M_PER_DEG_LAT = 110_574;
const M_PER_DEG_LNG = 111_320 * Math.cos((ORIGIN_LAT * Math.PI) / 180);
const WIDTH_M = 12_000;
const HEIGHT_M = 9_000;
/** Cells are small so that village borders built from whole cells wiggle like real ones instead of stepping. */
const CELL_M = 250;
const NX = WIDTH_M / CELL_M;
const NY = HEIGHT_M / CELL_M;
/** Sensors keep this far from any village border (the brief asks for 50 m; the margin absorbs rounding). */
const BORDER_CLEARANCE_M = 120;
const SEED = 0x5eed_0c1e;

type XY = [number, number];

function toLngLat([x, y]: XY): [number, number] {
	return [round6(ORIGIN_LNG + x / M_PER_DEG_LNG), round6(ORIGIN_LAT + y / M_PER_DEG_LAT)];
}

function round6(v: number): number {
	return Math.round(v * 1e6) / 1e6;
}

/** mulberry32: a tiny 32-bit PRNG, good enough for layout jitter and reproducible across engines. */
export function mulberry32(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

// ---- river -------------------------------------------------------------------------------------------------------

/** Centre line of 清溪大河, flowing west (upstream) to east: two sine waves give it meanders of a few hundred metres. */
function riverY(x: number): number {
	return 4_400 + 650 * Math.sin((2 * Math.PI * x) / 5_200 + 0.7) + 260 * Math.sin((2 * Math.PI * x) / 1_900 + 2.1);
}

function riverPoints(): XY[] {
	const pts: XY[] = [];
	// Starts and ends 400 m outside the township so the line visibly crosses it.
	for (let x = -400; x <= WIDTH_M + 400; x += 80) pts.push([x, riverY(x)]);
	return pts;
}

// ---- villages ----------------------------------------------------------------------------------------------------

interface VillageSpec {
	name: string;
	/** Seed of the village's region, in km (x east, y north); valley seeds sit on the river. */
	seedKm: XY;
	valley: boolean;
}

const VILLAGE_SPECS: VillageSpec[] = [
	{ name: '龙潭村', seedKm: [1.3, riverY(1_300) / 1000], valley: true },
	{ name: '松林村', seedKm: [3.7, riverY(3_700) / 1000], valley: true },
	{ name: '石桥村', seedKm: [6.0, riverY(6_000) / 1000], valley: true },
	{ name: '新街村', seedKm: [8.3, riverY(8_300) / 1000], valley: true },
	{ name: '河口村', seedKm: [10.7, riverY(10_700) / 1000], valley: true },
	{ name: '白岩村', seedKm: [2.2, 8.0], valley: false },
	{ name: '杉木村', seedKm: [6.0, 8.3], valley: false },
	{ name: '高坡村', seedKm: [9.8, 8.0], valley: false },
	{ name: '岩脚村', seedKm: [3.0, 1.0], valley: false },
	{ name: '茶园村', seedKm: [9.0, 1.0], valley: false }
];

const TOWNSHIP_CODE = '522799103000';
const villageCode = (i: number): string => `522799103${String(201 + i).padStart(3, '0')}`;

/** Cell centre inside the township outline: a rounded rectangle whose edge wobbles a little. */
function inTownship(i: number, j: number): boolean {
	const u = ((i + 0.5) * CELL_M - WIDTH_M / 2) / (WIDTH_M / 2);
	const v = ((j + 0.5) * CELL_M - HEIGHT_M / 2) / (HEIGHT_M / 2);
	const angle = Math.atan2(v, u);
	const radius = 1 - 0.05 * (1 + Math.sin(3 * angle + 0.4)) - 0.03 * (1 + Math.sin(5 * angle + 1.9));
	return Math.abs(u) ** 2.6 + Math.abs(v) ** 2.6 < radius ** 2.6;
}

/**
 * Every lattice vertex gets one jittered position, used by every cell that touches it: that is what makes
 * neighbouring villages share identical edge vertices, so they tile the township with no gap and no overlap.
 * A smooth wave plus small white noise, each bounded so vertices never cross their neighbours (no folded cells).
 */
function buildVertices(rand: () => number): XY[][] {
	const phases = Array.from({ length: 4 }, () => rand() * 2 * Math.PI);
	const vertices: XY[][] = [];
	for (let i = 0; i <= NX; i++) {
		const column: XY[] = [];
		for (let j = 0; j <= NY; j++) {
			const bx = i * CELL_M;
			const by = j * CELL_M;
			const dx = 55 * Math.sin(by / 700 + phases[0]) + 35 * Math.sin(bx / 1_100 + phases[1]) + (rand() - 0.5) * 80;
			const dy = 55 * Math.sin(bx / 800 + phases[2]) + 35 * Math.sin(by / 1_300 + phases[3]) + (rand() - 0.5) * 80;
			column.push([bx + dx, by + dy]);
		}
		vertices.push(column);
	}
	return vertices;
}

/** Region of each cell: -1 outside the township, else the index of the nearest village seed. */
function assignCells(): number[][] {
	const region: number[][] = [];
	for (let i = 0; i < NX; i++) {
		const column: number[] = [];
		for (let j = 0; j < NY; j++) {
			if (!inTownship(i, j)) {
				column.push(-1);
				continue;
			}
			const cx = (i + 0.5) * CELL_M;
			const cy = (j + 0.5) * CELL_M;
			let best = 0;
			let bestD = Infinity;
			VILLAGE_SPECS.forEach((spec, k) => {
				// Valley villages reach further across the valley than along it: real valley villages straddle
				// the river and climb the slopes on both banks.
				const sx = spec.valley ? 1 : 1.15;
				const d = Math.hypot((cx - spec.seedKm[0] * 1000) * sx, cy - spec.seedKm[1] * 1000);
				if (d < bestD) {
					bestD = d;
					best = k;
				}
			});
			column.push(best);
		}
		region.push(column);
	}
	return region;
}

/**
 * Outer ring (counter-clockwise, RFC 7946 §3.1.6 right-hand rule) of the cells for which `member` is true. Throws
 * if the cells are not one simply connected piece without pinch points, since the ring would then be invalid.
 */
function traceRing(member: (i: number, j: number) => boolean, vertices: XY[][]): XY[] {
	const inside = (i: number, j: number): boolean => i >= 0 && j >= 0 && i < NX && j < NY && member(i, j);
	const next = new Map<string, [number, number]>();
	const key = (i: number, j: number): string => `${i},${j}`;
	const addEdge = (a: [number, number], b: [number, number]): void => {
		const k = key(...a);
		if (next.has(k)) throw new Error(`demo township: region pinches at vertex ${k}`);
		next.set(k, b);
	};
	for (let i = 0; i < NX; i++) {
		for (let j = 0; j < NY; j++) {
			if (!inside(i, j)) continue;
			if (!inside(i, j - 1)) addEdge([i, j], [i + 1, j]);
			if (!inside(i + 1, j)) addEdge([i + 1, j], [i + 1, j + 1]);
			if (!inside(i, j + 1)) addEdge([i + 1, j + 1], [i, j + 1]);
			if (!inside(i - 1, j)) addEdge([i, j + 1], [i, j]);
		}
	}
	// Start at the lowest key so the ring's first vertex does not depend on Map iteration details.
	const start = [...next.keys()].sort()[0];
	if (start === undefined) throw new Error('demo township: empty region');
	const ring: XY[] = [];
	let k = start;
	do {
		const [i, j] = k.split(',').map(Number) as [number, number];
		ring.push(vertices[i][j]);
		const to = next.get(k);
		if (!to) throw new Error(`demo township: open ring at ${k}`);
		next.delete(k);
		k = key(...to);
	} while (k !== start);
	if (next.size > 0) throw new Error('demo township: region is not one simply connected piece');
	ring.push(ring[0]);
	return ring;
}

// ---- geometry helpers (metre frame) ------------------------------------------------------------------------------

function distToSegment(p: XY, a: XY, b: XY): number {
	const dx = b[0] - a[0];
	const dy = b[1] - a[1];
	const len2 = dx * dx + dy * dy;
	const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2));
	return Math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy);
}

function distToLine(p: XY, line: XY[]): number {
	let d = Infinity;
	for (let i = 1; i < line.length; i++) d = Math.min(d, distToSegment(p, line[i - 1], line[i]));
	return d;
}

function pointInRing(p: XY, ring: XY[]): boolean {
	let inside = false;
	for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
		const [xi, yi] = ring[i];
		const [xj, yj] = ring[j];
		if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
	}
	return inside;
}

/** True when p is inside the ring and at least `clearance` metres from its edge. */
function wellInside(p: XY, ring: XY[], clearance = BORDER_CLEARANCE_M): boolean {
	return pointInRing(p, ring) && distToLine(p, ring) >= clearance;
}

// ---- sensors -----------------------------------------------------------------------------------------------------

// Report interval, id prefix and site name of each kind: from the sensor-kind catalogue (domain/sensor-kinds.ts).
const INTERVAL_S: Readonly<Record<SensorKind, number>> = fromCatalogue((d) => d.intervalS);
const ID_PREFIX: Readonly<Record<SensorKind, string>> = fromCatalogue((d) => d.idPrefix);
const NAME_SUFFIX: Readonly<Record<SensorKind, string>> = fromCatalogue((d) => d.siteName);

// Defaults from DOMAIN.md; each is per sensor so an admin can tune one site without touching the rest.
const RAIN_THRESHOLDS = {
	sum_mm: {
		'1h': { blue: 35, yellow: 45, orange: 60, red: 80 },
		'3h': { blue: 55, yellow: 75, orange: 100, red: 120 },
		'6h': { blue: 70, yellow: 95, orange: 120, red: 150 },
		'24h': { blue: 100, yellow: 130, orange: 160, red: 200 }
	}
};
const TILT_THRESHOLDS = { tilt_pct: { blue: 0.4, yellow: 0.7, orange: 2, red: 3 } };
const CRACK_THRESHOLDS = { change_mm: { yellow: 1, orange: 2, red: 5 } };
const SETTLEMENT_THRESHOLDS = { rate_mm_per_month: { yellow: 4 } };
// DOMAIN.md leaves displacement and soil moisture "per site". Chosen defaults: 5/10/20 mm a day follows the usual
// creep → accelerating → imminent-failure bands used in slope-monitoring practice; 40/45/50 % volumetric water
// content is where residual soils on Guizhou slopes approach saturation. Both are starting points to tune per site.
const DISPLACEMENT_THRESHOLDS = { rate_mm_per_day: { yellow: 5, orange: 10, red: 20 } };
const SOIL_THRESHOLDS = { pct: { yellow: 40, orange: 45, red: 50 } };

/** How many sensors of each kind go to which village (by index in VILLAGE_SPECS). River stations are placed apart. */
const SENSOR_PLAN: [SensorKind, number, number][] = [
	// kind, village, count
	['house_tilt', 1, 4],
	['house_tilt', 2, 2],
	['house_tilt', 3, 2],
	['house_tilt', 0, 1],
	['house_tilt', 4, 1],
	['house_tilt', 8, 1],
	['house_tilt', 5, 1],
	['crack', 1, 3],
	['crack', 2, 1],
	['crack', 3, 1],
	['crack', 4, 1],
	['crack', 7, 1],
	['crack', 9, 1],
	['crack', 6, 1],
	['settlement', 1, 1],
	['settlement', 2, 1],
	['settlement', 3, 1],
	['settlement', 4, 1],
	['rain_gauge', 0, 1],
	['rain_gauge', 1, 1],
	['rain_gauge', 2, 1],
	['rain_gauge', 4, 1],
	['rain_gauge', 5, 1],
	['rain_gauge', 6, 1],
	['rain_gauge', 7, 1],
	['rain_gauge', 9, 1],
	['displacement', 5, 2],
	['displacement', 7, 2],
	['displacement', 8, 1],
	['displacement', 9, 1]
];

/** River stations: village index and the x (metres) to start searching from; two in 松林村, one per other valley one. */
const RIVER_STATIONS: [number, number][] = [
	[0, 1_300],
	[1, 3_200],
	[1, 4_200],
	[2, 6_000],
	[3, 8_300],
	[4, 10_700]
];

function buildSensors(
	rand: () => number,
	rings: XY[][],
	region: number[][],
	vertices: XY[][],
	river: XY[],
	codes: string[]
): DemoSensor[] {
	const sensors: DemoSensor[] = [];
	const counters = new Map<string, number>();
	const taken: XY[] = [];

	const add = (
		kind: SensorKind,
		village: number,
		p: XY,
		thresholds: Record<string, unknown>,
		baseline: Record<string, number> | null
	): void => {
		if (!wellInside(p, rings[village])) throw new Error(`demo township: ${kind} sensor too close to a border`);
		const perKind = (counters.get(kind) ?? 0) + 1;
		counters.set(kind, perKind);
		const perVillageKey = `${kind}:${village}`;
		const perVillage = (counters.get(perVillageKey) ?? 0) + 1;
		counters.set(perVillageKey, perVillage);
		const [lng, lat] = toLngLat(p);
		sensors.push({
			id: `${ID_PREFIX[kind]}-${String(perKind).padStart(2, '0')}`,
			name: `${VILLAGE_SPECS[village].name}${NAME_SUFFIX[kind]}${perVillage}`,
			kind,
			lng,
			lat,
			village_code: codes[village],
			interval_s: INTERVAL_S[kind],
			thresholds,
			baseline
		});
		taken.push(p);
	};

	// River stations sit exactly on a vertex of the river line; walk downstream from the planned x until the
	// point is well inside its village. Levels step up downstream as the valley widens and the channel deepens.
	RIVER_STATIONS.forEach(([village, startX], n) => {
		let x = startX;
		while (!wellInside([x, riverY(x)], rings[village]) && x < startX + 2_000) x += 20;
		const p: XY = [x, riverY(x)];
		const normal = round2(2.1 + 0.15 * n);
		add(
			'river_level',
			village,
			p,
			{
				normal_level_m: normal,
				warning_level_m: round2(normal + 1.4),
				guarantee_level_m: round2(normal + 2.1),
				rise_per_15min_m: 0.3,
				rise_per_hour_m: 0.5
			},
			null
		);
	});

	// Candidate sites: centroids of cells well inside each village, in a fixed order so the PRNG picks repeatably.
	const candidates: XY[][] = rings.map(() => []);
	for (let i = 0; i < NX; i++) {
		for (let j = 0; j < NY; j++) {
			const r = region[i][j];
			if (r < 0) continue;
			const c = centroid([vertices[i][j], vertices[i + 1][j], vertices[i + 1][j + 1], vertices[i][j + 1]]);
			if (wellInside(c, rings[r], 200)) candidates[r].push(c);
		}
	}

	const pick = (kind: SensorKind, village: number): XY => {
		const riverDist = (p: XY): number => distToLine(p, river);
		// Houses cluster on the valley floor near the river but not in it; slope sensors sit up the hillside.
		const wanted = (p: XY): boolean => {
			const d = riverDist(p);
			if (taken.some((t) => Math.hypot(t[0] - p[0], t[1] - p[1]) < 150)) return false;
			if (kind === 'house_tilt' || kind === 'crack' || kind === 'settlement') return d > 80 && d < 1_200;
			if (kind === 'displacement') return d > 1_000;
			return true;
		};
		const pool = candidates[village].filter(wanted);
		const fallback = candidates[village].filter((p) => !taken.some((t) => Math.hypot(t[0] - p[0], t[1] - p[1]) < 150));
		const from = pool.length > 0 ? pool : fallback;
		if (from.length === 0) throw new Error(`demo township: no room for ${kind} in ${VILLAGE_SPECS[village].name}`);
		return from[Math.floor(rand() * from.length)];
	};

	for (const [kind, village, count] of SENSOR_PLAN) {
		for (let n = 0; n < count; n++) {
			const p = pick(kind, village);
			if (kind === 'house_tilt') {
				add(kind, village, p, TILT_THRESHOLDS, { tilt_x_deg: jitter(rand, 0.15), tilt_y_deg: jitter(rand, 0.15) });
			} else if (kind === 'crack') {
				add(kind, village, p, CRACK_THRESHOLDS, { crack_mm: round2(0.3 + rand() * 2.2) });
			} else if (kind === 'settlement') {
				add(kind, village, p, SETTLEMENT_THRESHOLDS, null);
			} else if (kind === 'rain_gauge') {
				add(kind, village, p, RAIN_THRESHOLDS, null);
			} else if (kind === 'displacement') {
				add(kind, village, p, DISPLACEMENT_THRESHOLDS, null);
				// Soil moisture is read beside the slope it explains: paired with the first five displacement sites.
				if ((counters.get('soil_moisture') ?? 0) < 5) {
					add('soil_moisture', village, [p[0] + 60, p[1] + 40], SOIL_THRESHOLDS, null);
				}
			}
		}
	}
	return sensors;
}

function centroid(points: XY[]): XY {
	const x = points.reduce((s, p) => s + p[0], 0) / points.length;
	const y = points.reduce((s, p) => s + p[1], 0) / points.length;
	return [x, y];
}

function round2(v: number): number {
	return Math.round(v * 100) / 100;
}

function jitter(rand: () => number, max: number): number {
	return Math.round((rand() * 2 - 1) * max * 1000) / 1000;
}

// ---- people ------------------------------------------------------------------------------------------------------

/** Obviously fake numbers: 1380000 followed by a 4-digit serial. */
const phone = (n: number): string => `1380000${String(n).padStart(4, '0')}`;

const LEADERS: [string, string][] = [
	['杨明远', '镇党委书记'],
	['吴建华', '镇长'],
	['龙德胜', '副镇长'],
	['潘晓燕', '副镇长'],
	['石国平', '镇人大主席']
];
const STAFF: [string, string][] = [
	['王志刚', '镇综治办主任'],
	['刘芳', '镇应急办主任'],
	['陈海', '镇农业服务中心干部'],
	['罗丽萍', '镇党政办干部'],
	['张俊', '镇自然资源所干部'],
	['赵磊', '镇水利站干部'],
	['黄静', '镇应急办干事'],
	['周涛', '镇社会事务办干部'],
	['韦春花', '镇财政所干部'],
	['蒙大勇', '镇规划建设办干部'],
	['田小军', '镇综治办干事']
];
const SECRETARIES = ['杨秀清', '吴老三', '龙福贵', '潘金华', '石永安', '杨光荣', '吴正明', '龙二妹', '潘德文', '石开富'];
const GRID = ['欧阳小雪', '杨再兴'];

function buildPeople(codes: string[]): { cadres: DemoCadre[]; assignments: DemoAssignment[] } {
	const cadres: DemoCadre[] = [];
	let serial = 1;
	LEADERS.forEach(([name, position], i) => cadres.push({ key: key('ld', i), name, phone: phone(serial++), position }));
	STAFF.forEach(([name, position], i) => cadres.push({ key: key('cd', i), name, phone: phone(serial++), position }));
	SECRETARIES.forEach((name, i) =>
		cadres.push({ key: key('sj', i), name, phone: phone(serial++), position: `${VILLAGE_SPECS[i].name}党支部书记` })
	);
	GRID.forEach((name, i) => cadres.push({ key: key('wg', i), name, phone: phone(serial++), position: '松林村网格员' }));

	const assignments: DemoAssignment[] = [];
	const since = '2024-01-01';
	codes.forEach((code, v) => {
		// Five leaders, two villages each: a leader's villages are neighbours along the valley or up its slopes.
		assignments.push({ cadre_key: key('ld', v % LEADERS.length), village_code: code, role: 'lead', valid_from: since });
		assignments.push({ cadre_key: key('sj', v), village_code: code, role: 'secretary', valid_from: since });
		if (v === 1) {
			// 松林村 changed its village cadre: the old assignment is kept so earlier cases are judged against it.
			assignments.push({
				cadre_key: key('cd', 10),
				village_code: code,
				role: 'cadre',
				valid_from: '2022-03-01',
				valid_to: '2025-06-01'
			});
			assignments.push({ cadre_key: key('cd', v), village_code: code, role: 'cadre', valid_from: '2025-06-01' });
		} else {
			assignments.push({ cadre_key: key('cd', v), village_code: code, role: 'cadre', valid_from: since });
		}
	});
	GRID.forEach((_, i) =>
		assignments.push({ cadre_key: key('wg', i), village_code: codes[1], role: 'grid', valid_from: '2024-07-01' })
	);
	return { cadres, assignments };
}

function key(prefix: string, i: number): string {
	return `${prefix}-${String(i + 1).padStart(2, '0')}`;
}

// Duty officers are township staff; duty leaders are the township leaders. The pools have co-prime sizes (7 and 5)
// so officer/leader pairings rotate too. The rota is anchored to a fixed date, not to `fromDate`, so asking for
// the same day from two different starting points gives the same people.
const DUTY_OFFICERS = [0, 1, 2, 3, 4, 5, 6].map((i) => key('cd', i));
const DUTY_LEADERS = LEADERS.map((_, i) => key('ld', i));
const ROSTER_ANCHOR_MS = Date.UTC(2024, 0, 1);
const DAY_MS = 86_400_000;

/** Duty roster for `days` consecutive days starting on `fromDate` (YYYY-MM-DD). */
export function dutyRoster(fromDate: string, days: number): DutyDay[] {
	if (!/^\d{4}-\d{2}-\d{2}$/.test(fromDate) || Number.isNaN(Date.parse(`${fromDate}T00:00:00Z`))) {
		throw new RangeError(`dutyRoster: fromDate must be YYYY-MM-DD, got ${JSON.stringify(fromDate)}`);
	}
	if (!Number.isInteger(days) || days < 0) {
		throw new RangeError(`dutyRoster: days must be a non-negative integer, got ${days}`);
	}
	const start = Date.parse(`${fromDate}T00:00:00Z`);
	const out: DutyDay[] = [];
	for (let d = 0; d < days; d++) {
		const ms = start + d * DAY_MS;
		const n = Math.round((ms - ROSTER_ANCHOR_MS) / DAY_MS);
		out.push({
			date: new Date(ms).toISOString().slice(0, 10),
			officer_key: DUTY_OFFICERS[mod(n, DUTY_OFFICERS.length)],
			leader_key: DUTY_LEADERS[mod(n, DUTY_LEADERS.length)]
		});
	}
	return out;
}

function mod(n: number, m: number): number {
	return ((n % m) + m) % m;
}

// ---- assembly ----------------------------------------------------------------------------------------------------

export function buildDemoTownship(): DemoTownship {
	const rand = mulberry32(SEED);
	const vertices = buildVertices(rand);
	const region = assignCells();
	const rings = VILLAGE_SPECS.map((_, k) => traceRing((i, j) => region[i][j] === k, vertices));
	const outline = traceRing((i, j) => region[i][j] >= 0, vertices);
	const codes = VILLAGE_SPECS.map((_, k) => villageCode(k));
	const river = riverPoints();
	const sensors = buildSensors(rand, rings, region, vertices, river, codes);
	const { cadres, assignments } = buildPeople(codes);

	const polygon = (ring: XY[]): Polygon => ({ type: 'Polygon', coordinates: [ring.map(toLngLat)] });
	return {
		notice: DEMO_NOTICE,
		township: { name: '清溪镇', division_code: TOWNSHIP_CODE, boundary: polygon(outline) },
		villages: VILLAGE_SPECS.map((spec, k) => ({ code: codes[k], name: spec.name, boundary: polygon(rings[k]) })),
		river: { name: '清溪大河', line: { type: 'LineString', coordinates: river.map(toLngLat) } },
		sensors,
		cadres,
		assignments,
		dutyRoster
	};
}
