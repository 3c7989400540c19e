// The duty console's figures with 5,000 open cases: counts per level, overdue, unacknowledged and per village come
// from the server over every open case in the caller's scope, and the queue pages through all of them, most urgent
// first — through the same API and page load the console uses. Embedded by default, real PostgreSQL when
// TEST_DATABASE_URL is set.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/lib/server/platform/config';
import { runtime, clearRuntime, type Runtime } from '../../src/lib/server/runtime';
import type { SessionUser } from '../../src/lib/server/people/auth';
import type { IncidentCounts, IncidentRow } from '../../src/lib/server/cases/incident-queries';
import { GET as getIncidents } from '../../src/routes/api/v1/incidents/+server';
import { load as loadConsole } from '../../src/routes/+page.server';
import { createDatabase } from '../../scripts/scratch-db';
import { REAL_DB, REAL_MQTT } from '../support/services';

let rt: Runtime;
let dropDb = async () => {};
const N = 5000;
const LEVELS = ['red', 'orange', 'yellow', 'blue'] as const;
const RANK: Record<string, number> = { red: 0, orange: 1, yellow: 2, blue: 3 };

interface Made {
	id: number;
	level: (typeof LEVELS)[number];
	village_id: number | null;
	overdue: boolean;
	acked: boolean;
}
let made: Made[] = [];
let villages: number[] = [];

async function user(username: string): Promise<SessionUser> {
	return (await rt.db.query<SessionUser>('SELECT id, username, display_name, roles, cadre_id FROM users WHERE username = $1', [username])).rows[0];
}
type Any = any;
async function page(u: SessionUser, query: string): Promise<{ items: IncidentRow[]; total: number; offset: number; counts?: IncidentCounts }> {
	const url = new URL(`http://x/api/v1/incidents?${query}`);
	const res = await getIncidents({ url, locals: { user: u, apiToken: null }, request: new Request(url) } as Any);
	expect(res.status).toBe(200);
	return res.json();
}

/** What the counts must be, worked out here from the rows made, not by the query under test. */
function expected(rows: Made[]): IncidentCounts {
	const by_level = { red: 0, orange: 0, yellow: 0, blue: 0, none: 0 };
	const v = new Map<number, { village_id: number; n: number; worst: (typeof LEVELS)[number] | null }>();
	for (const r of rows) {
		by_level[r.level]++;
		if (r.village_id === null) continue;
		const x = v.get(r.village_id) ?? { village_id: r.village_id, n: 0, worst: null };
		x.n++;
		if (x.worst === null || RANK[r.level] < RANK[x.worst]) x.worst = r.level;
		v.set(r.village_id, x);
	}
	return {
		total: rows.length,
		by_level,
		overdue: rows.filter((r) => r.overdue).length,
		unacknowledged: rows.filter((r) => !r.acked).length,
		by_village: [...v.values()].sort((a, b) => a.village_id - b.village_id)
	};
}

beforeAll(async () => {
	const env: Record<string, string> = { DATA_DIR: mkdtempSync(join(tmpdir(), 'shudi-cnt-')), MQTT_PORT: '0', SIMULATE: 'off', DEMO: 'on', LOG_LEVEL: 'silent', RULES: 'off' };
	if (REAL_DB) {
		const scratch = await createDatabase(REAL_DB, 'shudi_cnt');
		env.DATABASE_URL = scratch.url;
		dropDb = scratch.drop;
	}
	if (REAL_MQTT) env.MQTT_URL = REAL_MQTT;
	rt = await runtime({ config: parseConfig(env) });
	// Only the cases made here are open, so every figure is known.
	await rt.db.query("UPDATE incidents SET status = 'closed', closed_at = now() WHERE status NOT IN ('closed', 'rejected')");
	villages = (await rt.db.query<{ id: number }>('SELECT id FROM villages ORDER BY id')).rows.map((r) => r.id);
	const now = Date.now();
	const rows = Array.from({ length: N }, (_, i) => {
		const level = LEVELS[(i * 7) % 4];
		// Every 11th case has no village (a hotline call outside every boundary); the rest spread over the villages.
		const village_id = i % 11 === 0 ? null : villages[i % villages.length];
		const acked = i % 3 === 0;
		// Overdue by acknowledgement (unacknowledged past ack_due) or by resolution (past resolve_due).
		const ackLate = !acked && i % 5 === 0;
		const resolveLate = i % 13 === 0;
		const opened = new Date(now - 3 * 86400_000 + i * 1000);
		return {
			source: 'hotline',
			category: 'flood',
			level,
			status: acked ? 'accepted' : 'reported',
			title: `批量案件 ${i}`,
			village_id,
			opened_at: opened.toISOString(),
			ack_due: new Date(ackLate ? now - 60_000 : now + 3600_000).toISOString(),
			resolve_due: new Date(resolveLate ? now - 60_000 : now + 86400_000).toISOString(),
			acknowledged_at: acked ? opened.toISOString() : null,
			_m: { level, village_id, acked, overdue: ackLate || resolveLate }
		};
	});
	const ins = await rt.db.query<{ id: number; title: string }>(
		`INSERT INTO incidents (source, category, level, status, title, village_id, opened_at, ack_due, resolve_due, acknowledged_at, responsible)
		 SELECT source, category, level, status, title, village_id, opened_at, ack_due, resolve_due, acknowledged_at, '[]'::jsonb
		 FROM jsonb_to_recordset($1::jsonb) AS x(source text, category text, level text, status text, title text, village_id integer,
		      opened_at timestamptz, ack_due timestamptz, resolve_due timestamptz, acknowledged_at timestamptz)
		 RETURNING id, title`,
		[JSON.stringify(rows.map(({ _m, ...r }) => (void _m, r)))]
	);
	const idByTitle = new Map(ins.rows.map((r) => [r.title, Number(r.id)]));
	made = rows.map((r) => ({ id: idByTitle.get(r.title)!, ...r._m }));
}, 300_000);
afterAll(async () => {
	await rt.stop();
	clearRuntime();
	await dropDb();
});

