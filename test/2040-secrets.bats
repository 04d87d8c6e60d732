#!/usr/bin/env bats
# Secrets: no key, token or password leaves seq-send except in the request
# that needs it, whatever a provider answers; the configuration file is
# read as seq-send(1) says; and nothing is delivered unless asked.
#
# Every provider here is test/capture-server.py on 127.0.0.1, which keeps
# each request and answer byte for byte: that is how a test proves a secret
# really went out (and so that the greps below would find one).

load test_helper

T0=2026-11-23T10:00:00Z

# One world for the whole file, copied into each test: three leads, each
# with an address and a number, enrolled in a one-step email sequence and a
# one-step SMS sequence, neither of which names a sender (SEQ_EMAIL_FROM and
# SEQ_SMS_FROM choose it).  mailI and smsI hold lead I's jobs, claimed.
setup_file() {
	local i w="$BATS_FILE_TMPDIR/world"
	# the interpreter itself: a version manager's shim in front of it can
	# cost a second a start on a busy machine, and a test starts several
	PYTHON=$(python3 -c 'import sys; print(sys.executable)')
	export PYTHON
	unset SEQ_CONFIG SEQ_EMAIL_FROM SEQ_SMS_FROM SEQ_VOICE_FROM SEQ_NOW
	mkdir "$w"
	export SEQ_DB="$w/seq.db"
	seq-init 2>/dev/null
	seq-def > /dev/null <<'JSON'
{"name":"mail","steps":[{"id":"a","type":"email","subject":"Hi","text":"Hello"}]}
JSON
	seq-def > /dev/null <<'JSON'
{"name":"text","steps":[{"id":"a","type":"sms","text":"Hello"}]}
JSON
	for i in 1 2 3; do
		printf '{"external_id":"l%d","email":"u%d@example.com","phone":"+161755501%02d"}\n' \
			"$i" "$i" "$i"
	done | seq-lead > /dev/null
	printf '{"external_id":"l%d"}\n' 1 2 3 > "$w/ids"
	seq-enroll --sequence mail --now $T0 < "$w/ids" > /dev/null
	seq-enroll --sequence text --now $T0 < "$w/ids" > /dev/null
	seq-due --now $T0 > "$w/jobs"
	for i in 1 2 3; do
		jq -c "select(.lead_id == $i and .channel == \"email\")" "$w/jobs" > "$w/mail$i"
		jq -c "select(.lead_id == $i and .channel == \"sms\")" "$w/jobs" > "$w/sms$i"
		test -s "$w/mail$i"
		test -s "$w/sms$i"
	done
	rm "$w/ids" "$w/jobs"
}

setup() {
	common_setup
	cp "$BATS_FILE_TMPDIR/world/"* .
	: > pids
}

teardown() {
	local pid
	exec 7>&-
	[ -e "$BATS_TEST_TMPDIR/pids" ] || return 0
	# whatever a test started in the background, even when it failed
	while read -r pid; do
		kill "$pid" 2>/dev/null || true
	done < "$BATS_TEST_TMPDIR/pids"
}

SERVER="$BATS_TEST_DIRNAME/capture-server.py"

# Plain ([A-Za-z0-9.-]) so that no JSON or shell quoting hides one from
# grep, and random-looking, without a word in them: no other text in a run
# shares eight characters in a row with any of them.
SG_KEY=SG.q7Zr2mXvK9w.Tn4Lp-Hc3Gd
PM_TOKEN=Tq4Wz8Rk-Vn2Yb7Jd-Hs5Pf
TX_KEY=KEY01F9Qh3Ws7Xa.Mc5Rv6Ne
SMTP_PW=pW.r8Nq2Tz6Lk.Jf4Bx

# Exports the four secrets (unless already set) and writes every piece of
# eight characters of each to leak-patterns, so that a secret shown even in
# part is found.
use_secrets() {
	export SENDGRID_API_KEY=${SENDGRID_API_KEY:-$SG_KEY} \
		POSTMARK_SERVER_TOKEN=${POSTMARK_SERVER_TOKEN:-$PM_TOKEN} \
		TELNYX_API_KEY=${TELNYX_API_KEY:-$TX_KEY} \
		SEQ_SMTP_PASSWORD=${SEQ_SMTP_PASSWORD:-$SMTP_PW}
	printf '%s\n' "$SENDGRID_API_KEY" "$POSTMARK_SERVER_TOKEN" \
		"$TELNYX_API_KEY" "$SEQ_SMTP_PASSWORD" |
		awk '{ for (i = 1; i + 7 <= length($0); i++) print substr($0, i, 8) }' \
		> "$BATS_TEST_TMPDIR/leak-patterns"
}

