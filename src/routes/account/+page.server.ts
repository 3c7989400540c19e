// Password change: the current password is required; other sessions of the user are signed out; audited.
import { fail } from '@sveltejs/kit';
import type { Actions, PageServerLoad } from './$types';
import { runtime } from '$lib/server/runtime';
import { audit, hashPassword, passwordProblems, revokeAllSessions, verifyPassword } from '$lib/server/people/auth';

export const load = (async ({ locals }) => ({ user: { username: locals.user!.username, display_name: locals.user!.display_name, roles: locals.user!.roles } })) satisfies PageServerLoad;

export const actions = {
	default: async ({ request, locals }) => {
		const user = locals.user!;
		const form = await request.formData();
		const current = String(form.get('current') ?? '');
		const next = String(form.get('password') ?? '');
		const confirm = String(form.get('confirm') ?? '');
		const problems = passwordProblems(next, user.username);
		if (next !== confirm) problems.push('两次输入不一致 / the two entries differ');
		if (problems.length) return fail(400, { problems });
		const rt = await runtime();
		const r = await rt.db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [user.id]);
		if (!(await verifyPassword(r.rows[0].password_hash, current))) return fail(400, { problems: ['当前密码错误 / current password is wrong'] });
		await rt.db.query('UPDATE users SET password_hash = $2, password_changed_at = now() WHERE id = $1', [user.id, await hashPassword(next)]);
		await revokeAllSessions(rt.db, user.id, locals.sessionToken);
		await audit(rt.db, { id: user.id, name: user.username }, 'password_changed', { type: 'user', id: user.id });
		return { ok: true };
	}
} satisfies Actions;
