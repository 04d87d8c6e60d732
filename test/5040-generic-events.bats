#!/usr/bin/env bats
# seq-event --from ndjson: events of any source (a calendar's webhook, a
# CRM's export), naming their lead by email, lead id, external id or phone,
# end enrollments that exit on their type and drive branches; a line that
# is not such an event is rejected with its line number while the others are
# recorded; and an export read twice is recorded once.

load test_helper

setup() {
	common_setup
	init_db
	T0=2026-11-23T10:00:00Z
	E0=$(epoch "$T0")
}

# at SECONDS: T0 plus SECONDS, RFC 3339
at() { TZ=UTC printf '%(%Y-%m-%dT%H:%M:%SZ)T\n' $((E0 + $1)); }

lead() { sql "SELECT id FROM leads WHERE external_id = '$1'"; }
status() {
	sql "SELECT e.status FROM enrollments e JOIN leads l ON l.id = e.lead_id
		JOIN sequences s ON s.id = e.sequence_id
		WHERE l.external_id = '$1' AND s.name = '${2:-demo}'"
}
# The leads that were sent STEP, sorted, on one line.
sent() {
	sql "SELECT group_concat(external_id, ' ') FROM (SELECT l.external_id
		FROM sequence_executions x JOIN leads l ON l.id = x.lead_id
		WHERE x.step = '$1' AND x.state = 'sent' ORDER BY 1)"
}

# demo: an email, two days, another; it ends on a booked meeting.
demo_world() {
	seq-def > /dev/null <<-'JSON'
	{"name":"demo","exit_on":["meeting_booked"],"steps":[
	 {"id":"hello","type":"email","subject":"Hello","text":"hello"},
	 {"id":"pause","type":"wait","duration":"2d"},
	 {"id":"again","type":"email","subject":"Again","text":"again"}]}
	JSON
	leads '{"external_id":"ann","email":"Ann.Archer@acme.example","phone":"+13125550101"}' \
		'{"external_id":"bob","email":"bob@acme.example"}' \
		'{"external_id":"cat","email":"cat@acme.example"}' \
		'{"external_id":"dan","email":"dan@acme.example","phone":"+13125550104"}' \
		'{"external_id":"eve","email":"eve@acme.example"}'
}

@test "a meeting_booked event ends an enrollment, whether it names the lead by email, lead id, external id or phone" {
	demo_world
	enroll demo "$T0" ann bob cat dan eve
	tick "$T0" > /dev/null
	assert_equal "$(sent hello)" "ann bob cat dan eve"
	BOB=$(lead bob)
	{
		# the address in another case than the lead's
		echo "{\"type\":\"meeting_booked\",\"email\":\"ann.archer@ACME.example\",\"at\":\"$(at 3600)\"}"
		echo "{\"type\":\"meeting_booked\",\"lead_id\":$BOB,\"at\":\"$(at 3700)\",\"details\":{\"calendar\":\"sales\"}}"
		echo "{\"type\":\"meeting_booked\",\"external_id\":\"cat\",\"at\":\"$(at 3800)\",\"source\":\"calendly\",\"id\":\"cal-17\"}"
		echo "{\"type\":\"meeting_booked\",\"phone\":\"+1 (312) 555-0104\",\"at\":\"$(at 3900)\"}"
	} > in.ndjson
	run --separate-stderr seq-event --from ndjson --now "$(at 4000)" < in.ndjson
	assert_success
	assert_equal "$stderr" ""
	# the records: source, type, channel, time, attempt, lead, details
	assert_equal "$(jq -r '[.provider, .type, .channel // "-", .at, .execution_id // "-",
		.lead_id, (.details | tojson)] | @tsv' <<< "$output")" \
		"$(printf '%s\t%s\t-\t%s\t-\t%s\t%s\n' \
			ndjson meeting_booked "$(at 3600)" "$(lead ann)" '{}' \
			ndjson meeting_booked "$(at 3700)" "$BOB" '{"calendar":"sales"}' \
			calendly meeting_booked "$(at 3800)" "$(lead cat)" '{}' \
			ndjson meeting_booked "$(at 3900)" "$(lead dan)" '{}')"
	assert_equal "$(jq -r .provider_event_id <<< "$output" | sed -n 3p)" cal-17
	# without an id of its own, an id made of what the line says
	events=$output
	run -0 jq -r .provider_event_id <<< "$events"
	assert_line --index 0 --regexp '^line:[0-9a-f]{32}$'
	for l in ann bob cat dan; do
		assert_equal "$(status $l)" exited
	done
	assert_equal "$(status eve)" active
	assert_equal "$(sql "SELECT c.reason FROM enrollment_changes c JOIN enrollments e ON e.id = c.enrollment_id
		WHERE e.lead_id = $BOB AND c.status = 'exited'")" \
		"meeting_booked received (event $(sed -n 2p <<< "$events" | jq -r .id))"
	# the timeline shows the event and the exit it made
	run -0 seq-timeline --lead "$BOB" --now "$(at 4000)"
	assert_equal "$(jq -r 'select(.kind != "step") | [.kind, .what] | @tsv' <<< "$output" | head -2)" \
		"$(printf 'enrollment\texited\nevent\tmeeting_booked')"
	# two days on, only eve hears again
	tick "$(at 172800)" > /dev/null
	assert_equal "$(sent again)" eve
}

