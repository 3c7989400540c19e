-- Setting up a real township (issue 8): boundary imports are staged for preview before anything is saved, and a
-- replaced village boundary is kept in history (a case opened last year was routed by last year's line).

-- An uploaded boundary file, converted and checked, waiting for the admin to look at the preview and confirm.
CREATE TABLE boundary_imports (
	id             bigserial PRIMARY KEY,
	created_at     timestamptz NOT NULL DEFAULT now(),
	actor_user_id  integer REFERENCES users(id),
	actor_name     text NOT NULL,
	file_name      text NOT NULL,
	format         text NOT NULL,
	crs            text NOT NULL,
	crs_why        jsonb NOT NULL,
	-- [{index, name, code, geometry (WGS-84), replaces: village id | null}]
	villages       jsonb NOT NULL,
	report         jsonb NOT NULL,
	confirmed_at   timestamptz
);

-- Earlier boundaries of a village, newest last. Append-only like the case record.
CREATE TABLE village_boundary_history (
	id             bigserial PRIMARY KEY,
	village_id     integer NOT NULL REFERENCES villages(id),
	name           text NOT NULL,
	division_code  text,
	boundary       jsonb NOT NULL,
	valid_from     timestamptz NOT NULL,
	replaced_at    timestamptz NOT NULL DEFAULT now(),
	replaced_by    text NOT NULL,
	import_id      bigint REFERENCES boundary_imports(id),
	source         text NOT NULL
);
CREATE INDEX village_boundary_history_village_idx ON village_boundary_history (village_id, replaced_at);
CREATE TRIGGER village_boundary_history_append_only BEFORE UPDATE OR DELETE ON village_boundary_history
	FOR EACH ROW EXECUTE FUNCTION shudi_append_only();

-- When the current boundary took effect (created_at for villages never replaced).
ALTER TABLE villages ADD COLUMN boundary_since timestamptz;
UPDATE villages SET boundary_since = created_at;
ALTER TABLE villages ALTER COLUMN boundary_since SET DEFAULT now();
ALTER TABLE villages ALTER COLUMN boundary_since SET NOT NULL;
