#!/usr/bin/env bats
# Progress lines: a long run shows a count on stderr when stderr is a
# terminal, redrawn in place, and writes nothing of it under cron (stderr a
# file); what goes to stdout is the same byte for byte either way.  The
# terminal is a pseudo-terminal from script(1), whose typescript is read
# through cat -A: ^M is a carriage return, $ a line's end.

load test_helper

T=2026-11-25T10:00:00Z

setup() {
	common_setup
	init_db
	command -v script > /dev/null || fail "script(1) (bsdutils) is missing"
}

# on_tty LINE: the shell line run with stdin, stdout and stderr on a
# pseudo-terminal (redirect what the line must not send there); what
# reached the terminal is in tty.out.
on_tty() {
	script -qec "$1" /dev/null < /dev/null > tty.out
}

leads_file() {
	awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++)
		printf "{\"external_id\":\"l%d\",\"email\":\"user%d@example.com\",\"first_name\":\"U%d\"}\n", i, i, i }' > "$2"
}

# A copy of the database as it is now, for a second run of the same work.
snapshot() {
	sql "PRAGMA wal_checkpoint(TRUNCATE)" > /dev/null
	cp "$SEQ_DB" "$1"
}

@test "seq-lead: a count of lines on a terminal, ended with the total; nothing under cron" {
	leads_file 30000 big.ndjson
	snapshot plain.db
	on_tty "seq-lead --now $T < big.ndjson > tty.ndjson"
	run cat -A tty.out
	# drawn at the first line, then at most once a second, and ended
	assert_output --regexp '^\^Mseq-lead: 1 lines read(\^Mseq-lead: [0-9]+ lines read)*\^Mseq-lead: 30000 lines read\^M\$$'
	assert_equal "$(wc -l < tty.ndjson)" 30000

	SEQ_DB=plain.db seq-lead --now $T < big.ndjson > plain.ndjson 2> plain.err
	assert_file_empty plain.err
	cmp tty.ndjson plain.ndjson
}

@test "seq-lead: a rejected line's reason starts a line of its own; the count goes on" {
	leads_file 3 three.ndjson
	{ head -1 three.ndjson; echo '{"email":'; tail -2 three.ndjson; } > mixed.ndjson
	run -1 on_tty "seq-lead --now $T < mixed.ndjson > out.ndjson"
	run cat -A tty.out
	# the line is wiped (blanks, then a carriage return) before the reason
	assert_output --regexp '^\^Mseq-lead: 1 lines read\^M +\^Mseq-lead: line 2: invalid JSON[^^]*\^M\$'
	assert_output --regexp '\^Mseq-lead: 4 lines read\^M\$$'
}

@test "seq-lead: no count while the leads themselves go to the terminal" {
	leads_file 50 some.ndjson
	on_tty "seq-lead --now $T < some.ndjson"
	run cat -A tty.out
	assert_output --partial '"external_id":"l50"'
	refute_output --partial 'lines read'
}

@test "seq-due: jobs written per batch on a terminal, then its summary in their place" {
	one_email_world 1500 $T
	snapshot plain.db
	on_tty "seq-due --now $T --batch 100 > tty.jobs"
	run cat -A tty.out
	assert_output --regexp '^\^Mseq-due: 100 jobs written(\^Mseq-due: [0-9]+ jobs written)*\^M +\^Mseq-due: 1500 jobs \(0 again after their lease\), 0 skipped, 0 deferred, 0 completed, 0 exited, 0 unknown, 0 tasks opened\^M\$$'
	assert_equal "$(wc -l < tty.jobs)" 1500

	SEQ_DB=plain.db seq-due --now $T --batch 100 > plain.jobs 2> plain.err
	assert_file_empty plain.err
	cmp tty.jobs plain.jobs
}

@test "seq-event --spool: files done of the total on a terminal, then its count" {
	mkdir -p spool/new
	awk 'BEGIN { for (i = 1; i <= 400; i++) {
		f = sprintf("spool/new/1795600000.%06d.1.%016x.sendgrid", i, i)
		printf "{\"provider\":\"sendgrid\",\"received_at\":1795601130,\"content_type\":\"application/json\",\"query\":null}\n" > f
		printf "[{\"email\":\"user%d@example.com\",\"timestamp\":1795601100,\"event\":\"open\",\"sg_event_id\":\"o%d\"}]\n", i, i > f
		close(f) } }'
	cp -r spool plain.spool
	snapshot plain.db
	on_tty "seq-event --now $T --spool spool > tty.events"
	run cat -A tty.out
	assert_output --regexp '^\^Mseq-event: 1 of 400 spool files(\^Mseq-event: [0-9]+ of 400 spool files)*\^M +\^Mseq-event: 400 recorded, 0 seen before, 0 with no meaning here\^M\$$'
	assert_equal "$(wc -l < tty.events)" 400
	assert_equal "$(ls spool/new | wc -l)" 0

	SEQ_DB=plain.db seq-event --now $T --spool plain.spool > plain.events 2> plain.err
	assert_file_empty plain.err
	cmp tty.events plain.events
}
