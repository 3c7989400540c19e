// The sensor-kind catalogue (src/lib/domain/sensor-kinds.ts) is the one place a kind is described: every table that
// names kinds is derived from it, each entry is complete and consistent, and the database accepts exactly its kinds
// (the CHECK on devices.kind, migrations/) — so a kind added to the catalogue without its migration, or to a
// migration without the catalogue, fails here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOGUE, HEALTH_METRICS, HEALTH_RULE, SENSOR_KINDS, defineKind, isSensorKind, ruleTitle, type SensorKind } from '../../src/lib/domain/sensor-kinds';
import { SENSOR_KINDS as TYPES_SENSOR_KINDS } from '../../src/lib/domain/types';
import { KIND_METRICS, METRICS, isKnownMetric } from '../../src/lib/domain/metrics';
import { DEFAULT_THRESHOLDS, LOOKBACK_MS, RULE_IDS, effectiveThresholds, rulesFor } from '../../src/lib/domain/rules';
import { CASE_CATEGORIES, label } from '../../src/lib/domain/labels';
import { KIND_COLOURS } from '../../src/lib/domain/palette';
import { KIND_SHAPES } from '../../src/lib/map-symbols';
import { CASE_CATEGORY_BY_KIND, SENSOR_CASE_TITLES } from '../../src/lib/domain/incident-flow';
import { freshDb, type TestDb } from '../support/services';

describe('sensor-kind catalogue', () => {
	it('has one entry per kind, and types.ts shares its list', () => {
		expect(Object.keys(CATALOGUE).sort()).toEqual([...SENSOR_KINDS].sort());
		expect(TYPES_SENSOR_KINDS).toBe(SENSOR_KINDS);
		expect(new Set(SENSOR_KINDS).size).toBe(SENSOR_KINDS.length);
		expect(isSensorKind('gnss_displacement')).toBe(true);
		expect(isSensorKind('volcano')).toBe(false);
	});

	it.each([...SENSOR_KINDS])('%s: names, primary metric among its metrics, rules with titles, a category', (kind) => {
		const d = CATALOGUE[kind];
		expect(d.zh).toMatch(/\p{Script=Han}/u);
		expect(d.en).toMatch(/[A-Za-z]/);
		const metrics = Object.keys(d.metrics);
		expect(metrics.length).toBeGreaterThan(0);
		expect(metrics).toContain(d.primaryMetric);
		for (const [m, def] of Object.entries(d.metrics) as [string, { unit: string; min: number; max: number; zh: string; en: string }][]) {
			expect(def.min, m).toBeLessThan(def.max);
			expect(def.unit.length, m).toBeGreaterThan(0);
			expect(def.zh, m).toMatch(/\p{Script=Han}/u);
			expect(Object.prototype.hasOwnProperty.call(HEALTH_METRICS, m), `${m} is a health metric`).toBe(false);
		}
		expect(d.rules.length).toBeGreaterThan(0);
		for (const r of d.rules) {
			expect(RULE_IDS).toContain(r.id);
			expect(r.title.zh, r.id).toMatch(/\p{Script=Han}/u);
			expect(r.title.en, r.id).toMatch(/[A-Za-z]/);
		}
		expect(CASE_CATEGORIES).toContain(d.category);
		expect(d.lookbackMs).toBeGreaterThan(0);
		expect(d.intervalS).toBeGreaterThan(0);
		expect(d.idPrefix).toMatch(/^[A-Z]{2}$/);
	});

	it('gives each kind its own metrics, map shape, colour and demo id prefix', () => {
		const own = SENSOR_KINDS.flatMap((k) => Object.keys(CATALOGUE[k].metrics));
		expect(new Set(own).size).toBe(own.length);
		for (const field of ['shape', 'colour', 'idPrefix'] as const) {
			const values = SENSOR_KINDS.map((k) => CATALOGUE[k][field]);
			expect(new Set(values).size, field).toBe(values.length);
		}
	});
});

