#!/usr/bin/env bats
# seq-due: quiet hours.  Texts and calls go out only between 08:00 and 21:00
# (SEQ_QUIET_HOURS) in the recipient's local time: the lead's time zone,
# else every zone of its number's country, else the sequence's.  A
# sequence's quiet_hours narrows them; email is not held.  Every time is
# given with --now.

load test_helper
# test_helper turns quiet hours off for the other tests: here they are on,
# at their default unless a test sets them
setup() { common_setup; unset SEQ_QUIET_HOURS; init_db; }

# The zones a +1 number without a time zone must be inside quiet hours in:
# it may be anywhere in the United States or Canada.
US_CA="America/New_York America/Chicago America/Denver America/Phoenix
America/Los_Angeles America/Anchorage America/Adak Pacific/Honolulu
America/St_Johns America/Halifax America/Toronto America/Winnipeg
America/Regina America/Edmonton America/Vancouver America/Whitehorse"

# One field of every job line in $output, tab-separated per line.
jobs_of() { jq -r "[$1] | @tsv" <<< "$output"; }
# Delivers and logs the jobs in $output at time $1.
deliver() { seq-send --now "$1" <<< "$output" | seq-log --now "$1" > /dev/null; }
# next_run_at of each active enrollment, by its lead's external id.
next_runs() {
	sql "SELECT l.external_id, $(iso e.next_run_at) FROM enrollments e
		JOIN leads l ON l.id = e.lead_id WHERE e.status = 'active' AND e.claim IS NULL
		ORDER BY e.id"
}
# A one-step sequence: texted NAME CHANNEL [MORE JSON MEMBERS]
texted() {
	local step
	case $2 in
	sms) step='{"id":"a","type":"sms","text":"hi"}' ;;
	voice) step='{"id":"a","type":"voice","say":"hi"}' ;;
	email) step='{"id":"a","type":"email","subject":"S","text":"hi"}' ;;
	esac
	seq-def > /dev/null <<JSON
{"name":"$1"${3:+,$3},"steps":[$step]}
JSON
}

