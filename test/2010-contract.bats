#!/usr/bin/env bats
# Contract tests: each HTTP adapter of seq-send --live against its
# provider's own API specification, served by Stoplight Prism in mock mode,
# which validates every request (body, security) and answers with the
# spec's examples.  Prism shows nothing of what it was sent, so a loopback
# capture server (test/prism.bash) keeps the bytes and headers of the same
# kind of run, and, forwarding to Prism, lets one deliberately broken
# request from a real adapter reach it.
#
# SendGrid and Telnyx specs: ../shared/specs (the providers' own); Postmark
# publishes none, so test/contract/postmark-email.yaml was written from its
# documentation.

load test_helper
load prism

T0=2026-11-23T10:00:00Z
SG_KEY=SG.contract-test-key
PM_TOKEN=pm-contract-test-token
TX_KEY=KEYcontract-test-key
CONNECTION=1494404757140276705
SG_SPEC=$SHARED/specs/sendgrid-mail-v3.json
TX_SPEC=$SHARED/specs/telnyx-v2-messages-calls.json
PM_SPEC=$TOP/test/contract/postmark-email.yaml

setup_file() {
	# without Prism or the specs every test skips and says why
	[ -x "$PRISM" ] && [ -d "$SHARED/specs" ] || return 0
	# one Prism per spec for the whole file, started side by side: each
	# takes seconds; whatever went wrong, none outlives the file
	{
		prism_find_python &&
		prism_launch sendgrid "$SG_SPEC" &&
		prism_launch postmark "$PM_SPEC" &&
		prism_launch telnyx "$TX_SPEC" &&
		spec_json "$PM_SPEC" > /dev/null &&
		prism_wait sendgrid postmark telnyx
	} || { teardown_file; return 1; }
}

teardown_file() {
	prism_stop sendgrid
	prism_stop postmark
	prism_stop telnyx
}

setup() {
	common_setup
	need_shared specs
	need_prism
	init_db
}

teardown() { capture_stop_all; }

# --- the world ---------------------------------------------------------

# sequence NAME CHANNEL [FROM]: one step of that channel, its content from
# the lead's attributes subject and body; no "from" when FROM is empty.
sequence() {
	local name=$1 ch=$2 from=${3:+"\"from\":{\"$2\":\"$3\"},"} step
	case $ch in
	email) step='"subject":"{{attr.subject|Hello}}","text":"{{attr.body|Hello there}}","html":"<p>{{attr.body|Hello there}}</p>"' ;;
	sms) step='"text":"{{attr.body|Hello there}}"' ;;
	voice) step='"say":"{{attr.body|Hello there}}"' ;;
	esac
	seq-def > /dev/null <<JSON
{"name":"$name",$from"steps":[{"id":"hello","type":"$ch",$step}]}
JSON
}

# Three leads: plain (the template's fallback), awkward (what tends to
# break JSON, HTTP or a template: quotes, backslashes, newlines, CR, tabs,
# control characters, emoji with joiners, Hebrew and Arabic, markup, an
# apostrophe in the address) and big (a body of over 100 KiB).
three_leads() {
	cat > awkward.json <<'JSON'
{"external_id":"awkward","email":"o'brien+seq@example.com","phone":"+16175550102",
 "attributes":{"subject":"Re: \"quotes\", back\\slash, a\ttab, 😀 שלום مرحبا",
  "body":"Quotes \"double\" and 'single', backslashes \\ and \\\\, a literal \\n,\na new line,\ta tab, a CRLF\r\nemoji 😀🎉👩‍👩‍👧, Hebrew שלום עולם, Arabic مرحبا بالعالم, <b>markup</b> & &amp; \u2028 \u0001\u001f the end."}}
JSON
	{
		echo '{"external_id":"plain","email":"ann@example.com","phone":"+16175550101","first_name":"Ann"}'
		jq -c . awkward.json
		jq -nc '{external_id: "big", email: "big@example.com", phone: "+16175550103",
			attributes: {subject: "A 100 KB body", body: ([range(0; 1650) |
			"line \(.): \"quoted\", back\\slash,\ttab, שלום مرحبا 😀\n"] | add)}}'
	} | seq-lead > /dev/null
}

