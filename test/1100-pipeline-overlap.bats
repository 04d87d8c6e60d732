#!/usr/bin/env bats
# Overlap: cron runs that overlap never deliver the same step twice, and no
# command fails on a busy database.

load test_helper

setup() {
	common_setup
	init_db
	export SEQ_MOCK_LOG="$BATS_TEST_TMPDIR/mock.log"
}

pipeline() {
	local i=$1 t=$2
	seq-due --now "$t" 2> "due.$i.err" |
		seq-send --now "$t" 2> "send.$i.err" |
		seq-log --now "$t" > "log.$i.out" 2> "log.$i.err"
	echo "${PIPESTATUS[*]}" > "rc.$i"
}

@test "8 pipelines at once over 2,000 due steps deliver every key exactly once" {
	one_email_world 2000 2026-11-25T10:00:00Z
	for i in 1 2 3 4 5 6 7 8; do
		pipeline "$i" 2026-11-25T10:01:00Z &
	done
	wait
	for i in 1 2 3 4 5 6 7 8; do
		assert_equal "$(cat "rc.$i")" "0 0 0"
		assert_equal "$(cat "due.$i.err" "send.$i.err" "log.$i.err")" ""
	done
	assert_equal "$(wc -l < mock.log)" 2000
	assert_equal "$(jq -r .key mock.log | sort -u | wc -l)" 2000
	assert_equal "$(jq -s 'map(.sent) | add' log.*.out)" 2000
	assert_equal "$(sql "SELECT state, count(*) FROM sequence_executions GROUP BY state")" "sent|2000"
	assert_equal "$(sql "SELECT status, count(*) FROM enrollments GROUP BY status")" "completed|2000"
	# a ninth run finds nothing left to do
	run seq-due --now 2026-11-25T11:00:00Z
	assert_success
	assert_output ""
}

@test "8 seq-dues at once, on shards of one capped sequence, claim exactly the daily cap" {
	seq-def > /dev/null <<'JSON'
{"name":"capped","caps":{"email":150},
 "steps":[{"id":"a","type":"email","subject":"A","text":"a"}]}
JSON
	awk 'BEGIN { for (i = 1; i <= 1000; i++)
		printf "{\"external_id\":\"c%d\",\"email\":\"c%d@example.com\"}\n", i, i }' |
		seq-lead | seq-enroll --sequence capped --now 2026-11-25T10:00:00Z > /dev/null
	for i in 1 2 3 4 5 6 7 8; do
		# shards: each run claims its own enrollments, against one cap
		{ seq-due --batch 20 --shard "$i/8" --now 2026-11-25T10:01:00Z > "jobs.$i" 2> "due.$i.err"; echo $? > "rc.$i"; } &
	done
	wait
	for i in 1 2 3 4 5 6 7 8; do
		assert_equal "$(cat "rc.$i")" 0
		assert_equal "$(cat "due.$i.err")" ""
	done
	assert_equal "$(cat jobs.* | wc -l)" 150
	assert_equal "$(jq -r .enrollment_id jobs.* | sort -u | wc -l)" 150
	assert_equal "$(sql "SELECT state, count(*) FROM sequence_executions GROUP BY state")" "claimed|150"
	# every other enrollment waits for the next day, unclaimed
	assert_equal "$(sql "SELECT count(*) FROM enrollments WHERE claim IS NULL AND next_run_at = $(epoch 2026-11-26T00:00:00Z)")" 850
	assert_equal "$(sql "SELECT count(*) FROM enrollments WHERE claim IS NOT NULL")" 150
}

@test "overlapping runs with retries and a second step still deliver each key once" {
	cat > two.json <<'JSON'
{"name":"two","steps":[
 {"id":"a","type":"email","subject":"A","text":"a"},
 {"id":"w","type":"wait","duration":"1h"},
 {"id":"b","type":"email","subject":"B","text":"b"}]}
JSON
	seq-def two.json > /dev/null
	awk 'BEGIN { for (i = 1; i <= 600; i++)
		printf "{\"external_id\":\"x%d\",\"email\":\"%s%d@example.com\"}\n", i, (i % 5 ? "user" : "flaky"), i }' |
		seq-lead | seq-enroll --sequence two --now 2026-11-25T10:00:00Z > /dev/null
	for t in 2026-11-25T10:00:00Z 2026-11-25T10:30:00Z 2026-11-25T11:30:00Z 2026-11-25T12:30:00Z; do
		for i in 1 2 3 4; do
			pipeline "$i" "$t" &
		done
		wait
		for i in 1 2 3 4; do
			assert_equal "$(cat "rc.$i")" "0 0 0"
		done
	done
	# 600 a, 600 b, and the first attempts of 120 flaky leads at each step
	assert_equal "$(wc -l < mock.log)" 1440
	assert_equal "$(jq -r .key mock.log | sort | uniq -d)" ""
	assert_equal "$(sql "SELECT state, count(*) FROM sequence_executions GROUP BY state ORDER BY state")" "retry|240
sent|1200"
	assert_equal "$(sql "SELECT count(*) FROM enrollments WHERE status = 'completed'")" 600
}

@test "SEQ_LOCK_TIMES: each command reports its lock times, and the syncs and checkpoints it ran after the lock" {
	one_email_world 6000 2026-11-25T10:00:00Z
	sql "PRAGMA wal_checkpoint(TRUNCATE)" > /dev/null
	SEQ_LOCK_TIMES=1 pipeline 1 2026-11-25T10:01:00Z
	assert_equal "$(cat rc.1)" "0 0 0"
	assert_equal "$(jq .sent log.1.out)" 6000
	local re='^seq-(due|send|log): ([0-9]+) write transactions: waited [0-9.]+ s for the lock, held it [0-9.]+ s, of which commits [0-9.]+ s; after it, syncs [0-9.]+ s and ([0-9]+) checkpoints tried [0-9.]+ s$'
	local ckpts=0 f
	for f in due.1.err send.1.err log.1.err; do
		assert_equal "$(wc -l < "$f")" 1
		[[ $(cat "$f") =~ $re ]] || fail "not a lock-times line: $(cat "$f")"
		(( BASH_REMATCH[2] > 0 ))
		ckpts=$((ckpts + BASH_REMATCH[3]))
	done
	# 6,000 steps write more than the 1,000 pages of WAL that start a
	# checkpoint, which the commands' own hook must then run
	(( ckpts > 0 )) || fail "no checkpoints counted"
	# without the variable, nothing is said
	run seq-due --now 2026-11-25T11:00:00Z
	assert_success
	assert_output ""
}
