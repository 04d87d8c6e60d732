#!/usr/bin/env bats
# seq-due --dry-run, --explain and --plan: what would go out, why the rest
# would not, and the schedule ahead; none of them changes the database.

load test_helper

setup() {
	common_setup
	init_db
}

# Every table's rows, to see that a dry run left the database as it was.
snapshot() {
	sql .dump | grep -v '^PRAGMA' | sha256sum
}

all_example_leads() {
	load_example
	sql 'SELECT id FROM leads' | sed 's/.*/{"lead_id":&}/' |
		seq-enroll --sequence intro --now 2026-11-23T13:00:00Z > /dev/null 2>&1 || true
}

@test "--dry-run prints what the next real run sends, and claims nothing" {
	all_example_leads
	assert [ "$(sql "SELECT count(*) FROM enrollments WHERE status = 'active'")" -ge 5 ]
	before=$(snapshot)
	run -0 seq-due --dry-run --now 2026-11-23T15:00:00Z
	dry=$output
	assert [ "$(printf '%s\n' "$dry" | grep -c '"key"')" -ge 5 ]
	assert_equal "$(snapshot)" "$before"
	assert_equal "$(sql 'SELECT count(*) FROM sequence_executions')" 0
	# twice the same: a dry run leaves nothing that changes the next
	run -0 seq-due --dry-run --now 2026-11-23T15:00:00Z
	assert_equal "$output" "$dry"
	run -0 seq-due --now 2026-11-23T15:00:00Z
	assert_equal "$output" "$dry"
	assert_equal "$(sql "SELECT count(*) FROM sequence_executions WHERE state = 'claimed'")" \
		"$(printf '%s\n' "$dry" | grep -c '"key"')"
}

@test "--dry-run after real runs: a lapsed claim and the walk's next steps, as the real run then does" {
	all_example_leads
	tick 2026-11-23T15:00:00Z > /dev/null
	# a claim that never reached seq-send lapses and goes out again
	seq-due --now 2026-11-26T15:00:00Z --limit 1 > /dev/null
	before=$(snapshot)
	run -0 seq-due --dry-run --now 2026-11-26T16:00:00Z
	dry=$output
	assert_equal "$(snapshot)" "$before"
	run -0 seq-due --now 2026-11-26T16:00:00Z
	assert_equal "$output" "$dry"
	assert [ -n "$dry" ]
}

@test "--explain says why each enrollment is held back, and claims nothing" {
	load_example
	leads '{"external_id":"optout","email":"quiet@example.com","first_name":"Q","timezone":"America/New_York"}'
	sql 'SELECT id FROM leads' | sed 's/.*/{"lead_id":&}/' |
		seq-enroll --sequence intro --now 2026-11-27T13:00:00Z > /dev/null 2>&1 || true
	echo '{"external_id":"optout","channel":"email","state":"opt-out","at":"2026-11-27T13:00:00Z"}' |
		seq-consent --source test > /dev/null
	before=$(snapshot)
	# Saturday: every email waits for Monday 09:00, in the lead's zone
	run -0 seq-due --explain --now 2026-11-28T15:00:00Z
	assert_equal "$(snapshot)" "$before"
	refute_output --partial '"key"'
	deferred=$(printf '%s\n' "$output" | jq -c 'select(.decision == "deferred")')
	assert_equal "$(printf '%s\n' "$deferred" | jq -r '[.step, .why] | @tsv' | sort -u)" \
		"$(printf 'hello\toutside the send window')"
	# Grace, in New York: 09:00 there
	assert_equal "$(printf '%s\n' "$deferred" | jq -r --argjson l "$(sql "SELECT id FROM leads WHERE external_id = 'crm-1002'")" 'select(.lead_id == $l) | .until')" \
		"2026-11-30T14:00:00Z"
	# each until is where a real run, on a copy, puts the enrollment
	sql ".backup real.db"
	SEQ_DB=real.db seq-due --now 2026-11-28T15:00:00Z > /dev/null
	assert_equal "$(printf '%s\n' "$deferred" | jq -r '[.enrollment_id, .until] | @tsv' | sort -n)" \
		"$(SEQ_DB=real.db sql "SELECT e.id, $(iso e.next_run_at) FROM enrollments e JOIN leads l ON l.id = e.lead_id WHERE e.status = 'active' AND l.external_id <> 'optout' ORDER BY e.id" | tr '|' '\t')"
	assert_equal "$(printf '%s\n' "$deferred" | wc -l)" \
		"$(sql "SELECT count(*) FROM enrollments e JOIN leads l ON l.id = e.lead_id WHERE e.status = 'active' AND l.external_id <> 'optout'")"
	# the opted-out lead: skipped with the reason, and the walk goes on
	run -0 seq-due --explain --now 2026-11-30T14:00:00Z
	optout=$(sql "SELECT id FROM leads WHERE external_id = 'optout'")
	assert_equal "$(printf '%s\n' "$output" | jq -r --argjson l "$optout" 'select(.lead_id == $l and .decision == "skipped") | [.step, .why] | @tsv')" \
		"$(printf 'hello\topted out of email')"
	assert_equal "$(printf '%s\n' "$output" | jq -r --argjson l "$optout" 'select(.lead_id == $l and .decision == "waiting") | [.step, .until] | @tsv')" \
		"$(printf 'pause\t2026-12-03T14:00:00Z')"
	# and the jobs among the records are the real run's
	jobs=$(printf '%s\n' "$output" | grep '"key"')
	run -0 seq-due --now 2026-11-30T14:00:00Z
	assert_equal "$output" "$jobs"
}

