-- Setting up a real township (issue 8): boundary imports are staged for preview before anything is saved, and a
-- replaced village boundary is kept in history (a case opened last year was routed by last year's line).

-- An uploaded boundary file, converted and checked, waiting for the admin to look at the preview and confirm.
CREATE TABLE boundary_imports (
	id             bigserial PRIMARY KEY,
	created_at     timestamptz NOT NULL DEFAULT now(),
	actor_user_id  integer REFERENCES users(id),
	actor_name     text NOT NULL,
	file_name      text NOT NULL,
	format         text NOT NULL,
	crs            text NOT NULL,
	crs_why        jsonb NOT NULL,
	-- [{index, name, code, geometry (WGS-84), replaces: village id | null}]
	villages       jsonb NOT NULL,
	report         jsonb NOT NULL,
	confirmed_at   timestamptz
);

-- Earlier boundaries of a village, newest last. Append-only like the case record.
CREATE TABLE village_boundary_history (
	id             bigserial PRIMARY KEY,
	village_id     integer NOT NULL REFERENCES villages(id),
	name           text NOT NULL,
	division_code  text,
	boundary       jsonb NOT NULL,
	valid_from     timestamptz NOT NULL,
	replaced_at    timestamptz NOT NULL DEFAULT now(),
	replaced_by    text NOT NULL,
	import_id      bigint REFERENCES boundary_imports(id),
	source         text NOT NULL
);
CREATE INDEX village_boundary_history_village_idx ON village_boundary_history (village_id, replaced_at);
CREATE TRIGGER village_boundary_history_append_only BEFORE UPDATE OR DELETE ON village_boundary_history
	FOR EACH ROW EXECUTE FUNCTION shudi_append_only();

-- When the current boundary took effect (created_at for villages never replaced).
ALTER TABLE villages ADD COLUMN boundary_since timestamptz;
UPDATE villages SET boundary_since = created_at;
ALTER TABLE villages ALTER COLUMN boundary_since SET DEFAULT now();
ALTER TABLE villages ALTER COLUMN boundary_since SET NOT NULL;

-- Devices over their life: moved, re-thresholded, calibrated, held for maintenance, retired — each a device event.
ALTER TABLE device_events DROP CONSTRAINT device_events_kind_check;
ALTER TABLE device_events ADD CONSTRAINT device_events_kind_check CHECK (kind IN (
	'offline', 'online', 'registered', 'token_rotated', 'revoked',
	'moved', 'thresholds_changed', 'calibrated', 'maintenance_scheduled', 'maintenance_cancelled', 'retired'));

-- Maintenance windows: readings observed inside one are stored but never judged by the rules (no alarm while the
-- installer tilts the sensor), and the device shows as 维护中 on the map meanwhile.
CREATE TABLE device_maintenance (
	id            bigserial PRIMARY KEY,
	device_id     text NOT NULL REFERENCES devices(id),
	starts_at     timestamptz NOT NULL,
	ends_at       timestamptz NOT NULL,
	reason        text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
	created_by    text NOT NULL,
	created_at    timestamptz NOT NULL DEFAULT now(),
	cancelled_at  timestamptz,
	CHECK (ends_at > starts_at)
);
CREATE INDEX device_maintenance_device_idx ON device_maintenance (device_id, ends_at);

-- Retired: out of service for good (its credential is revoked too); kept for its readings and history.
ALTER TABLE devices ADD COLUMN retired_at timestamptz;
