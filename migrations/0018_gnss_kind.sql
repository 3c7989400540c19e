-- GNSS surface displacement (地表位移/GNSS) as a sensor kind: east, north and up in mm from the station's reference
-- position (DOMAIN.md "Sensor kinds"). The kind itself, its metrics, rules, defaults and names are in the sensor-kind
-- catalogue (src/lib/domain/sensor-kinds.ts); this list is the database's copy of its kinds, and
-- tests/unit/sensor-kinds.spec.ts fails when the two differ.
ALTER TABLE devices DROP CONSTRAINT devices_kind_check;
ALTER TABLE devices ADD CONSTRAINT devices_kind_check
	CHECK (kind IN ('river_level', 'house_tilt', 'crack', 'settlement', 'rain_gauge', 'displacement', 'soil_moisture', 'gnss_displacement'));
