-- seqtools schema 1: leads, consent, sequences, enrollments, executions,
-- events, adapter counters, and the timeline as a view over them.
-- Times are integer seconds since the epoch, UTC.
--
-- CHECK constraints and partial-index predicates are evaluated on every
-- write of a row, so they use plain comparisons: SQLite builds a temporary
-- table for each evaluation of an IN list, which cost more than the write.

CREATE TABLE meta (
	key TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE leads (
	id INTEGER PRIMARY KEY,
	external_id TEXT UNIQUE,
	email TEXT,
	phone TEXT,
	first_name TEXT,
	last_name TEXT,
	company TEXT,
	title TEXT,
	timezone TEXT,
	attributes TEXT NOT NULL DEFAULT '{}',
	badges TEXT NOT NULL DEFAULT '[]',
	quality INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX leads_email ON leads(email);
CREATE INDEX leads_phone ON leads(phone);

-- Append-only: the current state of a lead's consent for a channel is its
-- newest row.
CREATE TABLE consent (
	id INTEGER PRIMARY KEY,
	lead_id INTEGER NOT NULL REFERENCES leads(id),
	channel TEXT NOT NULL CHECK (channel = 'email' OR channel = 'sms' OR
	    channel = 'voice'),
	state TEXT NOT NULL CHECK (state = 'opt-in' OR state = 'opt-out'),
	source TEXT NOT NULL,
	evidence TEXT,
	at INTEGER NOT NULL
);
CREATE INDEX consent_lead ON consent(lead_id, channel, id);

CREATE TABLE sequences (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	created_at INTEGER NOT NULL
);

-- Versions are immutable: rows are only ever inserted.
CREATE TABLE sequence_versions (
	sequence_id INTEGER NOT NULL REFERENCES sequences(id),
	version INTEGER NOT NULL,
	definition TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (sequence_id, version)
) WITHOUT ROWID;

-- step is the current step's id (NULL once past the last); cursor counts the
-- steps the enrollment has entered, so a step visited twice in a loop gets a
-- new idempotency key; claim is the execution holding the enrollment.
CREATE TABLE enrollments (
	id INTEGER PRIMARY KEY,
	lead_id INTEGER NOT NULL REFERENCES leads(id),
	sequence_id INTEGER NOT NULL,
	version INTEGER NOT NULL,
	status TEXT NOT NULL CHECK (status = 'active' OR status = 'paused' OR
	    status = 'completed' OR status = 'cancelled' OR
	    status = 'converted' OR status = 'exited' OR status = 'failed'),
	step TEXT,
	cursor INTEGER NOT NULL DEFAULT 1,
	attempt INTEGER NOT NULL DEFAULT 1,
	step_at INTEGER NOT NULL,
	next_run_at INTEGER,
	claim INTEGER,
	value REAL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	FOREIGN KEY (sequence_id, version)
	    REFERENCES sequence_versions(sequence_id, version)
);
CREATE UNIQUE INDEX enrollments_open ON enrollments(lead_id, sequence_id)
	WHERE status = 'active' OR status = 'paused';
CREATE INDEX enrollments_due ON enrollments(next_run_at)
	WHERE status = 'active' AND claim IS NULL;
CREATE INDEX enrollments_lead ON enrollments(lead_id);

CREATE TABLE enrollment_changes (
	id INTEGER PRIMARY KEY,
	enrollment_id INTEGER NOT NULL REFERENCES enrollments(id),
	at INTEGER NOT NULL,
	status TEXT NOT NULL,
	reason TEXT
);
CREATE INDEX enrollment_changes_enrollment ON enrollment_changes(enrollment_id);

-- One row per attempt.  state moves claimed -> sending -> sent | failed |
-- retry, or claimed -> released (the enrollment stopped before sending),
-- or sending -> unknown when the lease ends with no outcome recorded;
-- skipped rows are written as skipped.  Rows stay thin because they are
-- updated on every move; the job line lives in execution_jobs.
CREATE TABLE sequence_executions (
	id INTEGER PRIMARY KEY,
	key TEXT NOT NULL UNIQUE,
	enrollment_id INTEGER NOT NULL REFERENCES enrollments(id),
	lead_id INTEGER NOT NULL,
	step TEXT NOT NULL,
	channel TEXT NOT NULL,
	attempt INTEGER NOT NULL,
	sender TEXT,
	recipient TEXT,
	state TEXT NOT NULL CHECK (state = 'claimed' OR state = 'sending' OR
	    state = 'sent' OR state = 'failed' OR state = 'retry' OR
	    state = 'skipped' OR state = 'unknown' OR state = 'released'),
	adapter TEXT,
	provider_id TEXT,
	http_status INTEGER,
	error TEXT,
	cost REAL,
	latency_ms INTEGER,
	metadata TEXT,
	claimed_at INTEGER NOT NULL,
	lease INTEGER,
	lease_until INTEGER,
	sending_at INTEGER,
	done_at INTEGER
);
CREATE INDEX executions_lease ON sequence_executions(lease_until)
	WHERE state = 'claimed' OR state = 'sending';
CREATE INDEX executions_enrollment ON sequence_executions(enrollment_id, step);
CREATE INDEX executions_day ON sequence_executions(claimed_at, channel);
CREATE INDEX executions_unknown ON sequence_executions(id)
	WHERE state = 'unknown';

-- The job line of a claimed execution as seq-due wrote it: written once,
-- read again only to emit the same job after its lease ended.
CREATE TABLE execution_jobs (
	execution_id INTEGER PRIMARY KEY REFERENCES sequence_executions(id),
	job TEXT NOT NULL
);

-- Engagement, deduplicated by the provider's own event id.
CREATE TABLE events (
	id INTEGER PRIMARY KEY,
	provider TEXT NOT NULL,
	provider_event_id TEXT NOT NULL,
	type TEXT NOT NULL,
	at INTEGER NOT NULL,
	execution_id INTEGER REFERENCES sequence_executions(id),
	lead_id INTEGER REFERENCES leads(id),
	details TEXT,
	UNIQUE (provider, provider_event_id)
);
CREATE INDEX events_execution ON events(execution_id, type);
CREATE INDEX events_lead ON events(lead_id, type, at);

-- Monotonic per-adapter counters: never derived from rows that can go.
CREATE TABLE adapter_counters (
	adapter TEXT NOT NULL,
	channel TEXT NOT NULL,
	outcome TEXT NOT NULL,
	count INTEGER NOT NULL,
	latency_ms_sum INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (adapter, channel, outcome)
) WITHOUT ROWID;

CREATE VIEW timeline AS
	SELECT e.lead_id AS lead_id, c.at AS at, 'enrollment' AS kind,
	    c.status AS what, s.name AS sequence, e.version AS version,
	    e.step AS step, NULL AS channel, e.id AS enrollment_id,
	    NULL AS execution_id, json_object('reason', c.reason) AS details,
	    c.id AS ord
	FROM enrollment_changes c
	JOIN enrollments e ON e.id = c.enrollment_id
	JOIN sequences s ON s.id = e.sequence_id
	UNION ALL
	SELECT e.lead_id, coalesce(x.done_at, x.sending_at, x.claimed_at),
	    'step', x.state, s.name, e.version, x.step, x.channel, e.id, x.id,
	    json_object('key', x.key, 'attempt', x.attempt, 'adapter',
	    x.adapter, 'provider_id', x.provider_id, 'http_status',
	    x.http_status, 'error', x.error, 'cost', x.cost, 'latency_ms',
	    x.latency_ms, 'metadata', json(x.metadata)), x.id
	FROM sequence_executions x
	JOIN enrollments e ON e.id = x.enrollment_id
	JOIN sequences s ON s.id = e.sequence_id
	UNION ALL
	SELECT v.lead_id, v.at, 'event', v.type, s.name, e.version, x.step,
	    x.channel, e.id, x.id,
	    json_object('provider', v.provider, 'provider_event_id',
	    v.provider_event_id, 'details', json(v.details)), v.id
	FROM events v
	LEFT JOIN sequence_executions x ON x.id = v.execution_id
	LEFT JOIN enrollments e ON e.id = x.enrollment_id
	LEFT JOIN sequences s ON s.id = e.sequence_id;

PRAGMA user_version = 1;
