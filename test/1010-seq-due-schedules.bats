#!/usr/bin/env bats
# seq-due: the walk (waits, send windows across DST changes, daily caps,
# branches, skips, exits, pauses), version pinning, rendering, the filters
# and the job lines it writes.  Every time is given with --now.

load test_helper
setup() { common_setup; init_db; }

# An engagement event: event TYPE TIME LEAD_ID [EXECUTION_ID]
event() {
	sql "INSERT INTO events (provider, provider_event_id, type, at, execution_id, lead_id)
		VALUES ('mock', 'ev-' || (SELECT count(*) + 1 FROM events), '$1', $(epoch "$2"), ${4:-NULL}, $3)"
}
# Delivers and logs the jobs in $output at time $1.
deliver() { seq-send --now "$1" <<< "$output" | seq-log --now "$1" > /dev/null; }
# One field of every job line in $output, tab-separated per line.
jobs_of() { jq -r "[$1] | @tsv" <<< "$output"; }
# Wall-clock time of an epoch in a zone: localtime ZONE EPOCH
localtime() { TZ=$1 date -d "@$2" '+%F %H:%M %Z'; }

@test "a wait holds the next step until exactly the step time plus its duration" {
	seq-def > /dev/null <<'JSON'
{"name":"w","steps":[
 {"id":"a","type":"email","subject":"A","text":"a"},
 {"id":"pause","type":"wait","duration":"2d"},
 {"id":"b","type":"email","subject":"B","text":"b"}]}
JSON
	leads '{"external_id":"l1","email":"l1@example.com"}'
	enroll w 2026-11-23T10:00:00Z l1
	tick 2026-11-23T10:00:00Z > /dev/null
	assert_equal "$(sql "SELECT step, $(iso step_at), $(iso next_run_at) FROM enrollments")" \
		"pause|2026-11-23T10:00:00Z|2026-11-23T10:00:00Z"

	run --separate-stderr seq-due --now 2026-11-23T10:01:00Z
	assert_success
	assert_output ""
	assert_equal "$stderr" ""
	assert_equal "$(sql "SELECT step, $(iso next_run_at), claim IS NULL FROM enrollments")" \
		"pause|2026-11-25T10:00:00Z|1"

	run --separate-stderr seq-due --now 2026-11-25T09:59:59Z
	assert_success
	assert_output ""

	run --separate-stderr seq-due --now 2026-11-25T10:00:00Z
	assert_success
	assert_equal "${#lines[@]}" 1
	assert_equal "$(jobs_of '.execution_id, .step, .subject')" "2	b	B"
	assert_equal "$(sql "SELECT id, step, state, $(iso claimed_at), $(iso lease_until) FROM sequence_executions ORDER BY id")" \
		"1|a|sent|2026-11-23T10:00:00Z|2026-11-23T10:05:00Z
2|b|claimed|2026-11-25T10:00:00Z|2026-11-25T10:05:00Z"
	assert_equal "$(sql "SELECT step, cursor, claim FROM enrollments")" "b|3|2"
}

@test "a send window is kept in the lead's time zone, else in the sequence's" {
	seq-def > /dev/null <<'JSON'
{"name":"win","timezone":"America/New_York",
 "window":{"days":["mon","tue","wed","thu","fri"],"start":"09:00","end":"17:00"},
 "steps":[{"id":"a","type":"email","subject":"A","text":"a"}]}
JSON
	leads '{"external_id":"tokyo","email":"tokyo@example.com","timezone":"Asia/Tokyo"}' \
		'{"external_id":"none","email":"none@example.com"}' \
		'{"external_id":"bad","email":"bad@example.com","timezone":"Mars/Olympus_Mons"}' \
		'{"external_id":"london","email":"london@example.com","timezone":"Europe/London"}'
	# Tuesday 12:00 UTC: 21:00 in Tokyo, 07:00 in New York, 12:00 in London
	enroll win 2026-11-24T12:00:00Z tokyo none bad london
	run --separate-stderr seq-due --now 2026-11-24T12:00:00Z
	assert_success
	assert_equal "$(jobs_of '.to')" "london@example.com"
	deliver 2026-11-24T12:00:00Z
	assert_equal "$(sql "SELECT l.external_id, $(iso e.next_run_at) FROM enrollments e
		JOIN leads l ON l.id = e.lead_id WHERE e.status = 'active' ORDER BY e.id")" \
		"tokyo|2026-11-25T00:00:00Z
none|2026-11-24T14:00:00Z
bad|2026-11-24T14:00:00Z"

	run --separate-stderr seq-due --now 2026-11-24T13:59:59Z
	assert_success
	assert_output ""
	run --separate-stderr seq-due --now 2026-11-24T14:00:00Z
	assert_success
	assert_equal "$(jobs_of '.to')" "none@example.com
bad@example.com"
	deliver 2026-11-24T14:00:00Z
	run --separate-stderr seq-due --now 2026-11-25T00:00:00Z
	assert_success
	assert_equal "$(jobs_of '.to')" "tokyo@example.com"
	assert_equal "$(sql "SELECT l.external_id, $(iso x.claimed_at) FROM sequence_executions x
		JOIN leads l ON l.id = x.lead_id ORDER BY x.id")" \
		"london|2026-11-24T12:00:00Z
none|2026-11-24T14:00:00Z
bad|2026-11-24T14:00:00Z
tokyo|2026-11-25T00:00:00Z"
}

@test "a send window ends at its end time and skips the days it leaves out" {
	seq-def > /dev/null <<'JSON'
{"name":"win","timezone":"America/New_York",
 "window":{"days":["mon","tue","wed","thu","fri"],"start":"09:00","end":"17:00"},
 "steps":[{"id":"a","type":"email","subject":"A","text":"a"}]}
JSON
	leads '{"external_id":"l1","email":"l1@example.com"}' '{"external_id":"l2","email":"l2@example.com"}'
	# Friday 16:59:59 in New York is inside; 17:00:00 is not, and the
	# weekend is left out: Monday 09:00
	enroll win 2026-11-27T21:59:59Z l1
	run --separate-stderr seq-due --now 2026-11-27T21:59:59Z
	assert_success
	assert_equal "$(jobs_of '.to')" "l1@example.com"
	enroll win 2026-11-27T22:00:00Z l2
	run --separate-stderr seq-due --now 2026-11-27T22:00:00Z
	assert_success
	assert_output ""
	assert_equal "$(sql "SELECT $(iso next_run_at) FROM enrollments WHERE id = 2")" "2026-11-30T14:00:00Z"
}

