#!/usr/bin/env bats
# stop_on_company_reply: a reply from one lead ends the open enrollments, in
# that sequence, of the leads at the same email domain; not those at a
# free-mail domain (share/freemail-domains.txt), at another domain or a
# subdomain, nor those of a sequence without the stop.  Plain and sealed.

load test_helper

setup() {
	common_setup
	T0=2026-11-23T10:00:00Z
	E0=$(epoch "$T0")
}

at() { TZ=UTC printf '%(%Y-%m-%dT%H:%M:%SZ)T\n' $((E0 + $1)); }
lead() { sql "SELECT id FROM leads WHERE external_id = '$1'"; }
# status LEAD SEQUENCE
status() {
	sql "SELECT e.status FROM enrollments e JOIN leads l ON l.id = e.lead_id
		JOIN sequences s ON s.id = e.sequence_id
		WHERE l.external_id = '$1' AND s.name = '$2'"
}
# The leads that were sent STEP of SEQUENCE, sorted, on one line.
sent() {
	sql "SELECT group_concat(external_id, ' ') FROM (SELECT l.external_id
		FROM sequence_executions x JOIN leads l ON l.id = x.lead_id
		JOIN enrollments e ON e.id = x.enrollment_id
		JOIN sequences s ON s.id = e.sequence_id
		WHERE s.name = '$2' AND x.step = '$1' AND x.state = 'sent' ORDER BY 1)"
}

# inbound EMAIL MSGID TIME: Postmark's inbound webhook for a reply from
# EMAIL, threaded to nothing of ours: its sender names the lead.
inbound() {
	sed -e "s/@EMAIL@/$1/g" -e "s/@MSGID@/$2/g" -e 's/@FROM_NAME@/Someone/g' \
		-e "s/@DATE@/$(TZ=UTC date -d "$3" '+%a, %d %b %Y %H:%M:%S +0000')/" \
		-e 's/@IN_REPLY_TO@//; s/@REFERENCES@//' \
		"$BATS_TEST_DIRNAME/fixtures/postmark-inbound.json" | jq -c .
}

# Three leads at acme.example, a namesake at gmail.com, two more at gmail.com,
# one at a subdomain of acme.example, all in "outreach", which stops on a
# company reply; one more at acme.example in "other", which does not.
world() {
	for s in outreach other; do
		flag=false
		[ $s = other ] || flag=true
		seq-def > /dev/null <<-JSON
		{"name":"$s","exit_on":["reply"],"stop_on_company_reply":$flag,"steps":[
		 {"id":"hello","type":"email","subject":"Hello","text":"hello"},
		 {"id":"pause","type":"wait","duration":"2d"},
		 {"id":"again","type":"email","subject":"Again","text":"again"}]}
		JSON
	done
	leads '{"external_id":"ann","email":"ann.lee@acme.example","first_name":"Ann"}' \
		'{"external_id":"bob","email":"Bob.Stone@ACME.example","first_name":"Bob"}' \
		'{"external_id":"cat","email":"cat.wu@acme.example","first_name":"Cat"}' \
		'{"external_id":"gann","email":"ann.lee@gmail.com","first_name":"Ann"}' \
		'{"external_id":"gil","email":"gil.ho@gmail.com","first_name":"Gil"}' \
		'{"external_id":"gus","email":"gus.li@gmail.com","first_name":"Gus"}' \
		'{"external_id":"sub","email":"sue.ng@sales.acme.example","first_name":"Sue"}' \
		'{"external_id":"dee","email":"dee.fox@acme.example","first_name":"Dee"}'
	enroll outreach "$T0" ann bob cat gann gil gus sub
	enroll other "$T0" dee
	tick "$T0" > /dev/null
	[ "$(sent hello outreach)" = "ann bob cat gann gil gus sub" ] || fail "hello not sent"
}

