// Accounts and sessions: argon2id password hashes (@node-rs/argon2, OWASP's first choice), server-side sessions
// whose cookie carries a random id stored only as SHA-256, login throttling per (account, address) and per address
// with every attempt recorded, and scoped API tokens for integrations.
import { hash as argonHash, verify as argonVerify } from '@node-rs/argon2';
import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '../platform/db.js';

export const ROLES = ['admin', 'leader', 'duty', 'cadre'] as const;
export type Role = (typeof ROLES)[number];

export interface SessionUser {
	id: number;
	username: string;
	display_name: string;
	roles: Role[];
	cadre_id: number | null;
}

export const SESSION_COOKIE = 'shudi_session';
/** A session lives 12 h from its last use (one duty shift), and never longer than 7 days. */
export const SESSION_IDLE_MS = 12 * 3600_000;
export const SESSION_MAX_MS = 7 * 24 * 3600_000;
/**
 * Login throttling (OWASP Authentication Cheat Sheet, "Protect against automated attacks"): keyed on (account, client
 * address), never on the account alone, so nobody can lock the duty officer out by typing wrong passwords from
 * elsewhere. After LOGIN_FREE_FAILURES failures of one account from one address, each further attempt from that
 * address waits 1 s, 2 s, 4 s … (doubling per failure, capped at LOGIN_MAX_DELAY_MS) after the last failure; a
 * success from that address clears it. One address failing across many accounts (password spraying) is throttled the
 * same way after LOGIN_ADDRESS_FREE_FAILURES failures within LOGIN_ADDRESS_WINDOW_MS: a township office behind one
 * NAT address stays well below that through honest typos.
 */
export const LOGIN_FREE_FAILURES = 5;
export const LOGIN_ADDRESS_FREE_FAILURES = 20;
export const LOGIN_MAX_DELAY_MS = 15 * 60_000;
/** Failures of one account from one address older than this are forgotten. */
export const LOGIN_PAIR_WINDOW_MS = 24 * 3600_000;
export const LOGIN_ADDRESS_WINDOW_MS = 3600_000;

