#!/usr/bin/env bats
# seq-enroll: the enrollment rules of a sequence (sequence(5)): reenroll
# never, after_finished and always; exclusive; min_gap; require_badges and
# min_quality.  Each rule lets in and keeps out, with its reason, exit 0;
# a sequence without rules enrolls as before, and one sequence's rules do
# not hold for another.

load test_helper

setup() {
	common_setup
	init_db
	export SEQ_NOW=2026-11-25T10:00:00Z
	# a: email and phone, quality 100; b: email only, 100; c: no name and
	# no time zone, 85; d: a role address, 80; z: no address at all, 35
	leads '{"external_id":"a","email":"a@example.com","phone":"+44 20 7946 0018","first_name":"A","timezone":"Europe/London"}' \
		'{"external_id":"b","email":"b@example.com","first_name":"B","timezone":"Europe/London"}' \
		'{"external_id":"c","email":"c@example.com"}' \
		'{"external_id":"d","email":"info@example.com","first_name":"D"}' \
		'{"external_id":"z","first_name":"Z","timezone":"Europe/London"}'
}

# sequence NAME [RULES]: a sequence of one email, or the steps given in
# $STEPS, with the members of the JSON object RULES.
sequence() {
	local steps=${STEPS:-'[{"id":"hello","type":"email","subject":"Hi","text":"Hello"}]'}
	jq -n --arg name "$1" --argjson rules "${2:-{\}}" --argjson steps "$steps" \
		'{name: $name, steps: $steps} + $rules' > "$1.json"
	seq-def "$1.json" > /dev/null
}

# try SEQUENCE TIME EXTERNAL_ID: enrolls one lead; $status, $output (the
# record) and $stderr as run leaves them.
try() {
	printf '{"external_id":"%s"}\n' "$3" > ref.ndjson
	run --separate-stderr seq-enroll --sequence "$1" --now "$2" < ref.ndjson
}

# refused SEQUENCE TIME EXTERNAL_ID REASON: skipped with that reason, exit 0,
# no enrollment made.
refused() {
	local before
	before=$(sql 'SELECT count(*) FROM enrollments')
	try "$1" "$2" "$3"
	assert_equal "$status" 0
	assert_equal "$stderr" "seq-enroll: line 1: lead $(jq .lead_id <<< "$output") $4; skipped"
	assert_equal "$(jq -r .skipped <<< "$output")" "$4"
	assert_equal "$(jq -r .sequence <<< "$output")" "$1"
	assert_equal "$(sql 'SELECT count(*) FROM enrollments')" "$before"
}

# accepted SEQUENCE TIME EXTERNAL_ID: a new active enrollment, exit 0.
accepted() {
	try "$1" "$2" "$3"
	assert_equal "$status" 0
	assert_equal "$stderr" ""
	assert_equal "$(jq -r '[.status, .sequence] | @tsv' <<< "$output")" \
		"$(printf 'active\t%s' "$1")"
}

T0=2026-11-20T10:00:00Z

@test "reenroll after_finished, the default: an open enrollment keeps the lead out, a finished one does not" {
	sequence plain
	sequence after '{"reenroll":"after_finished"}'
	for s in plain after; do
		accepted $s $T0 a
		id=$(jq .enrollment_id <<< "$output")
		refused $s $T0 a "already enrolled in $s (enrollment $id)"
		seq-enroll --pause --now $T0 "$id" > /dev/null
		refused $s $T0 a "already enrolled in $s (enrollment $id)"
		seq-enroll --cancel --now $T0 "$id" > /dev/null
		accepted $s $T0 a
		# completed: one email sent, past the last step
		tick $T0
		assert_equal "$(sql "SELECT status FROM enrollments WHERE id = $(jq .enrollment_id <<< "$output")")" completed
		accepted $s 2026-11-21T10:00:00Z a
	done
}

@test "reenroll never: a lead ever enrolled in the sequence, in any status, is kept out; others and other sequences are not" {
	sequence once '{"reenroll":"never"}'
	sequence plain
	accepted once $T0 a		# enrollment 1
	refused once $T0 a "already enrolled in once (enrollment 1)"
	tick $T0			# 1 completes
	refused once 2026-11-21T10:00:00Z a "sequence 'once' does not re-enroll (enrolled before: enrollment 1, completed)"
	accepted once $T0 b		# 2
	seq-enroll --cancel --now $T0 2 > /dev/null
	refused once $T0 b "sequence 'once' does not re-enroll (enrolled before: enrollment 2, cancelled)"
	accepted once $T0 c		# 3
	seq-enroll --convert --now $T0 3 > /dev/null
	refused once $T0 c "sequence 'once' does not re-enroll (enrolled before: enrollment 3, converted)"
	# a lead that never was in it is welcome; the rule is once's only
	accepted once $T0 d
	accepted plain $T0 a
	accepted plain $T0 b
	tick 2026-11-21T10:00:00Z
	accepted plain 2026-11-22T10:00:00Z a
}

