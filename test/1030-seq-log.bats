#!/usr/bin/env bats
# seq-log: recording results, moving enrollments on, retries and their
# budget, counters, duplicates, the summary line, and the unknown outcomes
# that admins list and settle.

load test_helper
setup() { common_setup; init_db; }

T0=2026-11-23T10:00:00Z

# Two email steps with a day between them.
two_steps() {
	seq-def > /dev/null <<JSON
{"name":"two"${1:+,$1},"steps":[
 {"id":"a","type":"email","subject":"A","text":"a"${2:+,$2}},
 {"id":"w","type":"wait","duration":"1d"},
 {"id":"b","type":"email","subject":"B","text":"b"}]}
JSON
}
# seq-due then seq-send at time $1, results in file $2.
due_send() { seq-due --now "$1" | seq-send --now "$1" > "$2" || true; }
# A result turned into a transient failure.
as_retry() { jq -c '.status = "retry" | .provider_id = null | .http_status = 503 | .error = "timeout"' "$@"; }
counters() { sql "SELECT adapter, channel, outcome, count FROM adapter_counters ORDER BY adapter, channel, outcome"; }

@test "sent advances the enrollment to the next step, due now, and completes it at the end" {
	two_steps
	leads '{"external_id":"ok","email":"ok@example.com"}'
	enroll two $T0 ok
	due_send $T0 results
	run --separate-stderr seq-log --now 2026-11-23T10:00:30Z < results
	assert_success
	assert_output '{"records":1,"sent":1,"failed":0,"retried":0,"ignored":0,"rejected":0}'
	assert_equal "$stderr" ""
	assert_equal "$(sql "SELECT status, step, cursor, attempt, $(iso step_at), $(iso next_run_at), claim IS NULL FROM enrollments")" \
		"active|w|2|1|2026-11-23T10:00:30Z|2026-11-23T10:00:30Z|1"
	assert_equal "$(sql "SELECT state, adapter, provider_id = 'mock-' || key, http_status, error IS NULL, latency_ms,
		cost IS NULL, metadata, $(iso done_at) FROM sequence_executions")" \
		"sent|mock|1|202|1|0|1|{\"simulated\":true}|2026-11-23T10:00:30Z"
	due_send 2026-11-24T10:00:30Z results2
	run --separate-stderr seq-log --now 2026-11-24T10:01:00Z < results2
	assert_success
	assert_output '{"records":1,"sent":1,"failed":0,"retried":0,"ignored":0,"rejected":0}'
	assert_equal "$(sql "SELECT status, step IS NULL, cursor, claim IS NULL FROM enrollments")" "completed|1|4|1"
	assert_equal "$(sql "SELECT status, reason, $(iso at) FROM enrollment_changes ORDER BY id")" \
		"active|enrolled|2026-11-23T10:00:00Z
completed|reached the end|2026-11-24T10:01:00Z"
	run --separate-stderr seq-due --now 2026-11-30T10:00:00Z
	assert_success
	assert_output ""
}

