-- Late data and suspect data (issue 22 item 7).
-- An alarm the rules raised from readings that arrived after newer ones had been judged, or long after they were
-- observed (a device's buffer flushed after an outage): raised_at stays the observation time the rules judged at;
-- `late` marks it and `arrived_at` says when the readings that raised it reached the server.
ALTER TABLE alarms
	ADD COLUMN late        boolean NOT NULL DEFAULT false,
	ADD COLUMN arrived_at  timestamptz;

-- Readings' suspect bits (READING_FLAGS.SUSPECT_JUMP 4, SUSPECT_STUCK 8 in src/lib/domain/types.ts) live in the
-- existing readings.flags / latest_values.flags columns: no schema change.

-- The maintainer hears of suspect data the way they hear of unknown keys: one device notice per device, kind, metric
-- and local day, counted, with a sample value (src/lib/domain/suspect.ts says what counts as suspect).
ALTER TABLE device_notices DROP CONSTRAINT device_notices_kind_check;
ALTER TABLE device_notices ADD CONSTRAINT device_notices_kind_check CHECK (kind IN ('unknown_key', 'suspect_jump', 'suspect_stuck'));
