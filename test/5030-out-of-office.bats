#!/usr/bin/env bats
# Out-of-office: an inbound message that a machine wrote for an absent
# person (by its headers, or by its subject in English, German, French,
# Spanish, Portuguese, Italian or Dutch) is an auto_reply, not a reply: the
# lead's enrollments pause, and seq-due resumes them at 09:00 of the return
# date in the text, or SEQ_OOO_DAYS after the message when it gives none.
# A person's reply still ends the enrollment.  Replies come as Postmark's
# inbound webhook on stdin and as SendGrid's Inbound Parse form in the spool.

load test_helper

setup() {
	common_setup
	unset SEQ_SPOOL SEQ_OOO_DAYS SEQ_KEY_FILE
	init_db
	T0=2026-11-23T10:00:00Z
	# when the replies were written, as their Date says and as the spool
	# received them
	T1=2026-11-23T11:00:00Z
	DATE1='Mon, 23 Nov 2026 11:00:00 +0000'
}

FORM_TYPE='multipart/form-data; boundary=xYzZY'

# at EPOCH: RFC 3339
at() { TZ=UTC printf '%(%Y-%m-%dT%H:%M:%SZ)T\n' "$1"; }
# the message's id: the same message is the same event
msgid() { printf '%s' "$*" | md5sum | cut -c1-20; }

# pm FROM SUBJECT TEXT [HEADERS]: Postmark's inbound webhook body, one line;
# HEADERS a JSON array of {"Name", "Value"} besides MIME-Version.  Postmark
# leaves StrippedTextReply empty when it finds nothing to strip.
pm() {
	jq -nc --arg from "$1" --arg s "$2" --arg t "$3" --argjson h "${4:-[]}" \
		--arg id "$(msgid "$@")" --arg date "$DATE1" \
		'{FromName: "Some One", From: $from,
		  FromFull: {Email: $from, Name: "Some One", MailboxHash: ""},
		  To: "sales@seq.example.com", Subject: $s, MessageID: $id,
		  Date: $date, TextBody: $t, StrippedTextReply: "",
		  Headers: ([{Name: "MIME-Version", Value: "1.0"}] + $h),
		  Attachments: []}'
}

# pms < TSV: pm for each line "FROM<tab>SUBJECT<tab>TEXT", TEXT with \n for
# a line end; in one go.
pms() {
	jq -R -c --arg date "$DATE1" 'split("\t") as [$from, $s, $t]
		| {FromName: "Some One", From: $from,
		   FromFull: {Email: $from, Name: "Some One", MailboxHash: ""},
		   To: "sales@seq.example.com", Subject: $s,
		   MessageID: "line-\(input_line_number)", Date: $date,
		   TextBody: ($t | gsub("\\\\n"; "\n")), StrippedTextReply: "",
		   Headers: [{Name: "MIME-Version", Value: "1.0"}], Attachments: []}'
}

# sg FROM SUBJECT TEXT [HEADER_LINE...]: SendGrid's Inbound Parse form,
# with CRLF line ends as on the wire.
sg() {
	local from=$1 subject=$2 text=$3 h
	shift 3
	{
		printf -- '--xYzZY\nContent-Disposition: form-data; name="headers"\n\n'
		printf 'MIME-Version: 1.0\nFrom: Some One <%s>\nDate: %s\n' "$from" "$DATE1"
		printf 'Message-ID: <%s@mail.example.net>\n' "$(msgid "$from" "$subject" "$text" "$@")"
		printf 'Subject: %s\nTo: Sales <sales@parse.seq.example.com>\n' "$subject"
		for h; do printf '%s\n' "$h"; done
		printf -- '\n--xYzZY\nContent-Disposition: form-data; name="from"\n\nSome One <%s>\n' "$from"
		printf -- '--xYzZY\nContent-Disposition: form-data; name="subject"\n\n%s\n' "$subject"
		printf -- '--xYzZY\nContent-Disposition: form-data; name="text"\n\n%s\n' "$text"
		printf -- '--xYzZY--\n'
	} | sed 's/$/\r/'
}

