#!/usr/bin/env bats
# Email unsubscribe: every email job carries List-Unsubscribe with an HTTPS
# link and a mailto, and List-Unsubscribe-Post (RFC 8058); {{unsubscribe_url}}
# puts the same link in the text and the html.  The link's token names the
# message, the lead and the channel and says until when it works, under an
# HMAC of SEQ_UNSUBSCRIBE_SECRET.  seq-hook, run by lighttpd as a deployment
# runs it (lighttpd.bash), takes the one-click POST of a right, unexpired
# token and spools it; seq-event makes it an opt-out; the next cron tick
# sends that lead no more email.  A GET shows a page with the button and
# spools nothing.  Anything else is refused, and nothing is spooled.

load test_helper
load lighttpd

HOOK_BIN="$(cd "$SEQ_BIN" 2> /dev/null && pwd || echo "$SEQ_BIN")/seq-hook"

T0=2026-11-23T10:00:00Z
SECRET=Qm7Vx2Lp9Rt4Wz8Kc3Nd
BASE='https://hooks.example.com/hook/unsubscribe?list=u'
MAILTO='unsub+u@lists.example.com'
NOT_MATCHED="the token does not match"
MALFORMED="the token is not KEY.LEAD.CHANNEL.EXPIRES.MAC"

setup() {
	common_setup
	unset SEQ_SPOOL SEQ_UNSUBSCRIBE_URL SEQ_UNSUBSCRIBE_SECRET \
		SEQ_UNSUBSCRIBE_MAILTO SEQ_UNSUBSCRIBE_TTL
	init_db
	SPOOL="$BATS_TEST_TMPDIR/spool"
	shopt -s nullglob
	seq-def > /dev/null <<-'JSON'
	{"name":"u","steps":[
	 {"id":"a","type":"email","subject":"Hello {{first_name|there}}",
	  "text":"Hi {{first_name|there}}.\nNo more of these: {{ unsubscribe_url }}\n",
	  "html":"<p>Hi {{first_name|there}}.</p><p><a href=\"{{unsubscribe_url}}\">Unsubscribe</a></p>"},
	 {"id":"w","type":"wait","duration":"1d"},
	 {"id":"b","type":"email","subject":"Again","text":"Still there? {{unsubscribe_url}}"}]}
	JSON
}

teardown() { lighttpd_stop; }

# at SECONDS: T0 plus SECONDS, RFC 3339
at() { TZ=UTC printf '%(%Y-%m-%dT%H:%M:%SZ)T\n' $(($(epoch "$T0") + $1)); }

configure() {
	export SEQ_UNSUBSCRIBE_URL=$BASE SEQ_UNSUBSCRIBE_SECRET=$SECRET \
		SEQ_UNSUBSCRIBE_MAILTO=$MAILTO
}

# people NAME...: a lead each, NAME@example.com, enrolled in u at T0.
people() {
	local name
	for name in "$@"; do
		printf '{"external_id":"%s","email":"%s@example.com","first_name":"%s"}\n' \
			"$name" "$name" "${name^}"
	done | seq-lead > /dev/null
	enroll u "$T0" "$@"
}

# claim TIME: a cron tick at TIME, its jobs kept in jobs as well.
claim() {
	seq-due --now "$1" | tee -a jobs | seq-send --now "$1" | seq-log --now "$1" > /dev/null
}

# link NAME [FILE]: the HTTPS link of NAME's first job in FILE (jobs).
link() {
	jq -r --arg to "$1@example.com" 'select(.to == $to) | .headers["List-Unsubscribe"]' "${2:-jobs}" |
		sed -n '1s/^<\(https:[^>]*\)>.*/\1/p'
}

# token NAME [FILE]: its token.
token() {
	local l
	l=$(link "$@")
	printf '%s\n' "${l##*t=}"
}

