#!/usr/bin/env bats
# seq-task: a task step (a call, a LinkedIn message) becomes an open task
# that waits for a person; seq-task --list shows it with the lead's details;
# seq-task --done records its outcome as an event on the step, which a
# branch reads, and moves the enrollment on.  Times are given with --now.

load test_helper
setup() { common_setup; init_db; }

T0=2026-11-23T10:00:00Z

# email intro -> task call -> branch on "answered" (then a, else b)
calls() {
	cat > calls.json <<JSON
{"name":"calls",${1:+$1,}"steps":[
 {"id":"intro","type":"email","subject":"Hi {{first_name}}","text":"Hello {{first_name}}"},
 {"id":"call","type":"task","kind":"call","title":"Call {{first_name}} {{last_name}} at {{company}}","notes":"Ask about {{attr.topic|their plans}}"},
 {"id":"after","type":"branch","if":{"event":"answered","step":"call"},"then":"a","else":"b"},
 {"id":"a","type":"email","subject":"Good talking, {{first_name}}","text":"A","next":"end"},
 {"id":"b","type":"email","subject":"Sorry I missed you, {{first_name}}","text":"B"}]}
JSON
	seq-def calls.json > /dev/null
}

people() {
	leads '{"external_id":"ann","email":"ann.archer@example.com","phone":"+1 415 555 0101","first_name":"Annabel","last_name":"Archer","company":"Acme Widgets","title":"CTO","timezone":"America/Los_Angeles","attributes":{"topic":"pricing"}}' \
		'{"external_id":"bob","email":"bob.baker@example.org","first_name":"Roberto","last_name":"Baker","company":"Bakery"}'
}

# Both enrolled at T0, the intro sent, the tasks opened a minute later.
at_the_call() {
	calls "$@"
	people
	enroll calls $T0 ann bob
	export SEQ_MOCK_LOG=$BATS_TEST_TMPDIR/sent.ndjson
	tick $T0 > /dev/null
	seq-due --now 2026-11-23T10:01:00Z > due.ndjson
}

# One tick at $1 whose jobs stay in jobs.ndjson.
tick_keep() {
	seq-due --now "$1" > jobs.ndjson
	seq-send --now "$1" < jobs.ndjson | seq-log --now "$1" > /dev/null
}

@test "a task step opens a task, sends nothing, and waits; --list shows the open tasks with the lead's details" {
	at_the_call
	# nothing goes out for a task: no job line, no execution, no delivery
	assert_equal "$(cat due.ndjson)" ""
	assert_equal "$(jq -r .step sent.ndjson | sort | uniq -c | tr -s ' ')" " 2 intro"
	assert_equal "$(sql "SELECT count(*) FROM sequence_executions WHERE step = 'call'")" 0
	# the enrollment waits at the step, never due by itself
	assert_equal "$(sql "SELECT id, step, cursor, next_run_at IS NULL, claim IS NULL FROM enrollments ORDER BY id")" \
		"1|call|2|1|1
2|call|2|1|1"
	run -0 --separate-stderr seq-due --now 2026-12-23T10:00:00Z
	assert_output ""
	run -0 --separate-stderr seq-task --list
	assert_equal "$stderr" ""
	assert_equal "$(jq -c . <<< "${lines[0]}")" \
		'{"task_id":1,"enrollment_id":1,"lead_id":1,"sequence":"calls","version":1,"step":"call","kind":"call","title":"Call Annabel Archer at Acme Widgets","notes":"Ask about pricing","created_at":"2026-11-23T10:01:00Z","lead":{"id":1,"external_id":"ann","first_name":"Annabel","last_name":"Archer","company":"Acme Widgets","title":"CTO","email":"ann.archer@example.com","phone":"+14155550101","timezone":"America/Los_Angeles"}}'
	assert_equal "$(jq -r '[.task_id, .title, .notes, .lead.email, .lead.phone // "-"] | @tsv' <<< "${lines[1]}")" \
		"$(printf '2\tCall Roberto Baker at Bakery\tAsk about their plans\tbob.baker@example.org\t-')"
	# filters
	assert_equal "$(seq-task --list --lead 2 | jq -r .task_id)" 2
	assert_equal "$(seq-task --list --sequence calls --limit 1 | jq -r .task_id)" 1
	assert_equal "$(seq-task --list --sequence other)" ""
	# the timeline shows the task as it was opened
	assert_equal "$(seq-timeline --lead 1 --kind task | jq -c '[.at, .what, .step, .channel, .details]')" \
		'["2026-11-23T10:01:00Z","open","call","task",{"task_id":1,"kind":"call","title":"Call Annabel Archer at Acme Widgets"}]'
}

