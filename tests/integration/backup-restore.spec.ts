// `npm run backup` of a live system while a device streams readings, `npm run restore` into a fresh data directory
// (or an empty PostgreSQL database), and a runtime started on the result.
//
// Snapshot point S: the instant the database copy is taken — embedded, inside the running process while PGlite's
// transaction lock is held (no batch half-written); PostgreSQL, pg_dump's exported REPEATABLE READ snapshot. S lies
// somewhere between the backup command's start and its exit. A reading is acknowledged when the ingest has committed
// it: only then does it send the PUBACK that lets the broker forget the message (ingest/subscriber.ts). So:
//   - every reading committed before the command started was acknowledged before S and must be restored;
//   - nothing committed after the command exited may appear;
//   - the restored state is one instant: the device's readings are an unbroken prefix of what it sent (one publisher,
//     in order), the hourly rollups add up to the raw rows, and the row counts equal the manifest's.
// Cases, their events and their photos follow the same rule.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { parseConfig, type Config } from '../../src/lib/server/platform/config';
import { startRuntime, type Runtime } from '../../src/lib/server/runtime';
import { demoDeviceToken } from '../../src/lib/server/demo/seed';
import { openFieldReport } from '../../src/lib/server/cases/incidents';
import { readPhoto } from '../../src/lib/server/cases/uploads';
import { countRows } from '../../src/lib/server/platform/backup';
import type { Db } from '../../src/lib/server/platform/db';
import { createDatabase, type ScratchDatabase } from '../../scripts/scratch-db';
import { REAL_DB, REAL_MQTT, uniq, waitFor } from '../support/services';

const TZ = 'Asia/Shanghai';
const scratch: ScratchDatabase[] = [];
const dirs: string[] = [];
const runtimes: Runtime[] = [];

function tempDir(prefix: string): string {
	const d = mkdtempSync(join(tmpdir(), prefix));
	dirs.push(d);
	return d;
}

async function database(): Promise<string | undefined> {
	if (!REAL_DB) return undefined;
	const s = await createDatabase(REAL_DB, 'shudi_bk');
	scratch.push(s);
	return s.url;
}

function configFor(dataDir: string, url: string | undefined): Config {
	return parseConfig({
		DATA_DIR: dataDir,
		DATABASE_URL: url,
		MQTT_URL: REAL_MQTT,
		MQTT_PORT: '0',
		// Its own persistent session on a shared Mosquitto: another test's ingest must not take this one's messages.
		INGEST_CLIENT_ID: uniq('bk-ingest'),
		DEMO: 'on',
		SIMULATE: 'off',
		LOG_LEVEL: 'silent',
		INGEST_BATCH_MS: '10',
		ESCALATION_EVERY_MS: '600000'
	});
}

async function start(config: Config): Promise<Runtime> {
	const rt = await startRuntime({ config });
	runtimes.push(rt);
	return rt;
}

/** Runs one of the npm scripts' files as `npm run …` does, with DATA_DIR / DATABASE_URL pointing at this test's. */
function cli(script: 'backup' | 'restore', args: string[], dataDir: string, url: string | undefined): Promise<{ code: number; out: string }> {
	const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
	if (url) env.DATABASE_URL = url;
	else delete env.DATABASE_URL;
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, ['--import', 'tsx', `scripts/${script}.ts`, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
		let out = '';
		child.stdout.on('data', (d: Buffer) => (out += d.toString()));
		child.stderr.on('data', (d: Buffer) => (out += d.toString()));
		child.on('error', reject);
		child.on('exit', (code) => resolve({ code: code ?? -1, out }));
	});
}

// Streamed device times start two hours ago (so each is trusted), 317 ms past a second so none meets one of the demo
// history's readings; the demo's are stored with received_at = observed_at, the streamed ones as they arrive. They are
// 100 ms apart: Mosquitto acknowledges ~800 readings a second, and at one second apart the stream ran past the server's
// clock within ten seconds, where device times are no longer trusted (ingest/validate.ts, MAX_FUTURE_MS).
const STEP_MS = 100;
const testStart = new Date();
const streamFrom = Math.floor(testStart.getTime() / 1000) * 1000 - 2 * 3_600_000 + 317;

/**
 * The streamed readings the database holds. On a shared Mosquitto other test files publish for the same demo devices
 * (RL-01, RL-02 …) while this one runs, and this runtime's ingest stores those too: only readings on this stream's grid
 * (STEP_MS apart from streamFrom) are this test's.
 */
