#!/usr/bin/env bats
# seq-consent: the consent ledger, the suppression list kept as blind
# indexes, the key file, and what seq-enroll and seq-due do with them.

load test_helper

setup() {
	common_setup
	init_db
	export SEQ_NOW=2026-11-25T10:00:00Z
	seq-init --key-file keys 2> /dev/null
	export SEQ_KEY_FILE="$BATS_TEST_TMPDIR/keys"
}

mail_world() {
	cat > one.json <<'JSON'
{"name":"one","steps":[{"id":"a","type":"email","subject":"A","text":"a"},
 {"id":"w","type":"wait","duration":"1h"},
 {"id":"b","type":"sms","text":"b"}]}
JSON
	seq-def one.json > /dev/null
	leads '{"external_id":"ok","email":"ok@example.com","phone":"+14155550101"}' \
		'{"external_id":"out","email":"out@example.com","phone":"+14155550102"}' \
		'{"external_id":"list","email":"List@Example.com","phone":"+14155550103"}' \
		'{"external_id":"back","email":"back@example.com","phone":"+14155550104"}' \
		'{"external_id":"smsout","email":"smsout@example.com","phone":"+14155550105"}'
}

@test "seq-init --key-file writes two random keys into a new 0600 file, and never replaces one" {
	run stat -c %a keys
	assert_output 600
	assert_equal "$(grep -c '^index=[0-9a-f]\{64\}$' keys)" 1
	assert_equal "$(grep -c '^encryption=[0-9a-f]\{64\}$' keys)" 1
	seq-init --key-file other 2> /dev/null
	assert [ "$(grep index= keys)" != "$(grep index= other)" ]
	before=$(cat keys)
	run -4 --separate-stderr seq-init --key-file keys
	assert_equal "$stderr" "seq-init: keys: File exists"
	assert_equal "$(cat keys)" "$before"
}

@test "a key file others may read, or one that is not two keys, is refused before anything is done" {
	mail_world
	chmod 640 keys
	run -4 --separate-stderr seq-consent --suppress <<< 'x@example.com'
	assert_equal "$stderr" "seq-consent: key file $BATS_TEST_TMPDIR/keys: mode 0640 lets others read it; chmod 600 $BATS_TEST_TMPDIR/keys"
	(umask 077; printf 'index=%064d\n' 0 > half)
	SEQ_KEY_FILE=half run -4 --separate-stderr seq-consent --suppress <<< 'x@example.com'
	assert_equal "$stderr" "seq-consent: key file half: needs both an index= and an encryption= line; make a new file with seq-init --key-file"
	(umask 077; printf 'index=secretsecret\n' > bad)
	SEQ_KEY_FILE=bad run -4 --separate-stderr seq-consent --suppress <<< 'x@example.com'
	assert_equal "$stderr" "seq-consent: key file bad: line 1: not index=HEX or encryption=HEX (64 hex digits each)"
	refute_output --partial secret
	assert_equal "$(sql 'SELECT count(*) FROM suppression_list')" 0
}

@test "ledger entries by id, external_id and email, in order, with source, evidence and time" {
	mail_world
	run --separate-stderr seq-consent --source crm <<'EOF2'
{"id":2,"channel":"email","state":"opt-out","evidence":"asked by phone"}
{"external_id":"back","channel":"email","state":"opt-out","at":"2026-11-20T08:00:00Z"}
{"email":"back@EXAMPLE.com","channel":"email","state":"opt-in","source":"web form"}
{"lead_id":5,"channel":"sms","state":"opt-out"}
EOF2
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(jq -c '[.id, .lead_id, .channel, .state, .source, .evidence, .at]' <<< "$output")" \
'[1,2,"email","opt-out","crm","asked by phone","2026-11-25T10:00:00Z"]
[2,4,"email","opt-out","crm",null,"2026-11-20T08:00:00Z"]
[3,4,"email","opt-in","web form",null,"2026-11-25T10:00:00Z"]
[4,5,"sms","opt-out","crm",null,"2026-11-25T10:00:00Z"]'
	run --separate-stderr seq-consent --show 4
	assert_success
	assert_equal "$(jq -c '[.id, .state]' <<< "$output")" '[2,"opt-out"]
[3,"opt-in"]'
	# the ledger is in the lead's timeline
	run --separate-stderr seq-timeline --lead 2 --kind consent
	assert_equal "$(jq -c '[.what, .channel, .details.source, .details.evidence]' <<< "$output")" '["opt-out","email","crm","asked by phone"]'
	run -1 --separate-stderr seq-consent --show 99
	assert_equal "$stderr" "seq-consent: no lead 99"
}

