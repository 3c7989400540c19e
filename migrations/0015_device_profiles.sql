-- Device profiles (DOMAIN.md "Device profiles"; src/lib/domain/device-profiles): how a device's payload becomes
-- readings. `profile` names a built-in profile (NULL = the payload already uses shudi metric names);
-- `profile_fields` is the device's own list of extra fields (an ultrasonic gauge's mount height, a key an admin
-- mapped from a dead letter), extending the named profile. The names and the fields are checked by the
-- application against the same schema the ingest uses; here only their shape, so the list of built-ins lives in
-- one place (the code).
ALTER TABLE devices ADD COLUMN profile text CHECK (profile ~ '^[a-z0-9][a-z0-9-]{1,63}$');
ALTER TABLE devices ADD COLUMN profile_fields jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(profile_fields) = 'array');
