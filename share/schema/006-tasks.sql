-- seqtools schema 6: manual tasks.
--
-- A step of type "task" (sequence(5)) is work for a person: a call, a
-- LinkedIn message.  seq-due opens one task per visit of the step (the
-- enrollment's cursor tells visits apart) and the enrollment waits, with
-- no next_run_at, until seq-task --done records its outcome: then the
-- task is closed, the step gets an execution (channel 'task', state
-- 'sent') and the outcome an event on it, so that branches and exit_on
-- read it as they read a provider's events, and the enrollment moves on.
--
-- title and notes are the step's templates rendered for the lead when the
-- task was opened; note is what the person wrote when closing it.  In a
-- sealed database (004-sealed.sql) all three are BLOBs sealed like a job,
-- bound to the task's id; in a plain one, text.

CREATE TABLE tasks (
	id INTEGER PRIMARY KEY,
	enrollment_id INTEGER NOT NULL REFERENCES enrollments(id),
	lead_id INTEGER NOT NULL REFERENCES leads(id),
	step TEXT NOT NULL,
	cursor INTEGER NOT NULL,
	kind TEXT,
	title NOT NULL,
	notes,
	created_at INTEGER NOT NULL,
	done_at INTEGER,
	outcome TEXT,
	note,
	execution_id INTEGER REFERENCES sequence_executions(id),
	CHECK ((done_at IS NULL) = (outcome IS NULL)),
	UNIQUE (enrollment_id, cursor)
);
-- seq-task --list reads the open ones, oldest first.
CREATE INDEX tasks_open ON tasks(created_at) WHERE done_at IS NULL;
CREATE INDEX tasks_lead ON tasks(lead_id);

-- A task shows in the timeline when it is opened and when it is done; its
-- title and note only where they are kept in clear.
DROP VIEW timeline;
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
	    coalesce(x.channel, v.channel), e.id, x.id,
	    json_object('provider', v.provider, 'provider_event_id',
	    v.provider_event_id, 'details', json(v.details)), v.id
	FROM events v
	LEFT JOIN sequence_executions x ON x.id = v.execution_id
	LEFT JOIN enrollments e ON e.id = x.enrollment_id
	LEFT JOIN sequences s ON s.id = e.sequence_id
	UNION ALL
	SELECT k.lead_id, k.at, 'consent', k.state, NULL, NULL, NULL, k.channel,
	    NULL, NULL, json_object('source', k.source, 'evidence', k.evidence),
	    k.id
	FROM consent k
	UNION ALL
	SELECT t.lead_id, t.created_at, 'task', 'open', s.name, e.version,
	    t.step, 'task', e.id, NULL,
	    json_object('task_id', t.id, 'kind', t.kind, 'title',
	    CASE WHEN typeof(t.title) = 'text' THEN t.title END), t.id
	FROM tasks t
	JOIN enrollments e ON e.id = t.enrollment_id
	JOIN sequences s ON s.id = e.sequence_id
	UNION ALL
	SELECT t.lead_id, t.done_at, 'task', 'done', s.name, e.version, t.step,
	    'task', e.id, t.execution_id,
	    json_object('task_id', t.id, 'kind', t.kind, 'outcome', t.outcome,
	    'note', CASE WHEN typeof(t.note) = 'text' THEN t.note END), t.id
	FROM tasks t
	JOIN enrollments e ON e.id = t.enrollment_id
	JOIN sequences s ON s.id = e.sequence_id
	WHERE t.done_at IS NOT NULL;

PRAGMA user_version = 6;
