#!/usr/bin/env bats
# seq-due: holidays.  A sequence that names a holiday calendar ("holidays")
# sends nothing on its public holidays: a holiday is a day without a send
# window, so the step moves to the next working day's opening, in the zone
# the window is kept in; a lead's own country (attribute "country", else
# its phone number's) brings its own calendar.  Calendars are iCalendar
# files in share/holidays/, and in SEQ_HOLIDAYS_DIR for an admin's own.
# seq-def --holidays lists what seq-due reads.  Every time is given with
# --now.

load test_helper
setup() { common_setup; init_db; }

# Delivers and logs the jobs in $output at time $1.
deliver() { seq-send --now "$1" <<< "$output" | seq-log --now "$1" > /dev/null; }
# One field of every job line in $output, tab-separated per line.
jobs_of() { jq -r "[$1] | @tsv" <<< "$output"; }
# next_run_at of each active enrollment, by its lead's external id.
next_runs() {
	sql "SELECT l.external_id, $(iso e.next_run_at) FROM enrollments e
		JOIN leads l ON l.id = e.lead_id WHERE e.status = 'active' AND e.claim IS NULL
		ORDER BY e.id"
}
# A one-email sequence, Monday to Friday 09:00-17:00: mailer NAME ZONE
# [MORE JSON MEMBERS]
mailer() {
	seq-def > /dev/null <<JSON
{"name":"$1","timezone":"$2",
 "window":{"days":["mon","tue","wed","thu","fri"],"start":"09:00","end":"17:00"}${3:+,$3},
 "steps":[{"id":"a","type":"email","subject":"S","text":"hi"}]}
JSON
}

@test "the shipped calendars parse, and hold each year's public holidays from 2026 to 2028" {
	local c y expected
	# US: the 11 federal holidays and the days they are observed on when
	# they fall on a weekend (2027: 18 June, 5 July, 24 and 31 December;
	# New Year's Day 2028 is a Saturday); GB: 8 bank holidays of England
	# and Wales and their substitute days; DE and FR: none move
	for c in US:2026=12:2027=15:2028=12 GB:2026=9:2027=10:2028=9 \
		DE:2026=9:2027=9:2028=9 FR:2026=11:2027=11:2028=11; do
		run --separate-stderr seq-def --holidays "${c%%:*}"
		assert_success
		assert_equal "$stderr" ""
		printf '%s\n' "$output" > "${c%%:*}.ndjson"
		expected=$(tr ':' '\n' <<< "${c#*:}" | sed 's/=/ /')
		assert_equal "$(jq -r '.date[0:4]' "${c%%:*}.ndjson" | uniq -c | awk '{ print $2, $1 }')" "$expected"
	done
	# the days Easter moves, and those the weekend moves, on their dates
	assert_equal "$(jq -r 'select(.date == "2026-11-26" or .date == "2027-12-31" or
		.date == "2027-06-18" or .date == "2028-11-10") | .date + " " + .summary' US.ndjson)" \
		"2026-11-26 Thanksgiving Day
2027-06-18 Juneteenth National Independence Day (observed)
2027-12-31 New Year's Day (observed)
2028-11-10 Veterans Day (observed)"
	assert_equal "$(jq -r 'select(.date[5:7] == "12" or (.summary | test("Good|Easter|substitute"))) |
		.date + " " + .summary' GB.ndjson)" \
		"2026-04-03 Good Friday
