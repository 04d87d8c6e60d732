#!/usr/bin/env bats
# seq-enroll: enrolling by id, external_id and email; skipping; pause,
# resume, cancel, convert; the record of every change; --list; versions.

load test_helper

setup() {
	common_setup
	init_db
	export SEQ_NOW=2026-11-25T10:00:00Z
	load_example
}

T10=1795600800	# 2026-11-25T10:00:00Z

# One enrollment record as the fields that matter.
brief() {
	jq -c '[.enrollment_id, .lead_id, .sequence, .version, .status, .step, .next_run_at]'
}

changes() {
	sql "SELECT enrollment_id, at, status, reason FROM enrollment_changes ORDER BY id"
}

@test "enroll by id, lead_id, external_id and email: one line per input, in order" {
	cat > refs.ndjson <<'EOF'
{"id":1}
{"external_id":"crm-1002"}
{"email":"  flaky.linus@EXAMPLE.net "}
{"lead_id":4,"note":"other members are ignored"}
{"id":10,"external_id":"crm-1001","email":"ada@example.com"}
EOF
	run --separate-stderr seq-enroll --sequence intro < refs.ndjson
	assert_success
	assert_equal "$stderr" ""
	assert_equal "${#lines[@]}" 5
	assert_equal "${lines[0]}" '{"enrollment_id":1,"lead_id":1,"sequence":"intro","version":1,"status":"active","step":"hello","next_run_at":"2026-11-25T10:00:00Z","attempt":1,"created_at":"2026-11-25T10:00:00Z","updated_at":"2026-11-25T10:00:00Z"}'
	assert_equal "$(brief <<< "$output")" '[1,1,"intro",1,"active","hello","2026-11-25T10:00:00Z"]
[2,2,"intro",1,"active","hello","2026-11-25T10:00:00Z"]
[3,3,"intro",1,"active","hello","2026-11-25T10:00:00Z"]
[4,4,"intro",1,"active","hello","2026-11-25T10:00:00Z"]
[5,10,"intro",1,"active","hello","2026-11-25T10:00:00Z"]'
	assert_equal "$(sql 'SELECT id, lead_id, version, status, step, step_at, next_run_at, created_at FROM enrollments ORDER BY id')" \
"1|1|1|active|hello|$T10|$T10|$T10
2|2|1|active|hello|$T10|$T10|$T10
3|3|1|active|hello|$T10|$T10|$T10
4|4|1|active|hello|$T10|$T10|$T10
5|10|1|active|hello|$T10|$T10|$T10"
	assert_equal "$(changes)" "1|$T10|active|enrolled
2|$T10|active|enrolled
3|$T10|active|enrolled
4|$T10|active|enrolled
5|$T10|active|enrolled"
}

@test "seq-enroll's own output can be fed back: every lead is then already enrolled" {
	printf '{"id":1}\n{"id":3}\n' > refs.ndjson
	seq-enroll --sequence intro < refs.ndjson > first.ndjson
	run --separate-stderr seq-enroll --sequence intro < first.ndjson
	assert_success
	assert_output '{"lead_id":1,"sequence":"intro","version":1,"skipped":"already enrolled in intro (enrollment 1)"}
{"lead_id":3,"sequence":"intro","version":1,"skipped":"already enrolled in intro (enrollment 2)"}'
}