@test "--plan --until shows the schedule ahead, and the real runs follow it" {
	cat > steps.json <<'JSON'
{"name":"steps","timezone":"America/New_York",
 "window":{"days":["mon","tue","wed","thu","fri"],"start":"09:00","end":"17:00"},
 "steps":[
  {"id":"hello","type":"email","subject":"Hi {{first_name}}","text":"Hello"},
  {"id":"w1","type":"wait","duration":"1d"},
  {"id":"text","type":"sms","text":"A text"},
  {"id":"w2","type":"wait","duration":"2d9h"},
  {"id":"bump","type":"email","subject":"Again","text":"Bump"}]}
JSON
	seq-def steps.json > /dev/null
	leads '{"external_id":"a","email":"a@example.com","phone":"+12025550111","first_name":"A","timezone":"America/New_York"}' \
		'{"external_id":"b","email":"b@example.com","first_name":"B","timezone":"America/New_York"}'
	enroll steps 2026-11-23T13:30:00Z a b
	a=$(sql "SELECT id FROM leads WHERE external_id = 'a'")
	before=$(snapshot)
	run -0 seq-due --plan --lead "$a" --now 2026-11-23T14:00:00Z --until 2026-12-01T00:00:00Z
	assert_equal "$(snapshot)" "$before"
	assert_equal "$(printf '%s\n' "$output" | jq -r '[.at, .step, .channel] | @tsv')" \
		"$(printf '%s\t%s\t%s\n' 2026-11-23T14:00:00Z hello email 2026-11-24T14:00:00Z text sms 2026-11-27T14:00:00Z bump email)"
	run -0 seq-due --plan --sequence steps --now 2026-11-23T14:00:00Z --until 2026-12-01T00:00:00Z
	plan=$(printf '%s\n' "$output" | jq -r '[.at, .key, .step, .to] | @tsv' | sort)
	assert_equal "$(printf '%s\n' "$plan" | wc -l)" 5
	# --until cuts the plan
	run -0 seq-due --plan --sequence steps --now 2026-11-23T14:00:00Z --until 2026-11-24T13:59:59Z
	assert_equal "$(printf '%s\n' "$output" | jq -r .step | sort | tr '\n' ' ')" "hello hello "
	# cron every hour for five days, mock delivery, nothing engaging
	t=$(epoch 2026-11-23T14:00:00Z)
	end=$(epoch 2026-11-28T14:00:00Z)
	while [ "$t" -le "$end" ]; do
		tick "$(date -u -d "@$t" +%FT%TZ)" > /dev/null
		t=$((t + 3600))
	done
	assert_equal "$(sql "SELECT $(iso claimed_at) || char(9) || key || char(9) || step || char(9) || coalesce(recipient, '') FROM sequence_executions WHERE state = 'sent' ORDER BY 1" | sort)" \
		"$plan"
	assert_equal "$(sql "SELECT group_concat(DISTINCT state) FROM sequence_executions WHERE state <> 'sent'")" "skipped"
}

@test "--plan and --dry-run refuse what they cannot do" {
	run -2 seq-due --plan
	run -2 seq-due --plan --dry-run --until 2026-12-01T00:00:00Z
	run -2 seq-due --until 2026-12-01T00:00:00Z
	run -2 --separate-stderr seq-due --plan --now 2026-12-02T00:00:00Z --until 2026-12-01T00:00:00Z
	assert_equal "$stderr" "seq-due: --until: 2026-12-01T00:00:00Z is before now"
	run -1 --separate-stderr seq-due --plan --sequence nosuch --now 2026-11-30T00:00:00Z --until 2026-12-01T00:00:00Z
	assert_equal "$stderr" "seq-due: no sequence 'nosuch'"
}
