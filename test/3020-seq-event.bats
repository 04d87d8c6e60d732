#!/usr/bin/env bats
# seq-event: provider webhooks, shaped as the providers document them
# (fixtures/, templates with @NAME@ placeholders), become normalised events
# that find their attempt and lead, and drive branches, exits, opt-outs,
# suppressions and the timeline; each once, however often it is delivered.
# Bodies that are not JSON never reach the database.

load test_helper

setup() {
	common_setup
	unset SEQ_SPOOL SEQ_SENDGRID_WEBHOOK_KEY SEQ_TELNYX_PUBLIC_KEY \
		SEQ_POSTMARK_WEBHOOK_USER SEQ_POSTMARK_WEBHOOK_PASSWORD \
		SEQ_WEBHOOK_TOLERANCE SEQ_WEBHOOK_MAX_BYTES
	init_db
	FIX="$BATS_TEST_DIRNAME/fixtures"
	T0=2026-11-23T10:00:00Z
	E0=$(epoch "$T0")
}

# ---- payloads ----

# fill TEMPLATE ARG...: the template filled in.  Each ARG is NAME=TEXT,
# NAME:=JSON or a JSON object of names and values; later ones win.  In a
# .json template a string that is exactly @NAME@ becomes the value, typed
# (so "@TS@" can be a number), and @NAME@ inside a longer string is
# replaced by the text; the result is one line.  Any other template is text,
# given CRLF line ends as multipart/form-data has on the wire (the file
# keeps LF, so that no editor or checkout changes it).  @CLIENT_STATE@ is
# base64 of @KEY@ unless given, as the Telnyx adapter sends it; @NUMID@ (a
# Postmark bounce's ID) is a number made from @EVID@ unless given.  A
# placeholder left over is an error: no test sends a half-filled template.
fill() {
	local f=$1
	shift
	if [[ $f == *.json ]]; then
		jq -j --arg mode json --args "$FILL" "$@" < "$f"
	else
		jq -j -R -s --arg mode text --args "$FILL" "$@" < "$f"
	fi
}
FILL='
	(reduce $ARGS.positional[] as $a ({};
		if $a | startswith("{") then . + ($a | fromjson | with_entries(.key |= "@\(.)@"))
		else ($a | capture("^(?<k>[A-Z_]+)(?<op>:?=)(?<v>.*)$")) as $c
			| .["@\($c.k)@"] = (if $c.op == ":=" then $c.v | fromjson else $c.v end)
		end)
	 | if has("@CLIENT_STATE@") or (has("@KEY@") | not) then .
	   else .["@CLIENT_STATE@"] = (.["@KEY@"] | @base64) end
	 | if has("@NUMID@") or (has("@EVID@") | not) then .
	   else .["@NUMID@"] = reduce (.["@EVID@"] | explode[]) as $c (7; (. * 31 + $c) % 1000000007) end) as $v
	| def subst: reduce ($v | to_entries[]) as $e (.; gsub($e.key; $e.value | tostring));
	if $mode == "text" then subst | gsub("\n"; "\r\n")
	else walk(if type == "string" then (. as $s | if $v | has($s) then $v[$s] else subst end)
		else . end) | tojson + "\n"
	end
	| if test("@[A-Z_]+@") then error("unfilled: \(match("@[A-Z_]+@").string)") else . end'

# vars LEAD STEP TIME [TAG]: the placeholders of an event about the lead's
# last sent attempt at STEP, happening at TIME (UTC, RFC 3339), as JSON.
# The provider's event id (@EVID@) is made of the attempt, the time and
# TAG, so that two kinds of event at one moment stay two.  It waits for a
# lock: a payload is often made while seq-event, at the other end of the
# pipe, opens the database.
vars() {
	sqlite3 -batch -noheader -cmd '.timeout 20000' "$SEQ_DB" "SELECT json_object('KEY', x.key, 'EXECID', CAST(x.id AS TEXT),
		'MSGID', x.provider_id, 'EMAIL', l.email, 'PHONE', coalesce(l.phone, ''),
		'FROM_NAME', coalesce(l.first_name, 'Some One'), 'TIME', t.v,
		'TS', CAST(strftime('%s', t.v) AS INTEGER),
		'DATE', substr('SunMonTueWedThuFriSat', 1 + 3 * strftime('%w', t.v), 3)
		    || strftime(', %d ', t.v)
		    || substr('JanFebMarAprMayJunJulAugSepOctNovDec', 3 * strftime('%m', t.v) - 2, 3)
		    || strftime(' %Y %H:%M:%S +0000', t.v),
		'EVID', 'ev-' || x.id || '-' || strftime('%s', t.v) || '${4:+-}${4:-}',
		'IN_REPLY_TO', '<' || x.key || '@seq.example.com>',
		'REFERENCES', '<' || x.key || '@seq.example.com>')
		FROM (SELECT '$3' AS v) t, sequence_executions x JOIN leads l ON l.id = x.lead_id
		WHERE l.external_id = '$1' AND x.step = '$2' AND x.state = 'sent'
		ORDER BY x.id DESC LIMIT 1"
}

# payload FIXTURE LEAD STEP TIME [ARG...]: the provider's webhook body about
# that attempt; ARGs as for fill.
payload() {
	local fix=$1 v
	v=$(vars "$2" "$3" "$4" "${fix%.json}")
	if [ -z "$v" ]; then
		echo "payload: no sent $3 for $2" >&2
		return 1
	fi
	shift 4
	fill "$FIX/$fix" "$v" "$@"
}

# form LEAD STEP TIME [--no-thread] [ARG...]: SendGrid Inbound Parse's form
# for the lead's reply to its last sent STEP.  --no-thread leaves out
# In-Reply-To and References, as some mail clients do.
form() {
	local v tpl="$FIX/sendgrid-inbound.multipart"
	v=$(vars "$1" "$2" "$3")
	if [ -z "$v" ]; then
		echo "form: no sent $2 for $1" >&2
		return 1
	fi
	shift 3
	if [ "${1:-}" = --no-thread ]; then
		shift
		[ -e nothread.multipart ] ||
			grep -v -e '^In-Reply-To: ' -e '^References: ' "$tpl" > nothread.multipart
		tpl=nothread.multipart
	fi
	fill "$tpl" "$v" MSGID="CAreply$RANDOM$RANDOM" "$@"
}

FORM_TYPE='multipart/form-data; boundary=xYzZY'

# spool DIR PROVIDER TIME CONTENT_TYPE < BODY: the file seq-hook would leave
# in DIR/new for that post: its meta line, then the body as it came.  Names
# sort in the order of the calls, as seq-hook's do.
spool() {
	local n=0 at name
	[ ! -e spool.count ] || read -r n < spool.count
	n=$((n + 1))
	echo "$n" > spool.count
	[ -d "$1/new" ] || mkdir -p "$1/new"
	at=$(epoch "$3")
	printf -v name '%d.%06d.%d.%016x.%s' "$at" "$n" $$ "$n" "$2"
	{
		printf '{"provider":"%s","received_at":%d,"content_type":"%s","query":null}\n' \
			"$2" "$at" "$4"
		cat
	} > "$1/new/$name"
}

# ---- worlds ----

# plus TIME SECONDS, without a date(1) for T0
plus() {
	local e=$E0
	[ "$1" = "$T0" ] || e=$(epoch "$1")
	TZ=UTC printf '%(%Y-%m-%dT%H:%M:%SZ)T\n' $((e + $2))
}

# One cron tick.  An email's provider id is made to look like SendGrid's
# X-Message-Id, which has no dot (sg_message_id is it, a dot and a suffix);
# the mock's "mock-" plus the key has the key's dots.
round() {
	seq-due --now "$1" | seq-send --now "$1" |
		jq -c 'if .channel == "email" and .provider_id
			then .provider_id = (.key | @base64 | gsub("[+/=]"; "")) else . end' |
		seq-log --now "$1" > /dev/null
}

# Delivers and logs the jobs in $output at time $1.
deliver() { seq-send --now "$1" <<< "$output" | seq-log --now "$1" > /dev/null; }

# The leads and steps of the jobs in $output, sorted: "external_id step".
jobs_by_lead() {
	local ids
	ids=$(jq -r .execution_id <<< "$output" | paste -sd, -)
	sql "SELECT l.external_id || ' ' || x.step FROM sequence_executions x
		JOIN leads l ON l.id = x.lead_id WHERE x.id IN (${ids:-0}) ORDER BY 1"
}

# id of the lead's last attempt at STEP (sent or not): exe LEAD STEP
exe() {
	sql "SELECT x.id FROM sequence_executions x JOIN leads l ON l.id = x.lead_id
		WHERE l.external_id = '$1' AND x.step = '$2' ORDER BY x.id DESC LIMIT 1"
}
lead() { sql "SELECT id FROM leads WHERE external_id = '$1'"; }

