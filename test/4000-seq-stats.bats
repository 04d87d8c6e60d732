#!/usr/bin/env bats
# seq-stats: every funnel figure, rate, cost and ROI of a known history,
# made with the commands themselves: leads, a two-step sequence, cron ticks
# through the mock adapter, Postmark webhooks, conversions with values.

load test_helper

T0=2026-11-23T10:00:00Z

setup() {
	common_setup
	init_db
	export SEQ_NOW=$T0
	unset SEQ_PRICES SEQ_SPOOL
}

# pm FIXTURE LEAD STEP TIME: Postmark's webhook about the lead's sent
# attempt at STEP.
pm() {
	local key id msgid email
	IFS='|' read -r key id msgid email < <(sql "SELECT x.key, x.id,
		x.provider_id, l.email FROM sequence_executions x JOIN leads l ON
		l.id = x.lead_id WHERE l.external_id = '$2' AND x.step = '$3' AND
		x.state = 'sent' ORDER BY x.id DESC LIMIT 1")
	[ -n "$key" ] || { echo "pm: no sent $3 for $2" >&2; return 1; }
	sed -e "s/@KEY@/$key/g; s/@EXECID@/$id/g; s/@NUMID@/$id$RANDOM/g" \
		-e "s/@MSGID@/$msgid/g; s/@EMAIL@/$email/g; s/@TIME@/$4/g" \
		"$TOP/test/fixtures/$1" | jq -c .
}

# reply LEAD DATE: the lead's answer, by Postmark's inbound webhook.
reply() {
	jq -c --arg from "$1@example.com" --arg date "$2" --arg id "in-$1" \
		'.From = $from | .FromFull.Email = $from | .FromName = "R" |
		 .MessageID = $id | .Date = $date | .Headers = []' \
		"$TOP/test/fixtures/postmark-inbound.json"
}

# Six leads through "fun": an email, then an SMS.  fail@ fails at once
# (the enrollment fails), flaky@ is retried once, +1...0000 fails its SMS.
# Ann's SMS comes back with a price of its own, as Telnyx reports one.
history() {
	cat > fun.json <<'JSON'
{"name":"fun","steps":[{"id":"mail","type":"email","subject":"S","text":"T"},
 {"id":"text","type":"sms","text":"T"}]}
JSON
	seq-def fun.json > /dev/null
	leads '{"external_id":"ann","email":"ann@example.com","phone":"+14155550101"}' \
		'{"external_id":"bob","email":"bob@example.com","phone":"+14155550102"}' \
		'{"external_id":"cat","email":"cat@example.com","phone":"+14155550103"}' \
		'{"external_id":"dan","email":"dan@example.com","phone":"+14155550000"}' \
		'{"external_id":"eve","email":"fail@example.com","phone":"+14155550105"}' \
		'{"external_id":"fay","email":"flaky@example.com","phone":"+14155550106"}'
	enroll fun 2026-11-23T09:00:00Z ann bob cat dan eve fay
	local t
	for t in 2026-11-23T10:00:00Z 2026-11-23T11:00:00Z 2026-11-23T12:00:00Z 2026-11-23T13:00:00Z; do
		seq-due --now "$t" | seq-send --now "$t" |
			jq -c 'if .to == "+14155550101" then .cost = 0.0123 else . end' |
			seq-log --now "$t" > /dev/null
	done
	{
		pm postmark-delivery.json ann mail 2026-11-23T10:00:05Z
		pm postmark-delivery.json bob mail 2026-11-23T10:00:05Z
		pm postmark-delivery.json cat mail 2026-11-23T10:00:06Z
		pm postmark-open.json ann mail 2026-11-23T10:05:00Z
		pm postmark-open.json ann mail 2026-11-23T10:45:00Z
		pm postmark-open.json bob mail 2026-11-23T10:06:00Z
		pm postmark-click.json ann mail 2026-11-23T10:07:00Z
		pm postmark-bounce-hard.json cat mail 2026-11-23T10:01:00Z
	} > events.ndjson
	seq-event --from postmark < events.ndjson > /dev/null
	reply bob "Mon, 23 Nov 2026 12:00:00 +0000" | seq-event --from postmark-inbound > /dev/null
	reply ann "Mon, 23 Nov 2026 10:30:00 +0000" | seq-event --from postmark-inbound > /dev/null
	seq-enroll --convert --value 1200 --now 2026-11-24T09:00:00Z 1 > /dev/null
	seq-enroll --convert --value 300.5 --now 2026-11-24T09:00:00Z 2 > /dev/null
}

@test "the history is what the figures below assume" {
	history
	assert_equal "$(sql "SELECT l.external_id, x.step, x.state, x.cost FROM sequence_executions x
		JOIN leads l ON l.id = x.lead_id ORDER BY x.id")" "ann|mail|sent|
bob|mail|sent|
cat|mail|sent|
dan|mail|sent|
eve|mail|failed|
fay|mail|retry|
ann|text|sent|0.0123
bob|text|sent|
cat|text|sent|
dan|text|failed|
fay|mail|sent|
fay|text|sent|"
	assert_equal "$(sql "SELECT status, count(*) FROM enrollments GROUP BY 1 ORDER BY 1")" "completed|2
converted|2
failed|2"
}

@test "seq-stats: the funnel of a known history, every count, rate, reply time, cost and ROI exact" {
	history
	export SEQ_PRICES="email=0.001 sms=0.0079 sms/mock=0.005 voice=0.02"
	run -0 --separate-stderr seq-stats
	assert_equal "$stderr" ""
	assert_equal "${lines[0]}" '{"record":"sequence","sequence":"fun","version":1,"enrolled":6,"active":0,"paused":0,"completed":2,"exited":0,"failed":2,"cancelled":0,"converted":2,"revenue":1500.5,"cost":0.0323,"roi":46454.10836}'
	# mail: 5 sent (fay's second try), eve's failed, fay's first retried;
	# of the sends 3 delivered, 2 opened (ann twice), 1 clicked, 2 replied,
	# 1 bounced; ann and bob converted.  Replies after 30 min and 2 h.
	# Cost 5 x 0.001.
	assert_equal "${lines[1]}" '{"record":"step","sequence":"fun","version":1,"step":"mail","channel":"email","sent":5,"failed":1,"unknown":0,"retried":1,"skipped":0,"delivered":3,"opened":2,"clicked":1,"replied":2,"bounced":1,"opted_out":0,"complained":0,"answered":0,"converted":2,"rates":{"delivered":0.6,"opened":0.4,"clicked":0.2,"replied":0.4,"bounced":0.2,"opted_out":0.0,"complained":0.0,"answered":0.0,"converted":0.4},"reply_time_s":{"median":4500.0,"mean":4500.0},"cost":0.005}'
	# text: ann's with its own price, bob's, cat's and fay's at sms/mock,
	# dan's failed: 0.0123 + 3 x 0.005
	assert_equal "${lines[2]}" '{"record":"step","sequence":"fun","version":1,"step":"text","channel":"sms","sent":4,"failed":1,"unknown":0,"retried":0,"skipped":0,"delivered":0,"opened":0,"clicked":0,"replied":0,"bounced":0,"opted_out":0,"complained":0,"answered":0,"converted":2,"rates":{"delivered":0.0,"opened":0.0,"clicked":0.0,"replied":0.0,"bounced":0.0,"opted_out":0.0,"complained":0.0,"answered":0.0,"converted":0.5},"reply_time_s":null,"cost":0.0273}'
	assert_equal "${#lines[@]}" 3
}

@test "seq-stats --since and --until take the cohort enrolled in the range; --sequence one sequence" {
	history
	sql "UPDATE enrollments SET created_at = created_at + 86400 WHERE lead_id IN (1, 2)"
	run -0 --separate-stderr seq-stats --since 2026-11-24T00:00:00Z
	assert_equal "$(jq -r 'select(.record == "sequence") | [.enrolled, .converted, .revenue] | @tsv' <<< "$output")" "$(printf '2\t2\t1500.5')"
	assert_equal "$(jq -r 'select(.step == "mail") | [.sent, .opened, .replied] | @tsv' <<< "$output")" "$(printf '2\t2\t2')"
	run -0 --separate-stderr seq-stats --until 2026-11-24T00:00:00Z
	assert_equal "$(jq -r 'select(.record == "sequence") | [.enrolled, .converted, .failed] | @tsv' <<< "$output")" "$(printf '4\t0\t2')"
	run -0 --separate-stderr seq-stats --since 2026-12-01T00:00:00Z
	assert_output ""
	run -0 --separate-stderr seq-stats --sequence fun
	assert_equal "$(jq -s length <<< "$output")" 3
	run -1 --separate-stderr seq-stats --sequence nope
	assert_equal "$stderr" "seq-stats: no sequence 'nope'"
	assert_output ""
}

@test "seq-stats --table lines up the same figures" {
	history
	SEQ_PRICES="email=0.001 sms/mock=0.005" run -0 --separate-stderr seq-stats --table
	assert_equal "$output" "fun@1: 6 enrolled, 0 active, 2 completed, 2 converted; revenue 1500.50, cost 0.03, ROI 4645410.8%
  step  channel  sent  delivered   opened  clicked  replied  bounced  opted_out   failed  unknown  converted  cost
  mail  email       5    3 60.0%  2 40.0%  1 20.0%  2 40.0%  1 20.0%     0 0.0%  1 20.0%   0 0.0%    2 40.0%  0.01
  text  sms         4     0 0.0%   0 0.0%   0 0.0%   0 0.0%   0 0.0%     0 0.0%  1 25.0%   0 0.0%    2 50.0%  0.03"
}

@test "SEQ_PRICES that is not CHANNEL=PRICE words is refused; usage errors exit 2" {
	SEQ_PRICES="email=x" run -4 --separate-stderr seq-stats
	assert_equal "$stderr" "seq-stats: SEQ_PRICES: 'email=x' is not CHANNEL=PRICE or CHANNEL/ADAPTER=PRICE"
	SEQ_PRICES="sms" run -4 --separate-stderr seq-stats
	assert_equal "$stderr" "seq-stats: SEQ_PRICES: 'sms' is not CHANNEL=PRICE or CHANNEL/ADAPTER=PRICE"
	SEQ_PRICES="email=0.001 sms=inf" run -4 --separate-stderr seq-stats
	assert_equal "$stderr" "seq-stats: SEQ_PRICES: 'sms=inf' is not CHANNEL=PRICE or CHANNEL/ADAPTER=PRICE"
	run -2 --separate-stderr seq-stats --table --prom
	run -2 --separate-stderr seq-stats --prom --sequence fun
	run -2 --separate-stderr seq-stats --since yesterday
	assert_equal "$stderr" "seq-stats: --since: 'yesterday' is not an RFC 3339 time (like 2026-11-25T09:00:00Z)"
}

@test "funnels come in the order of sequence names, then versions, whatever order they were enrolled in" {
	history
	sed 's/"fun"/"alpha"/' fun.json > alpha.json
	seq-def alpha.json > /dev/null
	sed 's/"subject":"S"/"subject":"S2"/' fun.json > fun2.json
	seq-def fun2.json > /dev/null
	leads '{"external_id":"gil","email":"gil@example.com"}' '{"external_id":"hal","email":"hal@example.com"}'
	enroll fun 2026-11-24T09:00:00Z gil
	enroll alpha 2026-11-24T10:00:00Z hal
	run -0 --separate-stderr seq-stats
	assert_equal "$(jq -r 'select(.record == "sequence") | "\(.sequence)@\(.version) \(.enrolled)"' <<< "$output")" "alpha@1 1
fun@1 6
fun@2 1"
}

@test "an attempt whose outcome never came is counted as unknown against its adapter and channel, once" {
	one_email_world 3 2026-11-25T09:00:00Z
	# results lost between seq-send and seq-log: the attempts stay sending
	seq-due --now 2026-11-25T10:00:00Z | seq-send --now 2026-11-25T10:00:00Z > /dev/null
	seq-due --now 2026-11-25T11:00:00Z > /dev/null
	seq-due --now 2026-11-25T12:00:00Z > /dev/null
	assert_equal "$(sql "SELECT state, adapter, count(*) FROM sequence_executions GROUP BY 1, 2")" "unknown|mock|3"
	run -0 --separate-stderr seq-stats --prom --now 2026-11-25T12:00:00Z
	assert_equal "$(grep '^seqtools_sends_total' <<< "$output")" 'seqtools_sends_total{adapter="mock",channel="email",outcome="unknown"} 3'
	assert_equal "$(grep '^seqtools_unknown_steps' <<< "$output")" 'seqtools_unknown_steps 3'
	# settled, they stay counted as what they were when they were lost
	seq-log --settle 1 sent > /dev/null
	run -0 --separate-stderr seq-stats --prom --now 2026-11-25T12:00:00Z
	assert_equal "$(grep '^seqtools_unknown_steps' <<< "$output")" 'seqtools_unknown_steps 2'
	assert_equal "$(grep 'outcome="unknown"' <<< "$output")" 'seqtools_sends_total{adapter="mock",channel="email",outcome="unknown"} 3'
}