@test "reenroll always: the open enrollment is cancelled as re-enrolled and a new one starts, in one step; the timeline shows both" {
	STEPS='[{"id":"hello","type":"email","subject":"Hi","text":"Hello"},{"id":"pause","type":"wait","duration":"2d"},{"id":"bump","type":"email","subject":"Re: Hi","text":"Again"}]'
	sequence again '{"reenroll":"always"}'
	sequence plain
	accepted again $T0 a		# 1
	tick $T0			# hello sent, 1 waits
	assert_equal "$(sql 'SELECT status, step FROM enrollments WHERE id = 1')" "active|pause"
	accepted again 2026-11-21T10:00:00Z a	# 2
	assert_equal "$(jq -c '[.enrollment_id, .step, .next_run_at]' <<< "$output")" '[2,"hello","2026-11-21T10:00:00Z"]'
	assert_equal "$(sql 'SELECT id, status FROM enrollments ORDER BY id')" "1|cancelled
2|active"
	assert_equal "$(sql "SELECT enrollment_id, $(iso at), status, reason FROM enrollment_changes WHERE at > $(epoch $T0) ORDER BY id")" \
		"1|2026-11-21T10:00:00Z|cancelled|re-enrolled
2|2026-11-21T10:00:00Z|active|enrolled; replaces enrollment 1"
	run -0 --separate-stderr seq-timeline --lead 1 --kind enrollment
	assert_equal "$(jq -c '[.enrollment_id, .what, .details.reason]' <<< "$output" | head -2)" '[2,"active","enrolled; replaces enrollment 1"]
[1,"cancelled","re-enrolled"]'
	# a paused one is replaced as well; a later start says so too
	seq-enroll --pause --now 2026-11-21T11:00:00Z 2 > /dev/null
	printf '{"id":1}\n' > ref.ndjson
	run -0 --separate-stderr seq-enroll --sequence again --now 2026-11-21T12:00:00Z --start 2026-11-23T09:00:00Z < ref.ndjson
	assert_equal "$(sql "SELECT status FROM enrollments WHERE id = 2")" cancelled
	assert_equal "$(sql "SELECT reason FROM enrollment_changes WHERE enrollment_id = 3")" "enrolled; starts later; replaces enrollment 2"
	assert_equal "$(sql "SELECT count(*) FROM enrollments WHERE lead_id = 1 AND (status = 'active' OR status = 'paused')")" 1
	# a claimed step of the replaced enrollment is released, and seq-send drops it
	accepted again 2026-11-23T10:00:00Z b	# 4
	seq-due --now 2026-11-23T10:00:00Z > jobs.ndjson
	assert_equal "$(jq -r '[.enrollment_id, .step] | @tsv' jobs.ndjson | sort)" "$(printf '3\thello\n4\thello')"
	accepted again 2026-11-23T10:01:00Z b	# 5
	assert_equal "$(sql "SELECT state, error FROM sequence_executions x WHERE enrollment_id = 4")" "released|not sent: enrollment cancelled"
	run -0 --separate-stderr seq-send --now 2026-11-23T10:02:00Z < jobs.ndjson
	assert_equal "$(jq -r .enrollment_id <<< "$output")" 3
	# converted still keeps the lead out; an open enrollment of another
	# sequence is not touched
	accepted plain 2026-11-23T10:03:00Z c	# 6
	accepted again 2026-11-23T10:03:00Z c	# 7
	seq-enroll --convert --now 2026-11-23T10:04:00Z 7 > /dev/null
	refused again 2026-11-23T10:05:00Z c "converted already (enrollment 7)"
	assert_equal "$(sql 'SELECT status FROM enrollments WHERE id = 6')" active
	# without the rule, plain keeps an open lead out
	refused plain 2026-11-23T10:05:00Z c "already enrolled in plain (enrollment 6)"
}