@test "a week of cron ticks across the March DST change: every text and call goes out inside quiet hours in the recipient's zones, and they do go out" {
	# a window wider than quiet hours; texts and calls in a loop, so that
	# steps fall due at every hour of the day
	seq-def > /dev/null <<'JSON'
{"name":"week","timezone":"Asia/Tokyo","window":{"start":"06:00","end":"23:00"},
 "steps":[{"id":"a","type":"sms","text":"hi {{first_name|there}}"},
  {"id":"w1","type":"wait","duration":"4h"},
  {"id":"b","type":"voice","say":"hello"},
  {"id":"w2","type":"wait","duration":"9h","next":"a"}]}
JSON
	# its own zone; a one-zone country (twice); a +1 number with no zone;
	# a country the table does not know, which takes the sequence's zone
	leads '{"external_id":"la","phone":"+13105550101","timezone":"America/Los_Angeles"}' \
		'{"external_id":"uk","phone":"+447946001802"}' \
		'{"external_id":"de","phone":"+493012345679"}' \
		'{"external_id":"us","phone":"+16175550103"}' \
		'{"external_id":"ru","phone":"+74951234568"}'
	enroll week 2027-03-10T00:00:00Z la uk de us ru
	# every 75 minutes from Wednesday 2027-03-10 to Wednesday 2027-03-17,
	# so ticks fall on every quarter hour of the day; the US and Canada
	# move their clocks on Sunday 2027-03-14.  seq-send and seq-log run on
	# the ticks that have jobs: on the others they have nothing to do, and
	# starting them there would double the run time under ASan.
	local e t start end
	start=$(epoch 2027-03-10T00:00:00Z)
	end=$(epoch 2027-03-17T00:00:00Z)
	: > jobs
	for ((e = start; e <= end; e += 4500)); do
		TZ=UTC printf -v t '%(%Y-%m-%dT%H:%M:%SZ)T' "$e"
		seq-due --now "$t" > due
		[ -s due ] || continue
		while IFS= read -r line; do
			printf '%s\t%s\n' "$t" "$line"
		done < due >> jobs
		seq-send --now "$t" < due | seq-log --now "$t" > /dev/null
	done

	run python3 - jobs "$US_CA" <<'PY'
import json, sys
from datetime import datetime
from zoneinfo import ZoneInfo
zones = {"+13105550101": ["America/Los_Angeles"], "+447946001802": ["Europe/London"],
         "+493012345679": ["Europe/Berlin"], "+16175550103": sys.argv[2].split(),
         "+74951234568": ["Asia/Tokyo"]}
for line in open(sys.argv[1]):
    t, job = line.rstrip("\n").split("\t", 1)
    j = json.loads(job)
    at = datetime.fromisoformat(t.replace("Z", "+00:00"))
    for z in zones[j["to"]]:
        local = at.astimezone(ZoneInfo(z))
        if not 8 * 60 <= local.hour * 60 + local.minute < 21 * 60:
            print(t, j["channel"], j["to"], z, local.strftime("%H:%M"))
PY
	assert_success
	assert_output ""

	# and they went out: each lead has texts and calls before and after
	# the change, every one sent once
	local dst
	dst=$(epoch 2027-03-14T07:00:00Z)
	assert_equal "$(sql "SELECT l.external_id, count(*) >= 5, count(DISTINCT x.channel),
		sum(x.claimed_at < $dst) > 0, sum(x.claimed_at >= $dst) > 0
		FROM sequence_executions x JOIN leads l ON l.id = x.lead_id
		GROUP BY l.id ORDER BY l.id")" \
		"la|1|2|1|1
uk|1|2|1|1
de|1|2|1|1
us|1|2|1|1
ru|1|2|1|1"
	assert_equal "$(sql "SELECT DISTINCT state FROM sequence_executions")" "sent"
	assert_equal "$(wc -l < jobs)" "$(sql "SELECT count(*) FROM sequence_executions")"
	assert_equal "$(cut -f2 jobs | jq -r .key | sort -u | wc -l)" "$(wc -l < jobs)"
	# the +1 lead without a zone: only in the hours that are daytime from
	# Newfoundland to Hawaii, 18:00 to 00:30 UTC before the change and
	# 18:00 to 23:30 after
	assert_equal "$(sql "SELECT count(*) FROM sequence_executions x JOIN leads l ON l.id = x.lead_id
		WHERE l.external_id = 'us' AND NOT ((x.claimed_at < $dst AND (x.claimed_at % 86400 >= 64800
		OR x.claimed_at % 86400 < 1800)) OR (x.claimed_at >= $dst AND x.claimed_at % 86400 >= 64800
		AND x.claimed_at % 86400 < 84600))")" 0
}

@test "a +1 number without a time zone waits for 08:00-21:00 in every US and Canadian zone, before and after the DST change" {
	texted txt sms
	leads '{"external_id":"us1","phone":"+16175550101"}' \
		'{"external_id":"us2","phone":"+16175550102"}' \
		'{"external_id":"us3","phone":"+16175550103"}' \
		'{"external_id":"us4","phone":"+16175550104"}' \
		'{"external_id":"us5","phone":"+16175550105"}'
	# 12:00Z is 08:00 in Newfoundland but 02:00 in Hawaii: 08:00 there is
	# 18:00Z
	enroll txt 2027-03-10T12:00:00Z us1
	run --separate-stderr seq-due --now 2027-03-10T12:00:00Z
	assert_success
	assert_output ""
	assert_equal "$(next_runs)" "us1|2027-03-10T18:00:00Z"
	run --separate-stderr seq-due --now 2027-03-10T17:59:59Z
	assert_success
	assert_output ""
	run --separate-stderr seq-due --now 2027-03-10T18:00:00Z
	assert_success
	assert_equal "$(jobs_of '.to, .channel')" "+16175550101	sms"
	deliver 2027-03-10T18:00:00Z
	# 21:00 NST in St. John's (UTC-3:30) is 00:30Z
	enroll txt 2027-03-11T00:29:59Z us2
	run --separate-stderr seq-due --now 2027-03-11T00:29:59Z
	assert_success
	assert_equal "$(jobs_of '.to')" "+16175550102"
	deliver 2027-03-11T00:29:59Z
	enroll txt 2027-03-11T00:30:00Z us3
	run --separate-stderr seq-due --now 2027-03-11T00:30:00Z
	assert_success
	assert_output ""
	assert_equal "$(next_runs)" "us3|2027-03-11T18:00:00Z"
	# after the change St. John's is UTC-2:30: 21:00 is 23:30Z, and 08:00
	# in Honolulu, which keeps no daylight time, is still 18:00Z
	enroll txt 2027-03-14T23:29:00Z us4
	enroll txt 2027-03-14T23:30:00Z us5
	run --separate-stderr seq-due --now 2027-03-14T23:29:00Z
	assert_success
	assert_equal "$(jobs_of '.to')" "+16175550103
+16175550104"
	deliver 2027-03-14T23:29:00Z
	run --separate-stderr seq-due --now 2027-03-14T23:30:00Z
	assert_success
	assert_output ""
	assert_equal "$(next_runs)" "us5|2027-03-15T18:00:00Z"
}