@test "bad ledger records are rejected by line number and none of them is stored" {
	mail_world
	run -1 --separate-stderr seq-consent <<'EOF2'
{"id":1,"channel":"fax","state":"opt-out"}
{"id":1,"channel":"email","state":"maybe"}
{"id":1,"channel":"email","state":"opt-out","colour":"red"}
{"id":99,"channel":"email","state":"opt-out"}
{"id":1,"channel":"email","state":"opt-out","at":"yesterday"}
{"id":1,"channel":"email","state":"opt-out","source":""}
{"channel":"email","state":"opt-out"}
[1]
{"id":1,"channel":"email","state":"opt-out"}
EOF2
	assert_equal "$stderr" "seq-consent: line 1: channel must be email, sms or voice
seq-consent: line 2: state must be opt-in or opt-out
seq-consent: line 3: unknown field 'colour'
seq-consent: line 4: no such lead: {\"id\":99}
seq-consent: line 5: at must be an RFC 3339 time
seq-consent: line 6: source and evidence are strings, and a source is not empty
seq-consent: line 7: a lead reference needs id, external_id or email
seq-consent: line 8: not a JSON object"
	assert_equal "$(jq -c '[.lead_id, .state]' <<< "$output")" '[1,"opt-out"]'
	assert_equal "$(sql 'SELECT lead_id, channel, state FROM consent')" "1|email|opt-out"
}

@test "the suppression list holds no address or number: the file and its dump show none, and it still matches" {
	printf '# exported from the CRM\n  GONE@example.COM  \n(415) 555-0199\n+44 20 7946 0958\n\ngone@example.com\nnot an address\nx@example.com\0tail\n' > list.txt
	run --separate-stderr seq-consent --suppress --source crm --default-region US < list.txt
	assert_failure 1
	assert_equal "$output" '{"added":3,"already":1,"rejected":2}'
	assert_equal "$stderr" "seq-consent: line 7: not an email address or a phone number
seq-consent: line 8: not an email address or a phone number"
	assert_equal "$(sql 'SELECT count(*), min(length(hash)), max(length(hash)) FROM suppression_list')" "3|64|64"
	assert_equal "$(sql "SELECT kind, source FROM suppression_list ORDER BY kind")" "email|crm
phone|crm
phone|crm"
	sql "PRAGMA wal_checkpoint(TRUNCATE)" > /dev/null
	for needle in gone@example.com 4155550199 '+14155550199' 2079460958 '+442079460958'; do
		run grep -ci -- "$needle" <(sql .dump)
		assert_output 0
		run grep -c -- "$needle" <(strings "$SEQ_DB")
		assert_output 0
	done
	# the same values under another key match nothing
	seq-init --key-file other 2> /dev/null
	run --separate-stderr env SEQ_KEY_FILE=other seq-consent --unsuppress <<< 'gone@example.com'
	assert_equal "$output" '{"removed":0,"absent":1,"rejected":0}'
	run --separate-stderr seq-consent --unsuppress <<< '+1 415 555 0199'
	assert_equal "$output" '{"removed":1,"absent":0,"rejected":0}'
	assert_equal "$(sql 'SELECT count(*) FROM suppression_list')" 2
}

@test "without SEQ_KEY_FILE no list is taken, and a database holding one is not sent from" {
	mail_world
	seq-consent --suppress <<< 'list@example.com' > /dev/null
	enroll one 2026-11-25T10:00:00Z ok
	unset SEQ_KEY_FILE
	run -4 --separate-stderr seq-consent --suppress <<< 'other@example.com'
	assert_equal "$stderr" "seq-consent: a suppression list is kept only as blind indexes: set SEQ_KEY_FILE (make one with seq-init --key-file FILE)"
	run -4 --separate-stderr seq-due --now 2026-11-25T10:01:00Z
	assert_output ""
	assert_equal "$stderr" "seq-due: the database holds a suppression list, which only its key can read: set SEQ_KEY_FILE to the key file it was imported with"
	assert_equal "$(sql "SELECT count(*) FROM sequence_executions")" 0
	run -4 --separate-stderr seq-enroll --sequence one <<< '{"external_id":"back"}'
	assert_equal "$(sql "SELECT count(*) FROM enrollments")" 1
}

@test "a sequence aimed at consenting, opted-out and suppressed leads sends only to the consenting, and records every skip" {
	mail_world
	export SEQ_MOCK_LOG="$BATS_TEST_TMPDIR/mock.log"
	# before enrollment: an opt-out and a list entry keep leads out
	seq-consent > /dev/null <<'EOF2'
{"external_id":"out","channel":"email","state":"opt-out"}
{"external_id":"back","channel":"email","state":"opt-out"}
{"external_id":"back","channel":"email","state":"opt-in"}
EOF2
	seq-consent --suppress <<< 'list@example.com' > /dev/null
	run --separate-stderr seq-enroll --sequence one --now 2026-11-25T18:00:00Z <<'EOF2'
{"external_id":"ok"}
{"external_id":"out"}
{"external_id":"list"}
{"external_id":"back"}
{"external_id":"smsout"}
EOF2
	assert_success
	assert_equal "$stderr" "seq-enroll: line 2: lead 2 opted out of email; skipped
seq-enroll: line 3: lead 3 address on the suppression list (admin); skipped"
	# after enrollment: an SMS opt-out and a number on the list skip the
	# second step, with the reason recorded
	seq-consent <<< '{"external_id":"smsout","channel":"sms","state":"opt-out"}' > /dev/null
	seq-consent --suppress --source dnc <<< '+1 (415) 555-0104' > /dev/null
	# US afternoon: inside SMS quiet hours in every US zone
	tick 2026-11-25T18:00:00Z > /dev/null
	tick 2026-11-25T19:00:00Z > /dev/null
	assert_equal "$(jq -r '[.channel, .to] | join(" ")' mock.log | sort)" "email back@example.com
email ok@example.com
email smsout@example.com
sms +14155550101"
	assert_equal "$(sql "SELECT l.external_id, x.step, x.state, x.error FROM sequence_executions x JOIN leads l ON l.id = x.lead_id WHERE x.state = 'skipped' ORDER BY l.external_id")" \
"back|b|skipped|number on the suppression list (dnc)
smsout|b|skipped|opted out of sms"
	assert_equal "$(sql "SELECT count(*) FROM sequence_executions WHERE state = 'sent'")" 4
	# the skip is in the lead's timeline
	run seq-timeline --lead 5 --kind step
	assert_output --partial '"what":"skipped"'
}
