-- seqtools schema 7: A/B variants.
--
-- The variant of its step that an attempt went out as (sequence(5)
-- "variants"): its name, NULL when the step has none.  seq-due sets it on
-- every attempt of such a step, skipped ones too, and seq-stats counts each
-- funnel figure per variant from it.

ALTER TABLE sequence_executions ADD COLUMN variant TEXT;

-- The timeline shows it among a step's details.
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
	    x.variant, 'adapter', x.adapter, 'provider_id', x.provider_id,
	    'http_status', x.http_status, 'error', x.error, 'cost', x.cost,
	    'latency_ms', x.latency_ms, 'metadata', json(x.metadata)), x.id
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

PRAGMA user_version = 7;