async function readingTimes(db: Db, device: string): Promise<string[]> {
	const r = await db.query<{ t: Date }>(
		"SELECT observed_at AS t FROM readings WHERE device_id = $1 AND metric = 'water_level_m' AND observed_at >= $2 AND received_at >= $3 ORDER BY observed_at",
		[device, new Date(streamFrom).toISOString(), testStart.toISOString()]
	);
	return r.rows.map((x) => new Date(x.t)).filter((t) => (t.getTime() - streamFrom) % STEP_MS === 0).map((t) => t.toISOString());
}

async function cases(db: Db): Promise<{ incidents: string[]; events: string[] }> {
	const i = await db.query<{ k: string }>("SELECT id || ':' || status || ':' || title AS k FROM incidents ORDER BY id");
	const e = await db.query<{ k: string }>("SELECT id || ':' || incident_id || ':' || action AS k FROM incident_events ORDER BY id");
	return { incidents: i.rows.map((x) => x.k), events: e.rows.map((x) => x.k) };
}

afterAll(async () => {
	for (const rt of runtimes.reverse()) await rt.stop();
	for (const s of scratch) await s.drop();
	for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe(`backup and restore (${REAL_DB ? 'PostgreSQL' : 'embedded'})`, () => {
	let sourceDir: string;
	let sourceUrl: string | undefined;
	let archive: string;
	let device: string;
	let sent: string[] = [];
	let before: { readings: string[]; cases: { incidents: string[]; events: string[] } };
	let after: string[];
	let photo: { sha256: string; mime: string };

	beforeAll(async () => {
		sourceDir = tempDir('shudi-bk-src-');
		sourceUrl = await database();
		const config = configFor(sourceDir, sourceUrl);
		const rt = await start(config);
		const dev = await rt.db.query<{ id: string; thresholds: { warning_level_m: number; normal_level_m: number } }>(
			"SELECT id, thresholds FROM devices WHERE kind = 'river_level' ORDER BY id LIMIT 1"
		);
		device = dev.rows[0].id;
		const { warning_level_m, normal_level_m } = dev.rows[0].thresholds;
		// A case with a photo, made before the backup: it and its file must come back.
		const admin = (await rt.db.query<{ id: number }>("SELECT id FROM users WHERE 'admin' = ANY(roles) ORDER BY id LIMIT 1")).rows[0];
		const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082', 'hex');
		// Stored as the report route stores photos: DATA_DIR/uploads/<sha256>.<ext> (src/lib/server/cases/uploads.ts).
		const sha256 = createHash('sha256').update(png).digest('hex');
		mkdirSync(join(sourceDir, 'uploads'), { recursive: true });
		writeFileSync(join(sourceDir, 'uploads', `${sha256}.png`), png);
		const stored = { file_name: 'crack.png', mime: 'image/png', bytes: png.length, sha256 };
		photo = { sha256, mime: stored.mime };
		await openFieldReport(rt.db, { category: 'housing', title: '备份前的墙体开裂', lng: 0, lat: 0, source: 'field_report', photos: [stored] }, { id: admin.id, name: 'admin' }, TZ);

		// The device streams one QoS 1 reading after another, each waiting for its PUBACK, STEP_MS of device time
		// apart from streamFrom on; the first crosses the 警戒水位 and raises an alarm.
		const eventsBefore = (await cases(rt.db)).events.length;
		const publisher = await mqtt.connectAsync(rt.mqttUrl!, REAL_MQTT ? { clientId: uniq('bk-dev') } : { username: device, password: demoDeviceToken(config, device) });
		const t0 = streamFrom;
		let streaming = true;
		const stream = (async () => {
			for (let i = 0; streaming; i++) {
				const t = t0 + i * STEP_MS;
				// Never past the server's clock: a time ahead of it is not trusted and is stored at its arrival instead.
				if (t > Date.now()) throw new Error('the stream outran its two hours of device time');
				const ts = new Date(t).toISOString();
				const level = i === 0 ? warning_level_m + 0.05 : normal_level_m + (i % 7) / 100;
				await publisher.publishAsync(`shudi/v1/devices/${device}/up`, JSON.stringify({ ts, values: { water_level_m: Number(level.toFixed(3)) } }), { qos: 1 });
				sent.push(ts);
			}
		})();
		await waitFor(async () => (await readingTimes(rt.db, device)).length >= 50, 15_000);
		// The alarm the first reading raised, and the case event it wrote (a new case, or a note on the device's open one).
		await waitFor(async () => (await rt.db.query('SELECT 1 FROM alarms WHERE device_id = $1 AND raised_at >= $2', [device, new Date(t0).toISOString()])).rows.length > 0, 5000);
		await waitFor(async () => (await cases(rt.db)).events.length > eventsBefore, 5000);

		before = { readings: await readingTimes(rt.db, device), cases: await cases(rt.db) };
		archive = join(tempDir('shudi-bk-out-'), 'backup.tar');
		const b = await cli('backup', [archive], sourceDir, sourceUrl);
		after = await readingTimes(rt.db, device);
		const sentDuringBackup = sent.length;
		await waitFor(async () => sent.length >= sentDuringBackup + 20, 10_000);
		streaming = false;
		await stream;
		await publisher.endAsync();
		expect(b.out).toContain('备份完成 backup written');
		expect(b.code).toBe(0);
		// The backup did not stall or lose the stream: everything the broker accepted is stored on the live system.
		await waitFor(async () => (await readingTimes(rt.db, device)).length === sent.length, 10_000);
		// More arrived while the backup ran, so the test is about a moving system.
		expect(after.length).toBeGreaterThan(before.readings.length);
	}, 120_000);

	it('refuses to overwrite a data directory or database that holds data unless --force', async () => {
		const r = await cli('restore', [archive], sourceDir, sourceUrl);
		expect(r.code).not.toBe(0);
		expect(r.out).toMatch(/正在运行 is running|非空/);
	}, 60_000);

	it('restores into a fresh data directory every reading acknowledged before the snapshot, every case, event and photo; a runtime starts on it', async () => {
		const dir = tempDir('shudi-bk-dst-');
		const url = await database();
		const r = await cli('restore', [archive], dir, url);
		expect(r.out).toContain('恢复完成 restored');
		expect(r.code).toBe(0);

		const rt = await start(configFor(dir, url));
		const restored = await readingTimes(rt.db, device);
		// Every reading acknowledged before the backup started …
		expect(restored.slice(0, before.readings.length)).toEqual(before.readings);
		// … an unbroken prefix of what the device sent, and nothing committed after the backup finished.
		expect(restored).toEqual(sent.slice(0, restored.length));
		expect(restored.length).toBeLessThanOrEqual(after.length);

		// One instant: the rollups written with each batch add up to the raw rows.
		const hours = [device, new Date(Math.floor(streamFrom / 3_600_000) * 3_600_000).toISOString()];
		const roll = await rt.db.query<{ n: number }>("SELECT coalesce(sum(n), 0)::int AS n FROM readings_hourly WHERE device_id = $1 AND metric = 'water_level_m' AND bucket >= $2", hours);
		const raw = await rt.db.query<{ n: number }>("SELECT count(*)::int AS n FROM readings WHERE device_id = $1 AND metric = 'water_level_m' AND observed_at >= $2", hours);
		expect(roll.rows[0].n).toBe(raw.rows[0].n);
		expect(raw.rows[0].n).toBeGreaterThanOrEqual(restored.length);

		const now = await cases(rt.db);
		expect(now.incidents).toEqual(expect.arrayContaining(before.cases.incidents));
		expect(now.events).toEqual(expect.arrayContaining(before.cases.events));
		expect((await readPhoto(dir, photo.sha256, photo.mime)).subarray(1, 4).toString()).toBe('PNG');

		// The manifest's counts are the restored database's.
		const unpacked = tempDir('shudi-bk-manifest-');
		await tar.x({ file: archive, cwd: unpacked }, ['manifest.json']);
		const manifest = JSON.parse(readFileSync(join(unpacked, 'manifest.json'), 'utf8')) as { counts: Record<string, number>; kind: string };
		expect(manifest.kind).toBe(REAL_DB ? 'postgres' : 'pglite');
		const counts = (await countRows(rt.db)).counts;
		expect(counts.readings).toBe(manifest.counts.readings);
		expect(counts.incident_events).toBe(manifest.counts.incident_events);

		// The restored system takes new readings.
		if (!REAL_MQTT) {
			const c = await mqtt.connectAsync(rt.mqttUrl!, { username: device, password: demoDeviceToken(rt.config, device) });
			const ts = new Date().toISOString();
			await c.publishAsync(`shudi/v1/devices/${device}/up`, JSON.stringify({ ts, values: { water_level_m: 1 } }), { qos: 1 });
			await c.endAsync();
			await waitFor(async () => (await rt.db.query('SELECT 1 FROM readings WHERE device_id = $1 AND observed_at = $2', [device, ts])).rows.length > 0, 5000);
		}
		expect(existsSync(join(dir, 'pgdata'))).toBe(!REAL_DB);
	}, 120_000);
});
