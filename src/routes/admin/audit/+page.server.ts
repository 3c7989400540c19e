// The audit log (append-only in the database) and recent login attempts, newest first.
import type { PageServerLoad } from './$types';
import { runtime } from '$lib/server/runtime';
import { id8, queryParam } from '$lib/server/platform/params';

export const load = (async ({ url }) => {
	const rt = await runtime();
	const before = queryParam(url.searchParams, 'before', id8);
	const audit = await rt.db.query<{ id: number; at: Date; actor_name: string; action: string; target_type: string | null; target_id: string | null; detail: unknown }>(
		'SELECT id, at, actor_name, action, target_type, target_id, detail FROM audit_log WHERE $1::bigint IS NULL OR id < $1 ORDER BY id DESC LIMIT 200',
		[before]
	);
	const logins = await rt.db.query<{ at: Date; username: string; ip: string | null; ok: boolean; reason: string | null }>(
		'SELECT at, username, ip, ok, reason FROM login_attempts ORDER BY id DESC LIMIT 100'
	);
	return {
		tz: rt.config.TZ_DISPLAY,
		audit: audit.rows.map((r) => ({ ...r, at: new Date(r.at).toISOString(), detail: JSON.stringify(r.detail) })),
		logins: logins.rows.map((r) => ({ ...r, at: new Date(r.at).toISOString() }))
	};
}) satisfies PageServerLoad;
