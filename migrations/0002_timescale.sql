-- TimescaleDB where it exists (issue 2): readings become a hypertable with compression and retention.
-- On plain PostgreSQL and the embedded PGlite this migration changes nothing; the indexes from 0001 serve instead.
-- Defaults: 7-day chunks; compress chunks older than 7 days, segmented by device (queries are per device);
-- keep raw readings 2 years (long ranges come from downsampled data, issue 6).
DO $$
BEGIN
	IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
		CREATE EXTENSION IF NOT EXISTS timescaledb;
		PERFORM create_hypertable('readings', 'observed_at', chunk_time_interval => interval '7 days', migrate_data => true);
		ALTER TABLE readings SET (timescaledb.compress, timescaledb.compress_segmentby = 'device_id, metric',
			timescaledb.compress_orderby = 'observed_at DESC');
		PERFORM add_compression_policy('readings', interval '7 days');
		PERFORM add_retention_policy('readings', interval '2 years');
	END IF;
END
$$;
