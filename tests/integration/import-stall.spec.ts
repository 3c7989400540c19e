// Imports never stall the one process that serves pages, runs the embedded broker and stores readings (issue 21).
// In embedded mode the database (PGlite) runs on this thread, so every statement it runs holds up everything else.
// Through the admin pages' own actions and loads, this spec uploads a 1,000,000-vertex boundary file (~19 MB,
// generated here, not committed), reads its preview page, confirms it, and imports a 5,000-day duty roster; while
// each phase runs a prober calls /api/v1/health every 50 ms and publishes a reading over MQTT every 400 ms. It prints
// per phase the event-loop lag (p99, max), the slowest health answer and the
// slowest reading-stored time, and asserts bounds generous enough for a busy 2-core CI box.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { parseConfig } from '../../src/lib/server/platform/config';
import { runtime, clearRuntime, type Runtime } from '../../src/lib/server/runtime';
import { demoDeviceToken } from '../../src/lib/server/demo/seed';
import { closeHeavyWork } from '../../src/lib/server/platform/heavy-work';
import { GET as getHealth } from '../../src/routes/api/v1/health/+server';
import { actions as villageActions, load as villageLoad } from '../../src/routes/admin/villages/+page.server';
import { actions as rosterActions } from '../../src/routes/admin/roster/+page.server';
import { bigBoundaryGeoJson } from '../../scripts/lib/boundary-shapes';
import { incomingDir, receiveUpload, stagedFiles, UploadRefused } from '../../src/lib/server/platform/upload-stream';
import { confirmImport, discardStagedImport, getStagedImport, stageImport, stagingDir, sweepStaging } from '../../src/lib/server/map/village-setup';

/** Bounds for a busy 2-core CI box; the issue's targets (lag p99 ≤ 100 ms, stored ≤ 1 s) are what the figures show. */
const HEALTH_MAX_MS = 1000;
const STORED_MAX_MS = 2000;

let rt: Runtime;
let device: MqttClient;
const dataDir = mkdtempSync(join(tmpdir(), 'shudi-stall-'));
const config = parseConfig({ DATA_DIR: dataDir, MQTT_PORT: '0', SIMULATE: 'off', DEMO: 'on', LOG_LEVEL: 'silent', INGEST_BATCH_MS: '10' });
const user = { id: null, username: 'stall-admin', display_name: 'stall', roles: ['admin'], cadre_id: null };

beforeAll(async () => {
	rt = await runtime({ config });
	device = await mqtt.connectAsync(rt.mqttUrl!, { username: 'RL-02', password: demoDeviceToken(config, 'RL-02') });
});
afterAll(async () => {
	await device?.endAsync();
	await closeHeavyWork();
	await rt.stop();
	clearRuntime();
});

// The event object SvelteKit hands a load or action, with what these ones read.
const event = (url: string, request?: Request) =>
	({ url: new URL(url), params: {}, request: request ?? new Request(url), locals: { user, apiToken: null }, setHeaders() {}, depends() {}, parent: async () => ({}) }) as any;

function multipart(url: string, fields: Record<string, string>, file: { field: string; name: string; type: string; text: string }): Request {
	const form = new FormData();
	for (const [k, v] of Object.entries(fields)) form.append(k, v);
	form.append(file.field, new Blob([file.text], { type: file.type }), file.name);
	return new Request(url, { method: 'POST', body: form });
}

interface Figures {
	phase: string;
	ms: number;
	lagP99: number;
	lagMax: number;
	health: number[];
	stored: number[];
}

const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - performance.now())));
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))] ?? 0;

/**
 * Runs `work` while probing; returns the phase's figures. Every probe is timed from when it was due, not from when
 * a blocked loop got round to it: a device's packet or an operator's request arriving at that moment waits as long.
 * The lag sampler is a 10 ms timer chain (a loop blocked for the whole phase still counts: monitorEventLoopDelay's
 * own timer would record nothing), closed by one last sample when the work ends.
 */
