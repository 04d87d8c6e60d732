#!/usr/bin/env bats
# seq-timeline: one lead's activities, newest first, and its filters.

load test_helper

setup() {
	common_setup
	init_db
	export SEQ_NOW=2026-11-25T10:00:00Z
	load_example
	cat > other.json <<'EOF'
{"name":"other","steps":[
 {"id":"only","type":"email","subject":"Hi {{first_name|there}}","text":"Hello"},
 {"id":"w","type":"wait","duration":"1d"},
 {"id":"again","type":"email","subject":"Again","text":"Hello again"}]}
EOF
	seq-def other.json > /dev/null
}

# Lead 1: enrolled in intro at 10:00 and in other at 10:30; intro paused at
# 11:00; other's first step sent at 13:00 and logged at 13:05; intro resumed
# at 14:00.  Lead 2: enrolled in intro and cancelled, to stay out of lead 1's
# feed.
story() {
	printf '{"id":1}\n{"id":2}\n' > refs.ndjson
	seq-enroll --sequence intro --now 2026-11-25T10:00:00Z < refs.ndjson > /dev/null
	echo '{"id":1}' > one.ndjson
	seq-enroll --sequence other --now 2026-11-25T10:30:00Z < one.ndjson > /dev/null
	seq-enroll --pause --now 2026-11-25T11:00:00Z 1 > /dev/null
	seq-enroll --cancel --reason "wrong person" --now 2026-11-25T11:30:00Z 2 > /dev/null
	seq-due --now 2026-11-25T13:00:00Z > jobs.ndjson
	seq-send --now 2026-11-25T13:00:00Z < jobs.ndjson > results.ndjson
	seq-log --now 2026-11-25T13:05:00Z < results.ndjson > /dev/null
	seq-enroll --resume --reason "back" --now 2026-11-25T14:00:00Z 1 > /dev/null
	KEY=$(sql "SELECT key FROM sequence_executions")
}

# at, kind, what and sequence of each activity
short() {
	jq -r '[.at, .kind, .what, .sequence] | join(" ")' <<< "$output"
}

@test "a lead's changes and steps, newest first, with their fields" {
	story
	assert_equal "$(jq -r '[.enrollment_id, .lead_id, .step] | @tsv' jobs.ndjson)" "3	1	only"
	run --separate-stderr seq-timeline --lead 1
	assert_success
	assert_equal "$stderr" ""
	assert_equal "${#lines[@]}" 5
	assert_equal "${lines[0]}" '{"at":"2026-11-25T14:00:00Z","kind":"enrollment","what":"active","sequence":"intro","version":1,"step":"hello","enrollment_id":1,"details":{"reason":"back"}}'
	assert_equal "${lines[1]}" '{"at":"2026-11-25T13:05:00Z","kind":"step","what":"sent","sequence":"other","version":1,"step":"only","channel":"email","enrollment_id":3,"execution_id":1,"details":{"key":"'"$KEY"'","attempt":1,"adapter":"mock","provider_id":"mock-'"$KEY"'","http_status":202,"latency_ms":0,"metadata":{"simulated":true}}}'
	assert_equal "${lines[2]}" '{"at":"2026-11-25T11:00:00Z","kind":"enrollment","what":"paused","sequence":"intro","version":1,"step":"hello","enrollment_id":1,"details":{"reason":"admin"}}'
	assert_equal "${lines[3]}" '{"at":"2026-11-25T10:30:00Z","kind":"enrollment","what":"active","sequence":"other","version":1,"step":"only","enrollment_id":3,"details":{"reason":"enrolled"}}'
	assert_equal "${lines[4]}" '{"at":"2026-11-25T10:00:00Z","kind":"enrollment","what":"active","sequence":"intro","version":1,"step":"hello","enrollment_id":1,"details":{"reason":"enrolled"}}'
	run --separate-stderr seq-timeline --lead 2
	assert_success
	assert_equal "$(short)" "2026-11-25T11:30:00Z enrollment cancelled intro
2026-11-25T10:00:00Z enrollment active intro"
	assert_equal "$(jq -r .details.reason <<< "${lines[0]}")" "wrong person"
}

@test "--kind keeps one kind of activity" {
	story
	run --separate-stderr seq-timeline --lead 1 --kind enrollment
	assert_success
	assert_equal "$(short)" "2026-11-25T14:00:00Z enrollment active intro
2026-11-25T11:00:00Z enrollment paused intro
2026-11-25T10:30:00Z enrollment active other
2026-11-25T10:00:00Z enrollment active intro"
	run --separate-stderr seq-timeline --lead 1 --kind step
	assert_success
	assert_equal "$(short)" "2026-11-25T13:05:00Z step sent other"
	run --separate-stderr seq-timeline --lead 1 --kind event
	assert_success
	assert_output ""
	run -2 --separate-stderr seq-timeline --lead 1 --kind change
	assert_output ""
	assert_equal "$stderr" "seq-timeline: --kind: enrollment, step, event, consent or task"
}

