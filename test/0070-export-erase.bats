#!/usr/bin/env bats
# seq-lead --export: everything held about a lead; seq-lead --erase: its
# personal data gone from the database file and the webhook spool, the
# counts the analytics read unchanged, the erasure recorded.

load test_helper

# Ann's personal data, one a line, in the forms it may take.
PERSONAL="Ann.Archer@example.com
ann.archer%40example.com
+14155550101
14155550101
Annabel
Archer
Acme Widgets
Thursday works"

setup() {
	common_setup
	export SEQ_NOW=2026-11-25T10:00:00Z SPOOL=$BATS_TEST_TMPDIR/spool
	export SEQ_MOCK_LOG=$BATS_TEST_TMPDIR/sent.ndjson
}

# A webhook deposited by seq-hook, as the web server would run it.
hook_post() {
	local path=$1 file=$2
	env REQUEST_METHOD=POST PATH_INFO="$path" CONTENT_TYPE=application/json \
		CONTENT_LENGTH="$(wc -c < "$file")" \
		HTTP_AUTHORIZATION="Basic $(printf 'hooks:Pw4Kd9Lm2Qz7Xt' | base64)" \
		SEQ_SPOOL="$SPOOL" SEQ_POSTMARK_WEBHOOK_USER=hooks \
		SEQ_POSTMARK_WEBHOOK_PASSWORD=Pw4Kd9Lm2Qz7Xt seq-hook < "$file" > /dev/null
}

reply_from() {
	jq -c --arg from "$1" --arg id "$2" '.From = $from | .FromFull.Email = $from |
		.MessageID = $id | .Date = "Wed, 25 Nov 2026 11:05:00 +0000" | .FromName = "A"' \
		"$TOP/test/fixtures/postmark-inbound.json"
}

# Ann and Bob through a two-step sequence, with a reply and an SMS STOP
# from Ann recorded, and webhooks from both still waiting in the spool.
world() {
	leads '{"external_id":"ann","email":"Ann.Archer@example.com","phone":"+1 415 555 0101","first_name":"Annabel","last_name":"Archer","company":"Acme Widgets","timezone":"America/Los_Angeles","attributes":{"source":"fair"}}' \
		'{"external_id":"bob","email":"bob.baker@example.org","phone":"+14155550102","first_name":"Roberto"}'
	cat > two.json <<'JSON'
{"name":"two","steps":[{"id":"a","type":"email","subject":"Hi {{first_name}}","text":"Hello {{first_name}} of {{company|nowhere}}"},
 {"id":"b","type":"sms","text":"Hi {{first_name}}"}]}
JSON
	seq-def two.json > /dev/null
	enroll two 2026-11-25T09:00:00Z ann bob
	tick 2026-11-25T10:00:00Z > /dev/null
	tick 2026-11-25T10:30:00Z > /dev/null
	reply_from Ann.Archer@example.com m-ann | seq-event --from postmark-inbound > /dev/null
	jq -c '.data.payload.from.phone_number = "+14155550101" | .data.payload.text = "STOP" |
		.data.id = "s1" | .data.occurred_at = "2026-11-25T11:06:00Z" | .data.payload.id = "m-s1"' \
		"$TOP/test/fixtures/telnyx-message.received-stop.json" | seq-event --from telnyx > /dev/null
	reply_from Ann.Archer@example.com m-ann2 > ann.json
	reply_from bob.baker@example.org m-bob |
		jq -c '.TextBody = "No." | .HtmlBody = "No." | .StrippedTextReply = "No."' > bob.json
	hook_post /postmark-inbound ann.json
	hook_post /postmark-inbound bob.json
	# as a urlencoded form would carry it, waiting in quarantine
	mkdir -p "$SPOOL/quarantine"
	printf 'From=ann.archer%%40example.com&Body=hi\n' > "$SPOOL/quarantine/form.1"
	printf 'unreadable\n' > "$SPOOL/quarantine/form.1.why"
}

# What the analytics count: steps by channel and state, events by type,
# enrollments by status, and the adapters' counters.
counts() {
	sql "SELECT channel, state, count(*), sum(cost) FROM sequence_executions GROUP BY 1, 2;
	     SELECT type, count(*) FROM events GROUP BY 1;
	     SELECT status, count(*) FROM enrollments GROUP BY 1;
	     SELECT * FROM adapter_counters"
}