async function measure<T>(phase: string, work: () => Promise<T>): Promise<{ value: T; figures: Figures }> {
	const lags: number[] = [];
	const health: number[] = [];
	const stored: number[] = [];
	let done = false;
	let lagDue = performance.now() + 10;
	let lagTimer: NodeJS.Timeout;
	const tick = () => {
		const now = performance.now();
		lags.push(Math.max(0, now - lagDue));
		lagDue = now + 10;
		lagTimer = setTimeout(tick, 10);
	};
	lagTimer = setTimeout(tick, 10);
	const healthLoop = (async () => {
		let due = performance.now();
		do {
			await sleepUntil(due);
			const r = await getHealth(event('http://x/api/v1/health'));
			if (r.status !== 200) throw new Error(`health ${r.status}`);
			health.push(performance.now() - due);
			due = Math.max(due + 50, performance.now());
		} while (!done);
	})();
	let n = 0;
	const readingLoop = (async () => {
		let due = performance.now() + 100;
		do {
			await sleepUntil(due);
			// Each reading has its own time, stored by the ingest in this process.
			const ts = new Date(Date.now() - 60_000 + (n++ % 1000)).toISOString();
			await device.publishAsync('shudi/v1/devices/RL-02/up', JSON.stringify({ ts, values: { water_level_m: 2 + n / 1000 } }), { qos: 1 });
			for (;;) {
				const row = await rt.db.query('SELECT 1 FROM readings WHERE device_id = $1 AND observed_at = $2', ['RL-02', ts]);
				if (row.rows.length > 0) break;
				await new Promise((r) => setTimeout(r, 10));
			}
			stored.push(performance.now() - due);
			due = Math.max(due + 400, performance.now());
		} while (!done);
	})();
	const t0 = performance.now();
	let value: T;
	try {
		value = await work();
	} finally {
		clearTimeout(lagTimer!);
		lags.push(Math.max(0, performance.now() - lagDue));
		done = true;
		await Promise.all([healthLoop, readingLoop]);
	}
	const figures: Figures = { phase, ms: performance.now() - t0, lagP99: p99(lags), lagMax: Math.max(...lags), health, stored };
	console.log(
		`${phase.padEnd(34)} ${(figures.ms / 1000).toFixed(1).padStart(5)} s   lag p99 ${figures.lagP99.toFixed(0).padStart(5)} ms  max ${figures.lagMax.toFixed(0).padStart(5)} ms   ` +
			`health max ${Math.max(...health).toFixed(0).padStart(5)} ms (${health.length})   stored max ${Math.max(...stored).toFixed(0).padStart(5)} ms (${stored.length})`
	);
	return { value, figures };
}

function expectResponsive(f: Figures) {
	expect(f.health.length).toBeGreaterThan(0);
	expect(Math.max(...f.health)).toBeLessThan(HEALTH_MAX_MS);
	expect(Math.max(...f.stored)).toBeLessThan(STORED_MAX_MS);
}

