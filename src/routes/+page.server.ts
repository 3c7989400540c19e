// The duty console's page data: villages, map features, cases, people and duty. The sensors are not in it: at 10,000
// they would make the HTML megabytes of serialised data to parse and hydrate before the map can start (`npm run bench:map`), so
// the page reads them from /api/v1/sensors once the map exists, and live changes then arrive over SSE.
// The alarm queue comes as one page plus the server's counts of every open case (case-queue.svelte.ts); the map's
// case markers are the most urgent MAP_CASES of them, and say so when there are more.
import type { PageServerLoad } from './$types';
import { runtime } from '$lib/server/runtime';
import { visibleVillageIds } from '$lib/server/people/auth';
import { mapFeatures, villagesGeoJSON } from '$lib/server/map/queries';
import { countIncidents, incidentConditions, listIncidents } from '$lib/server/cases/incident-queries';
import { dutyOn } from '$lib/server/cases/incidents';
import { rasterBasemaps } from '$lib/domain/basemap';

/** The alarm queue's page size. */
const QUEUE_PAGE = 50;
/** Case markers drawn on the map: the most urgent ones; the counts and the queue cover every open case. */
const MAP_CASES = 1000;

export const load = (async ({ locals }) => {
	const rt = await runtime();
	// hooks.server.ts has already checked the role; here the cadre's view is narrowed to their own villages.
	const user = locals.user!;
	const scope = await visibleVillageIds(rt.db, user);
	const [villages, features] = [await villagesGeoJSON(rt.db, scope), await mapFeatures(rt.db)];
	const queueItems = await listIncidents(rt.db, user, { status: 'open', limit: QUEUE_PAGE, offset: 0 });
	const counts = await countIncidents(rt.db, user, { status: 'open' });
	const mapCases = await listIncidents(rt.db, user, { status: 'open', limit: MAP_CASES });
	// Who answers for each village now (包村领导, 包村干部, 村支书 …), for the village panel's call list.
	const resp = await rt.db.query<{ village_id: number; role: string; cadre_id: number; name: string; phone: string | null; position: string | null }>(
		`SELECT a.village_id, a.role, c.id AS cadre_id, c.name, c.phone, c.position FROM assignments a JOIN cadres c ON c.id = a.cadre_id
		 WHERE a.valid_from <= now() AND (a.valid_to IS NULL OR a.valid_to > now()) AND ($1::int[] IS NULL OR a.village_id = ANY($1::int[]))
		 ORDER BY a.village_id, CASE a.role WHEN 'lead' THEN 0 WHEN 'cadre' THEN 1 WHEN 'secretary' THEN 2 ELSE 3 END`,
		[scope ? [...scope] : null]
	);
	const cadres = await rt.db.query<{ id: number; name: string }>('SELECT id, name FROM cadres ORDER BY name');
	const duty = await dutyOn(rt.db, new Date(), rt.config.TZ_DISPLAY);
	// 回访 due within three days, as tasks, for the cases this user may see (the case list's own scope, in SQL).
	const p: unknown[] = [];
	const scoped = incidentConditions(user, {}, p);
	const followups = await rt.db.query<{ id: number; incident_id: number; due_at: Date; note: string | null; title: string }>(
		`SELECT f.id, f.incident_id, f.due_at, f.note, i.title FROM followups f JOIN incidents i ON i.id = f.incident_id
		 WHERE f.done_at IS NULL AND f.due_at < now() + interval '3 days' ${scoped.map((c) => 'AND ' + c).join(' ')} ORDER BY f.due_at LIMIT 50`,
		p
	);
	return {
		villages,
		features,
		queue: { items: queueItems, total: counts.total, offset: 0, limit: QUEUE_PAGE, counts },
		mapCases,
		mapCasesLimit: MAP_CASES,
		responsible: resp.rows,
		cadres: cadres.rows,
		duty,
		followups: followups.rows.map((f) => ({ ...f, due_at: new Date(f.due_at).toISOString() })),
		basemaps: rasterBasemaps(rt.config),
		demo: rt.config.DEMO,
		tz: rt.config.TZ_DISPLAY,
		user: { username: user.username, display_name: user.display_name, roles: user.roles }
	};
}) satisfies PageServerLoad;