# spool DIR TIME < BODY: the file seq-hook leaves for a SendGrid inbound
# post received at TIME.
spool() {
	local n=0 t name
	[ ! -e spool.count ] || read -r n < spool.count
	n=$((n + 1))
	echo "$n" > spool.count
	mkdir -p "$1/new"
	t=$(epoch "$2")
	printf -v name '%d.%06d.%d.%016x.sendgrid-inbound' "$t" "$n" $$ "$n"
	{
		printf '{"provider":"sendgrid-inbound","received_at":%d,"content_type":"%s","query":null}\n' \
			"$t" "$FORM_TYPE"
		cat
	} > "$1/new/$name"
}

# world NAME[:ZONE]...: a lead NAME@example.com per name (in that time
# zone, if given), enrolled at T0 in "ooo" (hello, two days, follow; in
# Europe/Paris; a reply ends it), hello sent at T0.
world() {
	seq-def > /dev/null <<-'JSON'
	{"name":"ooo","timezone":"Europe/Paris","exit_on":["reply"],"steps":[
	 {"id":"hello","type":"email","subject":"Hello","text":"hello"},
	 {"id":"two-days","type":"wait","duration":"2d"},
	 {"id":"follow","type":"email","subject":"Following up","text":"again"}]}
	JSON
	local a name zone
	for a; do
		name=${a%%:*} zone=
		[ "$name" = "$a" ] || zone=${a#*:}
		jq -nc --arg n "$name" --arg z "$zone" \
			'{external_id: $n, email: "\($n)@example.com", first_name: $n}
			 + (if $z == "" then {} else {timezone: $z} end)'
	done | seq-lead > /dev/null
	for a; do printf '{"external_id":"%s"}\n' "${a%%:*}"; done |
		seq-enroll --sequence ooo --now "$T0" > /dev/null
	tick "$T0" > /dev/null
	assert_equal "$(sql "SELECT count(*) FROM sequence_executions WHERE state = 'sent'")" "$#"
}

# "name|status|resume_at" of every enrollment, by name
states() {
	sql "SELECT l.external_id, e.status, coalesce($(iso e.resume_at), '-')
		FROM enrollments e JOIN leads l ON l.id = e.lead_id ORDER BY 1"
}
# "name|type" of every event, by name
types() {
	sql "SELECT coalesce(l.external_id, '-'), v.type FROM events v
		LEFT JOIN leads l ON l.id = v.lead_id ORDER BY 1, v.id"
}
# seq-due at $1: "to step" of each job, then delivered
due() {
	run -0 --separate-stderr seq-due --now "$1"
	assert_equal "$stderr" ""
	JOBS=$(jq -r '"\(.to) \(.step)"' <<< "$output")
	[ -z "$output" ] || seq-send --now "$1" <<< "$output" | seq-log --now "$1" > /dev/null
}

@test "an automatic reply in each of seven languages pauses the enrollment, and seq-due resumes it at 09:00 of the return date it gives: the next step goes out then, not a second before" {
	world en:America/New_York de:Europe/Berlin fr es:Europe/Madrid pt:America/Sao_Paulo it nl:Europe/Amsterdam
	{
		pm en@example.com "Automatic reply: Hello" \
			"Thank you for your message. I am out of the office and will be back on December 3."
		pm fr@example.com "Réponse automatique : Hello" \
			$'Bonjour,\nje suis absent du bureau. De retour le 7 décembre.\nCordialement'
		pm pt@example.com "Resposta automática: Hello" \
			"Estou de férias. Retorno em 10 de dezembro de 2026."
		pm nl@example.com "Automatisch antwoord: Hello" \
			"Ik ben afwezig. Ik ben terug op 14 december."
	} > pm.ndjson
	sg de@example.com "Abwesenheitsnotiz: Hello" \
		"Vielen Dank für Ihre Nachricht. Ich bin ab dem 4. Dezember wieder im Büro." | spool sp "$T1"
	sg es@example.com "Fuera de la oficina: Hello" \
		$'Gracias por su mensaje.\nEstoy de vacaciones. Regreso el 9 de diciembre.' | spool sp "$T1"
	sg it@example.com "Risposta automatica: Hello" \
		"Sono fuori ufficio. Rientrerò il 11 dicembre." | spool sp "$T1"
	run -0 --separate-stderr seq-event --from postmark-inbound --now "$T1" < pm.ndjson
	assert_equal "$stderr" ""
	run -0 --separate-stderr seq-event --spool sp --now "$T1"
	assert_equal "$stderr" ""

	# an auto_reply, never a reply: the exit on reply does not fire
	assert_equal "$(sql "SELECT l.external_id, v.type, v.details ->> '$.autoreply',
		v.details ->> '$.language', v.details ->> '$.return_date', x.step
		FROM events v JOIN leads l ON l.id = v.lead_id
		JOIN sequence_executions x ON x.id = v.execution_id ORDER BY 1")" \
		"de|auto_reply|subject|de|2026-12-04|hello
en|auto_reply|subject|en|2026-12-03|hello
es|auto_reply|subject|es|2026-12-09|hello
fr|auto_reply|subject|fr|2026-12-07|hello
it|auto_reply|subject|it|2026-12-11|hello
nl|auto_reply|subject|nl|2026-12-14|hello
pt|auto_reply|subject|pt|2026-12-10|hello"
	# 09:00 in the lead's zone, else the sequence's (Paris)
	assert_equal "$(states)" "de|paused|2026-12-04T08:00:00Z
en|paused|2026-12-03T14:00:00Z
es|paused|2026-12-09T08:00:00Z
fr|paused|2026-12-07T08:00:00Z
it|paused|2026-12-11T08:00:00Z
nl|paused|2026-12-14T08:00:00Z
pt|paused|2026-12-10T12:00:00Z"

	# the two days of the wait end, and nothing goes
	due 2026-11-26T10:00:00Z
	assert_equal "$JOBS" ""

	local who t back n=7
	local order
	order=$(sql "SELECT l.external_id, e.resume_at FROM enrollments e
		JOIN leads l ON l.id = e.lead_id ORDER BY e.resume_at")
	while IFS='|' read -r who t; do
		due "$(at $((t - 1)))"
		assert_equal "$JOBS" ""
		assert_equal "$(sql "SELECT count(*) FROM enrollments WHERE status = 'paused'")" "$n"
		due "$(at "$t")"
		assert_equal "$JOBS" "$who@example.com follow"
		n=$((n - 1))
		assert_equal "$(sql "SELECT e.status, e.resume_at IS NULL, $(iso e.next_run_at) FROM enrollments e
			JOIN leads l ON l.id = e.lead_id WHERE l.external_id = '$who'")" "completed|1|"
		assert_equal "$(sql "SELECT count(*) FROM enrollments WHERE status = 'paused'")" "$n"
	done <<< "$order"
	assert_equal "$(sql "SELECT count(*) FROM sequence_executions WHERE step = 'follow' AND state = 'sent'")" 7

	# the timeline tells the pause, why and until when, and the return
	run -0 --separate-stderr seq-timeline --lead "$(sql "SELECT id FROM leads WHERE external_id = 'en'")"
	assert_equal "$(jq -r 'select(.kind == "event" or .what == "paused" or .what == "active")
		| [.at, .kind, .what, .details.reason // .details.details.return_date] | @tsv' <<< "$output")" \
		"$(printf '%s\t%s\t%s\t%s\n' \
			2026-12-03T14:00:00Z enrollment active "back from out-of-office" \
			2026-11-23T11:00:00Z enrollment paused \
			"out-of-office reply (event 1): back 2026-12-03; resumes 2026-12-03T14:00:00Z" \
			2026-11-23T11:00:00Z event auto_reply 2026-12-03 \
			2026-11-23T10:00:00Z enrollment active enrolled)"
	# and seq-stats counts no reply
	run -0 --separate-stderr seq-stats
	assert_equal "$(jq -r 'select(.record == "step" and .step == "hello") | .replied' <<< "$output")" "0"
}

@test "an automatic reply by its Auto-Submitted header, with no date in it, resumes 7 days after it was written; SEQ_OOO_DAYS=3 makes that 3" {
	world a b c
	pm a@example.com "Re: Hello" "Thanks for your note. I'm travelling with limited access to email." \
		'[{"Name": "Auto-Submitted", "Value": "auto-replied"}]' |
		seq-event --from postmark-inbound --now "$T1" > /dev/null
	sg b@example.com "Re: Hello" "I am travelling this week." "Auto-Submitted: auto-replied (vacation)" |
		spool sp "$T1"
	SEQ_OOO_DAYS=3 run -0 --separate-stderr seq-event --spool sp --now "$T1"
	assert_equal "$stderr" ""
	# a bad value is refused before anything is recorded
	pm c@example.com "Out of office" "Away." > c.json
	SEQ_OOO_DAYS=week run -4 --separate-stderr seq-event --from postmark-inbound --now "$T1" < c.json
	assert_equal "$stderr" "seq-event: SEQ_OOO_DAYS=week: not a whole number of days from 0 to 365"
	assert_equal "$(types)" "a|auto_reply
b|auto_reply"
	assert_equal "$(states)" "a|paused|2026-11-30T11:00:00Z
b|paused|2026-11-26T11:00:00Z
c|active|-"
	assert_equal "$(sql "SELECT l.external_id, c.reason FROM enrollment_changes c
		JOIN enrollments e ON e.id = c.enrollment_id JOIN leads l ON l.id = e.lead_id
		WHERE c.status = 'paused' ORDER BY 1")" \
		"a|out-of-office reply (event 1) with no return date: resumes 2026-11-30T11:00:00Z, 7 days after it
b|out-of-office reply (event 2) with no return date: resumes 2026-11-26T11:00:00Z, 3 days after it"

	due 2026-11-26T10:59:59Z
	assert_equal "$JOBS" "c@example.com follow"
	due 2026-11-26T11:00:00Z
	assert_equal "$JOBS" "b@example.com follow"
	due 2026-11-30T10:59:59Z
	assert_equal "$JOBS" ""
	due 2026-11-30T11:00:00Z
	assert_equal "$JOBS" "a@example.com follow"
	assert_equal "$(states)" "a|completed|-
b|completed|-
c|completed|-"
}

@test "the headers that tell: Auto-Submitted other than no, X-Autoreply, X-Autorespond, Precedence: auto_reply; Precedence: bulk and Auto-Submitted: no are a person's reply, which exits" {
	world h1 h2 h3 h4 h5 h6 h7 h8
	{
		pm h1@example.com "Re: Hello" "ok" '[{"Name": "X-Autoreply", "Value": "yes"}]'
		pm h3@example.com "Re: Hello" "ok" '[{"Name": "Precedence", "Value": "auto_reply"}]'
		pm h5@example.com "Re: Hello" "ok" '[{"Name": "Auto-Submitted", "Value": "no"}]'
		pm h8@example.com "Re: Hello" "ok" '[{"Name": "auto-submitted", "Value": "Auto-Notified"}]'
	} | seq-event --from postmark-inbound --now "$T1" > /dev/null
	sg h2@example.com "Re: Hello" "ok" "X-Autorespond: vacation" | spool sp "$T1"
	sg h4@example.com "Re: Hello" "ok" "Auto-Submitted: auto-generated" | spool sp "$T1"
	sg h6@example.com "Re: Hello" "ok" "Precedence: bulk" | spool sp "$T1"
	sg h7@example.com "Re: Hello" "ok" | spool sp "$T1"
	seq-event --spool sp --now "$T1" > /dev/null
	assert_equal "$(sql "SELECT l.external_id, v.type, coalesce(v.details ->> '$.autoreply', '-'), e.status
		FROM events v JOIN leads l ON l.id = v.lead_id JOIN enrollments e ON e.lead_id = l.id ORDER BY 1")" \
		"h1|auto_reply|X-Autoreply|paused
h2|auto_reply|X-Autorespond|paused
h3|auto_reply|Precedence|paused
h4|auto_reply|Auto-Submitted|paused
h5|reply|-|exited
h6|reply|-|exited
h7|reply|-|exited
h8|auto_reply|Auto-Submitted|paused"
}

@test "a person's reply still exits, also when the subject it answers speaks of absence; the next step never goes" {
	world r s t
	pm r@example.com "Re: Hello" "Yes, Thursday works for me." | seq-event --from postmark-inbound --now "$T1" > /dev/null
	pm s@example.com "Re: Out of office tools, automatic reply templates" \
		"We are back on December 3 and would like a demo then." |
		seq-event --from postmark-inbound --now "$T1" > /dev/null
	sg t@example.com "AW: Abwesenheitsnotiz und automatische Antwort" "Gerne, ab dem 3. Dezember." | spool sp "$T1"
	seq-event --spool sp --now "$T1" > /dev/null
	assert_equal "$(types)" "r|reply
s|reply
t|reply"
	assert_equal "$(states)" "r|exited|-
s|exited|-
t|exited|-"
	due 2026-12-04T10:00:00Z
	assert_equal "$JOBS" ""
}

@test "subjects: the words of each language before any Re:, in any case, with or without accents, are an automatic reply; after Re: or elsewhere they are not" {
	local s want got
	local -a auto=("Out of Office: Hello" "Automatic reply: Re: Hello" "AUTO-REPLY" "Autoreply: Hello"
		"OOO until Monday" "Abwesenheitsnotiz: Hello" "Automatische Antwort: AW: Hello" "NICHT IM BÜRO"
		"Nicht im Buero" "Absence du bureau" "Réponse automatique : RE: Hello" "REPONSE AUTOMATIQUE"
		"Fuera de la oficina: Hello" "Respuesta automática: RE: Hello" "Respuesta automatica"
		"Fora do escritório" "Resposta automática: RES: Hello" "Ausência: Hello"
		"Fuori ufficio: R: Hello" "Risposta automatica" "Afwezig: Hello" "Automatisch antwoord: Hello"
		"Niet aanwezig")
	local -a person=("Re: Hello" "RE: Out of office planning" "AW: Abwesenheitsnotiz" "Re : absence du bureau"
		"RES: Resposta automática" "R: Fuori ufficio" "Hello again" "Office move" "Autorenewal notice"
		"Fwd: Automatic reply settings")
	for s in "${auto[@]}" "${person[@]}"; do
		printf 'nobody@example.net\t%s\tThank you.\n' "$s"
	done | pms > in.ndjson
	run -0 --separate-stderr seq-event --from postmark-inbound --now "$T1" < in.ndjson
	got=$(jq -r '[.details.subject, .type] | @tsv' <<< "$output")
	want=$(for s in "${auto[@]}"; do printf '%s\tauto_reply\n' "$s"; done
		for s in "${person[@]}"; do printf '%s\treply\n' "$s"; done)
	assert_equal "$got" "$want"
}

@test "return dates: each language's phrases, numeric and ISO forms; a date without a year is the next one; a past date, one over a year ahead and the quoted original are not taken" {
	# subject, text, the return date wanted (- for none); written T1,
	# Monday 23 November 2026
	cat > table <<-'EOF'
	Automatic reply	I will be back on December 3.	2026-12-03
	Automatic reply	I return on 3 December 2026.	2026-12-03
	Automatic reply	I am away until 12/03/2026.	2026-12-03
	Automatic reply	Back 2026-12-03, then I will answer.	2026-12-03
	Automatic reply	Back on Thursday, Dec. 3rd, 2026.	2026-12-03
	Automatic reply	Out of the office through 12/3.	2026-12-03
	Abwesenheitsnotiz	Ich bin ab dem 3. Dezember wieder erreichbar.	2026-12-03
	Abwesenheitsnotiz	Ich bin zurück am 03.12.2026.	2026-12-03
	Abwesenheitsnotiz	Ich bin bis 03.12. nicht im Büro.	2026-12-03
	Abwesenheitsnotiz	RÜCKKEHR AM 3. DEZEMBER	2026-12-03
	Réponse automatique	Je serai de retour le 3 décembre.	2026-12-03
	Réponse automatique	Absent jusqu'au 03/12/2026.	2026-12-03
	Réponse automatique	Absent jusqu’au 1er décembre.	2026-12-01
	Respuesta automática	Regreso el 3 de diciembre de 2026.	2026-12-03
	Respuesta automática	Estaré fuera hasta el 3/12.	2026-12-03
	Resposta automática	Retorno em 3 de dezembro.	2026-12-03
	Resposta automática	Estarei ausente até 03/12/2026.	2026-12-03
	Risposta automatica	Rientrerò il 3 dicembre.	2026-12-03
	Risposta automatica	Sarò di ritorno il 3/12/2026.	2026-12-03
	Automatisch antwoord	Ik ben terug op 3 december.	2026-12-03
	Automatisch antwoord	Ik ben tot en met 3 december afwezig.	2026-12-03
	Out of office until 3.12.	Thank you.	2026-12-03
	Automatic reply	Back on January 5.	2027-01-05
	Automatic reply	I am away from 20 November until 3 December.	2026-12-03
	Automatic reply	I will answer on 30 November.	2026-11-30
	Automatic reply	I was away from 1 January 2026 to 5 January 2026.	-
	Automatic reply	Back on 2027-12-31.	-
	Automatic reply	Back on 31 February.	-
	Automatic reply	I am travelling.\n\nOn Mon, 30 Nov 2026 at 10:00, Sales <sales@seq.example.com> wrote:\n> hello	-
	Automatic reply	Away.\n-----Original Message-----\nSent: 1 December 2026	-
	Automatic reply	I have no date to give.	-
	EOF
	cut -f1,2 table | sed 's/^/nobody@example.net\t/' | pms > in.ndjson
	run -0 --separate-stderr seq-event --from postmark-inbound --now "$T1" < in.ndjson
	assert_equal "$stderr" ""
	assert_equal "$(jq -r '[.type, .details.return_date // "-"] | @tsv' <<< "$output")" \
		"$(cut -f3 table | sed 's/^/auto_reply\t/')"
}

@test "seq-enroll --resume ends an out-of-office pause at once; a pause by hand afterwards is never ended by seq-due; a second automatic reply moves the resume time" {
	world m n
	pm m@example.com "Out of office" "Back on December 3." | seq-event --from postmark-inbound --now "$T1" > /dev/null
	pm n@example.com "Out of office" "Back on December 3." | seq-event --from postmark-inbound --now "$T1" > /dev/null
	local m n
	m=$(sql "SELECT e.id FROM enrollments e JOIN leads l ON l.id = e.lead_id WHERE l.external_id = 'm'")
	n=$(sql "SELECT e.id FROM enrollments e JOIN leads l ON l.id = e.lead_id WHERE l.external_id = 'n'")
	run -0 --separate-stderr seq-enroll --resume --now 2026-11-24T09:00:00Z "$m"
	assert_equal "$(states)" "m|active|-
n|paused|2026-12-03T08:00:00Z"
	run -0 --separate-stderr seq-enroll --pause --now 2026-11-24T10:00:00Z "$m"
	# n writes again, later, from its phone: Dec 8
	sg n@example.com "Automatische Antwort: Hello" "Ich bin zurück am 08.12.2026." | spool sp 2026-11-25T10:00:00Z
	seq-event --spool sp --now 2026-11-25T10:00:00Z > /dev/null
	assert_equal "$(states)" "m|paused|-
n|paused|2026-12-08T08:00:00Z"
	assert_equal "$(sql "SELECT status, reason FROM enrollment_changes WHERE enrollment_id = $n ORDER BY id")" \
		"active|enrolled
paused|out-of-office reply (event 2): back 2026-12-03; resumes 2026-12-03T08:00:00Z
paused|out-of-office reply (event 3): back 2026-12-08; resumes 2026-12-08T08:00:00Z"
	due 2026-12-03T08:00:00Z
	assert_equal "$JOBS" ""
	due 2026-12-08T08:00:00Z
	assert_equal "$JOBS" "n@example.com follow"
	due 2027-01-01T00:00:00Z
	assert_equal "$(states)" "m|paused|-
n|completed|-"
}

@test "a sealed database: the automatic reply finds its lead by blind index, pauses and resumes the same" {
	export SEQ_DB="$BATS_TEST_TMPDIR/sealed.db"
	seq-init --key-file keys 2> /dev/null
	export SEQ_KEY_FILE="$BATS_TEST_TMPDIR/keys"
	world s:Europe/Berlin
	assert_equal "$(sql "SELECT email LIKE '%@%' FROM leads")" 0
	pm s@example.com "Abwesenheitsnotiz: Hello" "Ich bin ab dem 4. Dezember wieder im Büro. (s@example.com)" |
		seq-event --from postmark-inbound --now "$T1" > /dev/null
	assert_equal "$(states)" "s|paused|2026-12-04T08:00:00Z"
	assert_equal "$(sql "SELECT instr(details, 's@example.com') FROM events")" 0
	due 2026-12-04T07:59:59Z
	assert_equal "$JOBS" ""
	due 2026-12-04T08:00:00Z
	assert_equal "$JOBS" "s@example.com follow"
}

@test "seq-due's look for pauses that end uses the partial index, and changes nothing when none does" {
	world q
	due 2026-11-24T10:00:00Z
	assert_equal "$(sql "EXPLAIN QUERY PLAN SELECT id FROM enrollments WHERE resume_at <= 1 AND status = 'paused'
		ORDER BY resume_at, id" | grep -c 'USING INDEX enrollments_resume')" 1
	sql .dump > before.sql
	due 2026-11-24T11:00:00Z
	assert_equal "$JOBS" ""
	sql .dump > after.sql
	run diff before.sql after.sql
	assert_success
}