@test "exclusive: a lead open in an exclusive sequence is kept out of others, and an exclusive sequence takes no lead open elsewhere" {
	sequence ex '{"exclusive":true}'
	sequence p1
	sequence p2 '{"exclusive":false}'
	accepted ex $T0 a		# 1
	refused p1 $T0 a "lead is in exclusive sequence 'ex' (enrollment 1)"
	refused p2 $T0 a "lead is in exclusive sequence 'ex' (enrollment 1)"
	accepted p1 $T0 b		# 2
	refused ex $T0 b "sequence 'ex' is exclusive and the lead is in sequence 'p1' (enrollment 2)"
	# two plain sequences share a lead
	accepted p2 $T0 b		# 3
	# paused is open; a finished enrollment frees the lead both ways
	seq-enroll --pause --now $T0 1 > /dev/null
	refused p1 $T0 a "lead is in exclusive sequence 'ex' (enrollment 1)"
	seq-enroll --cancel --now $T0 1 > /dev/null
	accepted p1 $T0 a
	seq-enroll --cancel --now $T0 2 3 > /dev/null
	accepted ex $T0 b
	# a lead in no sequence goes anywhere
	accepted p1 $T0 c
}

@test "exclusive: the version enrolled into decides, and for the lead's other enrollments the version they are in" {
	sequence later
	sequence p1
	accepted later $T0 a		# 1, version 1: not exclusive
	sequence later '{"exclusive":true}'
	# a is in version 1, which shares the lead
	accepted p1 $T0 a		# 2
	# version 2 is exclusive: a lead open elsewhere stays out of it
	accepted p1 $T0 b		# 3
	refused later $T0 b "sequence 'later' is exclusive and the lead is in sequence 'p1' (enrollment 3)"
	accepted later $T0 c		# 4, version 2
	assert_equal "$(jq .version <<< "$output")" 2
	refused p1 $T0 c "lead is in exclusive sequence 'later' (enrollment 4)"
	# the lead's own open enrollment in an exclusive sequence is no conflict
	# with that sequence: it is the re-enroll rule that speaks
	refused later $T0 c "already enrolled in later (enrollment 4)"
}

@test "min_gap: a lead touched by any sequence within the gap is kept out; at the gap's end, or only skipped or released, it is let in" {
	export SEQ_MOCK_LOG="$BATS_TEST_TMPDIR/mock.log"
	leads '{"external_id":"f","email":"fail.f@example.com","first_name":"F","timezone":"Europe/London"}'
	sequence gap '{"min_gap":"3d"}'
	sequence other
	# sent at T0
	accepted other $T0 a
	tick $T0
	assert_equal "$(sql "SELECT state FROM sequence_executions WHERE lead_id = 1")" sent
	refused gap 2026-11-23T09:59:59Z a "touched by sequence 'other' 2026-11-20T10:00:00Z, within min_gap 3d"
	accepted gap 2026-11-23T10:00:00Z a
	# failed counts: it was attempted
	accepted other 2026-11-21T08:00:00Z f
	tick 2026-11-21T08:00:00Z
	assert_equal "$(sql "SELECT state FROM sequence_executions WHERE lead_id = 6")" failed
	refused gap 2026-11-23T10:00:00Z f "touched by sequence 'other' 2026-11-21T08:00:00Z, within min_gap 3d"
	# claimed and not yet sent counts, at its claim
	accepted other 2026-11-22T07:00:00Z b
	seq-due --now 2026-11-22T07:00:00Z > /dev/null
	assert_equal "$(sql "SELECT state FROM sequence_executions WHERE lead_id = 2")" claimed
	refused gap 2026-11-23T10:00:00Z b "touched by sequence 'other' 2026-11-22T07:00:00Z, within min_gap 3d"
	# released does not count
	accepted other 2026-11-22T09:00:00Z c
	seq-due --now 2026-11-22T09:00:00Z > /dev/null
	seq-enroll --pause --now 2026-11-22T09:01:00Z "$(sql 'SELECT id FROM enrollments WHERE lead_id = 3')" > /dev/null
	assert_equal "$(sql "SELECT state FROM sequence_executions WHERE lead_id = 3")" released
	accepted gap 2026-11-23T10:00:00Z c
	# enrolled but never touched
	accepted other 2026-11-23T10:00:00Z d
	accepted gap 2026-11-23T10:00:00Z d
	# the rule is gap's only: other takes a lead touched the day before
	seq-enroll --cancel --now 2026-11-23T10:00:00Z "$(sql "SELECT id FROM enrollments WHERE lead_id = 2 AND status = 'active'")" > /dev/null
	accepted other 2026-11-23T10:00:00Z b
}