@test "retry reschedules after 5 minutes +-20%, doubling; after max_attempts it has failed" {
	two_steps '"max_attempts":3'
	leads '{"external_id":"ok","email":"ok@example.com"}'
	enroll two $T0 ok
	local t0 t1 t2 d1 d2
	t0=$(epoch $T0)
	due_send $T0 r1
	as_retry r1 > r1x
	run --separate-stderr seq-log --now $T0 < r1x
	assert_success
	assert_output '{"records":1,"sent":0,"failed":0,"retried":1,"ignored":0,"rejected":0}'
	assert_equal "$(sql "SELECT state, http_status, error FROM sequence_executions WHERE id = 1")" "retry|503|timeout"
	assert_equal "$(sql "SELECT status, step, attempt, claim IS NULL FROM enrollments")" "active|a|2|1"
	t1=$(sql "SELECT next_run_at FROM enrollments")
	d1=$((t1 - t0))
	[ "$d1" -ge 240 ] && [ "$d1" -le 360 ] || fail "first backoff $d1 s is not 300 s +-20%"
	run --separate-stderr seq-due --now "$(date -u -d @$((t1 - 1)) +%FT%TZ)"
	assert_success
	assert_output ""

	due_send "$(date -u -d @"$t1" +%FT%TZ)" r2
	assert_equal "$(jq -r '[.execution_id, .attempt, (.key | split(".")[1:] | join("."))] | @tsv' r2)" "2	2	1.1.2"
	as_retry r2 > r2x
	seq-log --now "$(date -u -d @"$t1" +%FT%TZ)" < r2x > /dev/null
	t2=$(sql "SELECT next_run_at FROM enrollments")
	d2=$((t2 - t1))
	[ "$d2" -ge 480 ] && [ "$d2" -le 720 ] || fail "second backoff $d2 s is not 600 s +-20%"
	assert_equal "$(sql "SELECT attempt FROM enrollments")" 3

	due_send "$(date -u -d @"$t2" +%FT%TZ)" r3
	as_retry r3 > r3x
	run --separate-stderr seq-log --now "$(date -u -d @"$t2" +%FT%TZ)" < r3x
	assert_success
	assert_output '{"records":1,"sent":0,"failed":1,"retried":0,"ignored":0,"rejected":0}'
	assert_equal "$(sql "SELECT id, attempt, state, error FROM sequence_executions ORDER BY id")" \
		"1|1|retry|timeout
2|2|retry|timeout
3|3|failed|gave up after 3 attempts: timeout"
	assert_equal "$(sql "SELECT status, next_run_at IS NULL, claim IS NULL FROM enrollments")" "failed|1|1"
	assert_equal "$(sql "SELECT status, reason FROM enrollment_changes ORDER BY id DESC LIMIT 1")" \
		"failed|step a failed: gave up after 3 attempts: timeout"
	assert_equal "$(counters)" "mock|email|failed|1
mock|email|retry|2"
}

@test "a transient mock failure is retried after its backoff and then sent" {
	two_steps
	leads '{"external_id":"flaky","email":"flaky@example.com"}'
	enroll two $T0 flaky
	due_send $T0 r1
	run --separate-stderr seq-log --now $T0 < r1
	assert_success
	assert_output '{"records":1,"sent":0,"failed":0,"retried":1,"ignored":0,"rejected":0}'
	local d
	d=$(($(sql "SELECT next_run_at FROM enrollments") - $(epoch $T0)))
	[ "$d" -ge 240 ] && [ "$d" -le 360 ] || fail "backoff $d s is not 300 s +-20%"
	due_send 2026-11-23T10:06:00Z r2
	run --separate-stderr seq-log --now 2026-11-23T10:06:00Z < r2
	assert_success
	assert_output '{"records":1,"sent":1,"failed":0,"retried":0,"ignored":0,"rejected":0}'
	assert_equal "$(sql "SELECT status, step, attempt, cursor FROM enrollments")" "active|w|1|2"
}

@test "a failed step stops the enrollment by default; with on_fail continue it moves on" {
	seq-def > /dev/null <<'JSON'
{"name":"stop","steps":[
 {"id":"a","type":"email","subject":"A","text":"a"},
 {"id":"b","type":"email","subject":"B","text":"b"}]}
JSON
	seq-def > /dev/null <<'JSON'
{"name":"go","steps":[
 {"id":"a","type":"email","subject":"A","text":"a","on_fail":"continue"},
 {"id":"b","type":"email","subject":"B","text":"b"}]}
JSON
	leads '{"external_id":"f","email":"fail@example.com"}'
	enroll stop $T0 f
	enroll go $T0 f
	due_send $T0 results
	run --separate-stderr seq-log --now 2026-11-23T10:00:30Z < results
	assert_success
	assert_output '{"records":2,"sent":0,"failed":2,"retried":0,"ignored":0,"rejected":0}'
	assert_equal "$(sql "SELECT id, state, http_status, error FROM sequence_executions ORDER BY id")" \
		"1|failed|400|mock: the recipient rejects every message
2|failed|400|mock: the recipient rejects every message"
	assert_equal "$(sql "SELECT id, status, step, next_run_at IS NULL, claim IS NULL FROM enrollments ORDER BY id")" \
		"1|failed|a|1|1
2|active|b|0|1"
	assert_equal "$(sql "SELECT $(iso next_run_at) FROM enrollments WHERE id = 2")" "2026-11-23T10:00:30Z"
	assert_equal "$(sql "SELECT enrollment_id, status, reason FROM enrollment_changes WHERE status <> 'active'")" \
		"1|failed|step a failed: mock: the recipient rejects every message"
	run --separate-stderr seq-due --now 2026-11-23T10:01:00Z
	assert_success
	assert_equal "$(jq -r '[.enrollment_id, .step] | @tsv' <<< "$output")" "2	b"
}

