#!/usr/bin/env bats
# Personal data at rest: a sealed database (seq-init with a key) keeps the
# leads' addresses, names and attributes, and the rendered jobs, encrypted,
# and finds leads by blind index; seq-init --rotate-key seals a plain
# database or moves a sealed one to new keys; seq-lead --export and --erase.

load test_helper

# Everything personal the test leads have, one a line: none of it may be
# readable in the database file.
PERSONAL="ann.archer@example.com
+14155550101
Annabel
Archer
Acme Widgets
bob.baker@example.org
+14155550102
Roberto
Oakland-Harbour"

setup() {
	common_setup
	export SEQ_NOW=2026-11-25T10:00:00Z
}

sealed_db() {
	seq-init --key-file keys 2> init.err
	export SEQ_KEY_FILE="$BATS_TEST_TMPDIR/keys"
}

people() {
	leads '{"external_id":"ann","email":"Ann.Archer@example.com","phone":"+1 415 555 0101","first_name":"Annabel","last_name":"Archer","company":"Acme Widgets","timezone":"America/Los_Angeles"}' \
		'{"external_id":"bob","email":"bob.baker@example.org","phone":"+14155550102","first_name":"Roberto","attributes":{"city":"Oakland-Harbour"}}'
}

mail_sms() {
	cat > two.json <<'JSON'
{"name":"two","steps":[{"id":"a","type":"email","subject":"Hi {{first_name}}","text":"Hello {{first_name}} of {{company|nowhere}}"},
 {"id":"b","type":"sms","text":"Hi {{first_name}}"}]}
JSON
	seq-def two.json > /dev/null
}

@test "a database made with a key is sealed: .dump and strings show no address, number, name or attribute of its leads, and seq-lead gives them back" {
	sealed_db
	assert_equal "$(cat init.err)" "seq-init: keys: new keys; set SEQ_KEY_FILE=keys, and back the file up
seq-init: $SEQ_DB: personal data is kept sealed under the keys of keys
seq-init: $SEQ_DB: schema version 0 -> 11"
	people
	run -0 --separate-stderr seq-lead --list
	assert_equal "$(jq -r '[.id, .email, .phone, .first_name, .last_name // "-", .company // "-", .attributes.city // "-"] | @tsv' <<< "$output")" \
		"$(printf '1\tAnn.Archer@example.com\t+14155550101\tAnnabel\tArcher\tAcme Widgets\t-\n2\tbob.baker@example.org\t+14155550102\tRoberto\t-\t-\tOakland-Harbour')"
	sql .dump > dump.sql
	sql 'PRAGMA wal_checkpoint(TRUNCATE)' > /dev/null
	assert_equal "$(readable dump.sql seq.db seq.db-wal)" ""
	# what is stored instead: blind indexes and a sealed value per row
	assert_equal "$(sql "SELECT email GLOB '[0-9a-f]*' AND length(email) = 64, phone GLOB '[0-9a-f]*' AND length(phone) = 64, first_name IS NULL, attributes, length(sealed) > 40 FROM leads WHERE id = 1")" \
		"1|1|1|{}|1"
	# the nonce is per row: the same values sealed twice differ
	leads '{"external_id":"twin","email":"twin@example.com"}' '{"external_id":"twin2","email":"twin2@example.com"}'
	assert_equal "$(sql "SELECT count(DISTINCT substr(sealed, 1, 24)) FROM leads")" 4
	# the plain database beside it shows what the test would catch
	(unset SEQ_KEY_FILE; export SEQ_DB=plain.db; seq-init 2> /dev/null; people; sql .dump > plain.sql)
	assert_equal "$(readable plain.sql | wc -l)" 9
}

