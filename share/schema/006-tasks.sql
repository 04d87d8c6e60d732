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

PRAGMA user_version = 6;
