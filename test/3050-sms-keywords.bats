#!/usr/bin/env bats
# SMS keywords: an inbound text that is one carrier keyword, in any case and
# with white space around it, changes the number's SMS consent (STOP and its
# kin opt out, START, YES and UNSTOP opt back in) or is recorded as a HELP;
# seq-due keeps to the consent; each is in the timeline, and each counts
# once however often Telnyx delivers it.  Any other text is a reply.

load test_helper

setup() {
	common_setup
	unset SEQ_SPOOL
	init_db
	FIX="$BATS_TEST_DIRNAME/fixtures"
	# 19:00 UTC is inside the default quiet hours (08:00-21:00) in every
	# zone of the US and Canada, and stays so for the hour a test runs on
	T0=2026-11-23T19:00:00Z
	seq-def > /dev/null <<-'JSON'
	{"name":"sk","steps":[
	 {"id":"t1","type":"sms","text":"one"},
	 {"id":"w1","type":"wait","duration":"1d"},
	 {"id":"t2","type":"sms","text":"two"},
	 {"id":"mail","type":"email","subject":"Mail","text":"by mail"},
	 {"id":"w2","type":"wait","duration":"1d"},
	 {"id":"t3","type":"sms","text":"three"}]}
	JSON
}

# at SECONDS: T0 plus SECONDS, RFC 3339
at() { TZ=UTC printf '%(%Y-%m-%dT%H:%M:%SZ)T\n' $(($(epoch "$T0") + $1)); }

# known: ID and PHONE map each lead's name to its id and number.
known() {
	local name id phone
	declare -gA ID PHONE
	while IFS='|' read -r name id phone; do
		ID[$name]=$id
		PHONE[$name]=$phone
	done < <(sql "SELECT external_id, id, phone FROM leads")
}

# world NAME...: a lead per name, with a phone and an email, enrolled in sk
# at T0; t1 goes out to each at T0.
world() {
	local n=0 name
	for name in "$@"; do
		printf '{"external_id":"%s","email":"%s@example.com","phone":"+1617555%04d","timezone":"America/New_York"}\n' \
			"$name" "$name" $((100 + n))
		n=$((n + 1))
	done | seq-lead > /dev/null
	known
	enroll sk "$T0" "$@"
	tick "$T0" > /dev/null
}

# day SECONDS: the cron ticks at T0 plus SECONDS and a minute later; an
# enrollment moves one message step a tick, so the email after t2 goes in
# the second
day() {
	tick "$(at "$1")" > /dev/null
	tick "$(at $(($1 + 60)))" > /dev/null
}

lead() { echo "${ID[$1]}"; }

# inbound EVENT_ID LEAD TIME TEXT: Telnyx's message.received webhook for a
# text from the lead's number, made from the fixture of a reply.
inbound() {
	jq -c --arg id "$1" --arg phone "${PHONE[$2]}" --arg time "$3" --arg text "$4" '
		walk(if type == "string" then gsub("@EVID@"; $id) | gsub("@TIME@"; $time)
			| gsub("@PHONE@"; $phone) | gsub("@MSGID@"; "msg-" + $id) else . end)
		| .data.payload.text = $text
		| if tojson | test("@[A-Z_]+@") then error("unfilled") else . end' \
		"$FIX/telnyx-message.received-reply.json"
}

