#!/usr/bin/env bats
# seq-hook behind a real web server: lighttpd, from Debian, runs it as a CGI
# under /hook (lighttpd.bash), with its configuration in the environment
# the server gives it, as a deployment would.  Keys and signatures come from
# OpenSSL's command line, made the way SendGrid (ECDSA P-256 over timestamp
# and body) and Telnyx (Ed25519 over "timestamp|body") make theirs.
# What is proved: a genuine webhook is on disk, whole, when it is answered;
# anything else is refused with the right status, leaves nothing in the
# spool, and leaves its reason, and only its reason, in the server's error
# log.
#
# The requests of a test go out from one curl, one after another on one
# connection (--next): a process costs tens of milliseconds on a loaded
# machine, and a test makes up to twenty requests.  Each request still has
# its own expected status, and its own line (or none) in the log, in order.

load test_helper
load lighttpd

# Absolute: lighttpd starts the program by this path.
HOOK_BIN="$(cd "$SEQ_BIN" 2> /dev/null && pwd || echo "$SEQ_BIN")/seq-hook"

T0=2026-11-23T10:00:00Z
KEYS="$BATS_FILE_TMPDIR"

# Plain and random-looking: no other text of a run shares eight characters
# in a row with them, so a grep for any piece of one finds only a leak.
PM_USER=hookuser
PM_PASS=Vq7Lr2Wz9Kd4Tn
BAD_PASS=Jw3Yp8Hs5Nc1Bf
BODY_MARK=Mx4Rq8Zt2Wv6Gk

TOLERANCE_WHY="the timestamp is outside the tolerance (a replay, or a clock out of step)"
NOT_MATCHED="the signature does not match"
UNAUTHORIZED="401 Unauthorized"

# One key pair of each kind for the provider, and one each for somebody
# else; the public halves as each provider shows them: SendGrid base64 of
# the DER SubjectPublicKeyInfo, Telnyx base64 of the raw 32 bytes (the tail
# of that DER).
setup_file() {
	command -v openssl > /dev/null || return 0
	cd "$KEYS" || return 1
	openssl ecparam -name prime256v1 -genkey -noout -out sg.pem 2> /dev/null
	openssl ecparam -name prime256v1 -genkey -noout -out sg-other.pem 2> /dev/null
	openssl genpkey -algorithm ed25519 -out tx.pem 2> /dev/null
	openssl genpkey -algorithm ed25519 -out tx-other.pem 2> /dev/null
	SG_PUB=$(openssl ec -in sg.pem -pubout -outform DER 2> /dev/null | base64 -w0)
	TX_PUB=$(openssl pkey -in tx.pem -pubout -outform DER | tail -c 32 | base64 -w0)
	[ -n "$SG_PUB" ] && [ "$(printf '%s' "$TX_PUB" | base64 -d | wc -c)" -eq 32 ]
	# what a client sends in Authorization: secrets too, right or wrong
	PM_CRED=$(printf '%s:%s' "$PM_USER" "$PM_PASS" | base64 -w0)
	BAD_CRED=$(printf '%s:%s' "$PM_USER" "$BAD_PASS" | base64 -w0)
	T0_EPOCH=$(date -u -d "$T0" +%s)
	export SG_PUB TX_PUB PM_CRED BAD_CRED T0_EPOCH
}

setup() {
	common_setup
	lighttpd_need
	command -v openssl > /dev/null || skip "needs openssl to make keys and signatures"
	# a build without seq-hook is broken, not a reason to skip
	[ -x "$HOOK_BIN" ] || fail "no seq-hook in $SEQ_BIN"
	SPOOL="$BATS_TEST_TMPDIR/spool"
	shopt -s globstar nullglob
	: > leak-patterns
	secret "$PM_PASS"
	secret "$PM_CRED"
	secret "$BAD_PASS"
	secret "$BAD_CRED"
	secret "$BODY_MARK"
	batch_reset
}

teardown() { lighttpd_stop; }

