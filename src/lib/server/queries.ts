// Read queries for the map and the API. Shapes are GeoJSON FeatureCollections with [lng, lat] coordinates.
// The sensor list reads latest_values (kept per batch by ingest), never the readings table.
import type { Queryable } from './db.js';

export interface SensorProps {
	id: string;
	name: string;
	kind: string;
	village_id: number | null;
	status: string;
	last_seen: string | null;
	interval_s: number;
	values: Record<string, { value: number; observed_at: string; flags: number }>;
}

/** scope: the villages the caller may see (null = all); a cadre sees only their own villages' sensors. */
export async function sensorsGeoJSON(db: Queryable, scope: Set<number> | null = null): Promise<GeoJSON.FeatureCollection<GeoJSON.Point, SensorProps>> {
	const r = await db.query<{ id: string; name: string; kind: string; village_id: number | null; status: string; last_seen: Date | null; interval_s: number; lng: number; lat: number; vals: Record<string, { value: number; observed_at: string; flags: number }> | null }>(
		`SELECT d.id, d.name, d.kind, d.village_id,
		        CASE WHEN EXISTS (SELECT 1 FROM device_maintenance m WHERE m.device_id = d.id AND m.cancelled_at IS NULL
		                          AND m.starts_at <= now() AND m.ends_at > now()) THEN 'maintenance' ELSE d.status END AS status,
		        d.last_seen, d.interval_s, d.lng, d.lat,
		        (SELECT json_object_agg(lv.metric, json_build_object('value', lv.value, 'observed_at', lv.observed_at, 'flags', lv.flags))
		         FROM latest_values lv WHERE lv.device_id = d.id) AS vals
		 FROM devices d
		 WHERE d.revoked_at IS NULL AND d.lng IS NOT NULL AND d.lat IS NOT NULL
		   AND ($1::int[] IS NULL OR d.village_id = ANY($1::int[]))
		 ORDER BY d.id`,
		[scope ? [...scope] : null]
	);
	return {
		type: 'FeatureCollection',
		features: r.rows.map((row) => ({
			type: 'Feature',
			id: row.id,
			geometry: { type: 'Point', coordinates: [row.lng, row.lat] },
			properties: {
				id: row.id,
				name: row.name,
				kind: row.kind,
				village_id: row.village_id,
				status: row.status,
				last_seen: row.last_seen ? new Date(row.last_seen).toISOString() : null,
				interval_s: row.interval_s,
				values: normaliseValues(row.vals)
			}
		}))
	};
}

/** json_build_object renders timestamptz in the session time zone; normalise to ISO-8601 UTC for clients. */
function normaliseValues(vals: Record<string, { value: number; observed_at: string; flags: number }> | null) {
	const out: Record<string, { value: number; observed_at: string; flags: number }> = {};
	for (const [k, v] of Object.entries(vals ?? {})) out[k] = { value: v.value, observed_at: new Date(v.observed_at).toISOString(), flags: v.flags };
	return out;
}

export interface VillageProps {
	id: number;
	name: string;
	division_code: string | null;
	is_demo: boolean;
	sensors: number;
}

export async function villagesGeoJSON(db: Queryable, scope: Set<number> | null = null): Promise<GeoJSON.FeatureCollection<GeoJSON.Polygon | GeoJSON.MultiPolygon, VillageProps>> {
	const r = await db.query<{ id: number; name: string; division_code: string | null; is_demo: boolean; boundary: GeoJSON.Polygon | GeoJSON.MultiPolygon; sensors: number }>(
		`SELECT v.id, v.name, v.division_code, v.is_demo, v.boundary,
		        (SELECT count(*)::int FROM devices d WHERE d.village_id = v.id AND d.revoked_at IS NULL) AS sensors
		 FROM villages v WHERE $1::int[] IS NULL OR v.id = ANY($1::int[]) ORDER BY v.id`,
		[scope ? [...scope] : null]
	);
	return {
		type: 'FeatureCollection',
		features: r.rows.map((row) => ({
			type: 'Feature',
			id: row.id,
			geometry: row.boundary,
			properties: { id: row.id, name: row.name, division_code: row.division_code, is_demo: row.is_demo, sensors: row.sensors }
		}))
	};
}

export async function mapFeatures(db: Queryable): Promise<GeoJSON.FeatureCollection> {
	const r = await db.query<{ id: number; kind: string; name: string; geometry: GeoJSON.Geometry; props: Record<string, unknown> }>(
		'SELECT id, kind, name, geometry, props FROM map_features ORDER BY id'
	);
	return {
		type: 'FeatureCollection',
		features: r.rows.map((row) => ({ type: 'Feature', id: row.id, geometry: row.geometry, properties: { ...row.props, kind: row.kind, name: row.name } }))
	};
}
