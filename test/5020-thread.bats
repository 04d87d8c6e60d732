#!/usr/bin/env bats
# Threaded follow-ups (sequence(5) "thread"): every email job names its own
# Message-ID, and a step with "thread" goes out as a reply to the last
# message of the step it names: In-Reply-To and References name that
# message, and the subject is "Re: " and its subject unless the step has
# its own.  Through the smtp adapter to a real mail server (OpenSMTPD,
# test/smtpd.bash), and to loopback capture servers standing in for
# SendGrid and Postmark (test/prism.bash).

load test_helper
load smtpd
load prism
setup() { common_setup; init_db; }
teardown() {
	smtpd_stop
	capture_stop_all
}

T0=2026-11-23T10:00:00Z

# thread_sequence NAME FROM ON_FAIL: first, then three replies two days
# apart: second answers first (no subject), third answers second (no
# subject: a reply to a reply), fourth answers first with its own subject.
thread_sequence() {
	jq -n --arg name "$1" --arg from "$2" --arg fail "$3" '{name: $name,
		from: {email: $from}, max_attempts: 1, steps: ([
		{id: "first", type: "email", subject: "Plans for {{first_name}}",
		 text: "Hello {{first_name}}"},
		{id: "w1", type: "wait", duration: "2d"},
		{id: "second", type: "email", thread: "first", text: "Any thoughts?"},
		{id: "w2", type: "wait", duration: "2d"},
		{id: "third", type: "email", thread: "second", text: "Still there?"},
		{id: "w3", type: "wait", duration: "2d"},
		{id: "fourth", type: "email", thread: "first",
		 subject: "Something new, {{first_name}}", text: "A new idea"}]
		| map(if .type == "email" then .on_fail = $fail else . end))}' > "$1.json"
	seq-def "$1.json" > /dev/null
}

# day N: N days after T0.
day() { date -u -d "2026-11-23 10:00:00 UTC + $1 days" +%Y-%m-%dT%H:%M:%SZ; }

# live_tick TIME URL: one cron run at TIME, delivering through the smtp
# adapter to URL; the jobs are appended to ./jobs.
live_tick() {
	seq-due --now "$1" > due.out
	cat due.out >> jobs
	SEQ_EMAIL_ADAPTER=smtp SEQ_SMTP_URL=$2 SEQ_EMAIL_FROM=team@example.net \
		seq-send --live --now "$1" --retry-for 1s --connect-timeout 1s \
		< due.out > send.out
	seq-log --now "$1" < send.out > /dev/null
}

# The delivered messages, in the order of the keys given: for each,
# "Subject|Message-ID|In-Reply-To|References|n", n the number of
# Message-ID headers; "missing KEY" for a key that never arrived.
delivered() {
	python3 - "$SMTPD_MAIL" "$@" <<-'PY'
	import email, email.policy, os, sys
	maildir, keys = sys.argv[1], sys.argv[2:]
	got = {}
	for sub in ("new", "cur"):
	    d = os.path.join(maildir, sub)
	    for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
	        msg = email.message_from_bytes(open(os.path.join(d, name), "rb").read(),
	            policy=email.policy.default)
	        got.setdefault(str(msg["X-Seq-Key"]), []).append(msg)
	for k in keys:
	    msgs = got.pop(k, [])
	    if not msgs:
	        print("missing " + k)
	    for msg in msgs:
	        print("|".join([str(msg.get(h) or "") for h in
	            ("Subject", "Message-ID", "In-Reply-To", "References")] +
	            [str(len(msg.get_all("Message-ID") or []))]))
	for k, msgs in got.items():
	    print("unexpected %s (%d)" % (k, len(msgs)))
	PY
}

# key STEP [LEAD]: the key of the sent execution of STEP (of lead LEAD's
# enrollment, 1 when not given).
key() {
	sql "SELECT key FROM sequence_executions WHERE step = '$1' AND
		lead_id = ${2:-1} AND state = 'sent'"
}

@test "thread: through smtp to a real mail server, each reply names the message it answers, References keep the chain, the subject is Re: once" {
	smtpd_need
	smtpd_start
	thread_sequence t sales@example.com stop
	leads '{"external_id":"ann","email":"ann@example.com","first_name":"Ann"}'
	enroll t $T0 ann
	local d
	for d in 0 2 4 6; do
		live_tick "$(day $d)" "$SMTPD_URL"
	done
	smtpd_wait_delivered
	assert_equal "$(sql "SELECT group_concat(state, ' ') FROM sequence_executions")" "sent sent sent sent"
	local k1 k2 k3 k4
	k1=$(key first) k2=$(key second) k3=$(key third) k4=$(key fourth)
	run delivered "$k1" "$k2" "$k3" "$k4"
	assert_success
	assert_output "Plans for Ann|<$k1@example.com>|||1
Re: Plans for Ann|<$k2@example.com>|<$k1@example.com>|<$k1@example.com>|1
Re: Plans for Ann|<$k3@example.com>|<$k2@example.com>|<$k1@example.com> <$k2@example.com>|1
Something new, Ann|<$k4@example.com>|<$k1@example.com>|<$k1@example.com>|1"
	# what went out is what the jobs named, and the provider id of each
	# is its Message-ID
	assert_equal "$(jq -r '.headers["Message-ID"]' jobs)" \
		"$(printf '<%s@example.com>\n' "$k1" "$k2" "$k3" "$k4")"
	assert_equal "$(sql "SELECT group_concat(provider_id = message_id, ' ') FROM sequence_executions")" "1 1 1 1"
	# the timeline says what each reply answered
	seq-timeline --lead 1 --kind step --now "$(day 7)" > timeline
	assert_equal "$(jq -r 'select(.what == "sent") | [.step, .details.in_reply_to // "-"] | @tsv' timeline | sort)" \
		"first	-
fourth	<$k1@example.com>
second	<$k1@example.com>
third	<$k2@example.com>"
}

