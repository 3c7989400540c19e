-- Drop the cross-device time index on readings (issue 3 benchmark): it cost about 30 % of insert throughput, and
-- every query the product makes is per device, served by the primary key (device_id, metric, observed_at).
-- On TimescaleDB the hypertable keeps its own time index per chunk.
DROP INDEX IF EXISTS readings_time_idx;
