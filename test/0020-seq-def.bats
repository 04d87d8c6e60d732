#!/usr/bin/env bats
# seq-def: storing definitions as immutable versions, listing and showing
# them, and reporting every problem of a definition with its JSON path.

load test_helper

setup() {
	common_setup
	init_db
	INTRO="$TOP/share/examples/intro.json"
}

versions() {
	sql "SELECT s.name, v.version, v.created_at FROM sequences s JOIN sequence_versions v ON v.sequence_id = s.id ORDER BY s.name, v.version"
}

@test "intro.json is stored as version 1 of intro" {
	run --separate-stderr seq-def --now 2026-11-25T10:00:00Z "$INTRO"
	assert_success
	assert_equal "$stderr" ""
	assert_output '{"sequence":"intro","steps":7,"version":1}'
	assert_equal "$(versions)" "intro|1|1795600800"
	assert_equal "$(sql 'SELECT name, created_at FROM sequences')" "intro|1795600800"
	# what is stored is the definition, keys in their order
	assert_equal "$(sql 'SELECT definition FROM sequence_versions' | jq -c .)" "$(jq -c . "$INTRO")"
}

@test "the same definition again is unchanged, whatever its key order and white space" {
	seq-def --now 2026-11-25T10:00:00Z "$INTRO" > /dev/null
	run --separate-stderr seq-def --now 2026-11-26T10:00:00Z "$INTRO"
	assert_success
	assert_equal "$stderr" ""
	assert_output '{"sequence":"intro","steps":7,"version":1,"unchanged":true}'
	jq -S . "$INTRO" > sorted.json
	run --separate-stderr seq-def sorted.json
	assert_output '{"sequence":"intro","steps":7,"version":1,"unchanged":true}'
	# from standard input, as "-" or with no file
	jq -c . "$INTRO" > compact.json
	run --separate-stderr seq-def - < compact.json
	assert_output '{"sequence":"intro","steps":7,"version":1,"unchanged":true}'
	run --separate-stderr seq-def < compact.json
	assert_output '{"sequence":"intro","steps":7,"version":1,"unchanged":true}'
	assert_equal "$(versions)" "intro|1|1795600800"
}

@test "a changed definition is version 2; version 1 stays as it was" {
	seq-def --now 2026-11-25T10:00:00Z "$INTRO" > /dev/null
	v1=$(sql 'SELECT definition FROM sequence_versions WHERE version = 1')
	jq '.steps[0].subject = "A new subject, {{first_name|friend}}"' "$INTRO" > intro2.json
	run --separate-stderr seq-def --now 2026-11-26T10:00:00Z intro2.json
	assert_success
	assert_output '{"sequence":"intro","steps":7,"version":2}'
	assert_equal "$(versions)" "intro|1|1795600800
intro|2|1795687200"
	assert_equal "$(sql 'SELECT definition FROM sequence_versions WHERE version = 1')" "$v1"
	assert_equal "$(sql 'SELECT json_extract(definition, "$.steps[0].subject") FROM sequence_versions WHERE version = 2')" \
		"A new subject, {{first_name|friend}}"
	# going back to the first text is a third version, not version 1 again
	run --separate-stderr seq-def --now 2026-11-27T10:00:00Z "$INTRO"
	assert_output '{"sequence":"intro","steps":7,"version":3}'
	assert_equal "$(sql 'SELECT count(*) FROM sequences')" 1
}

@test "--list writes one line per sequence in the order of their names" {
	run --separate-stderr seq-def --list
	assert_success
	assert_output ""
	seq-def --now 2026-11-25T10:00:00Z "$INTRO" > /dev/null
	jq '.description = "v2"' "$INTRO" > intro2.json
	seq-def --now 2026-11-26T10:00:00Z intro2.json > /dev/null
	cat > another.json <<'EOF'
{"name":"another","steps":[{"id":"only","type":"email","subject":"S","text":"T"}]}
EOF
	seq-def --now 2026-11-27T08:00:00Z another.json > /dev/null
	printf '{"external_id":"l1","email":"l1@example.com"}\n{"external_id":"l2","email":"l2@example.com"}\n' > leads.ndjson
	seq-lead < leads.ndjson > /dev/null
	printf '{"id":1}\n{"id":2}\n' > refs.ndjson
	seq-enroll --sequence intro < refs.ndjson > /dev/null
	seq-enroll --cancel 2 > /dev/null
	run --separate-stderr seq-def --list
	assert_success
	assert_equal "$stderr" ""
	assert_output '{"sequence":"another","version":1,"versions":1,"updated_at":"2026-11-27T08:00:00Z","open_enrollments":0}
{"sequence":"intro","version":2,"versions":2,"updated_at":"2026-11-26T10:00:00Z","open_enrollments":1}'
}