@test "in a sealed database leads are still found by email (without case) and number: upserts, duplicates, enrollment, consent and webhooks" {
	sealed_db
	people
	mail_sms
	# an update by email alone reaches the same lead
	run -0 --separate-stderr seq-lead <<< '{"email":"ANN.ARCHER@example.com","title":"CTO"}'
	assert_equal "$(jq -r '[.id, .title, .external_id] | @tsv' <<< "$output")" "$(printf '1\tCTO\tann')"
	# another external id with ann's number is her duplicate
	run -0 --separate-stderr seq-lead <<< '{"external_id":"ann2","email":"other@example.com","phone":"+14155550101"}'
	assert_equal "$(jq -c '[.id, .duplicate_of, (.badges | index("duplicate") != null)]' <<< "$output")" '[3,[1],true]'
	run -0 --separate-stderr seq-enroll --sequence two <<< '{"email":"bob.baker@EXAMPLE.org"}'
	assert_equal "$(jq -r .lead_id <<< "$output")" 2
	run -0 --separate-stderr seq-consent --source crm <<< '{"email":"ann.archer@example.com","channel":"sms","state":"opt-out"}'
	assert_equal "$(sql "SELECT lead_id, channel, state FROM consent")" "1|sms|opt-out"
	# a reply found by its sender's address
	jq -c '.From = "Bob.Baker@example.org" | .FromFull.Email = "Bob.Baker@example.org" | .MessageID = "m1" | .Date = "Wed, 25 Nov 2026 10:05:00 +0000" | .FromName = "Bob"' \
		"$TOP/test/fixtures/postmark-inbound.json" > reply.json
	run -0 --separate-stderr seq-event --from postmark-inbound < reply.json
	assert_equal "$(jq -r '[.type, .lead_id] | @tsv' <<< "$output")" "$(printf 'reply\t2')"
	# an SMS STOP from a number opts out every lead that has it
	jq -c '.data.payload.from.phone_number = "+14155550101" | .data.payload.text = " stop " | .data.id = "s1" | .data.occurred_at = "2026-11-25T10:06:00Z" | .data.payload.id = "m-s1"' \
		"$TOP/test/fixtures/telnyx-message.received-stop.json" > stop.json
	run -0 --separate-stderr seq-event --from telnyx < stop.json
	assert_equal "$(sql "SELECT lead_id, channel, state FROM consent WHERE source LIKE 'telnyx%' ORDER BY lead_id")" \
		"1|sms|opt-out
3|sms|opt-out"
}

@test "the cron pipeline on a sealed database delivers to the right addresses and keeps the jobs sealed; seq-log --unknown still names the recipient" {
	sealed_db
	people
	mail_sms
	enroll two 2026-11-25T09:00:00Z ann bob
	export SEQ_MOCK_LOG=$BATS_TEST_TMPDIR/sent.ndjson
	tick 2026-11-25T10:00:00Z > /dev/null
	assert_equal "$(jq -r '[.to, .subject, .text] | @tsv' sent.ndjson | sort)" \
		"$(printf 'Ann.Archer@example.com\tHi Annabel\tHello Annabel of Acme Widgets\nbob.baker@example.org\tHi Roberto\tHello Roberto of nowhere')"
	assert_equal "$(sql "SELECT count(*), count(recipient), sum(typeof(j.job) = 'blob') FROM sequence_executions x JOIN execution_jobs j ON j.execution_id = x.id")" "2|0|2"
	sql 'PRAGMA wal_checkpoint(TRUNCATE)' > /dev/null
	assert_equal "$(readable seq.db seq.db-wal)" ""
	# a claim whose lease ended goes out again, from its sealed job
	seq-due --now 2026-11-25T10:00:01Z > jobs.ndjson
	assert_equal "$(jq -r .to jobs.ndjson | sort)" "$(printf '+14155550101\n+14155550102')"
	run -0 --separate-stderr seq-due --now 2026-11-25T10:30:00Z
	assert_equal "$(jq -r '[.to, .text] | @tsv' <<< "$output" | sort)" "$(printf '+14155550101\tHi Annabel\n+14155550102\tHi Roberto')"
	sql "UPDATE sequence_executions SET state = 'unknown' WHERE id = 3"
	run -0 --separate-stderr seq-log --unknown
	assert_equal "$(jq -r '[.execution_id, .to] | @tsv' <<< "$output")" "$(printf '3\t+14155550101')"
}

