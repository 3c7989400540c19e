// Sign out: the session is revoked on the server (a copied cookie stops working), then the cookie is cleared.
import { redirect } from '@sveltejs/kit';
import type { RequestHandler } from './$types';
import { runtime } from '$lib/server/runtime';
import { SESSION_COOKIE, revokeSession } from '$lib/server/people/auth';

export const POST: RequestHandler = async ({ cookies, locals }) => {
	await revokeSession((await runtime()).db, locals.sessionToken);
	cookies.delete(SESSION_COOKIE, { path: '/' });
	redirect(303, '/login');
};