# The pieces of secrets in the files; fails when there are none.  The
# patterns come from a file: a secret on grep's own command line would be
# one more copy in /proc.
leaks() { grep -a -o -F -f "$BATS_TEST_TMPDIR/leak-patterns" -- "$@"; }

no_leak() {
	local f hits
	for f; do
		assert_file_exists "$f"
	done
	if hits=$(leaks "$@"); then
		fail "secret text in $*: $hits"
	fi
}

# start_server DIR ARGS...: a capture server writing into DIR; sets port.
start_server() {
	local dir=$1 i
	shift
	mkdir "$dir"
	"$PYTHON" "$SERVER" "$BATS_TEST_TMPDIR/$dir" --lifetime 60 "$@" \
		> "$dir.log" 2>&1 3>&- &
	echo $! >> "$BATS_TEST_TMPDIR/pids"
	for ((i = 0; i < 200; i++)); do
		[ -s "$dir/port" ] && break
		sleep 0.05
	done
	port=$(cat "$dir/port")
}

# send NAME INPUT ARGS...: seq-send ARGS < INPUT, bounded in time, with
# stdout in NAME.out and stderr in NAME.err; sets send_pid (to find it in
# the servers' samples of /proc) and send_status.
send() {
	local name=$1 input=$2
	shift 2
	seq-send --now $T0 --timeout 10s --connect-timeout 5s --retry-for 1s "$@" \
		< "$input" > "$name.out" 2> "$name.err" &
	send_pid=$!
	send_status=0
	wait "$send_pid" || send_status=$?
}

# A reader kept open on the database, so that the last writer to close
# leaves its -wal behind, holding what seq-send and seq-log wrote.
hold_db() {
	local i
	mkfifo hold
	"$PYTHON" -c '
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN")
c.execute("SELECT count(*) FROM meta").fetchall()
print("held", flush=True)
sys.stdin.read()
' "$SEQ_DB" < hold > held 2>&1 3>&- &
	holder=$!
	echo "$holder" >> "$BATS_TEST_TMPDIR/pids"
	exec 7> hold
	for ((i = 0; i < 200; i++)); do
		[ -s held ] && break
		sleep 0.05
	done
	assert_equal "$(cat held)" held
}

release_db() {
	exec 7>&-
	wait "$holder"
}

# --- what leaves, and what must not -------------------------------------

@test "sendgrid 202: the key goes out in its header and nowhere else (output, processes, database and -wal)" {
	cat mail1 mail2 > in
	use_secrets
	start_server sg --status 202 --stall 0.5
	export SEQ_EMAIL_ADAPTER=sendgrid SEQ_EMAIL_FROM=sales@example.com \
		SEQ_SENDGRID_URL=http://127.0.0.1:$port
	hold_db
	send run in --live
	assert_equal "$send_status" 0
	assert_equal "$(jq -r '[.status, .adapter, .provider_id] | @tsv' run.out | sort)" \
		"sent	sendgrid	sg-1
sent	sendgrid	sg-2"
	assert_equal "$(cat run.err)" ""
	seq-log --now $T0 < run.out > /dev/null

	# it was sent, as it should be, and the greps below see it there
	assert_equal "$(grep -c -x -F "Authorization: Bearer $SG_KEY"$'\r' sg/requests)" 2
	leaks sg/requests > /dev/null
	# the samples of /proc were taken while this very seq-send ran
	assert_equal "$(grep -c "^$send_pid seq-send --now $T0 " sg/cmdlines)" 2
	# the -wal holds this run's outcomes, readable to grep
	assert_file_exists "$SEQ_DB-wal"
	grep -a -q -F "sg-2" "$SEQ_DB-wal"
	no_leak run.out run.err sg/cmdlines "$SEQ_DB" "$SEQ_DB-wal"
	release_db
	assert_file_not_exists "$SEQ_DB-wal"
	grep -a -q -F "sg-2" "$SEQ_DB"
	no_leak "$SEQ_DB"
}