# leads_for NAME...: a lead per name, NAME@example.com and a number of its
# own (a shared one would make the lead a duplicate and an SMS ambiguous).
leads_for() {
	local n i=0
	[ ! -e phones.count ] || read -r i < phones.count
	for n; do
		i=$((i + 1))
		printf '{"external_id":"%s","email":"%s@example.com","phone":"+1312555%04d","first_name":"%s"}\n' \
			"$n" "$n" $((2000 + i)) "$n"
	done > leads.ndjson
	echo "$i" > phones.count
	seq-lead < leads.ndjson > /dev/null
}

# ann and bob, enrolled at T0 in "multi" (an email, an SMS, a call), each
# step sent in its own tick: at T0, T0+1m and T0+2m.  KEY and PID map an
# execution id to its key and provider id.
multi_world() {
	seq-def > /dev/null <<-'JSON'
	{"name":"multi","steps":[
	 {"id":"hello","type":"email","subject":"Hello","text":"hello"},
	 {"id":"text","type":"sms","text":"hello by text"},
	 {"id":"call","type":"voice","say":"hello"}]}
	JSON
	leads '{"external_id":"ann","email":"ann@example.com","phone":"+13125550142","first_name":"Ann"}' \
		'{"external_id":"bob","email":"bob@example.com","phone":"+13125550143","first_name":"Bob"}'
	enroll multi "$T0" ann bob
	round "$T0"
	round "$(plus "$T0" 60)"
	round "$(plus "$T0" 120)"
	local step id lead k p n=0 names=(A_MAIL A_TEXT A_CALL B_MAIL B_TEXT B_CALL) \
		steps=(hello text call hello text call)
	declare -gA KEY PID
	while IFS='|' read -r step id lead k p; do
		[ "$step" = "${steps[n]}" ] || fail "multi_world: $step sent where ${steps[n]} was due"
		printf -v "${names[n]}" %s "$id"
		KEY[$id]=$k PID[$id]=$p
		[ $n != 0 ] || ANN=$lead
		[ $n != 3 ] || BOB=$lead
		n=$((n + 1))
	done < <(sql "SELECT step, id, lead_id, key, provider_id FROM sequence_executions
		WHERE state = 'sent' ORDER BY lead_id, id")
	assert_equal "$n" 6
}

# row FIELD...: one tab-separated line
row() {
	local IFS=$'\t'
	echo "$*"
}

# What the records say, one line each: type channel at execution lead
# key message-id hard.
REC='[.type, .channel, .at, .execution_id // "-", .lead_id // "-",
	.execution_key // "-", .provider_message_id // "-",
	(.details.hard | if . == null then "-" else tostring end)] | @tsv'

# ---- the fixtures themselves ----

@test "fixtures: every template is JSON or a form, and filling one leaves no placeholder" {
	multi_world
	local f n=0 v
	jq -e . "$FIX"/*.json > /dev/null
	v=$(vars ann hello "$T0")
	for f in "$FIX"/*.json; do
		fill "$f" "$v" || fail "${f##*/}: filling failed"
		n=$((n + 1))
	done > filled.ndjson
	assert_equal "$n" 26
	assert_equal "$(jq -c 'type' filled.ndjson | sort | uniq -c | awk '{ print $1, $2 }')" '11 "array"
15 "object"'
	form ann hello "$T0" > filled.form
	run grep -c $'\r$' filled.form
	assert_equal "$output" "$(wc -l < "$FIX/sendgrid-inbound.multipart")"
	# a template with a name no one fills is refused, not sent
	jq '.[0].extra = "@NOBODY@"' "$FIX/sendgrid-open.json" > odd.json
	run -0 fill "$FIX/sendgrid-open.json" "$v"
	run -5 fill odd.json "$v"
	assert_output --partial '@NOBODY@'
}

# ---- each provider's events, normalised ----

@test "SendGrid: every Event Webhook event type becomes its event, found by seq_key, by sg_message_id or by address" {
	multi_world
	nokey='map(del(.seq_key, .seq_execution_id))'
	# one post of three events, as SendGrid batches them; processed and
	# deferred say nothing about the lead
	payload sendgrid-processed.json ann hello 2026-11-23T10:00:05Z > batch.json
	payload sendgrid-deferred.json ann hello 2026-11-23T10:01:00Z >> batch.json
	payload sendgrid-delivered.json ann hello 2026-11-23T10:02:00Z >> batch.json
	{
		jq -cs add batch.json
		payload sendgrid-open.json ann hello 2026-11-23T10:05:00Z
		payload sendgrid-click.json ann hello 2026-11-23T10:06:00Z
		payload sendgrid-bounce.json bob hello 2026-11-23T10:07:00Z | jq -c "$nokey"
		payload sendgrid-blocked.json ann hello 2026-11-23T10:08:00Z
		payload sendgrid-dropped.json ann hello 2026-11-23T10:09:00Z
		payload sendgrid-spamreport.json ann hello 2026-11-23T10:10:00Z
		payload sendgrid-unsubscribe.json bob hello 2026-11-23T10:11:00Z | jq -c "$nokey"
		payload sendgrid-group_unsubscribe.json ann hello 2026-11-23T10:12:00Z
		# neither a key nor a message id of ours: the address names the lead
		payload sendgrid-open.json bob hello 2026-11-23T10:13:00Z MSGID=W86EgYT6SQKk0lRflfLRsA |
			jq -c "$nokey"
	} > in.ndjson
	assert_equal "$(wc -l < in.ndjson)" 10
	run --separate-stderr seq-event --from sendgrid --now 2026-11-23T10:15:00Z < in.ndjson
	assert_success
	assert_equal "$stderr" ""
	KA=${KEY[$A_MAIL]} PA=${PID[$A_MAIL]} PB=${PID[$B_MAIL]}
	assert_equal "$(jq -r "$REC" <<< "$output")" "$(row delivered email 2026-11-23T10:02:00Z "$A_MAIL" "$ANN" "$KA" "$PA" -
		row open email 2026-11-23T10:05:00Z "$A_MAIL" "$ANN" "$KA" "$PA" -
		row click email 2026-11-23T10:06:00Z "$A_MAIL" "$ANN" "$KA" "$PA" -
		row bounce email 2026-11-23T10:07:00Z "$B_MAIL" "$BOB" - "$PB" true
		row bounce email 2026-11-23T10:08:00Z "$A_MAIL" "$ANN" "$KA" "$PA" false
		row bounce email 2026-11-23T10:09:00Z "$A_MAIL" "$ANN" "$KA" "$PA" false
		row complaint email 2026-11-23T10:10:00Z "$A_MAIL" "$ANN" "$KA" "$PA" -
		row unsubscribe email 2026-11-23T10:11:00Z "$B_MAIL" "$BOB" - "$PB" -
		row unsubscribe email 2026-11-23T10:12:00Z "$A_MAIL" "$ANN" "$KA" "$PA" -
		row open email 2026-11-23T10:13:00Z - "$BOB" - W86EgYT6SQKk0lRflfLRsA -)"
	# SendGrid's own names, and what each said, are kept
	assert_equal "$(jq -r '[.details.event, .details.type // "-", .details.url // "-",
		.details.reason // "-"] | @tsv' <<< "$output")" "$(printf '%s\n' \
		$'delivered\t-\t-\t-' $'open\t-\t-\t-' \
		$'click\t-\thttps://www.example.com/pricing?utm_source=seq\t-' \
		$'bounce\tbounce\t-\t550 5.1.1 The email account that you tried to reach does not exist' \
		$'bounce\tblocked\t-\t554 5.7.1 Service unavailable; client host blocked using a reputation list' \
		$'dropped\t-\t-\tBounced Address' $'spamreport\t-\t-\t-' $'unsubscribe\t-\t-\t-' \
		$'group_unsubscribe\t-\thttps://u1234567.ct.sendgrid.net/asm/unsubscribe/?user_id=1234567\t-' \
		$'open\t-\t-\t-')"
	# the event id is SendGrid's sg_event_id, and the records are the rows
	assert_equal "$(jq -r .provider_event_id <<< "$output" | sed -n 2p)" \
		"$(jq -r '.[0].sg_event_id' < <(sed -n 2p in.ndjson))"
	assert_equal "$(sql "SELECT count(*), count(DISTINCT provider_event_id) FROM events WHERE provider = 'sendgrid'")" "10|10"
	assert_equal "$(sql "SELECT id, type, $(iso at), coalesce(execution_id, '-'), lead_id FROM events ORDER BY id")" \
		"$(jq -r '[.id, .type, .at, .execution_id // "-", .lead_id] | map(tostring) | join("|")' <<< "$output")"
}

