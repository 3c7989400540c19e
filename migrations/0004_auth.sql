-- Accounts, sessions, API tokens, login attempts and the audit log (issue 4).
-- Session ids and API tokens are random 256-bit values stored only as SHA-256: a stolen database copy holds no
-- usable credential. Passwords are argon2id (users.password_hash).

ALTER TABLE users ADD COLUMN password_changed_at timestamptz NOT NULL DEFAULT now();

CREATE TABLE sessions (
	id_hash       text PRIMARY KEY,
	user_id       integer NOT NULL REFERENCES users(id),
	created_at    timestamptz NOT NULL DEFAULT now(),
	expires_at    timestamptz NOT NULL,
	last_seen_at  timestamptz NOT NULL DEFAULT now(),
	ip            text,
	user_agent    text,
	revoked_at    timestamptz
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- Every login attempt, for rate limiting and for an admin to see who tried what.
CREATE TABLE login_attempts (
	id        bigserial PRIMARY KEY,
	at        timestamptz NOT NULL DEFAULT now(),
	username  text NOT NULL,
	ip        text,
	ok        boolean NOT NULL,
	reason    text
);
CREATE INDEX login_attempts_user_idx ON login_attempts (username, at DESC);
CREATE INDEX login_attempts_ip_idx ON login_attempts (ip, at DESC);

CREATE TABLE api_tokens (
	id            serial PRIMARY KEY,
	name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	token_hash    text NOT NULL UNIQUE,
	scopes        text[] NOT NULL CHECK (scopes <@ ARRAY['read', 'report']::text[] AND cardinality(scopes) > 0),
	created_by    integer REFERENCES users(id),
	created_at    timestamptz NOT NULL DEFAULT now(),
	last_used_at  timestamptz,
	revoked_at    timestamptz
);

-- Administrative changes. Append-only: the database refuses UPDATE and DELETE.
CREATE TABLE audit_log (
	id             bigserial PRIMARY KEY,
	at             timestamptz NOT NULL DEFAULT now(),
	actor_user_id  integer REFERENCES users(id),
	actor_name     text NOT NULL,
	action         text NOT NULL,
	target_type    text,
	target_id      text,
	detail         jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION shudi_append_only();