@test "already enrolled, invalid address and no address are skipped with a record and a message, exit 0" {
	echo '{"external_id":"phone-only","phone":"+1 202 555 0142","first_name":"P"}' > p.ndjson
	seq-lead < p.ndjson > /dev/null	# lead 11
	echo '{"id":1}' > one.ndjson
	seq-enroll --sequence intro < one.ndjson > /dev/null
	cat > refs.ndjson <<'EOF'
{"id":2}
{"id":1}
{"id":6}
{"id":11}
{"id":2}
{"id":3}
EOF
	run --separate-stderr seq-enroll --sequence intro < refs.ndjson
	assert_success
	assert_equal "$stderr" "seq-enroll: line 2: lead 1 already enrolled in intro (enrollment 1); skipped
seq-enroll: line 3: lead 6 invalid email address; skipped
seq-enroll: line 4: lead 11 no email address; skipped
seq-enroll: line 5: lead 2 already enrolled in intro (enrollment 2); skipped"
	assert_output '{"enrollment_id":2,"lead_id":2,"sequence":"intro","version":1,"status":"active","step":"hello","next_run_at":"2026-11-25T10:00:00Z","attempt":1,"created_at":"2026-11-25T10:00:00Z","updated_at":"2026-11-25T10:00:00Z"}
{"lead_id":1,"sequence":"intro","version":1,"skipped":"already enrolled in intro (enrollment 1)"}
{"lead_id":6,"sequence":"intro","version":1,"skipped":"invalid email address"}
{"lead_id":11,"sequence":"intro","version":1,"skipped":"no email address"}
{"lead_id":2,"sequence":"intro","version":1,"skipped":"already enrolled in intro (enrollment 2)"}
{"enrollment_id":3,"lead_id":3,"sequence":"intro","version":1,"status":"active","step":"hello","next_run_at":"2026-11-25T10:00:00Z","attempt":1,"created_at":"2026-11-25T10:00:00Z","updated_at":"2026-11-25T10:00:00Z"}'
	assert_equal "$(sql 'SELECT group_concat(lead_id) FROM enrollments')" "1,2,3"
	assert_equal "$(sql 'SELECT count(*) FROM enrollment_changes')" 3
}

@test "a lead that opted out of the first channel is skipped; other channels do not matter" {
	cat > texts.json <<'EOF'
{"name":"texts","steps":[{"id":"w","type":"wait","duration":"1h"},{"id":"t","type":"sms","text":"Hi {{first_name|there}}"}]}
EOF
	seq-def texts.json > /dev/null
	# lead 8 opted out of sms (leads.ndjson); lead 7 now opts out of email
	echo '{"external_id":"crm-1007","consent":{"email":"opt-out"}}' > optout.ndjson
	seq-lead < optout.ndjson > /dev/null
	printf '{"id":8}\n{"id":7}\n{"id":5}\n{"id":2}\n' > refs.ndjson
	run --separate-stderr seq-enroll --sequence texts < refs.ndjson
	assert_success
	assert_equal "$stderr" "seq-enroll: line 1: lead 8 opted out of sms; skipped
seq-enroll: line 3: lead 5 no phone number; skipped
seq-enroll: line 4: lead 2 invalid phone number; skipped"
	assert_equal "$(jq -c '[.lead_id, .enrollment_id, .step, .skipped]' <<< "$output")" '[8,null,null,"opted out of sms"]
[7,1,"w",null]
[5,null,null,"no phone number"]
[2,null,null,"invalid phone number"]'
	# intro starts with email: 8 may, 7 may not
	printf '{"id":8}\n{"id":7}\n' > refs.ndjson
	run --separate-stderr seq-enroll --sequence intro < refs.ndjson
	assert_success
	assert_equal "$stderr" "seq-enroll: line 2: lead 7 opted out of email; skipped"
	assert_equal "$(jq -c '[.lead_id, .sequence, .skipped]' <<< "$output")" '[8,"intro",null]
[7,"intro","opted out of email"]'
	assert_equal "$(sql 'SELECT e.lead_id, s.name FROM enrollments e JOIN sequences s ON s.id = e.sequence_id ORDER BY e.id')" "7|texts
8|intro"
	# opting in again makes the lead welcome
	echo '{"external_id":"crm-1008","consent":{"sms":"opt-in"}}' > optin.ndjson
	seq-lead < optin.ndjson > /dev/null
	echo '{"id":8}' > refs.ndjson
	run --separate-stderr seq-enroll --sequence texts < refs.ndjson
	assert_success
	assert_equal "$(brief <<< "$output")" '[3,8,"texts",1,"active","w","2026-11-25T10:00:00Z"]'
}