@test "--since and --until bound the time, both ends included" {
	story
	run --separate-stderr seq-timeline --lead 1 --since 2026-11-25T11:00:00Z
	assert_equal "$(short)" "2026-11-25T14:00:00Z enrollment active intro
2026-11-25T13:05:00Z step sent other
2026-11-25T11:00:00Z enrollment paused intro"
	run --separate-stderr seq-timeline --lead 1 --until 2026-11-25T11:00:00Z
	assert_equal "$(short)" "2026-11-25T11:00:00Z enrollment paused intro
2026-11-25T10:30:00Z enrollment active other
2026-11-25T10:00:00Z enrollment active intro"
	run --separate-stderr seq-timeline --lead 1 --since 2026-11-25T10:30:00Z --until 2026-11-25T13:05:00Z
	assert_equal "$(short)" "2026-11-25T13:05:00Z step sent other
2026-11-25T11:00:00Z enrollment paused intro
2026-11-25T10:30:00Z enrollment active other"
	# with an offset: 12:00+01:00 is 11:00Z
	run --separate-stderr seq-timeline --lead 1 --since 2026-11-25T10:00:01Z --until 2026-11-25T12:00:00+01:00
	assert_equal "$(short)" "2026-11-25T11:00:00Z enrollment paused intro
2026-11-25T10:30:00Z enrollment active other"
	run --separate-stderr seq-timeline --lead 1 --since 2026-11-25T14:00:01Z
	assert_success
	assert_output ""
	run -2 --separate-stderr seq-timeline --lead 1 --since yesterday
	assert_equal "$stderr" "seq-timeline: --since: an RFC 3339 time"
	run -2 --separate-stderr seq-timeline --lead 1 --until 2026-11-25
	assert_equal "$stderr" "seq-timeline: --until: an RFC 3339 time"
}

@test "--sequence, --channel and --limit" {
	story
	run --separate-stderr seq-timeline --lead 1 --sequence other
	assert_equal "$(short)" "2026-11-25T13:05:00Z step sent other
2026-11-25T10:30:00Z enrollment active other"
	run --separate-stderr seq-timeline --lead 1 --sequence intro
	assert_equal "$(short)" "2026-11-25T14:00:00Z enrollment active intro
2026-11-25T11:00:00Z enrollment paused intro
2026-11-25T10:00:00Z enrollment active intro"
	run --separate-stderr seq-timeline --lead 1 --sequence nosuch
	assert_success
	assert_output ""
	run --separate-stderr seq-timeline --lead 1 --channel email
	assert_equal "$(short)" "2026-11-25T13:05:00Z step sent other"
	run --separate-stderr seq-timeline --lead 1 --channel sms
	assert_output ""
	# a typo is no channel, not an empty timeline
	run -2 --separate-stderr seq-timeline --lead 1 --channel emial
	assert_output ""
	assert_equal "$stderr" "seq-timeline: --channel: email, sms, voice or task"
	run --separate-stderr seq-timeline --lead 1 --limit 2
	assert_equal "$(short)" "2026-11-25T14:00:00Z enrollment active intro
2026-11-25T13:05:00Z step sent other"
	run --separate-stderr seq-timeline --lead 1 --limit 0
	assert_success
	assert_output ""
	run --separate-stderr seq-timeline --lead 1 --kind enrollment --sequence intro --limit 2 --until 2026-11-25T13:00:00Z
	assert_equal "$(short)" "2026-11-25T11:00:00Z enrollment paused intro
2026-11-25T10:00:00Z enrollment active intro"
	run -2 --separate-stderr seq-timeline --lead 1 --limit -1
	assert_equal "$stderr" "seq-timeline: --limit: '-1' is not a whole number of at least 0"
}

@test "a lead with nothing, or no such lead, prints nothing and succeeds" {
	story
	run --separate-stderr seq-timeline --lead 3
	assert_success
	assert_output ""
	assert_equal "$stderr" ""
	run --separate-stderr seq-timeline --lead 999
	assert_success
	assert_output ""
	assert_equal "$stderr" ""
}

@test "seq-timeline changes nothing in the database" {
	story
	sql .dump > before.sql
	run --separate-stderr seq-timeline --lead 1 --limit 1
	assert_success
	assert_equal "$(short)" "2026-11-25T14:00:00Z enrollment active intro"
	sql .dump > after.sql
	assert_equal "$(cat after.sql)" "$(cat before.sql)"
}

@test "usage errors" {
	run -2 --separate-stderr seq-timeline
	assert_output ""
	assert_equal "${stderr%%$'\n'*}" "usage: seq-timeline --lead id [--since time] [--until time] [--kind kind]"
	run -2 --separate-stderr seq-timeline --lead 0
	assert_equal "$stderr" "seq-timeline: --lead: '0' is not a whole number of at least 1"
	run -2 --separate-stderr seq-timeline --lead one
	assert_equal "$stderr" "seq-timeline: --lead: 'one' is not a whole number of at least 1"
	run -2 --separate-stderr seq-timeline --lead 1 extra
	assert_equal "${stderr%%$'\n'*}" "usage: seq-timeline --lead id [--since time] [--until time] [--kind kind]"
}