@test "Postmark: Delivery, Bounce (hard and soft), SpamComplaint, Open, Click and SubscriptionChange become events at their own times" {
	multi_world
	nokey='del(.Metadata)'
	{
		payload postmark-delivery.json ann hello "$T0" TIME=2026-11-23T05:06:00.1234567-05:00
		payload postmark-bounce-hard.json bob hello "$T0" TIME=2026-11-23T10:07:00.5Z | jq -c "$nokey"
		payload postmark-bounce-soft.json ann hello "$T0" TIME=2026-11-23T11:08:00+01:00
		payload postmark-spamcomplaint.json ann hello "$T0" TIME=2026-11-23T10:09:00Z
		payload postmark-open.json ann hello "$T0" TIME=2026-11-23T10:10:00.25Z
		payload postmark-click.json bob hello "$T0" TIME=2026-11-23T10:11:00Z | jq -c "$nokey"
		payload postmark-subscriptionchange.json ann hello "$T0" TIME=2026-11-23T10:12:00Z
		# a reactivation is not an unsubscribe
		payload postmark-subscriptionchange.json bob hello "$T0" TIME=2026-11-23T10:13:00Z |
			jq -c '.SuppressSending = false | .Origin = "Customer"'
	} > in.ndjson
	run --separate-stderr seq-event --from postmark --now 2026-11-23T10:15:00Z < in.ndjson
	assert_success
	assert_equal "$stderr" ""
	KA=${KEY[$A_MAIL]} PA=${PID[$A_MAIL]} PB=${PID[$B_MAIL]}
	assert_equal "$(jq -r "$REC" <<< "$output")" "$(row delivered email 2026-11-23T10:06:00Z "$A_MAIL" "$ANN" "$KA" "$PA" -
		row bounce email 2026-11-23T10:07:00Z "$B_MAIL" "$BOB" - "$PB" true
		row bounce email 2026-11-23T10:08:00Z "$A_MAIL" "$ANN" "$KA" "$PA" false
		row complaint email 2026-11-23T10:09:00Z "$A_MAIL" "$ANN" "$KA" "$PA" -
		row open email 2026-11-23T10:10:00Z "$A_MAIL" "$ANN" "$KA" "$PA" -
		row click email 2026-11-23T10:11:00Z "$B_MAIL" "$BOB" - "$PB" -
		row unsubscribe email 2026-11-23T10:12:00Z "$A_MAIL" "$ANN" "$KA" "$PA" -)"
	assert_equal "$(jq -r '[.details.record_type, .details.type // "-", .details.url // "-"] | @tsv' <<< "$output")" \
		"$(printf '%s\n' $'Delivery\t-\t-' $'Bounce\tHardBounce\t-' $'Bounce\tSoftBounce\t-' \
			$'SpamComplaint\t-\t-' $'Open\t-\t-' $'Click\t-\thttps://www.example.com/pricing' \
			$'SubscriptionChange\t-\t-')"
	# a bounce is named by Postmark's ID for it
	assert_equal "$(jq -r .provider_event_id <<< "$output" | sed -n 2p)" \
		"Bounce:$(sed -n 2p in.ndjson | jq -r .ID)"
	assert_equal "$(jq -r .details.reason <<< "$output" | sed -n 2p)" \
		"The server was unable to deliver your message (ex: unknown user, mailbox not found)."
}

@test "Telnyx: message.finalized, message.received (a reply, a STOP) and call events become sms and voice events" {
	multi_world
	{
		payload telnyx-message.finalized-delivered.json ann text 2026-11-23T10:05:00.148+00:00
		payload telnyx-message.finalized-delivery_failed.json bob text 2026-11-23T10:06:00Z
		payload telnyx-message.received-reply.json ann text 2026-11-23T10:07:00Z MSGID=b301ed3f-1490-491f-995f-6e64e69674d4
		payload telnyx-message.received-stop.json bob text 2026-11-23T10:08:00Z MSGID=c5a1e0b2-0c3d-4f6e-8a9b-1c2d3e4f5a6b
		# a call found by its client_state (our key), not its call id
		payload telnyx-call.answered.json ann call 2026-11-23T10:09:00Z MSGID=v3:u5OAKGEPT3Dx8SZSSDRWEMdNH2OripQhO
		# a call without client_state, found by its call_control_id
		payload telnyx-call.machine.detection.ended.json bob call 2026-11-23T10:10:00Z |
			jq -c 'del(.data.payload.client_state)'
		payload telnyx-call.hangup.json ann call 2026-11-23T10:11:00Z
		# a person, and a call that ended normally, are nothing to act on
		payload telnyx-call.machine.detection.ended.json ann call 2026-11-23T10:12:00Z |
			jq -c '.data.payload.result = "human"'
		payload telnyx-call.hangup.json bob call 2026-11-23T10:13:00Z |
			jq -c '.data.payload.hangup_cause = "normal_clearing" | .data.payload.hangup_source = "callee"'
	} > in.ndjson
	run --separate-stderr seq-event --from telnyx --now 2026-11-23T10:15:00Z < in.ndjson
	assert_success
	assert_equal "$stderr" ""
	KC=${KEY[$A_CALL]}
	assert_equal "$(jq -r "$REC" <<< "$output")" "$(row delivered sms 2026-11-23T10:05:00Z "$A_TEXT" "$ANN" - "${PID[$A_TEXT]}" false
		row bounce sms 2026-11-23T10:06:00Z "$B_TEXT" "$BOB" - "${PID[$B_TEXT]}" false
		row reply sms 2026-11-23T10:07:00Z "$A_TEXT" "$ANN" - - -
		row unsubscribe sms 2026-11-23T10:08:00Z - "$BOB" - - -
		row answered voice 2026-11-23T10:09:00Z "$A_CALL" "$ANN" "$KC" v3:u5OAKGEPT3Dx8SZSSDRWEMdNH2OripQhO -
		row voicemail voice 2026-11-23T10:10:00Z "$B_CALL" "$BOB" - "${PID[$B_CALL]}" -
		row no-answer voice 2026-11-23T10:11:00Z "$A_CALL" "$ANN" "$KC" "${PID[$A_CALL]}" -)"
	assert_equal "$(jq -r '[.details.event_type, .details.status // .details.text // .details.result // .details.hangup_cause // "-"] | @tsv' <<< "$output")" \
		"$(printf '%s\n' $'message.finalized\tdelivered' $'message.finalized\tdelivery_failed' \
			$'message.received\tSure - call me after 3pm' $'message.received\tSTOP' \
			$'call.answered\t-' $'call.machine.detection.ended\tmachine' $'call.hangup\ttimeout')"
	assert_equal "$(jq -r .provider_event_id <<< "$output" | head -1)" "$(head -1 in.ndjson | jq -r .data.id)"
}

@test "inbound email: a reply names its message by In-Reply-To or References, else its sender names the lead" {
	multi_world
	{
		payload postmark-inbound.json ann hello "$T0" DATE='Mon, 23 Nov 2026 05:30:00 -0500' \
			MSGID=73e6d360-66eb-11e1-8e72-a8904824019b
		# the thread: a message of someone else's, then ours
		payload postmark-inbound.json bob hello "$T0" DATE='Mon, 23 Nov 2026 10:31:00 +0000' \
			MSGID=9a1f2c4e-66eb-11e1-8e72-a8904824019b IN_REPLY_TO='<CAF1234@mail.gmail.com>' \
			REFERENCES="<CAF1234@mail.gmail.com> <${KEY[$B_MAIL]}@seq.example.com>"
	} > in.ndjson
	run --separate-stderr seq-event --from postmark-inbound --now 2026-11-23T10:40:00Z < in.ndjson
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(jq -r "$REC" <<< "$output")" "$(row reply email 2026-11-23T10:30:00Z "$A_MAIL" "$ANN" - - -
		row reply email 2026-11-23T10:31:00Z "$B_MAIL" "$BOB" - - -)"
	assert_equal "$(jq -r '[.provider_event_id, .details.subject, .details.snippet] | @tsv' <<< "$output")" \
		"$(printf '%s\n' $'73e6d360-66eb-11e1-8e72-a8904824019b\tRe: Hello\tYes, Thursday works for me.' \
			$'9a1f2c4e-66eb-11e1-8e72-a8904824019b\tRe: Hello\tYes, Thursday works for me.')"

	# Inbound Parse posts a form; it comes only through the spool
	form ann hello "$T0" | spool sp sendgrid-inbound 2026-11-23T10:41:00Z "$FORM_TYPE"
	form bob hello "$T0" --no-thread | spool sp sendgrid-inbound 2026-11-23T10:42:00Z "$FORM_TYPE"
	form bob hello "$T0" --no-thread EMAIL=carol@example.net FROM_NAME=Carol |
		spool sp sendgrid-inbound 2026-11-23T10:43:00Z "$FORM_TYPE"
	run --separate-stderr seq-event --spool sp --now 2026-11-23T10:45:00Z
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(jq -r "$REC" <<< "$output")" "$(row reply email 2026-11-23T10:41:00Z "$A_MAIL" "$ANN" - - -
		row reply email 2026-11-23T10:42:00Z "$B_MAIL" "$BOB" - - -
		row reply email 2026-11-23T10:43:00Z - - - - -)"
	assert_equal "$(jq -r '[.provider, .details.subject, (.details.snippet | split("\r\n")[0])] | @tsv' <<< "$output" | sort -u)" \
		$'sendgrid-inbound\tRe: Hello\tYes, Thursday works for me.'
	assert_equal "$(ls sp/new)" ""
}

