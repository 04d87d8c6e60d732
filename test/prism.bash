# Loaded by test/2010-contract.bats: Stoplight Prism mock servers, one per
# provider spec and test file, and a loopback capture server that keeps
# what an adapter sent (Prism checks a request but never shows it back).
#
# Prism in mock mode validates every request against the spec (body,
# parameters, security) and answers from the spec's examples; a request
# that fails gets 400/422 (or 401 for security) and a "Violation" line in
# Prism's log, which is the evidence the tests read.

PRISM="${PRISM:-$TOP/build/prism/node_modules/.bin/prism}"
# Prism's own dependency: the Postmark spec is YAML, and jq reads JSON.
JS_YAML="$(dirname "$PRISM")/js-yaml"

need_prism() {
	[ -x "$PRISM" ] || skip "needs Stoplight Prism at $PRISM (make deps installs it)"
}

# The interpreter itself, found once in setup_file: a version manager's
# shim in front of python3 can cost a second or more a start.
prism_find_python() {
	PRISM_PYTHON=$(python3 -c 'import sys; print(sys.executable)') || return 1
	export PRISM_PYTHON
}

free_port() {
	"${PRISM_PYTHON:-python3}" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# prism_launch NAME SPEC: starts Prism in the background, in setup_file.
# Files: $BATS_FILE_TMPDIR/prism-NAME.{log,pid,port,spec}.
prism_launch() {
	local name=$1 spec=$2 d=$BATS_FILE_TMPDIR port
	port=$(free_port) || return 1
	echo "$port" > "$d/prism-$name.port"
	echo "$spec" > "$d/prism-$name.spec"
	# fd 3 closed: bats waits for it, and Prism outlives this function
	"$PRISM" mock -h 127.0.0.1 -p "$port" "$spec" > "$d/prism-$name.log" 2>&1 3>&- &
	echo $! > "$d/prism-$name.pid"
}

# log_has FILE TEXT: bash alone, no process per look: the waits below look
# often, and a loaded machine makes every fork count.
log_has() {
	local line
	[ -f "$1" ] || return 1
	while IFS= read -r line || [ -n "$line" ]; do
		[[ $line == *"$2"* ]] && return 0
	done < "$1"
	return 1
}

# prism_wait NAME...: until each Prism says it listens, at most 120 s in
# all (the Telnyx spec alone is 1.7 MB to parse, and a loaded machine with
# two cores took 40 s to start all three).  A port taken between free_port
# and Prism's bind gets one more try on another port.
prism_wait() {
	local d=$BATS_FILE_TMPDIR name i pid pending retried=" "
	for ((i = 0; i < 600; i++)); do
		pending=
		for name in "$@"; do
			log_has "$d/prism-$name.log" 'Prism is listening' && continue
			read -r pid < "$d/prism-$name.pid"
			if ! kill -0 "$pid" 2>/dev/null; then
				if [[ $retried != *" $name "* ]] &&
					log_has "$d/prism-$name.log" EADDRINUSE; then
					retried+="$name "
					prism_launch "$name" "$(< "$d/prism-$name.spec")"
				else
					echo "prism $name died; its log:" >&2
					cat "$d/prism-$name.log" >&2
					return 1
				fi
			fi
			pending+=" $name"
		done
		[ -z "$pending" ] && return 0
		sleep 0.2
	done
	for name in $pending; do
		echo "prism $name did not start in time; its log:" >&2
		cat "$d/prism-$name.log" >&2
	done
	return 1
}

prism_stop() {
	local name=$1 pidfile=$BATS_FILE_TMPDIR/prism-$1.pid pid i
	[ -f "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	kill "$pid" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
	rm -f "$pidfile"
	return 0
}

prism_url() { echo "http://127.0.0.1:$(cat "$BATS_FILE_TMPDIR/prism-$1.port")"; }
prism_log() { echo "$BATS_FILE_TMPDIR/prism-$1.log"; }

# The log is shared by every test of the file; a test reads only the lines
# its own run added: prism_mark NAME before, prism_since NAME after.
# PRISM_LINES: the log's lines after prism_read_log.
prism_read_log() {
	PRISM_LINES=()
	[ -f "$1" ] || return 0
	mapfile -t PRISM_LINES < "$1"
}

prism_mark() {
	prism_read_log "$(prism_log "$1")"
	echo "${#PRISM_LINES[@]}" > "$BATS_TEST_TMPDIR/prism-$1.mark"
}

# prism_since NAME N: the lines logged since the mark, once they hold N
# answers and the log has been quiet for 0.3 s (Prism logs a request's
# Violation lines after its answer, so the client can be done before the
# log is); at most 10 s.
prism_since() {
	local log mark i n last=-1 quiet=0 answers line
	log=$(prism_log "$1")
	read -r mark < "$BATS_TEST_TMPDIR/prism-$1.mark"
	for ((i = 0; i < 100; i++)); do
		prism_read_log "$log"
		n=${#PRISM_LINES[@]}
		if [ "$n" = "$last" ]; then
			quiet=$((quiet + 1))
		else
			quiet=0
			last=$n
		fi
		answers=0
		for line in "${PRISM_LINES[@]:mark}"; do
			[[ $line == *'> Responding with "'* ]] && answers=$((answers + 1))
		done
		[ "$quiet" -ge 3 ] && [ "$answers" -ge "$2" ] && break
		sleep 0.1
	done
	printf '%s\n' "${PRISM_LINES[@]:mark}"
}

# A spec as JSON, for jq, whichever format it is written in; a YAML one
# is converted once a file (node starts slowly).
spec_json() {
	local json
	case $1 in
	*.yaml | *.yml)
		json=$BATS_FILE_TMPDIR/$(basename "$1").json
		[ -s "$json" ] || "$JS_YAML" "$1" > "$json" || return 1
		cat "$json"
		;;
	*) cat "$1" ;;
	esac
}

# The capture server: python3's standard library only.  Each request is
# kept as DIR/N.head (request line and headers) and DIR/N.body (bytes as
# received).  It answers --status/--body/--header, or with --forward URL
# passes the request on (after the optional --drop-header, --drop-field,
# --rename-field), returns the upstream's answer and keeps it as DIR/N.reply
# (the status on the first line, then the body): a way to put one
# deliberately broken request from a real adapter in front of Prism.
CAPTURE_PY='
import argparse, http.client, http.server, json, os, threading, urllib.parse
p = argparse.ArgumentParser()
p.add_argument("dir")
p.add_argument("--status", type=int, default=200)
p.add_argument("--body", default=None)
p.add_argument("--header", action="append", default=[])
p.add_argument("--forward", default=None)
p.add_argument("--drop-header", action="append", default=[])
p.add_argument("--drop-field", action="append", default=[])
p.add_argument("--rename-field", nargs=2, action="append", default=[])
a = p.parse_args()
reply = open(a.body, "rb").read() if a.body else b"{}"
lock = threading.Lock()
count = [0]
drop = {h.lower() for h in a.drop_header} | {"host", "content-length", "connection"}

class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:
            count[0] += 1
            n = self.n = count[0]
        with open(os.path.join(a.dir, "%d.head" % n), "w") as f:
            f.write(self.requestline + "\n" + str(self.headers))
        with open(os.path.join(a.dir, "%d.body" % n), "wb") as f:
            f.write(body)
        if a.forward:
            return self.forward(body)
        self.send_response(a.status)
        for h in a.header:
            k, v = h.split(":", 1)
            self.send_header(k.strip(), v.strip())
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def forward(self, body):
        if a.drop_field or a.rename_field:
            doc = json.loads(body)
            for f in a.drop_field:
                doc.pop(f, None)
            for old, new in a.rename_field:
                if old in doc:
                    doc[new] = doc.pop(old)
            body = json.dumps(doc, ensure_ascii=False).encode()
        u = urllib.parse.urlsplit(a.forward)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
        hs = {k: v for k, v in self.headers.items() if k.lower() not in drop}
        c.request("POST", u.path.rstrip("/") + self.path, body, hs)
        r = c.getresponse()
        data = r.read()
        with open(os.path.join(a.dir, "%d.reply" % self.n), "wb") as f:
            f.write(b"%d\n" % r.status + data)
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("content-length", "connection", "keep-alive",
                                 "transfer-encoding", "date"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass

s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
s.daemon_threads = True
with open(os.path.join(a.dir, "port.tmp"), "w") as f:
    f.write(str(s.server_address[1]))
os.rename(os.path.join(a.dir, "port.tmp"), os.path.join(a.dir, "port"))
s.serve_forever()
'

# capture_start NAME [options above]: a capture server of this test, its
# requests in $BATS_TEST_TMPDIR/NAME/; prints its base URL.  It binds port
# 0 itself, so no other test can take its port.  capture_stop_all (in
# teardown) stops every one the test started.
capture_start() {
	local name=$1 d=$BATS_TEST_TMPDIR/$1 i
	shift
	mkdir -p "$d"
	# the interpreter itself in the background, no function or subshell
	# around it: $! must be the server's own pid for capture_stop_all
	"${PRISM_PYTHON:-python3}" -c "$CAPTURE_PY" "$d" "$@" > "$d.log" 2>&1 3>&- &
	echo $! >> "$BATS_TEST_TMPDIR/capture.pids"
	for ((i = 0; i < 200; i++)); do
		[ -s "$d/port" ] && break
		sleep 0.05
	done
	[ -s "$d/port" ] || { cat "$d.log" >&2; return 1; }
	echo "http://127.0.0.1:$(cat "$d/port")"
}

capture_stop_all() {
	local pid i left=0
	[ -f "$BATS_TEST_TMPDIR/capture.pids" ] || return 0
	while read -r pid; do
		kill "$pid" 2>/dev/null
	done < "$BATS_TEST_TMPDIR/capture.pids"
	for ((i = 0; i < 50; i++)); do
		left=0
		while read -r pid; do
			kill -0 "$pid" 2>/dev/null && left=1
		done < "$BATS_TEST_TMPDIR/capture.pids"
		[ "$left" = 0 ] && break
		sleep 0.1
	done
	rm -f "$BATS_TEST_TMPDIR/capture.pids"
	[ "$left" = 0 ] || { echo "a capture server would not stop" >&2; return 1; }
}

# captured NAME N: the body of request N, and its headers.
captured() { cat "$BATS_TEST_TMPDIR/$1/$2.body"; }
captured_head() { cat "$BATS_TEST_TMPDIR/$1/$2.head"; }
captured_count() { find "$BATS_TEST_TMPDIR/$1" -name '*.body' | wc -l; }
# The upstream's answer to request N of a forwarding capture server.
captured_status() { head -n 1 "$BATS_TEST_TMPDIR/$1/$2.reply"; }
captured_reply() { tail -n +2 "$BATS_TEST_TMPDIR/$1/$2.reply"; }
