#!/usr/bin/env bats
# The records on the pipes: share/schema/*.schema.json is the contract, and
# both sides are held to it.  What the producers write validates; what the
# schema refuses, the consumers refuse too.

load test_helper

setup() {
	common_setup
	init_db
	VALIDATE="$TOP/tools/validate"
	SCHEMA="$TOP/share/schema"
	/usr/bin/python3 -c 'import jsonschema' 2> /dev/null ||
		skip "python3-jsonschema is not installed (make check installs it)"
}

# Jobs of every channel: the example sequence run through its email, SMS
# and voice steps (Grace has no open, so she takes the SMS branch and then
# the call).
example_jobs() {
	seq-lead --default-region US < "$TOP/share/examples/leads.ndjson" > leads.out
	seq-def "$TOP/share/examples/intro.json" > /dev/null
	seq-lead --list | seq-enroll --sequence intro --now 2026-11-23T14:00:00Z > /dev/null 2>&1
	local t
	for t in 2026-11-23T15:00:00Z 2026-11-23T16:00:00Z 2026-11-24T08:00:00Z \
		2026-11-24T09:00:00Z 2026-11-26T16:00:00Z \
		2026-11-27T16:00:00Z 2026-11-30T16:00:00Z; do
		seq-due --now "$t" | tee -a jobs.out | seq-send --now "$t" |
			tee -a results.out | seq-log --now "$t" > /dev/null
	done
}

@test "seq-lead writes leads that match lead.schema.json" {
	example_jobs
	run "$VALIDATE" "$SCHEMA/lead.schema.json" leads.out
	assert_success
	assert_equal "$(wc -l < leads.out)" 10
}

@test "seq-due writes jobs of every channel that match job.schema.json" {
	example_jobs
	assert_equal "$(jq -r .channel jobs.out | sort -u | tr '\n' ' ')" "email sms voice "
	run "$VALIDATE" "$SCHEMA/job.schema.json" jobs.out
	assert_success
}

@test "seq-send writes results that match result.schema.json" {
	example_jobs
	assert_equal "$(jq -r .status results.out | sort -u | tr '\n' ' ')" "failed retry sent "
	run "$VALIDATE" "$SCHEMA/result.schema.json" results.out
	assert_success
}

@test "the example definition matches sequence.schema.json and seq-def takes it" {
	jq -c . "$TOP/share/examples/intro.json" > intro.ndjson
	run "$VALIDATE" "$SCHEMA/sequence.schema.json" intro.ndjson
	assert_success
	run seq-def --check "$TOP/share/examples/intro.json"
	assert_success
}

# For each required field of a schema, a record without it: the schema and
# the consumer must both refuse it, and the consumer must say which line.
refuse_each_required() {	# schema consumer-command... < one valid record
	local schema=$1; shift
	local valid field
	valid=$(cat)
	for field in $(jq -r '.required[]' "$schema"); do
		jq -c "del(.$field)" <<< "$valid" > bad.ndjson
		run "$VALIDATE" "$schema" bad.ndjson
		[ "$status" -eq 1 ] || fail "the schema takes a record without $field"
		run -1 --separate-stderr "$@" < bad.ndjson
		[[ "$stderr" == *"line 1: "* ]] || fail "$1 took a record without $field: $stderr"
	done
	# and with each integer of the record turned into a string
	for field in $(jq -r 'to_entries[] | select(.value | type == "number") | .key' <<< "$valid"); do
		jq -c ".$field |= tostring" <<< "$valid" > bad.ndjson
		run "$VALIDATE" "$schema" bad.ndjson
		[ "$status" -eq 1 ] || fail "the schema takes $field as a string"
		run -1 --separate-stderr "$@" < bad.ndjson
		[[ "$stderr" == *"line 1: "* ]] || fail "$1 took $field as a string: $stderr"
	done
}

@test "a job the schema refuses, seq-send refuses, and delivers nothing" {
	example_jobs
	export SEQ_MOCK_LOG="$BATS_TEST_TMPDIR/mock.log"
	: > "$SEQ_MOCK_LOG"
	head -n 1 jobs.out | refuse_each_required "$SCHEMA/job.schema.json" seq-send
	assert_equal "$(wc -l < "$SEQ_MOCK_LOG")" 0
}

@test "a result the schema refuses, seq-log refuses, and records nothing" {
	example_jobs
	before=$(sql "SELECT count(*), sum(state = 'sent') FROM sequence_executions")
	head -n 1 results.out | refuse_each_required "$SCHEMA/result.schema.json" seq-log
	assert_equal "$(sql "SELECT count(*), sum(state = 'sent') FROM sequence_executions")" "$before"
}