@test "adapter_counters count per adapter, channel and outcome, and add up across runs" {
	seq-def > /dev/null <<'JSON'
{"name":"mail","steps":[{"id":"a","type":"email","subject":"A","text":"a"}]}
JSON
	seq-def > /dev/null <<'JSON'
{"name":"text","steps":[{"id":"a","type":"sms","text":"a"}]}
JSON
	leads '{"external_id":"ok","email":"ok@example.com","phone":"+16175550123"}' \
		'{"external_id":"ok2","email":"ok2@example.com","phone":"+16175550000"}' \
		'{"external_id":"fail","email":"fail@example.com","phone":"+16175550001"}' \
		'{"external_id":"flaky","email":"flaky@example.com"}'
	enroll mail $T0 ok ok2 fail flaky
	enroll text $T0 ok ok2 fail
	due_send $T0 r1
	run --separate-stderr seq-log --now $T0 < r1
	assert_success
	assert_output '{"records":7,"sent":3,"failed":2,"retried":2,"ignored":0,"rejected":0}'
	assert_equal "$(counters)" "mock|email|failed|1
mock|email|retry|1
mock|email|sent|2
mock|sms|failed|1
mock|sms|retry|1
mock|sms|sent|1"
	# the two retries go out again and are sent
	due_send 2026-11-23T11:00:00Z r2
	run --separate-stderr seq-log --now 2026-11-23T11:00:00Z < r2
	assert_success
	assert_output '{"records":2,"sent":2,"failed":0,"retried":0,"ignored":0,"rejected":0}'
	assert_equal "$(counters)" "mock|email|failed|1
mock|email|retry|1
mock|email|sent|3
mock|sms|failed|1
mock|sms|retry|1
mock|sms|sent|2"
	assert_equal "$(sql "SELECT sum(latency_ms_sum) FROM adapter_counters")" 0
}

@test "the same results fed twice are ignored the second time, with no double counting" {
	two_steps
	leads '{"external_id":"ok","email":"ok@example.com"}' '{"external_id":"fail","email":"fail@example.com"}'
	enroll two $T0 ok fail
	due_send $T0 results
	seq-log --now $T0 < results > /dev/null
	local before
	before=$(sql "SELECT * FROM enrollments; SELECT * FROM enrollment_changes; SELECT id, state, done_at FROM sequence_executions")
	run --separate-stderr seq-log --now 2026-11-23T10:05:00Z < results
	assert_success
	assert_output '{"records":2,"sent":0,"failed":0,"retried":0,"ignored":2,"rejected":0}'
	assert_equal "$stderr" "seq-log: line 1: execution 1 was recorded as sent already; ignored
seq-log: line 2: execution 2 was recorded as failed already; ignored"
	assert_equal "$(counters)" "mock|email|failed|1
mock|email|sent|1"
	assert_equal "$(sql "SELECT * FROM enrollments; SELECT * FROM enrollment_changes; SELECT id, state, done_at FROM sequence_executions")" "$before"
	# twice in one input: the second is ignored
	due_send 2026-11-24T10:00:00Z r2
	cat r2 r2 > r2twice
	run --separate-stderr seq-log --now 2026-11-24T10:00:00Z < r2twice
	assert_success
	assert_output '{"records":2,"sent":1,"failed":0,"retried":0,"ignored":1,"rejected":0}'
	assert_equal "$stderr" "seq-log: line 2: execution 3 was recorded as sent already; ignored"
	assert_equal "$(counters)" "mock|email|failed|1
mock|email|sent|2"
}

