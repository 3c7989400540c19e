// Seeds the invented demo township (./township.ts) into an EMPTY database on first start in demo mode.
// Everything seeded is flagged is_demo. Demo device tokens are `${DEMO_PASSWORD}-${deviceId}` (demo only, printed
// in README) so a newcomer can publish a reading by hand; outside demo mode every token is random (device:add).
import type { Config } from '../platform/config.js';
import type { Db } from '../platform/db.js';
import type { Logger } from '../platform/log.js';
import { hashToken } from '../devices/device-tokens.js';
import { insertDevices } from '../devices/devices.js';
import { buildDemoTownship, DEMO_NOTICE } from './township.js';
import { buildDemoHistory, demoHistoryInput, insertDemoHistory } from './history.js';
import { VillageIndex, bbox } from '../../../../geo/index.js';
import { createHash } from 'node:crypto';

/** The demo's read-only API token (demo mode only, printed in README). */
export function demoApiToken(config: Pick<Config, 'DEMO_PASSWORD'>): string {
	return `shudi_demo-read-${config.DEMO_PASSWORD}`;
}

export function demoDeviceToken(config: Pick<Config, 'DEMO_PASSWORD'>, deviceId: string): string {
	return `${config.DEMO_PASSWORD}-${deviceId}`;
}

export async function seedDemoIfEmpty(db: Db, config: Config, log: Logger): Promise<boolean> {
	const existing = await db.query<{ n: number }>('SELECT (SELECT count(*) FROM villages) + (SELECT count(*) FROM devices) AS n');
	if (existing.rows[0].n > 0) return false;
	const t = buildDemoTownship();
	let historyStats = { cases: 0, ms: 0 };
	await db.tx(async (q) => {
		await q.query(`INSERT INTO map_features (kind, name, geometry, props) VALUES ('township', $1, $2, $3)`, [
			t.township.name,
			JSON.stringify(t.township.boundary),
			JSON.stringify({ division_code: t.township.division_code, is_demo: true, notice: DEMO_NOTICE })
		]);
		await q.query(`INSERT INTO map_features (kind, name, geometry, props) VALUES ('river', $1, $2, '{"is_demo":true}')`, [
			t.river.name,
			JSON.stringify(t.river.line)
		]);
		const villageIds = new Map<string, number>();
		for (const v of t.villages) {
			const r = await q.query<{ id: number }>(
				'INSERT INTO villages (name, division_code, boundary, bbox, is_demo) VALUES ($1, $2, $3, $4, true) RETURNING id',
				[v.name, v.code, JSON.stringify(v.boundary), bbox(v.boundary)]
			);
			villageIds.set(v.code, r.rows[0].id);
		}
		const cadreIds = new Map<string, number>();
		for (const c of t.cadres) {
			const r = await q.query<{ id: number }>('INSERT INTO cadres (name, phone, position) VALUES ($1, $2, $3) RETURNING id', [c.name, c.phone, c.position]);
			cadreIds.set(c.key, r.rows[0].id);
		}
		for (const a of t.assignments) {
			await q.query('INSERT INTO assignments (cadre_id, village_id, role, valid_from, valid_to) VALUES ($1, $2, $3, $4, $5)', [
				cadreIds.get(a.cadre_key),
				villageIds.get(a.village_code),
				a.role,
				a.valid_from,
				a.valid_to ?? null
			]);
		}
		const from = new Date(Date.now() - 30 * 86400_000).toISOString().slice(0, 10);
		for (const d of t.dutyRoster(from, 120)) {
			await q.query('INSERT INTO duty_roster (day, officer_id, leader_id) VALUES ($1, $2, $3)', [d.date, cadreIds.get(d.officer_key), cadreIds.get(d.leader_key)]);
		}
		// Route each sensor by its location, the same way live alarms are routed, rather than trusting a label.
		const index = new VillageIndex(t.villages.map((v) => ({ id: villageIds.get(v.code)!, geometry: v.boundary })));
		// With the simulator on, demo devices really report SIMULATE_SPEEDUP times faster than real ones; their expected
		// interval says so, so offline detection judges them by what they actually do.
		const interval = (s: number) => (config.SIMULATE ? Math.max(5, Math.round(s / config.SIMULATE_SPEEDUP)) : s);
		await insertDevices(
			q,
			t.sensors.map((s) => ({
				id: s.id,
				name: s.name,
				kind: s.kind,
				lng: s.lng,
				lat: s.lat,
				village_id: index.locate([s.lng, s.lat]),
				interval_s: interval(s.interval_s),
				token_hash: hashToken(demoDeviceToken(config, s.id)),
				thresholds: s.thresholds,
				baseline: s.baseline,
				is_demo: true
			}))
		);
		// About three months of invented, marked case history for the leaders' review (./history.ts), judged against
		// the assignments valid at each case's opening exactly as live cases are.
		const historyStart = performance.now();
		const history = buildDemoHistory(demoHistoryInput(t, villageIds, cadreIds, (p) => index.locate(p), Date.now()));
		await insertDemoHistory(q, history);
		historyStats = { cases: history.length, ms: Math.round(performance.now() - historyStart) };
	});
	log.info({ villages: t.villages.length, sensors: t.sensors.length, cadres: t.cadres.length, history: historyStats }, `demo township seeded — ${DEMO_NOTICE}`);
	return true;
}