# Every piece of eight characters of a secret (or of the bodies' marker)
# goes to leak-patterns, so that one shown even in part is found.
secret() {
	local i
	for ((i = 0; i + 8 <= ${#1}; i++)); do
		printf '%s\n' "${1:i:8}"
	done >> "$BATS_TEST_TMPDIR/leak-patterns"
}

# hook_server NAME=VALUE...: lighttpd with seq-hook under /hook, every
# provider configured, and NAME=VALUE... besides.
hook_server() {
	lighttpd_start /hook "$HOOK_BIN" "SEQ_SPOOL=$SPOOL" \
		"SEQ_SENDGRID_WEBHOOK_KEY=$SG_PUB" "SEQ_TELNYX_PUBLIC_KEY=$TX_PUB" \
		"SEQ_POSTMARK_WEBHOOK_USER=$PM_USER" \
		"SEQ_POSTMARK_WEBHOOK_PASSWORD=$PM_PASS" "$@"
	HOOK="$LIGHTTPD_URL/hook"
}

# ---- payloads, each holding BODY_MARK, written to files ----

# A SendGrid event batch: two events of one message, with the custom_args
# the adapter sets at the top level of each, where SendGrid puts them.
sg_body() {
	cat > "$1" <<-JSON
	[{"email":"ann@example.com","timestamp":1795427990,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","event":"processed","category":["intro"],"sg_event_id":"cHJvY2Vzc2VkLTEyMzQ","sg_message_id":"Qx7ZpL2vTfKc0aBn.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0","seq_key":"k1.1.1.1","seq_execution_id":"1"},
	 {"email":"ann@example.com","timestamp":1795427993,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>","event":"delivered","category":["intro"],"sg_event_id":"ZGVsaXZlcmVkLTU2Nzg","sg_message_id":"Qx7ZpL2vTfKc0aBn.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0","response":"250 2.0.0 OK $BODY_MARK","seq_key":"k1.1.1.1","seq_execution_id":"1"}]
	JSON
}

# A Telnyx inbound SMS with a word of UTF-8, and no newline at the end.
tx_body() {
	printf '%s' '{"data":{"record_type":"event","id":"bf6307bd-884d-4c1f-b6ea-c62b8c495d3c","event_type":"message.received","occurred_at":"2026-11-23T09:59:58.574+00:00","payload":{"record_type":"message","direction":"inbound","id":"7ee4241c-f127-47e5-9c34-3aac291f8058","type":"SMS","from":{"phone_number":"+12025550143","carrier":"T-MOBILE USA, INC.","line_type":"Wireless"},"to":[{"phone_number":"+12025550100","status":"webhook_delivered"}],"text":"Merci, à mardi '"$BODY_MARK"'","media":[],"encoding":"UCS-2","parts":1}},"meta":{"attempt":1,"delivered_to":"https://hooks.example.com/hook/telnyx"}}' > "$1"
}

# A Postmark delivery webhook, with CRLF line ends.
pm_body() {
	printf '{"RecordType":"Delivery","ServerID":23,"MessageStream":"outbound",\r\n"MessageID":"883953f4-6105-42a2-a16a-77a8eac79483","Recipient":"ann@example.com","Tag":"intro",\r\n"DeliveredAt":"2026-11-23T09:59:59Z","Details":"smtp;250 2.0.0 OK %s","Metadata":{"seq_key":"k1.1.1.1"}}\r\n' \
		"$BODY_MARK" > "$1"
}

# A Postmark inbound message: a reply.
pmi_body() {
	cat > "$1" <<-JSON
	{"FromName":"Ann Example","MessageStream":"inbound","From":"ann@example.com","FromFull":{"Email":"ann@example.com","Name":"Ann Example","MailboxHash":""},"To":"reply@example.com","Subject":"Re: Hello","MessageID":"22c74902-a0c1-4511-804f-341342852c90","Date":"Mon, 23 Nov 2026 09:58:00 +0000","TextBody":"Yes, Tuesday works. $BODY_MARK","StrippedTextReply":"Yes, Tuesday works.","Headers":[{"Name":"In-Reply-To","Value":"<k1.1.1.1@example.com>"}],"Attachments":[]}
	JSON
}

# SendGrid's Inbound Parse: multipart/form-data with its fields and an
# attachment of raw bytes (NUL, 0xFF, a bare CR, a line that looks like a
# boundary) that only a byte-for-byte copy keeps.
SGI_BOUNDARY=xYzzy0Boundary7f3a
sgi_body() {
	local b=$SGI_BOUNDARY
	{
		printf -- '--%s\r\nContent-Disposition: form-data; name="headers"\r\n\r\n' "$b"
		printf 'Message-ID: <CAF9Qx@mail.example.com>\nIn-Reply-To: <k1.1.1.1@example.com>\nFrom: Ann Example <ann@example.com>\nSubject: Re: Hello\n'
		printf '\r\n--%s\r\nContent-Disposition: form-data; name="from"\r\n\r\nAnn Example <ann@example.com>' "$b"
		printf '\r\n--%s\r\nContent-Disposition: form-data; name="to"\r\n\r\nreply@parse.example.com' "$b"
		printf '\r\n--%s\r\nContent-Disposition: form-data; name="subject"\r\n\r\nRe: Hello' "$b"
		printf '\r\n--%s\r\nContent-Disposition: form-data; name="text"\r\n\r\nYes, Tuesday works. %s\n' "$b" "$BODY_MARK"
		printf '\r\n--%s\r\nContent-Disposition: form-data; name="envelope"\r\n\r\n{"to":["reply@parse.example.com"],"from":"ann@example.com"}' "$b"
		printf '\r\n--%s\r\nContent-Disposition: form-data; name="attachments"\r\n\r\n1' "$b"
		printf '\r\n--%s\r\nContent-Disposition: form-data; name="attachment1"; filename="a.bin"\r\nContent-Type: application/octet-stream\r\n\r\n' "$b"
		printf '\000\001\377\376\r--not-it\r\n\000'
		printf '\r\n--%s--\r\n' "$b"
	} > "$1"
}

# ---- signatures ----

# sg_sign KEY TIMESTAMP BODYFILE: sets SIG.
sg_sign() {
	SIG=$({ printf '%s' "$2"; cat "$3"; } | openssl dgst -sha256 -sign "$KEYS/$1.pem" | base64 -w0)
	[ -n "$SIG" ]
}

# tx_sign KEY TIMESTAMP BODYFILE: sets SIG.
tx_sign() {
	{ printf '%s|' "$2"; cat "$3"; } > "$BATS_TEST_TMPDIR/tx-message"
	SIG=$(openssl pkeyutl -sign -rawin -inkey "$KEYS/$1.pem" -in "$BATS_TEST_TMPDIR/tx-message" | base64 -w0)
	[ -n "$SIG" ]
}

# ---- a batch of requests ----

batch_reset() {
	BATCH=()
	WANT_STATUS=()
	WANT_LOG=()
	NREQ=0
}

# req STATUS PROVIDER REASON PATH BODYFILE [curl option...]: one request
# for the batch, BODYFILE "-" for none; it must be answered STATUS and
# leave in the error log the line that gives PROVIDER and REASON, or no
# line at all when REASON is "".  Its answer is kept in answer.N and
# headers.N, N from 0.
req() {
	local status=$1 provider=$2 why=$3 path=$4 body=$5
	shift 5
	((NREQ == 0)) || BATCH+=(--next)
	BATCH+=(-sS --noproxy '*' --max-time 10 -H 'Expect:'
		-o "$BATS_TEST_TMPDIR/answer.$NREQ" -D "$BATS_TEST_TMPDIR/headers.$NREQ"
		-w '%{http_code}\n')
	[ "$body" = - ] || BATCH+=(--data-binary "@$body")
	BATCH+=("$@" "$HOOK$path")
	WANT_STATUS+=("${status%% *}")
	[ -z "$why" ] || WANT_LOG+=("seq-hook: $provider: $status: $why (from 127.0.0.1)")
	NREQ=$((NREQ + 1))
}

# A SendGrid request: "-" leaves out the timestamp or the signature header.
# sg_req STATUS REASON BODYFILE TIMESTAMP SIGNATURE
sg_req() {
	local h=(-H 'Content-Type: application/json')
	[ "$4" = - ] || h+=(-H "X-Twilio-Email-Event-Webhook-Timestamp: $4")
	[ "$5" = - ] || h+=(-H "X-Twilio-Email-Event-Webhook-Signature: $5")
	req "$1" sendgrid "$2" /sendgrid "$3" "${h[@]}"
}

# tx_req STATUS REASON BODYFILE TIMESTAMP SIGNATURE, the same for Telnyx.
tx_req() {
	local h=(-H 'Content-Type: application/json')
	[ "$4" = - ] || h+=(-H "telnyx-timestamp: $4")
	[ "$5" = - ] || h+=(-H "telnyx-signature-ed25519: $5")
	req "$1" telnyx "$2" /telnyx "$3" "${h[@]}"
}

# Lines seq-hook wrote to the error log, in HOOK_LINES.
hook_lines() {
	local line
	HOOK_LINES=()
	while IFS= read -r line; do
		[[ $line != "seq-hook: "* ]] || HOOK_LINES+=("$line")
	done < "$LIGHTTPD_LOG"
}

# Sends the batch: every request answered as it should be, and the error
# log grown by exactly the lines expected, in order.
send() {
	local -a got
	local i before
	hook_lines
	before=${#HOOK_LINES[@]}
	mapfile -t got < <(curl "${BATCH[@]}")
	assert_equal "${#got[@]}" "$NREQ"
	for ((i = 0; i < NREQ; i++)); do
		[ "${got[i]}" = "${WANT_STATUS[i]}" ] ||
			fail "request $i of $NREQ: status ${got[i]}, expected ${WANT_STATUS[i]}"
	done
	hook_lines
	assert_equal "$(printf '%s\n' "${HOOK_LINES[@]:before}")" "$(printf '%s\n' "${WANT_LOG[@]}")"
	batch_reset
}

# ---- what the spool holds ----

# Every file under the spool, whatever directory, in SPOOL_FILES (relative).
spool_files() {
	local f
	SPOOL_FILES=()
	for f in "$SPOOL"/**; do
		[ ! -f "$f" ] || SPOOL_FILES+=("${f#"$SPOOL"/}")
	done
}

assert_spool_empty() {
	spool_files
	assert_equal "${SPOOL_FILES[*]}" ""
}

# assert_spooled N PROVIDER: N files in new/ for PROVIDER, no other file
# for it anywhere; their paths in SPOOLED.
assert_spooled() {
	local f all=()
	SPOOLED=("$SPOOL"/new/*."$2")
	spool_files
	for f in "${SPOOL_FILES[@]}"; do
		[[ $f != *."$2" ]] || all+=("$f")
	done
	assert_equal "${#SPOOLED[@]} ${#all[@]}" "$1 $1"
}

# assert_body FILE BODYFILE: past its first line, the spool file and the
# body are the same bytes, and end together.
assert_body() {
	local meta n
	IFS= read -r meta < "$1"
	n=$(LC_ALL=C; echo $((${#meta} + 1)))
	cmp -i "$n:0" "$1" "$2"
}

# assert_whole FILE PROVIDER BODYFILE CONTENT_TYPE RECEIVED_AT [QUERY]: a
# spool file is a meta line saying so, then the body, byte for byte.
assert_whole() {
	local meta
	IFS= read -r meta < "$1"
	run jq -ec --arg p "$2" --arg t "$4" --argjson at "$5" --arg q "${6:-}" \
		'select(.provider == $p and .content_type == $t and .received_at == $at and .query == $q) | keys' <<< "$meta"
	assert_success
	assert_output '["content_type","provider","query","received_at"]'
	assert_body "$1" "$3"
}

# The error log shows no piece of a secret or of a body and no sanitizer
# report, and the server is still up.
assert_log_clean() {
	run grep -F -f "$BATS_TEST_TMPDIR/leak-patterns" "$LIGHTTPD_LOG"
	assert_failure 1
	run grep -E 'Sanitizer|runtime error:' "$LIGHTTPD_LOG"
	assert_failure 1
	lighttpd_alive
}

# ---- accepted ----

@test "signed SendGrid and Telnyx webhooks are answered 204 and spooled once, byte for byte" {
	# a web server as strict as they come: its umask must not decide who
	# may drain the spool
	umask 077
	hook_server "SEQ_NOW=$T0"
	sg_body sg.json
	tx_body tx.json
	sg_sign sg $T0_EPOCH sg.json
	sg_req 204 "" sg.json $T0_EPOCH "$SIG"
	tx_sign tx $T0_EPOCH tx.json
	tx_req 204 "" tx.json $T0_EPOCH "$SIG"
	send
	# 204: nothing to say, and nothing said
	[ ! -s answer.0 ] && [ ! -s answer.1 ]
	assert_spooled 1 sendgrid
	assert_whole "${SPOOLED[0]}" sendgrid sg.json application/json $T0_EPOCH
	assert_spooled 1 telnyx
	assert_whole "${SPOOLED[0]}" telnyx tx.json application/json $T0_EPOCH
	# written to tmp/, then renamed: nothing left behind
	spool_files
	assert_equal "${#SPOOL_FILES[@]}" 2
	# made by the web server's user, for an admin's group to drain: the
	# directories group-writable and setgid, the files group-readable,
	# whatever the server's umask (lighttpd has the test's, made strict)
	assert_equal "$(stat -c '%a' "$SPOOL" "$SPOOL/new" "$SPOOL/tmp" "$SPOOL"/new/* | paste -sd ' ')" \
		"2770 2770 2770 640 640"
	assert_log_clean
}

@test "Postmark, Postmark inbound and SendGrid Inbound Parse with the right basic credentials are spooled once, byte for byte" {
	hook_server "SEQ_NOW=$T0"
	pm_body pm.json
	pmi_body pmi.json
	sgi_body sgi.form
	# the query string is kept beside the body, for whoever reads it
	req 204 postmark "" '/postmark?stream=outbound' pm.json -u "$PM_USER:$PM_PASS" \
		-H 'Content-Type: application/json'
	req 204 postmark-inbound "" /postmark-inbound pmi.json -u "$PM_USER:$PM_PASS" \
		-H 'Content-Type: application/json; charset=utf-8'
	# the boundary is in the content type: seq-event needs it to read the form
	req 204 sendgrid-inbound "" /sendgrid-inbound sgi.form -u "$PM_USER:$PM_PASS" \
		-H "Content-Type: multipart/form-data; boundary=$SGI_BOUNDARY"
	send
	assert_spooled 1 postmark
	assert_whole "${SPOOLED[0]}" postmark pm.json application/json $T0_EPOCH stream=outbound
	assert_spooled 1 postmark-inbound
	assert_whole "${SPOOLED[0]}" postmark-inbound pmi.json 'application/json; charset=utf-8' $T0_EPOCH
	assert_spooled 1 sendgrid-inbound
	assert_whole "${SPOOLED[0]}" sendgrid-inbound sgi.form "multipart/form-data; boundary=$SGI_BOUNDARY" $T0_EPOCH
	spool_files
	assert_equal "${#SPOOL_FILES[@]}" 3
	assert_log_clean
}

@test "the configuration may come from a private file that the server names in SEQ_CONFIG" {
	# the server's environment holds the file's name, not the secrets
	{
		echo "SEQ_SPOOL=$SPOOL"
		echo "SEQ_SENDGRID_WEBHOOK_KEY=$SG_PUB"
		echo "SEQ_POSTMARK_WEBHOOK_USER=$PM_USER"
		echo "SEQ_POSTMARK_WEBHOOK_PASSWORD=$PM_PASS"
	} > hook.conf
	chmod 600 hook.conf
	lighttpd_start /hook "$HOOK_BIN" "SEQ_CONFIG=$BATS_TEST_TMPDIR/hook.conf" "SEQ_NOW=$T0"
	HOOK="$LIGHTTPD_URL/hook"
	run grep -c "$PM_PASS" "$LIGHTTPD_DIR/lighttpd.conf"
	assert_output 0
	pm_body pm.json
	sg_body sg.json
	sg_sign sg $T0_EPOCH sg.json
	req "$UNAUTHORIZED" postmark "the credentials do not match" /postmark pm.json -u "$PM_USER:$BAD_PASS"
	req 204 postmark "" /postmark pm.json -u "$PM_USER:$PM_PASS" -H 'Content-Type: application/json'
	sg_req 204 "" sg.json $T0_EPOCH "$SIG"
	send
	assert_spooled 1 postmark
	assert_whole "${SPOOLED[0]}" postmark pm.json application/json $T0_EPOCH
	assert_spooled 1 sendgrid
	assert_log_clean
}

# ---- refused ----

@test "refused 401: a changed byte, another key, a stale or future timestamp, no signature, no timestamp" {
	hook_server "SEQ_NOW=$T0"
	local t0=$T0_EPOCH p sig
	sg_body sg.json
	tx_body tx.json
	# one byte changed in each
	sed 's/"250 2/"251 2/' sg.json > sg-changed.json
	sed 's/à mardi/à merdi/' tx.json > tx-changed.json
	assert_equal "$(cmp sg.json sg-changed.json | wc -l) $(cmp tx.json tx-changed.json | wc -l)" "1 1"
	assert_equal "$(wc -c < sg.json) $(wc -c < tx.json)" "$(wc -c < sg-changed.json) $(wc -c < tx-changed.json)"
	for p in sg tx; do
		${p}_sign $p $t0 $p.json
		sig=$SIG
		${p}_req "$UNAUTHORIZED" "$NOT_MATCHED" $p-changed.json $t0 "$sig"
		# signed, but over another timestamp than the one sent
		${p}_req "$UNAUTHORIZED" "$NOT_MATCHED" $p.json $((t0 + 1)) "$sig"
		${p}_req "$UNAUTHORIZED" "no signature header" $p.json $t0 -
		${p}_req "$UNAUTHORIZED" "no timestamp header" $p.json - "$sig"
		${p}_req "$UNAUTHORIZED" "the signature is not base64" $p.json $t0 "${sig:1}"
		${p}_sign $p-other $t0 $p.json
		${p}_req "$UNAUTHORIZED" "$NOT_MATCHED" $p.json $t0 "$SIG"
		# signed right, but too old or too new; the default window is
		# 300 s each way, its ends included
		${p}_sign $p $((t0 - 301)) $p.json
		${p}_req "$UNAUTHORIZED" "$TOLERANCE_WHY" $p.json $((t0 - 301)) "$SIG"
		${p}_sign $p $((t0 + 301)) $p.json
		${p}_req "$UNAUTHORIZED" "$TOLERANCE_WHY" $p.json $((t0 + 301)) "$SIG"
	done
	send
	assert_spool_empty
	# a signature is not asked for with a Basic challenge
	run grep -il '^WWW-Authenticate:' headers.{0..15}
	assert_failure 1
	# the server would have taken the same bodies, fresh and rightly signed
	sg_sign sg $((t0 - 300)) sg.json
	sg_req 204 "" sg.json $((t0 - 300)) "$SIG"
	tx_sign tx $((t0 + 300)) tx.json
	tx_req 204 "" tx.json $((t0 + 300)) "$SIG"
	send
	assert_spooled 1 sendgrid
	assert_spooled 1 telnyx
	assert_log_clean
}

@test "SEQ_WEBHOOK_TOLERANCE from the server's environment sets the window" {
	hook_server "SEQ_NOW=$T0" SEQ_WEBHOOK_TOLERANCE=60
	local t0=$T0_EPOCH
	sg_body sg.json
	tx_body tx.json
	sg_sign sg $((t0 - 61)) sg.json
	sg_req "$UNAUTHORIZED" "$TOLERANCE_WHY" sg.json $((t0 - 61)) "$SIG"
	tx_sign tx $((t0 + 61)) tx.json
	tx_req "$UNAUTHORIZED" "$TOLERANCE_WHY" tx.json $((t0 + 61)) "$SIG"
	send
	assert_spool_empty
	sg_sign sg $((t0 + 60)) sg.json
	sg_req 204 "" sg.json $((t0 + 60)) "$SIG"
	tx_sign tx $((t0 - 60)) tx.json
	tx_req 204 "" tx.json $((t0 - 60)) "$SIG"
	send
	assert_spooled 1 sendgrid
	assert_spooled 1 telnyx
	assert_log_clean
}

@test "refused 401: wrong or missing basic credentials, on each provider that uses them" {
	hook_server "SEQ_NOW=$T0"
	local p f
	pm_body postmark
	pmi_body postmark-inbound
	sgi_body sendgrid-inbound
	for p in postmark postmark-inbound sendgrid-inbound; do
		req "$UNAUTHORIZED" $p "the credentials do not match" /$p $p -u "$PM_USER:$BAD_PASS"
		req "$UNAUTHORIZED" $p "no basic credentials" /$p $p
	done
	# the password cut short by one, the right password with the wrong
	# user, another scheme, and not base64
	req "$UNAUTHORIZED" postmark "the credentials do not match" /postmark postmark -u "$PM_USER:${PM_PASS%?}"
	req "$UNAUTHORIZED" postmark "the credentials do not match" /postmark postmark -u "someone:$PM_PASS"
	req "$UNAUTHORIZED" postmark "no basic credentials" /postmark postmark -H "Authorization: Bearer $PM_PASS"
	req "$UNAUTHORIZED" postmark "the credentials are not base64" /postmark postmark -H 'Authorization: Basic a*b?c!d='
	send
	assert_spool_empty
	# and the server asks for them
	for f in headers.{0..9}; do
		grep -qix $'WWW-Authenticate: Basic realm="seqtools"\r' "$f"
	done
	req 204 sendgrid-inbound "" /sendgrid-inbound sendgrid-inbound -u "$PM_USER:$PM_PASS" \
		-H "Content-Type: multipart/form-data; boundary=$SGI_BOUNDARY"
	send
	assert_spooled 1 sendgrid-inbound
	spool_files
	assert_equal "${#SPOOL_FILES[@]}" 1
	assert_log_clean
}

@test "refused 401: a provider whose key or credentials are not configured, however well signed" {
	# SendGrid's key only
	lighttpd_start /hook "$HOOK_BIN" "SEQ_SPOOL=$SPOOL" "SEQ_NOW=$T0" "SEQ_SENDGRID_WEBHOOK_KEY=$SG_PUB"
	HOOK="$LIGHTTPD_URL/hook"
	local t0=$T0_EPOCH
	tx_body tx.json
	pm_body pm.json
	pmi_body pmi.json
	sg_body sg.json
	tx_sign tx $t0 tx.json
	tx_req "$UNAUTHORIZED" "SEQ_TELNYX_PUBLIC_KEY is not configured" tx.json $t0 "$SIG"
	req "$UNAUTHORIZED" postmark "SEQ_POSTMARK_WEBHOOK_USER and SEQ_POSTMARK_WEBHOOK_PASSWORD are not configured" \
		/postmark pm.json -u "$PM_USER:$PM_PASS"
	# no credentials configured is not "no credentials needed"
	req "$UNAUTHORIZED" postmark-inbound "SEQ_POSTMARK_WEBHOOK_USER and SEQ_POSTMARK_WEBHOOK_PASSWORD are not configured" \
		/postmark-inbound pmi.json
	send
	assert_spool_empty
	sg_sign sg $t0 sg.json
	sg_req 204 "" sg.json $t0 "$SIG"
	send
	assert_spooled 1 sendgrid
	assert_log_clean
}

@test "refused 413: a body over SEQ_WEBHOOK_MAX_BYTES, sent whole or chunked; one of exactly that size is taken" {
	hook_server SEQ_WEBHOOK_MAX_BYTES=1024
	{
		printf '{"m":"%s","pad":"' "$BODY_MARK"
		printf '%*s' 2000 '' | tr ' ' x
		printf '"}'
	} > big.json
	head -c 1025 big.json > over.json
	head -c 1024 big.json > exact.json
	{ cat big.json; printf '%*s' 65536 ''; } > huge.json
	# the credentials are right: the size alone refuses these
	req "413 Content Too Large" postmark "the body is larger than SEQ_WEBHOOK_MAX_BYTES" \
		/postmark over.json -u "$PM_USER:$PM_PASS"
	req "413 Content Too Large" postmark "the body is larger than SEQ_WEBHOOK_MAX_BYTES" \
		/postmark huge.json -u "$PM_USER:$PM_PASS"
	# no Content-Length from the client: lighttpd counts the body itself
	req "413 Content Too Large" postmark "the body is larger than SEQ_WEBHOOK_MAX_BYTES" \
		/postmark over.json -u "$PM_USER:$PM_PASS" -H 'Transfer-Encoding: chunked'
	send
	assert_spool_empty
	req 204 postmark "" /postmark exact.json -u "$PM_USER:$PM_PASS"
	send
	assert_spooled 1 postmark
	assert_body "${SPOOLED[0]}" exact.json
	assert_log_clean
}

@test "refused 405 for GET and PUT, 404 for a path that names no provider" {
	hook_server "SEQ_NOW=$T0"
	pm_body pm.json
	# a wrong method is refused before the path names a provider
	req "405 Method Not Allowed" - "only POST is taken" /sendgrid -
	req "405 Method Not Allowed" - "only POST is taken" /postmark pm.json -X PUT -u "$PM_USER:$PM_PASS"
	req "404 Not Found" - "no such provider path" /mailgun pm.json -u "$PM_USER:$PM_PASS"
	req "404 Not Found" - "no such provider path" /SendGrid pm.json -u "$PM_USER:$PM_PASS"
	req "404 Not Found" - "no such provider path" /postmark/extra pm.json -u "$PM_USER:$PM_PASS"
	req "404 Not Found" - "no such provider path" / pm.json -u "$PM_USER:$PM_PASS"
	# lighttpd's own 404 for /hooks/postmark, beside /hook: seq-hook does
	# not run at all
	req "404 Not Found" - "" s/postmark pm.json -u "$PM_USER:$PM_PASS"
	send
	grep -qix $'Allow: POST\r' headers.0
	grep -qix $'Allow: POST\r' headers.1
	assert_spool_empty
	assert_log_clean
}

# ---- redelivery ----

@test "the same webhook posted five times is spooled five times; seq-event --spool records it once" {
	init_db
	# the real clock, in seq-hook and in the signature
	hook_server
	local ts before after i meta
	leads '{"external_id":"ann","email":"ann@example.com"}'
	sg_body sg.json
	before=$(date +%s)
	ts=$before
	sg_sign sg $ts sg.json
	for i in 1 2 3 4 5; do
		sg_req 204 "" sg.json $ts "$SIG"
	done
	send
	after=$(date +%s)
	assert_spooled 5 sendgrid
	for i in "${SPOOLED[@]}"; do
		IFS= read -r meta < "$i"
		run jq -e --argjson lo $before --argjson hi $after \
			'.provider == "sendgrid" and .received_at >= $lo and .received_at <= $hi' <<< "$meta"
		assert_success
		assert_body "$i" sg.json
	done
	# "processed" means nothing here; "delivered" is one event, however
	# often it came
	run --separate-stderr seq-event --spool "$SPOOL"
	assert_success
	assert_equal "$stderr" ""
	assert_equal "${#lines[@]}" 1
	assert_equal "$(jq -r '[.provider, .provider_event_id, .type, .channel, .execution_key, .provider_message_id, .lead_id] | @tsv' <<< "$output")" \
		"sendgrid	ZGVsaXZlcmVkLTU2Nzg	delivered	email	k1.1.1.1	Qx7ZpL2vTfKc0aBn	1"
	assert_equal "$(sql "SELECT provider || ' ' || provider_event_id || ' ' || type || ' ' || lead_id FROM events")" \
		"sendgrid ZGVsaXZlcmVkLTU2Nzg delivered 1"
	# drained: nothing left, nothing set aside
	assert_spool_empty
	assert [ ! -e "$SPOOL/quarantine" ]
	assert_log_clean
}