@test "windows across the fall DST change open at local time after the change (New York, Berlin)" {
	seq-def > /dev/null <<'JSON'
{"name":"win","window":{"start":"09:00","end":"17:00"},
 "steps":[{"id":"a","type":"email","subject":"A","text":"a"}]}
JSON
	leads '{"external_id":"ny1","email":"ny1@example.com","timezone":"America/New_York"}' \
		'{"external_id":"ny2","email":"ny2@example.com","timezone":"America/New_York"}' \
		'{"external_id":"be1","email":"be1@example.com","timezone":"Europe/Berlin"}' \
		'{"external_id":"be2","email":"be2@example.com","timezone":"Europe/Berlin"}'
	# Berlin leaves summer time on 2026-10-25 at 03:00 CEST: 09:00 is 08:00Z
	# that day (07:00Z the day before).  be1 enrolls on the evening before
	# (22:00 CEST), be2 at 07:30Z, which is 08:30 CET (09:30 by the old offset).
	enroll win 2026-10-24T20:00:00Z be1
	run --separate-stderr seq-due --now 2026-10-24T20:00:00Z
	assert_success
	assert_output ""
	enroll win 2026-10-25T07:30:00Z be2
	run --separate-stderr seq-due --now 2026-10-25T07:30:00Z
	assert_success
	assert_output ""
	assert_equal "$(sql "SELECT $(iso next_run_at) FROM enrollments ORDER BY id")" \
		"2026-10-25T08:00:00Z
2026-10-25T08:00:00Z"
	run --separate-stderr seq-due --now 2026-10-25T08:00:00Z
	assert_success
	assert_equal "$(jobs_of '.to')" "be1@example.com
be2@example.com"
	deliver 2026-10-25T08:00:00Z
	assert_equal "$(sql "SELECT DISTINCT claimed_at FROM sequence_executions")" "$(epoch 2026-10-25T08:00:00Z)"
	assert_equal "$(localtime Europe/Berlin "$(epoch 2026-10-25T08:00:00Z)")" "2026-10-25 09:00 CET"

	# New York leaves daylight time on 2026-11-01 at 02:00 EDT: 09:00 is
	# 14:00Z that day (13:00Z the day before)
	enroll win 2026-10-31T22:00:00Z ny1
	run --separate-stderr seq-due --now 2026-10-31T22:00:00Z
	assert_success
	assert_output ""
	enroll win 2026-11-01T13:30:00Z ny2
	run --separate-stderr seq-due --now 2026-11-01T13:30:00Z
	assert_success
	assert_output ""
	assert_equal "$(sql "SELECT $(iso next_run_at) FROM enrollments WHERE id > 2 ORDER BY id")" \
		"2026-11-01T14:00:00Z
2026-11-01T14:00:00Z"
	run --separate-stderr seq-due --now 2026-11-01T13:59:59Z
	assert_success
	assert_output ""
	run --separate-stderr seq-due --now 2026-11-01T14:00:00Z
	assert_success
	assert_equal "$(jobs_of '.to')" "ny1@example.com
ny2@example.com"
	assert_equal "$(sql "SELECT DISTINCT claimed_at FROM sequence_executions WHERE id > 2")" "$(epoch 2026-11-01T14:00:00Z)"
	assert_equal "$(localtime America/New_York "$(epoch 2026-11-01T14:00:00Z)")" "2026-11-01 09:00 EST"
}

@test "windows across the spring DST change in March 2027 open at local time after the change" {
	seq-def > /dev/null <<'JSON'
{"name":"win","window":{"start":"09:00","end":"17:00"},
 "steps":[{"id":"a","type":"email","subject":"A","text":"a"}]}
JSON
	leads '{"external_id":"ny1","email":"ny1@example.com","timezone":"America/New_York"}' \
		'{"external_id":"ny2","email":"ny2@example.com","timezone":"America/New_York"}' \
		'{"external_id":"be1","email":"be1@example.com","timezone":"Europe/Berlin"}'
	# New York springs forward on 2027-03-14 at 02:00 EST: 09:00 is 13:00Z
	# (14:00Z the day before).  ny2 at 13:00Z is at 09:00 EDT: inside.
	enroll win 2027-03-13T23:00:00Z ny1
	run --separate-stderr seq-due --now 2027-03-13T23:00:00Z
	assert_success
	assert_output ""
	assert_equal "$(sql "SELECT $(iso next_run_at) FROM enrollments")" "2027-03-14T13:00:00Z"
	enroll win 2027-03-14T12:59:59Z ny2
	run --separate-stderr seq-due --now 2027-03-14T12:59:59Z
	assert_success
	assert_output ""
	run --separate-stderr seq-due --now 2027-03-14T13:00:00Z
	assert_success
	assert_equal "$(jobs_of '.to')" "ny1@example.com
ny2@example.com"
	deliver 2027-03-14T13:00:00Z
	assert_equal "$(sql "SELECT DISTINCT claimed_at FROM sequence_executions")" "$(epoch 2027-03-14T13:00:00Z)"
	assert_equal "$(localtime America/New_York "$(epoch 2027-03-14T13:00:00Z)")" "2027-03-14 09:00 EDT"

	# Berlin springs forward on 2027-03-28 at 02:00 CET: 09:00 is 07:00Z
	enroll win 2027-03-27T20:00:00Z be1
	run --separate-stderr seq-due --now 2027-03-27T20:00:00Z
	assert_success
	assert_output ""
	assert_equal "$(sql "SELECT $(iso next_run_at) FROM enrollments WHERE id = 3")" "2027-03-28T07:00:00Z"
	run --separate-stderr seq-due --now 2027-03-28T06:59:59Z
	assert_success
	assert_output ""
	run --separate-stderr seq-due --now 2027-03-28T07:00:00Z
	assert_success
	assert_equal "$(jobs_of '.to')" "be1@example.com"
	assert_equal "$(sql "SELECT claimed_at FROM sequence_executions WHERE id = 3")" "$(epoch 2027-03-28T07:00:00Z)"
	assert_equal "$(localtime Europe/Berlin "$(epoch 2027-03-28T07:00:00Z)")" "2027-03-28 09:00 CEST"
}

