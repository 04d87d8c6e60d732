#!/usr/bin/env bats
# The smtp adapter against a real mail server: OpenSMTPD, private to each
# test (smtpd.bash), delivering every recipient into one maildir.  What
# arrives is read back with python's email package and compared with the
# jobs seq-due wrote.

load test_helper
load smtpd
setup() { common_setup; init_db; }
teardown() { smtpd_stop; }

T0=2026-11-23T10:00:00Z

# "rich": HTML and text, from the sequence's own sender, with the text
# and HTML that quoted-printable and SMTP's dot-stuffing must carry
# unchanged.  "plain": text only, from SEQ_EMAIL_FROM, with a subject
# of ASCII that is sent as it is, unless it holds what reads as an encoded
# word.
sequences() {
	# jq, not python: python takes seconds to start on a busy machine
	jq -n '([range(250) | "word\(.)"] | join(" ")) as $words | {
		name: "rich", from: {email: "sales@example.com"},
		steps: [{id: "hello", type: "email",
			subject: "Café crème for {{first_name}} 😀 — déjà vu, naïve façade, smörgåsbord and jalapeño piñata",
			text: (".starts with a dot\r\n"	# CRLF in the source
				+ "..two dots\n"	# lone LF
				+ ".\n"		# a line that would end DATA
				+ "trailing spaces   \n"
				+ "trailing tab\t\n"
				+ "\ttab\tinside = equals =20 not a code\n"
				+ $words + "\n"	# one line of ~1900 octets
				+ ("é" * 600) + "\n"	# 1200 octets, every one encoded
				+ "emoji 😀 café {{first_name}}\n"
				+ "last line, no newline, trailing space "),
			html: ("<p>Hi {{first_name}} 😀</p>\r\n"
				+ ".<b>dot</b>  \n"
				+ "<p>" + $words + "</p>\n")}]}' > rich.json
	seq-def rich.json > /dev/null
	plain_sequence
}

plain_sequence() {
	cat > plain.json <<-'JSON'
	{"name":"plain","steps":[{"id":"note","type":"email",
	 "subject":"A plain ASCII subject that runs well past seventy-five characters, {{first_name}}",
	 "text":"Just text, {{first_name}}.\nSecond line."}]}
	JSON
	seq-def plain.json > /dev/null
}

