#!/usr/bin/env bats
# Frequency caps over all sequences (seqtools-config(5)): SEQ_LEAD_CAP, a
# lead's messages per channel in a sliding window, and SEQ_SENDER_CAP, a
# sender's messages per UTC day.  What is over a cap is deferred, not
# dropped, goes out when the cap lets it, and the deferral is in the
# timeline.

load test_helper
setup() { common_setup; init_db; }

# Each send time of a lead's steps: sequence, step, state, claimed_at.
sent() {
	sql "SELECT s.name, x.step, x.state, $(iso x.claimed_at) FROM sequence_executions x
		JOIN enrollments e ON e.id = x.enrollment_id JOIN sequences s ON s.id = e.sequence_id
		WHERE x.lead_id = $1 ORDER BY x.id"
}
# The deferred and shifted activities of a lead's timeline.
deferrals() {
	seq-timeline --lead "$1" | jq -c 'select(.what == "deferred" or .what == "shifted")'
}

# Sequence "a": an email, a wait of 2h, an email; "b" and "c": one email.
# All from sales@example.com.
three_sequences() {
	seq-def > /dev/null <<'JSON'
{"name":"a","from":{"email":"sales@example.com"},"steps":[
 {"id":"a1","type":"email","subject":"A1","text":"a1"},
 {"id":"gap","type":"wait","duration":"2h"},
 {"id":"a2","type":"email","subject":"A2","text":"a2"}]}
JSON
	for s in b c; do
		seq-def > /dev/null <<JSON
{"name":"$s","from":{"email":"sales@example.com"},"steps":[
 {"id":"${s}1","type":"email","subject":"$s","text":"$s"}]}
JSON
	done
}

@test "SEQ_LEAD_CAP email=2/1d: a lead's third email within a day waits until the oldest leaves the window, is in the timeline, and then goes out" {
	export SEQ_LEAD_CAP=email=2/1d
	three_sequences
	leads '{"external_id":"l1","email":"l1@example.com"}'
	enroll a 2026-11-23T10:00:00Z l1
	enroll b 2026-11-23T11:00:00Z l1
	tick 2026-11-23T10:00:00Z > /dev/null
	tick 2026-11-23T11:00:00Z > /dev/null
	# a2 is due at 12:00; a1 (10:00) and b1 (11:00) are within the day
	run --separate-stderr seq-due --now 2026-11-23T12:00:00Z
	assert_success
	assert_output ""
	assert_equal "$(sql "SELECT step, $(iso next_run_at), claim IS NULL FROM enrollments WHERE id = 1")" \
		"a2|2026-11-24T10:00:00Z|1"
	run --separate-stderr deferrals 1
	assert_success
	assert_output '{"at":"2026-11-23T12:00:00Z","kind":"step","what":"deferred","sequence":"a","version":1,"step":"a2","channel":"email","enrollment_id":1,"details":{"reason":"SEQ_LEAD_CAP email=2/1d","due":"2026-11-23T12:00:00Z","until":"2026-11-24T10:00:00Z"}}'
	# --kind step and --channel email keep it
	assert_equal "$(seq-timeline --lead 1 --kind step --channel email | jq -r .what | sort | uniq -c | awk '{print $2, $1}')" \
		"deferred 1
sent 2"
	# not before, and exactly then: a1 has left the window, b1 has not
	tick 2026-11-24T09:59:59Z > /dev/null
	assert_equal "$(sql 'SELECT count(*) FROM sequence_executions')" 2
	tick 2026-11-24T10:00:00Z > /dev/null
	assert_equal "$(sent 1)" "a|a1|sent|2026-11-23T10:00:00Z
b|b1|sent|2026-11-23T11:00:00Z
a|a2|sent|2026-11-24T10:00:00Z"
	assert_equal "$(sql "SELECT status FROM enrollments ORDER BY id")" "completed
completed"
	# one deferral, however often it was met
	assert_equal "$(sql 'SELECT count(*) FROM deferrals')" 1
}

