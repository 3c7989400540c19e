-- Schema backbone (issue 2). Plain PostgreSQL: runs unchanged on PostgreSQL 15+, TimescaleDB and the embedded PGlite.
-- Geometry is GeoJSON in jsonb with a bounding box beside it; point-in-polygon runs in geo/ (no PostGIS needed).

-- The township itself and other map features drawn from the project's own data (offline basemap).
CREATE TABLE map_features (
	id          serial PRIMARY KEY,
	kind        text NOT NULL CHECK (kind IN ('township', 'river', 'road')),
	name        text NOT NULL,
	geometry    jsonb NOT NULL,
	props       jsonb NOT NULL DEFAULT '{}'::jsonb,
	created_at  timestamptz NOT NULL DEFAULT now()
);

-- 行政村 with its boundary (Polygon or MultiPolygon, WGS-84 / CGCS2000) and optional 12-digit division code.
CREATE TABLE villages (
	id             serial PRIMARY KEY,
	name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	division_code  text UNIQUE CHECK (division_code ~ '^[0-9]{12}$'),
	boundary       jsonb NOT NULL CHECK (boundary->>'type' IN ('Polygon', 'MultiPolygon')),
	bbox           float8[] NOT NULL CHECK (array_length(bbox, 1) = 4),
	is_demo        boolean NOT NULL DEFAULT false,
	created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cadres (
	id          serial PRIMARY KEY,
	name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	phone       text CHECK (phone ~ '^[0-9+ -]{3,20}$'),
	position    text,
	created_at  timestamptz NOT NULL DEFAULT now()
);

-- 包村 responsibility: who answered for which village, in which role, when. Never deleted: cases are judged against
-- the assignment valid at the time.
CREATE TABLE assignments (
	id          serial PRIMARY KEY,
	cadre_id    integer NOT NULL REFERENCES cadres(id),
	village_id  integer NOT NULL REFERENCES villages(id),
	role        text NOT NULL CHECK (role IN ('lead', 'cadre', 'secretary', 'director', 'grid')),
	valid_from  timestamptz NOT NULL,
	valid_to    timestamptz,
	CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE INDEX assignments_village_idx ON assignments (village_id, valid_from);
CREATE INDEX assignments_cadre_idx ON assignments (cadre_id);

-- 值班表: one duty officer and one duty leader per day.
CREATE TABLE duty_roster (
	day         date PRIMARY KEY,
	officer_id  integer REFERENCES cadres(id),
	leader_id   integer REFERENCES cadres(id)
);

-- Devices (one device = one sensor site). token_hash is SHA-256 of a 256-bit random token: tokens are
-- machine-generated and high-entropy, so a fast hash is safe and lets the broker look a token up per connection.
CREATE TABLE devices (
	id           text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$'),
	name         text NOT NULL,
	kind         text NOT NULL CHECK (kind IN ('river_level', 'house_tilt', 'crack', 'settlement', 'rain_gauge', 'displacement', 'soil_moisture')),
	lng          float8 CHECK (lng BETWEEN -180 AND 180),
	lat          float8 CHECK (lat BETWEEN -90 AND 90),
	village_id   integer REFERENCES villages(id),
	interval_s   integer NOT NULL DEFAULT 600 CHECK (interval_s > 0),
	token_hash   text UNIQUE,
	dev_eui      text UNIQUE CHECK (dev_eui ~ '^[0-9a-f]{16}$'),
	thresholds   jsonb NOT NULL DEFAULT '{}'::jsonb,
	baseline     jsonb,
	status       text NOT NULL DEFAULT 'unknown'
	             CHECK (status IN ('normal', 'blue', 'yellow', 'orange', 'red', 'offline', 'unknown', 'maintenance')),
	last_seen    timestamptz,
	revoked_at   timestamptz,
	is_demo      boolean NOT NULL DEFAULT false,
	created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX devices_village_idx ON devices (village_id);

-- Readings: narrow (one row per device, metric, time) and idempotent on that key, so at-least-once delivery
-- stores each observation once. Becomes a hypertable in 0002 where TimescaleDB exists.
CREATE TABLE readings (
	device_id    text NOT NULL,
	metric       text NOT NULL,
	observed_at  timestamptz NOT NULL,
	value        float8 NOT NULL,
	received_at  timestamptz NOT NULL,
	flags        smallint NOT NULL DEFAULT 0,
	seq          bigint,
	PRIMARY KEY (device_id, metric, observed_at)
);
CREATE INDEX readings_time_idx ON readings (observed_at DESC);

-- Latest value per device and metric, maintained per batch by ingest, so the map never scans readings.
CREATE TABLE latest_values (
	device_id    text NOT NULL,
	metric       text NOT NULL,
	observed_at  timestamptz NOT NULL,
	value        float8 NOT NULL,
	received_at  timestamptz NOT NULL,
	flags        smallint NOT NULL DEFAULT 0,
	PRIMARY KEY (device_id, metric)
);

-- Everything that could not be stored, with the raw bytes, so nothing a device sends vanishes without a trace.
CREATE TABLE dead_letters (
	id           bigserial PRIMARY KEY,
	received_at  timestamptz NOT NULL DEFAULT now(),
	topic        text NOT NULL,
	payload      bytea NOT NULL,
	reason       text NOT NULL,
	detail       text,
	device_id    text,
	replayed_at  timestamptz
);
CREATE INDEX dead_letters_reason_idx ON dead_letters (reason, received_at DESC);
CREATE INDEX dead_letters_device_idx ON dead_letters (device_id, received_at DESC);

CREATE TABLE users (
	id             serial PRIMARY KEY,
	username       text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9_.-]{2,64}$'),
	password_hash  text NOT NULL,
	display_name   text NOT NULL,
	roles          text[] NOT NULL CHECK (roles <@ ARRAY['admin', 'leader', 'duty', 'cadre']::text[]),
	cadre_id       integer REFERENCES cadres(id),
	is_demo        boolean NOT NULL DEFAULT false,
	disabled_at    timestamptz,
	created_at     timestamptz NOT NULL DEFAULT now()
);

-- Incidents (事件/案件). Status flow per DOMAIN.md; the record of who did what lives in incident_events.
CREATE TABLE incidents (
	id           bigserial PRIMARY KEY,
	source       text NOT NULL CHECK (source IN ('sensor', 'device_health', 'field_report', 'hotline')),
	category     text NOT NULL CHECK (category IN ('flood', 'housing', 'geohazard', 'fire', 'dispute', 'device', 'other')),
	level        text CHECK (level IN ('blue', 'yellow', 'orange', 'red')),
	status       text NOT NULL DEFAULT 'reported'
	             CHECK (status IN ('reported', 'accepted', 'dispatched', 'in_progress', 'resolved', 'closed', 'rejected')),
	title        text NOT NULL,
	village_id   integer REFERENCES villages(id),
	device_id    text REFERENCES devices(id),
	lng          float8,
	lat          float8,
	opened_at    timestamptz NOT NULL DEFAULT now(),
	ack_due      timestamptz,
	resolve_due  timestamptz,
	closed_at    timestamptz,
	is_demo      boolean NOT NULL DEFAULT false
);
CREATE INDEX incidents_open_idx ON incidents (status, opened_at DESC);
CREATE INDEX incidents_village_idx ON incidents (village_id, opened_at DESC);

-- Every step of a case: append-only. The database itself refuses UPDATE and DELETE (trigger below), so the record
-- leaders review cannot be rewritten after the fact.
CREATE TABLE incident_events (
	id           bigserial PRIMARY KEY,
	incident_id  bigint NOT NULL REFERENCES incidents(id),
	at           timestamptz NOT NULL DEFAULT now(),
	actor_user_id integer REFERENCES users(id),
	actor_name   text NOT NULL,
	action       text NOT NULL,
	from_status  text,
	to_status    text,
	note         text,
	lng          float8,
	lat          float8,
	attachments  jsonb NOT NULL DEFAULT '[]'::jsonb
);
CREATE INDEX incident_events_incident_idx ON incident_events (incident_id, at);

CREATE FUNCTION shudi_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END
$$;
CREATE TRIGGER incident_events_append_only BEFORE UPDATE OR DELETE ON incident_events
	FOR EACH ROW EXECUTE FUNCTION shudi_append_only();