@test "sendgrid 401 echoing the Authorization header: the error keeps its words, the key becomes ****" {
	cat mail1 mail2 > in
	use_secrets
	start_server sg --status 401 --echo --stall 0.3
	export SEQ_EMAIL_ADAPTER=sendgrid SEQ_EMAIL_FROM=sales@example.com \
		SEQ_SENDGRID_URL=http://127.0.0.1:$port
	hold_db
	send run in --live
	assert_equal "$send_status" 1
	local why='HTTP 401: the header you sent (Authorization: Bearer ****) names no key here'
	assert_equal "$(jq -r '[.status, .http_status, .error] | @tsv' run.out)" \
		"failed	401	$why
failed	401	$why"
	assert_equal "$(cat run.err)" ""
	seq-log --now $T0 < run.out > /dev/null
	assert_equal "$(sql "SELECT state, http_status, error FROM sequence_executions WHERE state != 'claimed'")" \
		"failed|401|$why
failed|401|$why"

	# the key went out, and the careless answer really carried it back
	leaks sg/requests > /dev/null
	assert_equal "$(grep -c -F "(Authorization: Bearer $SG_KEY)" sg/answers)" 2
	assert_equal "$(grep -c "^$send_pid seq-send " sg/cmdlines)" 2
	grep -a -q -F "names no key here" "$SEQ_DB-wal"
	no_leak run.out run.err sg/cmdlines "$SEQ_DB" "$SEQ_DB-wal"
	release_db
	grep -a -q -F "names no key here" "$SEQ_DB"
	no_leak "$SEQ_DB"
}

@test "--verbose shows each request's headers with the credential as **** (sendgrid and telnyx-sms, 401 echoed)" {
	cat mail1 sms1 > in
	use_secrets
	start_server p --status 401 --echo --stall 0.3
	export SEQ_EMAIL_ADAPTER=sendgrid SEQ_EMAIL_FROM=sales@example.com \
		SEQ_SMS_FROM=+12025550100 SEQ_SENDGRID_URL=http://127.0.0.1:$port \
		SEQ_TELNYX_URL=http://127.0.0.1:$port/v2
	local mk sk
	mk=$(jq -r .key mail1)
	sk=$(jq -r .key sms1)
	send run in --live --verbose
	assert_equal "$send_status" 1
	run cat run.err
	assert_line "seq-send: sendgrid: $mk: start: http://127.0.0.1:$port/v3/mail/send"
	assert_line "seq-send: telnyx-sms: $sk: start: http://127.0.0.1:$port/v2/messages"
	# the header is there, and masked
	assert_equal "$(grep -c -x '    Authorization: \*\*\*\*' run.err)" 2
	assert_line --regexp "^seq-send: sendgrid: $mk: failed 401 in [0-9]+ ms: HTTP 401: the header you sent \(Authorization: Bearer \*\*\*\*\) names no key here$"
	assert_line --regexp "^seq-send: telnyx-sms: $sk: failed 401 in [0-9]+ ms: HTTP 401: 10009: Authentication failed: the key in 'Bearer \*\*\*\*' is not valid$"
	assert_equal "$(grep -c -F "Authorization: Bearer $TX_KEY" p/requests)" 1
	assert_equal "$(grep -c -F "Authorization: Bearer $SG_KEY" p/requests)" 1
	no_leak run.out run.err p/cmdlines
	seq-log --now $T0 < run.out > /dev/null
	no_leak "$SEQ_DB"
}