@test "a window that opens inside the spring-forward gap opens when the gap ends" {
	seq-def > /dev/null <<'JSON'
{"name":"early","window":{"start":"02:30","end":"17:00"},
 "steps":[{"id":"a","type":"email","subject":"A","text":"a"}]}
JSON
	leads '{"external_id":"ny1","email":"ny1@example.com","timezone":"America/New_York"}' \
		'{"external_id":"ny2","email":"ny2@example.com","timezone":"America/New_York"}' \
		'{"external_id":"be1","email":"be1@example.com","timezone":"Europe/Berlin"}'
	# 02:30 does not exist on 2027-03-14 in New York: the clock goes from
	# 01:59:59 EST to 03:00:00 EDT (07:00Z), and from then on it is past 02:30
	enroll early 2027-03-14T05:00:00Z ny1
	run --separate-stderr seq-due --now 2027-03-14T05:00:00Z
	assert_success
	assert_output ""
	assert_equal "$(sql "SELECT $(iso next_run_at) FROM enrollments WHERE id = 1")" "2027-03-14T07:00:00Z"
	# 03:10 EDT is inside the window: ny2 goes at once, and so does ny1,
	# whose window opened at 03:00
	enroll early 2027-03-14T07:10:00Z ny2
	run --separate-stderr seq-due --now 2027-03-14T07:10:00Z
	assert_success
	assert_equal "$(jobs_of '.to')" "ny1@example.com
ny2@example.com"
	deliver 2027-03-14T07:10:00Z
	# Berlin: 01:59:59 CET is followed by 03:00:00 CEST (01:00Z)
	enroll early 2027-03-28T00:00:00Z be1
	run --separate-stderr seq-due --now 2027-03-28T00:00:00Z
	assert_success
	assert_output ""
	assert_equal "$(sql "SELECT $(iso next_run_at) FROM enrollments WHERE id = 3")" "2027-03-28T01:00:00Z"
}

@test "a window that opens in the repeated hour of the fall change opens at its first occurrence" {
	seq-def > /dev/null <<'JSON'
{"name":"ny","window":{"start":"01:30","end":"17:00"},
 "steps":[{"id":"a","type":"email","subject":"A","text":"a"}]}
JSON
	seq-def > /dev/null <<'JSON'
{"name":"be","window":{"start":"02:30","end":"17:00"},
 "steps":[{"id":"a","type":"email","subject":"A","text":"a"}]}
JSON
	leads '{"external_id":"ny1","email":"ny1@example.com","timezone":"America/New_York"}' \
		'{"external_id":"ny2","email":"ny2@example.com","timezone":"America/New_York"}' \
		'{"external_id":"be1","email":"be1@example.com","timezone":"Europe/Berlin"}'
	# New York, 2026-11-01: 01:30 EDT (05:30Z) comes first, 01:30 EST an
	# hour later
	enroll ny 2026-11-01T04:00:00Z ny1
	run --separate-stderr seq-due --now 2026-11-01T04:00:00Z
	assert_success
	assert_output ""
	assert_equal "$(sql "SELECT $(iso next_run_at) FROM enrollments WHERE id = 1")" "2026-11-01T05:30:00Z"
	# 01:45 EDT is inside the window: ny2 goes at once, and so does ny1,
	# whose window opened at 01:30 EDT
	enroll ny 2026-11-01T05:45:00Z ny2
	run --separate-stderr seq-due --now 2026-11-01T05:45:00Z
	assert_success
	assert_equal "$(jobs_of '.to')" "ny1@example.com
ny2@example.com"
	deliver 2026-11-01T05:45:00Z
	# Berlin, 2026-10-25: 02:30 CEST is 00:30Z
	enroll be 2026-10-24T23:00:00Z be1
	run --separate-stderr seq-due --now 2026-10-24T23:00:00Z
	assert_success
	assert_output ""
	assert_equal "$(sql "SELECT $(iso next_run_at) FROM enrollments WHERE id = 3")" "2026-10-25T00:30:00Z"
}

@test "a daily cap per channel defers the rest to the next day in the sequence's time zone" {
	seq-def > /dev/null <<'JSON'
{"name":"capped","timezone":"America/New_York","caps":{"email":2,"sms":5},
 "steps":[{"id":"a","type":"email","subject":"A","text":"a"}]}
JSON
	seq-def > /dev/null <<'JSON'
{"name":"free","steps":[{"id":"a","type":"email","subject":"A","text":"a"}]}
JSON
	leads '{"external_id":"l1","email":"l1@example.com"}' '{"external_id":"l2","email":"l2@example.com"}' \
		'{"external_id":"l3","email":"l3@example.com"}' '{"external_id":"l4","email":"l4@example.com"}'
	enroll capped 2026-11-24T15:00:00Z l1 l2 l3
	enroll free 2026-11-24T15:00:00Z l4
	# one claim in a first run counts in the second: the cap is of the day
	run --separate-stderr seq-due --limit 1 --now 2026-11-24T15:00:00Z
	assert_success
	assert_equal "$(jobs_of '.sequence, .to')" "capped	l1@example.com"
	# and in every batch of one run
	run --separate-stderr seq-due --batch 1 --now 2026-11-24T15:01:00Z
	assert_success
	assert_equal "$(jobs_of '.sequence, .to')" "capped	l2@example.com
free	l4@example.com"
	# midnight in New York
	assert_equal "$(sql "SELECT id, $(iso next_run_at), claim IS NULL FROM enrollments WHERE id = 3")" \
		"3|2026-11-25T05:00:00Z|1"
	assert_equal "$(sql "SELECT count(*) FROM sequence_executions WHERE enrollment_id = 3")" 0
	tick 2026-11-24T16:00:00Z > /dev/null
	run --separate-stderr seq-due --now 2026-11-25T04:59:59Z
	assert_success
	assert_output ""
	run --separate-stderr seq-due --now 2026-11-25T05:00:00Z
	assert_success
	assert_equal "$(jobs_of '.sequence, .to')" "capped	l3@example.com"
}

@test "a daily cap keyed by a from address counts that sender's messages across sequences" {
	for s in one two; do
		seq-def > /dev/null <<JSON
{"name":"$s","from":{"email":"sales@example.com"},"caps":{"sales@example.com":1},
 "steps":[{"id":"a","type":"email","subject":"A","text":"a"}]}
JSON
	done
	seq-def > /dev/null <<'JSON'
{"name":"three","from":{"email":"other@example.com"},"caps":{"sales@example.com":1},
 "steps":[{"id":"a","type":"email","subject":"A","text":"a"}]}
JSON
	leads '{"external_id":"l1","email":"l1@example.com"}' '{"external_id":"l2","email":"l2@example.com"}' \
		'{"external_id":"l3","email":"l3@example.com"}'
	enroll one 2026-11-24T15:00:00Z l1
	enroll two 2026-11-24T15:00:00Z l2
	enroll three 2026-11-24T15:00:00Z l3
	run --separate-stderr seq-due --now 2026-11-24T15:00:00Z
	assert_success
	assert_equal "$(jobs_of '.sequence, .from')" "one	sales@example.com
three	other@example.com"
	assert_equal "$(sql "SELECT $(iso next_run_at), claim IS NULL FROM enrollments WHERE id = 2")" \
		"2026-11-25T00:00:00Z|1"
	deliver 2026-11-24T15:00:00Z
	run --separate-stderr seq-due --now 2026-11-25T00:00:00Z
	assert_success
	assert_equal "$(jobs_of '.sequence, .from')" "two	sales@example.com"
	assert_equal "$(sql "SELECT sender, count(*) FROM sequence_executions GROUP BY sender ORDER BY sender")" \
		"other@example.com|1
sales@example.com|2"
}

