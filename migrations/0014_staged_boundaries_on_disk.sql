-- Staged boundary geometry lives in files under DATA_DIR/staging, written and read by the worker thread (issue 21):
-- on the embedded database every statement runs on the thread that also serves pages, broker and ingest, and a
-- million-vertex preview was a 39 MB jsonb write and read. The staging row keeps only what the admin reads (names,
-- codes, the report) and the name of its files.
ALTER TABLE boundary_imports ADD COLUMN staged_file text;
ALTER TABLE boundary_imports ADD COLUMN preview jsonb;

-- Geometry already staged in rows is dropped: an unconfirmed import from before has no file and asks to be uploaded
-- again; a confirmed one's lines are in villages and village_boundary_history.
UPDATE boundary_imports
SET villages = (SELECT coalesce(jsonb_agg(v - 'geometry' ORDER BY n), '[]'::jsonb) FROM jsonb_array_elements(villages) WITH ORDINALITY AS e(v, n))
WHERE villages::text LIKE '%"geometry"%';

-- The village ids a confirm writes, recorded before its first batch: a save cut off part-way is finished by
-- confirming again, writing the same villages and skipping those already saved.
ALTER TABLE boundary_imports ADD COLUMN village_ids integer[];