@test "an event dated before the enrollment does not end it; one after does" {
	demo_world
	enroll demo "$T0" ann bob
	tick "$T0" > /dev/null
	printf '%s\n' "{\"type\":\"meeting_booked\",\"external_id\":\"ann\",\"at\":\"$(at -86400)\"}" |
		seq-event --from ndjson --now "$(at 60)" > out.ndjson
	assert_equal "$(jq -r .type out.ndjson)" meeting_booked
	assert_equal "$(status ann)" active
	# nor does seq-due, which looks for events since the enrollment began
	tick "$(at 172800)" > /dev/null
	assert_equal "$(sent again)" "ann bob"
	assert_equal "$(status ann)" completed
	# a new enrollment after it: an event after that ends it, by seq-due
	# too when seq-event could not (it was recorded before the enrollment)
	seq-def > /dev/null <<-'JSON'
	{"name":"later","exit_on":["meeting_booked"],"steps":[
	 {"id":"w","type":"wait","duration":"1d"},
	 {"id":"m","type":"email","subject":"Later","text":"later"}]}
	JSON
	printf '%s\n' "{\"type\":\"meeting_booked\",\"external_id\":\"bob\",\"at\":\"$(at 200000)\"}" |
		seq-event --from ndjson --now "$(at 190000)" > /dev/null
	enroll later "$(at 180000)" ann bob
	tick "$(at 300000)" > /dev/null
	assert_equal "$(status ann later)" completed
	assert_equal "$(status bob later)" exited
	assert_equal "$(sql "SELECT c.reason FROM enrollment_changes c JOIN enrollments e ON e.id = c.enrollment_id
		JOIN sequences s ON s.id = e.sequence_id WHERE s.name = 'later' AND c.status = 'exited'")" \
		"meeting_booked received"
}

@test "a branch on an event of one's own goes then when it came after the step was sent and in time, else otherwise" {
	seq-def > /dev/null <<-'JSON'
	{"name":"br","steps":[
	 {"id":"hello","type":"email","subject":"Hello","text":"hello"},
	 {"id":"booked","type":"branch","if":{"event":"meeting_booked","step":"hello","within":"3d"},
	  "then":"thanks","else":"nudge"},
	 {"id":"thanks","type":"email","subject":"Thanks","text":"see you","next":"end"},
	 {"id":"nudge","type":"email","subject":"Still?","text":"still interested?"}]}
	JSON
	leads '{"external_id":"ann","email":"ann@acme.example"}' '{"external_id":"bob","email":"bob@acme.example"}' \
		'{"external_id":"cat","email":"cat@acme.example"}' '{"external_id":"dan","email":"dan@acme.example"}'
	enroll br "$T0" ann bob cat dan
	tick "$T0" > /dev/null
	assert_equal "$(sent hello)" "ann bob cat dan"
	# the branch waits for the end of its window
	tick "$(at 60)" > /dev/null
	assert_equal "$(sql "SELECT DISTINCT next_run_at FROM enrollments")" $((E0 + 259200))
	# ann books within the window; cat had booked before the email went
	# out; dan books after the window; bob never does
	{
		echo "{\"type\":\"meeting_booked\",\"external_id\":\"ann\",\"at\":\"$(at 7200)\"}"
		echo "{\"type\":\"meeting_booked\",\"external_id\":\"cat\",\"at\":\"$(at -3600)\"}"
		echo "{\"type\":\"meeting_booked\",\"external_id\":\"dan\",\"at\":\"$(at 300000)\"}"
	} > in.ndjson
	seq-event --from ndjson --now "$(at 7300)" < in.ndjson > /dev/null
	# ann's branch was woken by her event: it decides now, not in 3 days
	assert_equal "$(sql "SELECT next_run_at FROM enrollments WHERE lead_id = $(lead ann)")" $((E0 + 7300))
	tick "$(at 7300)" > /dev/null
	assert_equal "$(sent thanks)" ann
	assert_equal "$(sent nudge)" ""
	tick "$(at 259300)" > /dev/null
	assert_equal "$(sent thanks)" ann
	assert_equal "$(sent nudge)" "bob cat dan"
}