@test "seq-hook to seq-event: signed SendGrid and Telnyx posts, Postmark and Inbound Parse with credentials, are spooled and become events" {
	openssl pkeyutl -help 2>&1 | grep -q -e -rawin || skip "needs openssl 3 to sign"
	multi_world
	local now=2026-11-23T10:20:00Z ts
	ts=$(epoch "$now")
	openssl ecparam -name prime256v1 -genkey -noout -out sg.pem 2> /dev/null
	openssl genpkey -algorithm ed25519 -out tx.pem 2> /dev/null
	export SEQ_NOW=$now SEQ_SPOOL="$BATS_TEST_TMPDIR/sp" \
		SEQ_SENDGRID_WEBHOOK_KEY=$(openssl ec -in sg.pem -pubout -outform DER 2> /dev/null | base64 -w0) \
		SEQ_TELNYX_PUBLIC_KEY=$(openssl pkey -in tx.pem -pubout -outform DER | tail -c 32 | base64 -w0) \
		SEQ_POSTMARK_WEBHOOK_USER=hooks SEQ_POSTMARK_WEBHOOK_PASSWORD='s3cret:pass'
	post() {	# post PATH BODY-FILE [VAR=VALUE...]: seq-hook as a CGI program
		local path=$1 body=$2
		shift 2
		env REQUEST_METHOD=POST PATH_INFO="$path" CONTENT_LENGTH="$(wc -c < "$body")" \
			CONTENT_TYPE=application/json "$@" seq-hook < "$body"
	}
	basic="Basic $(printf '%s' 'hooks:s3cret:pass' | base64 -w0)"

	payload sendgrid-open.json ann hello 2026-11-23T10:15:00Z > sg.json
	sig=$({ printf '%s' "$ts"; cat sg.json; } | openssl dgst -sha256 -sign sg.pem | base64 -w0)
	run -0 --separate-stderr post /sendgrid sg.json HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP="$ts" \
		HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE="$sig"
	assert_line --index 0 $'Status: 204 No Content\r'

	payload telnyx-call.answered.json ann call 2026-11-23T10:16:00Z > tx.json
	{ printf '%s|' "$ts"; cat tx.json; } > tx.signed
	sig=$(openssl pkeyutl -sign -inkey tx.pem -rawin -in tx.signed | base64 -w0)
	run -0 --separate-stderr post /telnyx tx.json HTTP_TELNYX_TIMESTAMP="$ts" HTTP_TELNYX_SIGNATURE_ED25519="$sig"
	assert_line --index 0 $'Status: 204 No Content\r'
	# the same body signed by no one is refused, and not spooled
	run -0 --separate-stderr post /telnyx tx.json HTTP_TELNYX_TIMESTAMP="$ts" HTTP_TELNYX_SIGNATURE_ED25519="$(printf x%.0s {1..64} | base64 -w0)"
	assert_line --index 0 $'Status: 401 Unauthorized\r'

	payload postmark-click.json bob hello 2026-11-23T10:17:00Z > pm.json
	run -0 --separate-stderr post /postmark pm.json HTTP_AUTHORIZATION="$basic"
	assert_line --index 0 $'Status: 204 No Content\r'
	payload postmark-inbound.json ann hello "$T0" DATE='Mon, 23 Nov 2026 10:18:00 +0000' > pmi.json
	run -0 --separate-stderr post /postmark-inbound pmi.json HTTP_AUTHORIZATION="$basic"
	assert_line --index 0 $'Status: 204 No Content\r'
	form bob hello "$T0" --no-thread > sgi.form
	run -0 --separate-stderr post /sendgrid-inbound sgi.form HTTP_AUTHORIZATION="$basic" CONTENT_TYPE="$FORM_TYPE"
	assert_line --index 0 $'Status: 204 No Content\r'
	assert_equal "$(ls sp/new | wc -l)" 5

	unset SEQ_NOW
	run --separate-stderr seq-event --now 2026-11-23T10:21:00Z
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(jq -r '[.provider, .type, .channel, .at, .execution_id, .lead_id] | @tsv' <<< "$output")" \
		"$(printf '%s\t%s\t%s\t%s\t%s\t%s\n' \
			sendgrid open email 2026-11-23T10:15:00Z "$A_MAIL" "$ANN" \
			telnyx answered voice 2026-11-23T10:16:00Z "$A_CALL" "$ANN" \
			postmark click email 2026-11-23T10:17:00Z "$B_MAIL" "$BOB" \
			postmark-inbound reply email 2026-11-23T10:18:00Z "$A_MAIL" "$ANN" \
			sendgrid-inbound reply email 2026-11-23T10:20:00Z "$B_MAIL" "$BOB")"
	assert_equal "$(ls sp/new)" ""
}

# ---- effects ----

# branch_world EVENT:FIXTURE:PROVIDER:CHANNEL...: for each, a sequence
# b-EVENT that sends m on CHANNEL and branches on EVENT within 1d to "yes"
# or "no" (emails both), and three leads enrolled at T0: EVENT-in,
# EVENT-late and EVENT-none.
branch_world() {
	local spec ev fix prov ch m names=()
	for spec; do
		IFS=: read -r ev fix prov ch <<< "$spec"
		case $ch in
		email) m='{"id":"m","type":"email","subject":"Hello","text":"hello"}' ;;
		sms) m='{"id":"m","type":"sms","text":"hello by text"}' ;;
		voice) m='{"id":"m","type":"voice","say":"hello"}' ;;
		esac
		seq-def > /dev/null <<-JSON
		{"name":"b-$ev","steps":[$m,
		 {"id":"b","type":"branch","if":{"event":"$ev","step":"m","within":"1d"},"then":"yes","else":"no"},
		 {"id":"yes","type":"email","subject":"Yes","text":"yes","next":"end"},
		 {"id":"no","type":"email","subject":"No","text":"no"}]}
		JSON
		names+=("$ev-in" "$ev-late" "$ev-none")
	done
	leads_for "${names[@]}"
	for spec; do
		ev=${spec%%:*}
		enroll "b-$ev" "$T0" "$ev-in" "$ev-late" "$ev-none"
	done
}