@test "--show writes the latest version or name@version as indented JSON in its key order" {
	seq-def "$INTRO" > /dev/null
	jq '.steps[1].duration = "4d"' "$INTRO" > intro2.json
	seq-def intro2.json > /dev/null
	run --separate-stderr seq-def --show intro
	assert_success
	assert_equal "$(jq -c . <<< "$output")" "$(jq -c . intro2.json)"
	assert_equal "${lines[0]}" "{"
	assert_equal "${lines[1]}" '  "name": "intro",'
	run --separate-stderr seq-def --show intro@1
	assert_success
	assert_equal "$(jq -c . <<< "$output")" "$(jq -c . "$INTRO")"
	run --separate-stderr seq-def --show intro@2
	assert_equal "$(jq -r '.steps[1].duration' <<< "$output")" 4d
	# what --show writes can be fed back: unchanged
	seq-def --show intro > shown.json
	run --separate-stderr seq-def shown.json
	assert_output '{"sequence":"intro","steps":7,"version":2,"unchanged":true}'
}

@test "--show of a missing version or sequence exits 1; a bad name@version is a usage error" {
	seq-def "$INTRO" > /dev/null
	run -1 --separate-stderr seq-def --show intro@2
	assert_output ""
	assert_equal "$stderr" "seq-def: sequence 'intro' has no version 2 (latest is 1)"
	run -1 --separate-stderr seq-def --show outro
	assert_output ""
	assert_equal "$stderr" "seq-def: no sequence 'outro'"
	run -1 --separate-stderr seq-def --show outro@1
	assert_equal "$stderr" "seq-def: no sequence 'outro'"
	for bad in intro@0 intro@x intro@ intro@-1 intro@1x; do
		run -2 --separate-stderr seq-def --show "$bad"
		assert_equal "$stderr" "seq-def: --show: '$bad' is not name@version"
	done
}

@test "--check validates and stores nothing, without opening the database" {
	run --separate-stderr seq-def --check "$INTRO"
	assert_success
	assert_equal "$stderr" ""
	assert_output '{"sequence":"intro","steps":7,"valid":true}'
	assert_equal "$(sql 'SELECT count(*) FROM sequences')" 0
	assert_equal "$(sql 'SELECT count(*) FROM sequence_versions')" 0
	run --separate-stderr seq-def --check --db "$BATS_TEST_TMPDIR/none.db" "$INTRO"
	assert_success
	assert_file_not_exist "$BATS_TEST_TMPDIR/none.db"
	jq '.steps[0].text = ""' "$INTRO" > bad.json
	run -1 --separate-stderr seq-def --check bad.json
	assert_output ""
	assert_equal "$stderr" "seq-def: bad.json: \$.steps[0].text: must be a non-empty string
seq-def: bad.json: 1 problem; nothing stored"
	run -2 --separate-stderr seq-def --check --list
	run -2 --separate-stderr seq-def --list "$INTRO"
}

