// Unit tests for the invented demo township: the villages must tile the township exactly, every sensor must route to
// the village it claims, every kind must be present, and every village must have its responsible people today.

import { describe, expect, it } from 'vitest';
import area from '@turf/area';
import booleanValid from '@turf/boolean-valid';
import { featureCollection, polygon as turfPolygon } from '@turf/helpers';
import { intersect } from '@turf/intersect';
import { VillageIndex, validateBoundary } from '../../geo';
import type { SensorKind } from '../../src/lib/domain/types';
import { DEMO_NOTICE, DEMO_SPEEDUP, buildDemoTownship, dutyRoster } from '../../src/lib/server/demo/township';

const sut = buildDemoTownship();
const today = new Date().toISOString().slice(0, 10);

/**
 * Metres from a point to a polyline, in a local equirectangular frame: exact enough over a 12 km township and
 * avoids depending on a turf package the project does not declare.
 */
function metresToLine([lng, lat]: [number, number], line: number[][]): number {
	const kx = 111_320 * Math.cos((lat * Math.PI) / 180);
	const ky = 110_574;
	let best = Infinity;
	for (let i = 1; i < line.length; i++) {
		const ax = (line[i - 1][0] - lng) * kx;
		const ay = (line[i - 1][1] - lat) * ky;
		const dx = (line[i][0] - line[i - 1][0]) * kx;
		const dy = (line[i][1] - line[i - 1][1]) * ky;
		const len2 = dx * dx + dy * dy;
		const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, -(ax * dx + ay * dy) / len2));
		best = Math.min(best, Math.hypot(ax + t * dx, ay + t * dy));
	}
	return best;
}

/** The kinds the demo township shows, and how many of each at least (a newer kind need not be in the demo). */
const MIN_COUNTS: Partial<Record<SensorKind, number>> = {
	river_level: 5,
	house_tilt: 8,
	crack: 6,
	rain_gauge: 5,
	displacement: 5,
	soil_moisture: 4,
	settlement: 3
};

describe('demo township: villages', () => {
	it('has at least 8 villages including 松林村, with unique 12-digit codes and names ending in 村', () => {
		expect(sut.villages.length).toBeGreaterThanOrEqual(8);
		expect(sut.villages.map((v) => v.name)).toContain('松林村');
		expect(new Set(sut.villages.map((v) => v.code)).size).toBe(sut.villages.length);
		for (const v of sut.villages) {
			expect(v.code).toMatch(/^\d{12}$/);
			expect(v.name).toMatch(/村$/);
		}
	});

	it.each(sut.villages.map((v) => [v.name, v] as const))('%s has a valid boundary', (_name, v) => {
		expect(validateBoundary(v.boundary)).toEqual([]);
		expect(booleanValid(v.boundary)).toBe(true);
	});

	it('township boundary is valid and sits in Guizhou, about 12 km × 9 km', () => {
		expect(validateBoundary(sut.township.boundary)).toEqual([]);
		expect(booleanValid(sut.township.boundary)).toBe(true);
		const km2 = area(sut.township.boundary) / 1e6;
		expect(km2).toBeGreaterThan(60);
		expect(km2).toBeLessThan(110);
		for (const [lng, lat] of sut.township.boundary.coordinates[0]) {
			expect(lng).toBeGreaterThan(107.3);
			expect(lng).toBeLessThan(107.7);
			expect(lat).toBeGreaterThan(26.3);
			expect(lat).toBeLessThan(26.7);
		}
	});

	it('villages do not overlap (pairwise intersection < 1 m²)', () => {
		const features = sut.villages.map((v) => turfPolygon(v.boundary.coordinates));
		for (let a = 0; a < features.length; a++) {
			for (let b = a + 1; b < features.length; b++) {
				const shared = intersect(featureCollection([features[a], features[b]]));
				expect(shared ? area(shared) : 0, `${sut.villages[a].name} ∩ ${sut.villages[b].name}`).toBeLessThan(1);
			}
		}
	});

	it('village areas add up to the township area (no gaps) within 0.1 %', () => {
		const sum = sut.villages.reduce((s, v) => s + area(v.boundary), 0);
		const whole = area(sut.township.boundary);
		expect(Math.abs(sum - whole) / whole).toBeLessThan(0.001);
	});

	it('the river crosses the township through several villages', () => {
		const index = new VillageIndex(sut.villages.map((v) => ({ id: v.code, geometry: v.boundary })));
		const crossed = new Set(sut.river.line.coordinates.map((c) => index.locate([c[0], c[1]])));
		crossed.delete(null);
		expect(crossed.size).toBeGreaterThanOrEqual(4);
		expect(crossed.has(null)).toBe(false);
		// Both ends lie outside the township: the river flows in and out of it.
		const ends = [sut.river.line.coordinates[0], sut.river.line.coordinates.at(-1)!];
		for (const [lng, lat] of ends) expect(index.locate([lng, lat])).toBeNull();
		expect(sut.river.name).toMatch(/大河$/);
	});
});

