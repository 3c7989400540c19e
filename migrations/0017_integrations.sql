-- Network-server integrations (issue 22 item 4): one account per ChirpStack application or The Things Stack
-- application, so a LoRaWAN network server can deliver uplinks over MQTT (an account on the embedded broker whose ACL
-- covers that application's topics only) or over HTTP (ChirpStack's HTTP integration, TTS webhooks: the same secret in
-- a header). The secret is shown once and stored as SHA-256 like device tokens (src/lib/server/devices/device-tokens.ts).
-- id is also the MQTT username; application_id is ChirpStack's application UUID or TTS's application id; tenant is the
-- TTS tenant (`ttn` on The Things Network; NULL for The Things Stack Open Source, whose topics carry no tenant).
CREATE TABLE integrations (
	id              text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{1,62}$'),
	kind            text NOT NULL CHECK (kind IN ('chirpstack', 'tts')),
	application_id  text NOT NULL CHECK (application_id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$'),
	tenant          text CHECK (tenant IS NULL OR tenant ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
	name            text NOT NULL DEFAULT '',
	secret_hash     text NOT NULL,
	created_at      timestamptz NOT NULL DEFAULT now(),
	revoked_at      timestamptz,
	CHECK (kind = 'tts' OR tenant IS NULL)
);