# branch_events WHO TIME SPEC...: each EVENT-WHO lead's event at TIME, one
# seq-event run per provider.
branch_events() {
	local who=$1 t=$2 spec ev fix prov ch f want=()
	shift 2
	rm -f ev.*.ndjson
	for spec; do
		IFS=: read -r ev fix prov ch <<< "$spec"
		payload "$fix" "$ev-$who" m "$t" >> "ev.$prov.ndjson"
		want+=("$ev-$who $ev")
	done
	for f in ev.*.ndjson; do
		f=${f#ev.}
		seq-event --from "${f%.ndjson}" --now "$t" < "ev.$f"
	done > got.ndjson
	assert_equal "$(sql "SELECT l.external_id || ' ' || v.type FROM events v JOIN leads l ON l.id = v.lead_id
		WHERE v.id IN ($(jq -r .id got.ndjson | paste -sd, -)) ORDER BY 1")" \
		"$(printf '%s\n' "${want[@]}" | LC_ALL=C sort)"
}

# The branch's two days: the window waits, an event in it decides at once,
# an event after it or none means else.  $1 is extra leads' expected jobs at
# T0+1h, sorted in with the rest.
check_branches() {
	local extra=$1 spec ev want
	shift
	local T30m T1 TW T2
	T30m=$(plus "$T0" 1800) T1=$(plus "$T0" 3600) TW=$(plus "$T0" 86400) T2=$(plus "$T0" 90000)
	run --separate-stderr seq-due --now "$T30m"
	assert_success
	assert_output ""
	assert_equal "$(sql "SELECT DISTINCT $(iso e.next_run_at) FROM enrollments e
		JOIN sequences s ON s.id = e.sequence_id WHERE s.name LIKE 'b-%'")" "$TW"

	branch_events in "$T1" "$@"
	# woken: each -in enrollment is due now, the others still at the window's end
	want=$(for spec; do ev=${spec%%:*}; printf '%s\n' "$ev-in|$T1" "$ev-late|$TW" "$ev-none|$TW"; done | LC_ALL=C sort)
	assert_equal "$(sql "SELECT l.external_id || '|' || $(iso e.next_run_at) FROM enrollments e
		JOIN leads l ON l.id = e.lead_id JOIN sequences s ON s.id = e.sequence_id
		WHERE s.name LIKE 'b-%' ORDER BY 1")" "$want"
	run --separate-stderr seq-due --now "$T1"
	assert_success
	want=$({ for spec; do echo "${spec%%:*}-in yes"; done; [ -z "$extra" ] || echo "$extra"; } | LC_ALL=C sort)
	assert_equal "$(jobs_by_lead)" "$want"
	deliver "$T1"

	branch_events late "$T2" "$@"
	run --separate-stderr seq-due --now "$T2"
	assert_success
	want=$(for spec; do ev=${spec%%:*}; printf '%s\n' "$ev-late no" "$ev-none no"; done | LC_ALL=C sort)
	assert_equal "$(jobs_by_lead)" "$want"
}

@test "branches on email events (open, click, bounce, delivered): then in the window, decided when the event comes; else after it; without within, at once" {
	specs=(open:sendgrid-open.json:sendgrid:email click:postmark-click.json:postmark:email
		bounce:sendgrid-blocked.json:sendgrid:email delivered:postmark-delivery.json:postmark:email)
	branch_world "${specs[@]}"
	# without within: the branch, an hour on, looks at what came so far
	seq-def > /dev/null <<-'JSON'
	{"name":"nw","steps":[
	 {"id":"m","type":"email","subject":"Hello","text":"hello"},
	 {"id":"w","type":"wait","duration":"1h"},
	 {"id":"b","type":"branch","if":{"event":"open","step":"m"},"then":"yes","else":"no"},
	 {"id":"yes","type":"email","subject":"Yes","text":"yes","next":"end"},
	 {"id":"no","type":"email","subject":"No","text":"no"}]}
	JSON
	leads_for nw-before nw-after nw-never
	enroll nw "$T0" nw-before nw-after nw-never
	round "$T0"
	assert_equal "$(sql "SELECT count(*) FROM sequence_executions WHERE step = 'm' AND state = 'sent'")" 15
	# an open during the wait does not cut it short
	payload sendgrid-open.json nw-before m "$(plus "$T0" 1200)" |
		seq-event --from sendgrid --now "$(plus "$T0" 1200)" > /dev/null
	check_branches "$(printf '%s\n' 'nw-after no' 'nw-before yes' 'nw-never no')" "${specs[@]}"
	# nw-after's open came after its branch had decided: too late
	payload sendgrid-open.json nw-after m "$(plus "$T0" 7200)" |
		seq-event --from sendgrid --now "$(plus "$T0" 7200)" > /dev/null
	assert_equal "$(sql "SELECT l.external_id || ' ' || x.step FROM sequence_executions x
		JOIN leads l ON l.id = x.lead_id WHERE l.external_id LIKE 'nw-%' AND x.step != 'm' ORDER BY 1")" \
		"nw-after no
nw-before yes
nw-never no"
}

@test "branches on sms and voice events (reply, answered, voicemail, no-answer): then in the window, else after it" {
	specs=(reply:telnyx-message.received-reply.json:telnyx:sms
		answered:telnyx-call.answered.json:telnyx:voice
		voicemail:telnyx-call.machine.detection.ended.json:telnyx:voice
		no-answer:telnyx-call.hangup.json:telnyx:voice)
	branch_world "${specs[@]}"
	round "$T0"
	assert_equal "$(sql "SELECT channel, count(*) FROM sequence_executions WHERE step = 'm' AND state = 'sent' GROUP BY 1 ORDER BY 1")" \
		"sms|3
voice|9"
	check_branches "" "${specs[@]}"
}

@test "a reply found only by its sender belongs to the lead's last sent email, and a branch on that email sees it" {
	seq-def > /dev/null <<-'JSON'
	{"name":"rp","steps":[
	 {"id":"m1","type":"email","subject":"Hello","text":"hello"},
	 {"id":"w","type":"wait","duration":"1h"},
	 {"id":"m2","type":"email","subject":"Again","text":"again"},
	 {"id":"b","type":"branch","if":{"event":"reply","step":"m2","within":"2d"},"then":"yes","else":"no"},
	 {"id":"yes","type":"email","subject":"Yes","text":"yes","next":"end"},
	 {"id":"no","type":"email","subject":"No","text":"no"}]}
	JSON
	leads_for r1 r2
	enroll rp "$T0" r1 r2
	round "$T0"
	round "$(plus "$T0" 3600)"
	local T2h
	T2h=$(plus "$T0" 7200)
	# r1's mail client names no thread; r2 answers the first email by name
	form r1 m2 "$T2h" --no-thread | spool sp sendgrid-inbound "$T2h" "$FORM_TYPE"
	payload postmark-inbound.json r2 m1 "$T2h" | seq-event --from postmark-inbound --now "$T2h" > pm.out
	run --separate-stderr seq-event --spool sp --now "$T2h"
	assert_success
	assert_equal "$(cat pm.out - <<< "$output" | jq -r '[.lead_id, .execution_id] | @tsv')" \
		"$(lead r2)	$(exe r2 m1)
$(lead r1)	$(exe r1 m2)"
	run --separate-stderr seq-due --now "$T2h"
	assert_success
	assert_equal "$(jobs_by_lead)" "r1 yes"
	deliver "$T2h"
	run --separate-stderr seq-due --now "$(plus "$T0" $((3600 + 2 * 86400)))"
	assert_success
	assert_equal "$(jobs_by_lead)" "r2 no"
}

@test "exit_on: a reply, a hard bounce, a STOP and a click end the enrollment, and a claimed step is not sent; a soft bounce ends nothing" {
	seq-def > /dev/null <<-'JSON'
	{"name":"ex","exit_on":["reply","bounce","unsubscribe","click"],"steps":[
	 {"id":"m","type":"email","subject":"Hello","text":"hello"},
	 {"id":"w","type":"wait","duration":"1d"},
	 {"id":"again","type":"email","subject":"Again","text":"again"}]}
	JSON
	leads_for rep hard stop soft clk none
	enroll ex "$T0" rep hard stop soft clk none
	round "$T0"
	local T1 TD
	T1=$(plus "$T0" 3600) TD=$(plus "$T0" 86400)
	payload postmark-inbound.json rep m "$T1" |
		seq-event --from postmark-inbound --now "$T1" > /dev/null
	payload postmark-bounce-hard.json hard m "$T1" | seq-event --from postmark --now "$T1" > /dev/null
	payload telnyx-message.received-stop.json stop m "$T1" MSGID=4f1c7a0e-stop |
		seq-event --from telnyx --now "$T1" > /dev/null
	payload sendgrid-blocked.json soft m "$T1" | seq-event --from sendgrid --now "$T1" > /dev/null
	assert_equal "$(sql "SELECT l.external_id, e.status FROM enrollments e JOIN leads l ON l.id = e.lead_id ORDER BY e.id")" \
		"rep|exited
hard|exited
stop|exited
soft|active
clk|active
none|active"
	assert_equal "$(sql "SELECT l.external_id, c.reason, $(iso c.at) FROM enrollment_changes c
		JOIN enrollments e ON e.id = c.enrollment_id JOIN leads l ON l.id = e.lead_id
		JOIN events v ON c.reason = v.type || ' received (event ' || v.id || ')' AND v.lead_id = l.id
		WHERE c.status = 'exited' ORDER BY c.id")" \
		"rep|reply received (event 1)|$T1
hard|bounce received (event 2)|$T1
stop|unsubscribe received (event 3)|$T1"

	# the next step is claimed; a click comes before seq-send runs
	seq-due --now "$TD" > jobs.ndjson
	assert_equal "$(output=$(< jobs.ndjson) jobs_by_lead)" "clk again
none again
soft again"
	clk_again=$(exe clk again)
	payload postmark-click.json clk m "$TD" | seq-event --from postmark --now "$TD" > /dev/null
	assert_equal "$(sql "SELECT state, error FROM sequence_executions WHERE id = $clk_again")" \
		"released|not sent: enrollment exited"
	export SEQ_MOCK_LOG="$BATS_TEST_TMPDIR/mock.log"
	run -0 --separate-stderr seq-send --now "$TD" < jobs.ndjson
	assert_equal "$stderr" "seq-send: line $(grep -n "\"execution_id\":$clk_again," jobs.ndjson | cut -d: -f1): execution $clk_again is released, not claimed; not sent"
	assert_equal "$(jq -r .to "$SEQ_MOCK_LOG" | sort | paste -sd' ' -)" "none@example.com soft@example.com"
	assert_equal "$(sql "SELECT l.external_id, e.status, coalesce(e.claim, '-') FROM enrollments e
		JOIN leads l ON l.id = e.lead_id WHERE l.external_id IN ('clk', 'soft') ORDER BY 1")" \
		"clk|exited|-
soft|active|$(exe soft again)"
}