@test "postmark and telnyx-sms: a token echoed into errors, ids or metadata is ****" {
	cat mail1 sms1 > in1
	cat mail2 sms2 > in2
	use_secrets
	start_server ok --status 200 --echo --stall 0.3
	local okport=$port
	start_server no --status 401 --echo
	export SEQ_EMAIL_ADAPTER=postmark SEQ_EMAIL_FROM=sales@example.com \
		SEQ_SMS_FROM=+12025550100
	SEQ_POSTMARK_URL=http://127.0.0.1:$okport SEQ_TELNYX_URL=http://127.0.0.1:$okport/v2 \
		send ok in1 --live --verbose
	assert_equal "$send_status" 0
	assert_equal "$(jq -r '[.adapter, .status, (.provider_id | sub("-[0-9]+ "; "-N ")), .metadata] | @json' ok.out | sort)" \
		'["postmark","sent","pm-N ****",{"submitted_at":"2026-11-23T10:00:00Z ****"}]
["telnyx-sms","sent","tx-N Bearer ****",{"currency":"USD Bearer ****","parts":1}]'
	grep -q -F "X-Postmark-Server-Token: ****" ok.err
	# both went out, and both came back in the answers
	assert_equal "$(grep -c -F "X-Postmark-Server-Token: $PM_TOKEN" ok/requests)" 1
	assert_equal "$(grep -c -F "$PM_TOKEN" ok/answers)" 1
	assert_equal "$(grep -c -F "Bearer $TX_KEY" ok/answers)" 1
	assert_equal "$(grep -c "^$send_pid seq-send " ok/cmdlines)" 2

	SEQ_POSTMARK_URL=http://127.0.0.1:$port SEQ_TELNYX_URL=http://127.0.0.1:$port/v2 \
		send no in2 --live
	assert_equal "$send_status" 1
	assert_equal "$(jq -r '[.adapter, .status, .http_status, .error] | @tsv' no.out | sort)" \
		"postmark	failed	401	HTTP 401: Postmark error 10: Bad or missing Server API token: got ****
telnyx-sms	failed	401	HTTP 401: 10009: Authentication failed: the key in 'Bearer ****' is not valid"
	leaks no/answers > /dev/null
	cat ok.out no.out | seq-log --now $T0 > /dev/null
	no_leak ok.out ok.err ok/cmdlines no.out no.err "$SEQ_DB"
}

@test "smtp: with SEQ_SMTP_USER, a server that offers no STARTTLS never sees the password" {
	use_secrets
	start_server smtp --smtp --stall 0.3
	export SEQ_EMAIL_ADAPTER=smtp SEQ_EMAIL_FROM=sales@example.com \
		SEQ_SMTP_URL=smtp://127.0.0.1:$port SEQ_SMTP_USER=mailer
	send run mail1 --live --verbose
	assert_equal "$send_status" 0
	assert_equal "$(jq -r '[.adapter, .status, .error] | @tsv' run.out)" \
		"smtp	retry	smtp://127.0.0.1:$port: Requested SSL level failed"
	# the server was reached, and offered AUTH, yet no login came
	grep -q '^EHLO ' smtp/requests
	refute grep -q -i -e '^AUTH' -e 'decoded AUTH' smtp/requests
	[ "$(grep -c "^$send_pid seq-send " smtp/cmdlines)" -ge 1 ]
	seq-log --now $T0 < run.out > /dev/null
	no_leak run.out run.err smtp/requests smtp/cmdlines "$SEQ_DB"
}

@test "smtp: a user or password inside SEQ_SMTP_URL is refused before anything is sent" {
	use_secrets
	start_server smtp --smtp
	export SEQ_EMAIL_ADAPTER=smtp SEQ_EMAIL_FROM=sales@example.com
	for url in "smtp://mailer:$SEQ_SMTP_PASSWORD@127.0.0.1:$port" \
		"smtps://mailer@127.0.0.1:$port/"; do
		run -4 --separate-stderr env SEQ_SMTP_URL="$url" seq-send --live < mail1
		assert_output ""
		assert_equal "$stderr" "seq-send: SEQ_SMTP_URL must not hold a user or password; set SEQ_SMTP_USER and SEQ_SMTP_PASSWORD"
	done
	assert_equal "$(wc -c < smtp/requests)" 0
}

@test "a configuration file with CRLF line ends is refused, naming the line" {
	start_server sg --status 202
	conf 600 < <(printf 'SEQ_EMAIL_ADAPTER=sendgrid\r\nSEQ_EMAIL_FROM=sales@example.com\r\n')
	run -4 --separate-stderr seq-send --live --config "$cf" < mail1
	assert_equal "$stderr" "seq-send: $cf: line 1: ends in a carriage return (CRLF line ends); save the file with LF line ends"
	assert_equal "$(wc -c < sg/requests)" 0
}

