#!/usr/bin/env bats
# Bad input: every command that reads NDJSON rejects a line that is not a
# valid record with its line number, keeps going, changes nothing for it,
# and exits 1.  The lines come from JSONTestSuite's n_ files (JSON that every
# parser must refuse) and from records that are JSON but wrong.

load test_helper

setup() {
	common_setup
	init_db
	JTS="$SHARED/testdata/jsontestsuite"
	NOW=2026-11-25T10:00:00Z
}

# The n_ files, each between two valid lines, through one command.  This
# runs in a plain bash, away from bats' tracing of every command, and forks
# little: 188 rounds would otherwise take minutes.
#
# First a reference run: base.db copied to $SEQ_DB, the lines $2 and $3 fed
# to the command (the rest of the arguments); it must succeed silently.  Then
# for every n_ file: base.db copied again, in.ndjson written (the line $2, the
# file as it is, with a newline added if it has none, the line $3), the
# command run, and checked: exit status 1; every line of stderr is
# "$1: line N: reason" with N among the n_ file's lines, line 2 among them;
# stdout is the reference run's (or $OUT_EXPECT, with @L@ for the number of
# n_ lines and @L2@ for that plus 2); the database dumps as after the
# reference run, and passes PRAGMA integrity_check.  Each failure is a line
# naming the file; the number of files checked goes to the file checked.
n_files() {
	local prog=$1 first=$2 last=$3 f name L st got want n=0 ref_out ref_db
	shift 3
	export LC_ALL=C
	fresh() {
		[ -e "$SEQ_DB-wal" ] && rm -f "$SEQ_DB-wal" "$SEQ_DB-shm"
		cp base.db "$SEQ_DB"
	}
	fresh
	printf '%s\n%s\n' "$first" "$last" > ref.ndjson
	st=0
	"$@" < ref.ndjson > ref.out 2> ref.err || st=$?
	if [ "$st" != 0 ] || [ -s ref.err ]; then
		echo "reference run: exit status $st: $(head -c 300 ref.err)"
		return
	fi
	ref_out=$(< ref.out)
	ref_db=$(sqlite3 -batch "$SEQ_DB" .dump 'PRAGMA integrity_check')
	for f in "$JTS"/n_*; do
		name=${f##*/}
		n=$((n + 1))
		fresh
		{
			printf '%s\n' "$first"
			if [ -s "$f" ]; then sed -e '$a\' "$f"; else echo; fi
			printf '%s\n' "$last"
		} > in.ndjson
		L=$(($(wc -l < in.ndjson) - 2))
		st=0
		"$@" < in.ndjson > out 2> err || st=$?
		if [ "$st" != 1 ]; then
			echo "$name: exit status $st, not 1: $(head -c 300 err)"
			continue
		fi
		awk -v p="$prog: line " -v max=$((L + 1)) -v name="$name" '
			index($0, p) != 1 { print name ": not a rejection: " $0; next }
			{
				n = substr($0, length(p) + 1) + 0
				if (n < 2 || n > max)
					print name ": line " n " is not an n_ line: " $0
				if (n == 2)
					two = 1
			}
			END { if (!two) print name ": no message for line 2" }' err
		want=$ref_out
		if [ -n "${OUT_EXPECT:-}" ]; then
			want=${OUT_EXPECT//@L2@/$((L + 2))}
			want=${want//@L@/$L}
		fi
		got=$(< out)
		[ "$got" = "$want" ] || echo "$name: stdout is $got"
		got=$(sqlite3 -batch "$SEQ_DB" .dump 'PRAGMA integrity_check' 2>&1)
		[ "$got" = "$ref_db" ] ||
			echo "$name: the database differs from the reference run's: $(diff <(echo "$ref_db") <(echo "$got") | head -5)"
	done
	echo "$n" > checked
}

# Runs n_files, and fails with its report unless every file passed.
check_n_files() {
	export -f n_files
	export JTS OUT_EXPECT
	run --separate-stderr bash -c 'n_files "$@"' n_files "$@"
	assert_success
	assert_equal "$stderr" ""
	assert_output ""
	assert_equal "$(cat checked)" "$(find "$JTS" -name 'n_*' | wc -l)"
	assert [ "$(cat checked)" -ge 180 ]
}

# The reference run's output and database (the last n_ round left the same):
# the two valid lines did their work.
check_reference() {
	assert_equal "$(jq -c "$OUT_FILTER" ref.out)" "$OUT_REF"
	assert_equal "$(sql "$DB_QUERY")" "$DB_REF"
}

# save_db keeps the database as base.db; fresh_db puts a copy of it back.
save_db() {
	sql 'PRAGMA wal_checkpoint(TRUNCATE)' > /dev/null
	cp "$SEQ_DB" base.db
}
fresh_db() {
	rm -f "$SEQ_DB" "$SEQ_DB-wal" "$SEQ_DB-shm"
	cp base.db "$SEQ_DB"
}

# Two leads and a one-email sequence.
two_leads() {
	cat > one.json <<'JSON'
{"name":"one","steps":[{"id":"hello","type":"email","subject":"Hi {{first_name|there}}","text":"Hello"}]}
JSON
	seq-def --now "$NOW" one.json > /dev/null
	printf '{"external_id":"l1","email":"user1@example.com"}\n{"external_id":"l2","email":"user2@example.com"}\n' > leads.ndjson
	seq-lead --now "$NOW" < leads.ndjson > /dev/null
}

# ... enrolled, and their steps claimed: jobs.ndjson has two jobs.
two_jobs() {
	two_leads
	printf '{"id":1}\n{"id":2}\n' > refs.ndjson
	seq-enroll --sequence one --now "$NOW" < refs.ndjson > /dev/null
	seq-due --now "$NOW" > jobs.ndjson
	assert_equal "$(jq -r .execution_id jobs.ndjson | tr '\n' ' ')" "1 2 "
	JOB1=$(sed -n 1p jobs.ndjson)
	JOB2=$(sed -n 2p jobs.ndjson)
}

# ... and sent: results.ndjson has two results.
two_results() {
	two_jobs
	seq-send --now "$NOW" < jobs.ndjson > results.ndjson
	assert_equal "$(jq -r .status results.ndjson | tr '\n' ' ')" "sent sent "
	RES1=$(sed -n 1p results.ndjson)
	RES2=$(sed -n 2p results.ndjson)
}

@test "seq-lead: every n_ file of JSONTestSuite is rejected as line 2; the leads around it are stored" {
	need_shared testdata/jsontestsuite
	save_db
	check_n_files seq-lead '{"external_id":"a","email":"a@example.com"}' \
		'{"external_id":"b","email":"b@example.com"}' seq-lead --now "$NOW"
	OUT_FILTER='[.id, .external_id, .quality]'
	OUT_REF='[1,"a",85]
[2,"b",85]'
	DB_QUERY="SELECT id, external_id FROM leads ORDER BY id; SELECT count(*) FROM consent"
	DB_REF="1|a
2|b
0"
	check_reference
}

@test "seq-enroll --sequence: every n_ file is rejected as line 2; the leads around it are enrolled" {
	need_shared testdata/jsontestsuite
	two_leads
	seq-def --now "$NOW" "$TOP/share/examples/intro.json" > /dev/null
	save_db
	check_n_files seq-enroll '{"id":1}' '{"external_id":"l2"}' \
		seq-enroll --sequence intro --now "$NOW"
	OUT_FILTER='[.enrollment_id, .lead_id, .sequence, .status]'
	OUT_REF='[1,1,"intro","active"]
[2,2,"intro","active"]'
	DB_QUERY="SELECT lead_id, status FROM enrollments ORDER BY id; SELECT count(*) FROM enrollment_changes"
	DB_REF="1|active
2|active
2"
	check_reference
}

@test "seq-send: every n_ file is rejected as line 2; the jobs around it are delivered" {
	need_shared testdata/jsontestsuite
	two_jobs
	save_db
	export SEQ_MOCK_LOG="$BATS_TEST_TMPDIR/mock.log"
	rm -f mock.log
	check_n_files seq-send "$JOB1" "$JOB2" seq-send --now "$NOW"
	OUT_FILTER='[.execution_id, .status, .http_status]'
	OUT_REF='[1,"sent",202]
[2,"sent",202]'
	DB_QUERY="SELECT id, state FROM sequence_executions ORDER BY id"
	DB_REF="1|sending
2|sending"
	check_reference
	# the reference run and each of the 188 delivered the two jobs, no more
	assert_equal "$(jq -r .execution_id mock.log | sort | uniq -c | awk '{ print $2 ":" $1 }' | tr '\n' ' ')" \
		"1:$(( $(cat checked) + 1 )) 2:$(( $(cat checked) + 1 )) "
}

@test "seq-log: every n_ file is rejected as line 2; the results around it are recorded" {
	need_shared testdata/jsontestsuite
	two_results
	save_db
	OUT_EXPECT='{"records":@L2@,"sent":2,"failed":0,"retried":0,"ignored":0,"rejected":@L@}'
	check_n_files seq-log "$RES1" "$RES2" seq-log --now "$NOW"
	OUT_FILTER='.'
	OUT_REF='{"records":2,"sent":2,"failed":0,"retried":0,"ignored":0,"rejected":0}'
	DB_QUERY="SELECT id, state FROM sequence_executions ORDER BY id; SELECT status FROM enrollments ORDER BY id; SELECT adapter, channel, outcome, count FROM adapter_counters"
	DB_REF="1|sent
2|sent
completed
completed
mock|email|sent|2"
	check_reference
}

# ---- records that are JSON, but wrong ----

# A line of about n bytes: the JSON object $1 with a member pad of a's.
padded() {
	local n=$1 obj=$2
	printf '%s,"pad":"' "${obj%\}}"
	head -c "$n" /dev/zero | tr '\0' a
	printf '"}\n'
}

@test "seq-lead: missing and mistyped fields, an id that names no lead, a 10 MB field" {
	{
		echo '{"external_id":"ok1","email":"ok1@example.com"}'
		echo '{"first_name":"No","last_name":"Key"}'
		echo '{"external_id":["x"],"email":"x@example.com"}'
		echo '{"external_id":"t3","phone":5551234}'
		echo '{"external_id":"t4","attributes":[1,2]}'
		echo '{"external_id":"t5","consent":{"email":true}}'
		padded 10485760 '{"external_id":"huge","email":"huge@example.com"}'
		echo '{"id":99,"external_id":"ok2","email":"ok2@example.com"}'
	} > in.ndjson
	run -1 --separate-stderr seq-lead --now "$NOW" < in.ndjson
	assert_equal "$stderr" 'seq-lead: line 2: a lead needs external_id or email
seq-lead: line 3: external_id must be a string
seq-lead: line 4: phone must be a string
seq-lead: line 5: attributes must be an object
seq-lead: line 6: consent: a state is "opt-in" or "opt-out"
seq-lead: line 7: line longer than 1048576 bytes; skipped'
	# the input's id names no lead and is not used: ok2 is lead 2
	assert_equal "$(jq -c '[.id, .external_id, .attributes]' <<< "$output")" '[1,"ok1",null]
[2,"ok2",null]'
	assert_equal "$(sql "SELECT id, external_id FROM leads ORDER BY id; SELECT count(*) FROM consent; PRAGMA integrity_check")" "1|ok1
2|ok2
0
ok"
}

@test "seq-enroll: missing and mistyped references, unknown leads, a 10 MB field" {
	two_leads
	{
		echo '{"id":1}'
		echo '{"name":"Ada"}'
		echo '{"id":"2"}'
		echo '{"lead_id":null,"email":7}'
		echo '{"id":99}'
		echo '{"lead_id":0}'
		echo '{"external_id":"l99"}'
		padded 10485760 '{"id":2}'
		padded 1200000 '{"id":2}'
		echo '{"external_id":"l2"}'
	} > in.ndjson
	run -1 --separate-stderr seq-enroll --sequence one --now "$NOW" < in.ndjson
	assert_equal "$stderr" 'seq-enroll: line 2: a lead reference needs id, external_id or email
seq-enroll: line 3: id must be a whole number
seq-enroll: line 4: external_id and email must be strings
seq-enroll: line 5: no such lead: {"id":99}
seq-enroll: line 6: no such lead: {"lead_id":0}
seq-enroll: line 7: no such lead: {"external_id":"l99"}
seq-enroll: line 8: line longer than 1048576 bytes; skipped
seq-enroll: line 9: line longer than 1048576 bytes; skipped'
	assert_equal "$(jq -c '[.enrollment_id, .lead_id]' <<< "$output")" '[1,1]
[2,2]'
	assert_equal "$(sql "SELECT id, lead_id FROM enrollments ORDER BY id; SELECT count(*) FROM enrollment_changes; PRAGMA integrity_check")" "1|1
2|2
2
ok"
}

@test "seq-send: missing and mistyped fields, a job for no execution and an unknown lead, a 10 MB field" {
	two_jobs
	export SEQ_MOCK_LOG="$BATS_TEST_TMPDIR/mock.log"
	head -c 300000 /dev/zero | tr '\0' a > big.txt
	{
		jq -c 'del(.key)' <<< "$JOB1"
		jq -c '.execution_id = "1"' <<< "$JOB1"
		jq -c '.attempt = 0' <<< "$JOB1"
		jq -c '.channel = "fax"' <<< "$JOB1"
		jq -c '.headers = ["X-A: b"]' <<< "$JOB1"
		jq -c '.headers = {"X-A": "a\r\nBcc: someone@example.com"}' <<< "$JOB1"
		jq -c 'del(.subject)' <<< "$JOB1"
		jq -c '.text = ""' <<< "$JOB1"
		jq -c '.to = 5' <<< "$JOB1"
		jq -c --rawfile t big.txt '.text = $t' <<< "$JOB1"
		padded 10485760 "$JOB1"
		jq -c '.execution_id = 99 | .key = "k99" | .lead_id = 999' <<< "$JOB1"
		echo "$JOB2"
	} > in.ndjson
	run -1 --separate-stderr seq-send --now "$NOW" < in.ndjson
	assert_equal "$stderr" "seq-send: line 1: missing key
seq-send: line 2: execution_id must be a whole number of at least 1
seq-send: line 3: attempt must be a whole number of at least 1
seq-send: line 4: channel must be email, sms or voice
seq-send: line 5: headers must be an object
seq-send: line 6: headers must be names and one-line strings
seq-send: line 7: missing subject
seq-send: line 8: text is empty
seq-send: line 9: to must be a string
seq-send: line 10: text is longer than 262144 bytes
seq-send: line 11: line longer than 1048576 bytes; skipped
seq-send: line 12: no execution 99 with key k99; not sent"
	# only the valid job went out
	assert_equal "$(jq -r '[.execution_id, .status] | @tsv' <<< "$output")" "2	sent"
	assert_equal "$(jq -r .execution_id mock.log | tr '\n' ' ')" "2 "
	assert_equal "$(sql "SELECT id, state FROM sequence_executions ORDER BY id; PRAGMA integrity_check")" "1|claimed
2|sending
ok"
	# a job that names no execution of this database, alone, for a lead
	# that does not exist either: not sent, and the exit status says so
	rm -f mock.log
	sql .dump > before.sql
	jq -c '.execution_id = 77 | .key = "elsewhere.77.1.1" | .lead_id = 999' <<< "$JOB1" > stranger.ndjson
	run -1 --separate-stderr seq-send --now "$NOW" < stranger.ndjson
	assert_output ""
	assert_equal "$stderr" "seq-send: line 1: no execution 77 with key elsewhere.77.1.1; not sent"
	if [ -e mock.log ]; then assert_file_empty mock.log; fi
	sql .dump > after.sql
	assert_equal "$(cat after.sql)" "$(cat before.sql)"
}

@test "seq-log: missing and mistyped fields, results for no execution or another key, a 10 MB field" {
	two_results
	head -c 300000 /dev/zero | tr '\0' a > big.txt
	{
		jq -c 'del(.status)' <<< "$RES1"
		jq -c '.http_status = "202"' <<< "$RES1"
		jq -c '.cost = -1' <<< "$RES1"
		jq -c '.metadata = [1]' <<< "$RES1"
		jq -c '.status = "ok"' <<< "$RES1"
		jq -c '.status = "failed" | .error = null' <<< "$RES1"
		jq -c '.execution_id = 99 | .lead_id = 999' <<< "$RES1"
		jq -c '.key = "another"' <<< "$RES1"
		jq -c --rawfile t big.txt '.status = "failed" | .error = $t' <<< "$RES1"
		jq -c '.latency_ms = -5' <<< "$RES1"
		padded 10485760 "$RES1"
		echo "$RES2"
		echo "$RES2"
	} > in.ndjson
	run -1 --separate-stderr seq-log --now "$NOW" < in.ndjson
	assert_output '{"records":13,"sent":1,"failed":0,"retried":0,"ignored":1,"rejected":11}'
	# in the order of the lines
	assert_equal "$(sort -s -k3,3n <<< "$stderr")" "seq-log: line 1: missing status
seq-log: line 2: http_status must be from 100 to 599 or null
seq-log: line 3: cost must be a number of at least 0 or null
seq-log: line 4: metadata must be an object
seq-log: line 5: status must be sent, failed or retry
seq-log: line 6: a failed or retry result needs an error
seq-log: line 7: no execution 99
seq-log: line 8: execution 1 has another key
seq-log: line 9: error is longer than 262144 bytes
seq-log: line 10: latency_ms must be a whole number
seq-log: line 11: line longer than 1048576 bytes; skipped
seq-log: line 13: execution 2 was recorded as sent already; ignored"
	assert_equal "$(sql "SELECT id, state FROM sequence_executions ORDER BY id; SELECT adapter, channel, outcome, count FROM adapter_counters; PRAGMA integrity_check")" "1|sending
2|sent
mock|email|sent|1
ok"
}

@test "no command crashes on binary garbage, NUL bytes, lone CRs or invalid UTF-8" {
	two_results
	save_db
	{
		printf '\x00\x01\x02\n'
		printf '\xff\xfe{"id":1}\n'
		printf '{"external_id":"\xc3\x28","email":"x@example.com"}\n'
		printf '\r{"id":1}\r{"id":2}\r\n'
		printf '\r\n'
		head -c 4096 /dev/urandom | tr -d '\n'
		printf '\n{"a":"\\ud800"}\n'
	} > garbage.ndjson
	for c in "seq-lead" "seq-enroll --sequence one" "seq-send" "seq-log"; do
		echo "command: $c"
		fresh_db
		sql .dump > before.sql
		run -1 --separate-stderr $c --now "$NOW" < garbage.ndjson
		prog=${c%% *}
		for k in 1 2 3 4 5 6; do
			assert_regex "$stderr" "(^|"$'\n'")$prog: line $k: "
		done
		sql .dump > after.sql
		assert_equal "$(cat after.sql)" "$(cat before.sql)"
		assert_equal "$(sql 'PRAGMA integrity_check')" ok
	done
}
