#!/usr/bin/env bats
# The catch-up policy (sequence(5) "catch_up"): after cron was down,
# "shift" (the default) moves every later step by the delay, one step per
# wait as planned; "send" sends at once what came due meanwhile, within
# caps.  The send times are those of sequence_executions and of the mock
# adapter's log.

load test_helper
setup() { common_setup; init_db; export SEQ_MOCK_LOG="$BATS_TEST_TMPDIR/mock.log"; }

# email, wait 1d, email, wait 1d, email; $1: a catch_up member, or none
three_steps() {
	seq-def > /dev/null <<JSON
{"name":"drip"$1,"steps":[
 {"id":"e1","type":"email","subject":"E1","text":"e1"},
 {"id":"w1","type":"wait","duration":"1d"},
 {"id":"e2","type":"email","subject":"E2","text":"e2"},
 {"id":"w2","type":"wait","duration":"1d"},
 {"id":"e3","type":"email","subject":"E3","text":"e3"}]}
JSON
	leads '{"external_id":"l1","email":"l1@example.com"}'
	enroll drip 2026-11-23T10:00:00Z l1
}

# A cron tick every minute from $1 for $2 minutes.
cron() {
	local start i
	start=$(epoch "$1")
	for ((i = 0; i < $2; i++)); do
		tick "$(date -u -d "@$((start + 60 * i))" +%FT%TZ)" > /dev/null
	done
}

# The outage: cron runs on Monday 23 at 10:00, is down three days, and runs
# again from Thursday 26 at 10:00, for a few minutes on each later day.
outage() {
	cron 2026-11-23T10:00:00Z 1
	cron 2026-11-26T10:00:00Z 3
	cron 2026-11-27T09:58:00Z 4
	cron 2026-11-28T09:58:00Z 4
}

steps_sent() {
	sql "SELECT step, state, $(iso claimed_at) FROM sequence_executions ORDER BY id"
}

@test "shift (the default): after a 3-day outage the steps go out one a day, and the shift is in the timeline" {
	three_steps
	outage
	assert_equal "$(steps_sent)" "e1|sent|2026-11-23T10:00:00Z
e2|sent|2026-11-26T10:00:00Z
e3|sent|2026-11-27T10:00:00Z"
	assert_equal "$(jq -r .subject "$SEQ_MOCK_LOG")" "E1
E2
E3"
	run --separate-stderr seq-timeline --lead 1 --kind step
	assert_success
	assert_equal "$(jq -c 'select(.what == "shifted")' <<< "$output")" \
		'{"at":"2026-11-26T10:00:00Z","kind":"step","what":"shifted","sequence":"drip","version":1,"step":"w1","enrollment_id":1,"details":{"reason":"catch_up shift","due":"2026-11-24T10:00:00Z","until":"2026-11-26T10:00:00Z"}}'
	assert_equal "$(sql 'SELECT count(*) FROM deferrals')" 1
	assert_equal "$(sql 'SELECT status FROM enrollments')" completed
}

@test "send: after a 3-day outage what came due meanwhile goes out at once" {
	three_steps ',"catch_up":"send"'
	outage
	assert_equal "$(steps_sent)" "e1|sent|2026-11-23T10:00:00Z
e2|sent|2026-11-26T10:00:00Z
e3|sent|2026-11-26T10:01:00Z"
	assert_equal "$(jq -r .subject "$SEQ_MOCK_LOG")" "E1
E2
E3"
	assert_equal "$(sql 'SELECT count(*) FROM deferrals')" 0
}

@test "send stays within caps: with SEQ_LEAD_CAP email=1/1d the overdue steps go out a day apart" {
	export SEQ_LEAD_CAP=email=1/1d
	three_steps ',"catch_up":"send"'
	outage
	assert_equal "$(steps_sent)" "e1|sent|2026-11-23T10:00:00Z
e2|sent|2026-11-26T10:00:00Z
e3|sent|2026-11-27T10:00:00Z"
	assert_equal "$(sql "SELECT step, what, reason, $(iso due_at), $(iso until_at) FROM deferrals")" \
		"e3|deferred|SEQ_LEAD_CAP email=1/1d|2026-11-25T10:00:00Z|2026-11-27T10:00:00Z"
}

