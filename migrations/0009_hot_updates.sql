-- Room for HOT updates on the rows ingest rewrites in every batch (issue 3, BENCHMARKS.md). latest_values holds
-- one row per device and metric and is updated for every series that reported in a batch; devices.last_seen is
-- updated every few seconds per device. With full pages (fillfactor 100) each such update writes a new tuple on
-- another page and a new entry in every index; with free room on the page PostgreSQL updates in place (a
-- heap-only tuple) when no indexed column changes, which is the case for both. The rollup tables got the same
-- treatment in 0007. Applies to pages written from now on; these tables are small and rewritten by use.
ALTER TABLE latest_values SET (fillfactor = 50);
ALTER TABLE devices SET (fillfactor = 70);