@test "an echoed key cut short by a fixed buffer leaves no piece of it (sendgrid: 511 bytes, postmark: 399)" {
	use_secrets
	# filler puts the key's first ten characters just inside each cut:
	# "HTTP 401: " + pad + "the header you sent (Authorization: Bearer "
	# is 53 + pad of 511; "Postmark error 10: Bad or missing Server API
	# token: " + pad + "got " is 56 + pad of 399
	start_server sg --status 401 --echo --pad 448
	local sgport=$port
	start_server pm --status 401 --echo --pad 333
	export SEQ_EMAIL_FROM=sales@example.com
	SEQ_EMAIL_ADAPTER=sendgrid SEQ_SENDGRID_URL=http://127.0.0.1:$sgport \
		send sg mail1 --live
	SEQ_EMAIL_ADAPTER=postmark SEQ_POSTMARK_URL=http://127.0.0.1:$port \
		send pm mail2 --live
	local pad448 pad333 full
	pad448=$(printf 'x%.0s' {1..448})
	pad333=$(printf 'x%.0s' {1..333})
	full="HTTP 401: ${pad448}the header you sent (Authorization: Bearer ****) names no key here"
	assert_equal "$(jq -r .error sg.out)" "${full:0:511}"
	assert_equal "$(jq -r .error pm.out)" \
		"HTTP 401: Postmark error 10: Bad or missing Server API token: ${pad333}got ****"
	leaks sg/answers pm/answers > /dev/null
	cat sg.out pm.out | seq-log --now $T0 > /dev/null
	no_leak sg.out sg.err pm.out pm.err "$SEQ_DB"
}

@test "a secret that begins another does not leave the other's tail" {
	export TELNYX_API_KEY="$SG_KEY-more.telnyx-tail"
	use_secrets
	start_server p --status 401 --echo
	export SEQ_SMS_FROM=+12025550100 SEQ_TELNYX_URL=http://127.0.0.1:$port/v2
	send run sms1 --live
	assert_equal "$(jq -r .error run.out)" \
		"HTTP 401: 10009: Authentication failed: the key in 'Bearer ****' is not valid"
	leaks p/requests > /dev/null
	no_leak run.out run.err
}

@test "the samples of /proc would catch a secret on a command line" {
	use_secrets
	# a stand-in for a careless wrapper that passes the key as an argument
	(exec -a "wrapper --key $SG_KEY" sleep 30) 3>&- &
	local decoy=$!
	echo "$decoy" >> pids
	start_server sg --status 202 --stall 0.3
	SEQ_EMAIL_ADAPTER=sendgrid SEQ_EMAIL_FROM=sales@example.com \
		SEQ_SENDGRID_URL=http://127.0.0.1:$port send run mail1 --live
	assert_equal "$send_status" 0
	run leaks sg/cmdlines
	assert_success
	assert_equal "$(grep -c "^$decoy wrapper --key " sg/cmdlines)" 1
	# and only the decoy has it
	run grep -c -F -f leak-patterns sg/cmdlines
	assert_output 1
}

# --- the configuration file ----------------------------------------------

# conf MODE: writes stdin to seq.conf with that mode; sets cf to its path.
conf() {
	cf="$BATS_TEST_TMPDIR/seq.conf"
	rm -f "$cf"
	cat > "$cf"
	chmod "$1" "$cf"
}

@test "--config and SEQ_CONFIG: a file of mode 0600 or 0400 is read" {
	start_server sg --status 202
	conf 600 <<EOF
SEQ_EMAIL_ADAPTER=sendgrid
SENDGRID_API_KEY=SG.file-key.f00d=x==
SEQ_SENDGRID_URL=http://127.0.0.1:$port/file
SEQ_EMAIL_FROM=file@example.com
EOF
	send one mail1 --live --config "$cf"
	assert_equal "$send_status" 0
	chmod 400 "$cf"
	SEQ_CONFIG=$cf send two mail2 --live
	assert_equal "$send_status" 0
	assert_equal "$(jq -r '[.status, .adapter] | @tsv' one.out two.out)" \
		"sent	sendgrid
sent	sendgrid"
	assert_equal "$(grep -c -x -F $'POST /file/v3/mail/send HTTP/1.1\r' sg/requests)" 2
	assert_equal "$(grep -c -x -F $'Authorization: Bearer SG.file-key.f00d=x==\r' sg/requests)" 2
	assert_equal "$(grep -c -F '"from":{"email":"file@example.com"}' sg/requests)" 2
	# a secret from the file is scrubbed like one from the environment
	start_server echo --status 401 --echo
	SEQ_SENDGRID_URL=http://127.0.0.1:$port send three mail3 --live --config "$cf"
	assert_equal "$(jq -r .error three.out)" \
		"HTTP 401: the header you sent (Authorization: Bearer ****) names no key here"
	grep -q -F "Bearer SG.file-key.f00d=x==)" echo/answers
	refute grep -q -F "file-key" three.out three.err
}