describe('console figures with 5,000 open cases', () => {
	it('counts every open case per level, overdue, unacknowledged and per village', async () => {
		const r = await page(await user('duty'), 'status=open&counts=true&limit=50');
		expect(r.counts).toEqual(expected(made));
		expect(r.total).toBe(N);
		expect(r.items).toHaveLength(50);
	});

	it('pages through all of them, most urgent first, each case once, with the total on every page', async () => {
		const duty = await user('duty');
		const seen: IncidentRow[] = [];
		for (let offset = 0; offset < N + 100; offset += 500) {
			const r = await page(duty, `status=open&limit=500&offset=${offset}`);
			expect(r.total).toBe(N);
			seen.push(...r.items);
		}
		expect(seen).toHaveLength(N);
		expect(new Set(seen.map((c) => c.id)).size).toBe(N);
		for (let i = 1; i < seen.length; i++) {
			const [a, b] = [seen[i - 1], seen[i]];
			expect(RANK[a.level!] < RANK[b.level!] || (a.level === b.level && a.opened_at <= b.opened_at)).toBe(true);
		}
		expect(seen.filter((c) => c.overdue).length).toBe(made.filter((m) => m.overdue).length);
	});

	it('the console’s page load carries the first page and the counts of all 5,000; one more case makes 5,001', async () => {
		const duty = await user('duty');
		const data = (await loadConsole({ locals: { user: duty } } as Any)) as Any;
		expect(data.queue.counts.total).toBe(N);
		expect(data.queue.items).toHaveLength(50);
		expect(data.queue.items[0].level).toBe('red');
		await rt.db.query("INSERT INTO incidents (source, category, level, status, title, opened_at, ack_due, resolve_due, responsible) VALUES ('hotline', 'fire', 'red', 'reported', '又一件', now(), now() + interval '10 min', now() + interval '2 hours', '[]')");
		const after = await page(duty, 'status=open&counts=true&limit=1');
		expect(after.counts!.total).toBe(N + 1);
		expect(after.counts!.by_level.red).toBe(expected(made).by_level.red + 1);
		await rt.db.query("UPDATE incidents SET status = 'closed', closed_at = now() WHERE title = '又一件'");
	});

	it('a cadre’s figures cover exactly their own villages’ cases', async () => {
		const cadre = await user('cadre');
		const mine = new Set(
			(await rt.db.query<{ village_id: number }>('SELECT village_id FROM assignments WHERE cadre_id = $1 AND valid_from <= now() AND (valid_to IS NULL OR valid_to > now())', [cadre.cadre_id])).rows.map((r) => r.village_id)
		);
		expect(mine.size).toBeGreaterThan(0);
		const r = await page(cadre, 'status=open&counts=true&limit=50');
		expect(r.counts).toEqual(expected(made.filter((m) => m.village_id !== null && mine.has(m.village_id))));
	});

	it.each(['offset=-1', 'offset=abc', 'counts=yes', 'limit=0'])('refuses a bad paging parameter (%s) with 400', async (q) => {
		const url = new URL(`http://x/api/v1/incidents?status=open&${q}`);
		await expect(getIncidents({ url, locals: { user: await user('duty'), apiToken: null }, request: new Request(url) } as Any)).rejects.toMatchObject({ status: 400 });
	});
});