@test "a sealed database refuses to run without its key file, or with another one" {
	sealed_db
	people
	for c in "seq-lead --list" "seq-due" "seq-lead --export 1"; do
		echo "command: $c"
		run -4 --separate-stderr env -u SEQ_KEY_FILE $c < /dev/null
		assert_output ""
		assert_equal "$stderr" "${c%% *}: the database keeps personal data sealed: set SEQ_KEY_FILE to its key file"
	done
	seq-init --key-file other 2> /dev/null
	SEQ_KEY_FILE=other run -4 --separate-stderr seq-lead <<< '{"external_id":"x","email":"x@example.com"}'
	assert_equal "$stderr" "seq-lead: SEQ_KEY_FILE other does not hold this database's keys"
	assert_equal "$(sql 'SELECT count(*) FROM leads')" 2
}

@test "seq-init --rotate-key seals everything under new keys in one go: every lead reads, lookups and the suppression list work, and the old key reads nothing" {
	sealed_db
	people
	mail_sms
	enroll two 2026-11-25T09:00:00Z ann
	tick 2026-11-25T10:00:00Z > /dev/null
	seq-consent --suppress <<< 'BOB.baker@example.org' 2> /dev/null
	seq-lead --list > before.ndjson
	sql "SELECT id, hex(sealed) FROM leads ORDER BY id" > sealed.before
	old_check=$(sql "SELECT value FROM meta WHERE key = 'pii_check'")
	run -0 --separate-stderr seq-init --rotate-key new
	assert_equal "$stderr" "seq-init: new: new keys
seq-init: $SEQ_DB: sealed 2 leads, 1 jobs and 1 suppressed addresses under the keys of new; set SEQ_KEY_FILE=new (backups made before now need the old file)"
	run stat -c %a new
	assert_output 600
	# the old key is refused, and cannot open what is there now
	run -4 --separate-stderr seq-lead --list
	assert_equal "$stderr" "seq-lead: SEQ_KEY_FILE $BATS_TEST_TMPDIR/keys does not hold this database's keys"
	export SEQ_KEY_FILE="$BATS_TEST_TMPDIR/new"
	run -0 --separate-stderr seq-lead --list
	assert_equal "$output" "$(cat before.ndjson)"
	# every row sealed anew, none as before
	assert_equal "$(sql "SELECT id, hex(sealed) FROM leads ORDER BY id" | comm -12 - sealed.before)" ""
	run -0 --separate-stderr seq-enroll --sequence two <<< '{"email":"bob.baker@example.org"}'
	assert_equal "$(jq -r .skipped <<< "$output")" "address on the suppression list (admin)"
	run -0 --separate-stderr seq-due --now 2026-11-25T10:30:00Z
	assert_equal "$(jq -r '[.to, .text] | @tsv' <<< "$output")" "$(printf '+14155550101\tHi Annabel')"
	sql 'PRAGMA wal_checkpoint(TRUNCATE)' > /dev/null
	assert_equal "$(readable seq.db seq.db-wal)" ""
	# a copy told that the old keys are its own: they open nothing
	cp seq.db forged.db
	SEQ_DB=forged.db sql "UPDATE meta SET value = '$old_check' WHERE key = 'pii_check'"
	SEQ_DB=forged.db SEQ_KEY_FILE=$BATS_TEST_TMPDIR/keys run -3 --separate-stderr seq-lead --list
	assert_equal "$stderr" "seq-lead: lead 1: its personal data does not open with the database's key"
	SEQ_DB=forged.db SEQ_KEY_FILE=$BATS_TEST_TMPDIR/keys run -3 --separate-stderr seq-due --now 2026-11-25T11:00:00Z
	assert_regex "$stderr" "^seq-due: (lead|execution) [0-9]+: its (personal data|job) does not open with the database's key$"
}