@test "the lead's own zone wins over its number's; an invalid zone counts as none; a country the table lacks takes the sequence's zone, else UTC" {
	texted tokyo sms '"timezone":"Asia/Tokyo"'
	texted utc voice
	leads '{"external_id":"jp","phone":"+16175550101","timezone":"Asia/Tokyo"}' \
		'{"external_id":"mars","phone":"+447946001801","timezone":"Mars/Olympus_Mons"}' \
		'{"external_id":"de","phone":"+493012345678"}' \
		'{"external_id":"ru","phone":"+74951234567"}' \
		'{"external_id":"ru2","phone":"+74951234569"}'
	enroll tokyo 2027-03-10T05:00:00Z jp mars de ru
	enroll utc 2027-03-10T05:00:00Z ru2
	# 05:00Z: 14:00 in Tokyo, 05:00 in London, 06:00 in Berlin, midnight in
	# New York
	run --separate-stderr seq-due --now 2027-03-10T05:00:00Z
	assert_success
	assert_equal "$(jobs_of '.to, .channel')" "+16175550101	sms
+74951234567	sms"
	assert_equal "$(next_runs)" "mars|2027-03-10T08:00:00Z
de|2027-03-10T07:00:00Z
ru2|2027-03-10T08:00:00Z"
	deliver 2027-03-10T05:00:00Z
	run --separate-stderr seq-due --now 2027-03-10T07:00:00Z
	assert_success
	assert_equal "$(jobs_of '.to')" "+493012345678"
	deliver 2027-03-10T07:00:00Z
	run --separate-stderr seq-due --now 2027-03-10T08:00:00Z
	assert_success
	assert_equal "$(jobs_of '.to, .channel')" "+447946001801	sms
+74951234569	voice"
}

@test "a text or a call waits for the first moment inside both the send window and quiet hours" {
	# the window is kept in the sequence's zone (the lead has none), quiet
	# hours in every zone of +1: 12:00-23:00 in Berlin is 11:00-22:00Z,
	# quiet hours 18:00-00:30Z, so 18:00Z to 22:00Z on weekdays
	texted both sms '"timezone":"Europe/Berlin","window":{"days":["mon","tue","wed","thu","fri"],"start":"12:00","end":"23:00"}'
	leads '{"external_id":"us1","phone":"+16175550101"}' '{"external_id":"us2","phone":"+16175550102"}' \
		'{"external_id":"be","phone":"+16175550103","timezone":"Europe/Berlin"}'
	enroll both 2027-03-10T12:00:00Z us1
	run --separate-stderr seq-due --now 2027-03-10T12:00:00Z
	assert_success
	assert_output ""
	assert_equal "$(next_runs)" "us1|2027-03-10T18:00:00Z"
	# Friday 22:00Z: the window has closed for the week; Monday it opens
	# at 11:00Z, and quiet hours at 18:00Z
	enroll both 2027-03-12T22:00:00Z us2
	run --separate-stderr seq-due --now 2027-03-12T22:00:00Z
	assert_success
	assert_output ""
	assert_equal "$(sql "SELECT $(iso next_run_at) FROM enrollments WHERE id = 2")" "2027-03-15T18:00:00Z"
	# a lead in Berlin: window and quiet hours both in Berlin, 12:00-21:00
	enroll both 2027-03-12T20:00:00Z be
	run --separate-stderr seq-due --now 2027-03-12T20:00:00Z
	assert_success
	assert_output ""
	assert_equal "$(sql "SELECT $(iso next_run_at) FROM enrollments WHERE id = 3")" "2027-03-15T11:00:00Z"
}