@test "a task's outcome drives a branch: answered leads to A, no-answer to B" {
	at_the_call
	run -0 --separate-stderr seq-task --done 1 --outcome answered --note "wants a demo" --now 2026-11-23T11:00:00Z
	assert_equal "$(jq -c '[.task_id, .outcome, .note, .done_at, .execution_id]' <<< "$output")" \
		'[1,"answered","wants a demo","2026-11-23T11:00:00Z",3]'
	run -0 --separate-stderr seq-task --done 2 --outcome no-answer --now 2026-11-23T11:05:00Z
	# each done task is the step's sent attempt, with its outcome as an
	# event on it; the enrollment is due at once at its next step
	assert_equal "$(sql "SELECT id, lead_id, step, channel, state, $(iso claimed_at), $(iso done_at) FROM sequence_executions WHERE step = 'call' ORDER BY id")" \
		"3|1|call|task|sent|2026-11-23T10:01:00Z|2026-11-23T11:00:00Z
4|2|call|task|sent|2026-11-23T10:01:00Z|2026-11-23T11:05:00Z"
	assert_equal "$(sql "SELECT provider, provider_event_id, type, execution_id, lead_id, channel FROM events ORDER BY id")" \
		"task|task:1|answered|3|1|task
task|task:2|no-answer|4|2|task"
	assert_equal "$(sql "SELECT step, cursor, $(iso next_run_at) FROM enrollments ORDER BY id")" \
		"after|3|2026-11-23T11:00:00Z
after|3|2026-11-23T11:05:00Z"
	assert_equal "$(seq-task --list)" ""

	tick_keep 2026-11-23T11:10:00Z
	assert_equal "$(jq -r '[.lead_id, .step, .subject] | @tsv' jobs.ndjson)" \
		"$(printf '1\ta\tGood talking, Annabel\n2\tb\tSorry I missed you, Roberto')"
	assert_equal "$(jq -r 'select(.step == "a" or .step == "b") | [.to, .subject] | @tsv' sent.ndjson)" \
		"$(printf 'ann.archer@example.com\tGood talking, Annabel\nbob.baker@example.org\tSorry I missed you, Roberto')"
	assert_equal "$(sql "SELECT id, status FROM enrollments ORDER BY id")" "1|completed
2|completed"
	# the timeline: the task opened, then done, its attempt and its
	# outcome (the order of activities at one time is the view's)
	assert_equal "$(seq-timeline --lead 1 --channel task | jq -c '[.at, .kind, .what, .details.outcome // .details.provider // null]' | sort)" \
		'["2026-11-23T10:01:00Z","task","open",null]
["2026-11-23T11:00:00Z","event","answered","task"]
["2026-11-23T11:00:00Z","step","sent",null]
["2026-11-23T11:00:00Z","task","done","answered"]'
}

@test "a task is done once: again, an unknown id, a paused or cancelled enrollment's, and a provider's outcome are refused, and nothing changes" {
	at_the_call
	seq-task --done 1 --outcome voicemail --now 2026-11-23T11:00:00Z > /dev/null
	seq-enroll --pause 2 > /dev/null
	sql .dump > before.sql
	run -1 --separate-stderr seq-task --done 1 --outcome answered --now 2026-11-23T11:01:00Z
	assert_output ""
	assert_equal "$stderr" "seq-task: task 1 was done already, at 2026-11-23T11:00:00Z (voicemail); nothing changed"
	run -1 --separate-stderr seq-task --done 9 --outcome answered
	assert_equal "$stderr" "seq-task: no task 9"
	run -1 --separate-stderr seq-task --done 2 --outcome answered
	assert_equal "$stderr" "seq-task: task 2: enrollment 2 is paused (resume it with seq-enroll --resume first); nothing changed"
	# outcomes: an event name, and none of a provider's words for a message
	run -2 --separate-stderr seq-task --done 2 --outcome unsubscribe
	assert_equal "$stderr" "seq-task: --outcome: 'unsubscribe': that event is a provider's word for a message; record an opt-out with seq-consent"
	run -2 --separate-stderr seq-task --done 2 --outcome auto_reply
	assert_equal "$stderr" "seq-task: --outcome: 'auto_reply': an automatic reply is a mail's, not a task's outcome"
	run -2 --separate-stderr seq-task --done 2 --outcome Answered
	assert_equal "$stderr" "seq-task: --outcome: 'Answered': an outcome is a lower-case event name like answered, voicemail, no-answer or meeting_booked"
	run -2 --separate-stderr seq-task --done 2
	run -2 --separate-stderr seq-task --list --done 2 --outcome answered
	run -2 --separate-stderr seq-task --done x --outcome answered
	sql .dump > after.sql
	assert_equal "$(diff before.sql after.sql)" ""
	# a paused enrollment's task is not on the list, and a cancelled one's
	# is moot
	assert_equal "$(seq-task --list)" ""
	seq-enroll --cancel 2 > /dev/null
	run -1 --separate-stderr seq-task --done 2 --outcome answered
	assert_equal "$stderr" "seq-task: task 2: enrollment 2 is cancelled, so its task is moot; nothing changed"
	assert_equal "$(sql "SELECT id, done_at IS NULL FROM tasks ORDER BY id")" "1|0
2|1"
	assert_equal "$(sql "SELECT count(*) FROM events")" 1
}