describe('imports while the duty room keeps working (embedded database and broker, real worker)', () => {
	let importId = 0;

	it('the floor: five seconds with no import', { timeout: 60_000 }, async () => {
		// What the probes cost by themselves on this machine, for reading the phases below.
		const { figures } = await measure('no import (floor)', () => new Promise((r) => setTimeout(r, 5000)));
		expectResponsive(figures);
	});

	it('uploading and checking a 1,000,000-vertex boundary file', { timeout: 300_000 }, async () => {
		const text = bigBoundaryGeoJson(1_000_000);
		expect(text.length).toBeGreaterThan(18 * 1024 * 1024);
		const request = multipart('http://x/admin/villages?/preview', { crs: 'auto' }, { field: 'file', name: 'big.geojson', type: 'application/geo+json', text });
		const { value: location, figures } = await measure('upload + check + stage (preview)', async () => {
			try {
				const out = await villageActions.preview(event('http://x/admin/villages?/preview', request));
				throw new Error(`no redirect: ${JSON.stringify(out)?.slice(0, 300)}`);
			} catch (r) {
				if ((r as { status?: number }).status === 303) return (r as { location: string }).location;
				throw r;
			}
		});
		importId = Number(/import=(\d+)/.exec(location)?.[1]);
		expect(importId).toBeGreaterThan(0);
		expectResponsive(figures);
	});

	it('reading the preview page', { timeout: 120_000 }, async () => {
		const { value, figures } = await measure('preview page load', async () => {
			const data = await villageLoad(event(`http://x/admin/villages?import=${importId}`));
			// SvelteKit serialises the page data for the browser on this thread too: count it in.
			return { data, bytes: JSON.stringify(data.staged).length };
		});
		console.log(`preview data shipped to the browser: ${(value.bytes / 1024 / 1024).toFixed(2)} MB`);
		expect(value.data.staged?.villages).toHaveLength(100);
		expect(value.data.staged?.report.filter((r) => r.level === 'error')).toEqual([]);
		expectResponsive(figures);
	});

	it('confirming the import', { timeout: 300_000 }, async () => {
		const form = new FormData();
		form.append('id', String(importId));
		const { value, figures } = await measure('confirm (save 100 villages)', () =>
			villageActions.confirm(event('http://x/admin/villages?/confirm', new Request('http://x/admin/villages?/confirm', { method: 'POST', body: form })))
		);
		expect(value).toMatchObject({ action: 'confirm', added: 100, replaced: 0 });
		const saved = await rt.db.query<{ n: number }>("SELECT count(*)::int AS n FROM villages WHERE name LIKE '测试%村'");
		expect(saved.rows[0].n).toBe(100);
		expectResponsive(figures);
	});

	it('importing a 5,000-day duty roster', { timeout: 120_000 }, async () => {
		const cadres = await rt.db.query<{ name: string }>('SELECT name FROM cadres GROUP BY name HAVING count(*) = 1 ORDER BY name LIMIT 2');
		expect(cadres.rows).toHaveLength(2);
		const [officer, leader] = cadres.rows.map((r) => r.name);
		const lines = ['日期,值班员,值班领导'];
		for (let i = 0; i < 5000; i++) lines.push(`${new Date(Date.UTC(2030, 0, 1) + i * 86_400_000).toISOString().slice(0, 10)},${officer},${leader}`);
		const request = multipart('http://x/admin/roster?/import', {}, { field: 'file', name: 'roster.csv', type: 'text/csv', text: lines.join('\n') + '\n' });
		const { value, figures } = await measure('roster import (5,000 days)', () => rosterActions.import(event('http://x/admin/roster?/import', request)));
		expect(value).toMatchObject({ action: 'import', rows: 5000, imported: { created: 5000, updated: 0 } });
		const days = await rt.db.query<{ n: number }>("SELECT count(*)::int AS n FROM duty_roster WHERE day >= '2030-01-01'");
		expect(days.rows[0].n).toBe(5000);
		expectResponsive(figures);
	});

	it('leaves no staged or uploaded file behind once the import is saved', () => {
		const left = (dir: string) => {
			try {
				return readdirSync(join(dataDir, dir));
			} catch {
				return [];
			}
		};
		expect([...left('staging'), ...left('incoming')]).toEqual([]);
	});
});