@test "SEQ_QUIET_HOURS narrows quiet hours, from the environment or the config file; empty is the default" {
	texted txt sms
	leads '{"external_id":"be1","phone":"+16175550101","timezone":"Europe/Berlin"}' \
		'{"external_id":"be2","phone":"+16175550102","timezone":"Europe/Berlin"}' \
		'{"external_id":"be3","phone":"+16175550103","timezone":"Europe/Berlin"}' \
		'{"external_id":"us","phone":"+16175550104"}'
	# 08:30 in Berlin (07:30Z): inside the default, not inside 10:00-18:00
	enroll txt 2027-03-10T07:30:00Z be1 be2
	run --separate-stderr env SEQ_QUIET_HOURS=10:00-18:00 seq-due --now 2027-03-10T07:30:00Z
	assert_success
	assert_output ""
	assert_equal "$(next_runs)" "be1|2027-03-10T09:00:00Z
be2|2027-03-10T09:00:00Z"
	printf 'SEQ_QUIET_HOURS=10:00-18:00\n' > conf
	chmod 600 conf
	run --separate-stderr seq-due --config conf --now 2027-03-10T08:59:59Z
	assert_success
	assert_output ""
	run --separate-stderr seq-due --config conf --now 2027-03-10T09:00:00Z
	assert_success
	assert_equal "$(jobs_of '.to')" "+16175550101
+16175550102"
	deliver 2027-03-10T09:00:00Z
	# 18:00 in Berlin waits for 10:00 the next day
	enroll txt 2027-03-10T17:00:00Z be3
	run --separate-stderr env SEQ_QUIET_HOURS=10:00-18:00 seq-due --now 2027-03-10T17:00:00Z
	assert_success
	assert_output ""
	assert_equal "$(next_runs)" "be3|2027-03-11T09:00:00Z"
	# the +1 lead after the change: 10:00 in Honolulu is 20:00Z, 18:00 in
	# St. John's 20:30Z (while be3's 13:00 in Berlin is inside)
	enroll txt 2027-03-15T12:00:00Z us
	run --separate-stderr env SEQ_QUIET_HOURS=10:00-18:00 seq-due --now 2027-03-15T12:00:00Z
	assert_success
	assert_equal "$(jobs_of '.to')" "+16175550103"
	deliver 2027-03-15T12:00:00Z
	assert_equal "$(sql "SELECT $(iso next_run_at) FROM enrollments WHERE id = 4")" "2027-03-15T20:00:00Z"
	run --separate-stderr env SEQ_QUIET_HOURS=10:00-18:00 seq-due --now 2027-03-15T20:30:00Z
	assert_success
	assert_output ""
	assert_equal "$(sql "SELECT $(iso next_run_at) FROM enrollments WHERE id = 4")" "2027-03-16T20:00:00Z"
	# empty counts as unset: 08:00-21:00, and 23:29Z is 20:59 in St. John's
	run --separate-stderr env SEQ_QUIET_HOURS= seq-due --now 2027-03-16T23:29:00Z
	assert_success
	assert_equal "$(jobs_of '.to')" "+16175550104"
}