@test "a lead that converted, in any sequence, is skipped" {
	cat > other.json <<'EOF'
{"name":"other","steps":[{"id":"only","type":"email","subject":"S","text":"T"}]}
EOF
	seq-def other.json > /dev/null
	printf '{"id":1}\n' > one.ndjson
	seq-enroll --sequence intro < one.ndjson > /dev/null
	seq-enroll --convert --value 10 1 > /dev/null
	run --separate-stderr seq-enroll --sequence other < one.ndjson
	assert_success
	assert_equal "$stderr" "seq-enroll: line 1: lead 1 converted already (enrollment 1); skipped"
	assert_output '{"lead_id":1,"sequence":"other","version":1,"skipped":"converted already (enrollment 1)"}'
	run --separate-stderr seq-enroll --sequence intro < one.ndjson
	assert_success
	assert_output '{"lead_id":1,"sequence":"intro","version":1,"skipped":"converted already (enrollment 1)"}'
	assert_equal "$(sql 'SELECT count(*) FROM enrollments')" 1
}

@test "an unknown lead or a bad reference is rejected with its line number, exit 1; the rest is enrolled" {
	cat > refs.ndjson <<'EOF'
{"id":1}
{"id":99}
{"external_id":"crm-9999"}
{"email":"nobody@example.com"}
{"email":"ADA@example.com"}
{}
{"id":"2"}
{"id":2.5}
{"external_id":1002}
{"id":2}
EOF
	run -1 --separate-stderr seq-enroll --sequence intro < refs.ndjson
	assert_equal "$stderr" 'seq-enroll: line 2: no such lead: {"id":99}
seq-enroll: line 3: no such lead: {"external_id":"crm-9999"}
seq-enroll: line 4: no such lead: {"email":"nobody@example.com"}
seq-enroll: line 5: no such lead: {"email":"ADA@example.com"}
seq-enroll: line 6: a lead reference needs id, external_id or email
seq-enroll: line 7: id must be a whole number
seq-enroll: line 8: id must be a whole number
seq-enroll: line 9: external_id and email must be strings'
	assert_equal "$(brief <<< "$output")" '[1,1,"intro",1,"active","hello","2026-11-25T10:00:00Z"]
[2,2,"intro",1,"active","hello","2026-11-25T10:00:00Z"]'
	assert_equal "$(sql 'SELECT group_concat(lead_id) FROM enrollments')" "1,2"
}

@test "an unknown sequence is an error before any input is read" {
	echo '{"id":1}' > refs.ndjson
	run -1 --separate-stderr seq-enroll --sequence outro < refs.ndjson
	assert_output ""
	assert_equal "$stderr" "seq-enroll: no sequence 'outro'; store it with seq-def"
	assert_equal "$(sql 'SELECT count(*) FROM enrollments')" 0
}

@test "--start delays next_run_at; a start in the past means now" {
	printf '{"id":1}\n' > one.ndjson
	printf '{"id":2}\n' > two.ndjson
	run --separate-stderr seq-enroll --sequence intro --start 2026-11-27T14:00:00+01:00 < one.ndjson
	assert_success
	assert_equal "$(brief <<< "$output")" '[1,1,"intro",1,"active","hello","2026-11-27T13:00:00Z"]'
	assert_equal "$(jq -r .created_at <<< "$output")" 2026-11-25T10:00:00Z
	run --separate-stderr seq-enroll --sequence intro --start 2026-11-20T00:00:00Z < two.ndjson
	assert_success
	assert_equal "$(brief <<< "$output")" '[2,2,"intro",1,"active","hello","2026-11-25T10:00:00Z"]'
	assert_equal "$(sql 'SELECT id, step_at, next_run_at FROM enrollments ORDER BY id')" "1|1795784400|1795784400
2|$T10|$T10"
	assert_equal "$(changes)" "1|$T10|active|enrolled; starts later
2|$T10|active|enrolled"
	# not due before its start
	run --separate-stderr seq-due --now 2026-11-26T15:00:00Z
	assert_success
	assert_equal "$(jq -r .enrollment_id <<< "$output" | tr '\n' ' ')" "2 "
}

@test "--start must be a time, and goes with --sequence only" {
	echo '{"id":1}' > one.ndjson
	run -2 --separate-stderr seq-enroll --sequence intro --start tomorrow < one.ndjson
	assert_equal "$stderr" "seq-enroll: --start: 'tomorrow' is not an RFC 3339 time"
	run -2 --separate-stderr seq-enroll --list --start 2026-11-27T09:00:00Z
	assert_output ""
	assert_equal "$(sql 'SELECT count(*) FROM enrollments')" 0
}

