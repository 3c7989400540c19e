-- Honest status (issue 22): only a measurement makes a sensor normal. Radio metadata (rssi_dbm, snr_db from the network
-- server), battery and other health values still arrive and are stored, but a gauge that sends only those is
-- 'no_data' (无测量数据), never green. The rules are in src/lib/domain/device-health.ts (deviceStatusOnMessage,
-- deviceStatusOnTimer); ingest/writer.ts and ingest/offline.ts apply them.

-- The new status.
ALTER TABLE devices DROP CONSTRAINT devices_status_check;
ALTER TABLE devices ADD CONSTRAINT devices_status_check
	CHECK (status IN ('normal', 'blue', 'yellow', 'orange', 'red', 'no_data', 'offline', 'unknown', 'maintenance'));

-- When the newest measurement of the device's own kind was observed (never later than it was received). last_seen
-- keeps meaning "anything heard"; the offline timer counts this one.
ALTER TABLE devices ADD COLUMN last_measured_at timestamptz;

-- Existing devices: their newest stored measurement, from the latest values. The kinds' metrics as they stand at this
-- migration (src/lib/domain/metrics.ts KIND_METRICS); later kinds have no devices yet.
UPDATE devices d SET last_measured_at = lv.at
FROM (SELECT lv.device_id, max(LEAST(lv.observed_at, lv.received_at)) AS at
      FROM latest_values lv JOIN devices dd ON dd.id = lv.device_id
      JOIN (VALUES ('river_level', 'water_level_m'), ('house_tilt', 'tilt_x_deg'), ('house_tilt', 'tilt_y_deg'),
                   ('crack', 'crack_mm'), ('settlement', 'settlement_mm'), ('rain_gauge', 'rain_mm'),
                   ('displacement', 'displacement_mm'), ('soil_moisture', 'soil_moisture_pct')) AS k(kind, metric)
        ON k.kind = dd.kind AND k.metric = lv.metric
      GROUP BY lv.device_id) lv
WHERE d.id = lv.device_id;

-- The moment a sensor stops measuring (or starts talking without measuring) is part of its history, like offline.
ALTER TABLE device_events DROP CONSTRAINT device_events_kind_check;
ALTER TABLE device_events ADD CONSTRAINT device_events_kind_check CHECK (kind IN (
	'offline', 'online', 'registered', 'token_rotated', 'revoked',
	'moved', 'thresholds_changed', 'calibrated', 'maintenance_scheduled', 'maintenance_cancelled', 'retired',
	'no_data'));

-- Device-health notices to the admin: a known device sent a key no profile maps (an 'unknown_metric' dead letter with
-- the device's id). One row per device, key and local day (TZ_DISPLAY), counted, with a sample value: the admin hears
-- of it once a day per key, and the key is never dropped silently.
CREATE TABLE device_notices (
	id         bigserial PRIMARY KEY,
	device_id  text NOT NULL REFERENCES devices(id),
	kind       text NOT NULL CHECK (kind IN ('unknown_key')),
	key        text NOT NULL CHECK (length(key) <= 200),
	day        date NOT NULL,
	first_at   timestamptz NOT NULL,
	last_at    timestamptz NOT NULL,
	count      integer NOT NULL CHECK (count > 0),
	sample     text,
	UNIQUE (device_id, kind, key, day)
);
CREATE INDEX device_notices_day_idx ON device_notices (day DESC, last_at DESC);