@test "seq-init --rotate-key seals a plain database that has leads, jobs and bounces, and leaves nothing readable" {
	seq-init 2> /dev/null
	people
	mail_sms
	enroll two 2026-11-25T09:00:00Z ann
	tick 2026-11-25T10:00:00Z > /dev/null
	sql "INSERT INTO suppressions (address, reason, at) VALUES ('bob.baker@example.org', 'hard bounce', 0)"
	seq-lead --list > before.ndjson
	sql 'PRAGMA wal_checkpoint(TRUNCATE)' > /dev/null
	assert_equal "$(readable seq.db | wc -l)" 9
	run -0 --separate-stderr seq-init --rotate-key keys
	assert_equal "${stderr##*$'\n'}" "seq-init: $SEQ_DB: sealed 2 leads, 1 jobs and 1 suppressed addresses under the keys of keys; set SEQ_KEY_FILE=keys (backups made before now need the old file)"
	assert_equal "$(readable seq.db seq.db-wal)" ""
	export SEQ_KEY_FILE="$BATS_TEST_TMPDIR/keys"
	assert_equal "$(seq-lead --list)" "$(cat before.ndjson)"
	# the bounce still holds, now by blind index
	run -0 --separate-stderr seq-enroll --sequence two <<< '{"external_id":"bob"}'
	assert_equal "$(jq -r .skipped <<< "$output")" "address suppressed (hard bounce)"
}

@test "--rotate-key stops, changing nothing, when a suppression list cannot be read back" {
	seq-init 2> /dev/null
	people
	seq-init --key-file list.keys 2> /dev/null
	SEQ_KEY_FILE=$BATS_TEST_TMPDIR/list.keys seq-consent --suppress <<< 'bob.baker@example.org' 2> /dev/null
	sql .dump > before.sql
	run -4 --separate-stderr seq-init --rotate-key keys
	assert_equal "$stderr" "seq-init: keys: new keys
seq-init: the suppression list holds 1 entries; they cannot be read back, so their index cannot be made under the new key: set SEQ_KEY_FILE to the key file they were imported with"
	sql .dump > after.sql
	assert_equal "$(cat after.sql)" "$(cat before.sql)"
}

@test "a provider's error that quotes the address is kept with the address taken out, in a sealed database" {
	sealed_db
	people
	mail_sms
	enroll two 2026-11-25T09:00:00Z ann
	seq-due --now 2026-11-25T10:00:00Z | seq-send --now 2026-11-25T10:00:00Z |
		jq -c '.status = "failed" | .provider_id = null | .error = "550 5.1.1 <ann.ARCHER@example.com>: no such user"' |
		seq-log --now 2026-11-25T10:00:00Z > /dev/null
	assert_equal "$(sql "SELECT state, error FROM sequence_executions")" "failed|550 5.1.1 <<address>>: no such user"
	assert_equal "$(sql "SELECT reason FROM enrollment_changes ORDER BY id DESC LIMIT 1")" \
		"step a failed: 550 5.1.1 <<address>>: no such user"
	sql 'PRAGMA wal_checkpoint(TRUNCATE)' > /dev/null
	assert_equal "$(readable seq.db seq.db-wal)" ""
}

@test "a command that waited while seq-init --rotate-key ran writes nothing under the old keys" {
	sealed_db
	mkfifo in
	seq-lead < in > out 2> err &
	local pid=$!
	# fd 3 is bats's own
	exec 5> in
	printf '%s\n' '{"external_id":"one","email":"one@example.com"}' >&5
	local i
	for i in $(seq 100); do
		[ "$(sql 'SELECT count(*) FROM leads')" = 1 ] && break
		sleep 0.1
	done
	seq-init --rotate-key new 2> /dev/null
	printf '%s\n' '{"external_id":"two","email":"two@example.com"}' >&5
	exec 5>&-
	local rc=0
	wait "$pid" || rc=$?
	assert_equal "$rc" 4
	assert_equal "$(cat err)" "seq-lead: the database's personal data was sealed under new keys while this command ran (seq-init --rotate-key); nothing was written: run it again with SEQ_KEY_FILE naming the new key file"
	SEQ_KEY_FILE=$BATS_TEST_TMPDIR/new run -0 --separate-stderr seq-lead --list
	assert_equal "$(jq -r .email <<< "$output")" one@example.com
}
