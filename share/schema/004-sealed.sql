-- seqtools schema 4: personal data at rest.
--
-- A database is plain or sealed (meta key 'pii' = 'sealed', set by seq-init
-- with SEQ_KEY_FILE or --rotate-key).  In a sealed database a lead's email,
-- phone, names, company, title and attributes live only in leads.sealed: a
-- 24-byte random nonce and their XChaCha20-Poly1305 encryption, bound to the
-- row's id.  leads.email and leads.phone then hold blind indexes (HMAC-SHA256
-- of the lower-cased address or the E.164 number), so lookups keep their
-- indexes; the other personal columns are NULL.  A claimed job
-- (execution_jobs.job) is stored sealed the same way, as a BLOB, and
-- sequence_executions.recipient is left NULL.
--
-- The suppression tables hold blind indexes, and beside each the value
-- sealed, so that a new index key can index them again: without it a
-- rotated key would make every suppressed address sendable.

ALTER TABLE leads ADD COLUMN sealed BLOB;
ALTER TABLE suppression_list ADD COLUMN sealed BLOB;
ALTER TABLE suppressions ADD COLUMN sealed BLOB;

-- What seq-lead --erase did: the lead's id, when and why, and the counts it
-- left for the analytics; no personal data.
CREATE TABLE erasures (
	lead_id INTEGER PRIMARY KEY,
	at INTEGER NOT NULL,
	reason TEXT,
	counts TEXT NOT NULL
);

PRAGMA user_version = 4;