@test "a rerun of seq-due, and a pause and a resume, open no second task; the resumed task is done as before" {
	at_the_call
	seq-due --now 2026-11-23T10:02:00Z > /dev/null
	seq-enroll --pause 1 --now 2026-11-23T10:03:00Z > /dev/null
	seq-enroll --resume 1 --now 2026-11-23T10:04:00Z > /dev/null
	run -0 --separate-stderr seq-due --now 2026-11-23T10:05:00Z
	assert_output ""
	assert_equal "$(sql "SELECT id, enrollment_id, cursor FROM tasks ORDER BY id")" "1|1|2
2|2|2"
	assert_equal "$(sql "SELECT step, next_run_at IS NULL FROM enrollments WHERE id = 1")" "call|1"
	assert_equal "$(seq-task --list | jq -r .task_id)" "1
2"
	run -0 --separate-stderr seq-task --done 1 --outcome answered --now 2026-11-23T11:00:00Z
	tick_keep 2026-11-23T11:00:00Z
	assert_equal "$(jq -r '[.lead_id, .step] | @tsv' jobs.ndjson)" "$(printf '1\ta')"
}

@test "an outcome the sequence exits on ends the enrollment at once; an own event name is an outcome too" {
	at_the_call '"exit_on":["meeting_booked"]'
	run -0 --separate-stderr seq-task --done 1 --outcome meeting_booked --now 2026-11-23T11:00:00Z
	assert_equal "$(sql "SELECT id, status, step FROM enrollments ORDER BY id")" "1|exited|call
2|active|call"
	assert_equal "$(sql "SELECT reason FROM enrollment_changes WHERE enrollment_id = 1 ORDER BY id DESC LIMIT 1")" \
		"meeting_booked received (event 1)"
	run -0 --separate-stderr seq-due --now 2026-11-23T11:10:00Z
	assert_output ""
	assert_equal "$(seq-task --list | jq -r .task_id)" 2
}

@test "a conversion in another sequence ends an enrollment that waits for a task, at the next run" {
	at_the_call
	cat > other.json <<'JSON'
{"name":"other","steps":[{"id":"w","type":"wait","duration":"1w"}]}
JSON
	seq-def other.json > /dev/null
	enroll other $T0 ann
	other=$(sql "SELECT e.id FROM enrollments e JOIN sequences s ON s.id = e.sequence_id WHERE s.name = 'other'")
	seq-enroll --convert "$other" --now 2026-11-23T11:00:00Z > /dev/null
	run -0 --separate-stderr seq-due --now 2026-11-23T11:01:00Z
	assert_output ""
	assert_equal "$(sql "SELECT e.id, e.status FROM enrollments e JOIN sequences s ON s.id = e.sequence_id WHERE s.name = 'calls' ORDER BY e.id")" "1|exited
2|active"
	assert_equal "$(sql "SELECT reason FROM enrollment_changes WHERE enrollment_id = 1 ORDER BY id DESC LIMIT 1")" \
		"lead converted (enrollment $other)"
	# bob's task is still open; ann's is not listed
	assert_equal "$(seq-task --list | jq -r .task_id)" 2
}