@test "seq-lead --export prints every record held about a lead, one kind a line, with its jobs as rendered" {
	seq-init --key-file keys 2> /dev/null
	export SEQ_KEY_FILE=$BATS_TEST_TMPDIR/keys
	world
	run -0 --separate-stderr seq-lead --export 1
	assert_equal "$stderr" ""
	assert_equal "$(jq -r .record <<< "$output" | uniq -c | awk '{ print $2, $1 }')" "lead 1
consent 1
enrollment 1
enrollment_change 2
step 2
event 2"
	assert_equal "$(jq -r 'select(.record == "lead") | [.email, .phone, .company, .attributes.source] | @tsv' <<< "$output")" \
		"$(printf 'Ann.Archer@example.com\t+14155550101\tAcme Widgets\tfair')"
	assert_equal "$(jq -r 'select(.record == "step") | [.step, .state, .job.to, .job.text] | @tsv' <<< "$output")" \
		"$(printf 'a\tsent\tAnn.Archer@example.com\tHello Annabel of Acme Widgets\nb\tsent\t+14155550101\tHi Annabel')"
	assert_equal "$(jq -r 'select(.record == "event") | [.type, .details.snippet // "-"] | @tsv' <<< "$output")" \
		"$(printf 'reply\tYes, Thursday works for me.\nunsubscribe\t-')"
	assert_equal "$(jq -r 'select(.record == "consent") | [.channel, .state, .source, .at] | @tsv' <<< "$output")" \
		"$(printf 'sms\topt-out\ttelnyx:unsubscribe\t2026-11-25T11:06:00Z')"
	# nothing of Bob's
	refute_output --partial bob.baker
	run -1 --separate-stderr seq-lead --export 9
	assert_output ""
	assert_equal "$stderr" "seq-lead: no lead 9"
}

# erase_scenario N: N of Ann's values are readable in the database file
# before (the test can see her where she is).
erase_scenario() {
	world
	[ "$(ls "$SPOOL/new" | wc -l)" -eq 2 ]
	sql 'PRAGMA wal_checkpoint(TRUNCATE)' > /dev/null
	assert_equal "$(readable seq.db | wc -l)" "$1"
	assert_equal "$(readable "$SPOOL"/*/* | wc -l)" 3
	counts > before.counts
	SEQ_SPOOL=$SPOOL run -0 --separate-stderr seq-lead --erase 1 --reason "request 42" --now 2026-11-26T00:00:00Z
	assert_equal "$stderr" ""
	assert_equal "$output" '{"erased":1,"at":"2026-11-26T00:00:00Z","enrollments":1,"steps":2,"events":2,"spool_files":2}'
	# the analytics count what they counted
	assert_equal "$(counts)" "$(cat before.counts)"
	sql 'VACUUM' > /dev/null
	assert_equal "$(readable seq.db seq.db-wal)" ""
	assert_equal "$(readable "$SPOOL"/*/* | wc -l)" 0
	# Bob's webhook waits on; Ann's, and the quarantined form, are gone
	assert_equal "$(cat "$SPOOL"/new/* | sed -n 's/.*"From":"\([^"]*\)".*/\1/p')" bob.baker@example.org
	assert_equal "$(ls "$SPOOL/quarantine" | wc -l)" 0
	run -0 --separate-stderr seq-lead --export 1
	assert_equal "$(jq -c 'select(.record == "lead") | [.id, .email, .external_id, .badges, .quality]' <<< "$output")" '[1,null,null,["erased"],0]'
	assert_equal "$(jq -c 'select(.record == "erasure") | [.reason, .at, .counts.steps]' <<< "$output")" '["request 42","2026-11-26T00:00:00Z",2]'
	assert_equal "$(jq -c 'select(.record == "step") | [.step, .state, .job]' <<< "$output")" '["a","sent",null]
["b","sent",null]'
	# Bob is untouched, and Ann's id is still counted in the timeline
	assert_equal "$(seq-lead --export 2 | jq -r 'select(.record == "lead") | .email')" bob.baker@example.org
	assert_equal "$(seq-timeline --lead 1 | jq -r .kind | sort | uniq -c | awk '{ print $2, $1 }')" "consent 1
enrollment 2
event 2
step 2"
}

@test "seq-lead --erase on a sealed database: no trace of the lead in the file after VACUUM or in the spool, the counts unchanged, the erasure recorded" {
	seq-init --key-file keys 2> /dev/null
	export SEQ_KEY_FILE=$BATS_TEST_TMPDIR/keys
	# sealed, but for the reply's words in the event's payload
	erase_scenario 1
}

@test "seq-lead --erase on a plain database leaves no trace either" {
	seq-init 2> /dev/null
	erase_scenario 6
	# a second erasure finds nothing more and says so
	run -0 --separate-stderr seq-lead --erase 1 --now 2026-11-27T00:00:00Z
	assert_equal "$(jq -c '[.steps, .events, .spool_files]' <<< "$output")" '[2,2,0]'
}

@test "seq-lead --erase of no lead exits 1 and changes nothing; --reason needs --erase" {
	seq-init 2> /dev/null
	run -1 --separate-stderr seq-lead --erase 3
	assert_equal "$stderr" "seq-lead: no lead 3"
	assert_equal "$(sql 'SELECT count(*) FROM erasures')" 0
	run -2 --separate-stderr seq-lead --reason x
	run -2 --separate-stderr seq-lead --erase 1 --export 1
}
