-- Refused MQTT connections at the embedded broker, aggregated (src/lib/server/mqtt-refusals.ts): one row per
-- (minute, client id, username, reason) with the number of attempts and the first attempt's time and address. A device
-- retrying a bad password every second, or a scan trying thousands of client ids, adds a bounded number of rows: the
-- recorder caps the rows per minute (the rest go into one '*'/'over_cap' row) and prunes the oldest beyond a total.
-- username is '' when none was given; a token sent as the username is never stored (the broker passes '(token)').
CREATE TABLE mqtt_refusals (
	id             bigserial PRIMARY KEY,
	minute         timestamptz NOT NULL,
	client_id      text NOT NULL,
	username       text NOT NULL DEFAULT '',
	reason         text NOT NULL,
	attempts       integer NOT NULL CHECK (attempts > 0),
	first_at       timestamptz NOT NULL,
	first_address  text,
	UNIQUE (minute, client_id, username, reason)
);
CREATE INDEX mqtt_refusals_recent_idx ON mqtt_refusals (minute DESC, id DESC);
