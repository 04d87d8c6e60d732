#!/usr/bin/env bats
# seq-send's dispatcher against a loopback SendGrid that misbehaves
# (test/fault-server.py): 429s with Retry-After, 5xx, resets, stalls past
# --timeout, slow answers; checked from the server's own log of what it
# received and answered.  The faults are drawn from a seed printed with every
# test (bats shows it on failure); FAULT_SEED=N replays a seed's answers.

load test_helper

FS="$BATS_TEST_DIRNAME/fault-server.py"
# Debian's interpreter when there is one: a version manager's shim can cost
# a second or more per call, and these tests call it often.
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
T0=2026-11-25T10:00:00Z
T1=2026-11-25T10:01:00Z

setup() {
	common_setup
	init_db
	SEED=${FAULT_SEED:-$((RANDOM * 32768 + RANDOM))}
	echo "fault seed: $SEED (FAULT_SEED=$SEED bats ... replays it)"
	SERVER_PID=
}

teardown() {
	stop_server
}

# start_server [serve options]: listening on a port it chose itself, so that
# files running at once never collide; its port file appears once it listens.
start_server() {
	rm -f port server.log
	"$PY" "$FS" serve --port-file port --log server.log --seed "$SEED" \
		--lifetime 110 "$@" 3>&- &
	SERVER_PID=$!
	local i
	for ((i = 0; i < 100; i++)); do
		[ -s port ] && break
		kill -0 "$SERVER_PID" 2> /dev/null || break
		sleep 0.05
	done
	[ -s port ] || fail "the fault server did not start listening within 5s"
	export SEQ_EMAIL_ADAPTER=sendgrid SENDGRID_API_KEY=SG.fault-test \
		SEQ_EMAIL_FROM=sender@example.com \
		SEQ_SENDGRID_URL="http://127.0.0.1:$(cat port)"
}

# Stops the server and waits for it, so that its log is complete: it lets
# answers being written finish (a few seconds at most) before it exits.
stop_server() {
	[ -n "$SERVER_PID" ] || return 0
	kill -TERM "$SERVER_PID" 2> /dev/null
	local i
	for ((i = 0; i < 120; i++)); do
		kill -0 "$SERVER_PID" 2> /dev/null || break
		sleep 0.05
	done
	if kill -KILL "$SERVER_PID" 2> /dev/null; then
		echo "the fault server ignored SIGTERM for 6s: killed"
	fi
	wait "$SERVER_PID" 2> /dev/null || true
	SERVER_PID=
}

# world SEQUENCE FROM N SPEC: a one-email sequence sent from FROM ("" for
# SEQ_EMAIL_FROM), and leads enrolled in it; SPEC is awk that sets p, the
# local part's prefix, from i, the lead's number (1..n).
world() {
	local seq=$1 from=$2 n=$3 spec=$4
	if [ -n "$from" ]; then
		printf '{"name":"%s","from":{"email":"%s"},"steps":[{"id":"a","type":"email","subject":"Hi","text":"Hello"}]}\n' \
			"$seq" "$from" | seq-def > /dev/null
	else
		printf '{"name":"%s","steps":[{"id":"a","type":"email","subject":"Hi","text":"Hello"}]}\n' \
			"$seq" | seq-def > /dev/null
	fi
	awk -v n="$n" -v seq="$seq" 'BEGIN { for (i = 1; i <= n; i++) { p = "user"; '"$spec"'
		printf "{\"external_id\":\"%s-%d\",\"email\":\"%s%d.%s@example.com\"}\n", seq, i, p, i, seq } }' |
		seq-lead | seq-enroll --sequence "$seq" --now $T0 > /dev/null
}

# send [seq-send options]: the due jobs through seq-send --live; results in
# results, its exit status in rc; stderr must hold nothing but what
# --verbose writes (no sanitizer report, no complaint).
send() {
	seq-due --now $T1 > jobs
	local rc=0
	seq-send --live --now $T1 --timeout 1s "$@" < jobs > results 2> send.err || rc=$?
	echo "$rc" > rc
	stop_server
	assert_equal "$(grep -v '^seq-send: sendgrid: \|^    ' send.err)" ""
}

check() {
	run "$PY" "$FS" check "$@"
	echo "$output"
	assert_success
}

# jq over the server's log, slurped
log_q() { jq -rs "$1" server.log; }

