#!/usr/bin/env bats
# No leaks and no memory errors under valgrind, on the plain build: the
# example world through every command, the cron pipeline over a week, and
# bad input for each reader.

load test_helper

setup() {
	common_setup
	command -v valgrind > /dev/null || skip "valgrind is not installed"
	PLAIN="$TOP/build/plain/bin"
	[ -x "$PLAIN/seq-init" ] || skip "no plain build (make all)"
	export SEQ_DB="$BATS_TEST_TMPDIR/seq.db"
}

# Runs a plain-build command under valgrind; a leak or an error exits 99.
vg() {
	local c=$1; shift
	valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible \
		--errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
		"$PLAIN/$c" "$@"
}

pipeline() {
	vg seq-due --now "$1" | vg seq-send --now "$1" | vg seq-log --now "$1" > /dev/null
	echo "${PIPESTATUS[*]}"
}

@test "every command, the pipeline over a week, and bad input leak nothing" {
	vg seq-init --key-file keys 2> /dev/null
	export SEQ_KEY_FILE="$BATS_TEST_TMPDIR/keys"
	vg seq-lead --default-region US < "$TOP/share/examples/leads.ndjson" > /dev/null
	vg seq-def "$TOP/share/examples/intro.json" > /dev/null
	vg seq-lead --list > refs
	run vg seq-consent <<< '{"id":3,"channel":"sms","state":"opt-out","evidence":"by phone"}'
	assert_success
	run vg seq-consent --suppress --default-region US < <(printf 'nobody@example.com\n(202) 555-0199\nbad\n')
	assert_equal "$status" 1
	run vg seq-consent --show 3
	assert_success
	run vg seq-enroll --sequence intro --now 2026-11-23T14:00:00Z < refs
	assert_success
	for t in 2026-11-23T15:00:00Z 2026-11-24T08:00:00Z 2026-11-26T16:00:00Z 2026-11-27T16:00:00Z; do
		run pipeline "$t"
		# seq-send says 1 when a delivery failed (fail.barbara does)
		[[ "$output" =~ ^0\ [01]\ 0$ ]] || fail "pipeline at $t: $output"
	done
	run vg seq-timeline --lead 1
	assert_success
	run vg seq-enroll --pause 2
	assert_success
	run vg seq-enroll --list
	assert_success
	run vg seq-log --unknown
	assert_success
	for o in "" --table --html --prom; do
		run vg seq-stats $o
		assert_success
	done
	# personal data: export, erasure, and every row sealed again
	run vg seq-lead --export 1
	assert_success
	run vg seq-lead --erase 2 --reason test
	assert_success
	run vg seq-init --rotate-key new.keys
	assert_success
	export SEQ_KEY_FILE=$BATS_TEST_TMPDIR/new.keys
	run vg seq-lead --list
	assert_success
	# bad input: status 1, never 99
	for c in seq-lead seq-send seq-log seq-consent; do
		run vg "$c" < <(printf '{"a":1}\nnot json\n\n{"id":"x"}\n')
		assert_equal "$status" 1
	done
	run vg seq-lead --csv < <(printf 'email,first_name\n"x@example.com,1\n')
	assert_equal "$status" 1
	run vg seq-def < <(echo '{"name":"x","steps":[{"id":"a","type":"nope"}]}')
	assert_equal "$status" 1
}
