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

type LatestValues = SensorProps['values'];

/**
 * scope: the villages the caller may see (null = all); a cadre sees only their own villages' sensors.
 * Two flat queries (devices in primary-key order, their latest values) joined here rather than a JSON object built
 * per device in SQL: with 10,000 sensors the per-row correlated json_object_agg took ~3× as long, tripped JIT
 * compilation on its cost estimate and spilled its sort to disk (npm run bench:queries, BENCHMARKS.md). Times travel
 * as epoch milliseconds, which is cheaper than parsing timestamptz text into Date.
 */
export async function sensorsGeoJSON(db: Queryable, scope: Set<number> | null = null): Promise<GeoJSON.FeatureCollection<GeoJSON.Point, SensorProps>> {
	const villages = scope ? [...scope] : null;
	const [devices, latest] = await Promise.all([
		db.query<{ id: string; name: string; kind: string; village_id: number | null; status: string; last_seen_ms: number | null; interval_s: number; lng: number; lat: number }>(
			`SELECT d.id, d.name, d.kind, d.village_id, d.status, extract(epoch FROM d.last_seen) * 1000 AS last_seen_ms, d.interval_s, d.lng, d.lat
			 FROM devices d
			 WHERE d.revoked_at IS NULL AND d.lng IS NOT NULL AND d.lat IS NOT NULL
			   AND ($1::int[] IS NULL OR d.village_id = ANY($1::int[]))
			 ORDER BY d.id`,
			[villages]
		),
		db.query<{ device_id: string; metric: string; value: number; observed_ms: number; flags: number }>(
			`SELECT lv.device_id, lv.metric, lv.value, extract(epoch FROM lv.observed_at) * 1000 AS observed_ms, lv.flags
			 FROM latest_values lv
			 WHERE $1::int[] IS NULL OR lv.device_id IN (SELECT id FROM devices WHERE village_id = ANY($1::int[]))
			 ORDER BY lv.device_id, lv.metric`,
			[villages]
		)
	]);
	const values = new Map<string, LatestValues>();
	for (const v of latest.rows) {
		let vals = values.get(v.device_id);
		if (!vals) values.set(v.device_id, (vals = {}));
		vals[v.metric] = { value: v.value, observed_at: new Date(Number(v.observed_ms)).toISOString(), flags: v.flags };
	}
	return {
		type: 'FeatureCollection',
		features: devices.rows.map((row) => ({
			type: 'Feature',
			id: row.id,
			geometry: { type: 'Point', coordinates: [row.lng, row.lat] },
			properties: {
				id: row.id,
				name: row.name,
				kind: row.kind,
				village_id: row.village_id,
				status: row.status,
				last_seen: row.last_seen_ms === null ? null : new Date(Number(row.last_seen_ms)).toISOString(),
				interval_s: row.interval_s,
				values: values.get(row.id) ?? {}
			}
		}))
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