@test "a configuration file others can read or change is refused with status 4, naming it and chmod 600" {
	start_server sg --status 202
	local mode
	for mode in 640 644 604 620 602 660; do
		conf $mode <<EOF
SEQ_EMAIL_ADAPTER=sendgrid
SENDGRID_API_KEY=SG.refused.k3y9
SEQ_SENDGRID_URL=http://127.0.0.1:$port
SEQ_EMAIL_FROM=sales@example.com
EOF
		run -4 --separate-stderr seq-send --live --config "$cf" < mail1
		assert_equal "$stderr" "seq-send: $cf: mode 0$mode lets others read or change it; a file that holds secrets must be private (chmod 600 $cf)"
		assert_output ""
	done
	SEQ_CONFIG=$cf run -4 --separate-stderr seq-send --live < mail1
	assert_equal "$stderr" "seq-send: $cf: mode 0660 lets others read or change it; a file that holds secrets must be private (chmod 600 $cf)"
	run -4 --separate-stderr seq-send --live --config "$BATS_TEST_TMPDIR/none" < mail1
	assert_equal "$stderr" "seq-send: $BATS_TEST_TMPDIR/none: No such file or directory"
	run -4 --separate-stderr seq-send --live --config "$BATS_TEST_TMPDIR" < mail1
	assert_equal "$stderr" "seq-send: $BATS_TEST_TMPDIR: not a regular file"
	# the file named the server: nothing reached it, and the job waits
	assert_equal "$(wc -c < sg/requests)" 0
	assert_equal "$(sql "SELECT DISTINCT state FROM sequence_executions")" claimed
	# the same file, made private, is read and delivers
	chmod 600 "$cf"
	send ok mail1 --live --config "$cf"
	assert_equal "$send_status" 0
	assert_equal "$(grep -c -F 'Bearer SG.refused.k3y9' sg/requests)" 1
}

@test "a line that is not NAME=value with a known name is refused by number, never shown" {
	start_server sg --status 202
	local line
	for line in 'SENDGRID_API_KY=SG.typo.9s8d7f6g' 'SG.bare.9s8d7f6g' \
		'export SENDGRID_API_KEY=SG.shell.9s8d7f6g' \
		'sendgrid_api_key=SG.lower.9s8d7f6g' ' SENDGRID_API_KEY=SG.indent.9s8d7f6g'; do
		conf 600 <<EOF
SEQ_EMAIL_ADAPTER=sendgrid
SEQ_SENDGRID_URL=http://127.0.0.1:$port
$line
SENDGRID_API_KEY=SG.good.k3y
SEQ_EMAIL_FROM=sales@example.com
EOF
		run -4 --separate-stderr seq-send --live --config "$cf" < mail1
		assert_equal "$stderr" "seq-send: $cf: line 3: not NAME=value with a name from seq-send(1)"
		refute grep -q -F 9s8d7f6g <<< "$stderr$output"
	done
	assert_equal "$(wc -c < sg/requests)" 0
}

@test "the environment wins over the file, name by name; an empty variable does not" {
	start_server sg --status 202
	conf 600 <<EOF
SEQ_EMAIL_ADAPTER=sendgrid
SENDGRID_API_KEY=SG.file-key.a1b2
SEQ_SENDGRID_URL=http://127.0.0.1:$port/file
SEQ_EMAIL_FROM=file@example.com
EOF
	SENDGRID_API_KEY=SG.env-key.c3d4 SEQ_SENDGRID_URL=http://127.0.0.1:$port/env SEQ_EMAIL_FROM='' \
		send env mail1 --live --config "$cf"
	assert_equal "$send_status" 0
	assert_equal "$(grep -c -x -F $'POST /env/v3/mail/send HTTP/1.1\r' sg/requests)" 1
	assert_equal "$(grep -c -x -F $'Authorization: Bearer SG.env-key.c3d4\r' sg/requests)" 1
	assert_equal "$(grep -c -F '"from":{"email":"file@example.com"}' sg/requests)" 1
	assert_equal "$(grep -c -F -e /file -e SG.file-key sg/requests)" 0
	# the file's own, where the environment says nothing
	send file mail2 --live --config "$cf"
	assert_equal "$(grep -c -x -F $'Authorization: Bearer SG.file-key.a1b2\r' sg/requests)" 1
	# and the adapter too: mock, though the file says sendgrid
	SEQ_EMAIL_ADAPTER=mock send mock mail3 --live --config "$cf"
	assert_equal "$(jq -r .adapter mock.out)" mock
	assert_equal "$(grep -c '^POST ' sg/requests)" 2
}