2026-04-06 Easter Monday
2026-12-25 Christmas Day
2026-12-26 Boxing Day
2026-12-28 Boxing Day (substitute day)
2027-03-26 Good Friday
2027-03-29 Easter Monday
2027-12-25 Christmas Day
2027-12-26 Boxing Day
2027-12-27 Christmas Day (substitute day)
2027-12-28 Boxing Day (substitute day)
2028-01-03 New Year's Day (substitute day)
2028-04-14 Good Friday
2028-04-17 Easter Monday
2028-12-25 Christmas Day
2028-12-26 Boxing Day"
	assert_equal "$(jq -r 'select(.summary | test("Karfreitag|Oster|Himmelfahrt|Pfingst")) | .date' DE.ndjson | paste -sd ' ')" \
		"2026-04-03 2026-04-06 2026-05-14 2026-05-25 2027-03-26 2027-03-29 2027-05-06 2027-05-17 2028-04-14 2028-04-17 2028-05-25 2028-06-05"
	assert_equal "$(jq -r 'select(.summary | test("Pâques|Ascension|Pentecôte")) | .date' FR.ndjson | paste -sd ' ')" \
		"2026-04-06 2026-05-14 2026-05-25 2027-03-29 2027-05-06 2027-05-17 2028-04-17 2028-05-25 2028-06-05"
	# text is unescaped (RFC 5545 3.3.11): the comma of the name
	assert_equal "$(jq -r 'select(.date == "2027-01-18") | .summary' US.ndjson)" \
		"Birthday of Martin Luther King, Jr."
	# a day moved to is always a weekday
	assert_equal "$(jq -r 'select(.summary | test("observed|substitute")) | .date' US.ndjson GB.ndjson |
		xargs -n1 date +%u -d | sort -u | paste -sd ' ')" "1 2 5"
	# the files as RFC 5545 writes them: CRLF, lines of at most 75
	# octets, one VEVENT per holiday, each with its UID and DTSTAMP
	for c in US GB DE FR; do
		assert_equal "$(LC_ALL=C awk '!/\r$/ || length($0) > 76' "$TOP/share/holidays/$c.ics")" ""
		assert_equal "$(grep -c '^BEGIN:VEVENT' "$TOP/share/holidays/$c.ics")" "$(wc -l < $c.ndjson)"
		assert_equal "$(grep -c '^UID:' "$TOP/share/holidays/$c.ics")" "$(wc -l < $c.ndjson)"
		assert_equal "$(grep -c '^DTSTAMP:' "$TOP/share/holidays/$c.ics")" "$(wc -l < $c.ndjson)"
	done
	grep -q 'England and Wales' "$TOP/share/holidays/GB.ics"
}

@test "a holiday moves a step to the next working day: Thanksgiving to Friday at 09:00 in New York, and the timeline says why" {
	mailer us America/New_York '"holidays":"US"'
	mailer plain America/New_York
	leads '{"external_id":"h","email":"h@example.com"}' '{"external_id":"p","email":"p@example.com"}'
	# Thursday 26 November 2026, 10:00 in New York: Thanksgiving
	enroll us 2026-11-26T15:00:00Z h
	enroll plain 2026-11-26T15:00:00Z p
	run --separate-stderr seq-due --now 2026-11-26T15:00:00Z
	assert_success
	assert_equal "$stderr" ""
	# the sequence without a calendar sends; the other waits for Friday
	assert_equal "$(jobs_of '.to')" "p@example.com"
	deliver 2026-11-26T15:00:00Z
	assert_equal "$(next_runs)" "h|2026-11-27T14:00:00Z"
	run --separate-stderr seq-due --now 2026-11-27T13:59:59Z
	assert_success
	assert_output ""
	run --separate-stderr seq-due --now 2026-11-27T14:00:00Z
	assert_success
	assert_equal "$(jobs_of '.to, .step')" "h@example.com	a"

	run --separate-stderr seq-timeline --lead 1 --kind step
	assert_success
	assert_equal "$(jq -r 'select(.what == "deferred") | [.step, .details.reason, .details.due, .details.until] | @tsv' <<< "$output")" \
		"a	holiday: Thanksgiving Day (US)	2026-11-26T15:00:00Z	2026-11-27T14:00:00Z"
}

@test "a step due after the window on Christmas Eve in Berlin waits for Monday 28 December; without a window, for the first minute after the holidays" {
	mailer de Europe/Berlin '"holidays":"DE"'
	seq-def > /dev/null <<'JSON'
{"name":"always","timezone":"Europe/Berlin","holidays":"DE",
 "steps":[{"id":"a","type":"email","subject":"S","text":"hi"}]}
JSON
	leads '{"external_id":"w","email":"w@example.com"}' '{"external_id":"n","email":"n@example.com"}'
	# Thursday 24 December, 17:30 in Berlin: the window has closed; 25
	# and 26 December are holidays, then the weekend
	enroll de 2026-12-24T16:30:00Z w
	# Friday 25 December, 11:00 in Berlin
	enroll always 2026-12-25T10:00:00Z n
	run --separate-stderr seq-due --now 2026-12-25T10:00:00Z
	assert_success
	assert_output ""
	assert_equal "$(next_runs)" "w|2026-12-28T08:00:00Z
n|2026-12-26T23:00:00Z"
	run --separate-stderr seq-due --now 2026-12-26T23:00:00Z
	assert_success
	assert_equal "$(jobs_of '.to')" "n@example.com"
	deliver 2026-12-26T23:00:00Z
	run --separate-stderr seq-due --now 2026-12-28T08:00:00Z
	assert_success
	assert_equal "$(jobs_of '.to')" "w@example.com"
}

