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

@test "issue 8's paths leak nothing: variants, threads, holidays, caps, dry runs, plans, tasks, events of any source, automatic replies" {
	vg seq-init 2> /dev/null
	cat > deep.json <<'JSON'
{"name":"deep","timezone":"America/New_York","holidays":"US","catch_up":"shift",
 "reenroll":"always","min_gap":"1m","stop_on_company_reply":true,
 "exit_on":["meeting_booked"],
 "window":{"days":["mon","tue","wed","thu","fri"],"start":"09:00","end":"17:00"},
 "steps":[{"id":"hi","type":"email","subject":"Hi {{first_name}}","text":"x",
   "variants":[{"subject":"A","weight":50},{"name":"b","text":"y","weight":50}]},
  {"id":"w","type":"wait","duration":"1d"},
  {"id":"re","type":"email","thread":"hi","text":"bump"},
  {"id":"call","type":"task","kind":"call","title":"Call {{first_name}}"},
  {"id":"b","type":"branch","if":{"event":"answered","step":"call"},"then":"end","else":"end"}]}
JSON
	vg seq-def deep.json > /dev/null
	run vg seq-def --holidays US
	assert_success
	printf '%s\n' '{"external_id":"a","email":"a@acme.example","first_name":"A"}' \
		'{"external_id":"b","email":"b@acme.example","first_name":"B"}' \
		'{"external_id":"c","email":"c@acme.example","first_name":"C"}' | vg seq-lead > /dev/null
	printf '{"lead_id":%d}\n' 1 2 3 | vg seq-enroll --sequence deep --now 2026-11-23T14:00:00Z > /dev/null
	export SEQ_LEAD_CAP=email=1/1d SEQ_SENDER_CAP=x@example.com=5
	run vg seq-due --dry-run --explain --now 2026-11-23T15:00:00Z
	assert_success
	run vg seq-due --plan --until 2026-11-30T00:00:00Z --now 2026-11-23T15:00:00Z
	assert_success
	for t in 2026-11-23T15:00:00Z 2026-11-24T15:00:00Z 2026-11-25T15:00:00Z 2026-11-27T15:00:00Z; do
		run pipeline "$t"
		[[ "$output" =~ ^0\ 0\ 0$ ]] || fail "pipeline at $t: $output"
	done
	run vg seq-task --list
	assert_success
	run vg seq-task --done 1 --outcome answered --note ok --now 2026-11-27T16:00:00Z
	assert_success
	run vg seq-event --from ndjson --now 2026-11-27T17:00:00Z < <(printf '%s\n' \
		'{"type":"meeting_booked","external_id":"b"}' '{"type":"bounce","email":"c@acme.example","details":{"hard":false}}' \
		'{"type":"nope","external_id":"zz"}')
	assert_equal "$status" 1
	# an automatic reply in German, with its return date, and a person's
	run vg seq-event --from postmark-inbound --now 2026-11-27T18:00:00Z < <(jq -nc '
		{From: "a@acme.example", FromFull: {Email: "a@acme.example", Name: "A"},
		 To: "sales@example.com", Subject: "Abwesenheitsnotiz: Hi A",
		 MessageID: "m1", Date: "Fri, 27 Nov 2026 18:00:00 +0000",
		 TextBody: "Ich bin bis zum 7. Dezember 2026 nicht im Büro.",
		 StrippedTextReply: "", Attachments: [],
		 Headers: [{Name: "Auto-Submitted", Value: "auto-replied"}]},
		{From: "b@acme.example", FromFull: {Email: "b@acme.example", Name: "B"},
		 To: "sales@example.com", Subject: "Re: Hi B", MessageID: "m2",
		 Date: "Fri, 27 Nov 2026 18:00:00 +0000", TextBody: "Tell me more",
		 StrippedTextReply: "Tell me more", Attachments: [], Headers: []}')
	assert_success
	assert_equal "$(sql "SELECT type FROM events WHERE provider = 'postmark-inbound' ORDER BY id" | paste -sd ' ')" "auto_reply reply"
	run vg seq-due --now 2026-12-07T15:00:00Z
	assert_success
	run vg seq-timeline --lead 2
	assert_success
	run vg seq-stats
	assert_success
}
