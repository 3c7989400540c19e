// Live events between processes (src/lib/server/live/live-relay.ts): an ingest worker's events reach a web process's bus
// through PostgreSQL NOTIFY, complete and in order, split under the payload limit; a lost listening connection is a
// resync for the consoles, never a silent hole. The splitting is tested everywhere; the relay needs a PostgreSQL
// server (TEST_DATABASE_URL), as a split deployment does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { LiveBus, type LiveEvents, type SensorUpdate } from '../../src/lib/server/live/events';
import { encodeEvent, MAX_PAYLOAD_BYTES, startRelayIn, startRelayOut } from '../../src/lib/server/live/live-relay';
import { logger, rootLogger } from '../../src/lib/server/platform/log';
import { REAL_DB, freshDb, waitFor, type TestDb } from '../support/services';

const update = (i: number, name = ''): SensorUpdate => ({
	id: `HT-${String(i).padStart(5, '0')}`,
	status: i % 7 ? undefined : 'normal',
	last_seen: new Date(1_790_000_000_000 + i).toISOString(),
	values: { tilt_x_deg: { value: i / 3, observed_at: new Date(1_790_000_000_000 + i).toISOString(), flags: 0 }, ...(name ? { [name]: { value: 1, observed_at: 'x', flags: 0 } } : {}) }
});
const decode = (payloads: string[]) => payloads.map((p) => JSON.parse(p) as { o: string; e: string; d: unknown });

describe('live events as NOTIFY payloads', () => {
	it('splits a big sensors event by sensor, every piece under the limit, nothing lost or reordered', () => {
		const updates = Array.from({ length: 3000 }, (_, i) => update(i, i % 11 ? '' : '名"\\</script>\u0001'));
		const payloads = encodeEvent('me', 'sensors', updates);
		expect(payloads.length).toBeGreaterThan(10);
		for (const p of payloads) expect(Buffer.byteLength(p)).toBeLessThanOrEqual(MAX_PAYLOAD_BYTES);
		const back = decode(payloads);
		expect(back.every((b) => b.o === 'me' && b.e === 'sensors')).toBe(true);
		expect(back.flatMap((b) => b.d as SensorUpdate[])).toEqual(JSON.parse(JSON.stringify(updates)));
	});

	it('keeps a sensor too big for one payload live without its values, and a case event by id and kind', () => {
		const huge = { ...update(1), values: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`metric_${i}`, { value: i, observed_at: '2026-11-26T00:00:00.000Z', flags: 0 }])) };
		const [one] = decode(encodeEvent('me', 'sensors', [huge]));
		expect(one.d).toEqual([{ ...JSON.parse(JSON.stringify(huge)), values: {} }]);
		const to = Array.from({ length: 400 }, (_, i) => ({ name: `干部${i}`, role: 'village_cadre' }));
		const incident: LiveEvents['incident'][0] = { id: 9, type: 'incident.opened', text_zh: '水位'.repeat(100), to };
		expect(decode(encodeEvent('me', 'incident', incident))).toEqual([{ o: 'me', e: 'incident', d: { id: 9, type: 'incident.opened' } }]);
		expect(decode(encodeEvent('me', 'status', { id: 'A', status: 'red', at: 't' }))).toEqual([{ o: 'me', e: 'status', d: { id: 'A', status: 'red', at: 't' } }]);
	});
});

describe.skipIf(!REAL_DB)('live events between processes (PostgreSQL)', () => {
	let t: TestDb;
	const stops: (() => Promise<void>)[] = [];
	beforeAll(async () => {
		rootLogger('silent');
		t = await freshDb({ migrate: false });
	});
	afterAll(async () => {
		for (const s of stops.reverse()) await s();
		await t.drop();
	});

	it('brings an ingest worker’s events to a web process in order, and a lost connection is a resync, then live again', async () => {
		const ingest = new LiveBus();
		const web = new LiveBus();
		stops.push(startRelayOut(ingest, t.db, logger('test')));
		stops.push(await startRelayIn(web, t.url!, logger('test'), 200));
		// The ingest side listens too (an `all` process in a share group): it must not hear its own events twice.
		stops.push(await startRelayIn(ingest, t.url!, logger('test'), 200));
		const got: { e: string; d: unknown }[] = [];
		const own: unknown[] = [];
		web.on('sensors', (d) => got.push({ e: 'sensors', d }));
		web.on('status', (d) => got.push({ e: 'status', d }));
		web.on('incident', (d) => got.push({ e: 'incident', d }));
		ingest.on('status', (d) => own.push(d));
		const cursor = web.listServed();

		const updates = Array.from({ length: 2000 }, (_, i) => update(i));
		ingest.emit('status', { id: 'HT-00001', status: 'red', at: 't1' });
		ingest.emit('sensors', updates);
		ingest.emit('incident', { id: 4, type: 'incident.opened', text_zh: '松林村水位超保证', to: [] });
		ingest.emit('status', { id: 'HT-00001', status: 'normal', at: 't2' });
		await waitFor(async () => got.filter((g) => g.e === 'status').length === 2 || undefined);
		expect(got[0]).toEqual({ e: 'status', d: { id: 'HT-00001', status: 'red', at: 't1' } });
		expect(got.filter((g) => g.e === 'sensors').flatMap((g) => g.d as SensorUpdate[])).toEqual(JSON.parse(JSON.stringify(updates)));
		expect(got.at(-2)).toEqual({ e: 'incident', d: { id: 4, type: 'incident.opened', text_zh: '松林村水位超保证', to: [] } });
		expect(got.at(-1)).toEqual({ e: 'status', d: { id: 'HT-00001', status: 'normal', at: 't2' } });
		expect(own).toHaveLength(2);
		// On the web process they are ordinary logged events: a console that read the list before them gets them replayed.
		expect(web.since(cursor)!.length).toBe(got.length);

		// The web process's listening connection is cut (a PostgreSQL restart, a proxy): its open streams are told to resync.
		let resyncs = 0;
		web.on('resync', () => resyncs++);
		const admin = new pg.Client({ connectionString: t.url });
		await admin.connect();
		try {
			await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN shudi_live' AND pid <> pg_backend_pid()");
		} finally {
			await admin.end();
		}
		await waitFor(async () => resyncs > 0 || undefined);
		expect(web.since(cursor)).toBeNull();
		// It listens again by itself and events flow as before.
		await waitFor(
			async () => {
				ingest.emit('status', { id: 'HT-00002', status: 'orange', at: 't3' });
				return got.some((g) => (g.d as { id?: string }).id === 'HT-00002') || undefined;
			},
			10_000,
			300
		);
	});
});
