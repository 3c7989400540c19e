// Who may call what: ONE table for every page and API route, checked in hooks.server.ts before any route code runs.
// A route missing from this table is refused (fail closed), and tests/integration/access.spec.ts fails when a route
// file exists without an entry here — a new route cannot ship unguarded.
import type { ApiScope, Role } from './auth.js';

export type Access =
	/** Anyone, signed in or not. */
	| 'public'
	/** A field device authenticating with its own token inside the handler (HTTP twin). */
	| 'device'
	/** Signed-in users with one of these roles, or an API token with one of these scopes. */
	| { roles: readonly Role[]; scopes?: readonly ApiScope[] };

const ALL: readonly Role[] = ['admin', 'leader', 'duty', 'cadre'];
const ADMIN: readonly Role[] = ['admin'];
/** The leaders' review (DOMAIN.md People: 领导 "every case reviewed … per-cadre and per-village figures"). */
const REVIEW: readonly Role[] = ['leader', 'admin'];

export const ROUTE_ACCESS: Readonly<Record<string, Partial<Record<string, Access>>>> = {
	'/': { GET: { roles: ALL } },
	'/login': { GET: 'public', POST: 'public' },
	'/logout': { POST: { roles: ALL } },
	'/account': { GET: { roles: ALL }, POST: { roles: ALL } },
	'/admin': { GET: { roles: ADMIN } },
	'/admin/devices': { GET: { roles: ADMIN }, POST: { roles: ADMIN } },
	'/admin/villages': { GET: { roles: ADMIN }, POST: { roles: ADMIN } },
	'/admin/villages/draw': { GET: { roles: ADMIN }, POST: { roles: ADMIN } },
	'/admin/cadres': { GET: { roles: ADMIN }, POST: { roles: ADMIN } },
	'/admin/devices/[id]': { GET: { roles: ADMIN }, POST: { roles: ADMIN } },
	'/admin/roster': { GET: { roles: ADMIN }, POST: { roles: ADMIN } },
	'/admin/tokens': { GET: { roles: ADMIN }, POST: { roles: ADMIN } },
	'/admin/audit': { GET: { roles: ADMIN } },
	'/admin/dead-letters': { GET: { roles: ADMIN } },
	'/admin/dead-letters/map': { GET: { roles: ADMIN }, POST: { roles: ADMIN } },
	'/admin/devices/[id]/profile': { GET: { roles: ADMIN }, POST: { roles: ADMIN } },
	// Load balancers and monitors probe health without credentials; it reveals states, never data.
	'/api/v1/health': { GET: 'public' },
	'/api/v1/villages': { GET: { roles: ALL, scopes: ['read'] } },
	'/api/v1/sensors': { GET: { roles: ALL, scopes: ['read'] } },
	'/api/v1/sensors/[id]': { GET: { roles: ALL, scopes: ['read'] } },
	'/api/v1/sensors/[id]/history': { GET: { roles: ALL, scopes: ['read'] } },
	'/api/v1/live': { GET: { roles: ALL } },
	'/api/v1/incidents': { GET: { roles: ALL, scopes: ['read'] }, POST: { roles: ALL, scopes: ['report'] } },
	'/api/v1/incidents/[id]': { GET: { roles: ALL, scopes: ['read'] } },
	// Acting on a case is a person's act, on the record under their name: no API tokens.
	'/api/v1/incidents/[id]/actions': { POST: { roles: ALL } },
	// The case page: its form actions are the same person's acts as the actions API above.
	'/incidents/[id]': { GET: { roles: ALL }, POST: { roles: ALL } },
	'/api/v1/incidents/[id]/attachments/[aid]': { GET: { roles: ALL } },
	'/api/v1/incidents/[id]/followups': { GET: { roles: ALL }, POST: { roles: ALL } },
	'/report': { GET: { roles: ALL } },
	'/api/v1/dead-letters': { GET: { roles: ADMIN } },
	'/api/v1/dead-letters/replay': { POST: { roles: ADMIN } },
	'/api/v1/dead-letters/groups': { GET: { roles: ADMIN } },
	'/api/v1/dead-letters/map': { POST: { roles: ADMIN } },
	'/api/v1/profiles': { GET: { roles: ADMIN } },
	'/api/v1/devices/[id]/readings': { POST: 'device' },
	// Network servers (ChirpStack HTTP integration, TTS webhooks) authenticate with the integration's secret header
	// inside the handler, like a device with its token.
	'/api/v1/integrations/chirpstack/[id]': { POST: 'device' },
	'/api/v1/integrations/tts/[id]': { POST: 'device' },
	'/admin/integrations': { GET: { roles: ADMIN }, POST: { roles: ADMIN } },
	'/api/v1/devices/[id]/calibrate': { POST: { roles: ADMIN } },
	'/metrics': { GET: { roles: ADMIN, scopes: ['read'] } },
	// Review pages and exports: people only (a named leader or admin), no API tokens — these are everyone's figures.
	'/review': { GET: { roles: REVIEW } },
	'/review/cases': { GET: { roles: REVIEW } },
	'/review/report': { GET: { roles: REVIEW } },
	'/review/export': { GET: { roles: REVIEW } }
};

export function accessFor(routeId: string, method: string): Access | undefined {
	const entry = ROUTE_ACCESS[routeId];
	if (!entry) return undefined;
	// HEAD is answered like GET.
	return entry[method] ?? (method === 'HEAD' ? entry.GET : undefined);
}