# check_mail EXPECT MAILDIR: every job of EXPECT (seq-due's lines, each
# with _from: the SEQ_EMAIL_FROM it went out under) delivered exactly once
# and whole; prints what differs and fails otherwise.
check_mail() {
	python3 - "$@" <<-'PY'
	import datetime, email, email.policy, json, os, sys
	expect, maildir = sys.argv[1], sys.argv[2]
	jobs = [json.loads(l) for l in open(expect, encoding="utf-8") if l.strip()]
	problems = []
	def bad(key, what, got, want):
	    problems.append("%s: %s: got %r, want %r" % (key, what, got, want))
	# "Name <addr>" as SEQ_EMAIL_FROM takes it: everything before the
	# last "<" is the name, unquoted (parseaddr would stop at a comma)
	def name_addr(s):
	    if "<" not in s:
	        return "", s
	    name, addr = s.rsplit("<", 1)
	    name = name.strip()
	    if len(name) >= 2 and name[0] == name[-1] == '"':
	        name = name[1:-1]
	    return name, addr.rstrip(">")
	got = {}
	for sub in ("new", "cur"):
	    d = os.path.join(maildir, sub)
	    for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
	        raw = open(os.path.join(d, name), "rb").read()
	        msg = email.message_from_bytes(raw, policy=email.policy.default)
	        got.setdefault(str(msg.get("X-Seq-Key")), []).append((raw, msg))
	keys = {j["key"] for j in jobs}
	for k, msgs in got.items():
	    if k not in keys:
	        problems.append("%d message(s) with X-Seq-Key %s, which no job has" % (len(msgs), k))
	now = datetime.datetime.now(datetime.timezone.utc)
	def check(j, raw, msg):
	    k = j["key"]
	    for h in ("Date", "From", "To", "Subject", "Message-ID", "X-Seq-Key", "MIME-Version"):
	        n = len(msg.get_all(h) or [])
	        if n != 1:
	            bad(k, "number of %s headers" % h, n, 1)
	    want_name, want_addr = name_addr(j.get("from") or j["_from"])
	    frm = msg["From"].addresses
	    if [(a.display_name, a.addr_spec) for a in frm] != [(want_name, want_addr)]:
	        bad(k, "From", [(a.display_name, a.addr_spec) for a in frm], [(want_name, want_addr)])
	    to = [a.addr_spec for a in msg["To"].addresses]
	    if to != [j["to"]]:
	        bad(k, "To", to, [j["to"]])
	    if str(msg["Subject"]) != j["subject"]:
	        bad(k, "Subject", str(msg["Subject"]), j["subject"])
	    # the one seq-due named: of the job's sender, else seqtools.invalid
	    want_id = "<%s@%s>" % (k, name_addr(j["from"])[1].rsplit("@", 1)[1] if j.get("from") else "seqtools.invalid")
	    if j["headers"].get("Message-ID") != want_id:
	        bad(k, "the job's Message-ID", j["headers"].get("Message-ID"), want_id)
	    if msg["Message-ID"] != want_id:
	        bad(k, "Message-ID", msg["Message-ID"], want_id)
	    if msg["X-Seq-Key"] != j["headers"]["X-Seq-Key"]:
	        bad(k, "X-Seq-Key", msg["X-Seq-Key"], j["headers"]["X-Seq-Key"])
	    date = msg["Date"].datetime
	    if date is None or date.tzinfo is None or abs((now - date).total_seconds()) > 600:
	        bad(k, "Date (within 10 minutes of now)", msg["Date"], now.isoformat())
	    if msg["MIME-Version"] != "1.0":
	        bad(k, "MIME-Version", msg["MIME-Version"], "1.0")
	    # line ends travel as CRLF and are stored as LF
	    want_parts = [("text/plain", j["text"].replace("\r\n", "\n"))]
	    if j.get("html"):
	        want_parts.append(("text/html", j["html"].replace("\r\n", "\n")))
	        if msg.get_content_type() != "multipart/alternative":
	            bad(k, "Content-Type", msg.get_content_type(), "multipart/alternative")
	        parts = list(msg.iter_parts())
	    else:
	        parts = [msg]
	    if [p.get_content_type() for p in parts] != [t for t, _ in want_parts]:
	        bad(k, "parts", [p.get_content_type() for p in parts], [t for t, _ in want_parts])
	        return
	    for p, (t, want) in zip(parts, want_parts):
	        if p.get_content_charset() != "utf-8":
	            bad(k, t + " charset", p.get_content_charset(), "utf-8")
	        if p["Content-Transfer-Encoding"] != "quoted-printable":
	            bad(k, t + " Content-Transfer-Encoding", p["Content-Transfer-Encoding"], "quoted-printable")
	        if p.get_content() != want:
	            bad(k, t + " content", p.get_content(), want)
	    head, _, body = raw.partition(b"\n\n")
	    for line in head.split(b"\n"):
	        # RFC 2047 section 2: at most 76 on a line with an encoded word
	        limit = 76 if b"=?" in line else 998
	        if len(line) > limit:
	            bad(k, "a header line of %d octets" % len(line), line[:60], "at most %d" % limit)
	    for line in body.split(b"\n"):
	        if len(line) > 76 or any(c > 126 for c in line):
	            bad(k, "a body line", line[:80], "at most 76 octets of ASCII")
	            break
	for j in jobs:
	    msgs = got.get(j["key"], [])
	    if len(msgs) != 1:
	        problems.append("%s: delivered %d times" % (j["key"], len(msgs)))
	        continue
	    try:
	        check(j, *msgs[0])
	    except Exception as e:
	        # a header python cannot parse is a finding, not a crash
	        problems.append("%s: %s: %s" % (j["key"], type(e).__name__, e))
	print("\n".join(problems) if problems else "%d messages, as sent" % len(jobs))
	sys.exit(1 if problems else 0)
	PY
}

