-- Device health events (issue 3): offline/online transitions decided by ingest's own timer (never MQTT session
-- state), credential changes. Append-only like incident events, so other processes (web, rules) can follow them.
CREATE TABLE device_events (
	id          bigserial PRIMARY KEY,
	device_id   text NOT NULL REFERENCES devices(id),
	at          timestamptz NOT NULL DEFAULT now(),
	kind        text NOT NULL CHECK (kind IN ('offline', 'online', 'registered', 'token_rotated', 'revoked')),
	detail      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX device_events_device_idx ON device_events (device_id, at DESC);
CREATE INDEX device_events_at_idx ON device_events (at DESC);
CREATE TRIGGER device_events_append_only BEFORE UPDATE OR DELETE ON device_events
	FOR EACH ROW EXECUTE FUNCTION shudi_append_only();

-- Dead-letter replay (issue 3): the original row is kept; the outcome of a replay is noted beside it.
ALTER TABLE dead_letters ADD COLUMN replay_result text;