@test "SEQ_LEAD_CAP counts the claims of one run: two of three sequences due at once go out, the third waits a window" {
	export SEQ_LEAD_CAP=email=2/1d
	three_sequences
	leads '{"external_id":"l1","email":"l1@example.com"}' '{"external_id":"l2","email":"l2@example.com"}'
	for s in a b c; do enroll "$s" 2026-11-23T10:00:00Z l1 l2; done
	run --separate-stderr seq-due --now 2026-11-23T10:00:00Z
	assert_success
	assert_equal "$(jq -r '[.lead_id, .sequence] | @tsv' <<< "$output" | sort)" "1	a
1	b
2	a
2	b"
	assert_equal "$(sql "SELECT e.lead_id, s.name, $(iso e.next_run_at) FROM enrollments e JOIN sequences s ON s.id = e.sequence_id WHERE e.claim IS NULL ORDER BY e.id")" \
		"1|c|2026-11-24T10:00:00Z
2|c|2026-11-24T10:00:00Z"
	seq-send --now 2026-11-23T10:00:00Z <<< "$output" | seq-log --now 2026-11-23T10:00:00Z > /dev/null
	# a2 at 12:00 meets the same cap: both of the lead's slots free at 10:00
	tick 2026-11-23T12:00:00Z > /dev/null
	assert_equal "$(sql "SELECT $(iso next_run_at) FROM enrollments WHERE lead_id = 1 AND status = 'active' ORDER BY id")" \
		"2026-11-24T10:00:00Z
2026-11-24T10:00:00Z"
	# at 10:00 the next day both slots are free again: a2 and c1 go out,
	# and nothing more is held
	tick 2026-11-24T10:00:00Z > /dev/null
	assert_equal "$(sent 1)" "a|a1|sent|2026-11-23T10:00:00Z
b|b1|sent|2026-11-23T10:00:00Z
a|a2|sent|2026-11-24T10:00:00Z
c|c1|sent|2026-11-24T10:00:00Z"
	assert_equal "$(sql "SELECT count(*) FROM enrollments WHERE status <> 'completed'")" 0
}

@test "SEQ_LEAD_CAP sms=1/1d is its own: email and sms count apart, and a channel not named has no cap" {
	export SEQ_LEAD_CAP="email=1/1d, sms=1/1d"
	seq-def > /dev/null <<'JSON'
{"name":"mix","steps":[
 {"id":"e1","type":"email","subject":"E1","text":"e1"},
 {"id":"s1","type":"sms","text":"s1"},
 {"id":"s2","type":"sms","text":"s2"},
 {"id":"v1","type":"voice","say":"v1"},
 {"id":"v2","type":"voice","say":"v2"}]}
JSON
	leads '{"external_id":"l1","email":"l1@example.com","phone":"+12025550143"}'
	enroll mix 2026-11-23T10:00:00Z l1
	for t in 10:00:00 10:01:00 10:02:00 10:03:00 10:04:00; do
		tick "2026-11-23T${t}Z" > /dev/null
	done
	assert_equal "$(sent 1)" "mix|e1|sent|2026-11-23T10:00:00Z
mix|s1|sent|2026-11-23T10:01:00Z"
	assert_equal "$(deferrals 1 | jq -r '[.step, .channel, .details.reason, .details.until] | @tsv')" \
		"s2	sms	SEQ_LEAD_CAP sms=1/1d	2026-11-24T10:01:00Z"
	tick 2026-11-24T10:01:00Z > /dev/null
	tick 2026-11-24T10:02:00Z > /dev/null
	tick 2026-11-24T10:03:00Z > /dev/null
	assert_equal "$(sent 1)" "mix|e1|sent|2026-11-23T10:00:00Z
mix|s1|sent|2026-11-23T10:01:00Z
mix|s2|sent|2026-11-24T10:01:00Z
mix|v1|sent|2026-11-24T10:02:00Z
mix|v2|sent|2026-11-24T10:03:00Z"
}

@test "without SEQ_LEAD_CAP nothing is deferred and no deferral is written" {
	three_sequences
	leads '{"external_id":"l1","email":"l1@example.com"}'
	for s in a b c; do enroll "$s" 2026-11-23T10:00:00Z l1; done
	tick 2026-11-23T10:00:00Z > /dev/null
	tick 2026-11-23T12:00:00Z > /dev/null
	assert_equal "$(sent 1)" "a|a1|sent|2026-11-23T10:00:00Z
b|b1|sent|2026-11-23T10:00:00Z
c|c1|sent|2026-11-23T10:00:00Z
a|a2|sent|2026-11-23T12:00:00Z"
	assert_equal "$(sql 'SELECT count(*) FROM deferrals')" 0
}