@test "cron on time: shift and send keep the same schedule, and nothing is shifted" {
	three_steps
	seq-def > /dev/null <<'JSON'
{"name":"drip2","catch_up":"send","steps":[
 {"id":"e1","type":"email","subject":"E1","text":"e1"},
 {"id":"w1","type":"wait","duration":"1d"},
 {"id":"e2","type":"email","subject":"E2","text":"e2"},
 {"id":"w2","type":"wait","duration":"1d"},
 {"id":"e3","type":"email","subject":"E3","text":"e3"}]}
JSON
	enroll drip2 2026-11-23T10:00:00Z l1
	cron 2026-11-23T10:00:00Z 2
	cron 2026-11-24T09:59:00Z 3
	cron 2026-11-25T09:59:00Z 3
	assert_equal "$(sql "SELECT enrollment_id, step, $(iso claimed_at) FROM sequence_executions ORDER BY enrollment_id, id")" \
		"1|e1|2026-11-23T10:00:00Z
1|e2|2026-11-24T10:00:00Z
1|e3|2026-11-25T10:00:00Z
2|e1|2026-11-23T10:00:00Z
2|e2|2026-11-24T10:00:00Z
2|e3|2026-11-25T10:00:00Z"
	assert_equal "$(sql 'SELECT count(*) FROM deferrals')" 0
}

# email, wait 1d, wait 12h, email: the second wait counts from the end of
# the first, which shift puts at the moment seq-due saw it.
two_waits() {
	seq-def > /dev/null <<JSON
{"name":"ww"$1,"steps":[
 {"id":"a","type":"email","subject":"A","text":"a"},
 {"id":"w1","type":"wait","duration":"1d"},
 {"id":"w2","type":"wait","duration":"12h"},
 {"id":"b","type":"email","subject":"B","text":"b"}]}
JSON
	leads '{"external_id":"l1","email":"l1@example.com"}'
	enroll ww 2026-11-23T10:00:00Z l1
	tick 2026-11-23T10:00:00Z > /dev/null
}

@test "shift moves a wait that follows a late wait; send keeps it; a wait seen within 15 minutes is not late" {
	two_waits
	tick 2026-11-26T10:00:00Z > /dev/null
	assert_equal "$(sql "SELECT step, $(iso step_at), $(iso next_run_at) FROM enrollments")" \
		"w2|2026-11-26T10:00:00Z|2026-11-26T22:00:00Z"
	tick 2026-11-26T21:59:59Z > /dev/null
	tick 2026-11-26T22:00:00Z > /dev/null
	assert_equal "$(steps_sent)" "a|sent|2026-11-23T10:00:00Z
b|sent|2026-11-26T22:00:00Z"

	rm -f "$SEQ_DB"; init_db
	two_waits ',"catch_up":"send"'
	tick 2026-11-26T10:00:00Z > /dev/null
	assert_equal "$(steps_sent)" "a|sent|2026-11-23T10:00:00Z
b|sent|2026-11-26T10:00:00Z"

	# 15 minutes late is on time: w2 counts from w1's planned end
	rm -f "$SEQ_DB"; init_db
	two_waits
	tick 2026-11-24T10:15:00Z > /dev/null
	assert_equal "$(sql "SELECT step, $(iso step_at), $(iso next_run_at) FROM enrollments")" \
		"w2|2026-11-24T10:00:00Z|2026-11-24T22:00:00Z"
	# a second more is late
	rm -f "$SEQ_DB"; init_db
	two_waits
	tick 2026-11-24T10:15:01Z > /dev/null
	assert_equal "$(sql "SELECT step, $(iso step_at), $(iso next_run_at) FROM enrollments")" \
		"w2|2026-11-24T10:15:01Z|2026-11-24T22:15:01Z"
	assert_equal "$(sql "SELECT step, reason, $(iso due_at), $(iso until_at) FROM deferrals")" \
		"w1|catch_up shift|2026-11-24T10:00:00Z|2026-11-24T10:15:01Z"
}
