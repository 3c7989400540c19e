// API tokens for integrations: scoped (read: map data and metrics; report: field reports, issue 5), shown once,
// stored hashed, revocable. Audited.
import { fail } from '@sveltejs/kit';
import { z } from 'zod';
import type { Actions, PageServerLoad } from './$types';
import { runtime } from '$lib/server/runtime';
import { id4, text } from '$lib/server/platform/params';
import { audit, createApiToken } from '$lib/server/people/auth';

export const load = (async () => {
	const rt = await runtime();
	const r = await rt.db.query<{ id: number; name: string; scopes: string[]; created_at: Date; last_used_at: Date | null; revoked_at: Date | null }>(
		'SELECT id, name, scopes, created_at, last_used_at, revoked_at FROM api_tokens ORDER BY id DESC'
	);
	return { tokens: r.rows.map((t) => ({ ...t, created_at: new Date(t.created_at).toISOString(), last_used_at: t.last_used_at ? new Date(t.last_used_at).toISOString() : null, revoked: !!t.revoked_at })) };
}) satisfies PageServerLoad;

const createSchema = z.object({ name: text(100).trim().min(1), scopes: z.array(z.enum(['read', 'report'])).min(1) });

export const actions = {
	create: async ({ request, locals }) => {
		const f = await request.formData();
		const parsed = createSchema.safeParse({ name: f.get('name'), scopes: f.getAll('scopes') });
		if (!parsed.success) return fail(400, { errors: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) });
		const rt = await runtime();
		const t = await createApiToken(rt.db, parsed.data.name, parsed.data.scopes, locals.user!.id);
		await audit(rt.db, { id: locals.user!.id, name: locals.user!.username }, 'api_token_created', { type: 'api_token', id: t.id }, { name: parsed.data.name, scopes: parsed.data.scopes });
		return { token: t.token, name: parsed.data.name };
	},
	revoke: async ({ request, locals }) => {
		const parsed = id4.safeParse((await request.formData()).get('id') ?? '');
		if (!parsed.success) return fail(400, { errors: [`id: ${parsed.error.issues[0].message}`] });
		const id = parsed.data;
		const rt = await runtime();
		const r = await rt.db.query('UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [id]);
		if (!r.rowCount) return fail(400, { errors: ['no such active token'] });
		await audit(rt.db, { id: locals.user!.id, name: locals.user!.username }, 'api_token_revoked', { type: 'api_token', id });
		return { revoked: id };
	}
} satisfies Actions;