describe('tables derived from the catalogue', () => {
	it.each([...SENSOR_KINDS])('%s: metrics, rules, defaults, labels, colour, shape, category and case titles', (kind: SensorKind) => {
		const d = CATALOGUE[kind];
		expect(KIND_METRICS[kind][0]).toBe(d.primaryMetric);
		expect([...KIND_METRICS[kind]].sort()).toEqual(Object.keys(d.metrics).sort());
		for (const m of KIND_METRICS[kind]) {
			expect(isKnownMetric(m)).toBe(true);
			expect(METRICS[m]).toEqual(d.metrics[m as keyof typeof d.metrics]);
		}
		expect(rulesFor(kind)).toEqual([...d.rules.map((r) => r.id), HEALTH_RULE.id]);
		expect(DEFAULT_THRESHOLDS[kind]).toBe(d.defaults);
		expect(LOOKBACK_MS[kind]).toBe(d.lookbackMs);
		expect(label('kind', kind, 'zh')).toBe(d.zh);
		expect(label('kind', kind, 'en')).toBe(d.en);
		expect(KIND_COLOURS[kind]).toBe(d.colour);
		expect(KIND_SHAPES[kind]).toBe(d.shape);
		expect(CASE_CATEGORY_BY_KIND[kind]).toBe(d.category);
		for (const r of d.rules) expect(SENSOR_CASE_TITLES[r.id]).toBe(ruleTitle(r.id)!.zh);
		// Every default names where it comes from (docs/sensor-kinds.md).
		for (const t of effectiveThresholds(kind, null)) expect(t.source.length, t.path).toBeGreaterThan(3);
	});

	it('titles the case of every rule id, the health rule included', () => {
		for (const id of RULE_IDS) expect(SENSOR_CASE_TITLES[id], id).toMatch(/\p{Script=Han}/u);
		expect(SENSOR_CASE_TITLES.battery_low).toBe('设备电量低');
		expect(ruleTitle('no_such_rule')).toBeUndefined();
	});

	it('health metrics stay known to ingest but belong to no kind', () => {
		for (const m of Object.keys(HEALTH_METRICS)) {
			expect(isKnownMetric(m)).toBe(true);
			for (const k of SENSOR_KINDS) expect(KIND_METRICS[k]).not.toContain(m);
		}
	});

	it('lets the compiler refuse an incomplete kind (checked by npm run check)', () => {
		// Each of these is a compile error; at run time defineKind just returns its argument.
		// @ts-expect-error — no primary metric, rules, defaults, category, colour, shape …
		const missing = defineKind({ zh: '无', en: 'None', metrics: { x_mm: { unit: 'mm', min: 0, max: 1, zh: '无', en: 'x' } } });
		const wrongPrimary = defineKind({
			zh: '无',
			en: 'None',
			metrics: { x_mm: { unit: 'mm', min: 0, max: 1, zh: '无', en: 'x' } },
			// @ts-expect-error — the primary metric must be one of the kind's own metrics
			primaryMetric: 'y_mm',
			rules: [],
			defaults: {},
			lookbackMs: 1,
			category: 'other',
			colour: '#000',
			shape: 'M0 0 Z',
			intervalS: 1,
			idPrefix: 'XX',
			siteName: '无'
		});
		expect(missing.zh).toBe('无');
		expect(wrongPrimary.primaryMetric).toBe('y_mm');
	});
});

describe('the database knows the same kinds', () => {
	let t: TestDb;
	beforeAll(async () => {
		t = await freshDb();
	}, 120_000);
	afterAll(async () => t?.drop());

	it("devices.kind's CHECK lists exactly the catalogue's kinds", async () => {
		const r = await t.db.query<{ def: string }>(
			`SELECT pg_get_constraintdef(c.oid) AS def FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid
			 WHERE r.relname = 'devices' AND c.contype = 'c' AND pg_get_constraintdef(c.oid) LIKE '%kind%'`
		);
		expect(r.rows).toHaveLength(1);
		const listed = [...r.rows[0].def.matchAll(/'([a-z0-9_]+)'/g)].map((m) => m[1]);
		expect(listed.sort()).toEqual([...SENSOR_KINDS].sort());
	});

	it('stores a GNSS station and refuses a kind the catalogue does not have', async () => {
		await t.db.query(`INSERT INTO devices (id, name, kind) VALUES ('GN-T1', '测试GNSS站', 'gnss_displacement')`);
		const got = await t.db.query<{ kind: string }>(`SELECT kind FROM devices WHERE id = 'GN-T1'`);
		expect(got.rows[0].kind).toBe('gnss_displacement');
		await expect(t.db.query(`INSERT INTO devices (id, name, kind) VALUES ('XX-T1', '火山', 'volcano')`)).rejects.toThrow(/devices_kind_check|check constraint/i);
	});
});
