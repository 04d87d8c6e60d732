-- seqtools schema 5: what seq-stats reads.
--
-- Delivery latency as a histogram per adapter and channel, counted by
-- seq-log as it records each outcome: kept as counters, like
-- adapter_counters, so that it never goes down when rows go.  bucket is
-- the index of the upper bound in seq-stats' list (50 ms, 100 ms, 250 ms,
-- 500 ms, 1 s, 2.5 s, 5 s, 10 s, then everything above); counts are per
-- bucket, not cumulative.

CREATE TABLE latency_buckets (
	adapter TEXT NOT NULL,
	channel TEXT NOT NULL,
	bucket INTEGER NOT NULL,
	count INTEGER NOT NULL,
	PRIMARY KEY (adapter, channel, bucket)
) WITHOUT ROWID;

-- A sequence's funnel starts from its enrollments, in the range asked.
CREATE INDEX enrollments_sequence ON enrollments(sequence_id, created_at);

-- seq-stats reads every event of the attempts it counts in this index's
-- order, and needs their times too: with them in the index, it never reads
-- the table.
DROP INDEX events_execution;
CREATE INDEX events_execution ON events(execution_id, type, at);

PRAGMA user_version = 5;