@test "a bad SEQ_QUIET_HOURS stops seq-due with status 4 before it claims anything" {
	texted mail email
	leads '{"external_id":"l1","email":"l1@example.com"}'
	enroll mail 2027-03-10T12:00:00Z l1
	local bad
	for bad in 25:00-08:00 08:00 ' ' 21:00-08:00 8:00-21:00 08:00-21:00x; do
		run -4 --separate-stderr env SEQ_QUIET_HOURS="$bad" seq-due --now 2027-03-10T12:00:00Z
		assert_output ""
		assert_equal "$stderr" "seq-due: SEQ_QUIET_HOURS: '$bad' is not a range of the day like 08:00-21:00, its start before its end"
	done
	printf 'SEQ_QUIET_HOURS=21:00-08:00\n' > conf
	chmod 600 conf
	run -4 --separate-stderr seq-due --config conf --now 2027-03-10T12:00:00Z
	assert_output ""
	assert_equal "$stderr" "seq-due: SEQ_QUIET_HOURS: '21:00-08:00' is not a range of the day like 08:00-21:00, its start before its end"
	assert_equal "$(sql "SELECT count(*) FROM sequence_executions")" 0
	assert_equal "$(next_runs)" "l1|2027-03-10T12:00:00Z"
	# the whole day is allowed, and is the way to turn quiet hours off
	run --separate-stderr env SEQ_QUIET_HOURS=00:00-24:00 seq-due --now 2027-03-10T12:00:00Z
	assert_success
	assert_equal "$(jobs_of '.to')" "l1@example.com"
}

@test "a sequence's quiet_hours narrows quiet hours and never widens them; seq-def refuses a bad one" {
	texted narrow sms '"quiet_hours":"09:00-20:00"'
	texted wide voice '"quiet_hours":"06:00-23:00"'
	leads '{"external_id":"be1","phone":"+16175550101","timezone":"Europe/Berlin"}' \
		'{"external_id":"be2","phone":"+16175550102","timezone":"Europe/Berlin"}' \
		'{"external_id":"be3","phone":"+16175550103","timezone":"Europe/Berlin"}' \
		'{"external_id":"be4","phone":"+16175550104","timezone":"Europe/Berlin"}'
	# 07:30 in Berlin: the narrow one waits for 09:00, the wide one still
	# for 08:00
	enroll narrow 2027-03-10T06:30:00Z be1
	enroll wide 2027-03-10T06:30:00Z be2
	run --separate-stderr seq-due --now 2027-03-10T06:30:00Z
	assert_success
	assert_output ""
	assert_equal "$(next_runs)" "be1|2027-03-10T08:00:00Z
be2|2027-03-10T07:00:00Z"
	# with SEQ_QUIET_HOURS=10:00-18:00, neither widens it
	run --separate-stderr env SEQ_QUIET_HOURS=10:00-18:00 seq-due --now 2027-03-10T08:00:00Z
	assert_success
	assert_output ""
	assert_equal "$(next_runs)" "be1|2027-03-10T09:00:00Z
be2|2027-03-10T09:00:00Z"
	run --separate-stderr seq-due --now 2027-03-10T09:00:00Z
	assert_success
	assert_equal "$(jobs_of '.to, .channel')" "+16175550101	sms
+16175550102	voice"
	deliver 2027-03-10T09:00:00Z
	# 19:59 in Berlin goes in the narrow one, 20:00 does not
	enroll narrow 2027-03-10T18:59:00Z be3
	run --separate-stderr seq-due --now 2027-03-10T18:59:00Z
	assert_success
	assert_equal "$(jobs_of '.to')" "+16175550103"
	deliver 2027-03-10T18:59:00Z
	enroll narrow 2027-03-10T19:00:00Z be4
	run --separate-stderr seq-due --now 2027-03-10T19:00:00Z
	assert_success
	assert_output ""
	assert_equal "$(next_runs)" "be4|2027-03-11T08:00:00Z"

	local bad
	for bad in '"20:00-09:00"' '"9-17"' '"09:00-24:01"' '""' 42; do
		run -1 --separate-stderr seq-def <<JSON
{"name":"bad","quiet_hours":$bad,"steps":[{"id":"a","type":"sms","text":"hi"}]}
JSON
		assert_output ""
		assert_regex "$stderr" '\$\.quiet_hours: '
	done
	run -1 --separate-stderr seq-def <<'JSON'
{"name":"bad","quiet_hours":"20:00-09:00","steps":[{"id":"a","type":"sms","text":"hi"}]}
JSON
	assert_regex "$stderr" "\\\$\\.quiet_hours: '20:00-09:00' is not a range of the day like 09:00-20:00, its start before its end"
}