@test "under faults: one result per job, bad ones failed once with SendGrid's text, none accepted twice, Retry-After honoured" {
	# every 10th recipient is refused (400); the first 4 start with a 429,
	# all at once, so that their pauses overlap
	world mail "" 150 'if (i % 10 == 0) p = "bad"; else if (i <= 4) p = "limit"'
	start_server --fault-rate 0.3
	send --retry-for 10s --verbose
	assert_equal "$(cat rc)" 1		# the 400s are failures
	assert_equal "$(wc -l < results)" 150
	# and each retry had run out of its 10 s (0.25 s: the two clocks'
	# latency on a loaded machine)
	check results server.log --results results --jobs jobs --retry-for 10 --slack 0.25
	check once server.log
	# a reset on a reused connection must not be resent behind
	# dispatch's back (its rate, its backoff, its count of tries)
	check tries server.log --stderr send.err
	# Retry-After R at t, the next request no earlier than t + R, less 5 ms.
	# Both are the server's own readings, t before the 429 left and the
	# next one after the request arrived, so t + R is a hard floor; the
	# 5 ms are only for its wall clock being slewed between the readings.
	check retry-after server.log --slack 0.005 --min-count 4
	assert_equal "$(jq -r 'select(.to | startswith("bad")) | .status' results | sort | uniq -c | sed 's/^ *//')" "15 failed"
	# each fault was seen, or this run proved less than it says
	run log_q '[.[].answer] | unique | join(" ")'
	assert_output "202 400 429 500 503 reset stall trickle"
}

@test "a retry budget too small to get through: retry within --retry-for, backed off with jitter, naming the last failure" {
	# down* recipients get 503, 500, 503, ... forever; the rest see faults
	# other than 429, so that nothing pauses the adapter and the budget is
	# the only bound on each key's requests
	world mail "" 60 'if (i % 2 == 0) p = "down"'
	start_server --fault-rate 0.3 --faults 500,503,reset,stall,trickle
	send --retry-for 2s
	assert_equal "$(cat rc)" 0
	check results server.log --results results --jobs jobs --retry-for 2 --slack 0.15
	check once server.log
	# tries due at 0, 0.5 and 1.5 s (each wait x 0.75..1.25): the next
	# would be due at 2.625 s or later, past the 2 s budget, so 3 tries;
	# 2 only where the second answer came so late that the third might not
	# fit; 0.15 s is for the latency between seq-send's clock and the server's
	check budget server.log --retry-for 2 --slack 0.15
	assert_equal "$(jq -r 'select(.to | startswith("down")) | .status' results | sort | uniq -c | sed 's/^ *//')" "30 retry"
	# the error is the last answer's (check results matched it to the log)
	run jq -r 'select(.to | startswith("down")) | .error' results
	assert_equal "$(grep -cvx 'HTTP 50[03]: internal error' <<< "$output")" 0
	# the gaps: 0.5 * 2^(n-1) s times 0.75..1.25, never less, and at most
	# 0.25 s more for the loop and the scheduler of a loaded machine; and
	# some first retry comes 20 ms or more before 0.5 s, which only the
	# jitter allows
	check backoff server.log --slack 0.25 --spread 0.02
}

@test "--rate sendgrid=20/s: at most 21 requests start in any second, faults and all" {
	world mail "" 50 ''
	start_server --fault-rate 0.3 --faults 500,503,reset,trickle
	send --retry-for 10s --rate sendgrid=20/s
	assert_equal "$(cat rc)" 0
	check results server.log --results results --jobs jobs
	# the bucket's burst is max(1, 20/20) = 1: 20 * 1 s + 1
	check rate server.log --limit 21 --width 1
	# and the limit was pressed: the window is nearly full somewhere
	run "$PY" "$FS" check rate server.log --limit 17 --width 1
	assert_failure
}

@test "--sender-rate sendgrid=5/s holds per sender, with two senders going at once" {
	world one a@example.com 12 ''
	world two b@example.com 12 ''
	start_server --fault-rate 0
	send --retry-for 10s --sender-rate sendgrid=5/s
	assert_equal "$(cat rc)" 0
	assert_equal "$(jq -r .status results | sort | uniq -c | sed 's/^ *//')" "24 sent"
	check rate server.log --by from --limit 6 --width 1
	# and each sender's limit was pressed: 5 or more in some second
	run "$PY" "$FS" check rate server.log --by from --limit 4 --width 1
	assert_failure
	assert_equal "$(log_q '[.[].from] | unique | join(" ")')" "a@example.com b@example.com"
	# both at once: more than one sender's worth in some second
	run "$PY" "$FS" check rate server.log --limit 6 --width 1
	assert_failure
}

