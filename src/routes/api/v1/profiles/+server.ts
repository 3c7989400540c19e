// GET /api/v1/profiles (admin) — the built-in device profiles a device can be given (`npm run device:add -- …
// --profile NAME`): name, zh/en label and notes, the shudi metrics each yields, the vendor format it follows, and its
// full declarative definition, so a client can preview payloads with the same engine.
import { json } from '@sveltejs/kit';
import type { RequestHandler } from './$types';
import { BUILTIN_PROFILES, profileMetrics } from '$lib/domain/device-profiles/index';

export const GET: RequestHandler = () =>
	json({
		profiles: BUILTIN_PROFILES.map((p) => ({
			name: p.name,
			label: p.label,
			notes: p.notes ?? null,
			metrics: profileMetrics(p),
			source: p.source,
			definition: p
		}))
	});