@test "--pause, --resume (due again from --now), --cancel, --convert --value; every change is recorded" {
	printf '{"id":1}\n{"id":2}\n{"id":3}\n{"id":4}\n' > refs.ndjson
	seq-enroll --sequence intro < refs.ndjson > /dev/null
	run --separate-stderr seq-enroll --pause --now 2026-11-25T11:00:00Z 1
	assert_success
	assert_equal "$stderr" ""
	assert_output '{"enrollment_id":1,"lead_id":1,"sequence":"intro","version":1,"status":"paused","step":"hello","next_run_at":"2026-11-25T10:00:00Z","attempt":1,"created_at":"2026-11-25T10:00:00Z","updated_at":"2026-11-25T11:00:00Z"}'
	run --separate-stderr seq-enroll --resume --now 2026-11-26T09:00:00Z --reason "back from leave" 1
	assert_success
	assert_output '{"enrollment_id":1,"lead_id":1,"sequence":"intro","version":1,"status":"active","step":"hello","next_run_at":"2026-11-26T09:00:00Z","attempt":1,"created_at":"2026-11-25T10:00:00Z","updated_at":"2026-11-26T09:00:00Z"}'
	assert_equal "$(sql 'SELECT step_at, next_run_at FROM enrollments WHERE id = 1')" "1795683600|1795683600"
	run --separate-stderr seq-enroll --cancel --reason "asked us to stop" --now 2026-11-25T12:00:00Z 2 3
	assert_success
	assert_equal "$(brief <<< "$output")" '[2,2,"intro",1,"cancelled","hello","2026-11-25T10:00:00Z"]
[3,3,"intro",1,"cancelled","hello","2026-11-25T10:00:00Z"]'
	run --separate-stderr seq-enroll --convert --value 1200.50 --now 2026-11-25T13:00:00Z 4
	assert_success
	assert_output '{"enrollment_id":4,"lead_id":4,"sequence":"intro","version":1,"status":"converted","step":"hello","next_run_at":"2026-11-25T10:00:00Z","attempt":1,"created_at":"2026-11-25T10:00:00Z","updated_at":"2026-11-25T13:00:00Z","value":1200.5}'
	assert_equal "$(sql 'SELECT id, status, value FROM enrollments ORDER BY id')" "1|active|
2|cancelled|
3|cancelled|
4|converted|1200.5"
	assert_equal "$(changes)" "1|$T10|active|enrolled
2|$T10|active|enrolled
3|$T10|active|enrolled
4|$T10|active|enrolled
1|1795604400|paused|admin
1|1795683600|active|back from leave
2|1795608000|cancelled|asked us to stop
3|1795608000|cancelled|asked us to stop
4|1795611600|converted|admin"
}

@test "--convert without --value stores no value; a paused enrollment can be converted" {
	printf '{"id":1}\n' > refs.ndjson
	seq-enroll --sequence intro < refs.ndjson > /dev/null
	seq-enroll --pause 1 > /dev/null
	run --separate-stderr seq-enroll --convert 1
	assert_success
	assert_equal "$(jq -c '[.status, .value]' <<< "$output")" '["converted",null]'
	assert_equal "$(sql 'SELECT status, quote(value) FROM enrollments')" "converted|NULL"
	run -2 --separate-stderr seq-enroll --convert --value -5 1
	assert_equal "$stderr" "seq-enroll: --value: an amount like 1200.50"
	run -2 --separate-stderr seq-enroll --convert --value lots 1
	assert_equal "$stderr" "seq-enroll: --value: an amount like 1200.50"
	run -2 --separate-stderr seq-enroll --pause --value 3 1
	assert_equal "$(sql 'SELECT status FROM enrollment_changes ORDER BY id' | tr '\n' ' ')" "active paused converted "
}