@test "unsubscribes, spam complaints and SMS STOP record an opt-out with its source; that channel's next step is skipped, the other's goes" {
	seq-def > /dev/null <<-'JSON'
	{"name":"oo","steps":[
	 {"id":"hello","type":"email","subject":"Hello","text":"hello"},
	 {"id":"text","type":"sms","text":"hello by text"},
	 {"id":"w","type":"wait","duration":"1d"},
	 {"id":"again","type":"email","subject":"Again","text":"again"},
	 {"id":"text2","type":"sms","text":"again by text"}]}
	JSON
	leads_for u1 u2 u3 c1 c2 s1 s2 r1
	enroll oo "$T0" u1 u2 u3 c1 c2 s1 s2 r1
	round "$T0"
	round "$(plus "$T0" 60)"
	local T1
	T1=$(plus "$T0" 3600)
	{
		payload sendgrid-unsubscribe.json u1 hello "$T1"
		payload sendgrid-group_unsubscribe.json u2 hello "$T1"
		payload sendgrid-spamreport.json c1 hello "$T1"
	} | seq-event --from sendgrid --now "$T1" > /dev/null
	{
		payload postmark-subscriptionchange.json u3 hello "$T1"
		payload postmark-spamcomplaint.json c2 hello "$T1"
	} | seq-event --from postmark --now "$T1" > /dev/null
	{
		payload telnyx-message.received-stop.json s1 text "$T1" MSGID=in-s1
		# STOP in any case, with spaces, is STOP
		payload telnyx-message.received-stop.json s2 text "$T1" MSGID=in-s2 | jq -c '.data.payload.text = "  Stop "'
		# a reply that merely mentions stopping is not one
		payload telnyx-message.received-reply.json r1 text "$T1" MSGID=in-r1 | jq -c '.data.payload.text = "please stop by on Friday"'
	} | seq-event --from telnyx --now "$T1" > /dev/null
	assert_equal "$(sql "SELECT l.external_id, c.channel, c.state, c.source, $(iso c.at),
		c.evidence = 'event ' || v.id FROM consent c JOIN leads l ON l.id = c.lead_id
		JOIN events v ON v.lead_id = c.lead_id ORDER BY c.id")" \
		"u1|email|opt-out|sendgrid:unsubscribe|$T1|1
u2|email|opt-out|sendgrid:unsubscribe|$T1|1
c1|email|opt-out|sendgrid:complaint|$T1|1
u3|email|opt-out|postmark:unsubscribe|$T1|1
c2|email|opt-out|postmark:complaint|$T1|1
s1|sms|opt-out|telnyx:unsubscribe|$T1|1
s2|sms|opt-out|telnyx:unsubscribe|$T1|1"
	# the wait began when the SMS went, at T0+1m
	round "$(plus "$T0" 86460)"
	round "$(plus "$T0" 86520)"
	assert_equal "$(sql "SELECT l.external_id, x.step, x.state, coalesce(x.error, '') FROM sequence_executions x
		JOIN leads l ON l.id = x.lead_id WHERE x.step IN ('again', 'text2') ORDER BY l.id, x.id")" \
		"u1|again|skipped|opted out of email
u1|text2|sent|
u2|again|skipped|opted out of email
u2|text2|sent|
u3|again|skipped|opted out of email
u3|text2|sent|
c1|again|skipped|opted out of email
c1|text2|sent|
c2|again|skipped|opted out of email
c2|text2|sent|
s1|again|sent|
s1|text2|skipped|opted out of sms
s2|again|sent|
s2|text2|skipped|opted out of sms
r1|again|sent|
r1|text2|sent|"
}

@test "a hard bounce suppresses the address and marks the lead bounced; a soft bounce, a block and a drop do not" {
	seq-def > /dev/null <<-'JSON'
	{"name":"hb","steps":[
	 {"id":"m","type":"email","subject":"Hello","text":"hello"},
	 {"id":"w","type":"wait","duration":"1d"},
	 {"id":"again","type":"email","subject":"Again","text":"again"}]}
	JSON
	leads_for hard1 hard2 soft1 soft2 soft3
	enroll hb "$T0" hard1 hard2 soft1 soft2 soft3
	round "$T0"
	local T1
	T1=$(plus "$T0" 3600)
	{
		payload postmark-bounce-hard.json hard1 m "$T1"
		payload postmark-bounce-soft.json soft1 m "$T1"
	} | seq-event --from postmark --now "$T1" > /dev/null
	{
		payload sendgrid-bounce.json hard2 m "$T1"
		payload sendgrid-blocked.json soft2 m "$T1"
		payload sendgrid-dropped.json soft3 m "$T1"
	} | seq-event --from sendgrid --now "$T1" > /dev/null
	assert_equal "$(sql "SELECT s.address, s.reason, $(iso s.at), v.provider FROM suppressions s
		JOIN events v ON v.id = s.event_id ORDER BY s.address")" \
		"hard1@example.com|hard bounce: The server was unable to deliver your message (ex: unknown user, mailbox not found).|$T1|postmark
hard2@example.com|hard bounce: 550 5.1.1 The email account that you tried to reach does not exist|$T1|sendgrid"
	assert_equal "$(sql "SELECT external_id, instr(badges, '\"bounced\"') > 0, instr(badges, '\"valid-email\"') > 0
		FROM leads ORDER BY id")" \
		"hard1|1|0
hard2|1|0
soft1|0|1
soft2|0|1
soft3|0|1"
	# a lead imported later with the address (a duplicate from a CRM)
	# gets nothing sent to it either: it is not even enrolled
	leads '{"external_id":"twin","email":"hard1@example.com"}'
	run --separate-stderr seq-enroll --sequence hb --now "$(plus "$T0" 7200)" <<< '{"external_id":"twin"}'
	assert_success
	assert_equal "$(jq -r .skipped <<< "$output")" \
		"address suppressed (hard bounce: The server was unable to deliver your message (ex: unknown user, mailbox not found).)"
	round "$(plus "$T0" 7200)"
	round "$(plus "$T0" 86400)"
	assert_equal "$(sql "SELECT l.external_id, x.step, x.state FROM sequence_executions x
		JOIN leads l ON l.id = x.lead_id WHERE x.step = 'again' OR l.external_id = 'twin' ORDER BY l.id")" \
		"hard1|again|skipped
hard2|again|skipped
soft1|again|sent
soft2|again|sent
soft3|again|sent"
	# the bounced leads lost their valid-email badge too; the reason
	# given is still the bounce
	for l in hard1 hard2; do
		assert_regex "$(sql "SELECT x.error FROM sequence_executions x JOIN leads l ON l.id = x.lead_id
			WHERE l.external_id = '$l' AND x.step = 'again'")" \
			'^address suppressed \(hard bounce: .+\)$'
	done
	# and no enrollment ended early: bounce is not in this sequence's
	# exit_on
	assert_equal "$(sql "SELECT group_concat(status) FROM (SELECT status FROM enrollments ORDER BY id)")" \
		"completed,completed,completed,completed,completed"
}

@test "timeline: each event stands beside its step; --kind event and --channel sms pick them out" {
	multi_world
	payload sendgrid-open.json ann hello 2026-11-23T10:05:00Z | seq-event --from sendgrid --now 2026-11-23T10:05:00Z > /dev/null
	payload sendgrid-open.json bob hello 2026-11-23T10:05:30Z | seq-event --from sendgrid --now 2026-11-23T10:05:30Z > /dev/null
	{
		payload telnyx-message.finalized-delivered.json ann text 2026-11-23T10:06:00Z
		payload telnyx-message.received-stop.json ann text 2026-11-23T10:07:00Z MSGID=in-ann
		payload telnyx-call.answered.json ann call 2026-11-23T10:08:00Z
	} | seq-event --from telnyx --now 2026-11-23T10:09:00Z > /dev/null
	run --separate-stderr seq-timeline --lead "$ANN"
	assert_success
	echo "$output" > tl.ndjson
	# each event, and the step record of the execution it names
	assert_equal "$(jq -rs 'map(select(.kind == "step")) as $s | .[] | select(.kind == "event")
		| . as $e | ($s | map(select(.execution_id == $e.execution_id)) | first) as $step
		| [.at, .what, .channel, .sequence // "-", .step // "-", .execution_id // "-",
		   $step.step // "-", $step.channel // "-", .details.provider] | @tsv' tl.ndjson)" \
		"$(row 2026-11-23T10:08:00Z answered voice multi call "$A_CALL" call voice telnyx
		row 2026-11-23T10:07:00Z unsubscribe sms - - - - - telnyx
		row 2026-11-23T10:06:00Z delivered sms multi text "$A_TEXT" text sms telnyx
		row 2026-11-23T10:05:00Z open email multi hello "$A_MAIL" hello email sendgrid)"
	# newest first, and bob's open is not in ann's timeline
	assert_equal "$(jq -r .at tl.ndjson | sort -r)" "$(jq -r .at tl.ndjson)"
	assert_equal "$(jq -r '[.kind, .what] | @tsv' tl.ndjson | grep -c '^event')" 4

	run --separate-stderr seq-timeline --lead "$ANN" --kind event
	assert_success
	assert_equal "$(jq -r '[.kind, .what] | @tsv' <<< "$output")" \
		"$(printf 'event\t%s\n' answered unsubscribe delivered open)"
	run --separate-stderr seq-timeline --lead "$ANN" --channel sms
	assert_success
	# the STOP's opt-out is in the timeline too, at the same time
	assert_equal "$(jq -r '[.at, .kind, .what, .step // "-"] | @tsv' <<< "$output" | sort -r)" \
		"$(printf '%s\t%s\t%s\t%s\n' 2026-11-23T10:07:00Z event unsubscribe - \
			2026-11-23T10:07:00Z consent opt-out - \
			2026-11-23T10:06:00Z event delivered text 2026-11-23T10:01:00Z step sent text)"
}