@test "a branch goes to then on an event within its window, else after the window closes" {
	seq-def > /dev/null <<'JSON'
{"name":"br","steps":[
 {"id":"hello","type":"email","subject":"Hello","text":"hello"},
 {"id":"opened","type":"branch","if":{"event":"open","step":"hello","within":"2d"},
  "then":"bump","else":"nudge"},
 {"id":"bump","type":"email","subject":"Bump","text":"bump","next":"end"},
 {"id":"nudge","type":"email","subject":"Nudge","text":"nudge"}]}
JSON
	leads '{"external_id":"l1","email":"l1@example.com"}' '{"external_id":"l2","email":"l2@example.com"}' \
		'{"external_id":"l3","email":"l3@example.com"}'
	enroll br 2026-11-23T10:00:00Z l1 l2 l3
	tick 2026-11-23T10:00:00Z > /dev/null
	assert_equal "$(sql "SELECT id, lead_id, step, state FROM sequence_executions ORDER BY id")" \
		"1|1|hello|sent
2|2|hello|sent
3|3|hello|sent"
	# l1 opened an hour later: then, at once
	event open 2026-11-23T11:00:00Z 1 1
	run --separate-stderr seq-due --now 2026-11-23T12:00:00Z
	assert_success
	assert_equal "$(jobs_of '.lead_id, .step')" "1	bump"
	deliver 2026-11-23T12:00:00Z
	# l2 and l3 have not: seq-due waits until the window ends
	assert_equal "$(sql "SELECT id, step, $(iso next_run_at) FROM enrollments WHERE id > 1 ORDER BY id")" \
		"2|opened|2026-11-25T10:00:00Z
3|opened|2026-11-25T10:00:00Z"
	# l2 opens inside the window, l3 one second after it closed
	event open 2026-11-24T10:00:00Z 2 2
	event open 2026-11-25T10:00:01Z 3 3
	run --separate-stderr seq-due --now 2026-11-25T09:59:59Z
	assert_success
	assert_output ""
	run --separate-stderr seq-due --now 2026-11-25T10:00:00Z
	assert_success
	assert_equal "$(jobs_of '.lead_id, .step, .subject')" "2	bump	Bump
3	nudge	Nudge"
	assert_equal "$(sql "SELECT step, $(iso claimed_at) FROM sequence_executions WHERE id > 3 ORDER BY id")" \
		"bump|2026-11-23T12:00:00Z
bump|2026-11-25T10:00:00Z
nudge|2026-11-25T10:00:00Z"
}

@test "pause during a wait, resume days later: the wait restarts from the resume, no burst" {
	seq-def > /dev/null <<'JSON'
{"name":"p","steps":[
 {"id":"a","type":"email","subject":"A","text":"a"},
 {"id":"w1","type":"wait","duration":"1d"},
 {"id":"b","type":"email","subject":"B","text":"b"},
 {"id":"w2","type":"wait","duration":"1d"},
 {"id":"c","type":"email","subject":"C","text":"c"}]}
JSON
	leads '{"external_id":"l1","email":"l1@example.com"}'
	enroll p 2026-11-23T10:00:00Z l1
	tick 2026-11-23T10:00:00Z > /dev/null
	run --separate-stderr seq-enroll --pause 1 --now 2026-11-23T12:00:00Z
	assert_success
	for t in 2026-11-24T10:00:00Z 2026-11-25T10:00:00Z 2026-11-27T09:00:00Z; do
		run --separate-stderr seq-due --now "$t"
		assert_success
		assert_output ""
	done
	run --separate-stderr seq-enroll --resume 1 --now 2026-11-28T10:00:00Z
	assert_success
	assert_equal "$(sql "SELECT status, step, $(iso step_at), $(iso next_run_at) FROM enrollments")" \
		"active|w1|2026-11-28T10:00:00Z|2026-11-28T10:00:00Z"
	tick 2026-11-28T10:00:00Z > /dev/null
	tick 2026-11-28T10:01:00Z > /dev/null
	tick 2026-11-29T09:59:59Z > /dev/null
	assert_equal "$(sql "SELECT count(*) FROM sequence_executions")" 1
	assert_equal "$(sql "SELECT $(iso next_run_at) FROM enrollments")" "2026-11-29T10:00:00Z"
	tick 2026-11-29T10:00:00Z > /dev/null
	tick 2026-11-29T10:01:00Z > /dev/null
	tick 2026-11-30T09:59:59Z > /dev/null
	tick 2026-11-30T10:00:00Z > /dev/null
	assert_equal "$(sql "SELECT step, state, $(iso claimed_at) FROM sequence_executions ORDER BY id")" \
		"a|sent|2026-11-23T10:00:00Z
b|sent|2026-11-29T10:00:00Z
c|sent|2026-11-30T10:00:00Z"
	assert_equal "$(sql "SELECT status, reason, $(iso at) FROM enrollment_changes ORDER BY id")" \
		"active|enrolled|2026-11-23T10:00:00Z
paused|admin|2026-11-23T12:00:00Z
active|admin|2026-11-28T10:00:00Z
completed|reached the end|2026-11-30T10:00:00Z"
}

@test "paused before its first step, resumed days later: exactly one job on the resume tick" {
	seq-def > /dev/null <<'JSON'
{"name":"p","steps":[
 {"id":"a","type":"email","subject":"A","text":"a"},
 {"id":"w1","type":"wait","duration":"1d"},
 {"id":"b","type":"email","subject":"B","text":"b"}]}
JSON
	leads '{"external_id":"l1","email":"l1@example.com"}'
	enroll p 2026-11-23T10:00:00Z l1
	seq-enroll --pause 1 --now 2026-11-23T10:00:00Z > /dev/null
	run --separate-stderr seq-due --now 2026-11-25T10:00:00Z
	assert_success
	assert_output ""
	seq-enroll --resume 1 --now 2026-11-27T10:00:00Z > /dev/null
	run --separate-stderr seq-due --now 2026-11-27T10:00:00Z
	assert_success
	assert_equal "$(jobs_of '.step')" "a"
	deliver 2026-11-27T10:00:00Z
	run --separate-stderr seq-due --now 2026-11-27T10:01:00Z
	assert_success
	assert_output ""
	assert_equal "$(sql "SELECT step, $(iso next_run_at) FROM enrollments")" "w1|2026-11-28T10:00:00Z"
}