# variants WORD: the word as texted in four ways, one per line, NUL-ended:
# lower case; upper case with spaces around; capitalised with a newline
# and a tab around; alternating case with CRLF and spaces around.
variants() {
	local w=$1 lo=${1,,} alt='' c i
	for ((i = 0; i < ${#lo}; i++)); do
		c=${lo:i:1}
		if ((i % 2)); then alt+=$c; else alt+=${c^^}; fi
	done
	printf '%s\0' "$lo" "  ${w^^}   " $'\n'"${lo^}"$'\t' $'\r\n '"$alt"$' \r\n'
}

# steps: a line per lead, its name and its steps from t2 on, each as
# step|state|reason, in order.  steps_of LEAD: the lead's line without its
# name.
steps() {
	sql "SELECT l.external_id || ' ' || coalesce((SELECT group_concat(s, ' ') FROM
		    (SELECT x.step || '|' || x.state || '|' || coalesce(x.error, '') AS s
		     FROM sequence_executions x WHERE x.lead_id = l.id AND x.step != 't1'
		     ORDER BY x.id)), '')
		FROM leads l ORDER BY l.id"
}
steps_of() { steps | sed -n "s/^$1 //p"; }

# consent: a line per lead, its name and each of its consent rows, oldest
# first, as channel|state|source|E|time, where E is 1 when the evidence
# names an event of the lead's of that source.  consent_of LEAD: the
# lead's line without its name.
consent() {
	sql "SELECT l.external_id || ' ' || coalesce((SELECT group_concat(s, ' ') FROM
		    (SELECT c.channel || '|' || c.state || '|' || c.source || '|' ||
		     EXISTS (SELECT 1 FROM events v WHERE c.evidence = 'event ' || v.id
		         AND v.lead_id = c.lead_id AND c.source = v.provider || ':' || v.type)
		     || '|' || $(iso c.at) AS s
		     FROM consent c WHERE c.lead_id = l.id ORDER BY c.id)), '')
		FROM leads l ORDER BY l.id"
}
consent_of() { consent | sed -n "s/^$1 //p"; }

# each FORMAT NAME...: FORMAT filled with each name in turn, a line each;
# %s is the name.
each() {
	local f=$1 n
	shift
	for n in "$@"; do
		printf "$f\n" "$n"
	done
}