@test "a result for an execution that is still only claimed is rejected" {
	two_steps
	leads '{"external_id":"ok","email":"ok@example.com"}'
	enroll two $T0 ok
	seq-due --now $T0 > jobs
	# a result made up from the job, without seq-send
	jq -c '{execution_id, key, enrollment_id, lead_id, sequence, version, step, channel, attempt, to,
		status: "sent", adapter: "mock", provider_id: ("mock-" + .key), http_status: 202,
		error: null, latency_ms: 0, cost: null}' jobs > forged
	run -1 --separate-stderr seq-log --now $T0 < forged
	assert_output '{"records":1,"sent":0,"failed":0,"retried":0,"ignored":0,"rejected":1}'
	assert_equal "$stderr" "seq-log: line 1: execution 1 is claimed, not sending"
	assert_equal "$(sql "SELECT state, provider_id IS NULL, done_at IS NULL FROM sequence_executions")" "claimed|1|1"
	assert_equal "$(sql "SELECT step, cursor, claim FROM enrollments")" "a|1|1"
	assert_equal "$(counters)" ""
}

@test "results that do not match their execution are rejected" {
	two_steps
	leads '{"external_id":"ok","email":"ok@example.com"}'
	enroll two $T0 ok
	due_send $T0 results
	{
		jq -c '.execution_id = 99' results
		jq -c '.key = "0000000000000000.1.1.1"' results
		jq -c '.attempt = 2' results
		jq -c '.step = "b"' results
	} > bad
	run -1 --separate-stderr seq-log --now $T0 < bad
	assert_output '{"records":4,"sent":0,"failed":0,"retried":0,"ignored":0,"rejected":4}'
	assert_equal "$stderr" "seq-log: line 1: no execution 99
seq-log: line 2: execution 1 has another key
seq-log: line 3: execution 1 has another attempt
seq-log: line 4: execution 1 has another step"
	assert_equal "$(sql "SELECT state FROM sequence_executions")" sending
}

@test "the summary line counts every record exactly" {
	two_steps
	leads '{"external_id":"ok","email":"ok@example.com"}' '{"external_id":"fail","email":"fail@example.com"}' \
		'{"external_id":"flaky","email":"flaky@example.com"}' '{"external_id":"ok2","email":"ok2@example.com"}'
	enroll two $T0 ok fail flaky ok2
	due_send $T0 results
	sed -n 4p results > first
	seq-log --now $T0 < first > /dev/null
	# sent, failed, retry, one recorded already, one not a result
	{ sed -n 1,4p results; echo '{"execution_id":1}'; } > input
	run -1 --separate-stderr seq-log --now $T0 < input
	assert_output '{"records":5,"sent":1,"failed":1,"retried":1,"ignored":1,"rejected":1}'
	assert_equal "${#stderr_lines[@]}" 2
	# nothing at all
	run --separate-stderr seq-log --now $T0 < /dev/null
	assert_success
	assert_output '{"records":0,"sent":0,"failed":0,"retried":0,"ignored":0,"rejected":0}'
}

