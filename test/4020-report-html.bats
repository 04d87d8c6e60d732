#!/usr/bin/env bats
# seq-stats --html: one self-contained page that fetches nothing, its funnel
# bars in proportion to the sends of a known history, everything from the
# database escaped, and the page as headless Chromium renders it on a phone.

load test_helper
setup() { common_setup; init_db; }

T0=2026-11-02T10:00:00Z
T1=2026-11-03T10:00:00Z
T2=2026-11-04T10:00:00Z
NOW=2026-11-05T00:00:00Z
# seq-def takes only letters, digits, '.', '_' and '-' in a name; a
# database filled by hand or by an older release may hold anything.
HOSTILE="<b>&\"x'"
HOSTILE_ESC='&lt;b&gt;&amp;&quot;x&#39;'
ADAPTER="<i>'a\"&"
ADAPTER_ESC='&lt;i&gt;&#39;a&quot;&amp;'

# The bars the history below must draw: sequence, version, step, sent, and
# the height round(200 * sent / most sent in that funnel).
BARS="$HOSTILE 1 hello 2 200
drip 1 hello 6 200
drip 1 nudge 3 100
drip 1 last 2 67
drip 1 final 0 0
drip 2 hello 3 200
drip 2 ps 0 0"

# drip v1 to 8 leads (2 fail), 2 cancelled and 1 converted after the first
# email, 1 more converted after the second; drip v2 to 4 leads (1 fails);
# a one-email sequence to 2 leads, renamed to $HOSTILE in the database.
history() {
	seq-def > /dev/null <<'JSON'
{"name":"drip","steps":[
 {"id":"hello","type":"email","subject":"Hi","text":"Hello"},
 {"id":"w1","type":"wait","duration":"1d"},
 {"id":"nudge","type":"email","subject":"Re: Hi","text":"Nudge"},
 {"id":"w2","type":"wait","duration":"1d"},
 {"id":"last","type":"email","subject":"Last","text":"Last"},
 {"id":"w3","type":"wait","duration":"30d"},
 {"id":"final","type":"email","subject":"Final","text":"Final"}]}
JSON
	seq-def > /dev/null <<'JSON'
{"name":"solo","steps":[{"id":"hello","type":"email","subject":"Hi","text":"Hi"}]}
JSON
	local id
	for id in ok1 ok2 ok3 ok4 ok5 ok6 ok7 ok8 ok9 fail1 fail2 fail3 s1 s2; do
		printf '{"external_id":"%s","email":"%s@example.com"}\n' $id $id
	done | seq-lead > /dev/null
	enroll drip $T0 ok1 ok2 ok3 ok4 ok5 ok6 fail1 fail2
	enroll solo $T0 s1 s2
	tick $T0 > /dev/null
	seq-enroll --cancel --now 2026-11-02T12:00:00Z \
		$(enrollment ok5) $(enrollment ok6) > /dev/null
	seq-enroll --convert --value 40 --now 2026-11-02T12:00:00Z \
		$(enrollment ok4) > /dev/null
	tick $T1 > /dev/null
	seq-enroll --convert --value 60 --now 2026-11-03T12:00:00Z \
		$(enrollment ok3) > /dev/null
	seq-def > /dev/null <<'JSON'
{"name":"drip","steps":[
 {"id":"hello","type":"email","subject":"Hi","text":"Hello"},
 {"id":"w","type":"wait","duration":"1d"},
 {"id":"ps","type":"email","subject":"PS","text":"PS"}]}
JSON
	enroll drip 2026-11-03T13:00:00Z ok7 ok8 ok9 fail3
	tick $T2 > /dev/null
	sql "UPDATE sequences SET name = '$(printf %s "$HOSTILE" | sed "s/'/''/g")'
		WHERE name = 'solo'"
	sql "INSERT INTO adapter_counters VALUES
		('$(printf %s "$ADAPTER" | sed "s/'/''/g")', 'sms', 'sent', 3, 360),
		('$(printf %s "$ADAPTER" | sed "s/'/''/g")', 'sms', 'retry', 1, 40)"
}
enrollment() {
	sql "SELECT e.id FROM enrollments e JOIN leads l ON l.id = e.lead_id
		WHERE l.external_id = '$1'"
}

# The sends of each message step, straight from the database.
sends_by_step() {
	sql "SELECT s.name, e.version, x.step, x.state, count(*)
		FROM sequence_executions x JOIN enrollments e ON e.id = x.enrollment_id
		JOIN sequences s ON s.id = e.sequence_id
		GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
}

need_chromium() {
	command -v chromium > /dev/null ||
		skip "needs chromium (Debian package chromium)"
}

# Headless, offline: every host name fails to resolve inside Chromium, so
# neither the page nor the browser's own services reach past this machine.
chrome() {
	timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic \
		--no-first-run --disable-background-networking \
		--disable-component-update --disable-sync \
		--host-resolver-rules='MAP * ~NOTFOUND' \
		--user-data-dir="$BATS_TEST_TMPDIR/chrome" \
		--enable-logging=stderr --v=0 --window-size=412,900 "$@"
}

# The bars of a page on stdin, one line each: sequence, version, step,
# sent, height; funnels sorted by sequence and version, steps in document
# order (the order of funnels is stats_funnels' to keep, not the page's).
bars() {
	python3 -c '
import sys
from html.parser import HTMLParser
class P(HTMLParser):
	seq = ver = None
	def handle_starttag(self, tag, attrs):
		a = dict(attrs)
		if tag == "section" and "data-sequence" in a:
			self.seq, self.ver = a["data-sequence"], a["data-version"]
		if tag == "rect" and "bar" in (a.get("class") or "").split():
			print(self.seq, self.ver, a["data-step"], a["data-sent"],
			    a["height"])
P().feed(sys.stdin.read())
' | LC_ALL=C sort -s -k1,1 -k2,2n
}

@test "seq-stats --html: a page that fetches nothing, with its counts and every text escaped" {
	history
	# the history is what the bars say it is: sends per step from the table
	run sends_by_step
	assert_output "$HOSTILE|1|hello|sent|2
drip|1|hello|failed|2
drip|1|hello|sent|6
drip|1|last|sent|2
drip|1|nudge|sent|3
drip|2|hello|failed|1
drip|2|hello|sent|3"

	SEQ_PRICES=email=0.5 seq-stats --html --now $NOW > report.html
	head -1 report.html | grep -qx '<!DOCTYPE html>'
	# nothing to run, nothing to fetch
	run -1 grep -Ei '<script|https?://|@import|url\(|<link|<img|<iframe|<object|src=' report.html
	grep -q '<meta name="viewport" content="width=device-width' report.html
	grep -q "Content-Security-Policy\" content=\"default-src 'none'" report.html
	grep -q '@media print' report.html
	grep -q 'overflow-x:auto' report.html

	# the raw text never reaches the page, its escaped form does
	run -1 grep -F "$HOSTILE" report.html
	run -1 grep -F "$ADAPTER" report.html
	run -1 grep -F '<b>' report.html
	grep -qF "<h2>$HOSTILE_ESC, version 1</h2>" report.html
	grep -qF "data-sequence=\"$HOSTILE_ESC\"" report.html
	grep -qF "<th class=\"l\" scope=\"row\">$ADAPTER_ESC</th>" report.html

	# the same bars as the table, from the file itself
	run bars < report.html
	assert_output "$BARS"

	# drip v1: 8 enrolled, ok1 and ok2 active, 2 cancelled, 2 converted
	# for 40 + 60; 11 sends at 0.50
	grep -qF '<p class="summary">8 enrolled, 2 active, 0 completed, 2 converted; revenue 100.00, cost 5.50, ROI 1718.2%</p>' report.html
	grep -qF '<tr><th class="l" scope="row">nudge</th><td class="l">email</td><td>3</td>' report.html
	grep -qF '<td>2 <span class="rate">33.3%</span></td>' report.html
	# the mock: 16 sent and 3 failed by email; the hand-made adapter by sms
	grep -qF '<tr><th class="l" scope="row">mock</th><td class="l">email</td><td>19</td><td>16</td><td>3</td><td>0</td><td>84.2%</td><td>0</td></tr>' report.html
	grep -qF "<td class=\"l\">sms</td><td>4</td><td>3</td><td>0</td><td>1</td><td>75.0%</td><td>100</td></tr>" report.html
	grep -qF '<footer>Generated by seq-stats at <time datetime="2026-11-05T00:00:00Z">2026-11-05T00:00:00Z</time>.</footer>' report.html
}

@test "seq-stats --html in headless Chromium: a phone screenshot, no console error, one bar per step at its height" {
	need_chromium
	history
	SEQ_PRICES=email=0.5 seq-stats --html --now $NOW > report.html

	run --separate-stderr chrome --screenshot="$BATS_TEST_TMPDIR/shot.png" \
		"file://$PWD/report.html"
	assert_success
	[ -s shot.png ]
	# a PNG, of the phone-sized window asked for
	run python3 -c '
import struct, sys
b = open(sys.argv[1], "rb").read(24)
assert b[:8] == b"\x89PNG\r\n\x1a\n", b[:8]
print(*struct.unpack(">II", b[16:24]))' shot.png
	assert_output "412 900"
	# console lines from the page: its CSP blocks and its errors; with no
	# script in it, there must be none.  Chromium's own startup noise
	# (D-Bus, GPU) names no page and does not count.
	run -1 grep -E 'CONSOLE.*report\.html|Uncaught' <<< "$stderr"

	run --separate-stderr chrome --dump-dom "file://$PWD/report.html"
	assert_success
	printf '%s\n' "$output" > dom.html
	run -1 grep -E 'CONSOLE.*report\.html|Uncaught' <<< "$stderr"
	# what the browser built: one bar per message step, in order, each
	# as high as its share of the funnel's busiest step
	run bars < dom.html
	assert_output "$BARS"
	# the hostile name is text in the DOM, not an element
	run python3 -c '
import sys
from html.parser import HTMLParser
class P(HTMLParser):
	tags, h2, inh2 = set(), [], False
	def handle_starttag(self, tag, attrs):
		self.tags.add(tag)
		self.inh2 = tag == "h2"
	def handle_endtag(self, tag):
		self.inh2 = False
	def handle_data(self, d):
		if self.inh2:
			self.h2.append(d)
p = P()
p.feed(open(sys.argv[1]).read())
print(sorted(p.tags & {"b", "i", "script"}))
print(*sorted(p.h2), sep="\n")' dom.html
	assert_output "[]
$HOSTILE, version 1
Adapter health
drip, version 1
drip, version 2"
}
