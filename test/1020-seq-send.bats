#!/usr/bin/env bats
# seq-send: mock outcomes, the mock log as evidence, the claimed -> sending
# compare-and-set, and what it refuses to deliver.

load test_helper
setup() { common_setup; init_db; }

T0=2026-11-23T10:00:00Z

# One email sequence and one SMS sequence, each one step long.
sequences() {
	seq-def > /dev/null <<'JSON'
{"name":"mail","from":{"email":"sales@example.com"},
 "steps":[{"id":"a","type":"email","subject":"Hi","text":"Hello"}]}
JSON
	seq-def > /dev/null <<'JSON'
{"name":"text","from":{"sms":"+12025550100"},
 "steps":[{"id":"a","type":"sms","text":"Hello"}]}
JSON
}
# Lines of a file, compared as JSON whatever the formatting.
canon() { jq -cS . "$@"; }

@test "mock email outcomes: sent 202, fail* failed 400, flaky* retry then sent on attempt 2" {
	sequences
	leads '{"external_id":"ok","email":"ok@example.com"}' \
		'{"external_id":"fail","email":"fail.x@example.com"}' \
		'{"external_id":"flaky","email":"flaky.y@example.com"}'
	enroll mail $T0 ok fail flaky
	seq-due --now $T0 > jobs
	local k
	k=$(instance)
	run -1 --separate-stderr seq-send --now $T0 < jobs
	assert_equal "$stderr" ""
	assert_equal "${#lines[@]}" 3
	assert_line --index 0 "{\"execution_id\":1,\"key\":\"$k.1.1.1\",\"enrollment_id\":1,\"lead_id\":1,\"sequence\":\"mail\",\"version\":1,\"step\":\"a\",\"channel\":\"email\",\"attempt\":1,\"to\":\"ok@example.com\",\"status\":\"sent\",\"adapter\":\"mock\",\"provider_id\":\"mock-$k.1.1.1\",\"http_status\":202,\"error\":null,\"latency_ms\":0,\"cost\":null,\"metadata\":{\"simulated\":true}}"
	assert_equal "$(jq -r '[.execution_id, .to, .status, .adapter, .provider_id, .http_status, .error] | @tsv' <<< "$output")" \
		"1	ok@example.com	sent	mock	mock-$k.1.1.1	202	
2	fail.x@example.com	failed	mock		400	mock: the recipient rejects every message
3	flaky.y@example.com	retry	mock		503	mock: service unavailable, try again"
	seq-log --now $T0 <<< "$output" > /dev/null
	# the retry is due again within its backoff (at most 6 minutes)
	seq-due --now 2026-11-23T11:00:00Z > jobs2
	assert_equal "$(jq -r '[.execution_id, .to, .attempt, .key] | @tsv' jobs2)" \
		"4	flaky.y@example.com	2	$k.3.1.2"
	run --separate-stderr seq-send --now 2026-11-23T11:00:00Z < jobs2
	assert_success
	assert_equal "$(jq -r '[.execution_id, .attempt, .status, .provider_id, .http_status, .error] | @tsv' <<< "$output")" \
		"4	2	sent	mock-$k.3.1.2	202	"
}

@test "mock SMS outcomes: sent 200, ...0000 failed 400, ...0001 retry then sent on attempt 2" {
	sequences
	leads '{"external_id":"ok","phone":"+16175550123"}' \
		'{"external_id":"fail","phone":"+16175550000"}' \
		'{"external_id":"flaky","phone":"+16175550001"}'
	enroll text $T0 ok fail flaky
	seq-due --now $T0 > jobs
	local k
	k=$(instance)
	run -1 --separate-stderr seq-send --now $T0 < jobs
	assert_equal "$stderr" ""
	assert_equal "$(jq -r '[.execution_id, .channel, .to, .status, .provider_id, .http_status, .error] | @tsv' <<< "$output")" \
		"1	sms	+16175550123	sent	mock-$k.1.1.1	200	
2	sms	+16175550000	failed		400	mock: the recipient rejects every message
3	sms	+16175550001	retry		503	mock: service unavailable, try again"
	seq-log --now $T0 <<< "$output" > /dev/null
	seq-due --now 2026-11-23T11:00:00Z > jobs2
	run --separate-stderr seq-send --now 2026-11-23T11:00:00Z < jobs2
	assert_success
	assert_equal "$(jq -r '[.execution_id, .to, .attempt, .status, .provider_id, .http_status] | @tsv' <<< "$output")" \
		"4	+16175550001	2	sent	mock-$k.3.1.2	200"
}

