// Read queries for the map and the API. Shapes are GeoJSON FeatureCollections with [lng, lat] coordinates.
// The sensor list and a sensor's detail read latest_values (kept per batch by ingest), never the readings table.
import type { Db, Queryable } from '../platform/db.js';
import { LOW_BATTERY_MARK } from '../../domain/device-health.js';

/** One sensor in the map's list: what the map and the panel counts need, nothing per metric. */
export interface SensorListProps {
	id: string;
	name: string;
	kind: string;
	village_id: number | null;
	/**
	 * The stored status, or `maintenance` while a maintenance window is open. `no_data` (无测量数据): messages arrive
	 * but no measurement of the sensor's kind within its offline window — never shown as normal (device-health.ts).
	 */
	status: string;
	last_seen: string | null;
	/** battery_v or battery_pct below the default low mark (lowBattery, src/lib/domain/device-health.ts). */
	low_battery: boolean;
}

/** One sensor in full, for its panel: the list's fields plus its report interval and every latest value. */
export interface SensorDetailProps extends SensorListProps {
	interval_s: number;
	/** When its newest measurement of its own kind was observed (radio and battery values do not count); null: never. */
	last_measured_at: string | null;
	values: LatestValues;
}

export type LatestValues = Record<string, { value: number; observed_at: string; flags: number }>;

// Both statements mark a sensor inside an open maintenance window, and judge its battery, the same way.
const IN_MAINTENANCE = `LEFT JOIN (SELECT DISTINCT device_id FROM device_maintenance
	             WHERE cancelled_at IS NULL AND starts_at <= now() AND ends_at > now()) m ON m.device_id = d.id`;
const LOW_BATTERY = `LEFT JOIN (SELECT DISTINCT device_id FROM latest_values
	             WHERE (metric = 'battery_v' AND value < $2::float8) OR (metric = 'battery_pct' AND value < $3::float8)) b ON b.device_id = d.id`;
const STATUS = `CASE WHEN m.device_id IS NOT NULL THEN 'maintenance' ELSE d.status END`;
/** last_seen as its JSON token, as migrations/0011 keeps it: only evaluated for a row the trigger has not seen. */
const LAST_SEEN_JSON = `CASE WHEN d.last_seen IS NULL THEN 'null' ELSE '"' || to_char(d.last_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"' END`;
/** Sensors per part of the list's text (sensorsListJSON). */
const LIST_PART = 200;

/**
 * GET /api/v1/sensors as its JSON text: a GeoJSON FeatureCollection of SensorListProps, in id order.
 * scope: the villages the caller may see (null = all); a cadre sees only their own villages' sensors. Revoked devices
 * and devices without a position are left out.
 *
 * The text is written by PostgreSQL, one string for the whole list, because at 10,000 sensors the cost was in moving
 * and parsing rows, not in the query: 10,000 rows through the driver (pg or the embedded PGlite, where every row
 * returned has a fixed cost) took longer than the bare SELECT of the devices, and the object built from them then
 * had to go through JSON.stringify. One concatenated string took 0.4× that bare SELECT on PGlite and 1.2× on
 * PostgreSQL; json_build_object per row is ~2× slower than concatenation (`npm run bench:queries`). The name can
 * hold any character and goes through to_json for JSON escaping; id, kind and status cannot
 * need it — devices_id_check allows only [A-Za-z0-9_.:-], kind and status are CHECK-constrained words (0001_backbone.sql)
 * — and skipping to_json for them saved a tenth of the time. Numbers are PostgreSQL's shortest exact float text.
 * The part of each Feature that changes only when a device is registered, moved or renamed (id, position, name,
 * kind, village) is kept ready in devices.list_head by a trigger (migrations/0010): concatenating it for every
 * sensor on every read is most of the time (`npm run bench:queries`). last_seen's ISO text is kept the
 * same way in devices.last_seen_json (migrations/0011; to_char per row per read is a fifth of the embedded database's
 * time, `npm run bench:queries`); only status (maintenance windows are a matter of the clock) and the battery flag
 * are worked out per read. Sorting by id in "C" collation compares bytes (ids are ASCII) instead of going
 * through the locale.
 * The maintenance window and the battery are hash joins on small sets rather than a probe per device.
 * On PostgreSQL the text comes in parts of LIST_PART sensors (~55 KB each) rather than one 2.7 MB value: the parts took 0.72× the
 * time of the single value on PostgreSQL 15 (`DATABASE_URL=postgres://… npm run bench:queries`). Our reading of why, not proven: a
 * multi-megabyte value is a fresh large allocation in the backend on every read (glibc maps it anew above its mmap
 * threshold, and each page is faulted in again); in a database session that first runs VACUUM, which raises that
 * threshold, the single value is as fast as the parts.
 */