# The story, in a plain or a sealed database.
company_story() {
	{
		inbound ann.lee@acme.example m-ann "$(at 3600)"
		# a free-mail reply stops no one else at gmail.com
		inbound gil.ho@gmail.com m-gil "$(at 3700)"
	} > in.ndjson
	run -0 --separate-stderr seq-event --from postmark-inbound --now "$(at 4000)" < in.ndjson
	assert_equal "$(jq -r '[.type, .lead_id] | @tsv' <<< "$output")" \
		"$(printf 'reply\t%s\nreply\t%s' "$(lead ann)" "$(lead gil)")"
	REPLY=$(head -1 <<< "$output" | jq -r .id)
	# the replier ends by exit_on, the colleagues by the company stop
	assert_equal "$(status ann outreach)" exited
	assert_equal "$(status bob outreach)" exited
	assert_equal "$(status cat outreach)" exited
	assert_equal "$(status gil outreach)" exited
	# not the namesake at gmail.com, the other gmail.com leads, the
	# subdomain, nor the colleague in the other sequence
	assert_equal "$(status gann outreach)" active
	assert_equal "$(status gus outreach)" active
	assert_equal "$(status sub outreach)" active
	assert_equal "$(status dee other)" active
	# why, in the timeline of each colleague
	for l in bob cat; do
		run -0 seq-timeline --lead "$(lead $l)" --kind enrollment --now "$(at 4000)"
		assert_equal "$(head -1 <<< "$output" | jq -r '[.what, .sequence, .details.reason] | @tsv')" \
			"$(printf 'exited\toutreach\treply from a colleague (lead %s, event %s)' "$(lead ann)" "$REPLY")"
	done
	# two days on: the others hear again
	tick "$(at 172800)" > /dev/null
	assert_equal "$(sent again outreach)" "gann gus sub"
	assert_equal "$(sent again other)" dee
}

@test "a company reply stops colleagues but not a gmail.com namesake, a subdomain, or another sequence" {
	init_db
	world
	company_story
	# the same reply again changes nothing more
	run -0 --separate-stderr seq-event --from postmark-inbound --now "$(at 200000)" < in.ndjson
	assert_output ""
}

@test "a sealed database: the colleagues are found by opening their leads" {
	seq-init --key-file keys 2> /dev/null
	export SEQ_KEY_FILE="$BATS_TEST_TMPDIR/keys"
	world
	# no domain in clear to look up
	assert_equal "$(sql "SELECT count(*) FROM leads WHERE email LIKE '%acme%'")" 0
	company_story
}

@test "a reply from another source counts; one before the colleague's enrollment, or with the stop off, stops no one" {
	init_db
	world
	# an enrollment made after the reply is not stopped by it
	leads '{"external_id":"new","email":"nia.ray@acme.example"}'
	enroll outreach "$(at 5000)" new
	printf '%s\n' "{\"type\":\"reply\",\"external_id\":\"cat\",\"at\":\"$(at 4000)\",\"source\":\"crm\"}" |
		seq-event --from ndjson --now "$(at 6000)" > /dev/null
	assert_equal "$(status cat outreach)" exited
	assert_equal "$(status ann outreach)" exited
	assert_equal "$(status bob outreach)" exited
	assert_equal "$(status new outreach)" active
	assert_equal "$(status gann outreach)" active
	# dee replies in "other", which has no stop: no one else ends
	printf '%s\n' "{\"type\":\"reply\",\"external_id\":\"dee\",\"at\":\"$(at 7000)\"}" |
		seq-event --from ndjson --now "$(at 7000)" > /dev/null
	assert_equal "$(status dee other)" exited
	assert_equal "$(status new outreach)" active
	assert_equal "$(status sub outreach)" active
}

@test "an SMS sequence: a lead whose email is not an address, with two @, is at the domain after the last, plain and sealed alike" {
	for db in plain sealed; do
		mkdir "$db" && cd "$db"
		export SEQ_DB="$PWD/seq.db"
		if [ $db = sealed ]; then
			seq-init --key-file keys 2> /dev/null
			export SEQ_KEY_FILE="$PWD/keys"
		else
			init_db
		fi
		seq-def > /dev/null <<-'JSON'
		{"name":"texts","stop_on_company_reply":true,"steps":[
		 {"id":"pause","type":"wait","duration":"2d"},
		 {"id":"hi","type":"sms","text":"hi"}]}
		JSON
		leads '{"external_id":"ann","email":"ann.lee@acme.example","phone":"+12025550101"}' \
			'{"external_id":"odd","email":"odd@x@acme.example","phone":"+12025550102"}' \
			'{"external_id":"eve","email":"eve@acme.example@other.example","phone":"+12025550103"}'
		enroll texts "$T0" ann odd eve
		printf '%s\n' "{\"type\":\"reply\",\"external_id\":\"ann\",\"at\":\"$(at 60)\"}" |
			seq-event --from ndjson --now "$(at 60)" > /dev/null
		assert_equal "$(status odd texts)" exited
		assert_equal "$(status eve texts)" active
		cd ..
		unset SEQ_KEY_FILE
	done
}
