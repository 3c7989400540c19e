// Sensor history (issue 6): the batch writer keeps hourly and daily rollups equal to the aggregates of the raw rows,
// whatever the batching and however often a reading is redelivered; the history API reads raw rows for 1h/24h and
// only the rollups for 7d/30d/1y; a cadre cannot read another village's sensor; bad parameters are a 400.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchWriter } from '../../ingest/writer';
import { parseConfig } from '../../src/lib/server/platform/config';
import { runtime, clearRuntime, type Runtime } from '../../src/lib/server/runtime';
import { visibleVillageIds, type SessionUser } from '../../src/lib/server/people/auth';
import { GET as getHistory } from '../../src/routes/api/v1/sensors/[id]/history/+server';
import type { Reading } from '../../src/lib/domain/types';
import { freshDb, REAL_DB, type TestDb } from '../support/services';

const H = 3600_000;

function reading(deviceId: string, metric: string, t: number, value: number): Reading {
	return { deviceId, metric, value, observedAt: new Date(t), receivedAt: new Date(t + 1000), flags: 0 };
}

interface Agg {
	device_id: string;
	metric: string;
	bucket: string;
	n: number;
	sum: number;
	min: number;
	max: number;
	last_at: string;
	last_value: number;
}

describe('rollups kept by the batch writer', () => {
	let t: TestDb;
	beforeAll(async () => {
		t = await freshDb();
		return () => t.drop();
	});

	const expected = (unit: 'hour' | 'day') => `
		SELECT device_id, metric, date_trunc('${unit}', observed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket, count(*)::int AS n,
		       sum(value) AS sum, min(value) AS min, max(value) AS max, max(observed_at) AS last_at,
		       (array_agg(value ORDER BY observed_at DESC))[1] AS last_value
		FROM readings GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`;
	const actual = (table: string) => `SELECT device_id, metric, bucket, n, sum, min, max, last_at, last_value FROM ${table} ORDER BY 1, 2, 3`;
	const norm = (rows: Agg[]) =>
		rows.map((r) => ({ ...r, bucket: new Date(r.bucket).toISOString(), last_at: new Date(r.last_at).toISOString(), sum: Math.round(r.sum * 1e9) / 1e9 }));

	it('a message added the moment its predecessor commits is written too', async () => {
		// A commit tells its senders synchronously, so the next add() can come while the writer's loop is still
		// settling: it must start its own wait rather than count on the flush that is ending.
		await t.db.query('TRUNCATE readings, readings_hourly, readings_daily, latest_values');
		const sut = new BatchWriter(t.db, { maxRows: 1000, maxAgeMs: 5 });
		const t1 = Date.UTC(2026, 4, 1, 8);
		// Awaited directly (a race against a timer would add the ticks that hide the gap); a lost add hangs the test.
		for (let k = 0; k < 5; k++) await sut.add([reading('Q-01', 'water_level_m', t1 + k * 60_000, k)]);
		await sut.close();
		const n = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM readings WHERE device_id = 'Q-01'");
		expect(n.rows[0].n).toBe(5);
		await t.db.query('TRUNCATE readings, readings_hourly, readings_daily, latest_values'); // the next test counts every row
	}, 10_000);

	it('equal the raw aggregates after many batches with redelivered and late readings', async () => {
		const sut = new BatchWriter(t.db, { maxRows: 37, maxAgeMs: 2 });
		const t0 = Date.UTC(2026, 0, 10, 22, 0, 0);
		const all: Reading[] = [];
		// Three days of two devices and two metrics every 7 minutes, crossing hour and UTC-day boundaries.
		for (let m = 0; m < 3 * 24 * 60; m += 7) {
			for (const dev of ['H-01', 'H-02']) {
				all.push(reading(dev, 'water_level_m', t0 + m * 60_000, 2 + Math.sin(m / 50) + (dev === 'H-02' ? 1 : 0)));
				if (m % 21 === 0) all.push(reading(dev, 'battery_v', t0 + m * 60_000, 3.5 + (m % 5) / 10));
			}
		}
		// Delivered in messages of 1–9 readings; every 5th message is delivered twice (at-least-once), some of the
		// second copies in the same batch, some in a later one; and late readings arrive for old buckets at the end.
		const sends: Promise<void>[] = [];
		let sent = 0;
		const add = (rs: Reading[]) => {
			sent += rs.length;
			return sut.add(rs);
		};
		let i = 0;
		let msg = 0;
		const redeliver: Reading[][] = [];
		while (i < all.length) {
			const size = 1 + (msg % 9);
			const chunk = all.slice(i, i + size);
			sends.push(add(chunk));
			if (msg % 5 === 0) {
				if (msg % 10 === 0) sends.push(add(chunk.map((r) => ({ ...r, value: r.value + 100 }))));
				else redeliver.push(chunk);
			}
			i += size;
			msg++;
		}
		await Promise.all(sends);
		for (const c of redeliver) await add(c);
		const late = [reading('H-01', 'water_level_m', t0 + 30_000, 9.5), reading('H-02', 'battery_v', t0 + 2 * 86_400_000 + 90_000, 3.1)];
		await add(late);
		await sut.close();

		const raw = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM readings');
		expect(raw.rows[0].n).toBe(all.length + late.length);
		expect(sut.stats.inserted).toBe(all.length + late.length);
		expect(sut.stats.duplicates).toBeGreaterThan(0);
		// Every reading offered was either stored once or counted as a duplicate.
		expect(sut.stats.inserted + sut.stats.duplicates).toBe(sent);

		// No stored value carries the +100 of a redelivered copy: the first copy won, as the readings INSERT decided.
		const bad = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM readings WHERE value > 50');
		expect(bad.rows[0].n).toBe(0);
		for (const [table, unit] of [['readings_hourly', 'hour'], ['readings_daily', 'day']] as const) {
			const want = norm((await t.db.query<Agg>(expected(unit))).rows);
			const got = norm((await t.db.query<Agg>(actual(table))).rows);
			expect(got.length).toBeGreaterThan(unit === 'hour' ? 100 : 3);
			expect(got).toEqual(want);
		}
	});

	it('equal the raw aggregates when every batch takes the fast path (groups formed by the writer)', async () => {
		// Only new readings, so no batch falls back to the careful statement: the rollups come from the writer's own
		// hourly and daily groups. Batches of up to 500 rows span many hours and UTC days per series, shuffled within
		// a batch, and a later batch brings readings for buckets already written (late data, older and newer).
		await t.db.query('TRUNCATE readings, readings_hourly, readings_daily, latest_values');
		const sut = new BatchWriter(t.db, { maxRows: 500, maxAgeMs: 2 });
		const t0 = Date.UTC(2026, 2, 1, 21, 13, 0);
		const all: Reading[] = [];
		for (let m = 0; m < 4 * 24 * 60; m += 5) {
			for (const dev of ['F-01', 'F-02', 'F-03']) {
				// Flags differ from reading to reading, so latest_values must take them from the newest one.
				all.push({ ...reading(dev, 'water_level_m', t0 + m * 60_000 + 17, 2 + Math.cos(m / 37) * (dev === 'F-02' ? 3 : 1)), flags: (m / 5) % 4 });
				if (m % 15 === 0) all.push({ ...reading(dev, 'battery_v', t0 + m * 60_000 + 17, 3.3 + ((m / 15) % 7) / 10), flags: (m / 15) % 3 });
			}
		}
		// Deterministic shuffle, then the late half of every tenth reading held back for the end.
		let seed = 7;
		const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
		for (let i = all.length - 1; i > 0; i--) {
			const j = Math.floor(rnd() * (i + 1));
			[all[i], all[j]] = [all[j], all[i]];
		}
		const late = all.filter((_, i) => i % 10 === 0);
		const first = all.filter((_, i) => i % 10 !== 0);
		const sends: Promise<void>[] = [];
		for (let i = 0; i < first.length; ) {
			const size = 1 + (i % 9);
			sends.push(sut.add(first.slice(i, i + size)));
			i += size;
		}
		await Promise.all(sends);
		await sut.add(late);
		// One batch with five readings of a series in a new hour, the newest neither first nor last: its value, receipt
		// time and flags are the latest.
		const tn = t0 + 5 * 86_400_000;
		const five = [1, 5, 2, 3, 4].map((k, i) => ({ ...reading('F-01', 'water_level_m', tn + k * 60_000, 10 + k), receivedAt: new Date(tn + 600_000 - i), flags: [1, 2, 3, 0, 1][i] }));
		await sut.add(five);
		all.push(...five);
		await sut.close();
		const f01 = await t.db.query<{ value: number; received_at: Date; flags: number }>("SELECT value, received_at, flags FROM latest_values WHERE device_id = 'F-01' AND metric = 'water_level_m'");
		expect(f01.rows[0]).toEqual({ value: 15, received_at: new Date(tn + 600_000 - 1), flags: 2 });
		expect(sut.stats.duplicates).toBe(0); // no batch fell back to the careful statement
		expect(sut.stats.batches).toBeGreaterThan(5);
		expect(sut.stats.inserted).toBe(all.length);
		// latest_values: the newest reading of each series, with its receipt time and flags.
		const newest = await t.db.query(
			`SELECT DISTINCT ON (device_id, metric) device_id, metric, observed_at, value, received_at, flags FROM readings ORDER BY device_id, metric, observed_at DESC`
		);
		const lv = await t.db.query('SELECT device_id, metric, observed_at, value, received_at, flags FROM latest_values ORDER BY device_id, metric');
		expect(lv.rows).toHaveLength(6);
		expect(lv.rows).toEqual(newest.rows);
		for (const [table, unit] of [['readings_hourly', 'hour'], ['readings_daily', 'day']] as const) {
			const want = norm((await t.db.query<Agg>(expected(unit))).rows);
			const got = norm((await t.db.query<Agg>(actual(table))).rows);
			expect(got.length).toBeGreaterThan(unit === 'hour' ? 200 : 10);
			expect(got).toEqual(want);
		}
	});
});