# world CHANNEL: the sequence "s" of that channel, the three leads enrolled
# in it, and their three jobs in ./jobs; twin.db can send them once more.
world() {
	sequence s "$1" "$(case $1 in email) echo sales@example.com ;; *) echo +12025550100 ;; esac)"
	three_leads
	enroll s $T0 plain awkward big
	seq-due --now $T0 > jobs
	assert_equal "$(wc -l < jobs)" 3
	# the same jobs, a second time: a copy of the database as they were due
	sql ".backup twin.db"
}

# The jobs carry the awkward and big content whole, so that "arrived
# intact" below compares against the real thing.  FIELD: text or say.
jobs_hold_the_content() {
	jq -e -s --slurpfile a awkward.json --arg f "$1" '
		(.[] | select(.lead_id == 2) | .[$f]) as $awkward |
		(.[] | select(.lead_id == 3) | .[$f]) as $big |
		$awkward == $a[0].attributes.body and
		all("\"", "\\", "\t", "\n", "\r", "😀", "שלום", "مرحبا";
			. as $s | $awkward | contains($s)) and
		($big | utf8bytelength >= 102400)' jobs
}

# --- the adapters' configuration: use_X BASE_URL --------------------------

use_sendgrid() {
	export SEQ_EMAIL_ADAPTER=sendgrid SENDGRID_API_KEY=$SG_KEY \
		SEQ_EMAIL_FROM=sales@example.com SEQ_SENDGRID_URL=$1
}
use_postmark() {
	export SEQ_EMAIL_ADAPTER=postmark POSTMARK_SERVER_TOKEN=$PM_TOKEN \
		SEQ_EMAIL_FROM=sales@example.com SEQ_POSTMARK_URL=$1
}
# every field the adapters can send, so that Prism checks each
use_telnyx_sms() {
	export SEQ_SMS_ADAPTER=telnyx-sms TELNYX_API_KEY=$TX_KEY \
		SEQ_SMS_FROM=+12025550100 SEQ_TELNYX_URL=$1 \
		SEQ_TELNYX_MESSAGING_PROFILE_ID=abc85f64-5717-4562-b3fc-2c9600000000 \
		SEQ_TELNYX_WEBHOOK_URL=https://hooks.example.com/telnyx
}
use_telnyx_voice() {
	export SEQ_VOICE_ADAPTER=telnyx-voice TELNYX_API_KEY=$TX_KEY \
		SEQ_VOICE_FROM=+12025550100 SEQ_TELNYX_URL=$1 \
		SEQ_TELNYX_CONNECTION_ID=$CONNECTION \
		SEQ_TELNYX_WEBHOOK_URL=https://hooks.example.com/telnyx
}

# send STATUS [ARG...]: ./jobs through seq-send --live, which must exit
# with STATUS; the results in ./results (and $output), stderr in $stderr.
send() {
	local want=$1
	shift
	run "-$want" --separate-stderr seq-send --live --now $T0 "$@" < jobs
	printf '%s\n' "$output" > results
}

# --- reading the specs ---------------------------------------------------

# spec FILE JQ...: jq over the spec, with ref to follow a "$ref" and $doc.
spec() {
	local file=$1 prog
	shift
	prog=$(cat)
	spec_json "$file" | jq "$@" '. as $doc |
		def ref: if type == "object" and has("$ref")
			then (."$ref" | ltrimstr("#/") | split("/")) as $p | $doc | getpath($p) | ref
			else . end;
		'"$prog"
}

# The 2xx status of an operation, as the spec answers it.
ok_status() {
	spec "$1" -r --arg p "$2" <<< '.paths[$p].post.responses | keys[] | select(test("^2"))'
}

# The provider's error text, as the adapters put it after "HTTP NNN: ":
# Telnyx's and SendGrid's errors[] (the given fields joined by ": ", the
# errors by "; "), Postmark's ErrorCode and Message.
errors_text() {
	jq -r --argjson f "$1" '[.errors[] | [.[$f[]] | strings | select(. != "")] |
		join(": ")] | join("; ")'
}
postmark_text() { jq -r '"Postmark error \(.ErrorCode): \(.Message)"'; }