@test "thread: a reply to a message that never went out answers what that one answered, and with nothing sent up the chain it starts a new thread under the first subject" {
	smtpd_need
	smtpd_start
	thread_sequence t sales@example.com continue
	leads '{"external_id":"ann","email":"ann@example.com","first_name":"Ann"}' \
		'{"external_id":"bob","email":"bob@example.com","first_name":"Bob"}'
	enroll t $T0 ann
	enroll t "$(day 2)" bob
	# on days 0 and 4 the server is not there: what is due then fails
	# (max_attempts 1), and on_fail continue goes on
	local down="smtp://127.0.0.1:$(smtpd_free_port)" d
	live_tick "$(day 0)" "$down"
	live_tick "$(day 2)" "$SMTPD_URL"
	live_tick "$(day 4)" "$down"
	live_tick "$(day 6)" "$SMTPD_URL"
	live_tick "$(day 8)" "$SMTPD_URL"
	smtpd_wait_delivered
	assert_equal "$(sql "SELECT group_concat(l.external_id || '.' || x.step || ':' || x.state, ' ')
		FROM sequence_executions x JOIN leads l ON l.id = x.lead_id ORDER BY x.id")" \
		"ann.first:failed ann.second:sent bob.first:sent ann.third:failed bob.second:failed ann.fourth:sent bob.third:sent bob.fourth:sent"
	local a2 a4 b1 b3 b4
	a2=$(key second 1) a4=$(key fourth 1) b1=$(key first 2) b3=$(key third 2) b4=$(key fourth 2)
	run delivered "$a2" "$a4" "$b1" "$b3" "$b4"
	assert_success
	# ann: nothing before second went out, so it starts the thread with
	# first's subject, no Re:, and fourth, answering first, has nothing
	# to answer either; bob: third answers second, which failed, so it
	# answers what second would have: first
	assert_output "Plans for Ann|<$a2@example.com>|||1
Something new, Ann|<$a4@example.com>|||1
Plans for Bob|<$b1@example.com>|||1
Re: Plans for Bob|<$b3@example.com>|<$b1@example.com>|<$b1@example.com>|1
Something new, Bob|<$b4@example.com>|<$b1@example.com>|<$b1@example.com>|1"
	# ann's third, which failed, answered her second, which was sent
	assert_equal "$(jq -r 'select(.to == "ann@example.com" and .step == "third") |
		[.subject, .headers["In-Reply-To"], .headers.References] | @tsv' jobs)" \
		"Re: Plans for Ann	<$a2@example.com>	<$a2@example.com>"
	assert_equal "$(sql "SELECT count(*) FROM sequence_executions WHERE in_reply_to IS NOT NULL")" 4
}