@test "each stop word, in any case and with white space around it, opts the number out of SMS only; seq-due skips its next SMS step" {
	local w v names=() texts=() i=0
	for w in STOP STOPALL UNSUBSCRIBE CANCEL END QUIT; do
		while IFS= read -r -d '' v; do
			names+=("s$i")
			texts+=("$v")
			i=$((i + 1))
		done < <(variants "$w")
	done
	assert_equal "${#names[@]}" 24
	world "${names[@]}" control
	for ((i = 0; i < ${#names[@]}; i++)); do
		inbound "ev-stop-$i" "${names[i]}" "$(at 3600)" "${texts[i]}"
	done > in.ndjson
	inbound ev-control control "$(at 3600)" "Thanks, got it" >> in.ndjson

	run --separate-stderr seq-event --from telnyx --now "$(at 3700)" < in.ndjson
	assert_success
	assert_equal "$stderr" ""
	# the words as they were sent, and each an unsubscribe on sms
	assert_equal "$(jq -r '[.type, .channel, .details.keyword // "-"] | @tsv' <<< "$output" | sort | uniq -c |
		awk '{ print $1, $2, $3, $4 }')" \
		"1 reply sms -
4 unsubscribe sms CANCEL
4 unsubscribe sms END
4 unsubscribe sms QUIT
4 unsubscribe sms STOP
4 unsubscribe sms STOPALL
4 unsubscribe sms UNSUBSCRIBE"
	# the text as it came, white space and all
	assert_equal "$(jq -c .details.text <<< "$output" | head -4)" \
		"$(for v in "${texts[@]:0:4}"; do jq -nc --arg v "$v" '$v'; done)"
	assert_equal "$(consent)" \
		"$(each "%s sms|opt-out|telnyx:unsubscribe|1|$(at 3600)" "${names[@]}"; echo 'control ')"

	# a day after t1: t2 is skipped for them all, and their email goes
	day 86400
	assert_equal "$(steps)" \
		"$(each '%s t2|skipped|opted out of sms mail|sent|' "${names[@]}"; echo 'control t2|sent| mail|sent|')"
}

@test "START, YES and UNSTOP, in any case, opt the number back in: after a STOP the SMS step is skipped, after the START the next one is claimed" {
	local w v names=() texts=() i=0 n
	for w in START YES UNSTOP; do
		while IFS= read -r -d '' v; do
			names+=("r$i")
			texts+=("$v")
			i=$((i + 1))
		done < <(variants "$w")
	done
	world "${names[@]}" stays-out
	for n in "${names[@]}" stays-out; do
		inbound "ev-stop-$n" "$n" "$(at 3600)" STOP
	done | seq-event --from telnyx --now "$(at 3600)" > /dev/null
	day 86400
	assert_equal "$(steps)" "$(each '%s t2|skipped|opted out of sms mail|sent|' "${names[@]}" stays-out)"

	for ((i = 0; i < ${#names[@]}; i++)); do
		inbound "ev-start-$i" "${names[i]}" "$(at 90000)" "${texts[i]}"
	done > in.ndjson
	run --separate-stderr seq-event --from telnyx --now "$(at 90000)" < in.ndjson
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(jq -r '[.type, .channel, .details.keyword] | @tsv' <<< "$output" | sort | uniq -c |
		awk '{ print $1, $2, $3, $4 }')" \
		"4 resubscribe sms START
4 resubscribe sms UNSTOP
4 resubscribe sms YES"
	assert_equal "$(consent)" \
		"$(each "%s sms|opt-out|telnyx:unsubscribe|1|$(at 3600) sms|opt-in|telnyx:resubscribe|1|$(at 90000)" "${names[@]}"
		echo "stays-out sms|opt-out|telnyx:unsubscribe|1|$(at 3600)")"

	# a day after the mail: t3 is claimed for each that came back, and
	# skipped for the one that did not
	run --separate-stderr seq-due --now "$(at 173000)"
	assert_success
	assert_equal "$(jq -r 'select(.step == "t3") | [.channel, .to] | @tsv' <<< "$output" | sort)" \
		"$(for n in "${names[@]}"; do printf 'sms\t%s\n' "${PHONE[$n]}"; done | sort)"
	assert_equal "$(steps)" \
		"$(each '%s t2|skipped|opted out of sms mail|sent| t3|claimed|' "${names[@]}"
		echo 'stays-out t2|skipped|opted out of sms mail|sent| t3|skipped|opted out of sms')"
	# the email consent was never touched
	assert_equal "$(sql "SELECT count(*) FROM consent WHERE channel != 'sms'")" 0
}

@test "HELP, in any case, is recorded as a help event and changes no consent; other texts are replies" {
	local v names=() texts=() i=0 n
	while IFS= read -r -d '' v; do
		names+=("h$i")
		texts+=("$v")
		i=$((i + 1))
	done < <(variants HELP)
	# texts that only look like keywords
	local others=("STOP please" stopp "" "START now" "help me" "YES!" "STOP STOP" "UN STOP")
	for ((i = 0; i < ${#others[@]}; i++)); do
		names+=("o$i")
		texts+=("${others[i]}")
	done
	world "${names[@]}"
	for ((i = 0; i < ${#names[@]}; i++)); do
		inbound "ev-$i" "${names[i]}" "$(at 3600)" "${texts[i]}"
	done > in.ndjson
	run --separate-stderr seq-event --from telnyx --now "$(at 3600)" < in.ndjson
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(jq -c '[.lead_id, .type, .channel, .details.keyword, .details.text]' <<< "$output")" \
		"$(for ((i = 0; i < ${#names[@]}; i++)); do
			if ((i < 4)); then t=help k='"HELP"'; else t=reply k=null; fi
			jq -nc --argjson id "$(lead "${names[i]}")" --arg t "$t" --argjson k "$k" --arg text "${texts[i]}" \
				'[$id, $t, "sms", $k, $text]'
		done)"
	assert_equal "$(sql "SELECT count(*) FROM consent")" 0
	# a reply is put with the last text sent; a HELP is about no message
	assert_equal "$(sql "SELECT v.type, count(*), count(v.execution_id) FROM events v GROUP BY v.type ORDER BY 1")" \
		"help|4|0
reply|8|8"
	day 86400
	assert_equal "$(steps)" "$(each '%s t2|sent| mail|sent|' "${names[@]}")"
}

@test "the timeline shows the STOP, the HELP, the START and a reply, newest first, on channel sms" {
	world ann bob
	{
		inbound ev-a1 ann "$(at 600)" " Stop"
		inbound ev-a2 ann "$(at 1200)" help
		inbound ev-a3 ann "$(at 1800)" $'UNSTOP\n'
		inbound ev-a4 ann "$(at 2400)" "ok, thanks"
		inbound ev-b1 bob "$(at 700)" HELP
	} | seq-event --from telnyx --now "$(at 3000)" > /dev/null
	run --separate-stderr seq-timeline --lead "$(lead ann)" --kind event
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(jq -r '[.at, .kind, .what, .channel, .details.provider, .details.provider_event_id,
		.details.details.keyword // "-"] | @tsv' <<< "$output")" \
		"$(printf '%s\tevent\t%s\tsms\ttelnyx\t%s\t%s\n' \
			"$(at 2400)" reply ev-a4 - \
			"$(at 1800)" resubscribe ev-a3 UNSTOP \
			"$(at 1200)" help ev-a2 HELP \
			"$(at 600)" unsubscribe ev-a1 STOP)"
	# with --channel sms: the same events, the consent they changed, and
	# the text that went
	run --separate-stderr seq-timeline --lead "$(lead ann)" --channel sms
	assert_success
	assert_equal "$(jq -r 'select(.kind == "event") | .what' <<< "$output" | paste -sd' ' -)" \
		"reply resubscribe help unsubscribe"
	assert_equal "$(jq -r 'select(.kind == "consent") | [.at, .what, .details.source] | @tsv' <<< "$output")" \
		"$(printf '%s\t%s\t%s\n' "$(at 1800)" opt-in telnyx:resubscribe "$(at 600)" opt-out telnyx:unsubscribe)"
	assert_equal "$(jq -r 'select(.kind == "step") | [.at, .what, .step] | @tsv' <<< "$output")" \
		"$(printf '%s\tsent\tt1' "$T0")"
	run --separate-stderr seq-timeline --lead "$(lead bob)" --kind event
	assert_success
	assert_equal "$(jq -r '[.what, .details.details.keyword] | @tsv' <<< "$output")" "$(printf 'help\tHELP')"
}

# Counts of what a keyword touches: events, consent rows, exits.
effects() {
	sql "SELECT (SELECT count(*) FROM events) || ' ' || (SELECT count(*) FROM consent)
		|| ' ' || (SELECT count(*) FROM enrollment_changes WHERE status = 'exited')"
}

@test "redelivery: each keyword event posted again, with --from and through the spool, changes nothing" {
	world ann bob cat
	{
		inbound ev-1 ann "$(at 600)" STOP
		inbound ev-2 ann "$(at 1200)" START
		inbound ev-3 ann "$(at 1800)" HELP
		inbound ev-4 bob "$(at 600)" quit
		inbound ev-5 cat "$(at 600)" end
		inbound ev-6 cat "$(at 1200)" yes
	} > all.ndjson
	run --separate-stderr seq-event --from telnyx --now "$(at 2000)" < all.ndjson
	assert_success
	assert_equal "$(jq -r .type <<< "$output" | paste -sd' ' -)" \
		"unsubscribe resubscribe help unsubscribe unsubscribe resubscribe"
	assert_equal "$(effects)" "6 5 0"
	sql .dump > once.sql

	# all again, in one run, in reverse, and one by one: the STOPs after
	# the STARTs must not opt the numbers out again
	run --separate-stderr seq-event --from telnyx --now "$(at 2100)" < all.ndjson
	assert_success
	assert_output ""
	tac all.ndjson > reversed.ndjson
	run --separate-stderr seq-event --from telnyx --now "$(at 2200)" < reversed.ndjson
	assert_success
	assert_output ""
	local line i=0
	while IFS= read -r line; do
		i=$((i + 1))
		run --separate-stderr seq-event --from telnyx --now "$(at $((2300 + i)))" <<< "$line"
		assert_success
		assert_output ""
	done < all.ndjson
	# and through the spool, as seq-hook leaves each post
	mkdir -p sp/new
	i=0
	while IFS= read -r line; do
		i=$((i + 1))
		{
			printf '{"provider":"telnyx","received_at":%d,"content_type":"application/json","query":null}\n' \
				"$(epoch "$(at 2400)")"
			printf '%s\n' "$line"
		} > "sp/new/$(epoch "$(at 2400)").00000$i.$$.000000000000000$i.telnyx"
	done < all.ndjson
	run --separate-stderr seq-event --spool sp --now "$(at 2500)"
	assert_success
	assert_output ""
	assert_equal "$stderr" ""
	assert_equal "$(ls sp/new)" ""
	assert_equal "$(effects)" "6 5 0"
	sql .dump > again.sql
	assert_equal "$(cat again.sql)" "$(cat once.sql)"
	assert_equal "$(consent_of ann)" \
		"sms|opt-out|telnyx:unsubscribe|1|$(at 600) sms|opt-in|telnyx:resubscribe|1|$(at 1200)"
	assert_equal "$(consent_of bob)" "sms|opt-out|telnyx:unsubscribe|1|$(at 600)"
	# ann and cat are in again, bob is out
	day 86400
	assert_equal "$(steps_of ann) / $(steps_of bob) / $(steps_of cat)" \
		"t2|sent| mail|sent| / t2|skipped|opted out of sms mail|sent| / t2|sent| mail|sent|"
}

@test "a START older than the number's last STOP, delivered late, is recorded and does not opt it back in" {
	world ann
	inbound ev-stop ann "$(at 1200)" STOP | seq-event --from telnyx --now "$(at 1200)" > /dev/null
	# Telnyx retried a START sent before the STOP
	run --separate-stderr seq-event --from telnyx --now "$(at 1300)" < <(inbound ev-start ann "$(at 600)" START)
	assert_success
	assert_equal "$(jq -r .type <<< "$output")" resubscribe
	assert_equal "$(consent_of ann)" "sms|opt-out|telnyx:unsubscribe|1|$(at 1200)"
	day 86400
	assert_equal "$(steps_of ann)" "t2|skipped|opted out of sms mail|sent|"
	# a START after it does
	inbound ev-start2 ann "$(at 90000)" Start | seq-event --from telnyx --now "$(at 90000)" > /dev/null
	assert_equal "$(sql "SELECT state FROM consent ORDER BY id DESC LIMIT 1")" opt-in
}

@test "a sequence may name resubscribe and help: exit_on help ends the enrollment when HELP comes" {
	seq-def > /dev/null <<-'JSON'
	{"name":"hx","exit_on":["help","resubscribe"],"steps":[
	 {"id":"t","type":"sms","text":"one"},
	 {"id":"w","type":"wait","duration":"1d"},
	 {"id":"t2","type":"sms","text":"two"}]}
	JSON
	leads '{"external_id":"ann","phone":"+16175550100","timezone":"America/New_York"}' \
		'{"external_id":"bob","phone":"+16175550101","timezone":"America/New_York"}'
	known
	enroll hx "$T0" ann bob
	tick "$T0" > /dev/null
	inbound ev-h ann "$(at 600)" HELP | seq-event --from telnyx --now "$(at 600)" > /dev/null
	assert_equal "$(sql "SELECT l.external_id, e.status, coalesce(c.reason, '') FROM enrollments e
		JOIN leads l ON l.id = e.lead_id
		LEFT JOIN enrollment_changes c ON c.enrollment_id = e.id AND c.status = 'exited' ORDER BY e.id")" \
		"ann|exited|help received (event 1)
bob|active|"
	run -1 --separate-stderr seq-def --check <<< '{"name":"bad","exit_on":["HELP"],"steps":[{"id":"t","type":"sms","text":"x"}]}'
	assert_equal "$stderr" "seq-def: stdin: \$.exit_on[0]: unknown event type
seq-def: stdin: 1 problem; nothing stored"
}

@test "a STOP speaks for its number: every lead with that number is opted out, and a START opts each back in" {
	world ann
	# a second lead imported with ann's number (a colleague's record that
	# shares a switchboard number, say)
	printf '{"external_id":"ann2","email":"ann2@example.com","phone":"%s"}\n' "${PHONE[ann]}" | seq-lead > /dev/null
	known
	inbound stop-shared ann "$(at 600)" STOP | seq-event --from telnyx --now "$(at 600)" > /dev/null
	assert_equal "$(sql "SELECT l.external_id, k.state, k.source FROM consent k JOIN leads l ON l.id = k.lead_id ORDER BY k.id")" \
		"ann|opt-out|telnyx:unsubscribe
ann2|opt-out|telnyx:unsubscribe"
	inbound start-shared ann "$(at 700)" START | seq-event --from telnyx --now "$(at 700)" > /dev/null
	assert_equal "$(sql "SELECT l.external_id, k.state FROM consent k JOIN leads l ON l.id = k.lead_id WHERE k.state = 'opt-in' ORDER BY k.id")" \
		"ann|opt-in
ann2|opt-in"
	# an email unsubscribe stays the lead's own
	assert_equal "$(sql "SELECT count(*) FROM consent WHERE channel <> 'sms'")" 0
}