@test "a lead's country brings its own calendar: GB's Boxing Day substitute is skipped for a lead in GB, not for one in the US" {
	# the sequence's calendar is the US one, kept in London
	mailer uk Europe/London '"holidays":"US"'
	leads '{"external_id":"gb","email":"gb@example.com","country":"GB"}' \
		'{"external_id":"gb-lower","email":"gbl@example.com","country":"gb"}' \
		'{"external_id":"gb-phone","email":"gbp@example.com","phone":"+447946001802"}' \
		'{"external_id":"us","email":"us@example.com","country":"US"}' \
		'{"external_id":"jp","email":"jp@example.com","country":"JP"}' \
		'{"external_id":"none","email":"none@example.com","phone":"+16175550103"}'
	# Monday 28 December 2026, 10:00 in London: GB's Boxing Day
	# (substitute day), no US holiday.  JP has no calendar here and +1 is
	# no one country: both keep the sequence's
	enroll uk 2026-12-28T10:00:00Z gb gb-lower gb-phone us jp none
	run --separate-stderr seq-due --now 2026-12-28T10:00:00Z
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(jobs_of '.to')" "us@example.com
jp@example.com
none@example.com"
	assert_equal "$(next_runs)" "gb|2026-12-29T09:00:00Z
gb-lower|2026-12-29T09:00:00Z
gb-phone|2026-12-29T09:00:00Z"
	run --separate-stderr seq-timeline --lead 1 --kind step
	assert_equal "$(jq -r 'select(.what == "deferred") | .details.reason' <<< "$output")" \
		"holiday: Boxing Day (substitute day) (GB)"

	# and on the US's Christmas observed, 24 December 2027, the lead in
	# the US waits while the lead in GB gets its mail
	mailer uk2 Europe/London '"holidays":"US"'
	enroll uk2 2027-12-24T10:00:00Z gb us
	run --separate-stderr seq-due --now 2027-12-24T10:00:00Z --sequence uk2
	assert_success
	assert_equal "$(jobs_of '.to')" "gb@example.com"
}

@test "the lead's country holds in a sealed database too" {
	export SEQ_DB="$BATS_TEST_TMPDIR/sealed.db"
	seq-init --key-file keys 2> /dev/null
	export SEQ_KEY_FILE="$BATS_TEST_TMPDIR/keys"
	mailer uk Europe/London '"holidays":"US"'
	leads '{"external_id":"gb","email":"gb@example.com","country":"GB"}' \
		'{"external_id":"us","email":"us@example.com","country":"US"}'
	assert_equal "$(sql "SELECT count(*) FROM leads WHERE attributes LIKE '%GB%'")" "0"
	enroll uk 2026-12-28T10:00:00Z gb us
	run --separate-stderr seq-due --now 2026-12-28T10:00:00Z
	assert_success
	assert_equal "$(jobs_of '.to')" "us@example.com"
	assert_equal "$(sql "SELECT $(iso next_run_at) FROM enrollments WHERE claim IS NULL")" "2026-12-29T09:00:00Z"
}