@test "thread: the subject answered is the one the lead got (its variant, the name as it was), read from the sealed job; a sender with a name gives its domain, none a fixed one" {
	rm -f "$SEQ_DB"
	seq-init --key-file keys 2> /dev/null
	export SEQ_KEY_FILE="$BATS_TEST_TMPDIR/keys"
	jq -n '{name: "v", steps: [
		{id: "first", type: "email", text: "Hello",
		 variants: [{subject: "Lunch, {{first_name}}?", weight: 50},
			{subject: "Coffee, {{first_name}}?", weight: 50}]},
		{id: "w", type: "wait", duration: "1d"},
		{id: "second", type: "email", thread: "first", text: "Any thoughts?"}]}' > v.json
	seq-def v.json > /dev/null
	leads '{"external_id":"ann","email":"ann@example.com","first_name":"Ann"}' \
		'{"external_id":"bob","email":"bob@example.com","first_name":"Bob"}' \
		'{"external_id":"cy","email":"cy@example.com","first_name":"Cy"}' \
		'{"external_id":"dee","email":"dee@example.com","first_name":"Dee"}'
	enroll v $T0 ann bob cy dee
	SEQ_EMAIL_FROM='Sales Team <sales@mail.example.com>' seq-due --now $T0 > jobs1
	seq-send --now $T0 < jobs1 | seq-log --now $T0 > /dev/null
	# the leads change their names before the reply goes out
	leads '{"external_id":"ann","first_name":"Annabel"}' '{"external_id":"bob","first_name":"Robert"}' \
		'{"external_id":"cy","first_name":"Cyrus"}' '{"external_id":"dee","first_name":"Deirdre"}'
	seq-due --now "$(day 1)" > jobs2
	# both variants went out, and each reply took its lead's subject
	assert_equal "$(jq -r .variant jobs1 | sort -u | paste -sd ' ')" "A B"
	assert_equal "$(jq -r '.subject | sub("^[A-Za-z]+, "; "")' jobs1 | sort -u | paste -sd ' ')" "Ann? Bob? Cy? Dee?"
	jq -r '[.to, "Re: " + .subject, .headers["Message-ID"]] | @tsv' jobs1 | sort > want
	jq -r '[.to, .subject, .headers["In-Reply-To"]] | @tsv' jobs2 | sort > got
	assert_equal "$(cat got)" "$(cat want)"
	# Message-IDs: the domain of SEQ_EMAIL_FROM's address, and without
	# any sender, a fixed one
	assert_equal "$(jq -r '.headers["Message-ID"] == "<\(.key)@mail.example.com>"' jobs1 | sort -u)" true
	assert_equal "$(jq -r '.headers["Message-ID"] == "<\(.key)@seqtools.invalid>"' jobs2 | sort -u)" true
	# the subjects, names in them, live only in the sealed jobs
	PERSONAL=$(jq -r .subject jobs1 jobs2)
	run readable "$SEQ_DB" "$SEQ_DB-wal"
	assert_output ""
}

# sendgrid and postmark take the job's headers as they are: the request
# bodies carry Message-ID, and a reply's In-Reply-To and References.
@test "thread: sendgrid and postmark requests carry Message-ID, and a reply's In-Reply-To, References and Re: subject" {
	thread_sequence t sales@example.com stop
	leads '{"external_id":"ann","email":"ann@example.com","first_name":"Ann"}'
	enroll t $T0 ann
	printf '%s' '{"To":"ann@example.com","SubmittedAt":"2026-11-23T10:00:00Z","MessageID":"b7bc2f4a-e38e-4336-af7d-e6c392c2f817","ErrorCode":0,"Message":"OK"}' > answer.json
	local sg pm d
	sg=$(capture_start sg --status 202 --header 'X-Message-Id: 14c5d75ce93.dfd.64b469')
	pm=$(capture_start pm --status 200 --body answer.json)
	sql ".backup twin.db"
	for d in 0 2 4; do
		seq-due --now "$(day $d)" > due.out
		SEQ_EMAIL_ADAPTER=sendgrid SENDGRID_API_KEY=SG.test SEQ_SENDGRID_URL=$sg \
			SEQ_EMAIL_FROM=team@example.net \
			seq-send --live --now "$(day $d)" < due.out | seq-log --now "$(day $d)" > /dev/null
		SEQ_DB=twin.db seq-due --now "$(day $d)" > due.out
		SEQ_DB=twin.db SEQ_EMAIL_ADAPTER=postmark POSTMARK_SERVER_TOKEN=pm-test SEQ_POSTMARK_URL=$pm \
			SEQ_EMAIL_FROM=team@example.net \
			seq-send --live --now "$(day $d)" < due.out | SEQ_DB=twin.db seq-log --now "$(day $d)" > /dev/null
	done
	assert_equal "$(captured_count sg)" 3
	assert_equal "$(captured_count pm)" 3
	local k1 k2 k3
	k1=$(key first) k2=$(key second) k3=$(key third)
	local want="Plans for Ann	<$k1@example.com>	-	-
Re: Plans for Ann	<$k2@example.com>	<$k1@example.com>	<$k1@example.com>
Re: Plans for Ann	<$k3@example.com>	<$k2@example.com>	<$k1@example.com> <$k2@example.com>"
	assert_equal "$(for n in 1 2 3; do jq -r '[.subject, .headers["Message-ID"],
		.headers["In-Reply-To"] // "-", .headers.References // "-"] | @tsv' sg/$n.body; done)" "$want"
	# the twin database made the same keys, so Postmark got the same
	assert_equal "$(for n in 1 2 3; do jq -r '(.Headers | map({(.Name): .Value}) | add) as $h |
		[.Subject, $h["Message-ID"], $h["In-Reply-To"] // "-", $h.References // "-"] | @tsv' pm/$n.body; done)" "$want"
}

@test "thread: SendGrid's spec lets a request set Message-ID, In-Reply-To and References" {
	need_shared specs
	# "You may not override the following headers: ..." in the
	# description of headers: none of them is one of ours
	run jq -r '[.. | objects | select(has("headers")) | .headers | objects |
		.description // empty | select(test("may not override"))] | first |
		[scan("`([^`]+)`") | .[0] | ascii_downcase] | .[]' "$SHARED/specs/sendgrid-mail-v3.json"
	assert_success
	assert_line to
	assert_line subject
	refute_line message-id
	refute_line in-reply-to
	refute_line references
}
