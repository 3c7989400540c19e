-- Alarms, cases (incidents) with routing and escalation state, follow-up tasks, attachments, outbound webhooks
-- (issue 5). The incidents row is the current state of a case; its history is the append-only incident_events.

-- One active alarm per sensor and rule (sensor state); it rises and falls between levels and clears with a time.
CREATE TABLE alarms (
	id                bigserial PRIMARY KEY,
	device_id         text NOT NULL REFERENCES devices(id),
	rule              text NOT NULL,
	level             text NOT NULL CHECK (level IN ('blue', 'yellow', 'orange', 'red')),
	value             float8,
	threshold         float8,
	detail            text,
	raised_at         timestamptz NOT NULL,
	level_changed_at  timestamptz NOT NULL,
	cleared_at        timestamptz,
	incident_id       bigint REFERENCES incidents(id)
);
CREATE UNIQUE INDEX alarms_one_active ON alarms (device_id, rule) WHERE cleared_at IS NULL;
CREATE INDEX alarms_incident_idx ON alarms (incident_id);

ALTER TABLE incidents
	ADD COLUMN description      text,
	ADD COLUMN reporter_name    text,
	ADD COLUMN acknowledged_at  timestamptz,
	ADD COLUMN resolved_at      timestamptz,
	ADD COLUMN arrived_at       timestamptz,
	ADD COLUMN reopened_count   integer NOT NULL DEFAULT 0,
	-- Escalation (DOMAIN.md): 0 = L1 包村干部, 1 = L2 包村领导, 2 = L3 值班领导; -1 = duty officer (outside every village).
	ADD COLUMN escalation_level integer NOT NULL DEFAULT 0,
	-- The durable scheduler's next look at this case (escalation, reminders); NULL once acknowledged.
	ADD COLUMN next_check_at    timestamptz,
	-- Who answered for the village when the case opened: judged against this, whatever changes later.
	ADD COLUMN responsible      jsonb NOT NULL DEFAULT '[]'::jsonb,
	ADD COLUMN assignee_cadre_id integer REFERENCES cadres(id),
	-- 矛盾纠纷: parties and agreement.
	ADD COLUMN dispute          jsonb;
CREATE INDEX incidents_due_idx ON incidents (next_check_at) WHERE next_check_at IS NOT NULL;
CREATE INDEX incidents_device_open_idx ON incidents (device_id) WHERE status NOT IN ('closed', 'rejected');

-- 回访 and other follow-up tasks with due dates.
CREATE TABLE followups (
	id           bigserial PRIMARY KEY,
	incident_id  bigint NOT NULL REFERENCES incidents(id),
	due_at       timestamptz NOT NULL,
	done_at      timestamptz,
	note         text,
	created_by   integer REFERENCES users(id),
	created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX followups_due_idx ON followups (due_at) WHERE done_at IS NULL;

CREATE TABLE attachments (
	id           bigserial PRIMARY KEY,
	incident_id  bigint NOT NULL REFERENCES incidents(id),
	file_name    text NOT NULL,
	mime         text NOT NULL,
	bytes        integer NOT NULL,
	sha256       text NOT NULL,
	uploaded_by  integer REFERENCES users(id),
	created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhooks (
	id          serial PRIMARY KEY,
	name        text NOT NULL,
	url         text NOT NULL CHECK (url ~ '^https?://'),
	format      text NOT NULL CHECK (format IN ('wecom', 'dingtalk', 'json')),
	enabled     boolean NOT NULL DEFAULT true,
	created_at  timestamptz NOT NULL DEFAULT now()
);

-- Outbox: every notification to deliver, retried with back-off by its own worker, never on the alarm path.
CREATE TABLE webhook_deliveries (
	id               bigserial PRIMARY KEY,
	webhook_id       integer NOT NULL REFERENCES webhooks(id),
	event            jsonb NOT NULL,
	status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
	attempts         integer NOT NULL DEFAULT 0,
	next_attempt_at  timestamptz NOT NULL DEFAULT now(),
	last_error       text,
	created_at       timestamptz NOT NULL DEFAULT now(),
	sent_at          timestamptz
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
