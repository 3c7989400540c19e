-- Downsampled readings (issue 6: "Long ranges come from downsampled data … never a scan of raw rows"): hourly and
-- daily count / sum / min / max / last per device and metric. The batch writer (ingest/writer.ts) keeps them up in the
-- same transaction as the readings INSERT, adding only the rows that INSERT actually stored, so a redelivered reading
-- (at-least-once MQTT) is never counted twice and a rollup is always exactly the aggregate of its raw rows.
--
-- The same tables serve PostgreSQL, PGlite and TimescaleDB. On TimescaleDB the native alternative is a continuous
-- aggregate (CREATE MATERIALIZED VIEW … WITH (timescaledb.continuous) over time_bucket('1 hour', observed_at), created
-- WITH NO DATA, plus add_continuous_aggregate_policy); it is not used here because it would make the history API's
-- query differ per back end and would lag behind the live data by its refresh policy, while these rows are exact at
-- commit. Raw retention (0002: 2 years) does not touch them, so the 1-year view outlives the raw rows it came from.
-- Buckets are UTC hours and UTC days (date_trunc on timestamptz in a UTC session); the daily bucket is a UTC day, which
-- for the 1-year chart is fine at a glance and keeps the rollup independent of any display time zone.
-- fillfactor 70: every batch updates the current bucket of each reporting series in place; room left on the page
-- lets PostgreSQL make those HOT updates (no index change: only unindexed columns change). It took the measured
-- rollup cost of a 5000-row batch from about +100 ms to about +60 ms (npm run bench:rollup, BENCHMARKS.md).

CREATE TABLE readings_hourly (
	device_id   text NOT NULL,
	metric      text NOT NULL,
	bucket      timestamptz NOT NULL,
	n           integer NOT NULL,
	sum         float8 NOT NULL,
	min         float8 NOT NULL,
	max         float8 NOT NULL,
	last_at     timestamptz NOT NULL,
	last_value  float8 NOT NULL,
	PRIMARY KEY (device_id, metric, bucket)
) WITH (fillfactor = 70);

CREATE TABLE readings_daily (
	device_id   text NOT NULL,
	metric      text NOT NULL,
	bucket      timestamptz NOT NULL,
	n           integer NOT NULL,
	sum         float8 NOT NULL,
	min         float8 NOT NULL,
	max         float8 NOT NULL,
	last_at     timestamptz NOT NULL,
	last_value  float8 NOT NULL,
	PRIMARY KEY (device_id, metric, bucket)
) WITH (fillfactor = 70);

-- Readings stored before this migration: roll them up once, so history is continuous across the upgrade.
INSERT INTO readings_hourly (device_id, metric, bucket, n, sum, min, max, last_at, last_value)
SELECT device_id, metric, date_trunc('hour', observed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', count(*), sum(value), min(value), max(value),
       max(observed_at), (array_agg(value ORDER BY observed_at DESC))[1]
FROM readings GROUP BY 1, 2, 3;

INSERT INTO readings_daily (device_id, metric, bucket, n, sum, min, max, last_at, last_value)
SELECT device_id, metric, date_trunc('day', observed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', count(*), sum(value), min(value), max(value),
       max(observed_at), (array_agg(value ORDER BY observed_at DESC))[1]
FROM readings GROUP BY 1, 2, 3;
