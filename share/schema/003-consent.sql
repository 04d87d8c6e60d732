-- seqtools schema 3: consent.
--
-- The consent ledger becomes append-only and part of the timeline, and an
-- admin's suppression list is kept only as blind indexes (HMAC-SHA256 under
-- the index key of SEQ_KEY_FILE): the database holds none of its addresses.

CREATE TRIGGER consent_append_only_update BEFORE UPDATE ON consent
BEGIN
	SELECT RAISE(ABORT, 'the consent ledger is append-only');
END;

CREATE TRIGGER consent_append_only_delete BEFORE DELETE ON consent
BEGIN
	SELECT RAISE(ABORT, 'the consent ledger is append-only');
END;

CREATE TABLE suppression_list (
	hash TEXT PRIMARY KEY,
	kind TEXT NOT NULL CHECK (kind = 'email' OR kind = 'phone'),
	source TEXT NOT NULL,
	at INTEGER NOT NULL
) WITHOUT ROWID;

-- SQLite changes a view only by dropping and creating it again.
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
	FROM consent k;

PRAGMA user_version = 3;