@test "every problem of a definition is reported with its JSON path; exit 1 and nothing stored" {
	cat > bad.json <<'EOF'
{
  "name": "bad name!",
  "colour": "red",
  "timezone": "Mars/Olympus_Mons",
  "window": { "days": ["mon", "fri", "someday"], "start": "9am", "end": "25:00", "tz": "UTC" },
  "exit_on": ["reply", "Wave"],
  "from": { "email": "not an address", "sms": "555-0100", "fax": "+1" },
  "caps": { "email": 0, "sms": "many" },
  "max_attempts": 21,
  "steps": [
    { "id": "hello", "type": "email", "subject": "Hi {{frist_name}}", "text": "", "next": "nowhere", "color": 1 },
    { "id": "pause", "type": "wait", "duration": "3 days", "on_fail": "continue" },
    { "id": "check", "type": "branch", "if": { "event": "Wave", "step": "pause", "within": "0m", "when": 1 }, "then": "gone" },
    { "id": "text", "type": "sms", "text": "Hi {{first_name", "on_fail": "retry" },
    { "id": "call", "type": "voice" },
    { "id": "bump", "type": "email", "subject": "{{ attr.plan | friend }}", "text": "{{company}} {{}}" }
  ]
}
EOF
	run -1 --separate-stderr seq-def bad.json
	assert_output ""
	assert_equal "$stderr" "seq-def: bad.json: \$.colour: unknown key
seq-def: bad.json: \$.name: use 1 to 64 letters, digits, '.', '_' or '-'
seq-def: bad.json: \$.timezone: 'Mars/Olympus_Mons' is not an IANA time zone here
seq-def: bad.json: \$.window.tz: unknown key
seq-def: bad.json: \$.window.days[2]: not one of mon, tue, wed, thu, fri, sat, sun
seq-def: bad.json: \$.window.start: '9am' is not a time like 09:00
seq-def: bad.json: \$.window.end: '25:00' is not a time like 17:00
seq-def: bad.json: \$.exit_on[1]: unknown event type
seq-def: bad.json: \$.from.fax: unknown key
seq-def: bad.json: \$.from.email: not an email address
seq-def: bad.json: \$.from.sms: not an E.164 number like +12025550100
seq-def: bad.json: \$.caps.email: must be a whole number above 0
seq-def: bad.json: \$.caps.sms: must be a whole number above 0
seq-def: bad.json: \$.max_attempts: must be from 1 to 20
seq-def: bad.json: \$.steps[0].color: unknown key
seq-def: bad.json: \$.steps[0].next: no step 'nowhere'
seq-def: bad.json: \$.steps[0].subject: unknown merge field 'frist_name'
seq-def: bad.json: \$.steps[0].text: must be a non-empty string
seq-def: bad.json: \$.steps[1].on_fail: unknown key
seq-def: bad.json: \$.steps[1].duration: '3 days' is not a duration like 30m, 2d or 1w
seq-def: bad.json: \$.steps[2].if.when: unknown key
seq-def: bad.json: \$.steps[2].if.event: unknown event 'Wave'
seq-def: bad.json: \$.steps[2].if.step: 'pause' sends nothing to branch on
seq-def: bad.json: \$.steps[2].if.within: '0m' is not a duration like 30m, 2d or 1w
seq-def: bad.json: \$.steps[2].else: missing
seq-def: bad.json: \$.steps[2].then: no step 'gone'
seq-def: bad.json: \$.steps[3].on_fail: must be \"stop\" or \"continue\"
seq-def: bad.json: \$.steps[3].text: '{{' at offset 3 is never closed
seq-def: bad.json: \$.steps[4].say: missing
seq-def: bad.json: \$.steps[5].text: malformed merge field at offset 12
seq-def: bad.json: 30 problems; nothing stored"
	assert_equal "$(sql 'SELECT count(*) FROM sequences')" 0
	assert_equal "$(sql 'SELECT count(*) FROM sequence_versions')" 0
}

@test "a step carries only the keys of its type" {
	cat > keys.json <<'EOF'
{"name":"keys","steps":[
 {"id":"a","type":"email","subject":"s","text":"t","then":"b","duration":"1d"},
 {"id":"w","type":"wait","duration":"1d","subject":"s","on_fail":"stop"},
 {"id":"b","type":"branch","if":{"event":"open","step":"a"},"then":"end","else":"end","next":"a"},
 {"id":"s","type":"sms","text":"t","say":"x","description":"fine"},
 {"id":"v","type":"voice","say":"x","html":"<p>"}
]}
EOF
	run -1 --separate-stderr seq-def keys.json
	assert_output ""
	assert_equal "$stderr" "seq-def: keys.json: \$.steps[0].then: unknown key
seq-def: keys.json: \$.steps[0].duration: unknown key
seq-def: keys.json: \$.steps[1].subject: unknown key
seq-def: keys.json: \$.steps[1].on_fail: unknown key
seq-def: keys.json: \$.steps[2].next: unknown key
seq-def: keys.json: \$.steps[3].say: unknown key
seq-def: keys.json: \$.steps[4].html: unknown key
seq-def: keys.json: 7 problems; nothing stored"
	assert_equal "$(sql 'SELECT count(*) FROM sequences')" 0
}