export async function sensorsListJSON(db: Queryable | Db, scope: Set<number> | null = null): Promise<string> {
	const feature = `d.list_head
		              || ',"status":"' || ${STATUS} || '","last_seen":' || coalesce(d.last_seen_json, ${LAST_SEEN_JSON})
		              || ',"low_battery":' || (b.device_id IS NOT NULL)::text || '}}'`;
	const from = `FROM devices d
		       ${IN_MAINTENANCE}
		       ${LOW_BATTERY}
		       WHERE d.revoked_at IS NULL AND d.list_head IS NOT NULL
		         AND ($1::int[] IS NULL OR d.village_id = ANY($1::int[]))`;
	// PGlite: one value, ordered inside the aggregate — the numbering window the parts need costs it more than the
	// single value does (38.5 against 45.2 ms, 20 alternating rounds; on PostgreSQL 35.4 against 34.8 ms, where the
	// parts also avoid the large-value cost above; `npm run bench:queries`).
	const sql =
		'kind' in db && db.kind === 'pglite'
			? `SELECT string_agg(${feature}, ',' ORDER BY d.id COLLATE "C") AS part ${from}`
			: `SELECT string_agg(f, ',' ORDER BY n) AS part
		 FROM (SELECT row_number() OVER (ORDER BY d.id COLLATE "C") - 1 AS n, ${feature} AS f ${from}) x
		 GROUP BY n / ${LIST_PART} ORDER BY n / ${LIST_PART}`;
	const r = await db.query<{ part: string | null }>(sql, [scope ? [...scope] : null, LOW_BATTERY_MARK.battery_v, LOW_BATTERY_MARK.battery_pct]);
	return `{"type":"FeatureCollection","features":[${r.rows.map((x) => x.part ?? '').join(',')}]}`;
}

/** The sensor list as objects, for server code and tests; the route sends sensorsListJSON's text as it is. */
export async function sensorsGeoJSON(db: Queryable, scope: Set<number> | null = null): Promise<GeoJSON.FeatureCollection<GeoJSON.Point, SensorListProps>> {
	return JSON.parse(await sensorsListJSON(db, scope));
}

/** One sensor with all its latest values (its panel on the console); null if unknown, revoked or outside scope. */
export async function sensorDetail(db: Queryable, id: string, scope: Set<number> | null = null): Promise<GeoJSON.Feature<GeoJSON.Point, SensorDetailProps> | null> {
	const r = await db.query<{ id: string; name: string; kind: string; village_id: number | null; status: string; last_seen: Date | null; last_measured_at: Date | null; interval_s: number; lng: number; lat: number; low_battery: boolean }>(
		`SELECT d.id, d.name, d.kind, d.village_id, ${STATUS} AS status, d.last_seen, d.last_measured_at, d.interval_s, d.lng, d.lat, b.device_id IS NOT NULL AS low_battery
		 FROM devices d
		 ${IN_MAINTENANCE}
		 ${LOW_BATTERY}
		 WHERE d.id = $4 AND d.revoked_at IS NULL AND d.lng IS NOT NULL AND d.lat IS NOT NULL
		   AND ($1::int[] IS NULL OR d.village_id = ANY($1::int[]))`,
		[scope ? [...scope] : null, LOW_BATTERY_MARK.battery_v, LOW_BATTERY_MARK.battery_pct, id]
	);
	const row = r.rows[0];
	if (!row) return null;
	const lv = await db.query<{ metric: string; value: number; observed_at: Date; flags: number }>(
		'SELECT metric, value, observed_at, flags FROM latest_values WHERE device_id = $1 ORDER BY metric',
		[id]
	);
	const values: LatestValues = {};
	for (const v of lv.rows) values[v.metric] = { value: v.value, observed_at: new Date(v.observed_at).toISOString(), flags: v.flags };
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
			last_seen: row.last_seen ? new Date(row.last_seen).toISOString() : null,
			low_battery: row.low_battery,
			interval_s: row.interval_s,
			last_measured_at: row.last_measured_at ? new Date(row.last_measured_at).toISOString() : null,
			values
		}
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