# ---- redelivery ----

# Counts of what events touch: events, consent, exits, suppressions.
effects() {
	sql "SELECT (SELECT count(*) FROM events) || ' ' || (SELECT count(*) FROM consent)
		|| ' ' || (SELECT count(*) FROM enrollment_changes WHERE status = 'exited')
		|| ' ' || (SELECT count(*) FROM suppressions)"
}

# leads a..f in "rd", which exits on unsubscribe and reply; each sent its
# email and its SMS.
redelivery_world() {
	seq-def > /dev/null <<-'JSON'
	{"name":"rd","exit_on":["unsubscribe","reply"],"steps":[
	 {"id":"m","type":"email","subject":"Hello","text":"hello"},
	 {"id":"t","type":"sms","text":"hello by text"},
	 {"id":"w","type":"wait","duration":"1d"},
	 {"id":"again","type":"email","subject":"Again","text":"again"}]}
	JSON
	leads_for a b c d e f
	enroll rd "$T0" a b c d e f
	round "$T0"
	round "$(plus "$T0" 60)"
}

@test "redelivery: a spool drained twice records each event, and applies it, once" {
	redelivery_world
	local T1
	T1=$(plus "$T0" 3600)
	payload sendgrid-open.json a m "$T1" > batch.json
	payload sendgrid-unsubscribe.json a m "$T1" >> batch.json
	jq -cs add batch.json |
		spool sp sendgrid "$T1" application/json
	payload postmark-bounce-hard.json b m "$T1" | spool sp postmark "$T1" application/json
	payload postmark-open.json c m "$T1" | spool sp postmark "$T1" application/json
	payload telnyx-message.received-stop.json d t "$T1" MSGID=in-d | spool sp telnyx "$T1" application/json
	form e m "$T1" --no-thread | spool sp sendgrid-inbound "$T1" "$FORM_TYPE"
	payload postmark-inbound.json f m "$T1" | spool sp postmark-inbound "$T1" application/json
	cp -a sp sp.copy

	run --separate-stderr seq-event --spool sp --now "$T1"
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(jq -r '"\(.provider) \(.type)"' <<< "$output" | paste -sd' ' -)" \
		"sendgrid open sendgrid unsubscribe postmark bounce postmark open telnyx unsubscribe sendgrid-inbound reply postmark-inbound reply"
	assert_equal "$(effects)" "7 2 4 1"
	assert_equal "$(ls sp/new)" ""
	sql .dump > once.sql

	# the provider posts it all again (a lost 204): same files, later
	cp sp.copy/new/* sp/new/
	run --separate-stderr seq-event --spool sp --now "$(plus "$T1" 600)"
	assert_success
	assert_output ""
	assert_equal "$stderr" ""
	assert_equal "$(ls sp/new)" ""
	[ ! -d sp/quarantine ] || assert_equal "$(ls sp/quarantine)" ""
	sql .dump > twice.sql
	assert_equal "$(cat twice.sql)" "$(cat once.sql)"
}

@test "redelivery: the same payloads five times, in one run and in runs of their own, are recorded and applied once" {
	redelivery_world
	local T1 i
	T1=$(plus "$T0" 3600)
	payload sendgrid-unsubscribe.json a m "$T1" > 1.json
	payload postmark-bounce-hard.json b m "$T1" > 2.json
	payload postmark-open.json c m "$T1" > 3.json
	payload telnyx-message.received-stop.json d t "$T1" MSGID=in-d > 4.json
	# one post that names the same event twice
	jq -c '. + .' < <(payload sendgrid-click.json e m "$T1") > 5.json
	run --separate-stderr bash -c "cat 5.json 1.json 1.json 1.json 1.json 1.json |
			seq-event --from sendgrid --now $T1 &&
		cat 2.json 3.json 2.json 3.json 2.json 3.json 2.json 3.json 2.json 3.json |
			seq-event --from postmark --now $T1 &&
		cat 4.json 4.json 4.json 4.json 4.json | seq-event --from telnyx --now $T1"
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(jq -r '[.type, .lead_id] | @tsv' <<< "$output")" \
		"$(printf '%s\t%s\n' click "$(lead e)" unsubscribe "$(lead a)" bounce "$(lead b)" \
			open "$(lead c)" unsubscribe "$(lead d)")"
	assert_equal "$(effects)" "5 2 2 1"
	sql .dump > once.sql
	# and four more times, each post on its own, through the spool
	for i in 1 2 3 4 5; do
		case $i in
		1 | 5) p=sendgrid ;;
		2 | 3) p=postmark ;;
		4) p=telnyx ;;
		esac
		spool sp.full "$p" "$T1" application/json < "$i.json"
	done
	for i in 2 3 4 5; do
		cp -a sp.full sp
		run --separate-stderr seq-event --spool sp --now "$(plus "$T1" "$i")"
		assert_success
		assert_output ""
		assert_equal "$(ls sp/new)" ""
		rm -r sp
	done
	assert_equal "$(effects)" "5 2 2 1"
	sql .dump > again.sql
	assert_equal "$(cat again.sql)" "$(cat once.sql)"
	assert_equal "$(sql "SELECT count(*) FROM consent WHERE source = 'sendgrid:unsubscribe'")" 1
}

# ---- bad input ----

@test "bad input: every n_ file of JSONTestSuite as a spooled body is quarantined with its reason; the database is untouched" {
	need_shared testdata/jsontestsuite
	multi_world
	local jts="$SHARED/testdata/jsontestsuite" f k=0 p ps=(sendgrid postmark telnyx postmark-inbound sendgrid-inbound)
	local -A group
	# the bodies as they came, under seq-hook's meta lines; the providers
	# take turns, so that every parser meets them
	mkdir -p sp/new
	cp "$jts"/n_* sp/new/
	for f in sp/new/*; do
		p=${ps[k % 5]}
		k=$((k + 1))
		group[$p]+="$f"$'\n'
	done
	assert [ "$k" -ge 180 ]
	for p in "${ps[@]}"; do
		local ct=application/json meta
		[ "$p" != sendgrid-inbound ] || ct=$FORM_TYPE
		meta="{\"provider\":\"$p\",\"received_at\":$(epoch 2026-11-23T10:10:00Z),\"content_type\":\"$ct\",\"query\":null}"
		mapfile -t files <<< "${group[$p]%$'\n'}"
		sed -i "1i\\
$meta" "${files[@]}"
		# sed inserts nothing into an empty file
		for f in "${files[@]}"; do
			[ -s "$f" ] || printf '%s\n' "$meta" > "$f"
		done
	done
	assert_equal "$(grep -c -h '^{"provider":' sp/new/* | sort -u)" 1
	cp -a sp/new orig
	sql 'PRAGMA wal_checkpoint(TRUNCATE)' > /dev/null
	sql .dump > before.sql

	run --separate-stderr seq-event --spool sp --now 2026-11-23T10:20:00Z
	assert_success
	assert_output ""
	assert_equal "$(ls sp/new)" ""
	# each file whole, beside its reason, which is what seq-event said
	run diff -r -x '*.why' orig sp/quarantine
	assert_success
	assert_equal "$(ls sp/quarantine | grep -c '\.why$')" "$k"
	assert_equal "$(find sp/quarantine -name '*.why' -empty)" ""
	assert_equal "$(LC_ALL=C sort <<< "$stderr")" "$(cd sp/quarantine &&
		awk 'FNR == 1 { n = FILENAME; sub(/\.why$/, "", n); print "seq-event: " n ": quarantined: " $0 }' *.why |
		LC_ALL=C sort)"
	sql .dump > after.sql
	assert_equal "$(cat after.sql)" "$(cat before.sql)"
	assert_equal "$(sql 'PRAGMA integrity_check')" ok
}

@test "bad input: every one-line n_ file, between two payloads in --from input, is rejected as its line; the payloads go through" {
	need_shared testdata/jsontestsuite
	multi_world
	local jts="$SHARED/testdata/jsontestsuite" f n rounds empty=() one=()
	local -A lines
	# the files with a newline inside are left out: they are more than
	# one line of input.  sed counts lines as ndjson does (a last one
	# without a newline is one), NUL bytes and all; an empty file has none.
	while IFS= read -r f && IFS= read -r n; do
		lines[$f]=$n
	done < <(sed -s -n -e 1F -e '$=' "$jts"/n_*)
	for f in "$jts"/n_*; do
		case ${lines[$f]:-0} in
		0) empty+=("$f") ;;
		1) one+=("$f") ;;
		esac
	done
	rounds=$((${#one[@]} + ${#empty[@]}))
	assert [ "$rounds" -ge 180 ]
	# round k: a SendGrid open (line 3k+1), the n_ file (3k+2), a click
	# (3k+3); each round's events are new ones
	payload sendgrid-open.json ann hello 2026-11-23T10:10:00Z |
		jq -c --argjson n "$rounds" '. as $p | range($n) | . as $k | $p | .[0].sg_event_id += "-\($k)"' > first.ndjson
	payload sendgrid-click.json bob hello 2026-11-23T10:11:00Z |
		jq -c --argjson n "$rounds" '. as $p | range($n) | . as $k | $p | .[0].sg_event_id += "-\($k)"' > last.ndjson
	{
		sed -s -e '$a\' "${one[@]}"
		for f in "${empty[@]}"; do echo; done
	} > middle.txt
	assert_equal "$(wc -l < middle.txt)" "$rounds"
	paste -d '\n' first.ndjson middle.txt last.ndjson > in.ndjson
	assert_equal "$(wc -l < in.ndjson)" $((3 * rounds))
	sql 'PRAGMA wal_checkpoint(TRUNCATE)' > /dev/null
	sql .dump > before.sql

	run -1 --separate-stderr seq-event --from sendgrid --now 2026-11-23T10:20:00Z < in.ndjson
	# one rejection per n_ line, and only those
	assert_equal "$(LC_ALL=C sed -n 's/^seq-event: line \([0-9]*\): .*/\1/p' <<< "$stderr")" \
		"$(seq 2 3 $((3 * rounds)))"
	assert_equal "$(wc -l <<< "$stderr")" "$rounds"
	# every payload around them recorded, in order
	assert_equal "$(jq -r '[.type, .lead_id, .execution_id, .provider_event_id] | @tsv' <<< "$output")" \
		"$(paste -d '\n' <(jq -r --arg l "$ANN" --arg x "$A_MAIL" '"open\t\($l)\t\($x)\t\(.[0].sg_event_id)"' first.ndjson) \
			<(jq -r --arg l "$BOB" --arg x "$B_MAIL" '"click\t\($l)\t\($x)\t\(.[0].sg_event_id)"' last.ndjson))"
	# and nothing else: without those events, the database is as it was
	sql "DELETE FROM events WHERE provider = 'sendgrid' AND type IN ('open', 'click')
		AND lead_id IN ($ANN, $BOB)"
	assert_equal "$(sql 'SELECT count(*) FROM events')" 0
	sql .dump > after.sql
	assert_equal "$(cat after.sql)" "$(cat before.sql)"
	assert_equal "$(sql 'PRAGMA integrity_check')" ok
}

