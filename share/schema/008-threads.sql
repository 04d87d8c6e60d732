-- seqtools schema 8: threaded follow-ups (sequence(5) "thread").
--
-- message_id: the Message-ID an email attempt goes out with, which
-- seq-due makes from its key and names in the job's headers, so that a
-- later step can answer it whichever provider sends it; NULL for a
-- skipped attempt and for other channels.  in_reply_to: the Message-ID
-- of the earlier message a threaded step answers (its In-Reply-To); NULL
-- when the step is not threaded, or when nothing it could answer went
-- out and it started a new thread.  seq-due finds the message it answers
-- by enrollment and step (executions_enrollment), so neither needs an
-- index.

ALTER TABLE sequence_executions ADD COLUMN message_id TEXT;
ALTER TABLE sequence_executions ADD COLUMN in_reply_to TEXT;

PRAGMA user_version = 8;