@test "caps are per channel or per sender" {
	check() {
		jq -n --argjson c "$1" '{name: "c", caps: $c, steps: [{id: "a", type: "email", subject: "s", text: "t"}]}' > c.json
		seq-def --check c.json 2>&1
	}
	run -0 check '{"email":500,"sms":1,"voice":20,"sales@example.com":100,"+12025550100":5}'
	assert_output '{"sequence":"c","steps":1,"valid":true}'
	run -1 check '{"fax":5,"Sales@Example.com":1,"12025550100":1,"email":0,"sms":1.5}'
	assert_output "seq-def: c.json: \$.caps.fax: a cap is per channel (email, sms, voice) or per sender (an address or +number)
seq-def: c.json: \$.caps.Sales@Example.com: a cap is per channel (email, sms, voice) or per sender (an address or +number)
seq-def: c.json: \$.caps.12025550100: a cap is per channel (email, sms, voice) or per sender (an address or +number)
seq-def: c.json: \$.caps.email: must be a whole number above 0
seq-def: c.json: \$.caps.sms: must be a whole number above 0
seq-def: c.json: 5 problems; nothing stored"
	run -1 check '[500]'
	assert_output "seq-def: c.json: \$.caps: must be an object of channel or sender: messages per day
seq-def: c.json: 1 problem; nothing stored"
}