@test "SEQ_MOCK_LOG gets one line per delivery, holding the job as delivered" {
	sequences
	leads '{"external_id":"ok","email":"ok@example.com"}' \
		'{"external_id":"fail","email":"fail.x@example.com"}' \
		'{"external_id":"flaky","email":"flaky.y@example.com","phone":"+16175550123"}'
	enroll mail $T0 ok fail flaky
	enroll text $T0 flaky
	seq-due --now $T0 > jobs
	export SEQ_MOCK_LOG="$BATS_TEST_TMPDIR/mock.log"
	seq-send --now $T0 < jobs > results || true
	assert_equal "$(wc -l < mock.log)" 4
	assert_equal "$(canon mock.log)" "$(canon jobs)"
	assert_equal "$(stat -c %a mock.log)" 600
	seq-log --now $T0 < results > /dev/null
	seq-due --now 2026-11-23T11:00:00Z > jobs2
	seq-send --now 2026-11-23T11:00:00Z < jobs2 > /dev/null
	# appended, not rewritten
	assert_equal "$(wc -l < mock.log)" 5
	assert_equal "$(canon mock.log)" "$(canon jobs jobs2)"
	assert_equal "$(jq -r '[.key, .attempt] | @tsv' mock.log | cut -d. -f2-)" \
		"1.1.1	1
2.1.1	1
3.1.1	1
4.1.1	1
3.1.2	2"
}

@test "seq-send marks each execution sending; it stays so until seq-log records it" {
	sequences
	leads '{"external_id":"ok","email":"ok@example.com"}' '{"external_id":"ok2","email":"ok2@example.com"}'
	enroll mail $T0 ok ok2
	seq-due --lease 10m --now $T0 > jobs
	assert_equal "$(sql "SELECT state, count(*) FROM sequence_executions GROUP BY state")" "claimed|2"
	run --separate-stderr seq-send --now 2026-11-23T10:00:30Z < jobs
	assert_success
	echo "$output" > results
	assert_equal "$(sql "SELECT id, state, $(iso sending_at), $(iso lease_until), done_at IS NULL, provider_id IS NULL
		FROM sequence_executions ORDER BY id")" \
		"1|sending|2026-11-23T10:00:30Z|2026-11-23T10:10:30Z|1|1
2|sending|2026-11-23T10:00:30Z|2026-11-23T10:10:30Z|1|1"
	assert_equal "$(sql "SELECT id, claim, step, status FROM enrollments ORDER BY id")" "1|1|a|active
2|2|a|active"
	seq-log --now 2026-11-23T10:01:00Z < results > /dev/null
	assert_equal "$(sql "SELECT id, state, $(iso done_at) FROM sequence_executions ORDER BY id")" \
		"1|sent|2026-11-23T10:01:00Z
2|sent|2026-11-23T10:01:00Z"
}

@test "a job whose claim was released (paused before seq-send) is not delivered" {
	sequences
	leads '{"external_id":"ok","email":"ok@example.com"}' '{"external_id":"ok2","email":"ok2@example.com"}'
	enroll mail $T0 ok ok2
	seq-due --now $T0 > jobs
	seq-enroll --pause 1 --now 2026-11-23T10:00:10Z > /dev/null
	export SEQ_MOCK_LOG="$BATS_TEST_TMPDIR/mock.log"
	run --separate-stderr seq-send --now 2026-11-23T10:00:20Z < jobs
	assert_success
	assert_equal "$stderr" "seq-send: line 1: execution 1 is released, not claimed; not sent"
	assert_equal "$(jq -r '[.execution_id, .status] | @tsv' <<< "$output")" "2	sent"
	assert_equal "$(jq -r .execution_id mock.log)" 2
	assert_equal "$(sql "SELECT id, state, sending_at IS NULL, error FROM sequence_executions ORDER BY id")" \
		"1|released|1|not sent: enrollment paused
2|sending|0|"
}