# send_live FROM JOBS: seq-send --live to the test's server, under
# SEQ_EMAIL_FROM=FROM; appends the results to results, and the jobs with
# _from to expect.
send_live() {
	local from=$1 jobs=$2
	SEQ_EMAIL_ADAPTER=smtp SEQ_SMTP_URL=$SMTPD_URL SEQ_EMAIL_FROM=$from \
		seq-send --live --now $T0 < "$jobs" >> results
	jq -c --arg f "$from" '._from = $f' "$jobs" >> expect
}

@test "smtp: messages arrive whole, once each: headers, UTF-8 subjects, multipart and text-only bodies" {
	smtpd_need
	smtpd_start
	sequences
	leads '{"external_id":"ann","email":"ann@example.com","first_name":"Ann"}' \
		'{"external_id":"bob","email":"bob@example.org","first_name":"Bøb"}' \
		'{"external_id":"cy","email":"cy@example.net","first_name":"Cy"}' \
		'{"external_id":"dee","email":"dee@example.net","first_name":"=?UTF-8?Q?Dee?="}'
	enroll rich $T0 ann bob
	enroll plain $T0 cy dee
	seq-due --now $T0 > jobs
	assert_equal "$(wc -l < jobs)" 4
	# a display name in UTF-8, and one in ASCII that needs quoting
	jq -c 'select(.to != "dee@example.net")' jobs > jobs1
	jq -c 'select(.to == "dee@example.net")' jobs > jobs2
	send_live 'Sälj Téam 😀 <team@example.net>' jobs1
	send_live 'Example, Inc. <team@example.net>' jobs2
	smtpd_wait_delivered

	run check_mail expect "$SMTPD_MAIL"
	assert_success
	assert_output "4 messages, as sent"
	assert_equal "$(smtpd_messages | wc -l)" 4
	# the result: sent by smtp, the Message-ID as provider id
	assert_equal "$(jq -r '[.key, .status, .adapter, .provider_id, .http_status, .error] | @tsv' results | sort)" \
		"$(jq -r '[.key, "sent", "smtp", .headers["Message-ID"], 250, null] | @tsv' jobs1 jobs2 | sort)"

	# recorded and fed again: seq-send does not even connect (smtpd logs
	# a connection before it greets, and libcurl waits for the greeting)
	local connections
	connections=$(grep -c ' smtp connected ' "$SMTPD_LOG")
	seq-log --now $T0 < results > /dev/null
	run --separate-stderr env SEQ_EMAIL_ADAPTER=smtp SEQ_SMTP_URL=$SMTPD_URL SEQ_EMAIL_FROM=x@example.net \
		seq-send --live --now $T0 < jobs
	assert_success
	assert_output ""
	assert_equal "${#stderr_lines[@]}" 4
	assert_regex "${stderr_lines[0]}" '^seq-send: line 1: execution [0-9]+ is sent, not claimed; not sent$'
	assert_equal "$(grep -c ' smtp connected ' "$SMTPD_LOG")" "$connections"
	assert_equal "$(grep -c ' smtp envelope ' "$SMTPD_LOG")" 4
	assert_equal "$(smtpd_messages | wc -l)" 4

	# the checker itself notices a changed body, a changed header and a
	# message delivered twice (all at once: python is slow to start)
	local cy dee
	cp -r "$SMTPD_MAIL" m
	key() { jq -r --arg to "$1" 'select(.to == $to) | .key' jobs; }
	cy=$(grep -l "^X-Seq-Key: $(key cy@example.net)\$" m/new/*)
	dee=$(grep -l "^X-Seq-Key: $(key dee@example.net)\$" m/new/*)
	sed -i 's/^X-Seq-Key: \(.*\)/X-Seq-Key: \1x/' "$cy"
	cp "$dee" m/new/copy
	sed -i 's/=F0=9F=98=80/=F0=9F=98=81/' m/new/*
	sed -i 's/^<p>Hi/<p>Hey/' "$(grep -l "^X-Seq-Key: $(key ann@example.com)\$" m/new/*)"
	run check_mail expect m
	assert_failure
	assert_line "1 message(s) with X-Seq-Key $(key cy@example.net)x, which no job has"
	assert_line "$(key cy@example.net): delivered 0 times"
	assert_line "$(key dee@example.net): delivered 2 times"
	assert_line --regexp "^$(key ann@example.com): text/plain content: got .*emoji 😁 café Ann"
	assert_line --regexp "^$(key ann@example.com): text/html content: got '<p>Hey Ann 😁"
	assert_line --regexp "^$(key bob@example.org): text/plain content: "
	assert_equal "${#lines[@]}" 7
}

@test "smtp: a recipient refused for good is failed with the server's reply; one refused for now is retry" {
	smtpd_need
	SMTPD_REFUSE="gone@example.com" \
		SMTPD_REFUSE_REPLY="550 5.1.1 gone@example.com: no mailbox by that name here" \
		SMTPD_DEFER="later@example.com" \
		SMTPD_DEFER_REPLY="451 4.7.1 later@example.com: greylisted, come back soon" \
		smtpd_start
	plain_sequence
	leads '{"external_id":"gone","email":"gone@example.com","first_name":"G"}' \
		'{"external_id":"later","email":"later@example.com","first_name":"L"}' \
		'{"external_id":"ok","email":"ok@example.com","first_name":"O"}'
	enroll plain $T0 gone later ok
	seq-due --now $T0 > jobs
	run --separate-stderr env SEQ_EMAIL_ADAPTER=smtp SEQ_SMTP_URL=$SMTPD_URL SEQ_EMAIL_FROM=team@example.net \
		seq-send --live --retry-for 2s --now $T0 < jobs
	assert_failure 1
	assert_equal "$stderr" ""
	assert_equal "$(jq -r '[.to, .status, .provider_id, .http_status, .error] | @tsv' <<< "$output" | sort)" \
		"gone@example.com	failed		550	SMTP 550 5.1.1 gone@example.com: no mailbox by that name here
later@example.com	retry		451	SMTP 451 4.7.1 later@example.com: greylisted, come back soon
ok@example.com	sent	<$(jq -r 'select(.to == "ok@example.com") | .key' jobs)@seqtools.invalid>	250	"
	smtpd_wait_delivered
	assert_equal "$(smtpd_messages | wc -l)" 1
	jq -c 'select(.to == "ok@example.com") | ._from = "team@example.net"' jobs > expect
	run check_mail expect "$SMTPD_MAIL"
	assert_success
	# the server's own account: one refusal, and the greylisted
	# recipient asked at least twice within --retry-for
	assert_equal "$(grep -c 'failed-command command="RCPT TO:<gone@example.com>"' "$SMTPD_LOG")" 1
	run grep -c 'failed-command command="RCPT TO:<later@example.com>"' "$SMTPD_LOG"
	assert [ "$output" -ge 2 ]
}

@test "smtp: a server that is not listening is retry, with an error that names it" {
	plain_sequence
	leads '{"external_id":"ann","email":"ann@example.com","first_name":"Ann"}'
	enroll plain $T0 ann
	seq-due --now $T0 > jobs
	local port
	port=$(smtpd_free_port)
	SECONDS=0
	run --separate-stderr env SEQ_EMAIL_ADAPTER=smtp SEQ_SMTP_URL=smtp://127.0.0.1:$port SEQ_EMAIL_FROM=team@example.net \
		seq-send --live --retry-for 1s --connect-timeout 1s --now $T0 < jobs
	assert_success
	assert [ "$SECONDS" -lt 10 ]
	assert_equal "$stderr" ""
	assert_equal "$(jq -r '[.status, .adapter, .provider_id, .http_status] | @tsv' <<< "$output")" "retry	smtp		"
	assert_equal "$(jq -r .error <<< "$output")" "smtp://127.0.0.1:$port: Couldn't connect to server"
}