@test "paused after seq-due claimed a step, resumed days later: that step goes out once on the resume tick" {
	seq-def > /dev/null <<'JSON'
{"name":"p","steps":[
 {"id":"a","type":"email","subject":"A","text":"a"},
 {"id":"w1","type":"wait","duration":"1d"},
 {"id":"b","type":"email","subject":"B","text":"b"},
 {"id":"w2","type":"wait","duration":"1d"},
 {"id":"c","type":"email","subject":"C","text":"c"}]}
JSON
	leads '{"external_id":"l1","email":"l1@example.com"}'
	enroll p 2026-11-23T10:00:00Z l1
	tick 2026-11-23T10:00:00Z > /dev/null
	seq-due --now 2026-11-24T10:00:00Z > jobs
	assert_equal "$(jq -r .step jobs)" "b"
	seq-enroll --pause 1 --now 2026-11-24T10:00:01Z > /dev/null
	seq-send --now 2026-11-24T10:00:02Z < jobs 2> /dev/null | seq-log --now 2026-11-24T10:00:02Z > /dev/null
	assert_equal "$(sql "SELECT id, step, state FROM sequence_executions ORDER BY id")" \
		"1|a|sent
2|b|released"
	seq-enroll --resume 1 --now 2026-11-28T10:00:00Z > /dev/null
	run --separate-stderr seq-due --now 2026-11-28T10:00:00Z
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(jobs_of '.enrollment_id, .step, .execution_id')" "1	b	3"
	# a new attempt is a new key: the released one was never delivered
	assert_equal "$(sql "SELECT count(DISTINCT key), count(*) FROM sequence_executions")" "3|3"
	deliver 2026-11-28T10:00:00Z
	run --separate-stderr seq-due --now 2026-11-28T10:01:00Z
	assert_success
	assert_output ""
	assert_equal "$(sql "SELECT status, step, $(iso next_run_at) FROM enrollments")" "active|w2|2026-11-29T10:00:00Z"
}

@test "cancel and convert stop an enrollment: no more jobs, the status and reason recorded" {
	seq-def > /dev/null <<'JSON'
{"name":"s","steps":[
 {"id":"a","type":"email","subject":"A","text":"a"},
 {"id":"w","type":"wait","duration":"1d"},
 {"id":"b","type":"email","subject":"B","text":"b"}]}
JSON
	leads '{"external_id":"l1","email":"l1@example.com"}' '{"external_id":"l2","email":"l2@example.com"}' \
		'{"external_id":"l3","email":"l3@example.com"}'
	enroll s 2026-11-23T10:00:00Z l1 l2 l3
	tick 2026-11-23T10:00:00Z > /dev/null
	run --separate-stderr seq-enroll --cancel --reason "asked us to stop" 1 --now 2026-11-23T11:00:00Z
	assert_success
	run --separate-stderr seq-enroll --convert --value 1200 2 --now 2026-11-23T12:00:00Z
	assert_success
	# l3's step b is claimed, then the enrollment is cancelled: released
	seq-due --now 2026-11-24T10:00:00Z > jobs
	assert_equal "$(jq -r .enrollment_id jobs)" 3
	seq-enroll --cancel 3 --now 2026-11-24T10:00:01Z > /dev/null
	SEQ_MOCK_LOG=mock.log seq-send --now 2026-11-24T10:00:02Z < jobs > results 2> /dev/null
	assert_equal "$(wc -c < results)" 0
	assert_equal "$(wc -c < mock.log)" 0
	for t in 2026-11-24T10:01:00Z 2026-11-26T10:00:00Z; do
		run --separate-stderr seq-due --now "$t"
		assert_success
		assert_output ""
	done
	assert_equal "$(sql "SELECT id, status, value FROM enrollments ORDER BY id")" \
		"1|cancelled|
2|converted|1200.0
3|cancelled|"
	assert_equal "$(sql "SELECT enrollment_id, status, reason, $(iso at) FROM enrollment_changes
		WHERE status <> 'active' ORDER BY id")" \
		"1|cancelled|asked us to stop|2026-11-23T11:00:00Z
2|converted|admin|2026-11-23T12:00:00Z
3|cancelled|admin|2026-11-24T10:00:01Z"
	assert_equal "$(sql "SELECT id, step, state, error FROM sequence_executions WHERE id > 3")" \
		"4|b|released|not sent: enrollment cancelled"
}

@test "a converted lead exits its other sequences on their next walk" {
	for s in s1 s2; do
		seq-def > /dev/null <<JSON
{"name":"$s","steps":[
 {"id":"a","type":"email","subject":"A","text":"a"},
 {"id":"w","type":"wait","duration":"1d"},
 {"id":"b","type":"email","subject":"B","text":"b"}]}
JSON
	done
	leads '{"external_id":"l1","email":"l1@example.com"}'
	enroll s1 2026-11-23T10:00:00Z l1
	enroll s2 2026-11-23T10:00:00Z l1
	tick 2026-11-23T10:00:00Z > /dev/null
	seq-enroll --convert 1 --now 2026-11-23T11:00:00Z > /dev/null
	run --separate-stderr seq-due --now 2026-11-24T10:00:00Z
	assert_success
	assert_output ""
	assert_equal "$(sql "SELECT id, status, next_run_at IS NULL FROM enrollments ORDER BY id")" \
		"1|converted|0
2|exited|1"
	assert_equal "$(sql "SELECT reason, $(iso at) FROM enrollment_changes WHERE enrollment_id = 2 AND status = 'exited'")" \
		"lead converted (enrollment 1)|2026-11-24T10:00:00Z"
}