@test "min_gap: the newest touch of the lead is named, whichever sequence made it, this one included" {
	sequence gap '{"min_gap":"2h"}'
	sequence other
	accepted gap 2026-11-25T06:00:00Z a
	tick 2026-11-25T06:00:00Z
	refused gap 2026-11-25T07:00:00Z a "touched by sequence 'gap' 2026-11-25T06:00:00Z, within min_gap 2h"
	accepted other 2026-11-25T07:00:00Z a
	tick 2026-11-25T07:00:00Z
	refused gap 2026-11-25T07:30:00Z a "touched by sequence 'other' 2026-11-25T07:00:00Z, within min_gap 2h"
	accepted other 2026-11-25T08:00:00Z b
	seq-due --now 2026-11-25T08:00:00Z > jobs.ndjson
	seq-send --now 2026-11-25T08:10:00Z < jobs.ndjson | seq-log --now 2026-11-25T08:10:00Z > /dev/null
	# sent at 08:10, claimed at 08:00: the sending counts
	refused gap 2026-11-25T10:05:00Z b "touched by sequence 'other' 2026-11-25T08:10:00Z, within min_gap 2h"
	accepted gap 2026-11-25T10:10:00Z b
	accepted gap 2026-11-25T09:00:00Z a
}

@test "require_badges and min_quality: the badges and quality stored on the lead decide; badges first" {
	sequence gate '{"require_badges":["valid-phone"],"min_quality":85}'
	sequence plain
	accepted gate $T0 a
	refused gate $T0 b "missing badge valid-phone"
	# d, quality 80 and no phone: the badge is named
	refused gate $T0 d "missing badge valid-phone"
	# quality 85 is enough, 80 is not
	leads '{"external_id":"c","email":"c@example.com","phone":"+44 20 7946 0019"}' \
		'{"external_id":"d","email":"info@example.com","first_name":"D","phone":"+44 20 7946 0020"}'
	assert_equal "$(sql "SELECT group_concat(quality) FROM leads WHERE external_id IN ('c', 'd')")" "85,80"
	accepted gate $T0 c
	refused gate $T0 d "quality 80 below min_quality 85"
	# once stored with a phone, b is let in
	leads '{"external_id":"b","email":"b@example.com","first_name":"B","timezone":"Europe/London","phone":"+44 20 7946 0021"}'
	accepted gate $T0 b
	# the gate is gate's only
	accepted plain $T0 d
}

@test "require_badges names every missing badge; the address checks of the first channel come before the gate" {
	STEPS='[{"id":"call","type":"task","title":"Call {{first_name}}"}]'
	sequence calls '{"require_badges":["valid-email","valid-phone"]}'
	refused calls $T0 z "missing badges valid-email, valid-phone"
	refused calls $T0 b "missing badge valid-phone"
	accepted calls $T0 a
	unset STEPS
	sequence mail '{"require_badges":["valid-email"],"min_quality":90}'
	leads '{"external_id":"x","email":"not-an-address","first_name":"X","timezone":"Europe/London"}'
	refused mail $T0 x "invalid email address"
	refused mail $T0 c "quality 85 below min_quality 90"
}

@test "the rules decide in a sealed database too, from what is not sealed" {
	rm -f "$SEQ_DB"
	seq-init --key-file keys 2> /dev/null
	export SEQ_KEY_FILE="$BATS_TEST_TMPDIR/keys"
	leads '{"external_id":"a","email":"a@example.com","phone":"+44 20 7946 0018","first_name":"A","timezone":"Europe/London"}' \
		'{"external_id":"b","email":"b@example.com","first_name":"B","timezone":"Europe/London"}' \
		'{"external_id":"c","email":"c@example.com"}'
	assert_equal "$(sql "SELECT count(*) FROM leads WHERE sealed IS NOT NULL")" 3
	sequence ex '{"exclusive":true,"min_gap":"1d","reenroll":"never","require_badges":["valid-phone"],"min_quality":90}'
	sequence plain
	accepted ex $T0 a
	refused ex $T0 b "missing badge valid-phone"
	refused plain $T0 a "lead is in exclusive sequence 'ex' (enrollment 1)"
	tick $T0
	refused ex 2026-11-20T12:00:00Z a "sequence 'ex' does not re-enroll (enrolled before: enrollment 1, completed)"
	accepted plain 2026-11-20T12:00:00Z c
	tick 2026-11-20T12:00:00Z
	leads '{"external_id":"c","email":"c@example.com","phone":"+44 20 7946 0019","first_name":"C","timezone":"Europe/London"}'
	refused ex 2026-11-21T11:59:59Z c "touched by sequence 'plain' 2026-11-20T12:00:00Z, within min_gap 1d"
	accepted ex 2026-11-21T12:00:00Z c
}