@test "a task that is the last step completes its enrollment when done" {
	cat > last.json <<'JSON'
{"name":"last","steps":[{"id":"linkedin","type":"task","kind":"linkedin","title":"Connect with {{first_name}}"}]}
JSON
	seq-def last.json > /dev/null
	people
	enroll last $T0 ann
	run -0 --separate-stderr seq-due --now $T0
	assert_output ""
	assert_equal "$(seq-task --list | jq -r '[.kind, .title] | @tsv')" "$(printf 'linkedin\tConnect with Annabel')"
	seq-task --done 1 --outcome reply --now 2026-11-23T12:00:00Z > /dev/null
	assert_equal "$(sql "SELECT status, step IS NULL, next_run_at IS NULL FROM enrollments")" "completed|1|1"
	assert_equal "$(sql "SELECT status, reason FROM enrollment_changes ORDER BY id DESC LIMIT 1")" "completed|reached the end"
}

# Everything personal about ann that a task would hold, one a line.
PERSONAL="ann.archer@example.com
+14155550101
Annabel
Archer
Acme Widgets
pricing
wants-a-demo-friday"

@test "a sealed database lists the task's rendered title and notes, keeps no clear text of them, and seals them again on --rotate-key; --erase and --export" {
	export SEQ_DB="$BATS_TEST_TMPDIR/sealed.db"
	seq-init --key-file keys2 2> /dev/null
	export SEQ_KEY_FILE="$BATS_TEST_TMPDIR/keys2"
	at_the_call
	run -0 --separate-stderr seq-task --list --lead 1
	assert_equal "$(jq -r '[.title, .notes, .lead.first_name, .lead.email] | @tsv' <<< "$output")" \
		"$(printf 'Call Annabel Archer at Acme Widgets\tAsk about pricing\tAnnabel\tann.archer@example.com')"
	seq-task --done 1 --outcome answered --note wants-a-demo-friday --now 2026-11-23T11:00:00Z > done.json
	assert_equal "$(jq -r .note done.json)" wants-a-demo-friday
	assert_equal "$(sql "SELECT typeof(title), typeof(notes), typeof(note) FROM tasks WHERE id = 1")" "blob|blob|blob"
	sql .dump > dump.sql
	sql 'PRAGMA wal_checkpoint(TRUNCATE)' > /dev/null
	assert_equal "$(readable dump.sql sealed.db sealed.db-wal)" ""
	# the timeline cannot open what is sealed: it leaves the text out
	assert_equal "$(seq-timeline --lead 1 --kind task | jq -c '[.what, .details.title, .details.note]')" \
		'["done",null,null]
["open",null,null]'
	# without the key, nothing is listed
	run -4 --separate-stderr env -u SEQ_KEY_FILE seq-task --list
	assert_output ""
	# new keys: the tasks open under them, and not under the old ones
	run -0 --separate-stderr seq-init --rotate-key keys3
	export SEQ_KEY_FILE="$BATS_TEST_TMPDIR/keys3"
	assert_equal "$(seq-task --list | jq -r .title)" "Call Roberto Baker at Bakery"
	assert_equal "$(seq-lead --export 1 | jq -r 'select(.record == "task") | [.title, .notes, .outcome, .note] | @tsv')" \
		"$(printf 'Call Annabel Archer at Acme Widgets\tAsk about pricing\tanswered\twants-a-demo-friday')"
	run -0 --separate-stderr seq-lead --erase 1 --now 2026-11-24T00:00:00Z
	assert_equal "$(sql "SELECT title, notes IS NULL, note IS NULL, outcome FROM tasks WHERE id = 1")" "erased|1|1|answered"
}

@test "a plain database sealed by --rotate-key seals its tasks" {
	at_the_call
	assert_equal "$(sql "SELECT typeof(title) FROM tasks WHERE id = 1")" text
	run -0 --separate-stderr seq-init --rotate-key keys
	export SEQ_KEY_FILE="$BATS_TEST_TMPDIR/keys"
	assert_equal "$(sql "SELECT typeof(title), typeof(notes) FROM tasks WHERE id = 1")" "blob|blob"
	assert_equal "$(seq-task --list --lead 1 | jq -r .title)" "Call Annabel Archer at Acme Widgets"
	sql .dump > dump.sql
	sql 'PRAGMA wal_checkpoint(TRUNCATE)' > /dev/null
	assert_equal "$(readable dump.sql seq.db seq.db-wal)" ""
}