describe.skipIf(!!REAL_DB)('GET /api/v1/sensors/{id}/history', () => {
	let rt: Runtime;
	let cadre: SessionUser;
	let duty: SessionUser;
	const now = Date.now();

	beforeAll(async () => {
		rt = await runtime({ config: parseConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), 'shudi-hist-')), MQTT_PORT: '0', SIMULATE: 'off', DEMO: 'on', LOG_LEVEL: 'silent', INGEST_BATCH_MS: '5' }) });
		const u = await rt.db.query<SessionUser>("SELECT id, username, display_name, roles, cadre_id FROM users WHERE username IN ('cadre', 'duty') ORDER BY username");
		[cadre, duty] = u.rows;
		// RL-01: a reading every 10 minutes for 40 days, through the real writer (so rollups come from it).
		const rows: Reading[] = [];
		for (let t = now - 40 * 24 * H; t <= now - 60_000; t += 10 * 60_000) rows.push(reading('RL-01', 'water_level_m', t, 2 + ((t / H) % 24) / 24));
		for (let k = 0; k < rows.length; k += 500) await rt.writer!.add(rows.slice(k, k + 500));
	});
	afterAll(async () => {
		await rt.stop();
		clearRuntime();
	});

	async function call(id: string, qs: string, user: SessionUser | null = duty): Promise<{ status: number; body: Record<string, unknown> }> {
		const url = new URL(`http://x/api/v1/sensors/${id}/history${qs}`);
		const event = { url, params: { id }, request: new Request(url), locals: { user, apiToken: user ? null : { id: 1, name: 't', scopes: ['read'] }, sessionToken: undefined } };
		try {
			const res = await getHistory(event as never);
			return { status: res.status, body: (await res.json()) as Record<string, unknown> };
		} catch (e) {
			const h = e as { status?: number; body?: Record<string, unknown> };
			if (typeof h.status === 'number') return { status: h.status, body: h.body ?? {} };
			throw e;
		}
	}

	it.each([
		['1h', 'raw'],
		['24h', 'raw'],
		['7d', 'hour'],
		['30d', 'hour'],
		['1y', 'day']
	])('range %s reads %s data', async (range, resolution) => {
		const r = await call('RL-01', `?range=${range}`);
		expect(r.status).toBe(200);
		expect(r.body).toMatchObject({ id: 'RL-01', kind: 'river_level', metric: 'water_level_m', unit: 'm', range, resolution });
		const points = r.body.points as number[][];
		expect(points.length).toBeGreaterThan(range === '1h' ? 3 : 10);
		for (const p of points) expect(p).toHaveLength(resolution === 'raw' ? 2 : 4);
		if (resolution !== 'raw') for (const [, avg, min, max] of points) expect(min <= avg && avg <= max).toBe(true);
		// The station's 警戒水位 (orange) and 保证水位 (red) as lines.
		expect((r.body.thresholds as { level: string }[]).map((x) => x.level)).toEqual(['orange', 'red']);
	});

	it('answers for an API token with the read scope too', async () => {
		expect((await call('RL-01', '?range=24h', null)).status).toBe(200);
	});

	it('gives a cadre their own villages’ sensors and a 404 for any other', async () => {
		const scope = (await visibleVillageIds(rt.db, cadre))!;
		expect(scope.size).toBeGreaterThan(0);
		const devs = await rt.db.query<{ id: string; village_id: number }>('SELECT id, village_id FROM devices WHERE village_id IS NOT NULL ORDER BY id');
		const mine = devs.rows.find((d) => scope.has(d.village_id))!;
		const other = devs.rows.find((d) => !scope.has(d.village_id))!;
		expect((await call(mine.id, '?range=24h', cadre)).status).toBe(200);
		expect((await call(other.id, '?range=24h', cadre)).status).toBe(404);
		expect((await call(other.id, '?range=1y', cadre)).status).toBe(404);
		expect((await call('NO-SUCH', '?range=24h')).status).toBe(404);
	});

	it.each([
		['?range=2d', 'range'],
		['?range=', 'range'],
		['?metric=not_a_metric', 'metric'],
		["?metric=water_level_m'--", 'metric'],
		['?end=yesterday', 'end']
	])('refuses %s with 400 naming %s', async (qs, field) => {
		const r = await call('RL-01', qs);
		expect(r.status).toBe(400);
		expect(String(r.body.message)).toContain(field);
	});

	it('serves 7d, 30d and 1y from the rollups alone: the same answer with the raw rows gone', async () => {
		const before = await Promise.all(['7d', '30d', '1y'].map((r) => call('RL-01', `?range=${r}&end=${now}`)));
		const raw24 = await call('RL-01', `?range=24h&end=${now}`);
		expect((raw24.body.points as unknown[]).length).toBeGreaterThan(100);
		await rt.db.query("DELETE FROM readings WHERE device_id = 'RL-01'");
		const after = await Promise.all(['7d', '30d', '1y'].map((r) => call('RL-01', `?range=${r}&end=${now}`)));
		expect(after.map((a) => a.body.points)).toEqual(before.map((b) => b.body.points));
		expect(((await call('RL-01', `?range=24h&end=${now}`)).body.points as unknown[]).length).toBe(0);
	});
});