@test "invalid transitions exit 1 and change nothing; the valid ones in the same call still happen" {
	printf '{"id":1}\n{"id":2}\n{"id":3}\n' > refs.ndjson
	seq-enroll --sequence intro < refs.ndjson > /dev/null
	seq-enroll --cancel 2 > /dev/null
	seq-enroll --convert 3 > /dev/null
	before=$(changes)
	run -1 --separate-stderr seq-enroll --resume 1
	assert_output ""
	assert_equal "$stderr" "seq-enroll: enrollment 1 is active; cannot make it active"
	run -1 --separate-stderr seq-enroll --cancel 2
	assert_equal "$stderr" "seq-enroll: enrollment 2 is cancelled; cannot make it cancelled"
	run -1 --separate-stderr seq-enroll --pause 2
	assert_equal "$stderr" "seq-enroll: enrollment 2 is cancelled; cannot make it paused"
	run -1 --separate-stderr seq-enroll --convert 2
	assert_equal "$stderr" "seq-enroll: enrollment 2 is cancelled; cannot make it converted"
	run -1 --separate-stderr seq-enroll --convert 3
	assert_equal "$stderr" "seq-enroll: enrollment 3 is converted; cannot make it converted"
	run -1 --separate-stderr seq-enroll --resume 3
	assert_equal "$stderr" "seq-enroll: enrollment 3 is converted; cannot make it active"
	run -1 --separate-stderr seq-enroll --pause 99
	assert_equal "$stderr" "seq-enroll: no enrollment 99"
	assert_equal "$(changes)" "$before"
	assert_equal "$(sql 'SELECT group_concat(status) FROM enrollments')" "active,cancelled,converted"
	# one bad id among good ones: the good ones change
	run -1 --separate-stderr seq-enroll --pause 2 1 x 0
	assert_equal "$stderr" "seq-enroll: enrollment 2 is cancelled; cannot make it paused
seq-enroll: 'x' is not an enrollment id
seq-enroll: '0' is not an enrollment id"
	assert_equal "$(brief <<< "$output")" '[1,1,"intro",1,"paused","hello","2026-11-25T10:00:00Z"]'
	run -1 --separate-stderr seq-enroll --pause 1
	assert_equal "$stderr" "seq-enroll: enrollment 1 is paused; cannot make it paused"
	assert_equal "$(sql 'SELECT count(*) FROM enrollment_changes')" 6
}

@test "pausing releases a claimed step, which seq-send then drops; after --resume the step goes out" {
	export SEQ_MOCK_LOG="$BATS_TEST_TMPDIR/mock.log"
	printf '{"id":1}\n' > refs.ndjson
	# Wednesday 15:00Z is 15:00 in London, Ada's time zone: inside the window
	seq-enroll --sequence intro --now 2026-11-25T15:00:00Z < refs.ndjson > /dev/null
	seq-due --now 2026-11-25T15:00:00Z > jobs.ndjson
	assert_equal "$(jq -r '[.enrollment_id, .step, .attempt] | @tsv' jobs.ndjson)" "1	hello	1"
	run --separate-stderr seq-enroll --pause --now 2026-11-25T15:01:00Z 1
	assert_success
	assert_equal "$(sql 'SELECT state, error FROM sequence_executions')" "released|not sent: enrollment paused"
	assert_equal "$(sql 'SELECT quote(claim) FROM enrollments')" NULL
	run --separate-stderr seq-send --now 2026-11-25T15:02:00Z < jobs.ndjson
	assert_success
	assert_output ""
	assert_equal "$stderr" "seq-send: line 1: execution 1 is released, not claimed; not sent"
	# nothing was delivered
	if [ -e mock.log ]; then assert_file_empty mock.log; fi
	run --separate-stderr seq-enroll --resume --now 2026-11-25T16:00:00Z 1
	assert_success
	run --separate-stderr seq-due --now 2026-11-25T16:00:00Z
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(jq -r '[.enrollment_id, .step, .to] | @tsv' <<< "$output")" "1	hello	ada@example.com"
}