@test "the same meaning in other words: busy and unknown numbers are no-answer; Postmark's own suppressions are told once" {
	local cause
	for cause in user_busy not_found busy normal_clearing; do
		printf '{"data":{"event_type":"call.hangup","id":"h-%s","occurred_at":"2026-11-25T10:00:00Z","payload":{"call_control_id":"c-%s","hangup_cause":"%s"}}}\n' \
			"$cause" "$cause" "$cause"
	done > hangups
	run --separate-stderr seq-event --now 2026-11-25T10:01:00Z --from telnyx < hangups
	assert_success
	assert_equal "$(jq -r '[.provider_event_id, .type] | @tsv' <<< "$output")" "h-user_busy	no-answer
h-not_found	no-answer
h-busy	no-answer"
	local reason
	for reason in HardBounce SpamComplaint ManualSuppression; do
		printf '{"RecordType":"SubscriptionChange","MessageID":"m-%s","Recipient":"ann@example.com","ChangedAt":"2026-11-25T10:00:00Z","SuppressSending":true,"SuppressionReason":"%s","Metadata":{}}\n' \
			"$reason" "$reason"
	done > changes
	run --separate-stderr seq-event --now 2026-11-25T10:01:00Z --from postmark < changes
	assert_success
	# the hard bounce came as a Bounce already: no second word on it
	assert_equal "$(jq -r '[.provider_message_id, .type] | @tsv' <<< "$output")" "m-SpamComplaint	complaint
m-ManualSuppression	unsubscribe"
}

@test "one-click unsubscribe (RFC 8058): email jobs carry a signed link; seq-hook takes only a right token; the opt-out and exit happen once" {
	seq-def > /dev/null <<'JSON'
{"name":"oc","exit_on":["unsubscribe"],"steps":[{"id":"a","type":"email","subject":"S","text":"T"},
 {"id":"w","type":"wait","duration":"1d"},{"id":"b","type":"email","subject":"S2","text":"T2"}]}
JSON
	leads '{"external_id":"ann","email":"ann@example.com"}'
	enroll oc 2026-11-25T10:00:00Z ann
	export SEQ_UNSUBSCRIBE_URL='https://hooks.example.com/hooks/seq-hook/unsubscribe?list=oc' \
		SEQ_UNSUBSCRIBE_SECRET=0123456789abcdef-0123456789 SEQ_SPOOL=$BATS_TEST_TMPDIR/spool
	seq-due --now 2026-11-25T10:00:00Z > jobs
	local key link query expires
	key=$(jq -r .key jobs)
	link=$(jq -r '.headers["List-Unsubscribe"]' jobs)
	# the key, the lead, the channel, and 90 days from the claim
	expires=$(($(epoch 2026-11-25T10:00:00Z) + 90 * 86400))
	assert_regex "$link" "^<https://hooks\.example\.com/hooks/seq-hook/unsubscribe\?list=oc&t=$key\.1\.email\.$expires\.[A-Za-z0-9_-]{24}>$"
	assert_equal "$(jq -r '.headers["List-Unsubscribe-Post"]' jobs)" "List-Unsubscribe=One-Click"
	seq-send --now 2026-11-25T10:00:00Z < jobs | seq-log --now 2026-11-25T10:00:00Z > /dev/null
	query=${link#*\?}
	query=${query%>}
	one_click() {	# QUERY BODY
		printf '%s' "$2" | env REQUEST_METHOD=POST PATH_INFO=/unsubscribe \
			QUERY_STRING="$1" CONTENT_LENGTH=${#2} seq-hook 2> /dev/null | head -n 1
	}
	# a token changed by one character, another key's, no token, a wrong body
	assert_equal "$(one_click "${query%?}$([ "${query: -1}" = A ] && echo B || echo A)" List-Unsubscribe=One-Click)" $'Status: 401 Unauthorized\r'
	assert_equal "$(one_click "${query/"$key."/"${key%.1}.2."}" List-Unsubscribe=One-Click)" $'Status: 401 Unauthorized\r'
	assert_equal "$(one_click "list=oc" List-Unsubscribe=One-Click)" $'Status: 401 Unauthorized\r'
	assert_equal "$(one_click "$query" unsubscribe)" $'Status: 401 Unauthorized\r'
	[ ! -d "$SEQ_SPOOL/new" ] || [ -z "$(ls "$SEQ_SPOOL/new")" ]
	# the right one, followed three times
	for _ in 1 2 3; do
		assert_equal "$(one_click "$query" List-Unsubscribe=One-Click)" $'Status: 204 No Content\r'
	done
	run --separate-stderr seq-event --now 2026-11-25T10:05:00Z
	assert_success
	assert_equal "$(jq -r '[.type, .channel, .execution_key, .execution_id] | @tsv' <<< "$output")" "unsubscribe	email	$key	1"
	assert_equal "$(sql "SELECT channel, state, source FROM consent")" "email|opt-out|unsubscribe:unsubscribe"
	assert_equal "$(sql "SELECT status FROM enrollments")" exited
	# without a secret, no link is made
	unset SEQ_UNSUBSCRIBE_SECRET
	enroll oc 2026-11-25T10:06:00Z ann 2> /dev/null || true
	leads '{"external_id":"bob","email":"bob@example.com"}'
	enroll oc 2026-11-25T10:06:00Z bob
	seq-due --now 2026-11-25T10:06:00Z > jobs2
	assert_equal "$(jq -c .headers jobs2 | jq -r 'keys | join(",")')" "Message-ID,X-Seq-Key"
}

@test "an empty spool, or none yet, drains to nothing, quietly" {
	run --separate-stderr seq-event --now 2026-11-25T10:00:00Z --spool "$BATS_TEST_TMPDIR/none"
	assert_success
	assert_output ""
	assert_equal "$stderr" ""
	mkdir -p empty/new empty/tmp
	run --separate-stderr seq-event --now 2026-11-25T10:00:00Z --spool empty
	assert_success
	assert_output ""
	assert_equal "$stderr" ""
}