@test "--parallel 8 against a slow server: never more than 8 requests in flight, and more than 1" {
	world mail "" 48 ''
	start_server --fault-rate 0 --hold 0.25
	send --retry-for 10s --parallel 8
	assert_equal "$(cat rc)" 0
	assert_equal "$(jq -r .status results | sort | uniq -c | sed 's/^ *//')" "48 sent"
	check inflight server.log --max 8 --min 1
}

@test "after 429s the concurrency halves, then climbs back" {
	# the first 8 requests all get 429: each halves the adapter's limit
	world mail "" 32 'if (i <= 8) p = "limit"'
	start_server --fault-rate 0 --hold 0.2
	send --retry-for 10s --parallel 8
	assert_equal "$(cat rc)" 0
	assert_equal "$(jq -r .status results | sort | uniq -c | sed 's/^ *//')" "32 sent"
	check retry-after server.log --min-count 8
	check after-429 server.log --width 0.15 --max 4 --min 4
}

# The checks themselves, on logs made up to break each property: a check
# that cannot fail proves nothing.
synth() {
	"$PY" -c "$1" > synth.log
}

@test "the checks fail on logs that break their property" {
	# Retry-After ignored: a 429 asking for 2 s, the next request after 1 s
	synth 'import json
for t, n, a, ra in ((100.0, 1, "429", 2), (101.0, 2, "202", 0)):
    print(json.dumps({"t": t, "done": t, "key": "k", "to": "u@x", "n": n, "answer": a, "retry_after": ra, "accepted": a == "202", "inflight": 1}))'
	run "$PY" "$FS" check retry-after synth.log
	assert_failure
	assert_line --partial "next request 1.000s early"
	# ... and 6 ms early is too early, 4 ms is the clock slack
	sed -i 's/"t": 101.0,/"t": 101.994,/' synth.log
	run "$PY" "$FS" check retry-after synth.log --slack 0.005
	assert_failure
	sed -i 's/"t": 101.994,/"t": 101.996,/' synth.log
	check retry-after synth.log --slack 0.005
	# no rate limit: 40 requests evenly over a second
	synth 'import json
for i in range(40):
    print(json.dumps({"t": 100 + i / 40, "done": 100 + i / 40, "key": "k%d" % i, "to": "u@x", "from": "ab"[i % 2], "n": 1, "answer": "202", "retry_after": 0, "accepted": True, "inflight": 1}))'
	run "$PY" "$FS" check rate synth.log --limit 21
	assert_failure
	assert_line --partial "40 requests in the 1s"
	run "$PY" "$FS" check rate synth.log --by from --limit 6
	assert_failure
	# exactly at the limit passes: 21 within a second
	synth 'import json
for i in range(21):
    print(json.dumps({"t": 100 + i * 0.049, "key": "k%d" % i, "answer": "202", "accepted": True, "inflight": 1}))'
	check rate synth.log --limit 21
	run "$PY" "$FS" check rate synth.log --limit 20
	assert_failure
	# 9 in flight, or never more than 1
	synth 'import json
for i in range(9):
    print(json.dumps({"t": 100 + i / 100, "key": "k%d" % i, "answer": "202", "accepted": True, "inflight": i + 1}))'
	run "$PY" "$FS" check inflight synth.log --max 8
	assert_failure
	assert_line --partial "9 requests in flight at once"
	sed -i 's/"inflight": [0-9]*/"inflight": 1/' synth.log
	run "$PY" "$FS" check inflight synth.log --max 8
	assert_failure
	assert_line --partial "no parallelism"
	# a key accepted twice
	synth 'import json
for t in (100, 102):
    print(json.dumps({"t": t, "key": "k", "answer": "202", "accepted": True, "inflight": 1}))'
	run "$PY" "$FS" check once synth.log
	assert_failure
	assert_line --partial "k accepted 2 times"
	# no backoff, or no jitter
	synth 'import json
for n in range(3):
    print(json.dumps({"t": 100 + n * 0.1, "done": 100 + n * 0.1, "key": "k", "answer": "503", "accepted": False, "inflight": 1}))'
	run "$PY" "$FS" check backoff synth.log --slack 0.1
	assert_failure
	assert_line --partial "after try 1"
	synth 'import json
for k in range(5):
    for n, t in enumerate((0, 0.5, 1.5)):
        print(json.dumps({"t": 100 + k + t, "done": 100 + k + t, "key": "k%d" % k, "answer": "503", "accepted": False, "inflight": 1}))'
	run "$PY" "$FS" check backoff synth.log --slack 0.1
	assert_failure
	assert_line --partial "no jitter"
	# retries past --retry-for, none at all, or given up too soon
	synth 'import json
for k, ts in (("late", (0, 0.5, 1.5, 3.5)), ("once", (0,)), ("early", (0, 0.4))):
    for t in ts:
        print(json.dumps({"t": 100 + t, "done": 100 + t, "key": k, "answer": "503", "accepted": False, "inflight": 1}))'
	run "$PY" "$FS" check budget synth.log --retry-for 2 --slack 0.15
	assert_failure
	assert_line --partial "late: tried 4 times over 3.500s"
	assert_line --partial "once: never retried"
	assert_line --partial "early: given up after 2 tries"
	# concurrency not halved after 429s: 8 at once right after the pause
	synth 'import json
for i in range(8):
    print(json.dumps({"t": 100, "done": 100.3, "key": "k%d" % i, "answer": "429", "retry_after": 1, "accepted": False, "inflight": i + 1}))
for i in range(8):
    print(json.dumps({"t": 101.4, "done": 101.7, "key": "k%d" % i, "answer": "202", "retry_after": 0, "accepted": True, "inflight": i + 1}))'
	run "$PY" "$FS" check after-429 synth.log --width 0.25 --max 4 --min 4
	assert_failure
	assert_line --partial "8 in flight within 0.25s"
}

