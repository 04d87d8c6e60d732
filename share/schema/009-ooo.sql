-- seqtools schema 9: out-of-office pauses.
--
-- An automatic reply (seq-event's auto_reply) pauses the lead's active
-- enrollments until resume_at: 09:00 of the return date the message gives,
-- or SEQ_OOO_DAYS after it.  seq-due resumes a paused enrollment whose
-- resume_at has come; a pause without one (an admin's) stays until an admin
-- resumes it.  The partial index holds only the enrollments that wait, so
-- seq-due's look for them costs nothing when none do.

ALTER TABLE enrollments ADD COLUMN resume_at INTEGER;
CREATE INDEX enrollments_resume ON enrollments(resume_at)
	WHERE resume_at IS NOT NULL;

-- Any other way out of the pause (resumed, cancelled or converted by hand)
-- forgets the resume time, so that a later pause by hand is never ended by
-- seq-due.
CREATE TRIGGER enrollments_resume_forgotten AFTER UPDATE OF status
	ON enrollments WHEN NEW.resume_at IS NOT NULL AND NEW.status <> 'paused'
BEGIN
	UPDATE enrollments SET resume_at = NULL WHERE id = NEW.id;
END;

PRAGMA user_version = 9;