@test "SEQ_SENDER_CAP: a sender's cap over all sequences defers the rest to the next UTC day, which sends them" {
	# sales@ by name, with a display name in SEQ_EMAIL_FROM; everyone else 1
	export SEQ_SENDER_CAP="1, SALES@example.com=2" SEQ_EMAIL_FROM="Sales <sales@example.com>"
	for s in one two three; do
		seq-def > /dev/null <<JSON
{"name":"$s","steps":[{"id":"m","type":"email","subject":"$s","text":"$s"}]}
JSON
	done
	seq-def > /dev/null <<'JSON'
{"name":"other","from":{"email":"other@example.com"},"steps":[
 {"id":"m","type":"email","subject":"o","text":"o"}]}
JSON
	leads '{"external_id":"l1","email":"l1@example.com"}' '{"external_id":"l2","email":"l2@example.com"}' \
		'{"external_id":"l3","email":"l3@example.com"}'
	enroll one 2026-11-23T20:00:00Z l1
	enroll two 2026-11-23T20:00:00Z l2
	enroll three 2026-11-23T20:00:00Z l3
	enroll other 2026-11-23T20:00:00Z l1 l2
	tick 2026-11-23T20:00:00Z > /dev/null
	assert_equal "$(sql "SELECT lead_id, sender, $(iso claimed_at) FROM sequence_executions ORDER BY id")" \
		"1|Sales <sales@example.com>|2026-11-23T20:00:00Z
2|Sales <sales@example.com>|2026-11-23T20:00:00Z
1|other@example.com|2026-11-23T20:00:00Z"
	assert_equal "$(deferrals 3 | jq -r '[.sequence, .details.reason, .details.until] | @tsv')" \
		"three	SEQ_SENDER_CAP Sales <sales@example.com>=2	2026-11-24T00:00:00Z"
	assert_equal "$(deferrals 2 | jq -r '[.sequence, .details.reason, .details.until] | @tsv')" \
		"other	SEQ_SENDER_CAP other@example.com=1	2026-11-24T00:00:00Z"
	tick 2026-11-23T23:59:59Z > /dev/null
	assert_equal "$(sql 'SELECT count(*) FROM sequence_executions')" 3
	tick 2026-11-24T00:00:00Z > /dev/null
	assert_equal "$(sql "SELECT lead_id, sender, state, $(iso claimed_at) FROM sequence_executions WHERE id > 3 ORDER BY lead_id")" \
		"2|other@example.com|sent|2026-11-24T00:00:00Z
3|Sales <sales@example.com>|sent|2026-11-24T00:00:00Z"
	assert_equal "$(sql "SELECT count(*) FROM enrollments WHERE status <> 'completed'")" 0
}

@test "SEQ_SENDER_CAP and a sequence's own cap of the sender share one count, and the lower holds" {
	export SEQ_SENDER_CAP=sales@example.com=3
	seq-def > /dev/null <<'JSON'
{"name":"low","from":{"email":"sales@example.com"},"caps":{"sales@example.com":1},
 "steps":[{"id":"m","type":"email","subject":"x","text":"x"}]}
JSON
	seq-def > /dev/null <<'JSON'
{"name":"plain","from":{"email":"sales@example.com"},
 "steps":[{"id":"m","type":"email","subject":"x","text":"x"}]}
JSON
	leads '{"external_id":"l1","email":"l1@example.com"}' '{"external_id":"l2","email":"l2@example.com"}' \
		'{"external_id":"l3","email":"l3@example.com"}' '{"external_id":"l4","email":"l4@example.com"}'
	enroll low 2026-11-23T10:00:00Z l1 l2
	enroll plain 2026-11-23T10:00:00Z l3 l4
	run --separate-stderr seq-due --now 2026-11-23T10:00:00Z
	assert_success
	# low's first takes the one low allows; plain's two make three
	assert_equal "$(jq -r '[.sequence, .lead_id] | @tsv' <<< "$output")" "low	1
plain	3
plain	4"
	assert_equal "$(sql "SELECT reason, $(iso until_at) FROM deferrals")" \
		"caps sales@example.com=1|2026-11-24T00:00:00Z"
}