@test "exit_on: a reply from the lead exits the enrollment with the reason" {
	seq-def > /dev/null <<'JSON'
{"name":"s","exit_on":["reply","unsubscribe"],"steps":[
 {"id":"a","type":"email","subject":"A","text":"a"},
 {"id":"w","type":"wait","duration":"1d"},
 {"id":"b","type":"email","subject":"B","text":"b"}]}
JSON
	leads '{"external_id":"l1","email":"l1@example.com"}' '{"external_id":"l2","email":"l2@example.com"}' \
		'{"external_id":"l3","email":"l3@example.com"}'
	enroll s 2026-11-23T10:00:00Z l1 l2 l3
	tick 2026-11-23T10:00:00Z > /dev/null
	event reply 2026-11-23T15:00:00Z 1 1
	# a reply from before the enrollment, and an event not in exit_on
	event reply 2026-11-20T10:00:00Z 2
	event open 2026-11-23T15:00:00Z 3 3
	run --separate-stderr seq-due --now 2026-11-24T10:00:00Z
	assert_success
	assert_equal "$(jobs_of '.lead_id, .step')" "2	b
3	b"
	assert_equal "$(sql "SELECT id, status, step, next_run_at IS NULL FROM enrollments ORDER BY id")" \
		"1|exited|w|1
2|active|b|0
3|active|b|0"
	assert_equal "$(sql "SELECT status, reason, $(iso at) FROM enrollment_changes WHERE enrollment_id = 1 ORDER BY id")" \
		"active|enrolled|2026-11-23T10:00:00Z
exited|reply received|2026-11-24T10:00:00Z"
}

@test "an enrollment keeps its sequence version; a new one gets the newest" {
	seq-def > /dev/null <<'JSON'
{"name":"pin","steps":[
 {"id":"a","type":"email","subject":"V1 hello","text":"V1 hello {{first_name}}"},
 {"id":"w","type":"wait","duration":"1d"},
 {"id":"b","type":"email","subject":"V1 again","text":"V1 b"}]}
JSON
	leads '{"external_id":"l1","email":"l1@example.com","first_name":"Ann"}' \
		'{"external_id":"l2","email":"l2@example.com","first_name":"Bo"}'
	enroll pin 2026-11-23T10:00:00Z l1
	tick 2026-11-23T10:00:00Z > /dev/null
	run --separate-stderr seq-def <<'JSON'
{"name":"pin","steps":[
 {"id":"a","type":"email","subject":"V2 hello","text":"V2 hello {{first_name}}"},
 {"id":"w","type":"wait","duration":"1d"},
 {"id":"b","type":"email","subject":"V2 again","text":"V2 b"}]}
JSON
	assert_success
	assert_output '{"sequence":"pin","steps":3,"version":2}'
	enroll pin 2026-11-23T11:00:00Z l2
	run --separate-stderr seq-due --now 2026-11-23T11:00:00Z
	assert_success
	assert_equal "$(jobs_of '.lead_id, .version, .subject, .text')" "2	2	V2 hello	V2 hello Bo"
	deliver 2026-11-23T11:00:00Z
	run --separate-stderr seq-due --now 2026-11-24T10:00:00Z
	assert_success
	assert_equal "$(jobs_of '.lead_id, .version, .step, .subject, .text')" "1	1	b	V1 again	V1 b"
	assert_equal "$(sql "SELECT id, version FROM enrollments ORDER BY id")" "1|1
2|2"
	assert_equal "$(sql "SELECT version, json_extract(definition, '\$.steps[2].text') FROM sequence_versions ORDER BY version")" \
		"1|V1 b
2|V2 b"
}

@test "merge fields and fallbacks are rendered, and escaped in html only" {
	seq-def > /dev/null <<'JSON'
{"name":"m","steps":[
 {"id":"a","type":"email","subject":"Hi {{first_name|there}} {{ last_name }}",
  "text":"{{company|your team}} / {{attr.plan}} / {{attr.seats}} / {{title|}}!",
  "html":"<p>{{first_name|there}} {{last_name}} at {{company|A&B <Co>}}: {{attr.plan|none}}</p>"}]}
JSON
	leads '{"external_id":"l1","email":"l1@example.com","first_name":"Zoë & \"Bo\"","last_name":"<O'"'"'Neil>","attributes":{"plan":"pro & more","seats":40}}' \
		'{"external_id":"l2","email":"l2@example.com"}'
	enroll m 2026-11-23T10:00:00Z l1 l2
	run --separate-stderr seq-due --now 2026-11-23T10:00:00Z
	assert_success
	assert_equal "${#lines[@]}" 2
	assert_equal "$(jq -r 'select(.lead_id == 1) | .subject' <<< "$output")" "Hi Zoë & \"Bo\" <O'Neil>"
	assert_equal "$(jq -r 'select(.lead_id == 1) | .text' <<< "$output")" "your team / pro & more / 40 / !"
	assert_equal "$(jq -r 'select(.lead_id == 1) | .html' <<< "$output")" \
		"<p>Zoë &amp; &quot;Bo&quot; &lt;O&#39;Neil&gt; at A&amp;B &lt;Co&gt;: pro &amp; more</p>"
	assert_equal "$(jq -r 'select(.lead_id == 2) | [.subject, .text, .html] | join("|")' <<< "$output")" \
		"Hi there |your team /  /  / !|<p>there  at A&amp;B &lt;Co&gt;: none</p>"
}

@test "an opted-out channel or an unusable address mid-sequence is skipped with its reason, and the walk goes on" {
	seq-def > /dev/null <<'JSON'
{"name":"mix","from":{"sms":"+12025550100"},"steps":[
 {"id":"a","type":"email","subject":"A","text":"a"},
 {"id":"b","type":"sms","text":"b"},
 {"id":"c","type":"email","subject":"C","text":"c"}]}
JSON
	leads '{"external_id":"bad","email":"bad@example.com","phone":"12"}' \
		'{"external_id":"out","email":"out@example.com","phone":"+16175550123"}' \
		'{"external_id":"none","email":"none@example.com"}' \
		'{"external_id":"ok","email":"ok@example.com","phone":"+16175550124"}'
	enroll mix 2026-11-23T10:00:00Z bad out none ok
	tick 2026-11-23T10:00:00Z > /dev/null
	# out opts out of SMS after enrolling
	leads '{"external_id":"out","consent":{"sms":"opt-out"}}'
	run --separate-stderr seq-due --now 2026-11-23T10:01:00Z
	assert_success
	assert_equal "$(jobs_of '.lead_id, .step, .channel')" "1	c	email
2	c	email
3	c	email
4	b	sms"
	assert_equal "$(sql "SELECT lead_id, step, channel, state, error, $(iso claimed_at), $(iso done_at)
		FROM sequence_executions WHERE state = 'skipped' ORDER BY id")" \
		"1|b|sms|skipped|invalid phone number|2026-11-23T10:01:00Z|2026-11-23T10:01:00Z
2|b|sms|skipped|opted out of sms|2026-11-23T10:01:00Z|2026-11-23T10:01:00Z
3|b|sms|skipped|no phone number|2026-11-23T10:01:00Z|2026-11-23T10:01:00Z"
	assert_equal "$(sql "SELECT id, step, cursor FROM enrollments ORDER BY id")" "1|c|3
2|c|3
3|c|3
4|b|2"
	# ok's address goes bad after its SMS: its last
	# step is skipped and the enrollment completes
	deliver 2026-11-23T10:01:00Z
	leads '{"external_id":"ok","email":"ok@example"}'
	run --separate-stderr seq-due --now 2026-11-23T10:02:00Z
	assert_success
	assert_output ""
	assert_equal "$(sql "SELECT lead_id, step, state, error FROM sequence_executions WHERE lead_id = 4 ORDER BY id")" \
		"4|a|sent|
4|b|sent|
4|c|skipped|invalid email address"
	assert_equal "$(sql "SELECT status, step IS NULL, cursor FROM enrollments WHERE id = 4")" "completed|1|4"
}