@test "texts keep quiet hours and skip holidays too: Thanksgiving's text goes at 08:00 on Friday" {
	unset SEQ_QUIET_HOURS
	seq-def > /dev/null <<'JSON'
{"name":"txt","timezone":"America/New_York","holidays":"US",
 "steps":[{"id":"a","type":"sms","text":"hi"},{"id":"w","type":"wait","duration":"1h"},
  {"id":"b","type":"voice","say":"hello"}]}
JSON
	leads '{"external_id":"ny","phone":"+12125550123","timezone":"America/New_York"}'
	# Thursday 26 November 2026, 10:00 in New York
	enroll txt 2026-11-26T15:00:00Z ny
	run --separate-stderr seq-due --now 2026-11-26T15:00:00Z
	assert_success
	assert_output ""
	# not at midnight: quiet hours open at 08:00
	assert_equal "$(next_runs)" "ny|2026-11-27T13:00:00Z"
	run --separate-stderr seq-due --now 2026-11-27T13:00:00Z
	assert_success
	assert_equal "$(jobs_of '.channel')" "sms"
	seq-send --now 2026-11-27T13:00:00Z <<< "$output" | seq-log --now 2026-11-27T13:00:00Z > /dev/null
	run --separate-stderr seq-due --now 2026-11-27T14:00:00Z
	assert_equal "$(jobs_of '.channel')" "voice"
	run --separate-stderr seq-timeline --lead 1 --kind step
	assert_equal "$(jq -r 'select(.what == "deferred") | [.details.reason, .details.until] | @tsv' <<< "$output")" \
		"holiday: Thanksgiving Day (US)	2026-11-27T13:00:00Z"
}

@test "an admin's own calendar in SEQ_HOLIDAYS_DIR: folded lines, days that span, a yearly day; and it replaces a shipped one of the same name" {
	mkdir cal
	export SEQ_HOLIDAYS_DIR="$BATS_TEST_TMPDIR/cal"
	# LF line ends, a folded SUMMARY, a component seq-due does not read,
	# a cancelled event, a shutdown of four days and a yearly founders' day
	cat > cal/ACME.ics <<'ICS'
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Acme//Ops//EN
BEGIN:VTIMEZONE
TZID:Europe/Berlin
END:VTIMEZONE
BEGIN:VEVENT
UID:shutdown-2026@acme.example
DTSTAMP:20261101T000000Z
DTSTART;VALUE=DATE:20261228
DTEND;VALUE=DATE:20270101
SUMMARY:Year-end shutdown of the whole company\, all offices and every te
 am
END:VEVENT
BEGIN:VEVENT
UID:founders@acme.example
DTSTAMP:20261101T000000Z
DTSTART;VALUE=DATE:20260701
RRULE:FREQ=YEARLY;BYMONTH=7;BYMONTHDAY=1
SUMMARY:Founders' day
BEGIN:VALARM
ACTION:DISPLAY
TRIGGER:-PT15M
END:VALARM
END:VEVENT
BEGIN:VEVENT
UID:party@acme.example
DTSTAMP:20261101T000000Z
DTSTART;VALUE=DATE:20270104
STATUS:CANCELLED
SUMMARY:Cancelled party
END:VEVENT
END:VCALENDAR
ICS
	run --separate-stderr seq-def --holidays ACME
	assert_success
	assert_equal "$(jq -c '[.date, .summary, .yearly]' <<< "$output")" \
		'["2026-07-01","Founders'"'"' day",true]
["2026-12-28","Year-end shutdown of the whole company, all offices and every team",null]
["2026-12-29","Year-end shutdown of the whole company, all offices and every team",null]
["2026-12-30","Year-end shutdown of the whole company, all offices and every team",null]
["2026-12-31","Year-end shutdown of the whole company, all offices and every team",null]'

	mailer acme Europe/Berlin '"holidays":"ACME"'
	leads '{"external_id":"a","email":"a@example.com"}' '{"external_id":"b","email":"b@example.com"}'
	# Monday 28 December 2026: the shutdown runs to Thursday; Friday 1
	# January is no holiday of this calendar.  Thursday 1 July 2032: the
	# founders' day of every year
	enroll acme 2026-12-28T10:00:00Z a
	run --separate-stderr seq-due --now 2026-12-28T10:00:00Z
	assert_success
	assert_output ""
	assert_equal "$(next_runs)" "a|2027-01-01T08:00:00Z"
	run --separate-stderr seq-due --now 2027-01-01T08:00:00Z
	assert_success
	assert_equal "$(jobs_of '.to')" "a@example.com"
	deliver 2027-01-01T08:00:00Z
	enroll acme 2032-07-01T10:00:00Z b
	run --separate-stderr seq-due --now 2032-07-01T10:00:00Z
	assert_success
	assert_output ""
	assert_equal "$(next_runs)" "b|2032-07-02T07:00:00Z"

	# an admin's US.ics comes before the shipped one
	printf 'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261130\r\nSUMMARY:Our own\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n' > cal/US.ics
	mailer us America/New_York '"holidays":"US"'
	leads '{"external_id":"u","email":"u@example.com"}' '{"external_id":"v","email":"v@example.com"}'
	# Thanksgiving is no holiday of it, and Monday 30 November is
	enroll us 2026-11-26T15:00:00Z u
	run --separate-stderr seq-due --now 2026-11-26T15:00:00Z
	assert_success
	assert_equal "$(jobs_of '.to')" "u@example.com"
	deliver 2026-11-26T15:00:00Z
	enroll us 2026-11-30T15:00:00Z v
	run --separate-stderr seq-due --now 2026-11-30T15:00:00Z
	assert_success
	assert_output ""
	# b still waits for 2 July 2032
	assert_equal "$(next_runs)" "b|2032-07-02T07:00:00Z
v|2026-12-01T14:00:00Z"
}

