-- seqtools schema 11: an enrollment's change names the step it was at.
--
-- The timeline took an enrollment activity's step from the enrollment as
-- it is now, so that a pause at the first step read as a pause at the
-- step the enrollment reached later.  Each change now keeps its step;
-- changes made before this schema have none, since it is not known.
ALTER TABLE enrollment_changes ADD COLUMN step TEXT;

-- The timeline of schema 10, but for the step of enrollment activities.
DROP VIEW timeline;
CREATE VIEW timeline AS
	SELECT e.lead_id AS lead_id, c.at AS at, 'enrollment' AS kind,
	    c.status AS what, s.name AS sequence, e.version AS version,
	    c.step AS step, NULL AS channel, e.id AS enrollment_id,
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

PRAGMA user_version = 11;
