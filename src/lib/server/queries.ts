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

/**
 * scope: the villages the caller may see (null = all); a cadre sees only their own villages' sensors.
 * Latest values are grouped once (GROUP BY over latest_values, joined by device) as compact [metric, value, epoch ms,
 * flags] arrays instead of a JSON object built per device by a correlated subquery with timestamptz rendered as text:
 * at 10,000 sensors that took 0.6–0.8× the time on PostgreSQL and the embedded PGlite alike (npm run bench:queries,
 * BENCHMARKS.md). One row per device, because per-row transfer is what costs most in PGlite.
 */
export async function sensorsGeoJSON(db: Queryable, scope: Set<number> | null = null): Promise<GeoJSON.FeatureCollection<GeoJSON.Point, SensorProps>> {
	const r = await db.query<{ id: string; name: string; kind: string; village_id: number | null; status: string; last_seen_ms: number | null; interval_s: number; lng: number; lat: number; vals: [string, number, number, number][] | null }>(
		`SELECT d.id, d.name, d.kind, d.village_id, d.status, floor(extract(epoch FROM d.last_seen) * 1000)::float8 AS last_seen_ms, d.interval_s, d.lng, d.lat, v.vals
		 FROM devices d
		 LEFT JOIN (
		   SELECT device_id, json_agg(json_build_array(metric, value, floor(extract(epoch FROM observed_at) * 1000)::float8, flags) ORDER BY metric) AS vals
		   FROM latest_values
		   WHERE $1::int[] IS NULL OR device_id IN (SELECT id FROM devices WHERE village_id = ANY($1::int[]))
		   GROUP BY device_id
		 ) v ON v.device_id = d.id
		 WHERE d.revoked_at IS NULL AND d.lng IS NOT NULL AND d.lat IS NOT NULL
		   AND ($1::int[] IS NULL OR d.village_id = ANY($1::int[]))
		 ORDER BY d.id`,
		[scope ? [...scope] : null]
	);
	return {
		type: 'FeatureCollection',
		features: r.rows.map((row) => {
			const values: SensorProps['values'] = {};
			for (const [metric, value, ms, flags] of row.vals ?? []) values[metric] = { value, observed_at: new Date(ms).toISOString(), flags };
			return {
				type: 'Feature',
				id: row.id,
				geometry: { type: 'Point', coordinates: [row.lng, row.lat] },
				properties: {
					id: row.id,
					name: row.name,
					kind: row.kind,
					village_id: row.village_id,
					status: row.status,
					last_seen: row.last_seen_ms === null ? null : new Date(row.last_seen_ms).toISOString(),
					interval_s: row.interval_s,
					values
				}
			};
		})
	};
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