@test "an enrollment completes at the end, after a last wait or a last skipped step" {
	seq-def > /dev/null <<'JSON'
{"name":"tail","steps":[
 {"id":"a","type":"email","subject":"A","text":"a"},
 {"id":"w","type":"wait","duration":"1d"}]}
JSON
	seq-def > /dev/null <<'JSON'
{"name":"skip","steps":[
 {"id":"a","type":"email","subject":"A","text":"a"},
 {"id":"b","type":"sms","text":"b"}]}
JSON
	leads '{"external_id":"l1","email":"l1@example.com"}' '{"external_id":"l2","email":"l2@example.com"}'
	enroll tail 2026-11-23T10:00:00Z l1
	enroll skip 2026-11-23T10:00:00Z l2
	tick 2026-11-23T10:00:00Z > /dev/null
	run --separate-stderr seq-due --now 2026-11-23T10:01:00Z
	assert_success
	assert_output ""
	assert_equal "$(sql "SELECT id, status, step FROM enrollments ORDER BY id")" "1|active|w
2|completed|"
	run --separate-stderr seq-due --now 2026-11-24T10:00:00Z
	assert_success
	assert_output ""
	assert_equal "$(sql "SELECT id, status, step IS NULL, next_run_at IS NULL, claim IS NULL FROM enrollments ORDER BY id")" \
		"1|completed|1|1|1
2|completed|1|1|1"
	assert_equal "$(sql "SELECT enrollment_id, reason, $(iso at) FROM enrollment_changes WHERE status = 'completed' ORDER BY id")" \
		"2|reached the end|2026-11-23T10:01:00Z
1|reached the end|2026-11-24T10:00:00Z"
	assert_equal "$(sql "SELECT count(*) FROM enrollment_changes WHERE status = 'completed'")" 2
}

# Two sequences, one email and one SMS, with l1..l4 enrolled in both:
# enrollments 1-4 (email) and 5-8 (sms), all due at 10:00.
mail_and_text() {
	seq-def > /dev/null <<'JSON'
{"name":"mail","steps":[{"id":"a","type":"email","subject":"A","text":"a"}]}
JSON
	seq-def > /dev/null <<'JSON'
{"name":"text","steps":[{"id":"a","type":"sms","text":"a"}]}
JSON
	leads '{"external_id":"l1","email":"l1@example.com","phone":"+16175550121"}' \
		'{"external_id":"l2","email":"l2@example.com","phone":"+16175550122"}' \
		'{"external_id":"l3","email":"l3@example.com","phone":"+16175550123"}' \
		'{"external_id":"l4","email":"l4@example.com","phone":"+16175550124"}'
	enroll mail 2026-11-23T10:00:00Z l1 l2 l3 l4
	enroll text 2026-11-23T10:00:00Z l1 l2 l3 l4
}

@test "--limit, --channel and --sequence select what is claimed, and together cover every due step once" {
	mail_and_text
	run --separate-stderr seq-due --limit 3 --now 2026-11-23T10:00:00Z
	assert_success
	assert_equal "$(jobs_of '.enrollment_id, .sequence')" "1	mail
2	mail
3	mail"
	run --separate-stderr seq-due --sequence text --limit 1 --now 2026-11-23T10:00:00Z
	assert_success
	assert_equal "$(jobs_of '.enrollment_id, .sequence')" "5	text"
	run --separate-stderr seq-due --channel sms --now 2026-11-23T10:00:00Z
	assert_success
	assert_equal "$(jobs_of '.enrollment_id, .channel')" "6	sms
7	sms
8	sms"
	run --separate-stderr seq-due --channel email --now 2026-11-23T10:00:00Z
	assert_success
	assert_equal "$(jobs_of '.enrollment_id, .channel')" "4	email"
	run --separate-stderr seq-due --now 2026-11-23T10:00:00Z
	assert_success
	assert_output ""
	assert_equal "$(sql "SELECT enrollment_id, count(*) FROM sequence_executions GROUP BY enrollment_id" | tr '\n' ' ')" \
		"1|1 2|1 3|1 4|1 5|1 6|1 7|1 8|1 "
	assert_equal "$(sql "SELECT count(*) FROM enrollments WHERE claim IS NULL")" 0
	run -1 --separate-stderr seq-due --sequence nosuch --now 2026-11-23T10:00:00Z
	assert_output ""
	assert_equal "$stderr" "seq-due: no sequence 'nosuch'"
}

@test "--limit 0 claims nothing" {
	mail_and_text
	run --separate-stderr seq-due --limit 0 --now 2026-11-23T10:00:00Z
	assert_success
	assert_output ""
	assert_equal "$(sql "SELECT count(*) FROM sequence_executions")" 0
}

@test "--channel with --limit fills the limit with that channel's steps when others are due first" {
	mail_and_text
	# enrollments 1-4 (email) come first and stay due for another seq-due
	run --separate-stderr seq-due --channel sms --limit 2 --now 2026-11-23T10:00:00Z
	assert_success
	assert_equal "$(jobs_of '.enrollment_id, .channel')" "5	sms
6	sms"
	run --separate-stderr seq-due --channel sms --limit 2 --now 2026-11-23T10:00:00Z
	assert_success
	assert_equal "$(jobs_of '.enrollment_id, .channel')" "7	sms
8	sms"
	assert_equal "$(sql "SELECT count(*) FROM enrollments WHERE claim IS NULL")" 4
}