describe('uploads stream to disk with their limits', () => {
	/** A request whose body arrives in pieces with no Content-Length, as a chunked upload does. */
	const chunked = (body: string, boundary = 'XyZ') =>
		new Request('http://x/upload', {
			method: 'POST',
			headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
			body: new ReadableStream({
				start(c) {
					const bytes = new TextEncoder().encode(body);
					for (let at = 0; at < bytes.length; at += 1000) c.enqueue(bytes.subarray(at, at + 1000));
					c.close();
				}
			}),
			duplex: 'half'
		} as RequestInit);
	const part = (name: string, value: string, file?: string) =>
		`--XyZ\r\nContent-Disposition: form-data; name="${name}"${file ? `; filename="${file}"\r\nContent-Type: text/csv` : ''}\r\n\r\n${value}\r\n`;

	it('writes the file under DATA_DIR/incoming and keeps the fields; discard removes it', async () => {
		const sut = await receiveUpload(chunked(part('kind', 'cadres') + part('file', '姓名\n张三\n', '干部.csv') + '--XyZ--\r\n'), { dataDir, fileField: 'file', maxFileBytes: 1000 });
		expect(sut.field('kind')).toBe('cadres');
		expect(sut.file).toMatchObject({ name: '干部.csv', bytes: Buffer.byteLength('姓名\n张三\n') });
		expect(sut.file!.path.startsWith(incomingDir(dataDir))).toBe(true);
		expect(existsSync(sut.file!.path)).toBe(true);
		await sut.discard();
		expect(existsSync(sut.file!.path)).toBe(false);
	});

	it('refuses a file past the limit while it streams, in both languages, and leaves nothing on disk', async () => {
		const before = readdirSync(incomingDir(dataDir)).length;
		const err = await receiveUpload(chunked(part('file', 'x'.repeat(50_000), 'big.csv') + '--XyZ--\r\n'), { dataDir, fileField: 'file', maxFileBytes: 10_000 }).catch((e: unknown) => e);
		expect(err).toBeInstanceOf(UploadRefused);
		expect((err as UploadRefused).zh).toMatch(/文件太大/);
		expect((err as UploadRefused).en).toMatch(/too large/);
		expect(readdirSync(incomingDir(dataDir))).toHaveLength(before);
	});

	it('refuses a declared body past the limit before reading it, and a body that is not a form', async () => {
		const big = new Request('http://x/upload', { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=XyZ', 'content-length': String(50 * 1024 * 1024) }, body: 'x' });
		await expect(receiveUpload(big, { dataDir, fileField: 'file', maxFileBytes: 1024 * 1024 })).rejects.toMatchObject({ en: /too large \(limit 1 MB\)/ });
		const json = new Request('http://x/upload', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
		await expect(receiveUpload(json, { dataDir, fileField: 'file', maxFileBytes: 1000 })).rejects.toBeInstanceOf(UploadRefused);
	});

	it('an empty file part (no file chosen) is no file', async () => {
		const sut = await receiveUpload(chunked(part('file', '', '') + '--XyZ--\r\n'), { dataDir, fileField: 'file', maxFileBytes: 1000 });
		expect(sut.file).toBeNull();
	});

	it('the roster page answers a file past its limit with a plain 400', async () => {
		const out = await rosterActions.import(event('http://x/admin/roster?/import', multipart('http://x/admin/roster?/import', {}, { field: 'file', name: 'r.csv', type: 'text/csv', text: 'x'.repeat(6 * 1024 * 1024) })));
		expect(out).toMatchObject({ status: 400, data: { action: 'import', errors: [expect.stringMatching(/文件太大.*too large/)] } });
	});
});

describe('staged boundary files are cleaned up', () => {
	const small = (name: string) =>
		new TextEncoder().encode(JSON.stringify({ type: 'Feature', properties: { name }, geometry: { type: 'Polygon', coordinates: [[[107.5, 26.5], [107.51, 26.5], [107.51, 26.51], [107.5, 26.5]]] } }));
	const admin = { id: null, name: 'stall-admin' };
	const filesOf = async (id: number) => {
		const r = await rt.db.query<{ staged_file: string | null }>('SELECT staged_file FROM boundary_imports WHERE id = $1', [id]);
		return r.rows[0].staged_file ? stagedFiles(stagingDir(dataDir), r.rows[0].staged_file) : null;
	};

	it('discarding removes the files; the preview then says to upload again and cannot be saved', async () => {
		const id = await stageImport(rt.db, { bytes: small('弃村'), name: 'a.geojson' }, 'auto', admin, { dataDir });
		const files = (await filesOf(id))!;
		expect(existsSync(files.full) && existsSync(files.preview)).toBe(true);
		await discardStagedImport(rt.db, id, { dataDir });
		expect(existsSync(files.full) || existsSync(files.preview)).toBe(false);
		expect(await getStagedImport(rt.db, id, { dataDir })).toMatchObject({ expired: true, villages: [{ name: '弃村', geometry: null }] });
		await expect(confirmImport(rt.db, id, admin, [], { dataDir })).rejects.toThrow(/expired or was discarded/);
	});

	it('the sweep removes expired previews and files no import names, and keeps a fresh one', async () => {
		const old = await stageImport(rt.db, { bytes: small('旧村'), name: 'b.geojson' }, 'auto', admin, { dataDir });
		const fresh = await stageImport(rt.db, { bytes: small('新村'), name: 'c.geojson' }, 'auto', admin, { dataDir });
		await rt.db.query("UPDATE boundary_imports SET created_at = now() - interval '2 days' WHERE id = $1", [old]);
		const oldFiles = (await filesOf(old))!;
		const stray = join(stagingDir(dataDir), '1-deadbeef.json');
		writeFileSync(stray, '[]');
		mkdirSync(incomingDir(dataDir), { recursive: true });
		const leftUpload = join(incomingDir(dataDir), '1-cafe.upload');
		writeFileSync(leftUpload, 'x');
		const removed = await sweepStaging(rt.db, dataDir, { orphanMinAgeMs: 0, now: Date.now() + 2 * 3600_000 });
		expect(removed).toBeGreaterThanOrEqual(3);
		expect(existsSync(oldFiles.full) || existsSync(stray) || existsSync(leftUpload)).toBe(false);
		expect((await getStagedImport(rt.db, old, { dataDir }))?.expired).toBe(true);
		const kept = (await filesOf(fresh))!;
		expect(existsSync(kept.full)).toBe(true);
		expect((await getStagedImport(rt.db, fresh, { dataDir }))?.expired).toBe(false);
	});

	it('a save cut off part-way is finished by confirming again, without writing a village twice', async () => {
		const two = new TextEncoder().encode(
			JSON.stringify({
				type: 'FeatureCollection',
				features: ['续甲村', '续乙村'].map((name, i) => ({
					type: 'Feature',
					properties: { name },
					geometry: { type: 'Polygon', coordinates: [[[107.5 + i * 0.02, 26.5], [107.51 + i * 0.02, 26.5], [107.51 + i * 0.02, 26.51], [107.5 + i * 0.02, 26.5]]] }
				}))
			})
		);
		const id = await stageImport(rt.db, { bytes: two, name: 'resume.geojson' }, 'auto', admin, { dataDir });
		// The database goes away after the villages are written, before the import is marked saved.
		let txs = 0;
		const flaky: typeof rt.db = { ...rt.db, tx: (fn) => (++txs === 2 ? Promise.reject(new Error('connection lost')) : rt.db.tx(fn)) };
		await expect(confirmImport(flaky, id, admin, [], { dataDir })).rejects.toThrow(/connection lost/);
		const count = async () => (await rt.db.query<{ n: number }>("SELECT count(*)::int AS n FROM villages WHERE name IN ('续甲村', '续乙村')")).rows[0].n;
		expect(await count()).toBe(2);
		expect((await getStagedImport(rt.db, id, { dataDir }))?.confirmed_at).toBeNull();
		expect(await confirmImport(rt.db, id, admin, [], { dataDir })).toEqual({ added: 2, replaced: 0, rerouted: 0 });
		expect(await count()).toBe(2);
		const audit = await rt.db.query<{ detail: Record<string, unknown> }>("SELECT detail FROM audit_log WHERE action = 'villages_imported' AND detail->>'file' = 'resume.geojson'");
		expect(audit.rows.map((r) => r.detail)).toEqual([expect.objectContaining({ added: 2, resumed_after: 2 })]);
		expect(await filesOf(id)).toBeNull();
	});
});