@test "the checks fail on results that break their promises" {
	printf '%s\n' '{"key":"k1"}' '{"key":"k2"}' '{"key":"k3"}' '{"key":"k4"}' > synth.jobs
	# k1: a bad recipient asked twice; k2: sent, but the server never
	# accepted it; k3: retry, though the server accepted it; k4: retry
	# after one 503, with 10 s to go
	"$PY" -c 'import json
rows = [("k1", "bad1@x", "400", False, None), ("k1", "bad1@x", "400", False, None),
        ("k2", "u2@x", "503", False, None), ("k3", "u3@x", "202", True, "m3"),
        ("k4", "u4@x", "503", False, None)]
for i, (k, to, a, acc, mid) in enumerate(rows):
    print(json.dumps({"t": 100 + i, "done": 100 + i, "key": k, "to": to, "answer": a, "accepted": acc, "id": mid, "inflight": 1}))' > synth.log
	printf '%s\n' \
		'{"key":"k1","to":"bad1@x","status":"failed","http_status":400,"error":"HTTP 400: personalizations.0.to.0.email: The to email does not contain a valid address."}' \
		'{"key":"k2","to":"u2@x","status":"sent","provider_id":"m2"}' \
		'{"key":"k3","to":"u3@x","status":"retry","error":"HTTP 503"}' \
		'{"key":"k3","to":"u3@x","status":"retry","error":"HTTP 503"}' \
		'{"key":"k4","to":"u4@x","status":"retry","error":"HTTP 503: internal error"}' > synth.results
	run "$PY" "$FS" check results synth.log --results synth.results --jobs synth.jobs --retry-for 10
	assert_failure
	assert_line --partial "k4: retry after 1 tries, the last answered at 0.000s; the next was due by 0.625s"
	assert_line --partial "k1: failed 400"
	assert_line --partial "after 2 requests"
	assert_line --partial "k2: sent as 'm2', the server accepted it 0 times"
	assert_line --partial "k3: retry, but the server accepted it"
	assert_line --partial "k3: 2 result lines"
	# a request that seq-send never started (libcurl resending on its own)
	printf '%s\n' 'seq-send: sendgrid: k1: start: http://127.0.0.1:1/v3/mail/send' \
		'seq-send: sendgrid: k1: retry 0 in 3 ms: Failure when receiving data from the peer' \
		'seq-send: sendgrid: k1: try 2: http://127.0.0.1:1/v3/mail/send' \
		'seq-send: sendgrid: k2: start: http://127.0.0.1:1/v3/mail/send' \
		'seq-send: sendgrid: k3: start: http://127.0.0.1:1/v3/mail/send' \
		'seq-send: sendgrid: k4: start: http://127.0.0.1:1/v3/mail/send' > synth.err
	run "$PY" "$FS" check tries synth.log --stderr synth.err
	assert_success
	sed -i '/k1: try 2/d' synth.err
	run "$PY" "$FS" check tries synth.log --stderr synth.err
	assert_failure
	assert_line --partial "k1: 2 requests reached the server, seq-send made 1 tries"
}