# Every request of the run passed Prism's validation: N verdicts, no
# Violation, N answers of status CODE.
all_valid() {
	local log=$1 n=$2 code=$3
	assert_equal "$(grep -c 'passed the validation rules' <<< "$log")" "$n"
	assert_equal "$(grep -c 'Violation' <<< "$log")" 0
	assert_equal "$(grep -c "> Responding with \"$code\"" <<< "$log")" "$n"
}

# ======================================================================
# SendGrid: POST /v3/mail/send
# ======================================================================

@test "sendgrid: every request passes the Mail Send spec and is sent with Prism's 202; the same jobs reach a capture server intact" {
	world email
	jobs_hold_the_content text
	use_sendgrid "$(prism_url sendgrid)"
	prism_mark sendgrid
	send 0
	assert_equal "$stderr" ""
	local code
	code=$(ok_status "$SG_SPEC" /v3/mail/send)
	all_valid "$(prism_since sendgrid 3)" 3 "$code"
	# the spec's 202 has no body and names no header (the real one sends
	# X-Message-Id, read below): nothing to take an id from
	assert_equal "$(spec "$SG_SPEC" -c --arg c "$code" <<< '.paths["/v3/mail/send"].post.responses[$c] | ref | [.content, .headers]')" "[null,null]"
	assert_equal "$(jq -S -c '[.execution_id, .status, .adapter, .http_status, .provider_id, .error]' results)" \
		"$(jq -S -c --argjson c "$code" '[.execution_id, "sent", "sendgrid", $c, null, null]' jobs)"

	# the same jobs again, to a capture server: what each request carried
	use_sendgrid "$(capture_start sg --status 202 --header 'X-Message-Id: 14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0')"
	send 0 --db twin.db
	assert_equal "$stderr" ""
	assert_equal "$(captured_count sg)" 3
	# each request next to the job it came from (they arrive in any order)
	jq -S -s 'map({key: .personalizations[0].custom_args.seq_key,
		id: .personalizations[0].custom_args.seq_execution_id,
		to: .personalizations[0].to[0].email, from: .from.email,
		subject, text: (.content[] | select(.type == "text/plain") | .value),
		html: (.content[] | select(.type == "text/html") | .value), headers}) |
		sort_by(.key)' "$BATS_TEST_TMPDIR"/sg/*.body > got
	jq -S -s 'map({key, id: (.execution_id | tostring), to, from, subject, text,
		html, headers}) | sort_by(.key)' jobs > want
	assert_equal "$(cat got)" "$(cat want)"
	# SendGrid's message id comes in a header of the 202
	assert_equal "$(jq -r .provider_id results | sort -u)" 14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0
}