describe('demo township: sensors', () => {
	const index = new VillageIndex(sut.villages.map((v) => ({ id: v.code, geometry: v.boundary })));

	it('has at least 48 sensors with unique ids', () => {
		expect(sut.sensors.length).toBeGreaterThanOrEqual(48);
		expect(new Set(sut.sensors.map((s) => s.id)).size).toBe(sut.sensors.length);
	});

	it.each(Object.entries(MIN_COUNTS))('has at least the minimum of %s (%i)', (kind, min) => {
		expect(sut.sensors.filter((s) => s.kind === kind).length).toBeGreaterThanOrEqual(min);
	});

	it.each(sut.sensors.map((s) => [s.id, s] as const))('%s is located in its declared village', (_id, s) => {
		expect(index.locate([s.lng, s.lat])).toBe(s.village_code);
	});

	it('every sensor is at least 50 m from any village border', () => {
		for (const s of sut.sensors) {
			const village = sut.villages.find((v) => v.code === s.village_code)!;
			const d = metresToLine([s.lng, s.lat], village.boundary.coordinates[0]);
			expect(d, s.id).toBeGreaterThan(50);
		}
	});

	it('river stations are within 100 m of the river line and their levels are ordered', () => {
		for (const s of sut.sensors.filter((x) => x.kind === 'river_level')) {
			const d = metresToLine([s.lng, s.lat], sut.river.line.coordinates);
			expect(d, s.id).toBeLessThan(100);
			const t = s.thresholds as Record<string, number>;
			expect(t.normal_level_m).toBeLessThan(t.warning_level_m);
			expect(t.warning_level_m).toBeLessThan(t.guarantee_level_m);
			expect(t.rise_per_15min_m).toBe(0.3);
			expect(t.rise_per_hour_m).toBe(0.5);
		}
	});

	it('tilt and crack sensors carry a baseline; intervals divide evenly by the demo speed-up', () => {
		for (const s of sut.sensors) {
			if (s.kind === 'house_tilt') expect(Object.keys(s.baseline ?? {}).sort()).toEqual(['tilt_x_deg', 'tilt_y_deg']);
			if (s.kind === 'crack') expect(Object.keys(s.baseline ?? {})).toEqual(['crack_mm']);
			expect(Number.isInteger(s.interval_s / DEMO_SPEEDUP)).toBe(true);
		}
		expect(DEMO_SPEEDUP).toBe(20);
	});
});

describe('demo township: people', () => {
	const validOn = (a: { valid_from: string; valid_to?: string }, day: string): boolean =>
		a.valid_from <= day && (a.valid_to === undefined || day < a.valid_to);

	const villageCases = sut.villages.map((v) => [v.name, v.code] as const);
	it.each(villageCases)('%s has a lead, a cadre and a secretary today', (_name, code) => {
		const current = sut.assignments.filter((a) => a.village_code === code && validOn(a, today));
		for (const role of ['lead', 'cadre', 'secretary'] as const) {
			expect(current.filter((a) => a.role === role), role).toHaveLength(1);
		}
	});

	it('松林村 kept the history of its replaced cadre', () => {
		const code = sut.villages.find((v) => v.name === '松林村')!.code;
		const cadres = sut.assignments.filter((a) => a.village_code === code && a.role === 'cadre');
		const past = cadres.filter((a) => a.valid_to !== undefined);
		expect(past).toHaveLength(1);
		expect(past[0].valid_to! <= today).toBe(true);
		expect(cadres.some((a) => a.valid_to === undefined && a.cadre_key !== past[0].cadre_key)).toBe(true);
	});

	it('every assignment and roster entry points at a known cadre; phones are fake and unique', () => {
		const keys = new Set(sut.cadres.map((c) => c.key));
		expect(keys.size).toBe(sut.cadres.length);
		for (const a of sut.assignments) expect(keys.has(a.cadre_key), a.cadre_key).toBe(true);
		for (const c of sut.cadres) expect(c.phone).toMatch(/^1380000\d{4}$/);
		expect(new Set(sut.cadres.map((c) => c.phone)).size).toBe(sut.cadres.length);
		const roster = sut.dutyRoster('2026-01-01', 60);
		expect(roster).toHaveLength(60);
		for (const d of roster) {
			expect(keys.has(d.officer_key)).toBe(true);
			expect(keys.has(d.leader_key)).toBe(true);
		}
	});

	it('duty roster rotates and does not depend on where the request starts', () => {
		const roster = dutyRoster('2026-02-27', 3);
		expect(roster.map((d) => d.date)).toEqual(['2026-02-27', '2026-02-28', '2026-03-01']);
		expect(dutyRoster('2026-02-28', 1)[0]).toEqual(roster[1]);
		expect(new Set(dutyRoster('2026-01-01', 7).map((d) => d.officer_key)).size).toBe(7);
		expect(() => dutyRoster('26-2-1', 1)).toThrow(RangeError);
	});
});

describe('demo township: determinism and labelling', () => {
	it('returns identical data on every call', () => {
		expect(buildDemoTownship()).toEqual(sut);
		expect(JSON.stringify(buildDemoTownship())).toBe(JSON.stringify(sut));
	});

	it('says it is invented, in Chinese and English', () => {
		expect(DEMO_NOTICE).toMatch(/虚构/);
		expect(DEMO_NOTICE).toMatch(/invented/);
		expect(sut.notice).toBe(DEMO_NOTICE);
	});
});
