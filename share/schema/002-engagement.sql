-- seqtools schema 2: what comes back from providers.
--
-- An address that bounced hard is suppressed: no step is sent to it again,
-- whichever lead it belongs to, and a later import of the lead does not
-- undo that.  The event that suppressed it is kept as the evidence.
CREATE TABLE suppressions (
	address TEXT PRIMARY KEY,
	reason TEXT NOT NULL,
	event_id INTEGER REFERENCES events(id),
	at INTEGER NOT NULL
) WITHOUT ROWID;

-- Events that carry no execution key are matched by the provider's
-- message or call id.
CREATE INDEX executions_provider_id ON sequence_executions(provider_id)
	WHERE provider_id IS NOT NULL;

-- Providers report addresses in their own case; seq-lead keeps the case
-- of a local part.  Events find leads by address without case.
CREATE INDEX leads_email_lower ON leads(lower(email));

-- An event found by the lead's address alone (an SMS STOP, a reply from
-- an unknown thread) has no execution to take its channel from.
ALTER TABLE events ADD COLUMN channel TEXT;

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
	LEFT JOIN sequences s ON s.id = e.sequence_id;

PRAGMA user_version = 2;