@test "sendgrid: a sender the spec refuses is a Violation, and a failed result with SendGrid's error" {
	# a sequence with no sender takes SEQ_EMAIL_FROM; "sales@localhost" is
	# not of the spec's format "email" (no dot in the domain)
	sequence named email sales@example.com
	sequence bare email
	leads '{"external_id":"ann","email":"ann@example.com"}'
	enroll named $T0 ann
	enroll bare $T0 ann
	use_sendgrid "$(prism_url sendgrid)"
	export SEQ_EMAIL_FROM=sales@localhost
	seq-due --now $T0 > jobs
	prism_mark sendgrid
	send 1
	assert_equal "$stderr" ""
	local log why
	log=$(prism_since sendgrid 2)
	assert_equal "$(grep -c 'passed the validation rules' <<< "$log")" 1
	assert_equal "$(grep -c 'Violation' <<< "$log")" 1
	assert_equal "$(grep -o 'Violation: .*' <<< "$log")" \
		'Violation: request.body.from.email Request body property from.email must match format "email"'
	# Prism answers the spec's 400 with its error example
	why=$(spec "$SG_SPEC" -c <<< '.paths["/v3/mail/send"].post.responses["400"] | ref |
		.content["application/json"].schema | ref | .example' | errors_text '["field","message"]')
	assert [ -n "$why" ]
	assert_equal "$(jq -r '[.sequence, .status, .http_status, .provider_id, .error] | @tsv' results | sort)" \
		"bare	failed	400		HTTP 400: $why
named	sent	$(ok_status "$SG_SPEC" /v3/mail/send)		"
}

@test "sendgrid: the API key goes as Authorization: Bearer; without it Prism refuses the request" {
	sequence s email sales@example.com
	leads '{"external_id":"ann","email":"ann@example.com"}'
	enroll s $T0 ann
	seq-due --now $T0 > jobs
	# the capture server keeps the request as the adapter made it and
	# passes it on to Prism without the key
	use_sendgrid "$(capture_start sg --forward "$(prism_url sendgrid)" --drop-header Authorization)"
	prism_mark sendgrid
	send 1
	assert_equal "$stderr" ""
	assert_equal "$(captured_head sg 1 | head -n 1)" "POST /v3/mail/send HTTP/1.1"
	assert_equal "$(captured_head sg 1 | grep -i '^authorization:')" "Authorization: Bearer $SG_KEY"
	local log
	log=$(prism_since sendgrid 1)
	assert_equal "$(grep -o 'Violation: .*' <<< "$log")" "Violation: request Invalid security scheme used"
	assert_equal "$(captured_status sg 1)" 401
	assert_equal "$(jq -r '[.status, .http_status, .error] | @tsv' results)" \
		"failed	401	HTTP 401: $(captured_reply sg 1 | errors_text '["field","message"]')"
	refute_output --partial "$SG_KEY"
}

# ======================================================================
# Postmark: POST /email (test/contract/postmark-email.yaml)
# ======================================================================

@test "postmark: every request passes the Email API spec, MessageID and SubmittedAt come from its example; the same jobs reach a capture server intact" {
	world email
	jobs_hold_the_content text
	use_postmark "$(prism_url postmark)"
	prism_mark postmark
	send 0
	assert_equal "$stderr" ""
	local code example
	code=$(ok_status "$PM_SPEC" /email)
	all_valid "$(prism_since postmark 3)" 3 "$code"
	example=$(spec "$PM_SPEC" -c --arg c "$code" <<< '.paths["/email"].post.responses[$c].content["application/json"].example')
	assert [ -n "$(jq -r .MessageID <<< "$example")" ]
	assert_equal "$(jq -S -c '[.execution_id, .status, .adapter, .http_status, .provider_id, .metadata, .error]' results)" \
		"$(jq -S -c --argjson c "$code" --argjson x "$example" \
			'[.execution_id, "sent", "postmark", $c, $x.MessageID, {submitted_at: $x.SubmittedAt}, null]' jobs)"

	# the same jobs again, to a capture server: what each request carried
	printf '%s' '{"To":"x@example.com","SubmittedAt":"2026-11-23T10:00:00Z","MessageID":"b7bc2f4a-e38e-4336-af7d-e6c392c2f817","ErrorCode":0,"Message":"OK"}' > answer.json
	use_postmark "$(capture_start pm --status 200 --body answer.json)"
	send 0 --db twin.db
	assert_equal "$stderr" ""
	assert_equal "$(captured_count pm)" 3
	jq -S -s 'map({key: .Metadata.seq_key, id: .Metadata.seq_execution_id,
		to: .To, from: .From, subject: .Subject, text: .TextBody, html: .HtmlBody,
		headers: (.Headers | map({(.Name): .Value}) | add), stream: .MessageStream}) |
		sort_by(.key)' "$BATS_TEST_TMPDIR"/pm/*.body > got
	jq -S -s 'map({key, id: (.execution_id | tostring), to, from, subject, text,
		html, headers, stream: "outbound"}) | sort_by(.key)' jobs > want
	assert_equal "$(cat got)" "$(cat want)"
	assert_equal "$(jq -r .provider_id results | sort -u)" b7bc2f4a-e38e-4336-af7d-e6c392c2f817
}