# The HTTPS link, sent to the local server instead.
local_url() { printf '%s\n' "${1/https:\/\/hooks.example.com/$LIGHTTPD_URL}"; }

hook_server() {
	lighttpd_start /hook "$HOOK_BIN" "SEQ_SPOOL=$SPOOL" \
		"SEQ_UNSUBSCRIBE_SECRET=$SECRET" "$@"
}

# req METHOD QUERY [curl option...]: prints the status; the answer's
# headers and body in headers and body.
req() {
	local method=$1 query=$2
	shift 2
	curl -sS --noproxy '*' --max-time 10 -H 'Expect:' -X "$method" \
		-o body -D headers -w '%{http_code}\n' "$@" \
		"$LIGHTTPD_URL/hook/unsubscribe?$query"
}

# one_click QUERY [curl option...]: the POST of RFC 8058, URL-encoded, as
# Gmail sends it.
one_click() {
	local query=$1
	shift
	req POST "$query" -H 'Content-Type: application/x-www-form-urlencoded' \
		--data-binary List-Unsubscribe=One-Click "$@"
}

spooled() {
	local f=("$SPOOL"/new/*)
	echo ${#f[@]}
}

# No sanitizer report in the server's log, and the server still up.
assert_log_clean() {
	run grep -E 'Sanitizer|runtime error:' "$LIGHTTPD_LOG"
	assert_failure 1
	lighttpd_alive
}

# The reasons seq-hook gave in the server's log, one a line.
reasons() {
	sed -n 's/^seq-hook: unsubscribe: 401 Unauthorized: \(.*\) (from 127\.0\.0\.1)$/\1/p' "$LIGHTTPD_LOG"
}

@test "every email job carries the HTTPS link and the mailto, and List-Unsubscribe-Post; {{unsubscribe_url}} is the same link in text and html" {
	configure
	people ann bob
	seq-due --now "$T0" > jobs
	local name lead key tok l exp
	exp=$(($(epoch "$T0") + 90 * 86400))
	for name in ann bob; do
		lead=$(sql "SELECT id FROM leads WHERE external_id = '$name'")
		key=$(jq -r --arg to "$name@example.com" 'select(.to == $to) | .key' jobs)
		tok=$(token $name)
		l=$(link $name)
		# KEY.LEAD.email.EXPIRES.MAC: 90 days from the claim by default
		assert_regex "$tok" "^${key//./\\.}\\.$lead\\.email\\.$exp\\.[A-Za-z0-9_-]{24}$"
		assert_equal "$l" "$BASE&t=$tok"
		run jq -r --arg to "$name@example.com" 'select(.to == $to) |
			[.headers["List-Unsubscribe"], .headers["List-Unsubscribe-Post"], .text, .html] | @tsv' jobs
		# the + of the address is percent-encoded (RFC 6068); the html
		# has the link HTML-escaped, as every value put in it
		assert_output "$(printf '<%s>, <mailto:unsub%%2Bu@lists.example.com?subject=unsubscribe%%20%s>\tList-Unsubscribe=One-Click\tHi %s.\\nNo more of these: %s\\n\t<p>Hi %s.</p><p><a href="%s">Unsubscribe</a></p>' \
			"$l" "$tok" "${name^}" "$l" "${name^}" "${l//&/&amp;}")"
	done
	# each message its own token
	[ "$(token ann)" != "$(token bob)" ]
	seq-send --now "$T0" < jobs | seq-log --now "$T0" > /dev/null
	# SEQ_UNSUBSCRIBE_TTL sets how long a link works
	SEQ_UNSUBSCRIBE_TTL=6w seq-due --now "$(at 86400)" > jobs2
	assert_equal "$(jq -r .step jobs2 | sort -u)" b
	for name in ann bob; do
		assert_regex "$(token $name jobs2)" "\\.email\\.$(($(epoch "$T0") + 86400 + 42 * 86400))\\.[A-Za-z0-9_-]{24}$"
		assert_equal "$(jq -r --arg to "$name@example.com" 'select(.to == $to) | .text' jobs2)" "Still there? $(link $name jobs2)"
	done
	# without SEQ_UNSUBSCRIBE_MAILTO, the HTTPS link alone
	people cat
	unset SEQ_UNSUBSCRIBE_MAILTO
	seq-due --now "$(at 86400)" > jobs3
	assert_equal "$(jq -r '.headers["List-Unsubscribe"]' jobs3)" "<$(link cat jobs3)>"
}

@test "a one-click POST through lighttpd is spooled; after seq-event the next tick sends that lead no more email, and the others theirs" {
	configure
	export SEQ_MOCK_LOG=$BATS_TEST_TMPDIR/sent.ndjson
	people ann bob cat dan
	tick "$T0" > /dev/null
	# all four had step a, each with its own link
	assert_equal "$(jq -r '[.to, .step] | @tsv' sent.ndjson | sort | paste -sd ' ')" \
		"$(printf 'ann@example.com\ta bob@example.com\ta cat@example.com\ta dan@example.com\ta')"
	jq -c 'select(.step == "a")' sent.ndjson > jobs
	hook_server "SEQ_NOW=$(at 600)"
	local q
	# ann: Gmail's one-click POST, URL-encoded
	q=$(link ann)
	assert_equal "$(one_click "${q#*\?}")" 204
	[ ! -s body ]
	# cat: multipart/form-data, as RFC 8058 says a receiver should send it
	q=$(link cat)
	assert_equal "$(req POST "${q#*\?}" -F List-Unsubscribe=One-Click)" 204
	run grep -l '"content_type":"multipart/form-data; boundary=' "$SPOOL"/new/*
	assert_equal "${#lines[@]}" 1
	# dan: the page of the link, opened in a browser, then its button
	q=$(link dan)
	assert_equal "$(req GET "${q#*\?}" -H 'Accept: text/html')" 200
	assert_equal "$(spooled)" 2
	assert_equal "$(one_click "${q#*\?}" -H 'Accept: text/html,application/xhtml+xml')" 200
	grep -q 'You are unsubscribed' body
	assert_equal "$(spooled)" 3
	assert_equal "$(reasons)" ""
	assert_log_clean

	run --separate-stderr seq-event --now "$(at 660)" --spool "$SPOOL"
	assert_success
	assert_equal "$(jq -r '[.provider, .type, .channel, .lead_id] | @tsv' <<< "$output" | sort)" \
		"$(printf 'unsubscribe\tunsubscribe\temail\t%s\n' 1 3 4)"
	assert_equal "$(sql "SELECT lead_id, channel, state, source FROM consent ORDER BY lead_id")" \
		"1|email|opt-out|unsubscribe:unsubscribe
3|email|opt-out|unsubscribe:unsubscribe
4|email|opt-out|unsubscribe:unsubscribe"
	assert_equal "$(spooled)" 0

	# the next tick after the wait: step b to bob alone
	: > sent.ndjson
	tick "$(at 86460)" > /dev/null
	assert_equal "$(jq -r '[.to, .step] | @tsv' sent.ndjson)" "$(printf 'bob@example.com\tb')"
	assert_equal "$(sql "SELECT l.external_id, x.state, coalesce(x.error, '-') FROM sequence_executions x
		JOIN leads l ON l.id = x.lead_id WHERE x.step = 'b' ORDER BY l.external_id")" \
		"ann|skipped|opted out of email
bob|sent|-
cat|skipped|opted out of email
dan|skipped|opted out of email"
}

@test "refused 401, nothing spooled: each part of a token changed, cut short or padded with dots, another secret's, no token or two, a wrong body" {
	configure
	people ann bob
	seq-due --now "$T0" > jobs
	hook_server "SEQ_NOW=$(at 600)"
	local tok key lead exp mac rest other flip
	tok=$(token ann)
	mac=${tok##*.}
	rest=${tok%.*}
	exp=${rest##*.}
	rest=${rest%.*.*}
	lead=${rest##*.}
	key=${rest%.*}
	assert_equal "$key.$lead.email.$exp.$mac" "$tok"
	flip=${mac:0:5}$([ "${mac:5:1}" = A ] && echo B || echo A)${mac:6}
	other=$(printf '%s' "$key.$lead.email.$exp" | openssl dgst -sha256 -hmac "${SECRET}x" -binary |
		head -c 18 | base64 | tr '+/' '-_')
	local -a bad=(
		"$NOT_MATCHED|${key%.*}.2.$lead.email.$exp.$mac"
		"$NOT_MATCHED|$([ "${key:0:1}" = 0 ] && echo 1 || echo 0)${key#?}.$lead.email.$exp.$mac"
		"$NOT_MATCHED|$key.$((lead + 1)).email.$exp.$mac"
		"$NOT_MATCHED|$key.$lead.sms.$exp.$mac"
		"$NOT_MATCHED|$key.$lead.email.$((exp + 86400)).$mac"
		"$NOT_MATCHED|$key.$lead.email.$((exp - 1)).$mac"
		"$NOT_MATCHED|$key.$lead.email.$exp.$flip"
		"$NOT_MATCHED|$key.$lead.email.$exp.${mac^^}"
		"$NOT_MATCHED|$key.$lead.email.$exp.$other"
		"$NOT_MATCHED|${key/./..}.$lead.email.$exp.$mac"
		"$MALFORMED|$key.$lead.email.$exp.${mac%?}"
		"$MALFORMED|$key.$lead.email.$exp"
		"$MALFORMED|$key.$lead.email.$exp."
		"$MALFORMED|$tok."
		"$MALFORMED|.$tok"
		"$MALFORMED|$key.$lead..email.$exp.$mac"
		"$MALFORMED|$key.$lead.email..$exp.$mac"
		"$MALFORMED|$key.0$lead.email.$exp.$mac"
		"$MALFORMED|$key.$lead.fax.$exp.$mac"
		"$MALFORMED|$key.$lead.email.$exp.$mac%3D"
		"$MALFORMED|"
	)
	local b want=() q
	for b in "${bad[@]}"; do
		[ "${b#*|}" != "$tok" ]
		assert_equal "$(one_click "list=u&t=${b#*|}")" 401
		want+=("${b%%|*}")
	done
	assert_equal "$(one_click "list=u")" 401
	assert_equal "$(one_click "t=$tok&list=u&t=$tok")" 401
	want+=("no t= token, or more than one, in the query" "no t= token, or more than one, in the query")
	for b in List-Unsubscribe=One-Clicks list-unsubscribe=one-click Unsubscribe ""; do
		assert_equal "$(req POST "t=$tok" --data-binary "$b")" 401
		want+=("the body is not List-Unsubscribe=One-Click")
	done
	assert_equal "$(reasons)" "$(printf '%s\n' "${want[@]}")"
	assert_equal "$(spooled)" 0
	# the same server takes the right one, and a token made as
	# seq-hook(1) says, under the right secret
	assert_equal "$(one_click "t=$tok")" 204
	tok=$(token bob)
	mac=$(printf '%s' "${tok%.*}" | openssl dgst -sha256 -hmac "$SECRET" -binary | head -c 18 | base64 | tr '+/' '-_')
	assert_equal "$mac" "${tok##*.}"
	assert_equal "$(spooled)" 1
	assert_log_clean
}

@test "an expired token is refused 401 on POST and GET, one at its last second is taken; SEQ_NOW or the clock says when" {
	configure
	people ann
	printf '{"external_id":"old","email":"old@example.com"}\n' | seq-lead > /dev/null
	enroll u "$(at -1)" old
	# old claimed a second before ann: its link ends a second sooner
	claim "$(at -1)"
	claim "$T0"
	local old ann end
	old=$(link old)
	ann=$(link ann)
	end=$(($(epoch "$T0") + 90 * 86400))
	hook_server "SEQ_NOW=$(TZ=UTC printf '%(%Y-%m-%dT%H:%M:%SZ)T' $end)"
	assert_equal "$(one_click "${old#*\?}")" 401
	assert_equal "$(req GET "${old#*\?}")" 401
	assert_equal "$(reasons | sort -u)" "the token expired at $(TZ=UTC printf '%(%Y-%m-%dT%H:%M:%SZ)T' $((end - 1)))"
	assert_equal "$(spooled)" 0
	assert_equal "$(one_click "${ann#*\?}")" 204
	assert_equal "$(spooled)" 1
	# lighttpd_kill's last kill fails when TERM was enough
	lighttpd_stop || true
	# without SEQ_NOW, the clock: a link of a message claimed in 2020 is
	# over, one claimed now is not
	rm -rf "$SPOOL"
	local now
	now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	printf '{"external_id":"%s","email":"%s@example.com"}\n' past past fresh fresh | seq-lead > /dev/null
	enroll u 2020-01-01T00:00:00Z past
	enroll u "$now" fresh
	claim 2020-01-01T00:00:00Z
	claim "$now"
	old=$(link past)
	ann=$(link fresh)
	hook_server
	assert_equal "$(one_click "${old#*\?}")" 401
	assert_equal "$(reasons | tail -n 1)" "the token expired at 2020-03-31T00:00:00Z"
	assert_equal "$(spooled)" 0
	assert_equal "$(one_click "${ann#*\?}")" 204
	assert_equal "$(spooled)" 1
}

@test "GET of a link shows a page whose one button posts the one-click body, and spools nothing; HEAD the same headers; a bad token 401" {
	configure
	people ann
	seq-due --now "$T0" > jobs
	hook_server "SEQ_NOW=$(at 600)"
	local q
	q=$(link ann)
	q=${q#*\?}
	assert_equal "$(req GET "$q")" 200
	grep -qix $'Content-Type: text/html; charset=utf-8\r' headers
	grep -qix $'Content-Security-Policy: default-src \'none\'; form-action \'self\'; frame-ancestors \'none\'\r' headers
	grep -qix $'Referrer-Policy: no-referrer\r' headers
	grep -qix $'Cache-Control: no-store\r' headers
	# a form with no action posts to the page's own URL, t= and all; the
	# body a browser sends for it is List-Unsubscribe=One-Click
	grep -qF '<form method="post">' body
	grep -qF '<input type="hidden" name="List-Unsubscribe" value="One-Click">' body
	grep -qF '<button type="submit">Unsubscribe</button>' body
	assert_equal "$(grep -c '<form' body) $(grep -c '<button' body)" "1 1"
	# nothing that runs, nothing fetched
	run grep -Eic '<script|<link|<img|<iframe|<style|src=|href=|action=|url\(|[[:space:]]on[a-z]+=' body
	assert_output 0
	cp body page
	assert_equal "$(req HEAD "$q")" 200
	[ ! -s body ]
	grep -qix $'Content-Type: text/html; charset=utf-8\r' headers
	# followed by scanners and previewers: nothing spooled, nothing logged
	assert_equal "$(req GET "$q")" 200
	cmp body page
	assert_equal "$(spooled)" 0
	assert_equal "$(reasons)" ""
	# a bad token: 401 and a short plain page
	assert_equal "$(req GET "${q%?}x")" 401
	grep -qix $'Content-Type: text/plain\r' headers
	assert_equal "$(cat body)" "401 Unauthorized
This unsubscribe link is not valid, or it has expired."
	assert_equal "$(req HEAD "${q%?}x")" 401
	[ ! -s body ]
	assert_equal "$(req GET "list=u")" 401
	assert_equal "$(reasons)" "$NOT_MATCHED
$NOT_MATCHED
no t= token, or more than one, in the query"
	# other methods are not taken there; GET is not taken elsewhere
	assert_equal "$(req PUT "$q" --data-binary List-Unsubscribe=One-Click)" 405
	grep -qix $'Allow: GET, HEAD, POST\r' headers
	assert_equal "$(curl -sS --noproxy '*' --max-time 10 -o /dev/null -D headers -w '%{http_code}' "$LIGHTTPD_URL/hook/postmark")" 405
	grep -qix $'Allow: POST\r' headers
	assert_equal "$(spooled)" 0
	assert_log_clean
}

@test "configuration: {{unsubscribe_url}} without the URL or the secret stops seq-due with status 4 before the claim; bad values too; seq-def keeps it to email text and html" {
	people ann
	# neither set, and the steps use it
	run --separate-stderr seq-due --now "$T0"
	assert_failure 4
	assert_output ""
	assert_equal "$stderr" "seq-due: sequence 'u' step 'a' uses {{unsubscribe_url}}, and SEQ_UNSUBSCRIBE_URL is not configured; the step is not claimed"
	assert_equal "$(sql "SELECT count(*) FROM sequence_executions")" 0
	export SEQ_UNSUBSCRIBE_URL=$BASE
	run --separate-stderr seq-due --now "$T0"
	assert_failure 4
	assert_equal "$stderr" "seq-due: sequence 'u' step 'a' uses {{unsubscribe_url}}, and SEQ_UNSUBSCRIBE_SECRET is not configured; the step is not claimed"
	assert_equal "$(sql "SELECT count(*) FROM sequence_executions")" 0
	# values that are set but cannot serve, whether a step uses the link
	# or not
	local -a cases=(
		"SEQ_UNSUBSCRIBE_SECRET=short-secret|SEQ_UNSUBSCRIBE_SECRET is shorter than 16 characters"
		"SEQ_UNSUBSCRIBE_TTL=29d|SEQ_UNSUBSCRIBE_TTL is not a duration from 30d to 3650d, like 90d"
		"SEQ_UNSUBSCRIBE_TTL=3651d|SEQ_UNSUBSCRIBE_TTL is not a duration from 30d to 3650d, like 90d"
		"SEQ_UNSUBSCRIBE_TTL=90 days|SEQ_UNSUBSCRIBE_TTL is not a duration from 30d to 3650d, like 90d"
		"SEQ_UNSUBSCRIBE_URL=http://hooks.example.com/u|SEQ_UNSUBSCRIBE_URL is not an https:// URL (RFC 8058 asks for HTTPS)"
		"SEQ_UNSUBSCRIBE_URL=https://hooks.example.com/u#top|SEQ_UNSUBSCRIBE_URL has a space, a control or non-ASCII character, or one of < > \" , # \\"
		"SEQ_UNSUBSCRIBE_MAILTO=unsubscribe|SEQ_UNSUBSCRIBE_MAILTO is not an address like unsubscribe@example.com (its domain in ASCII)"
		"SEQ_UNSUBSCRIBE_MAILTO=a,b@example.com|SEQ_UNSUBSCRIBE_MAILTO has a character that an address's local part may not hold unquoted"
	)
	local c
	for c in "${cases[@]}"; do
		run --separate-stderr env SEQ_UNSUBSCRIBE_SECRET=$SECRET "${c%%|*}" seq-due --now "$T0"
		assert_failure 4
		assert_equal "$stderr" "seq-due: ${c#*|}"
		assert_output ""
	done
	# the names may come from the configuration file too
	printf 'SEQ_UNSUBSCRIBE_SECRET=%s\nSEQ_UNSUBSCRIBE_TTL=29d\nSEQ_UNSUBSCRIBE_MAILTO=%s\n' "$SECRET" "$MAILTO" > seq.conf
	chmod 600 seq.conf
	run --separate-stderr seq-due --now "$T0" --config seq.conf
	assert_failure 4
	assert_equal "$stderr" "seq-due: SEQ_UNSUBSCRIBE_TTL is not a duration from 30d to 3650d, like 90d"
	assert_equal "$(sql "SELECT count(*) FROM sequence_executions")" 0
	# a TTL of exactly 30 days is taken
	run --separate-stderr env SEQ_UNSUBSCRIBE_SECRET=$SECRET SEQ_UNSUBSCRIBE_TTL=30d seq-due --now "$T0"
	assert_success
	assert_regex "$(jq -r .text <<< "$output")" "\\.email\\.$(($(epoch "$T0") + 30 * 86400))\\."

	# a step without the field goes out without the headers when the
	# link is not configured
	unset SEQ_UNSUBSCRIBE_URL
	seq-def > /dev/null <<-'JSON'
	{"name":"plain","steps":[{"id":"p","type":"email","subject":"S","text":"T"}]}
	JSON
	enroll plain "$T0" ann
	run --separate-stderr seq-due --now "$T0" --sequence plain
	assert_success
	assert_equal "$(jq -c .headers <<< "$output" | jq -r 'keys | join(",")')" Message-ID,X-Seq-Key

	# seq-def: in an email's text and html only
	local where
	for where in \
		'{"id":"s","type":"sms","text":"Stop: {{unsubscribe_url}}"}|$.steps[0].text' \
		'{"id":"v","type":"voice","say":"{{unsubscribe_url}}"}|$.steps[0].say' \
		'{"id":"e","type":"email","subject":"{{unsubscribe_url}}","text":"T"}|$.steps[0].subject'; do
		printf '{"name":"x","steps":[%s]}\n' "${where%%|*}" > x.json
		run --separate-stderr seq-def x.json
		assert_failure 1
		assert_equal "${stderr_lines[0]}" "seq-def: x.json: ${where#*|}: the merge field 'unsubscribe_url' belongs only in an email step's text and html"
	done
	printf '{"name":"x","steps":[{"id":"e","type":"email","subject":"S","text":"{{unsubscribe_url|}}","html":"<a href=\\"{{unsubscribe_url}}\\">x</a>"}]}\n' > x.json
	run --separate-stderr seq-def x.json
	assert_success
}

# pm_inbound NAME SUBJECT MESSAGE_ID: what Postmark's inbound webhook posts
# for a message from NAME.
pm_inbound() {
	jq -nc --arg from "$1@example.com" --arg s "$2" --arg id "$3" \
		'{From: $from, FromFull: {Email: $from, Name: ""}, To: "unsub+u@lists.example.com",
		  Subject: $s, MessageID: $id, Date: "Mon, 23 Nov 2026 10:05:00 +0000",
		  TextBody: "", Headers: [], Attachments: []}'
}

@test "mail to SEQ_UNSUBSCRIBE_MAILTO with the subject unsubscribe TOKEN, through Postmark's or SendGrid's inbound, is that message's unsubscribe; a bad or expired token leaves it a reply" {
	configure
	people ann bob cat dan eve
	claim "$T0"
	local end
	end=$(($(epoch "$T0") + 90 * 86400))
	{
		pm_inbound ann "unsubscribe $(token ann)" m-ann
		# case and white space as a mail client may leave them
		pm_inbound cat "  UNSUBSCRIBE	$(token cat) " m-cat
		# another's token: the token decides, not the sender
		pm_inbound eve "unsubscribe $(token dan)" m-eve
		# changed by one character, or with words after it
		pm_inbound bob "unsubscribe $(token bob)x" m-bob1
		pm_inbound bob "unsubscribe $(token bob) please" m-bob2
		pm_inbound bob "Re: Hello Bob" m-bob3
	} > inbound.json
	run --separate-stderr seq-event --now "$(at 600)" --from postmark-inbound < inbound.json
	assert_success
	assert_equal "$(jq -r '[.provider_event_id, .type, .execution_key // "-", .lead_id] | @tsv' <<< "$output")" \
		"$(printf '%s\t%s\t%s\t%s\n' m-ann unsubscribe "$(jq -r 'select(.to == "ann@example.com") | .key' jobs)" 1 \
			m-cat unsubscribe "$(jq -r 'select(.to == "cat@example.com") | .key' jobs)" 3 \
			m-eve unsubscribe "$(jq -r 'select(.to == "dan@example.com") | .key' jobs)" 4 \
			m-bob1 reply - 2 m-bob2 reply - 2 m-bob3 reply - 2)"
	assert_equal "$(sql "SELECT lead_id, source FROM consent ORDER BY lead_id")" \
		"1|postmark-inbound:unsubscribe
3|postmark-inbound:unsubscribe
4|postmark-inbound:unsubscribe"
	# past its end, eve's own token is a reply too
	pm_inbound eve "unsubscribe $(token eve)" m-eve2 > late.json
	run --separate-stderr seq-event --now "$(TZ=UTC printf '%(%Y-%m-%dT%H:%M:%SZ)T' $((end + 1)))" --from postmark-inbound < late.json
	assert_success
	assert_equal "$(jq -r .type <<< "$output")" reply
	# SendGrid's Inbound Parse, through seq-hook and the spool: bob's own
	local b=xYzzy0Boundary7f3a body
	{
		printf -- '--%s\r\nContent-Disposition: form-data; name="headers"\r\n\r\n' "$b"
		printf 'Message-ID: <u1@mail.example.com>\nFrom: Bob <bob@example.com>\nSubject: unsubscribe %s\n' "$(token bob)"
		printf '\r\n--%s\r\nContent-Disposition: form-data; name="from"\r\n\r\nBob <bob@example.com>' "$b"
		printf '\r\n--%s\r\nContent-Disposition: form-data; name="subject"\r\n\r\nunsubscribe %s' "$b" "$(token bob)"
		printf '\r\n--%s--\r\n' "$b"
	} > sgi.form
	run --separate-stderr env REQUEST_METHOD=POST PATH_INFO=/sendgrid-inbound \
		CONTENT_TYPE="multipart/form-data; boundary=$b" CONTENT_LENGTH=$(wc -c < sgi.form) \
		HTTP_AUTHORIZATION="Basic $(printf 'hooks:Pw4Kd9Lm2Qz7Xt' | base64)" \
		SEQ_SPOOL="$SPOOL" SEQ_POSTMARK_WEBHOOK_USER=hooks SEQ_POSTMARK_WEBHOOK_PASSWORD=Pw4Kd9Lm2Qz7Xt \
		SEQ_NOW="$(at 700)" seq-hook < sgi.form
	assert_success
	assert_equal "${lines[0]}" $'Status: 204 No Content\r'
	run --separate-stderr seq-event --now "$(at 760)" --spool "$SPOOL"
	assert_success
	assert_equal "$(jq -r '[.provider, .type, .lead_id, .details.method] | @tsv' <<< "$output")" \
		"$(printf 'sendgrid-inbound\tunsubscribe\t2\tmailto')"
	# and without the secret, seq-event cannot tell: a reply
	pm_inbound eve "unsubscribe $(token eve)" m-eve3 > nosecret.json
	run --separate-stderr env -u SEQ_UNSUBSCRIBE_SECRET seq-event --now "$(at 800)" --from postmark-inbound < nosecret.json
	assert_success
	assert_equal "$(jq -r .type <<< "$output")" reply
	# the next tick: step b to eve alone
	export SEQ_MOCK_LOG=$BATS_TEST_TMPDIR/sent.ndjson
	claim "$(at 86460)"
	assert_equal "$(jq -r '[.to, .step] | @tsv' sent.ndjson)" "$(printf 'eve@example.com\tb')"
}
