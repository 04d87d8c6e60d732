#!/usr/bin/env bats
# Crashes: kill -9 of seq-due, seq-send or seq-log at any moment loses
# nothing and sends nothing twice.  Each round copies a prepared database of
# 1,000 due steps, runs the pipeline through named pipes so each command has
# its own pid, kills one at a random moment, then runs the pipeline past
# the leases until nothing is due, and checks the books.

load test_helper

ROUNDS=${SEQ_CRASH_ROUNDS:-50}

setup_file() {
	# One prepared database for all rounds of all three tests.
	export SEQ_SHARE="$(cd "$BATS_TEST_DIRNAME/.." && pwd)/share"
}

setup() {
	common_setup
	init_db
	one_email_world 1000 2026-11-25T10:00:00Z
	sql "PRAGMA wal_checkpoint(TRUNCATE)" > /dev/null
	cp "$SEQ_DB" template.db
}

# Runs one pipeline at $1 and kills $2 (due, send or log) after $3 seconds.
killed_run() {
	local t=$1 victim=$2 after=$3 due send log
	rm -f p1 p2
	mkfifo p1 p2
	seq-due --now "$t" > p1 2>> due.err & due=$!
	seq-send --now "$t" < p1 > p2 2>> send.err & send=$!
	seq-log --now "$t" < p2 > /dev/null 2>> log.err & log=$!
	sleep "$after"
	killed=0
	case $victim in
	due) kill -9 "$due" 2> /dev/null && killed=1 ;;
	send) kill -9 "$send" 2> /dev/null && killed=1 ;;
	log) kill -9 "$log" 2> /dev/null && killed=1 ;;
	esac
	wait "$due" "$send" "$log" 2> /dev/null || true
}

# Milliseconds the victim lives in a whole run over the prepared database:
# seq-due ends when its last job is written, the others with the pipeline.
calibrate() {
	local victim=$1 t0 t1
	cp template.db calib.db
	t0=$(date +%s%N)
	if [ "$victim" = due ]; then
		SEQ_DB=calib.db seq-due --now 2026-11-25T10:01:00Z > /dev/null
	else
		SEQ_DB=calib.db SEQ_MOCK_LOG=/dev/null killed_run 2026-11-25T10:01:00Z none 0
	fi
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

# Runs the pipeline past every lease until seq-due has nothing more.
drain() {
	local t
	for t in 2026-11-25T10:20:00Z 2026-11-25T10:40:00Z 2026-11-25T11:00:00Z; do
		seq-due --now "$t" | seq-send --now "$t" | seq-log --now "$t" > /dev/null 2>> drain.err
	done
}

check_books() {
	local round=$1
	# nothing delivered twice
	local dup
	dup=$(jq -r .key "$SEQ_MOCK_LOG" | sort | uniq -d | head -n 3)
	[ -z "$dup" ] || fail "round $round: delivered twice: $dup"
	# every step sent, failed or unknown; nothing claimed or sending is left
	local left
	left=$(sql "SELECT count(*) FROM enrollments e WHERE e.status <> 'completed'
		AND NOT EXISTS (SELECT 1 FROM sequence_executions x WHERE
		x.enrollment_id = e.id AND x.state IN ('unknown', 'failed'))")
	[ "$left" = 0 ] || fail "round $round: $left steps lost"
	left=$(sql "SELECT count(*) FROM sequence_executions WHERE state IN ('claimed', 'sending')")
	[ "$left" = 0 ] || fail "round $round: $left executions still claimed or sending"
	# every sent execution was delivered, exactly once
	sql "SELECT key FROM sequence_executions WHERE state = 'sent'" | sort > sent.keys
	jq -r .key "$SEQ_MOCK_LOG" | sort > delivered.keys
	left=$(comm -23 sent.keys delivered.keys | wc -l)
	[ "$left" = 0 ] || fail "round $round: $left sent but never delivered"
	# what was delivered but is not sent must be unknown: never silently lost
	left=$(comm -13 sent.keys delivered.keys | while read -r k; do
		sql "SELECT state FROM sequence_executions WHERE key = '$k'"; done | { grep -vc unknown || true; })
	[ "$left" = 0 ] || fail "round $round: $left delivered keys neither sent nor unknown"
	assert_equal "$(sql "PRAGMA integrity_check")" ok
}

crash_rounds() {
	local victim=$1 round after span hits=0 left_over
	span=$(calibrate "$victim")
	for round in $(seq 1 "$ROUNDS"); do
		cp template.db "$SEQ_DB"
		rm -f "$SEQ_DB-wal" "$SEQ_DB-shm"
		export SEQ_MOCK_LOG="$BATS_TEST_TMPDIR/mock.$round.log"
		: > "$SEQ_MOCK_LOG"
		# a moment from the start of the run to about its end
		after=$(awk -v r="$RANDOM" -v s="$span" 'BEGIN { printf "%.3f", (r % (s * 4 / 5 + 1)) / 1000 }')
		killed_run 2026-11-25T10:01:00Z "$victim" "$after"
		# what the killed run left undone: due, claimed or sending steps
		left_over=$(sql "SELECT count(*) FROM enrollments WHERE status = 'active'")
		drain
		check_books "$round"
		[ "$killed" = 1 ] && [ "$left_over" -gt 0 ] && hits=$((hits + 1))
	done
	# A kill that came after the run ended proves nothing: a good part of
	# the rounds must have cut a run short.
	echo "# $victim: $hits of $ROUNDS kills cut a ${span} ms run short" >&3
	[ "$hits" -ge $((ROUNDS / 4)) ] || fail "only $hits of $ROUNDS kills hit a running $victim"
	assert_equal "$(grep -c 'AddressSanitizer\|runtime error' due.err send.err log.err drain.err | grep -vc ':0$')" 0
}

@test "kill -9 of seq-due at random moments loses nothing and sends nothing twice" {
	crash_rounds due
}

@test "kill -9 of seq-send at random moments loses nothing and sends nothing twice" {
	crash_rounds send
}

@test "kill -9 of seq-log at random moments loses nothing and sends nothing twice" {
	crash_rounds log
}