@test "with no moment inside quiet hours, a text or a call is skipped with the reason, and the walk goes on" {
	# 06:00-07:00 and 08:00-21:00 have no time in common
	seq-def > /dev/null <<'JSON'
{"name":"early","quiet_hours":"06:00-07:00","steps":[
 {"id":"a","type":"sms","text":"hi"},
 {"id":"b","type":"email","subject":"S","text":"hi"}]}
JSON
	texted text sms
	leads '{"external_id":"be","phone":"+16175550101","email":"be@example.com","timezone":"Europe/Berlin"}' \
		'{"external_id":"us","phone":"+16175550102"}' \
		'{"external_id":"uk","phone":"+447946001801"}'
	enroll early 2027-03-10T12:00:00Z be
	run --separate-stderr seq-due --now 2027-03-10T12:00:00Z
	assert_success
	assert_equal "$(jobs_of '.to, .channel')" "be@example.com	email"
	# from Newfoundland to Hawaii no hour is inside 09:00-12:00 everywhere;
	# a one-zone country has some
	enroll text 2027-03-10T12:00:00Z us uk
	run --separate-stderr env SEQ_QUIET_HOURS=09:00-12:00 seq-due --now 2027-03-10T12:00:00Z
	assert_success
	assert_output ""
	assert_equal "$(sql "SELECT $(iso next_run_at) FROM enrollments WHERE id = 3")" "2027-03-11T09:00:00Z"
	assert_equal "$(sql "SELECT l.external_id, x.step, x.state, x.error FROM sequence_executions x
		JOIN leads l ON l.id = x.lead_id WHERE x.state = 'skipped' ORDER BY x.id")" \
		"be|a|skipped|quiet hours 06:00-07:00 of the sequence and 08:00-21:00 of SEQ_QUIET_HOURS have no time in common
us|a|skipped|no time in the next 15 days is inside quiet hours 09:00-12:00 in every time zone of US, CA"
	assert_equal "$(sql "SELECT l.external_id, e.status FROM enrollments e JOIN leads l ON l.id = e.lead_id
		WHERE l.external_id = 'us'")" "us|completed"
}

@test "email steps are not held by quiet hours" {
	seq-def > /dev/null <<'JSON'
{"name":"mix","quiet_hours":"09:00-17:00","steps":[
 {"id":"a","type":"email","subject":"S","text":"hi"},
 {"id":"b","type":"sms","text":"hi"}]}
JSON
	leads '{"external_id":"be","email":"be@example.com","phone":"+493012345678","timezone":"Europe/Berlin"}' \
		'{"external_id":"us","email":"us@example.com","phone":"+16175550101"}'
	# 03:00 in Berlin, 22:00 in New York
	enroll mix 2027-03-10T02:00:00Z be us
	run --separate-stderr env SEQ_QUIET_HOURS=10:00-18:00 seq-due --now 2027-03-10T02:00:00Z
	assert_success
	assert_equal "$(jobs_of '.to, .channel')" "be@example.com	email
us@example.com	email"
	deliver 2027-03-10T02:00:00Z
	run --separate-stderr env SEQ_QUIET_HOURS=10:00-18:00 seq-due --now 2027-03-10T02:01:00Z
	assert_success
	assert_output ""
	# 10:00 in Berlin; 10:00 in Honolulu is 20:00Z
	assert_equal "$(next_runs)" "be|2027-03-10T09:00:00Z
us|2027-03-10T20:00:00Z"
}
