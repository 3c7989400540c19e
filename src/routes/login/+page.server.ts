// Sign-in: a plain form (works without JavaScript). Attempts are throttled per (user name, client address) and per
// address, never per user name alone, and every attempt is recorded (src/lib/server/people/auth.ts). The cookie is httpOnly, SameSite=Lax, Secure behind HTTPS.
import { fail, redirect } from '@sveltejs/kit';
import type { Actions, PageServerLoad } from './$types';
import { runtime } from '$lib/server/runtime';
import { SESSION_COOKIE, createSession, login } from '$lib/server/people/auth';
import { clientAddress } from '$lib/server/platform/client-address';

/** Only same-site paths: `next` must not send a user to another host after signing in. */
function safeNext(next: string | null): string {
	// Printable ASCII only: a Location header cannot carry anything else (the hooks percent-encode real paths).
	return next && /^\/(?![/\\])[\x21-\x7e]*$/.test(next) && !next.startsWith('/login') ? next : '/';
}

export const load = (async ({ locals, url }) => {
	if (locals.user) redirect(303, safeNext(url.searchParams.get('next')));
	const rt = await runtime();
	return { demo: rt.config.DEMO };
}) satisfies PageServerLoad;

export const actions = {
	default: async ({ request, cookies, url, getClientAddress, setHeaders }) => {
		const form = await request.formData();
		const username = String(form.get('username') ?? '').trim();
		const password = String(form.get('password') ?? '');
		if (!username || !password || username.length > 64 || password.length > 200 || username.includes('\u0000')) {
			return fail(400, { username: username.slice(0, 64), message: 'missing' as const });
		}
		const rt = await runtime();
		const ip = clientAddress({ request, getClientAddress }, rt.config.TRUST_PROXY);
		const res = await login(rt.db, username, password, ip);
		if (!res.ok && res.reason === 'throttled') {
			// RFC 9110 §10.2.3: the wait in seconds, for scripts; the page says the same in words.
			setHeaders({ 'retry-after': String(res.retryAfterS) });
			return fail(429, { username, message: res.reason, retryAfterS: res.retryAfterS });
		}
		if (!res.ok) return fail(400, { username, message: res.reason });
		const s = await createSession(rt.db, res.user.id, ip, request.headers.get('user-agent'));
		cookies.set(SESSION_COOKIE, s.token, { path: '/', httpOnly: true, sameSite: 'lax', secure: url.protocol === 'https:', expires: new Date(Date.now() + 7 * 24 * 3600_000) });
		redirect(303, safeNext(url.searchParams.get('next')));
	}
} satisfies Actions;