/**
 * Demo accounts, one per role, all with DEMO_PASSWORD — demo mode only, printed at start and in README. The cadre
 * account is 松林村's current 包村干部, so it sees only that cadre's villages.
 */
export async function seedDemoUsersIfNone(db: Db, config: Config, log: Logger): Promise<boolean> {
	const n = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
	if (n.rows[0].n > 0) return false;
	const cadre = await db.query<{ id: number; name: string }>(
		`SELECT c.id, c.name FROM assignments a JOIN cadres c ON c.id = a.cadre_id JOIN villages v ON v.id = a.village_id
		 WHERE v.name = '松林村' AND a.role = 'cadre' AND a.valid_from <= now() AND (a.valid_to IS NULL OR a.valid_to > now())
		 ORDER BY a.valid_from DESC LIMIT 1`
	);
	const lead = await db.query<{ id: number; name: string }>(
		`SELECT c.id, c.name FROM assignments a JOIN cadres c ON c.id = a.cadre_id JOIN villages v ON v.id = a.village_id
		 WHERE v.name = '松林村' AND a.role = 'lead' AND (a.valid_to IS NULL OR a.valid_to > now()) LIMIT 1`
	);
	const { addUser } = await import('../people/auth.js');
	const users = [
		{ username: 'admin', display_name: '系统管理员（演示）', roles: ['admin'] as const, cadre_id: null },
		{ username: 'leader', display_name: `${lead.rows[0]?.name ?? '镇领导'}（演示）`, roles: ['leader'] as const, cadre_id: lead.rows[0]?.id ?? null },
		{ username: 'duty', display_name: '值班员（演示）', roles: ['duty'] as const, cadre_id: null },
		{ username: 'cadre', display_name: `${cadre.rows[0]?.name ?? '包村干部'}（演示）`, roles: ['cadre'] as const, cadre_id: cadre.rows[0]?.id ?? null }
	];
	for (const u of users) await addUser(db, { ...u, roles: [...u.roles], password: config.DEMO_PASSWORD, is_demo: true });
	// A read-only API token with a known value, so README's curl examples work in the demo (demo only).
	await db.query("INSERT INTO api_tokens (name, token_hash, scopes) VALUES ('demo read (演示)', $1, ARRAY['read'])", [
		createHash('sha256').update(demoApiToken(config), 'utf8').digest('hex')
	]);
	log.warn({ users: users.map((u) => u.username), password: config.DEMO_PASSWORD }, 'demo accounts created (demo only — never use these outside the demo)');
	return true;
}