@test "comments and blank lines are skipped; a value is taken as written, spaces and = included" {
	start_server sg --status 202
	# in a variable: an editor would strip the trailing spaces from a line
	local key='  SG.spaced key=x==  '
	conf 600 <<EOF
# seq-send's configuration

#SENDGRID_API_KEY=SG.old.key
SEQ_EMAIL_ADAPTER=sendgrid
# a note = with an equals sign
SENDGRID_API_KEY=$key
SEQ_SENDGRID_URL=http://127.0.0.1:$port

SEQ_EMAIL_FROM=Sales Team <sales@example.com>
EOF
	send run mail1 --live --config "$cf"
	assert_equal "$send_status" 0
	assert_equal "$(grep -c -x -F "Authorization: Bearer $key"$'\r' sg/requests)" 1
	assert_equal "$(grep -c -F '"from":{"email":"sales@example.com","name":"Sales Team"}' sg/requests)" 1
}

# --- live delivery is asked for, never assumed ---------------------------

# Every provider configured, each pointing at the server.
configure_all() {
	use_secrets
	export SEQ_EMAIL_ADAPTER=sendgrid SEQ_SMS_ADAPTER=telnyx-sms \
		SEQ_EMAIL_FROM=sales@example.com SEQ_SMS_FROM=+12025550100 \
		SEQ_SENDGRID_URL=http://127.0.0.1:$port \
		SEQ_POSTMARK_URL=http://127.0.0.1:$port \
		SEQ_TELNYX_URL=http://127.0.0.1:$port/v2 \
		SEQ_SMTP_URL=smtp://127.0.0.1:$port SEQ_SMTP_USER=mailer
}

@test "without --live or SEQ_DELIVERY=live nothing is sent, though every provider is configured" {
	local i
	for i in 1 2 3; do
		cat "mail$i" "sms$i" > "in$i"
	done
	start_server p --status 200
	configure_all
	send plain in1
	SEQ_DELIVERY=mock send mock in2
	assert_equal "$(jq -r '[.channel, .adapter, .status] | @tsv' plain.out mock.out)" \
		"email	mock	sent
sms	mock	sent
email	mock	sent
sms	mock	sent"
	assert_equal "$(wc -c < p/requests)" 0
	# the same configuration, with live delivery asked for, reaches it
	SEQ_DELIVERY=live send live in3
	assert_equal "$(jq -r '[.channel, .adapter, .status] | @tsv' live.out)" \
		"email	sendgrid	sent
sms	telnyx-sms	sent"
	assert_equal "$(grep -c '^POST ' p/requests)" 2
}

@test "--live wins over SEQ_DELIVERY=mock; SEQ_DELIVERY=live may come from the file, and the environment wins there too" {
	start_server p --status 202
	configure_all
	SEQ_DELIVERY=mock send flag mail1 --live
	assert_equal "$(jq -r .adapter flag.out)" sendgrid
	assert_equal "$(grep -c '^POST ' p/requests)" 1
	conf 600 <<< 'SEQ_DELIVERY=live'
	send file mail2 --config "$cf"
	assert_equal "$(jq -r .adapter file.out)" sendgrid
	SEQ_DELIVERY=mock send env mail3 --config "$cf"
	assert_equal "$(jq -r .adapter env.out)" mock
	assert_equal "$(grep -c '^POST ' p/requests)" 2
}

@test "SEQ_DELIVERY other than mock or live stops seq-send with status 4, the value unshown" {
	start_server p --status 202
	configure_all
	SEQ_DELIVERY=SG.pasted.k3y9 run -4 --separate-stderr seq-send --now $T0 < mail1
	assert_equal "$stderr" "seq-send: SEQ_DELIVERY must be mock or live"
	assert_output ""
	assert_equal "$(wc -c < p/requests)" 0
}