@test "step ids and types are checked before anything else in the steps" {
	cat > ids.json <<'EOF'
{"name":"ids","steps":[
 {"id":"a","type":"email","subject":"s","text":"t","next":"nowhere"},
 {"id":"a","type":"sms","text":"t"},
 {"id":"end","type":"wait","duration":"1d"},
 {"type":"fax"},
 "step",
 {"id":"","type":"wait","duration":"1d"},
 {"id":"this-id-is-sixty-five-characters-long-which-is-one-more-than-64-x","type":"wait","duration":"1d"}
]}
EOF
	run -1 --separate-stderr seq-def ids.json
	assert_equal "$stderr" "seq-def: ids.json: \$.steps[1].id: 'a' is used twice
seq-def: ids.json: \$.steps[2].id: use 1 to 64 letters, digits, '.', '_' or '-' (and not \"end\")
seq-def: ids.json: \$.steps[3].id: missing
seq-def: ids.json: \$.steps[3].type: 'fax' is not email, sms, voice, wait, branch or task
seq-def: ids.json: \$.steps[4]: a step is an object
seq-def: ids.json: \$.steps[5].id: must be a non-empty string
seq-def: ids.json: \$.steps[6].id: use 1 to 64 letters, digits, '.', '_' or '-' (and not \"end\")
seq-def: ids.json: 7 problems; nothing stored"
	assert_equal "$(sql 'SELECT count(*) FROM sequences')" 0
}

@test "unreachable steps and loops with no wait are reported once nothing else is wrong" {
	check() {	# definition -> stderr and status of seq-def
		printf '%s\n' "$1" > g.json
		seq-def g.json 2>&1
	}
	run -1 check '{"name":"g1","steps":[{"id":"a","type":"email","subject":"s","text":"t","next":"a"}]}'
	assert_output "seq-def: g.json: \$.steps[0]: 'a' starts a loop with no wait step
seq-def: g.json: 1 problem; nothing stored"
	run -1 check '{"name":"g2","steps":[{"id":"a","type":"email","subject":"s","text":"t"},{"id":"b","type":"branch","if":{"event":"open","step":"a"},"then":"c","else":"end"},{"id":"c","type":"sms","text":"x","next":"b"}]}'
	assert_output "seq-def: g.json: \$.steps[1]: 'b' starts a loop with no wait step
seq-def: g.json: 1 problem; nothing stored"
	run -1 check '{"name":"g3","steps":[{"id":"a","type":"email","subject":"s","text":"t","next":"end"},{"id":"b","type":"sms","text":"x"},{"id":"c","type":"voice","say":"x","next":"b"}]}'
	assert_output "seq-def: g.json: \$.steps[1]: step 'b' can never be reached
seq-def: g.json: \$.steps[2]: step 'c' can never be reached
seq-def: g.json: \$.steps[1]: 'b' starts a loop with no wait step
seq-def: g.json: 3 problems; nothing stored"
	# with a problem elsewhere, the graph is not checked yet
	run -1 check '{"name":"g4","extra":1,"steps":[{"id":"a","type":"email","subject":"s","text":"t","next":"a"}]}'
	assert_output "seq-def: g.json: \$.extra: unknown key
seq-def: g.json: 1 problem; nothing stored"
	# a loop through a wait is fine
	run -0 check '{"name":"g5","steps":[{"id":"a","type":"email","subject":"s","text":"t"},{"id":"w","type":"wait","duration":"1d"},{"id":"b","type":"branch","if":{"event":"open","step":"a","within":"2d"},"then":"a","else":"end"}]}'
	assert_output '{"sequence":"g5","steps":3,"version":1}'
	assert_equal "$(sql 'SELECT name FROM sequences')" g5
}

@test "merge fields: lead fields and attr.* are known, anything else is not" {
	check() {
		jq -n --arg s "$1" '{name: "m", steps: [{id: "a", type: "email", subject: $s, text: "t"}]}' > m.json
		seq-def --check m.json 2>&1
	}
	for ok in "{{first_name}}" "{{ last_name | there }}" "{{company|}}" "{{attr.plan}}" \
	    "{{email}} {{phone}} {{title}} {{timezone}} {{external_id}}" "no fields" "{ {x} }"; do
		run -0 check "$ok"
		assert_output '{"sequence":"m","steps":1,"valid":true}'
	done
	run -1 check "{{firstname}}"
	assert_line --index 0 "seq-def: m.json: \$.steps[0].subject: unknown merge field 'firstname'"
	run -1 check "{{attr.}}"
	assert_line --index 0 "seq-def: m.json: \$.steps[0].subject: unknown merge field 'attr.'"
	run -1 check "Hi {{first_name"
	assert_line --index 0 "seq-def: m.json: \$.steps[0].subject: '{{' at offset 3 is never closed"
	run -1 check "{{first name}}"
	assert_line --index 0 "seq-def: m.json: \$.steps[0].subject: malformed merge field at offset 0"
}

@test "durations: 30s, 30m, 2h, 2d, 1w and sums are good; others are reported" {
	check() {
		jq -n --arg d "$1" '{name: "d", steps: [{id: "a", type: "email", subject: "s", text: "t"}, {id: "w", type: "wait", duration: $d}, {id: "b", type: "sms", text: "x"}]}' > d.json
		seq-def --check d.json 2>&1
	}
	for ok in 30s 30m 2h 2d 1w 1d12h 1w2d3h4m5s; do
		run -0 check "$ok"
		assert_output '{"sequence":"d","steps":3,"valid":true}'
	done
	for bad in "3 days" 0m 0s 10x 1d2 d -1h 1.5h 1H 999999999s; do
		run -1 check "$bad"
		assert_output "seq-def: d.json: \$.steps[1].duration: '$bad' is not a duration like 30m, 2d or 1w
seq-def: d.json: 1 problem; nothing stored"
	done
	run -1 check ""
	assert_output "seq-def: d.json: \$.steps[1].duration: must be a non-empty string
seq-def: d.json: 1 problem; nothing stored"
}

@test "windows: days, start and end are checked" {
	check() {
		jq -n --argjson w "$1" '{name: "w", window: $w, steps: [{id: "a", type: "email", subject: "s", text: "t"}]}' > w.json
		seq-def --check w.json 2>&1
	}
	for ok in '{}' '{"days":["sat","sun"]}' '{"start":"00:00","end":"24:00"}' '{"start":"08:30","end":"08:31"}'; do
		run -0 check "$ok"
		assert_output '{"sequence":"w","steps":1,"valid":true}'
	done
	run -1 check '{"start":"17:00","end":"09:00"}'
	assert_output "seq-def: w.json: \$.window: start must be before end
seq-def: w.json: 1 problem; nothing stored"
	run -1 check '{"start":"09:00","end":"09:00"}'
	assert_line --index 0 "seq-def: w.json: \$.window: start must be before end"
	run -1 check '{"days":[]}'
	assert_line --index 0 "seq-def: w.json: \$.window.days: must be a non-empty array of mon, tue, wed, thu, fri, sat, sun"
	run -1 check '{"days":"mon"}'
	assert_line --index 0 "seq-def: w.json: \$.window.days: must be a non-empty array of mon, tue, wed, thu, fri, sat, sun"
	run -1 check '{"days":["Mon",1]}'
	assert_output "seq-def: w.json: \$.window.days[0]: not one of mon, tue, wed, thu, fri, sat, sun
seq-def: w.json: \$.window.days[1]: not one of mon, tue, wed, thu, fri, sat, sun
seq-def: w.json: 2 problems; nothing stored"
	run -1 check '{"start":"9:00","end":"17:60"}'
	assert_output "seq-def: w.json: \$.window.start: '9:00' is not a time like 09:00
seq-def: w.json: \$.window.end: '17:60' is not a time like 17:00
seq-def: w.json: 2 problems; nothing stored"
	run -1 check '{"start":"24:01"}'
	assert_line --index 0 "seq-def: w.json: \$.window.start: '24:01' is not a time like 09:00"
	run -1 check '"9-5"'
	assert_line --index 0 "seq-def: w.json: \$.window: must be an object"
	run -1 check '{"start":900}'
	assert_line --index 0 "seq-def: w.json: \$.window.start: must be a non-empty string"
}

@test "a definition with 200 problems lists all 200" {
	jq -n '{name: "many", steps: [range(200) | {id: "s\(.)", type: "email", subject: "S", text: "T", colour: "red"}]}' > many.json
	for i in $(seq 0 199); do
		echo "seq-def: many.json: \$.steps[$i].colour: unknown key"
	done > expected
	echo "seq-def: many.json: 200 problems; nothing stored" >> expected
	run -1 --separate-stderr seq-def many.json
	assert_output ""
	assert_equal "${#stderr_lines[@]}" 201
	assert_equal "$stderr" "$(cat expected)"
	assert_equal "$(sql 'SELECT count(*) FROM sequences')" 0
}

@test "more than 1000 steps is one problem" {
	jq -n '{name: "huge", steps: [range(1001) | {id: "s\(.)", type: "email", subject: "S", text: "T"}]}' > huge.json
	run -1 --separate-stderr seq-def huge.json
	assert_equal "$stderr" "seq-def: huge.json: \$.steps: more than 1000 steps
seq-def: huge.json: 1 problem; nothing stored"
	jq '.steps |= .[:1000]' huge.json > thousand.json
	run --separate-stderr seq-def thousand.json
	assert_success
	assert_output '{"sequence":"huge","steps":1000,"version":1}'
}

@test "invalid JSON is reported with its line and column, and nothing is stored" {
	printf '{"name": "x",\n  "steps": [\n    {"id": "a" "type": "email"}\n  ]\n}\n' > broken.json
	run -1 --separate-stderr seq-def broken.json
	assert_output ""
	assert_equal "$stderr" "seq-def: broken.json: line 3, column 21: '}' expected near '\"type\"'"
	printf '{"name": "x",\n "steps": []' > cut.json
	run -1 --separate-stderr seq-def cut.json
	assert_equal "$stderr" "seq-def: cut.json: line 2, column 12: '}' expected near end of file"
	printf '{"name":"x","name":"y","steps":[]}' > twice.json
	run -1 --separate-stderr seq-def twice.json
	assert_equal "$stderr" "seq-def: twice.json: line 1, column 18: duplicate object key near '\"name\"'"
	run -1 --separate-stderr seq-def < /dev/null
	assert_equal "$stderr" "seq-def: stdin: line 1, column 0: empty input"
	printf '\n\n  {"name": 1,\n "steps": [tru]}' | cat > tru.json
	run -1 --separate-stderr seq-def - < tru.json
	assert_equal "$stderr" "seq-def: stdin: line 4, column 14: invalid token near 'tru'"
	assert_equal "$(sql 'SELECT count(*) FROM sequences')" 0
}

@test "a definition that is not an object, or has no steps" {
	echo '[]' > arr.json
	run -1 --separate-stderr seq-def arr.json
	assert_equal "$stderr" "seq-def: arr.json: \$: a definition is a JSON object
seq-def: arr.json: 1 problem; nothing stored"
	echo '{"name":"x","steps":[]}' > none.json
	run -1 --separate-stderr seq-def none.json
	assert_equal "$stderr" "seq-def: none.json: \$.steps: must be a non-empty array
seq-def: none.json: 1 problem; nothing stored"
	echo '{"steps":{"id":"a"}}' > obj.json
	run -1 --separate-stderr seq-def obj.json
	assert_equal "$stderr" "seq-def: obj.json: \$.name: missing
seq-def: obj.json: \$.steps: must be a non-empty array
seq-def: obj.json: 2 problems; nothing stored"
	assert_equal "$(sql 'SELECT count(*) FROM sequences')" 0
}

@test "a missing file is an I/O error" {
	run -5 --separate-stderr seq-def nowhere.json
	assert_output ""
	assert_equal "$stderr" "seq-def: nowhere.json: No such file or directory"
}

@test "variants, threads, tasks and the enrollment rules are checked like the rest" {
	cat > good.json <<'JSON'
{"name":"a","reenroll":"never","exclusive":true,"min_gap":"3d",
 "require_badges":["valid-email"],"min_quality":50,
 "stop_on_company_reply":true,"catch_up":"send","holidays":"US",
 "exit_on":["meeting_booked"],
 "steps":[{"id":"e1","type":"email","subject":"Hi","text":"x",
   "variants":[{"subject":"A {{first_name}}","weight":70},
               {"name":"short","text":"y","weight":30}]},
  {"id":"w","type":"wait","duration":"2d"},
  {"id":"e2","type":"email","thread":"e1","text":"bump"},
  {"id":"t","type":"task","kind":"call","title":"Call {{first_name}}"},
  {"id":"b","type":"branch","if":{"event":"answered","step":"t"},
   "then":"end","else":"end"}]}
JSON
	run -0 seq-def good.json
	assert_output '{"sequence":"a","steps":5,"version":1}'
	cat > bad.json <<'JSON'
{"name":"b","reenroll":"sometimes","exclusive":1,"min_gap":"x",
 "require_badges":["great"],"min_quality":101,"holidays":"U S",
 "exit_on":["Meeting"],
 "steps":[{"id":"e1","type":"email","thread":"e1","text":"x",
   "variants":[{"subject":"A","weight":0},{"name":"A","bogus":1}]},
  {"id":"s","type":"sms","variants":[{"text":"only one"}]},
  {"id":"t","type":"task"}]}
JSON
	run -1 --separate-stderr seq-def bad.json
	assert_equal "$stderr" "seq-def: bad.json: \$.exit_on[0]: unknown event type
seq-def: bad.json: \$.reenroll: 'sometimes' is not one of the choices in sequence(5)
seq-def: bad.json: \$.exclusive: must be true or false
seq-def: bad.json: \$.min_gap: 'x' is not a duration like 30m, 2d or 1w
seq-def: bad.json: \$.require_badges[0]: not a badge seq-lead gives
seq-def: bad.json: \$.min_quality: must be a whole number from 0 to 100
seq-def: bad.json: \$.holidays: name a calendar, like US or DE
seq-def: bad.json: \$.steps[0].variants[0].weight: must be a whole number from 1 to 100
seq-def: bad.json: \$.steps[0].variants[1].bogus: unknown key
seq-def: bad.json: \$.steps[0].variants[1].name: 'A' is used twice
seq-def: bad.json: \$.steps[0].variants[1]: sets none of subject, text, html
seq-def: bad.json: \$.steps[0].thread: a step cannot answer itself
seq-def: bad.json: \$.steps[0].subject: missing
seq-def: bad.json: \$.steps[1].variants: must be an array of 2 to 5 variants
seq-def: bad.json: \$.steps[1].text: missing
seq-def: bad.json: \$.steps[2].title: missing
seq-def: bad.json: 16 problems; nothing stored"
	assert_equal "$(sql "SELECT count(*) FROM sequences WHERE name = 'b'")" 0
	# a calendar's name is no hidden file; a reply answers an earlier
	# email, so that two replies never answer each other with no subject
	cat > later.json <<'JSON'
{"name":"c","holidays":".US","steps":[{"id":"a","type":"email","thread":"b","text":"x"},
 {"id":"b","type":"email","thread":"a","text":"y"}]}
JSON
	run -1 --separate-stderr seq-def later.json
	assert_equal "$stderr" "seq-def: later.json: \$.holidays: name a calendar, like US or DE
seq-def: later.json: \$.steps[0].thread: 'b' comes later; a reply answers an earlier step
seq-def: later.json: \$.steps[0].subject: missing
seq-def: later.json: 3 problems; nothing stored"
}
