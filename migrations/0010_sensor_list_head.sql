-- The sensor list (GET /api/v1/sensors, sensorsListJSON in src/lib/server/queries.ts) is written by PostgreSQL as one
-- JSON text. Most of each sensor's text is its position and identity (id, name, kind, village), which change only
-- when the device is registered, moved or renamed; building it for all 10,000 sensors on every read was most of the
-- read's time (BENCHMARKS.md, "Session 4 (issue 6)"). It is kept here, written by a trigger whenever one of those
-- columns is written, whatever code writes it (admin pages, CLI, imports, the demo and bench fixtures). The reading
-- path (last_seen, status) never writes these columns, so the ingest's per-batch updates do not fire the trigger.
--
-- The text is the Feature up to and including "village_id":…; the list appends status, last_seen and low_battery
-- and closes it. NULL without a position (such devices are not in the list). Same escaping as the list had:
-- id, kind are constrained to characters JSON needs no escape for (0001), the name goes through to_json.
ALTER TABLE devices ADD COLUMN list_head text;

CREATE FUNCTION devices_list_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.list_head := CASE WHEN NEW.lng IS NULL OR NEW.lat IS NULL THEN NULL ELSE
		'{"type":"Feature","id":"' || NEW.id
		|| '","geometry":{"type":"Point","coordinates":[' || NEW.lng::text || ',' || NEW.lat::text || ']}'
		|| ',"properties":{"id":"' || NEW.id || '","name":' || to_json(NEW.name)::text
		|| ',"kind":"' || NEW.kind || '","village_id":' || coalesce(NEW.village_id::text, 'null') END;
	RETURN NEW;
END $$;

CREATE TRIGGER devices_list_head BEFORE INSERT OR UPDATE OF id, name, kind, village_id, lng, lat ON devices
	FOR EACH ROW EXECUTE FUNCTION devices_list_head();

-- Existing rows: writing a column the trigger watches fills it.
UPDATE devices SET id = id;
