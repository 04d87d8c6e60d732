-- seqtools schema 10: frequency caps and catch-up (sequence(5),
-- seqtools-config(5)).
--
-- SEQ_LEAD_CAP counts a lead's attempts on a channel over a sliding
-- window, in every sequence: seq-due reads them by lead and time.
CREATE INDEX executions_lead ON sequence_executions(lead_id, claimed_at);

-- What a cap put off (what = 'deferred': the step waits until until_at,
-- due_at being when it was due), or what the catch-up policy "shift" moved
-- (what = 'shifted': a wait that ended at due_at while seq-due did not run
-- ends at until_at, and every later step moves with it).  reason names
-- the cap ("SEQ_LEAD_CAP email=2/1d") or the policy.  One row per
-- deferral: runs that meet the same one again add nothing.
CREATE TABLE deferrals (
	id INTEGER PRIMARY KEY,
	enrollment_id INTEGER NOT NULL REFERENCES enrollments(id),
	step TEXT NOT NULL,
	channel TEXT,
	what TEXT NOT NULL CHECK (what = 'deferred' OR what = 'shifted'),
	reason TEXT NOT NULL,
	due_at INTEGER NOT NULL,
	until_at INTEGER NOT NULL,
	at INTEGER NOT NULL,
	UNIQUE (enrollment_id, step, reason, until_at)
);

-- The timeline, made once for schemas 6 to 10, which came in one release:
-- a task when it is opened and when it is done, its title and note only
-- where they are kept in clear (006); the variant (007) and what a
-- threaded step answered (008, the key of that attempt is inside the id)
-- among a step's details; and each deferral as a step activity.
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
	    json_object('key', x.key, 'attempt', x.attempt, 'variant',
	    x.variant, 'in_reply_to', x.in_reply_to, 'adapter', x.adapter,
	    'provider_id', x.provider_id, 'http_status', x.http_status,
	    'error', x.error, 'cost', x.cost, 'latency_ms', x.latency_ms,
	    'metadata', json(x.metadata)), x.id
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
	WHERE t.done_at IS NOT NULL
	UNION ALL
	SELECT e.lead_id, d.at, 'step', d.what, s.name, e.version, d.step,
	    d.channel, e.id, NULL,
	    json_object('reason', d.reason,
	    'due', strftime('%Y-%m-%dT%H:%M:%SZ', d.due_at, 'unixepoch'),
	    'until', strftime('%Y-%m-%dT%H:%M:%SZ', d.until_at, 'unixepoch')),
	    d.id
	FROM deferrals d
	JOIN enrollments e ON e.id = d.enrollment_id
	JOIN sequences s ON s.id = e.sequence_id;

PRAGMA user_version = 10;