@test "one mailbox written three ways is one sender: its caps count all, and a sequence's cap of it holds for a from with a display name" {
	# "named" sends from SEQ_EMAIL_FROM, "bare" from the address itself,
	# and named's cap writes it a third way (normal form keeps a local
	# part's capitals)
	export SEQ_SENDER_CAP=sales@example.com=3 SEQ_EMAIL_FROM="Sales <SALES@Example.com>"
	seq-def > /dev/null <<'JSON'
{"name":"named","caps":{"Sales@example.com":1},
 "steps":[{"id":"m","type":"email","subject":"x","text":"x"}]}
JSON
	seq-def > /dev/null <<'JSON'
{"name":"bare","from":{"email":"sales@example.com"},
 "steps":[{"id":"m","type":"email","subject":"x","text":"x"}]}
JSON
	leads '{"external_id":"l1","email":"l1@example.com"}' '{"external_id":"l2","email":"l2@example.com"}' \
		'{"external_id":"l3","email":"l3@example.com"}' '{"external_id":"l4","email":"l4@example.com"}'
	enroll named 2026-11-23T10:00:00Z l1 l2
	enroll bare 2026-11-23T10:00:00Z l3 l4
	run --separate-stderr seq-due --now 2026-11-23T10:00:00Z
	assert_success
	# named's own cap lets one go; the two of bare make three, the
	# mailbox's cap, whichever way each wrote it
	assert_equal "$(jq -r '[.sequence, .lead_id, .from] | @tsv' <<< "$output")" "named	1	Sales <SALES@Example.com>
bare	3	sales@example.com
bare	4	sales@example.com"
	# a cap is named as its sequence wrote it
	assert_equal "$(sql "SELECT reason FROM deferrals")" "caps Sales@example.com=1"
	# sent, and a later run counts them from the database as the first did
	seq-send --now 2026-11-23T10:00:00Z <<< "$output" | seq-log --now 2026-11-23T10:00:00Z > /dev/null
	enroll bare 2026-11-23T11:00:00Z l1
	run --separate-stderr seq-due --now 2026-11-23T11:00:00Z
	assert_success
	assert_output ""
	assert_equal "$(sql "SELECT reason FROM deferrals ORDER BY id")" "caps Sales@example.com=1
SEQ_SENDER_CAP sales@example.com=3"
}

@test "a SEQ_LEAD_CAP or SEQ_SENDER_CAP that does not parse stops seq-due with status 4 before it claims anything" {
	one_email_world 1 2026-11-23T10:00:00Z
	for bad in "email=2" "email=0/1d" "fax=1/1d" "email=1/soon" "email=1/1d,email=2/1d"; do
		SEQ_LEAD_CAP=$bad run -4 --separate-stderr seq-due --now 2026-11-23T10:00:00Z
		assert_output ""
	done
	SEQ_LEAD_CAP=email=2 run -4 --separate-stderr seq-due --now 2026-11-23T10:00:00Z
	assert_equal "$stderr" "seq-due: SEQ_LEAD_CAP: 'email=2' is not channel=N/duration, like email=2/1d"
	SEQ_LEAD_CAP=fax=1/1d run -4 --separate-stderr seq-due --now 2026-11-23T10:00:00Z
	assert_equal "$stderr" "seq-due: SEQ_LEAD_CAP: 'fax' is not a channel (email, sms or voice)"
	for bad in "x" "0" "a@example.com=" "=3" "5,6" "a@example.com=1,A@example.com=2"; do
		SEQ_SENDER_CAP=$bad run -4 --separate-stderr seq-due --now 2026-11-23T10:00:00Z
		assert_output ""
	done
	SEQ_SENDER_CAP=5,6 run -4 --separate-stderr seq-due --now 2026-11-23T10:00:00Z
	assert_equal "$stderr" "seq-due: SEQ_SENDER_CAP: two limits for every sender"
	assert_equal "$(sql 'SELECT count(*) FROM sequence_executions')" 0
	# from the configuration file too
	printf 'SEQ_LEAD_CAP=email=1/1d\n' > seq.conf
	chmod 600 seq.conf
	run --separate-stderr seq-due --config seq.conf --now 2026-11-23T10:00:00Z
	assert_success
	assert_equal "${#lines[@]}" 1
}

@test "in a sealed database SEQ_LEAD_CAP counts by lead all the same" {
	rm -f "$SEQ_DB"
	seq-init --key-file keys 2> /dev/null
	export SEQ_KEY_FILE="$BATS_TEST_TMPDIR/keys" SEQ_LEAD_CAP=email=1/12h
	three_sequences
	leads '{"external_id":"l1","email":"l1@example.com"}'
	enroll a 2026-11-23T10:00:00Z l1
	enroll b 2026-11-23T10:00:00Z l1
	tick 2026-11-23T10:00:00Z > /dev/null
	tick 2026-11-23T12:00:00Z > /dev/null
	tick 2026-11-23T22:00:00Z > /dev/null
	tick 2026-11-24T09:59:59Z > /dev/null
	tick 2026-11-24T10:00:00Z > /dev/null
	# b1 waited for a1, then a2 (due at 12:00) for a1 too and came first,
	# being the older enrollment; then b1 for a2
	assert_equal "$(sent 1)" "a|a1|sent|2026-11-23T10:00:00Z
a|a2|sent|2026-11-23T22:00:00Z
b|b1|sent|2026-11-24T10:00:00Z"
}
