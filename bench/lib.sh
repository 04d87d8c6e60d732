# Shared by the benchmarks: a world of N due steps of a one-email sequence,
# built with the commands themselves, checkpointed, and kept as a template.
# With a third argument "sealed", the database keeps personal data sealed
# under a key file made in dir, and SEQ_KEY_FILE names it.
bench_world() {	# dir n [sealed]
	local dir=$1 n=$2
	rm -rf "$dir"
	mkdir -p "$dir"
	export SEQ_DB="$dir/seq.db"
	unset SEQ_KEY_FILE
	if [ "${3:-}" = sealed ]; then
		seq-init --key-file "$dir/keys" 2> /dev/null
		export SEQ_KEY_FILE="$dir/keys"
	else
		seq-init 2> /dev/null
	fi
	cat > "$dir/one.json" <<'JSON'
{"name":"one","steps":[{"id":"hello","type":"email",
 "subject":"Hi {{first_name|there}}",
 "text":"Hello {{first_name|there}}, a question about {{company|your team}}."}]}
JSON
	seq-def "$dir/one.json" > /dev/null
	awk -v n="$n" 'BEGIN { for (i = 1; i <= n; i++)
		printf "{\"external_id\":\"b%d\",\"email\":\"user%d@example.com\",\"first_name\":\"U%d\"}\n", i, i, i }' |
		seq-lead | seq-enroll --sequence one --now 2026-11-25T10:00:00Z > /dev/null
	sqlite3 "$SEQ_DB" "PRAGMA wal_checkpoint(TRUNCATE)" > /dev/null
	cp "$SEQ_DB" "$dir/template.db"
}

# A fresh copy of the template; synced, so that writing back the copy does
# not land inside the next timed run.
bench_reset() {	# dir
	cp "$1/template.db" "$1/seq.db"
	rm -f "$1/seq.db-wal" "$1/seq.db-shm"
	sync
}

# Wall seconds of a command line, to the millisecond.
seconds() {
	local t0 t1
	t0=$(date +%s%N)
	"$@"
	t1=$(date +%s%N)
	awk -v d=$((t1 - t0)) 'BEGIN { printf "%.3f", d / 1e9 }'
}

# The writes of seq-due | seq-send | seq-log for every due step of the
# world, set-based, as SQL for the sqlite3 shell: claim (seq-due), mark
# sending (seq-send), record and advance (seq-log), each move in its own
# transaction as the commands commit them; the jobs are as long as
# bench/pipeline's.  $1: the time of the run, after every step is due.
floor_sql() {	# now
	cat <<SQL
PRAGMA foreign_keys = ON;
PRAGMA synchronous = NORMAL;
.timer on
BEGIN;
INSERT INTO sequence_executions (id, key, enrollment_id, lead_id, step,
  channel, attempt, sender, recipient, state, claimed_at, lease, lease_until,
  message_id)
 SELECT e.id, 'f10b91cfbf96d40f.' || e.id || '.1.1', e.id, e.lead_id, 'hello',
  'email', 1, NULL, 'user' || e.id || '@example.com', 'claimed', $1, 300,
  $1 + 300, '<f10b91cfbf96d40f.' || e.id || '.1.1@seqtools.invalid>'
 FROM enrollments e WHERE e.status = 'active' AND e.claim IS NULL
  AND e.next_run_at <= $1;
INSERT INTO execution_jobs (execution_id, job)
 SELECT id, printf('%400s', key) FROM sequence_executions;
UPDATE enrollments SET claim = id, updated_at = $1
 WHERE status = 'active' AND claim IS NULL;
COMMIT;
PRAGMA synchronous = FULL;
BEGIN;
UPDATE sequence_executions SET state = 'sending', sending_at = $1,
  lease_until = $1 + lease, adapter = 'mock' WHERE state = 'claimed';
COMMIT;
BEGIN;
UPDATE sequence_executions SET state = 'sent', adapter = 'mock',
  provider_id = 'mock-' || key, latency_ms = 0, done_at = $1,
  metadata = '{"mock":true}' WHERE state = 'sending';
UPDATE enrollments SET step = NULL, cursor = cursor + 1, attempt = 1,
  step_at = $1, claim = NULL, updated_at = $1, next_run_at = NULL,
  status = 'completed' WHERE claim IS NOT NULL;
INSERT INTO enrollment_changes (enrollment_id, at, status, reason)
 SELECT id, $1, 'completed', 'reached the end' FROM enrollments
 WHERE status = 'completed';
COMMIT;
SQL
}