@test "bad lines are rejected with their line numbers, and the good ones around them are recorded" {
	demo_world
	enroll demo "$T0" ann bob cat
	cat > in.ndjson <<-JSON
	{"type":"meeting_booked","external_id":"ann","at":"$(at 60)"}
	{"type":"meeting_booked",
	{"type":"Meeting_Booked","external_id":"bob"}
	{"type":"meeting_booked","external_id":"bob","at":"$(at 60)"}
	{"type":"meeting_booked"}
	{"type":"meeting_booked","external_id":"cat","email":"cat@acme.example"}
	{"type":"meeting_booked","external_id":"cat","when":"$(at 60)"}
	{"type":"meeting_booked","external_id":"nobody"}
	{"type":"meeting_booked","external_id":"cat","at":"yesterday"}
	{"type":"unsubscribe","external_id":"cat"}
	{"type":"meeting_booked","external_id":"cat","source":"sendgrid","id":"x"}
	{"type":"meeting_booked","email":"not an address"}
	{"type":"meeting_booked","lead_id":"1"}
	{"type":"meeting_booked","external_id":"cat","details":[1]}
	[{"type":"meeting_booked","external_id":"cat"}]
	{"type":"answered","external_id":"cat","source":"task","id":"task:1"}
	{"type":"meeting_booked","external_id":"cat","at":"$(at 60)"}
	JSON
	run -1 --separate-stderr seq-event --from ndjson --now "$(at 120)" < in.ndjson
	assert_equal "$(jq -r .lead_id <<< "$output" | paste -sd ' ')" "$(lead ann) $(lead bob) $(lead cat)"
	assert_equal "$(sql "SELECT count(*) FROM events")" 3
	assert_regex "$(sed -n 1p <<< "$stderr")" '^seq-event: line 2: .*JSON'
	assert_equal "$(sed 1d <<< "$stderr")" "seq-event: line 3: \"type\" must be an event type: a built-in one or a name of one's own in lower case, such as meeting_booked
seq-event: line 5: no lead: give lead_id, external_id, email or phone
seq-event: line 6: name the lead once: by one of lead_id, external_id, email and phone
seq-event: line 7: unknown key \"when\"
seq-event: line 8: no such lead: {\"external_id\":\"nobody\"}
seq-event: line 9: \"at\" must be an RFC 3339 time, such as 2026-11-23T10:00:00Z
seq-event: line 10: an event of type unsubscribe needs a \"channel\"
seq-event: line 11: \"source\" must be a name in lower case (letters, digits, '.', '_', '-'), not a provider's
seq-event: line 12: \"email\" is not an email address
seq-event: line 13: \"lead_id\" must be a whole number above 0
seq-event: line 14: \"details\" must be an object
seq-event: line 15: not a JSON object
seq-event: line 16: \"source\" must be a name in lower case (letters, digits, '.', '_', '-'), not a provider's"
	for l in ann bob cat; do
		assert_equal "$(status $l)" exited
	done
}

@test "an export read again records nothing new, whatever form its times take, and another source's line is its own event" {
	demo_world
	enroll demo "$T0" ann bob
	{
		echo "{\"type\":\"call_logged\",\"external_id\":\"ann\",\"at\":\"$(at 60)\",\"details\":{\"minutes\":12,\"by\":\"jo\"}}"
		echo "{\"type\":\"call_logged\",\"external_id\":\"ann\",\"at\":\"$(at 120)\"}"
		echo '{"type":"call_logged","external_id":"bob"}'
		echo '{"type":"call_logged","external_id":"bob","id":42,"source":"crm"}'
	} > export.ndjson
	run -0 --separate-stderr seq-event --from ndjson --now "$(at 600)" < export.ndjson
	assert_equal "$(wc -l <<< "$output")" 4
	# a line without "at" is at the current time
	assert_equal "$(jq -r .at <<< "$output" | sed -n 3p)" "$(at 600)"
	# the same export later, its times written in another zone and its
	# keys in another order: nothing new
	{
		echo "{\"details\":{\"by\":\"jo\",\"minutes\":12},\"at\":\"2026-11-23T11:01:00+01:00\",\"external_id\":\"ann\",\"type\":\"call_logged\"}"
		echo "{\"type\":\"call_logged\",\"external_id\":\"ann\",\"at\":\"2026-11-23T10:02:00.000Z\"}"
		echo '{"type":"call_logged","external_id":"bob"}'
		echo '{"source":"crm","type":"call_logged","external_id":"bob","id":"42"}'
	} > again.ndjson
	run -0 --separate-stderr seq-event --from ndjson --now "$(at 7200)" < again.ndjson
	assert_output ""
	assert_equal "$(sql "SELECT count(*) FROM events")" 4
	# what differs is another event: other details, another source
	{
		echo "{\"type\":\"call_logged\",\"external_id\":\"ann\",\"at\":\"$(at 60)\",\"details\":{\"minutes\":13,\"by\":\"jo\"}}"
		echo '{"type":"call_logged","external_id":"bob","source":"crm"}'
	} > other.ndjson
	run -0 --separate-stderr seq-event --from ndjson --now "$(at 7200)" < other.ndjson
	assert_equal "$(jq -r .provider <<< "$output" | paste -sd ' ')" "ndjson crm"
	assert_equal "$(sql "SELECT count(*), count(DISTINCT provider || ' ' || provider_event_id) FROM events")" "6|6"
	# an event type no sequence knows is recorded and changes nothing
	assert_equal "$(status ann)" active
}

@test "built-in types act as a provider's would: a reply exits, an unsubscribe opts out of its channel" {
	seq-def > /dev/null <<-'JSON'
	{"name":"demo","exit_on":["reply"],"steps":[
	 {"id":"hello","type":"email","subject":"Hello","text":"hello"},
	 {"id":"pause","type":"wait","duration":"1d"},
	 {"id":"again","type":"email","subject":"Again","text":"again"}]}
	JSON
	leads '{"external_id":"ann","email":"ann@acme.example"}' '{"external_id":"bob","email":"bob@acme.example"}'
	enroll demo "$T0" ann bob
	tick "$T0" > /dev/null
	{
		echo "{\"type\":\"reply\",\"external_id\":\"ann\",\"at\":\"$(at 60)\",\"source\":\"crm\"}"
		echo "{\"type\":\"unsubscribe\",\"external_id\":\"bob\",\"channel\":\"email\",\"at\":\"$(at 60)\",\"source\":\"crm\"}"
	} > in.ndjson
	run -0 --separate-stderr seq-event --from ndjson --now "$(at 120)" < in.ndjson
	assert_equal "$(status ann)" exited
	assert_equal "$(sql "SELECT state || ' ' || source FROM consent WHERE lead_id = $(lead bob)")" "opt-out crm:unsubscribe"
	tick "$(at 90000)" > /dev/null
	assert_equal "$(sent again)" ""
	assert_equal "$(sql "SELECT error FROM sequence_executions WHERE step = 'again'")" "opted out of email"
}

@test "a sealed database: a lead named by its address is found by blind index" {
	rm -f "$SEQ_DB"
	seq-init --key-file keys 2> /dev/null
	export SEQ_KEY_FILE="$BATS_TEST_TMPDIR/keys"
	demo_world
	enroll demo "$T0" ann bob
	printf '%s\n' "{\"type\":\"meeting_booked\",\"email\":\"ANN.archer@acme.example\",\"at\":\"$(at 60)\",\"details\":{\"note\":\"with ann.archer@acme.example\"}}" |
		seq-event --from ndjson --now "$(at 120)" > out.ndjson
	assert_equal "$(jq -r .lead_id out.ndjson)" "$(lead ann)"
	assert_equal "$(status ann)" exited
	assert_equal "$(status bob)" active
	# the address is not kept in clear in the details
	assert_equal "$(sql "SELECT details FROM events")" '{"note":"with <address>"}'
}

@test "a bounce from another source is hard unless it says \"hard\": false: a hard one suppresses the address and exits, a soft one neither" {
	seq-def > /dev/null <<-'JSON'
	{"name":"demo","exit_on":["bounce"],"steps":[
	 {"id":"hello","type":"email","subject":"Hello","text":"hello"},
	 {"id":"pause","type":"wait","duration":"1d"},
	 {"id":"again","type":"email","subject":"Again","text":"again"}]}
	JSON
	leads '{"external_id":"ann","email":"ann@acme.example"}' '{"external_id":"bob","email":"bob@acme.example"}'
	enroll demo "$T0" ann bob
	tick "$T0" > /dev/null
	{
		echo "{\"type\":\"bounce\",\"email\":\"ann@acme.example\",\"at\":\"$(at 60)\",\"source\":\"crm\"}"
		echo "{\"type\":\"bounce\",\"email\":\"bob@acme.example\",\"at\":\"$(at 60)\",\"source\":\"crm\",\"details\":{\"hard\":false}}"
	} > in.ndjson
	run -0 --separate-stderr seq-event --from ndjson --now "$(at 120)" < in.ndjson
	assert_equal "$(jq -c '[.lead_id, .details.hard]' <<< "$output" | paste -sd ' ')" "[$(lead ann),true] [$(lead bob),false]"
	assert_equal "$(status ann)" exited
	assert_equal "$(status bob)" active
	assert_equal "$(sql "SELECT address FROM suppressions")" "ann@acme.example"
	# "hard": 0 says what "hard": false says, and is the same event; a
	# number does not bounce
	{
		echo "{\"type\":\"bounce\",\"email\":\"bob@acme.example\",\"at\":\"$(at 60)\",\"source\":\"crm\",\"details\":{\"hard\":0}}"
		echo "{\"type\":\"bounce\",\"phone\":\"+13125550101\",\"source\":\"crm\"}"
	} > again.ndjson
	run -1 --separate-stderr seq-event --from ndjson --now "$(at 130)" < again.ndjson
	assert_output ""
	assert_equal "$stderr" "seq-event: line 2: a bounce names its lead by email, lead_id or external_id"
	assert_equal "$(sql "SELECT count(*) FROM events")" 2
	# seq-due agrees: bob's soft bounce ends nothing, and his next step goes
	tick "$(at 90000)" > /dev/null
	assert_equal "$(sent again)" "bob"
	assert_equal "$(status bob)" completed
}

@test "an event without an id is named after what it says of the lead by the lead's id: by address or by id it is one event, and its id holds no address" {
	demo_world
	ANN=$(lead ann)
	printf '%s\n' "{\"type\":\"call_logged\",\"email\":\"ann.archer@acme.example\",\"at\":\"$(at 60)\",\"details\":{\"note\":\"ann.archer@acme.example called\"}}" \
		"{\"type\":\"call_logged\",\"lead_id\":$ANN,\"at\":\"$(at 60)\",\"details\":{\"note\":\"<address> called\"}}" \
		"{\"type\":\"call_logged\",\"external_id\":\"ann\",\"at\":\"$(at 60)\",\"details\":{\"note\":\"<address> called\"}}" > in.ndjson
	run -0 --separate-stderr seq-event --from ndjson --now "$(at 120)" < in.ndjson
	assert_equal "$(wc -l <<< "$output")" 1
	assert_equal "$(sql "SELECT count(*) FROM events")" 1
	# the id: SHA-256 over the sorted members, the lead as its id, the
	# address taken out of the details
	want=$(printf '{"at":%d,"channel":null,"details":{"note":"<address> called"},"lead_id":%d,"type":"call_logged"}' $((E0 + 60)) "$ANN" |
		sha256sum | cut -c1-32)
	assert_equal "$(sql "SELECT provider_event_id FROM events")" "line:$want"
}