@test "the same job line fed twice, in one run or in two, is delivered once" {
	sequences
	leads '{"external_id":"ok","email":"ok@example.com"}'
	enroll mail $T0 ok
	seq-due --now $T0 > jobs
	export SEQ_MOCK_LOG="$BATS_TEST_TMPDIR/mock.log"
	cat jobs jobs > twice
	run --separate-stderr seq-send --now $T0 < twice
	assert_success
	assert_equal "${#lines[@]}" 1
	assert_equal "$stderr" "seq-send: line 2: execution 1 is sending, not claimed; not sent"
	echo "$output" > results
	run --separate-stderr seq-send --now 2026-11-23T10:00:30Z < jobs
	assert_success
	assert_output ""
	assert_equal "$stderr" "seq-send: line 1: execution 1 is sending, not claimed; not sent"
	seq-log --now $T0 < results > /dev/null
	run --separate-stderr seq-send --now 2026-11-23T10:01:00Z < jobs
	assert_success
	assert_output ""
	assert_equal "$stderr" "seq-send: line 1: execution 1 is sent, not claimed; not sent"
	assert_equal "$(wc -l < mock.log)" 1
	assert_equal "$(sql "SELECT state, $(iso sending_at) FROM sequence_executions")" "sent|2026-11-23T10:00:00Z"
}

@test "a job with a wrong key or an unknown execution id is not delivered" {
	sequences
	leads '{"external_id":"ok","email":"ok@example.com"}'
	enroll mail $T0 ok
	seq-due --now $T0 > jobs
	local k
	k=$(jq -r .key jobs)
	jq -c '.key = "0000000000000000.1.1.1" | .headers."X-Seq-Key" = .key' jobs > wrong
	jq -c '.execution_id = 99' jobs >> wrong
	export SEQ_MOCK_LOG="$BATS_TEST_TMPDIR/mock.log"
	run --separate-stderr seq-send --now $T0 < wrong
	assert_output ""
	assert_equal "$stderr" "seq-send: line 1: no execution 1 with key 0000000000000000.1.1.1; not sent
seq-send: line 2: no execution 99 with key $k; not sent"
	assert_equal "$(wc -c < mock.log)" 0
	assert_equal "$(sql "SELECT id, state FROM sequence_executions")" "1|claimed"
	# the real job still goes out
	run --separate-stderr seq-send --now $T0 < jobs
	assert_success
	assert_equal "$(jq -r '[.execution_id, .status] | @tsv' <<< "$output")" "1	sent"
}

@test "a job that names no execution of this database makes the exit status say so" {
	sequences
	leads '{"external_id":"ok","email":"ok@example.com"}'
	enroll mail $T0 ok
	seq-due --now $T0 > jobs
	# jobs of another database (seq-due --db a | seq-send --db b) go nowhere:
	# cron must hear of it
	seq-init --db other.db 2> /dev/null
	run -1 --separate-stderr seq-send --db other.db --now $T0 < jobs
	assert_output ""
	assert_equal "$stderr" "seq-send: line 1: no execution 1 with key $(jq -r .key jobs); not sent"
	assert_equal "$(sql "SELECT state FROM sequence_executions")" claimed
}

@test "malformed job lines are rejected with their line numbers; valid lines around them go out" {
	sequences
	leads '{"external_id":"ok","email":"ok@example.com"}' '{"external_id":"ok2","email":"ok2@example.com"}'
	enroll mail $T0 ok ok2
	seq-due --now $T0 > jobs
	sed -n 1p jobs > input
	sed -n 2p jobs > two
	{
		jq -c 'del(.to)' two
		jq -c '.attempt = "1"' two
		jq -c '.channel = "fax"' two
		printf '{"execution_id":\n'
		printf '[1,2]\n'
		jq -c '.execution_id = "2"' two
		printf '\n'
		jq -c 'del(.subject)' two
		jq -c '.headers = {"X-Evil":"a\r\nBcc: x@example.com"}' two
		cat two
	} >> input
	export SEQ_MOCK_LOG="$BATS_TEST_TMPDIR/mock.log"
	run -1 --separate-stderr seq-send --now $T0 < input
	assert_equal "$(jq -r '[.execution_id, .status] | @tsv' <<< "$output")" "1	sent
2	sent"
	assert_equal "${#stderr_lines[@]}" 9
	assert_equal "${stderr_lines[0]}" "seq-send: line 2: missing to"
	assert_equal "${stderr_lines[1]}" "seq-send: line 3: attempt must be a whole number of at least 1"
	assert_equal "${stderr_lines[2]}" "seq-send: line 4: channel must be email, sms or voice"
	assert_regex "${stderr_lines[3]}" '^seq-send: line 5: invalid JSON'
	assert_equal "${stderr_lines[4]}" "seq-send: line 6: not a JSON object"
	assert_equal "${stderr_lines[5]}" "seq-send: line 7: execution_id must be a whole number of at least 1"
	assert_equal "${stderr_lines[6]}" "seq-send: line 8: empty line"
	assert_equal "${stderr_lines[7]}" "seq-send: line 9: missing subject"
	assert_equal "${stderr_lines[8]}" "seq-send: line 10: headers must be names and one-line strings"
	assert_equal "$(jq -r .execution_id mock.log)" "1
2"
	assert_equal "$(sql "SELECT id, state FROM sequence_executions ORDER BY id")" "1|sending
2|sending"
}