@test "--unknown lists executions whose lease ended while sending; they are not emitted again" {
	two_steps
	leads '{"external_id":"ok","email":"ok@example.com"}' '{"external_id":"ok2","email":"ok2@example.com"}'
	enroll two $T0 ok ok2
	# seq-log never runs: killed between the provider's answer and it
	due_send $T0 lost
	run --separate-stderr seq-due --now 2026-11-23T10:04:59Z
	assert_success
	assert_output ""
	assert_equal "$(sql "SELECT DISTINCT state FROM sequence_executions")" sending
	run --separate-stderr seq-due --now 2026-11-23T10:05:00Z
	assert_success
	assert_output ""
	assert_equal "$(sql "SELECT id, state, error, $(iso done_at) FROM sequence_executions ORDER BY id")" \
		"1|unknown|no outcome was recorded before the lease ended|2026-11-23T10:05:00Z
2|unknown|no outcome was recorded before the lease ended|2026-11-23T10:05:00Z"
	local k
	k=$(sql "SELECT value FROM meta WHERE key = 'instance'")
	run --separate-stderr seq-log --unknown
	assert_success
	assert_equal "$stderr" ""
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 "{\"execution_id\":1,\"key\":\"$k.1.1.1\",\"enrollment_id\":1,\"lead_id\":1,\"sequence\":\"two\",\"version\":1,\"step\":\"a\",\"channel\":\"email\",\"attempt\":1,\"state\":\"unknown\",\"sending_at\":\"2026-11-23T10:00:00Z\",\"to\":\"ok@example.com\",\"error\":\"no outcome was recorded before the lease ended\"}"
	assert_equal "$(jq -r '[.execution_id, .enrollment_id, .to] | @tsv' <<< "${lines[1]}")" "2	2	ok2@example.com"
	for t in 2026-11-23T10:10:00Z 2026-11-25T10:00:00Z; do
		run --separate-stderr seq-due --now "$t"
		assert_success
		assert_output ""
	done
	assert_equal "$(sql "SELECT id, status, step, claim FROM enrollments ORDER BY id")" "1|active|a|1
2|active|a|2"
}