@test "--list with --lead, --status, --sequence and --limit" {
	cat > other.json <<'EOF'
{"name":"other","steps":[{"id":"only","type":"email","subject":"S","text":"T"}]}
EOF
	seq-def other.json > /dev/null
	printf '{"id":1}\n{"id":2}\n{"id":3}\n' > refs.ndjson
	seq-enroll --sequence intro < refs.ndjson > /dev/null
	printf '{"id":1}\n{"id":3}\n' > refs.ndjson
	seq-enroll --sequence other < refs.ndjson > /dev/null
	seq-enroll --pause 3 > /dev/null
	seq-enroll --cancel 4 > /dev/null
	run --separate-stderr seq-enroll --list
	assert_success
	assert_equal "$(brief <<< "$output")" '[1,1,"intro",1,"active","hello","2026-11-25T10:00:00Z"]
[2,2,"intro",1,"active","hello","2026-11-25T10:00:00Z"]
[3,3,"intro",1,"paused","hello","2026-11-25T10:00:00Z"]
[4,1,"other",1,"cancelled","only","2026-11-25T10:00:00Z"]
[5,3,"other",1,"active","only","2026-11-25T10:00:00Z"]'
	run --separate-stderr seq-enroll --list --lead 1
	assert_equal "$(jq -r .enrollment_id <<< "$output" | tr '\n' ' ')" "1 4 "
	run --separate-stderr seq-enroll --list --lead 3 --status active
	assert_equal "$(jq -r .enrollment_id <<< "$output" | tr '\n' ' ')" "5 "
	run --separate-stderr seq-enroll --list --status paused
	assert_equal "$(jq -r .enrollment_id <<< "$output" | tr '\n' ' ')" "3 "
	run --separate-stderr seq-enroll --list --sequence other
	assert_equal "$(jq -r .enrollment_id <<< "$output" | tr '\n' ' ')" "4 5 "
	run --separate-stderr seq-enroll --list --sequence intro --status active --limit 1
	assert_equal "$(jq -r .enrollment_id <<< "$output" | tr '\n' ' ')" "1 "
	run --separate-stderr seq-enroll --list --lead 2 --sequence other
	assert_success
	assert_output ""
	run --separate-stderr seq-enroll --list --lead 77
	assert_success
	assert_output ""
	run -2 --separate-stderr seq-enroll --list --lead x
	assert_equal "$stderr" "seq-enroll: --lead: 'x' is not a whole number of at least 1"
	run -2 --separate-stderr seq-enroll --list --limit many
	assert_equal "$stderr" "seq-enroll: --limit: 'many' is not a whole number of at least 0"
	run -2 --separate-stderr seq-enroll --status active --pause 1
	assert_equal "$(sql "SELECT status FROM enrollments WHERE id = 1")" active
}

@test "an enrollment keeps its version after seq-def stores version 2; new enrollments get 2" {
	printf '{"id":1}\n' > one.ndjson
	seq-enroll --sequence intro < one.ndjson > /dev/null
	jq '.steps[0].subject = "Version two"' "$TOP/share/examples/intro.json" > intro2.json
	run --separate-stderr seq-def intro2.json
	assert_output '{"sequence":"intro","steps":7,"version":2}'
	printf '{"id":2}\n{"id":1}\n' > refs.ndjson
	run --separate-stderr seq-enroll --sequence intro < refs.ndjson
	assert_success
	assert_equal "$stderr" "seq-enroll: line 2: lead 1 already enrolled in intro (enrollment 1); skipped"
	assert_equal "$(jq -c '[.enrollment_id, .lead_id, .version, .skipped]' <<< "$output")" '[2,2,2,null]
[null,1,2,"already enrolled in intro (enrollment 1)"]'
	assert_equal "$(sql 'SELECT id, lead_id, version FROM enrollments ORDER BY id')" "1|1|1
2|2|2"
	run --separate-stderr seq-enroll --list
	assert_equal "$(jq -c '[.enrollment_id, .version]' <<< "$output")" '[1,1]
[2,2]'
	# a cancelled lead may enroll again, in the latest version
	seq-enroll --cancel 1 > /dev/null
	echo '{"id":1}' > one.ndjson
	run --separate-stderr seq-enroll --sequence intro < one.ndjson
	assert_success
	assert_equal "$(brief <<< "$output")" '[3,1,"intro",2,"active","hello","2026-11-25T10:00:00Z"]'
	assert_equal "$(sql 'SELECT version FROM enrollments WHERE id = 1')" 1
}

@test "usage errors" {
	for args in "" "--pause" "--pause --cancel 1" "--sequence intro 1" \
	    "--list --pause 1" "--value 3 --pause 1" "--lead 1 --sequence intro" "--bogus"; do
		echo "args: $args"
		run -2 --separate-stderr seq-enroll $args < /dev/null
		assert_output ""
		assert_regex "$stderr" "usage: seq-enroll --sequence name"
	done
	assert_equal "$(sql 'SELECT count(*) FROM enrollments')" 0
}