@test "postmark: a misspelt field is a Violation of the strict spec, and a failed result with Postmark's error" {
	sequence s email sales@example.com
	leads '{"external_id":"ann","email":"ann@example.com"}'
	enroll s $T0 ann
	seq-due --now $T0 > jobs
	# the adapter's own request, with TextBody renamed on the way to Prism
	use_postmark "$(capture_start pm --forward "$(prism_url postmark)" --rename-field TextBody Textbody)"
	prism_mark postmark
	send 1
	assert_equal "$stderr" ""
	captured pm 1 | jq -e '.TextBody == "Hello there"'
	local log why
	log=$(prism_since postmark 1)
	assert_equal "$(grep -o 'Violation: .*' <<< "$log")" \
		"Violation: request.body Request body must NOT have additional properties; found 'Textbody'"
	assert_equal "$(captured_status pm 1)" 422
	why=$(spec "$PM_SPEC" -c <<< '.paths["/email"].post.responses["422"].content["application/json"].example' | postmark_text)
	assert_equal "$(jq -r '[.status, .http_status, .provider_id, .error] | @tsv' results)" \
		"failed	422		HTTP 422: $why"
}

@test "postmark: the server token goes as X-Postmark-Server-Token; without it Prism refuses the request" {
	sequence s email sales@example.com
	leads '{"external_id":"ann","email":"ann@example.com"}'
	enroll s $T0 ann
	seq-due --now $T0 > jobs
	use_postmark "$(capture_start pm --forward "$(prism_url postmark)" --drop-header X-Postmark-Server-Token)"
	prism_mark postmark
	send 1
	assert_equal "$stderr" ""
	assert_equal "$(captured_head pm 1 | head -n 1)" "POST /email HTTP/1.1"
	assert_equal "$(captured_head pm 1 | grep -i -e '^x-postmark-server-token:' -e '^authorization:')" \
		"X-Postmark-Server-Token: $PM_TOKEN"
	local log
	log=$(prism_since postmark 1)
	assert_equal "$(grep -o 'Violation: .*' <<< "$log")" "Violation: request Invalid security scheme used"
	assert_equal "$(captured_status pm 1)" 401
	assert_equal "$(jq -r '[.status, .http_status, .error] | @tsv' results)" \
		"failed	401	HTTP 401: $(spec "$PM_SPEC" -c <<< '.paths["/email"].post.responses["401"].content["application/json"].example' | postmark_text)"
	refute_output --partial "$PM_TOKEN"
}

# ======================================================================
# Telnyx messaging: POST /messages
# ======================================================================

# The example Prism answers a Telnyx operation's 200 with: its schema's
# "data" carries it.
telnyx_example() {
	spec "$TX_SPEC" -c --arg p "$1" <<< '.paths[$p].post.responses["200"] | ref |
		.content["application/json"].schema | ref | .properties.data | ref | .example'
}