@test "live delivery without its configuration fails with a clear error and sends nothing" {
	sequences
	leads '{"external_id":"ok","email":"ok@example.com"}'
	enroll mail $T0 ok
	seq-due --now $T0 > jobs
	export SEQ_MOCK_LOG="$BATS_TEST_TMPDIR/mock.log"
	run -4 --separate-stderr env SEQ_DELIVERY=live seq-send --now $T0 < jobs
	assert_output ""
	assert_equal "$stderr" "seq-send: live delivery of email needs SEQ_EMAIL_ADAPTER (sendgrid, postmark or smtp)"
	run -4 --separate-stderr env SEQ_EMAIL_ADAPTER=sendgrid seq-send --live --now $T0 < jobs
	assert_output ""
	assert_regex "$stderr" '^seq-send: the sendgrid adapter needs SENDGRID_API_KEY '
	run -4 --separate-stderr env SEQ_EMAIL_ADAPTER=telnyx-sms seq-send --live --now $T0 < jobs
	assert_equal "$stderr" "seq-send: SEQ_EMAIL_ADAPTER must be sendgrid, postmark, smtp or mock"
	assert_file_not_exists mock.log
	run -4 --separate-stderr env SEQ_DELIVERY=carrier-pigeon seq-send --now $T0 < jobs
	assert_output ""
	assert_equal "$stderr" "seq-send: SEQ_DELIVERY must be mock or live"
	assert_equal "$(sql "SELECT state, sending_at IS NULL FROM sequence_executions")" "claimed|1"
	# mock delivery is the default, and asked for by name
	run --separate-stderr env SEQ_DELIVERY=mock seq-send --now $T0 < jobs
	assert_success
	assert_equal "$(jq -r '[.status, .adapter] | @tsv' <<< "$output")" "sent	mock"
}

# The order of seq-send's system calls, by strace: every write of a delivery
# to the mock log must come after the WAL was synced, and after the last
# write to the WAL before it.  LeakSanitizer cannot run under ptrace.
@test "each group's move to sending is synced to disk before any of it is delivered" {
	command -v strace > /dev/null || skip "needs strace (tools/deps installs it)"
	strace -o /dev/null true 2> /dev/null || skip "strace cannot trace here (ptrace not allowed)"
	sequences
	local i ids=()
	for i in $(seq 1 40); do ids+=("l$i"); leads "{\"external_id\":\"l$i\",\"email\":\"u$i@example.com\"}"; done
	enroll mail $T0 "${ids[@]}"
	seq-due --now $T0 > jobs
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" SEQ_MOCK_LOG="$PWD/mock.log" \
		strace -o trace -e trace=openat,pwrite64,fdatasync,fsync,write \
		seq-send --now $T0 --parallel 8 < jobs > results
	assert_equal "$(wc -l < mock.log)" 40
	assert_equal "$(jq -r .status results | sort -u)" sent
	run awk '
		/openat\(.*-wal"/ { wal = $NF }
		/openat\(.*mock\.log"/ { mlog = $NF }
		wal != "" && $0 ~ "^pwrite64\\(" wal "," { dirty = 1 }
		wal != "" && $0 ~ "^f(data)?sync\\(" wal "\\)" { dirty = 0; synced++ }
		mlog != "" && $0 ~ "^write\\(" mlog "," { writes++; if (dirty || !synced) bad++ }
		END { printf "%d deliveries, %d syncs, %d before a sync\n", writes, synced, bad }' trace
	assert_output --regexp '^40 deliveries, [1-9][0-9]* syncs, 0 before a sync$'
}
