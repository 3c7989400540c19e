-- The sensor list (GET /api/v1/sensors, sensorsListJSON in src/lib/server/queries.ts) writes each device's last_seen
-- as ISO-8601 UTC text. Formatting it with to_char for all 10,000 sensors on every read was ~8 ms of the embedded
-- database's ~44 ms statement and ~5 ms on PostgreSQL (BENCHMARKS.md, "Session 5"). The text is kept here instead,
-- written by a trigger whenever last_seen is written — by ingest at most every 5 s per device (ingest/writer.ts), so
-- the cost moves from every read of 10,000 rows to a few hundred rows a second at 15,000 messages a second.
--
-- The value is the JSON token itself: "YYYY-MM-DDTHH:MM:SS.mmmZ" with its quotes, or null — exactly what the list
-- wrote before (to_char on the UTC time, independent of the session's time zone).
ALTER TABLE devices ADD COLUMN last_seen_json text;

CREATE FUNCTION devices_last_seen_json() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.last_seen_json := CASE WHEN NEW.last_seen IS NULL THEN 'null'
		ELSE '"' || to_char(NEW.last_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"' END;
	RETURN NEW;
END $$;

CREATE TRIGGER devices_last_seen_json BEFORE INSERT OR UPDATE OF last_seen ON devices
	FOR EACH ROW EXECUTE FUNCTION devices_last_seen_json();

-- Existing rows: writing the column the trigger watches fills it.
UPDATE devices SET last_seen = last_seen;