@test "--shard 1/2 and 2/2 together claim every due step exactly once, and recover only their own" {
	one_email_world 10 2026-11-23T10:00:00Z
	seq-due --shard 1/2 --now 2026-11-23T10:00:00Z > s1
	seq-due --shard 2/2 --now 2026-11-23T10:00:00Z > s2
	assert_equal "$(jq -r .enrollment_id s1 | tr '\n' ' ')" "2 4 6 8 10 "
	assert_equal "$(jq -r .enrollment_id s2 | tr '\n' ' ')" "1 3 5 7 9 "
	assert_equal "$(cat s1 s2 | jq -r .key | sort -u | wc -l)" 10
	run --separate-stderr seq-due --now 2026-11-23T10:00:00Z
	assert_success
	assert_output ""
	# nothing was sent: after the lease each shard emits its own jobs again
	seq-due --shard 2/2 --now 2026-11-23T10:05:00Z > r2
	seq-due --shard 1/2 --now 2026-11-23T10:05:00Z > r1
	assert_equal "$(cat r1)" "$(cat s1)"
	assert_equal "$(cat r2)" "$(cat s2)"
	assert_equal "$(sql "SELECT count(*), count(DISTINCT enrollment_id), min($(iso lease_until)) FROM sequence_executions")" \
		"10|10|2026-11-23T10:10:00Z"
}

@test "job lines carry every field of a job, and the same line comes again after its lease" {
	seq-def > /dev/null <<'JSON'
{"name":"fields","from":{"email":"sales@example.com","sms":"+12025550100","voice":"+12025550101"},
 "steps":[
 {"id":"e","type":"email","subject":"Hi {{first_name}}","text":"Hello {{first_name}}","html":"<p>Hello {{first_name}}</p>"},
 {"id":"s","type":"sms","text":"Hi {{first_name}}"},
 {"id":"v","type":"voice","say":"Hello {{first_name}}"}]}
JSON
	seq-def > /dev/null <<'JSON'
{"name":"plain","steps":[{"id":"e","type":"email","subject":"S","text":"T"}]}
JSON
	leads '{"external_id":"l1","email":"ann@example.com","phone":"+16175550123","first_name":"Ann"}'
	enroll fields 2026-11-23T10:00:00Z l1
	local inst
	inst=$(instance)
	run --separate-stderr seq-due --now 2026-11-23T10:00:00Z
	assert_success
	assert_output "{\"execution_id\":1,\"key\":\"$inst.1.1.1\",\"enrollment_id\":1,\"lead_id\":1,\"sequence\":\"fields\",\"version\":1,\"step\":\"e\",\"channel\":\"email\",\"attempt\":1,\"to\":\"ann@example.com\",\"from\":\"sales@example.com\",\"subject\":\"Hi Ann\",\"text\":\"Hello Ann\",\"html\":\"<p>Hello Ann</p>\",\"headers\":{\"X-Seq-Key\":\"$inst.1.1.1\",\"Message-ID\":\"<$inst.1.1.1@example.com>\"}}"
	local first=$output
	run --separate-stderr seq-due --now 2026-11-23T10:04:59Z
	assert_success
	assert_output ""
	run --separate-stderr seq-due --now 2026-11-23T10:05:00Z
	assert_success
	assert_output "$first"
	deliver 2026-11-23T10:05:00Z
	run --separate-stderr seq-due --now 2026-11-23T10:06:00Z
	assert_success
	assert_output "{\"execution_id\":2,\"key\":\"$inst.1.2.1\",\"enrollment_id\":1,\"lead_id\":1,\"sequence\":\"fields\",\"version\":1,\"step\":\"s\",\"channel\":\"sms\",\"attempt\":1,\"to\":\"+16175550123\",\"from\":\"+12025550100\",\"text\":\"Hi Ann\",\"headers\":{}}"
	deliver 2026-11-23T10:06:00Z
	run --separate-stderr seq-due --now 2026-11-23T10:07:00Z
	assert_success
	assert_output "{\"execution_id\":3,\"key\":\"$inst.1.3.1\",\"enrollment_id\":1,\"lead_id\":1,\"sequence\":\"fields\",\"version\":1,\"step\":\"v\",\"channel\":\"voice\",\"attempt\":1,\"to\":\"+16175550123\",\"from\":\"+12025550101\",\"say\":\"Hello Ann\",\"headers\":{}}"
	deliver 2026-11-23T10:07:00Z
	# no from in the definition: SEQ_EMAIL_FROM, else null
	enroll plain 2026-11-23T10:08:00Z l1
	run --separate-stderr env SEQ_EMAIL_FROM='Sales Team <env@example.com>' seq-due --now 2026-11-23T10:08:00Z
	assert_success
	# an email sender is taken whole, display name and all
	assert_equal "$(jobs_of '.sequence, .from')" "plain	Sales Team <env@example.com>"
	assert_equal "$(sql "SELECT sender FROM sequence_executions WHERE id = 4")" "Sales Team <env@example.com>"
}

@test "a list of default senders gives each lead one of them, the same every time, from the environment or the config file" {
	seq-def > /dev/null <<'JSON'
{"name":"texts","steps":[{"id":"a","type":"sms","text":"one"},{"id":"w","type":"wait","duration":"1h"},{"id":"b","type":"sms","text":"two"}]}
JSON
	local i
	for i in $(seq 1 12); do
		leads "{\"external_id\":\"p$i\",\"phone\":\"+1617555$(printf %04d $((1000 + i)))\"}"
	done
	enroll texts 2026-11-23T10:00:00Z $(seq -f 'p%g' 1 12)
	printf 'SEQ_SMS_FROM=+12025550100, +12025550101 +12025550102\n' > conf
	chmod 600 conf
	seq-due --config conf --now 2026-11-23T10:00:00Z > first
	seq-send --now 2026-11-23T10:00:00Z < first | seq-log --now 2026-11-23T10:00:00Z > /dev/null
	SEQ_SMS_FROM='+12025550100 +12025550101,+12025550102' seq-due --now 2026-11-23T11:00:00Z > second
	# every lead hears from the same number both times
	assert_equal "$(jq -r '[.to, .from] | @tsv' first | sort)" "$(jq -r '[.to, .from] | @tsv' second | sort)"
	assert_equal "$(wc -l < first)" 12
	# and the numbers are shared out, not all one
	assert [ "$(jq -r .from first | sort -u | wc -l)" -ge 2 ]
	assert_equal "$(jq -r .from first | sort -u | tr '\n' ' ')" "$(jq -r .from first | sort -u | grep -E '^\+1202555010[012]$' | tr '\n' ' ')"
}

@test "a job with no sender configured says so with a null from" {
	seq-def > /dev/null <<'JSON'
{"name":"plain","steps":[{"id":"e","type":"email","subject":"S","text":"T"}]}
JSON
	leads '{"external_id":"l1","email":"ann@example.com"}'
	enroll plain 2026-11-23T10:00:00Z l1
	run --separate-stderr seq-due --now 2026-11-23T10:00:00Z
	assert_success
	assert_equal "$(jq -c '[.from, (keys | length)]' <<< "$output")" '[null,14]'
	assert_equal "$(sql "SELECT sender IS NULL FROM sequence_executions")" 1
}