@test "a calendar that is missing or that seq-due cannot read stops seq-due with status 4, naming the file; nothing is claimed" {
	mailer xx America/New_York '"holidays":"XX"'
	leads '{"external_id":"l","email":"l@example.com"}'
	enroll xx 2026-11-26T15:00:00Z l
	run --separate-stderr seq-due --now 2026-11-26T15:00:00Z
	assert_failure 4
	assert_output ""
	assert_equal "$stderr" "seq-due: sequence 'xx': no holiday calendar 'XX': $TOP/share/holidays/XX.ics does not exist (an admin's own calendars go in SEQ_HOLIDAYS_DIR)"
	assert_equal "$(sql "SELECT count(*) FROM sequence_executions")" "0"
	assert_equal "$(next_runs)" "l|2026-11-26T15:00:00Z"

	mkdir cal
	export SEQ_HOLIDAYS_DIR="$BATS_TEST_TMPDIR/cal"
	run --separate-stderr seq-due --now 2026-11-26T15:00:00Z
	assert_failure 4
	assert_equal "$stderr" "seq-due: sequence 'xx': no holiday calendar 'XX': neither $BATS_TEST_TMPDIR/cal/XX.ics nor $TOP/share/holidays/XX.ics exists"

	# what would change which days are off, and is not read, is refused
	# with its line
	printf 'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20261126T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n' > cal/XX.ics
	run --separate-stderr seq-due --now 2026-11-26T15:00:00Z
	assert_failure 4
	assert_equal "$stderr" "seq-due: $BATS_TEST_TMPDIR/cal/XX.ics: line 3: DTSTART is a date and time: a holiday is a whole day, DTSTART;VALUE=DATE:YYYYMMDD"
	printf 'BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20261126\nRRULE:FREQ=MONTHLY\nEND:VEVENT\nEND:VCALENDAR\n' > cal/XX.ics
	run --separate-stderr seq-due --now 2026-11-26T15:00:00Z
	assert_failure 4
	assert_equal "$stderr" "seq-due: $BATS_TEST_TMPDIR/cal/XX.ics: line 4: RRULE: FREQ=MONTHLY is not read: a holiday calendar repeats an event only every year on its date (FREQ=YEARLY, with UNTIL or COUNT)"
	printf 'BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20261126\nEND:VEVENT\n' > cal/XX.ics
	run --separate-stderr seq-due --now 2026-11-26T15:00:00Z
	assert_failure 4
	assert_equal "$stderr" "seq-due: $BATS_TEST_TMPDIR/cal/XX.ics: ends without END:VCALENDAR"
	echo 'Subject,Start Date' > cal/XX.ics
	run --separate-stderr seq-due --now 2026-11-26T15:00:00Z
	assert_failure 4
	assert_equal "$stderr" "seq-due: $BATS_TEST_TMPDIR/cal/XX.ics: line 1: not an iCalendar file: it must begin with BEGIN:VCALENDAR"
	chmod 000 cal
	if [ "$(id -u)" -ne 0 ]; then
		run --separate-stderr seq-due --now 2026-11-26T15:00:00Z
		assert_failure 4
		assert_equal "$stderr" "seq-due: $BATS_TEST_TMPDIR/cal/XX.ics: Permission denied"
	fi
	chmod 755 cal
	assert_equal "$(sql "SELECT count(*) FROM sequence_executions")" "0"
	run --separate-stderr seq-def --holidays ../etc/passwd
	assert_failure 4
	assert_equal "$stderr" "seq-def: holidays: '../etc/passwd' is not the name of a calendar, such as US or DE"
}