@test "--settle settles an unknown execution and moves its enrollment; it refuses others" {
	two_steps
	leads '{"external_id":"ok","email":"ok@example.com"}' '{"external_id":"ok2","email":"ok2@example.com"}' \
		'{"external_id":"ok3","email":"ok3@example.com"}'
	enroll two $T0 ok ok2
	due_send $T0 lost
	seq-due --now 2026-11-23T10:05:00Z > /dev/null
	enroll two 2026-11-23T10:06:00Z ok3
	seq-due --now 2026-11-23T10:06:00Z > /dev/null
	assert_equal "$(sql "SELECT id, state FROM sequence_executions ORDER BY id")" "1|unknown
2|unknown
3|claimed"

	run --separate-stderr seq-log --settle 1 sent --now 2026-11-23T11:00:00Z
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(sql "SELECT state, adapter, error IS NULL, metadata, $(iso done_at) FROM sequence_executions WHERE id = 1")" \
		"sent|admin|1|{\"settled_by\":\"admin\"}|2026-11-23T11:00:00Z"
	assert_equal "$(sql "SELECT status, step, cursor, $(iso next_run_at), claim IS NULL FROM enrollments WHERE id = 1")" \
		"active|w|2|2026-11-23T11:00:00Z|1"

	run --separate-stderr seq-log --settle 2 failed --reason "bounced, says the provider's dashboard" --now 2026-11-23T11:00:00Z
	assert_success
	assert_equal "$(sql "SELECT state, adapter, error FROM sequence_executions WHERE id = 2")" \
		"failed|admin|bounced, says the provider's dashboard"
	assert_equal "$(sql "SELECT status, claim IS NULL FROM enrollments WHERE id = 2")" "failed|1"
	assert_equal "$(sql "SELECT reason FROM enrollment_changes WHERE enrollment_id = 2 AND status = 'failed'")" \
		"step a failed: bounced, says the provider's dashboard"

	run --separate-stderr seq-log --unknown
	assert_success
	assert_output ""

	run -1 --separate-stderr seq-log --settle 1 failed --now 2026-11-23T12:00:00Z
	assert_equal "$stderr" "seq-log: execution 1 was recorded as sent already; ignored"
	run -1 --separate-stderr seq-log --settle 3 sent --now 2026-11-23T12:00:00Z
	assert_equal "$stderr" "seq-log: execution 3 is claimed, not unknown"
	run -1 --separate-stderr seq-log --settle 99 sent --now 2026-11-23T12:00:00Z
	assert_equal "$stderr" "seq-log: no execution 99"
	run -2 --separate-stderr seq-log --settle 2 maybe
	run -2 --separate-stderr seq-log --settle x sent
	assert_equal "$(sql "SELECT id, state FROM sequence_executions ORDER BY id")" "1|sent
2|failed
3|claimed"
	assert_equal "$(sql "SELECT status FROM enrollments WHERE id = 1")" active
	# settling adds nothing to the counters: the two were counted once,
	# as unknown, when seq-due found their leases ended
	assert_equal "$(counters)" "mock|email|unknown|2"
}

@test "a late result for an unknown execution is recorded like any other" {
	two_steps
	leads '{"external_id":"ok","email":"ok@example.com"}'
	enroll two $T0 ok
	due_send $T0 late
	seq-due --now 2026-11-23T10:05:00Z > /dev/null
	assert_equal "$(sql "SELECT state FROM sequence_executions")" unknown
	run --separate-stderr seq-log --now 2026-11-23T10:30:00Z < late
	assert_success
	assert_output '{"records":1,"sent":1,"failed":0,"retried":0,"ignored":0,"rejected":0}'
	assert_equal "$(sql "SELECT state, error IS NULL FROM sequence_executions")" "sent|1"
	assert_equal "$(sql "SELECT step, $(iso next_run_at), claim IS NULL FROM enrollments")" "w|2026-11-23T10:30:00Z|1"
}

@test "malformed result lines are rejected with their line numbers and nothing of them reaches the database" {
	two_steps
	leads '{"external_id":"l1","email":"l1@example.com"}' '{"external_id":"l2","email":"l2@example.com"}' \
		'{"external_id":"l3","email":"l3@example.com"}'
	enroll two $T0 l1 l2 l3
	due_send $T0 results
	sed -n 2p results > r2
	sed -n 3p results > r3
	{
		sed -n 1p results
		jq -c '.status = "maybe"' r2
		jq -c 'del(.adapter)' r2
		jq -c '.status = "retry" | .error = null' r2
		jq -c '.http_status = 999' r2
		jq -c '.latency_ms = -1' r3
		echo 'not json'
		jq -c '.cost = "free"' r3
		jq -c '.metadata = []' r3
		jq -c '.attempt = 0' r3
	} > input
	local before
	before=$(sql "SELECT * FROM enrollments WHERE id > 1; SELECT * FROM enrollment_changes WHERE enrollment_id > 1")
	run -1 --separate-stderr seq-log --now $T0 < input
	assert_output '{"records":10,"sent":1,"failed":0,"retried":0,"ignored":0,"rejected":9}'
	assert_equal "${#stderr_lines[@]}" 9
	assert_equal "${stderr_lines[0]}" "seq-log: line 2: status must be sent, failed or retry"
	assert_equal "${stderr_lines[1]}" "seq-log: line 3: missing adapter"
	assert_equal "${stderr_lines[2]}" "seq-log: line 4: a failed or retry result needs an error"
	assert_equal "${stderr_lines[3]}" "seq-log: line 5: http_status must be from 100 to 599 or null"
	assert_equal "${stderr_lines[4]}" "seq-log: line 6: latency_ms must be a whole number"
	assert_regex "${stderr_lines[5]}" '^seq-log: line 7: invalid JSON'
	assert_equal "${stderr_lines[6]}" "seq-log: line 8: cost must be a number of at least 0 or null"
	assert_equal "${stderr_lines[7]}" "seq-log: line 9: metadata must be an object"
	assert_equal "${stderr_lines[8]}" "seq-log: line 10: attempt must be a whole number of at least 1"
	# seq-send named the adapter when it marked them sending; nothing of
	# the bad lines came after
	assert_equal "$(sql "SELECT id, state, adapter, http_status IS NULL, done_at IS NULL FROM sequence_executions ORDER BY id")" \
		"1|sent|mock|0|0
2|sending|mock|1|1
3|sending|mock|1|1"
	assert_equal "$(sql "SELECT * FROM enrollments WHERE id > 1; SELECT * FROM enrollment_changes WHERE enrollment_id > 1")" "$before"
	assert_equal "$(counters)" "mock|email|sent|1"
	# the good results still go in afterwards
	run --separate-stderr seq-log --now $T0 < r2
	assert_success
	assert_output '{"records":1,"sent":1,"failed":0,"retried":0,"ignored":0,"rejected":0}'
}
