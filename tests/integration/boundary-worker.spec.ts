// A big boundary file is checked in a worker thread (src/lib/server/platform/heavy-work.ts), so the process that serves pages,
// runs the embedded broker and stores readings keeps answering: while a 1,000,000-vertex file (~19 MB, generated
// here, not committed) is read, converted from Gauss-Krüger and checked, /api/v1/health answers within 200 ms and a
// reading published over MQTT is stored within 1 s. Embedded database and broker, real worker thread.
// The check is timed through `run('boundaryCheck')`; staging (`boundaryStage`, the call stageImport makes) also
// writes the geometry to files under DATA_DIR/staging in the worker, so the database row stays small. The whole
// upload → preview → confirm path, and a roster import, are measured in ./import-stall.spec.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { parseConfig } from '../../src/lib/server/platform/config';
import { runtime, clearRuntime, type Runtime } from '../../src/lib/server/runtime';
import { demoDeviceToken } from '../../src/lib/server/demo/seed';
import { getStagedImport, stageImport } from '../../src/lib/server/map/village-setup';
import { closeHeavyWork, heavyWorkThreads, run, HeavyTaskStopped } from '../../src/lib/server/platform/heavy-work';
import { GET as getHealth } from '../../src/routes/api/v1/health/+server';
import { bigBoundaryGeoJson } from '../../scripts/lib/boundary-shapes';
import { ImportError } from '../../geo';

let rt: Runtime;
const config = parseConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), 'shudi-boundary-')), MQTT_PORT: '0', SIMULATE: 'off', DEMO: 'on', LOG_LEVEL: 'silent', INGEST_BATCH_MS: '10' });
const admin = { id: null, name: 'test-admin' };

beforeAll(async () => {
	rt = await runtime({ config });
});
afterAll(async () => {
	await closeHeavyWork();
	await rt.stop();
	clearRuntime();
});

const healthEvent = () => ({ url: new URL('http://x/api/v1/health'), params: {}, request: new Request('http://x/api/v1/health'), locals: { user: null, apiToken: null } }) as any;

describe('a 1,000,000-vertex boundary file while the duty room keeps working', () => {
	it('health answers within 200 ms and a reading is stored within 1 s during the check', async () => {
		const bytes = new TextEncoder().encode(bigBoundaryGeoJson(1_000_000));
		expect(bytes.byteLength).toBeGreaterThan(18 * 1024 * 1024);
		const device = await mqtt.connectAsync(rt.mqttUrl!, { username: 'RL-02', password: demoDeviceToken(config, 'RL-02') });

		let settled = false;
		const checking = run('boundaryCheck', { bytes, fileName: 'big.geojson', crs: 'auto', township: null, known: [] }, { timeoutMs: 120_000 }).finally(
			() => (settled = true)
		);
		const health: number[] = [];
		const stored: number[] = [];
		let workerSeen = false;
		let n = 0;
		while (!settled) {
			workerSeen ||= heavyWorkThreads() > 0;
			const t0 = performance.now();
			const r = await getHealth(healthEvent());
			expect(r.status).toBe(200);
			health.push(performance.now() - t0);
			if (n++ % 5 === 2) {
				// One reading every ~half second, each with its own time, stored by the ingest in this process.
				const ts = new Date(Date.now() - 1000 + n).toISOString();
				const t1 = performance.now();
				await device.publishAsync('shudi/v1/devices/RL-02/up', JSON.stringify({ ts, values: { water_level_m: 2 + n / 1000 } }), { qos: 1 });
				for (;;) {
					const row = await rt.db.query('SELECT 1 FROM readings WHERE device_id = $1 AND observed_at = $2', ['RL-02', ts]);
					if (row.rows.length > 0 || settled) break;
					await new Promise((r) => setTimeout(r, 10));
				}
				stored.push(performance.now() - t1);
			}
			await new Promise((r) => setTimeout(r, 50));
		}
		const checked = await checking;
		await device.endAsync();

		// The check took long enough to measure, and it ran in a worker thread.
		expect(workerSeen).toBe(true);
		expect(health.length).toBeGreaterThan(10);
		expect(stored.length).toBeGreaterThan(2);
		console.log(`boundary check: ${health.length} health probes, max ${Math.max(...health).toFixed(0)} ms; ${stored.length} readings, max ${Math.max(...stored).toFixed(0)} ms to stored`);
		expect(Math.max(...health)).toBeLessThan(200);
		expect(Math.max(...stored)).toBeLessThan(1000);

		expect(checked.crs).toBe('EPSG:4523');
		expect(checked.villages).toHaveLength(100);
		expect(checked.report.map((r) => r.check)).toEqual(['gap']);

		const id = await stageImport(rt.db, { bytes, name: 'big.geojson' }, 'auto', admin, { dataDir: config.DATA_DIR });
		const staged = await getStagedImport(rt.db, id, { dataDir: config.DATA_DIR });
		expect(staged?.villages).toHaveLength(100);
		expect(staged?.villages[0].geometry?.type).toBe('Polygon');
		// The database holds names and the report, not the million vertices; the preview shows a simplified copy.
		const row = await rt.db.query<{ n: number }>('SELECT length(villages::text) AS n FROM boundary_imports WHERE id = $1', [id]);
		expect(row.rows[0].n).toBeLessThan(50_000);
		expect(staged!.preview!.vertices).toBeGreaterThan(990_000);
		expect(staged!.preview!.shown).toBeLessThanOrEqual(50_000);
		expect(staged!.preview!.shown).toBeGreaterThan(10_000);
	});

	it('a task past its time limit is stopped, its worker terminated, with a message for the admin', async () => {
		const bytes = new TextEncoder().encode(bigBoundaryGeoJson(1_000_000));
		const err = await run('boundaryCheck', { bytes, fileName: 'big.geojson', crs: 'auto', township: null, known: [] }, { timeoutMs: 300 }).catch((e: unknown) => e);
		expect(err).toBeInstanceOf(HeavyTaskStopped);
		expect((err as HeavyTaskStopped).zh).toMatch(/处理超过 0 秒，已停止/);
		expect((err as HeavyTaskStopped).en).toMatch(/Stopped after 0 s/);
		// A cancelled task stops too, and the pool still works afterwards.
		const ac = new AbortController();
		const cancelled = run('boundaryCheck', { bytes, fileName: 'big.geojson', crs: 'auto', township: null, known: [] }, { timeoutMs: 60_000, signal: ac.signal });
		setTimeout(() => ac.abort(), 100);
		await expect(cancelled).rejects.toMatchObject({ reason: 'cancelled' });
		const small = new TextEncoder().encode(JSON.stringify({ type: 'Feature', properties: { name: '小村' }, geometry: { type: 'Polygon', coordinates: [[[107.5, 26.5], [107.51, 26.5], [107.51, 26.51], [107.5, 26.5]]] } }));
		const ok = await run('boundaryCheck', { bytes: small, fileName: 's.geojson', crs: 'auto', township: null, known: [] }, { timeoutMs: 60_000 });
		expect(ok.villages).toEqual([{ index: 1, name: '小村', code: null }]);
	});

	it('a person’s error from the worker arrives as an ImportError in both languages', async () => {
		const err = await stageImport(rt.db, { bytes: new TextEncoder().encode('hello'), name: 'x.txt' }, 'auto', admin).catch((e: unknown) => e);
		expect(err).toBeInstanceOf(ImportError);
		expect((err as ImportError).zh).toMatch(/无法识别文件格式/);
		expect((err as ImportError).en).toMatch(/Unrecognised file/);
	});
});