@test "telnyx-sms: every request passes the Messaging spec, id and cost come from its example; the same jobs reach a capture server intact" {
	world sms
	jobs_hold_the_content text
	use_telnyx_sms "$(prism_url telnyx)"
	prism_mark telnyx
	send 0
	assert_equal "$stderr" ""
	local code example
	code=$(ok_status "$TX_SPEC" /messages)
	all_valid "$(prism_since telnyx 3)" 3 "$code"
	example=$(telnyx_example /messages)
	assert [ -n "$(jq -r '.id // empty' <<< "$example")" ]
	assert [ -n "$(jq -r '.cost.amount // empty' <<< "$example")" ]
	assert_equal "$(jq -S -c '[.execution_id, .status, .adapter, .http_status, .provider_id, .cost, .metadata, .error]' results)" \
		"$(jq -S -c --argjson c "$code" --argjson x "$example" '[.execution_id, "sent", "telnyx-sms", $c,
			$x.id, ($x.cost.amount | tonumber), {currency: $x.cost.currency, parts: $x.parts}, null]' jobs)"

	# the same jobs again, to a capture server: what each request carried
	printf '%s' '{"data":{"id":"40385f64-5717-4562-b3fc-2c963f66afa6"}}' > answer.json
	use_telnyx_sms "$(capture_start tx --status 200 --body answer.json)"
	send 0 --db twin.db
	assert_equal "$stderr" ""
	assert_equal "$(captured_count tx)" 3
	# no key travels with a message: each lead has a number of its own
	jq -S -s 'map({to, from, text, messaging_profile_id, webhook_url}) | sort_by(.to)' \
		"$BATS_TEST_TMPDIR"/tx/*.body > got
	jq -S -s --arg p "$SEQ_TELNYX_MESSAGING_PROFILE_ID" --arg w "$SEQ_TELNYX_WEBHOOK_URL" \
		'map({to, from, text, messaging_profile_id: $p, webhook_url: $w}) | sort_by(.to)' jobs > want
	assert_equal "$(cat got)" "$(cat want)"
}

@test "telnyx-sms: a webhook URL the spec refuses is a Violation, and a failed result with Telnyx's error" {
	sequence s sms +12025550100
	leads '{"external_id":"ann","phone":"+16175550101"}'
	enroll s $T0 ann
	seq-due --now $T0 > jobs
	# the capture server only watches: the request is the adapter's own
	use_telnyx_sms "$(capture_start tx --forward "$(prism_url telnyx)")"
	export SEQ_TELNYX_WEBHOOK_URL="not a url"
	prism_mark telnyx
	send 1
	assert_equal "$stderr" ""
	captured tx 1 | jq -e '.webhook_url == "not a url"'
	local log code
	log=$(prism_since telnyx 1)
	assert_equal "$(grep -o 'Violation: .*' <<< "$log")" \
		'Violation: request.body.webhook_url Request body property webhook_url must match format "url"'
	# the spec answers any 4XX with errors[]; Prism picks the status
	code=$(captured_status tx 1)
	assert [ "$code" = 400 -o "$code" = 422 ]
	assert_equal "$(jq -r '[.status, .http_status, .provider_id, .error] | @tsv' results)" \
		"failed	$code		HTTP $code: $(captured_reply tx 1 | errors_text '["code","title","detail"]')"
}

@test "telnyx-sms: the API key goes as Authorization: Bearer; without it Prism refuses the request" {
	sequence s sms +12025550100
	leads '{"external_id":"ann","phone":"+16175550101"}'
	enroll s $T0 ann
	seq-due --now $T0 > jobs
	use_telnyx_sms "$(capture_start tx --forward "$(prism_url telnyx)" --drop-header Authorization)"
	prism_mark telnyx
	send 1
	assert_equal "$stderr" ""
	assert_equal "$(captured_head tx 1 | head -n 1)" "POST /messages HTTP/1.1"
	assert_equal "$(captured_head tx 1 | grep -i '^authorization:')" "Authorization: Bearer $TX_KEY"
	local log
	log=$(prism_since telnyx 1)
	assert_equal "$(grep -o 'Violation: .*' <<< "$log")" "Violation: request Invalid security scheme used"
	assert_equal "$(captured_status tx 1)" 401
	assert_equal "$(jq -r '[.status, .http_status, .error] | @tsv' results)" \
		"failed	401	HTTP 401: $(captured_reply tx 1 | errors_text '["code","title","detail"]')"
	refute_output --partial "$TX_KEY"
}

@test "telnyx-sms, telnyx-voice: a sender list that names no number stops seq-send before any request" {
	# jobs without a sender of their own take one from SEQ_SMS_FROM or
	# SEQ_VOICE_FROM; a value of separators alone once sent them with
	# no body at all
	sequence text sms
	sequence call voice
	leads '{"external_id":"ann","phone":"+16175550101"}'
	enroll text $T0 ann
	enroll call $T0 ann
	seq-due --now $T0 > all
	assert_equal "$(jq -r .from all | sort -u)" null
	local url
	url=$(capture_start tx --status 200)
	use_telnyx_sms "$url"
	use_telnyx_voice "$url"
	jq -c 'select(.channel == "sms")' all > jobs
	SEQ_SMS_FROM=' , ' send 4
	assert_output ""
	assert_equal "$stderr" "seq-send: the telnyx-sms adapter needs SEQ_SMS_FROM to name at least one number"
	jq -c 'select(.channel == "voice")' all > jobs
	SEQ_VOICE_FROM=' ' send 4
	assert_output ""
	assert_equal "$stderr" "seq-send: the telnyx-voice adapter needs SEQ_VOICE_FROM to name at least one number"
	assert_equal "$(captured_count tx)" 0
	assert_equal "$(sql "SELECT DISTINCT state FROM sequence_executions")" claimed
}

# ======================================================================
# Telnyx Call Control: POST /calls
# ======================================================================

@test "telnyx-voice: every dial passes the Call Control spec, call_control_id comes from its example; the same dials carry number, caller, connection and key intact" {
	world voice
	jobs_hold_the_content say
	use_telnyx_voice "$(prism_url telnyx)"
	prism_mark telnyx
	send 0
	assert_equal "$stderr" ""
	local code example
	code=$(ok_status "$TX_SPEC" /calls)
	all_valid "$(prism_since telnyx 3)" 3 "$code"
	example=$(telnyx_example /calls)
	assert [ -n "$(jq -r '.call_control_id // empty' <<< "$example")" ]
	assert_equal "$(jq -S -c '[.execution_id, .status, .adapter, .http_status, .provider_id, .metadata, .error]' results)" \
		"$(jq -S -c --argjson c "$code" --argjson x "$example" '[.execution_id, "sent", "telnyx-voice", $c,
			$x.call_control_id, {call_leg_id: $x.call_leg_id, call_session_id: $x.call_session_id}, null]' jobs)"

	# the same jobs again, to a capture server: what each request carried
	printf '%s' '{"data":{"call_control_id":"v3:contract-test","call_leg_id":"l","call_session_id":"s"}}' > answer.json
	use_telnyx_voice "$(capture_start tx --status 200 --body answer.json)"
	send 0 --db twin.db
	assert_equal "$stderr" ""
	assert_equal "$(captured_count tx)" 3
	# the words are not part of the dial: they are spoken once the call is
	# answered, so the awkward and the 100 KB "say" must not travel here
	jq -S -s 'map({key: (.client_state | @base64d), to, from, connection_id,
		answering_machine_detection, webhook_url, keys: keys}) | sort_by(.key)' \
		"$BATS_TEST_TMPDIR"/tx/*.body > got
	jq -S -s --arg c "$CONNECTION" --arg w "$SEQ_TELNYX_WEBHOOK_URL" 'map({key, to, from,
		connection_id: $c, answering_machine_detection: "detect", webhook_url: $w,
		keys: ["answering_machine_detection", "client_state", "connection_id", "from", "to", "webhook_url"]}) |
		sort_by(.key)' jobs > want
	assert_equal "$(cat got)" "$(cat want)"
	assert_equal "$(jq -r .provider_id results | sort -u)" v3:contract-test
}

@test "telnyx-voice: when the call is answered, seq-event --live speaks the step's words: each speak action passes the spec, the words arrive intact" {
	world voice
	jobs_hold_the_content say
	use_telnyx_voice "$(prism_url telnyx)"
	send 0
	seq-log --now $T0 < results > /dev/null
	# a call.answered webhook per dial, as Telnyx posts them, naming the
	# call by the id Prism's example gave and carrying the key back
	jq -c --arg t "$T0" --slurpfile r results '. as $j | ($r[] | select(.execution_id == $j.execution_id)) as $res |
		{data: {event_type: "call.answered", id: ("answered-" + $j.key), occurred_at: $t,
		payload: {call_control_id: $res.provider_id, client_state: ($j.key | @base64), to: $j.to}}}' jobs > answered
	local code
	code=$(ok_status "$TX_SPEC" '/calls/{call_control_id}/actions/speak')
	prism_mark telnyx
	run --separate-stderr seq-event --live --now $T0 --from telnyx < answered
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(jq -r .type <<< "$output" | sort | uniq -c | awk '{ print $1, $2 }')" "3 answered"
	all_valid "$(prism_since telnyx 3)" 3 "$code"
	# delivered again, the webhooks are old news: nothing is spoken twice
	prism_mark telnyx
	run --separate-stderr seq-event --live --now $T0 --from telnyx < answered
	assert_success
	assert_output ""
	assert_equal "$(grep -c 'Request received' <<< "$(prism_since telnyx 0)")" 0

	# the same again with a capture server: the words, whole, in "payload"
	sqlite3 twin.db "UPDATE sequence_executions SET provider_id = 'v3:' || key"
	jq -c '.data.payload.call_control_id = "v3:" + (.data.payload.client_state | @base64d) |
		.data.id += "-twin"' answered > answered.twin
	printf '%s' '{"data":{"result":"ok"}}' > answer.json
	use_telnyx_voice "$(capture_start tx --status 200 --body answer.json)"
	SEQ_DB=twin.db run --separate-stderr seq-event --live --now $T0 --from telnyx < answered.twin
	assert_success
	assert_equal "$(captured_count tx)" 3
	jq -S -s 'map({payload, voice, language, key: (.client_state | @base64d)}) | sort_by(.key)' \
		"$BATS_TEST_TMPDIR"/tx/*.body > got
	jq -S -s 'map({payload: .say, voice: "female", language: "en-US", key}) | sort_by(.key)' jobs > want
	assert_equal "$(cat got)" "$(cat want)"
	grep -q -F "POST /calls/v3%3A" "$BATS_TEST_TMPDIR"/tx/*.head
}

@test "telnyx-voice: a dial without connection_id is a Violation, and a failed result with the spec's 422 example" {
	sequence s voice +12025550100
	leads '{"external_id":"ann","phone":"+16175550101"}'
	enroll s $T0 ann
	seq-due --now $T0 > jobs
	# nothing a job or the configuration holds can make the adapter's dial
	# invalid (every field is a free string, answering_machine_detection a
	# fixed valid value): the capture server drops a required field
	use_telnyx_voice "$(capture_start tx --forward "$(prism_url telnyx)" --drop-field connection_id)"
	prism_mark telnyx
	send 1
	assert_equal "$stderr" ""
	captured tx 1 | jq -e --arg c "$CONNECTION" '.connection_id == $c'
	local log why
	log=$(prism_since telnyx 1)
	assert_equal "$(grep -o 'Violation: .*' <<< "$log")" \
		"Violation: request.body Request body must have required property 'connection_id'"
	assert_equal "$(captured_status tx 1)" 422
	# Prism answers with the first of the 422's examples
	why=$(spec "$TX_SPEC" -c <<< '.paths["/calls"].post.responses["422"] | ref |
		.content["application/json"].examples | to_entries[0].value.value' | errors_text '["code","title","detail"]')
	assert [ -n "$why" ]
	assert_equal "$(jq -r '[.status, .http_status, .provider_id, .error] | @tsv' results)" \
		"failed	422		HTTP 422: $why"
}

@test "telnyx-voice: the API key goes as Authorization: Bearer; without it Prism refuses the dial" {
	sequence s voice +12025550100
	leads '{"external_id":"ann","phone":"+16175550101"}'
	enroll s $T0 ann
	seq-due --now $T0 > jobs
	use_telnyx_voice "$(capture_start tx --forward "$(prism_url telnyx)" --drop-header Authorization)"
	prism_mark telnyx
	send 1
	assert_equal "$stderr" ""
	assert_equal "$(captured_head tx 1 | head -n 1)" "POST /calls HTTP/1.1"
	assert_equal "$(captured_head tx 1 | grep -i '^authorization:')" "Authorization: Bearer $TX_KEY"
	local log
	log=$(prism_since telnyx 1)
	assert_equal "$(grep -o 'Violation: .*' <<< "$log")" "Violation: request Invalid security scheme used"
	assert_equal "$(captured_status tx 1)" 401
	# /calls names no 401: Prism makes one up from the spec's error schema
	assert_equal "$(jq -r '[.status, .http_status, .error] | @tsv' results)" \
		"failed	401	HTTP 401: $(captured_reply tx 1 | errors_text '["code","title","detail"]')"
	refute_output --partial "$TX_KEY"
}
