#!/usr/bin/env bats
# Crashes: kill -9 of seq-event at any moment of a drain loses no event and
# applies none twice.  Each round copies a prepared database of 300 sent
# steps and a spool of SendGrid webhooks about them (eight opens and a click
# each, and an unsubscribe for every third lead, whose sequence exits on
# it: 2,800 events, so a drain commits three times), kills
# seq-event at a random moment, drains the rest, and checks the books.

load test_helper

ROUNDS=${SEQ_CRASH_ROUNDS:-50}
T=2026-11-25T10:01:00Z

setup() {
	common_setup
	init_db
	seq-def > /dev/null <<'JSON'
{"name":"one","exit_on":["unsubscribe"],"steps":[
 {"id":"hello","type":"email","subject":"Hi","text":"Hello"},
 {"id":"pause","type":"wait","duration":"3d"},
 {"id":"again","type":"email","subject":"Again","text":"Hello again"}]}
JSON
	awk 'BEGIN { for (i = 1; i <= 300; i++)
		printf "{\"external_id\":\"l%d\",\"email\":\"user%d@example.com\"}\n", i, i }' |
		seq-lead | seq-enroll --sequence one --now 2026-11-25T10:00:00Z > /dev/null
	seq-due --now $T | seq-send --now $T | seq-log --now $T > /dev/null
	sql "PRAGMA wal_checkpoint(TRUNCATE)" > /dev/null
	cp "$SEQ_DB" template.db
	# webhooks of 10 events each
	mkdir -p template.spool/new
	sql "SELECT key, lead_id FROM sequence_executions ORDER BY id" | awk -F'|' '
		{ for (k = 1; k <= 8; k++) { n++; ev[n] = sprintf("{\"email\":\"user%d@example.com\",\"timestamp\":1795601100,\"event\":\"open\",\"sg_event_id\":\"o%d.%d\",\"seq_key\":\"%s\"}", $2, $2, k, $1) }
		  n++; ev[n] = sprintf("{\"email\":\"user%d@example.com\",\"timestamp\":1795601110,\"event\":\"click\",\"url\":\"https://example.com/\",\"sg_event_id\":\"c%d\",\"seq_key\":\"%s\"}", $2, $2, $1)
		  if ($2 % 3 == 0) { n++; ev[n] = sprintf("{\"email\":\"user%d@example.com\",\"timestamp\":1795601120,\"event\":\"unsubscribe\",\"sg_event_id\":\"u%d\",\"seq_key\":\"%s\"}", $2, $2, $1) } }
		END { for (i = 1; i <= n; i += 10) {
			f = sprintf("template.spool/new/1795600000.%06d.1.00000000000000%02x.sendgrid", i, i % 256)
			printf "{\"provider\":\"sendgrid\",\"received_at\":1795601130,\"content_type\":\"application/json\",\"query\":null}\n[" > f
			for (j = i; j < i + 10 && j <= n; j++) printf "%s%s", (j > i ? "," : ""), ev[j] > f
			print "]" > f; close(f) } }'
	events_total=$(cat template.spool/new/* | grep -o '"sg_event_id"' | wc -l)
	assert_equal "$events_total" 2800
}

# Milliseconds a whole drain of the prepared spool takes.
calibrate() {
	local t0 t1
	cp template.db calib.db
	rm -rf calib.spool
	cp -r template.spool calib.spool
	t0=$(date +%s%N)
	SEQ_DB=calib.db seq-event --now $T --spool calib.spool > /dev/null
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

check_books() {
	local round=$1 n
	n=$(sql "SELECT count(*) FROM events")
	[ "$n" = 2800 ] || fail "round $round: $n of 2800 events recorded"
	n=$(sql "SELECT count(*) FROM (SELECT provider_event_id FROM events GROUP BY 1 HAVING count(*) > 1)")
	[ "$n" = 0 ] || fail "round $round: $n events recorded twice"
	# every event found its step
	n=$(sql "SELECT count(*) FROM events WHERE execution_id IS NULL OR lead_id IS NULL")
	[ "$n" = 0 ] || fail "round $round: $n events not matched"
	# effects once each: one opt-out and one exit per unsubscribed lead
	n=$(sql "SELECT count(*) FROM consent WHERE state = 'opt-out' AND source = 'sendgrid:unsubscribe'")
	[ "$n" = 100 ] || fail "round $round: $n opt-outs for 100 unsubscribes"
	n=$(sql "SELECT count(DISTINCT lead_id) FROM consent WHERE state = 'opt-out'")
	[ "$n" = 100 ] || fail "round $round: opt-outs for $n leads"
	n=$(sql "SELECT count(*) FROM enrollment_changes WHERE status = 'exited'")
	[ "$n" = 100 ] || fail "round $round: $n exits for 100 unsubscribes"
	n=$(sql "SELECT count(*) FROM enrollments WHERE status = 'exited' AND lead_id % 3 = 0")
	[ "$n" = 100 ] || fail "round $round: $n of the unsubscribed exited"
	n=$(sql "SELECT count(*) FROM enrollments WHERE status = 'active'")
	[ "$n" = 200 ] || fail "round $round: $n others still active"
	# the spool is empty and nothing was quarantined
	[ -z "$(ls spool/new)" ] || fail "round $round: files left in new/"
	[ ! -d spool/quarantine ] || [ -z "$(ls spool/quarantine)" ] ||
		fail "round $round: files quarantined: $(ls spool/quarantine)"
	assert_equal "$(sql "PRAGMA integrity_check")" ok
}

@test "kill -9 of seq-event at random moments loses no event and applies none twice" {
	local span round after pid hits=0 left recorded
	span=$(calibrate)
	for round in $(seq 1 "$ROUNDS"); do
		cp template.db "$SEQ_DB"
		rm -f "$SEQ_DB-wal" "$SEQ_DB-shm"
		rm -rf spool
		cp -r template.spool spool
		# a moment from about the first commit to the end of the drain
		after=$(awk -v r="$RANDOM" -v s="$span" 'BEGIN { printf "%.3f", (s * 3 / 10 + r % (s * 7 / 10 + 1)) / 1000 }')
		seq-event --now $T --spool spool > /dev/null 2>> event.err & pid=$!
		sleep "$after"
		kill -9 "$pid" 2> /dev/null || true
		wait "$pid" 2> /dev/null || true
		left=$(ls spool/new | wc -l)
		recorded=$(sql "SELECT count(*) FROM events")
		# a later drain finishes the job
		seq-event --now 2026-11-25T10:02:00Z --spool spool > /dev/null 2>> event.err
		check_books "$round"
		# a hit is a kill in the middle of the drain: some events
		# committed and some files still waiting
		[ "$left" -gt 0 ] && [ "$recorded" -gt 0 ] && hits=$((hits + 1))
		true
	done
	echo "# seq-event: $hits of $ROUNDS kills cut a ${span} ms drain short" >&3
	[ "$hits" -ge $((ROUNDS / 5)) ] || fail "only $hits of $ROUNDS kills hit a running seq-event"
	assert_equal "$(grep -c 'AddressSanitizer\|runtime error' event.err)" 0
}