/** The wait after `failures` counted failures when `free` are allowed without one: 0, then 1 s doubling to the cap. */
export function throttleDelayMs(failures: number, free: number): number {
	if (failures < free) return 0;
	return Math.min(LOGIN_MAX_DELAY_MS, 1000 * 2 ** Math.min(failures - free, 30));
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

export function hashPassword(password: string): Promise<string> {
	return argonHash(password, { algorithm: 2 /* Algorithm.Argon2id (a const enum, not importable under verbatimModuleSyntax) */ });
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
	try {
		return await argonVerify(hash, password);
	} catch {
		return false;
	}
}

// Verifying against this keeps the time of "no such user" equal to "wrong password" (no user-name probing).
let dummyHash: Promise<string> | undefined;

export function passwordProblems(password: string, username?: string): string[] {
	const p: string[] = [];
	if (password.length < 10) p.push('至少 10 个字符 / at least 10 characters');
	if (password.length > 200) p.push('最多 200 个字符 / at most 200 characters');
	if (username && password.toLowerCase().includes(username.toLowerCase())) p.push('不能包含用户名 / must not contain the user name');
	return p;
}

export type LoginResult =
	| { ok: true; user: SessionUser }
	| { ok: false; reason: 'bad_credentials' | 'disabled' }
	| { ok: false; reason: 'throttled'; retryAfterS: number; scope: ThrottleScope };
export type ThrottleScope = 'account_address' | 'address';

/** Reasons that count as a guess: a wrong password, or an attempt still being checked (see login()). */
const COUNTED = `reason IN ('bad_credentials', 'checking')`;

/**
 * Signs in, throttled per (account, address) and per address (see LOGIN_FREE_FAILURES). Every attempt is recorded in
 * login_attempts; refusals while throttled are recorded once per throttle step, so hammering a throttled address
 * adds no rows. The attempt's own row is written first as 'checking' and counted by the others: concurrent guesses
 * see each other, so a burst in parallel cannot slip more than the free failures past the check. `now` is the clock
 * (injected by tests).
 */
export async function login(db: Queryable, username: string, password: string, ip: string | null, now = new Date()): Promise<LoginResult> {
	const name = username.slice(0, 100);
	const own = await db.query<{ id: string }>("INSERT INTO login_attempts (username, ip, ok, reason, at) VALUES ($1, $2, false, 'checking', $3) RETURNING id", [
		name,
		ip,
		now.toISOString()
	]);
	const id = own.rows[0].id;
	const st = (
		await db.query<{ pair_n: number; pair_last: Date | null; addr_n: number; addr_last: Date | null }>(
			`WITH since AS (
			   SELECT GREATEST($4::timestamptz, COALESCE((SELECT max(at) FROM login_attempts WHERE username = $1 AND ip IS NOT DISTINCT FROM $2 AND ok), '-infinity')) AS t
			 )
			 SELECT (SELECT count(*)::int FROM login_attempts WHERE username = $1 AND ip IS NOT DISTINCT FROM $2 AND id <> $3 AND ${COUNTED} AND at > (SELECT t FROM since)) AS pair_n,
			        (SELECT max(at) FROM login_attempts WHERE username = $1 AND ip IS NOT DISTINCT FROM $2 AND id <> $3 AND ${COUNTED} AND at > (SELECT t FROM since)) AS pair_last,
			        (SELECT count(*)::int FROM login_attempts WHERE $2::text IS NOT NULL AND ip = $2 AND id <> $3 AND ${COUNTED} AND at > $5) AS addr_n,
			        (SELECT max(at) FROM login_attempts WHERE $2::text IS NOT NULL AND ip = $2 AND id <> $3 AND ${COUNTED} AND at > $5) AS addr_last`,
			[name, ip, id, new Date(now.getTime() - LOGIN_PAIR_WINDOW_MS).toISOString(), new Date(now.getTime() - LOGIN_ADDRESS_WINDOW_MS).toISOString()]
		)
	).rows[0];
	const until = (n: number, free: number, last: Date | null) => (last ? new Date(last).getTime() + throttleDelayMs(n, free) : 0);
	const pairUntil = until(st.pair_n, LOGIN_FREE_FAILURES, st.pair_last);
	const addrUntil = until(st.addr_n, LOGIN_ADDRESS_FREE_FAILURES, st.addr_last);
	if (Math.max(pairUntil, addrUntil) > now.getTime()) {
		const scope: ThrottleScope = pairUntil >= addrUntil ? 'account_address' : 'address';
		const lastFailure = new Date(scope === 'account_address' ? st.pair_last! : st.addr_last!).toISOString();
		const seen = await db.query(
			`SELECT 1 FROM login_attempts WHERE reason = 'throttled' AND id <> $1 AND at >= $2 AND ip IS NOT DISTINCT FROM $3 AND ($4::text IS NULL OR username = $4) LIMIT 1`,
			[id, lastFailure, ip, scope === 'account_address' ? name : null]
		);
		if (seen.rows.length) await db.query('DELETE FROM login_attempts WHERE id = $1', [id]);
		else await db.query("UPDATE login_attempts SET reason = 'throttled' WHERE id = $1", [id]);
		return { ok: false, reason: 'throttled', scope, retryAfterS: Math.max(1, Math.ceil((Math.max(pairUntil, addrUntil) - now.getTime()) / 1000)) };
	}
	const record = (ok: boolean, reason: string | null) => db.query('UPDATE login_attempts SET ok = $2, reason = $3 WHERE id = $1', [id, ok, reason]);
	const r = await db.query<SessionUser & { password_hash: string; disabled: boolean }>(
		'SELECT id, username, display_name, roles, cadre_id, password_hash, disabled_at IS NOT NULL AS disabled FROM users WHERE username = $1',
		[username]
	);
	const u = r.rows[0];
	dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
	const ok = await verifyPassword(u?.password_hash ?? (await dummyHash), password);
	if (!u || !ok) {
		await record(false, 'bad_credentials');
		await auditThrottleStart(db, name, ip, st.pair_n + 1, st.addr_n + 1);
		return { ok: false, reason: 'bad_credentials' };
	}
	if (u.disabled) {
		await record(false, 'disabled');
		return { ok: false, reason: 'disabled' };
	}
	await record(true, null);
	return { ok: true, user: { id: u.id, username: u.username, display_name: u.display_name, roles: u.roles, cadre_id: u.cadre_id } };
}

/** The failure that starts a throttle goes on the audit log, where an admin sees who is being guessed at and from where. */
async function auditThrottleStart(db: Queryable, username: string, ip: string | null, pairFailures: number, addressFailures: number): Promise<void> {
	const system = { id: null, name: 'system' };
	if (pairFailures === LOGIN_FREE_FAILURES) {
		await audit(db, system, 'login_throttled', { type: 'user', id: username }, { address: ip, scope: 'account_address', failures: pairFailures, retry_after_s: throttleDelayMs(pairFailures, LOGIN_FREE_FAILURES) / 1000 });
	}
	if (ip && addressFailures === LOGIN_ADDRESS_FREE_FAILURES) {
		await audit(db, system, 'login_throttled', { type: 'address', id: ip }, { address: ip, scope: 'address', failures: addressFailures, last_user: username, retry_after_s: throttleDelayMs(addressFailures, LOGIN_ADDRESS_FREE_FAILURES) / 1000 });
	}
}

export async function createSession(db: Queryable, userId: number, ip: string | null, userAgent: string | null): Promise<{ token: string; expires: Date }> {
	const token = randomBytes(32).toString('base64url');
	const expires = new Date(Date.now() + SESSION_IDLE_MS);
	await db.query('INSERT INTO sessions (id_hash, user_id, expires_at, ip, user_agent) VALUES ($1, $2, $3, $4, $5)', [
		sha256(token),
		userId,
		expires.toISOString(),
		ip,
		userAgent?.slice(0, 300) ?? null
	]);
	return { token, expires };
}

/** The user of a valid session, sliding its expiry; null for unknown, expired, revoked or disabled. */
export async function sessionUser(db: Queryable, token: string | undefined): Promise<SessionUser | null> {
	if (!token || token.length > 100) return null;
	const r = await db.query<SessionUser & { created_at: Date; expires_at: Date }>(
		`SELECT u.id, u.username, u.display_name, u.roles, u.cadre_id, s.created_at, s.expires_at
		 FROM sessions s JOIN users u ON u.id = s.user_id
		 WHERE s.id_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now() AND u.disabled_at IS NULL`,
		[sha256(token)]
	);
	const row = r.rows[0];
	if (!row) return null;
	const now = Date.now();
	const slide = Math.min(now + SESSION_IDLE_MS, new Date(row.created_at).getTime() + SESSION_MAX_MS);
	// Write at most once a minute per session: the expiry slides without a write on every request.
	if (slide - new Date(row.expires_at).getTime() > 60_000) {
		await db.query('UPDATE sessions SET expires_at = $2, last_seen_at = now() WHERE id_hash = $1', [sha256(token), new Date(slide).toISOString()]);
	}
	return { id: row.id, username: row.username, display_name: row.display_name, roles: row.roles, cadre_id: row.cadre_id };
}

export async function revokeSession(db: Queryable, token: string | undefined): Promise<void> {
	if (!token) return;
	await db.query('UPDATE sessions SET revoked_at = now() WHERE id_hash = $1 AND revoked_at IS NULL', [sha256(token)]);
}

export async function revokeAllSessions(db: Queryable, userId: number, exceptToken?: string): Promise<void> {
	await db.query('UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL AND id_hash <> $2', [userId, exceptToken ? sha256(exceptToken) : '']);
}

export type ApiScope = 'read' | 'report';

export async function createApiToken(db: Queryable, name: string, scopes: ApiScope[], createdBy: number | null): Promise<{ id: number; token: string }> {
	const token = 'shudi_' + randomBytes(32).toString('base64url');
	const r = await db.query<{ id: number }>('INSERT INTO api_tokens (name, token_hash, scopes, created_by) VALUES ($1, $2, $3, $4) RETURNING id', [name, sha256(token), scopes, createdBy]);
	return { id: r.rows[0].id, token };
}

export async function apiTokenScopes(db: Queryable, token: string): Promise<{ id: number; name: string; scopes: ApiScope[] } | null> {
	if (!token.startsWith('shudi_') || token.length > 100) return null;
	const r = await db.query<{ id: number; name: string; scopes: ApiScope[] }>(
		'UPDATE api_tokens SET last_used_at = now() WHERE token_hash = $1 AND revoked_at IS NULL RETURNING id, name, scopes',
		[sha256(token)]
	);
	return r.rows[0] ?? null;
}

export async function audit(
	db: Queryable,
	actor: { id: number | null; name: string },
	action: string,
	target?: { type: string; id: string | number },
	detail: Record<string, unknown> = {}
): Promise<void> {
	await db.query('INSERT INTO audit_log (actor_user_id, actor_name, action, target_type, target_id, detail) VALUES ($1, $2, $3, $4, $5, $6)', [
		actor.id,
		actor.name,
		action,
		target?.type ?? null,
		target ? String(target.id) : null,
		JSON.stringify(detail)
	]);
}

export async function addUser(db: Queryable, u: { username: string; display_name: string; roles: Role[]; password: string; cadre_id?: number | null; is_demo?: boolean }): Promise<number> {
	const r = await db.query<{ id: number }>(
		'INSERT INTO users (username, password_hash, display_name, roles, cadre_id, is_demo) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id',
		[u.username, await hashPassword(u.password), u.display_name, u.roles, u.cadre_id ?? null, u.is_demo ?? false]
	);
	return r.rows[0].id;
}

/** Villages a user may see: null = all (every role but a pure cadre); otherwise the cadre's current assignments. */
export async function visibleVillageIds(db: Queryable, user: SessionUser): Promise<Set<number> | null> {
	if (user.roles.some((r) => r !== 'cadre')) return null;
	if (!user.cadre_id) return new Set();
	const r = await db.query<{ village_id: number }>(
		'SELECT DISTINCT village_id FROM assignments WHERE cadre_id = $1 AND valid_from <= now() AND (valid_to IS NULL OR valid_to > now())',
		[user.cadre_id]
	);
	return new Set(r.rows.map((x) => x.village_id));
}
