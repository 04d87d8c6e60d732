# A private lighttpd for one test: it listens on 127.0.0.1 on a free port
# and runs one program as a CGI (RFC 3875) under a URL prefix, the way a
# deployment puts seq-hook behind a web server.  Everything it writes (its
# configuration, pid file, log and request-body temporary files) stays in
# the test's temporary directory.  Loaded by test/3010-seq-hook.bats.
#
# The server runs in the foreground (-D) as a child of the test, with its
# stderr on LIGHTTPD_LOG.  With no server.errorlog, lighttpd writes its own
# messages there too, and a CGI inherits that stderr: one file holds what a
# deployment reads in its error log, the server's lines and the CGI's.
# (Daemonised, lighttpd sends a CGI's stderr to server.breakagelog, and
# nowhere when that names the error log's own file.)
#
# Few processes: on a loaded machine each fork costs tens of milliseconds,
# so quoting and waiting are done in the shell itself.

LIGHTTPD_BIN=${LIGHTTPD_BIN:-/usr/sbin/lighttpd}

# Skips the test, saying why, when no lighttpd with mod_cgi can run here.
# Asked once per file; the answer is kept beside the file's other state.
lighttpd_need() {
	local dir="${BATS_FILE_TMPDIR:-$BATS_TEST_TMPDIR}/lighttpd-probe"
	[ -x "$LIGHTTPD_BIN" ] || skip "needs lighttpd ($LIGHTTPD_BIN; Debian package lighttpd)"
	command -v curl > /dev/null || skip "needs curl to post to lighttpd"
	if [ ! -e "$dir/ok" ]; then
		mkdir -p "$dir"
		printf 'server.modules = ( "mod_alias", "mod_setenv", "mod_cgi" )\nserver.document-root = "%s"\nserver.port = 1\n' \
			"$dir" > "$dir/lighttpd.conf"
		"$LIGHTTPD_BIN" -tt -f "$dir/lighttpd.conf" > "$dir/out" 2>&1 ||
			skip "lighttpd cannot load mod_alias, mod_setenv and mod_cgi: $(head -c 300 "$dir/out")"
		: > "$dir/ok"
	fi
}

# Sets LIGHTTPD_PORT to a port nothing listens on at the moment of asking.
lighttpd_free_port() {
	local fd
	while :; do
		LIGHTTPD_PORT=$((20000 + RANDOM % 40000))
		# refused: nothing there
		if ! { exec {fd}<> "/dev/tcp/127.0.0.1/$LIGHTTPD_PORT"; } 2> /dev/null; then
			return 0
		fi
		exec {fd}>&-
	done
}

# Sets LIGHTTPD_Q to $1 as a lighttpd configuration string.  Its parser
# takes \" for a quote and nothing else: a backslash stays as it is, so a
# value ending in one would swallow the closing quote.  Such values are
# refused, not mangled.
lighttpd_quote() {
	case $1 in
	*\\* | *$'\n'*)
		echo "lighttpd.bash: a value with a backslash or a newline: $1" >&2
		return 1
		;;
	esac
	LIGHTTPD_Q="\"${1//\"/\\\"}\""
}

# lighttpd_conf PREFIX PROGRAM NAME=VALUE... > FILE
lighttpd_conf() {
	local prefix=$1 program env="" kv name
	lighttpd_quote "$2" || return 1
	program=$LIGHTTPD_Q
	shift 2
	for kv in "$@"; do
		lighttpd_quote "${kv%%=*}" || return 1
		name=$LIGHTTPD_Q
		lighttpd_quote "${kv#*=}" || return 1
		env+="${env:+, }$name => $LIGHTTPD_Q"
	done
	cat <<-CONF
	server.modules = ( "mod_alias", "mod_setenv", "mod_cgi" )
	server.document-root = "$LIGHTTPD_DIR/htdocs"
	server.bind = "127.0.0.1"
	server.port = $LIGHTTPD_PORT
	server.pid-file = "$LIGHTTPD_DIR/lighttpd.pid"
	server.upload-dirs = ( "$LIGHTTPD_DIR/upload" )
	# no server.errorlog: its messages go to stderr, beside the CGI's
	# PREFIX names the program itself, so that PREFIX/x runs it with
	# PATH_INFO /x.  Conditions are matched again after that split, against
	# the program's own URL: hence (/|$).
	alias.url = ( "$prefix" => $program )
	\$HTTP["url"] =~ "^$prefix(/|\$)" {
		cgi.assign = ( "" => "" )
	}
	# a CGI's environment is the request's and this, nothing of the server's
	setenv.add-environment = ( $env )
	CONF
}

# lighttpd_start PREFIX PROGRAM NAME=VALUE...: starts the server, PROGRAM
# (an absolute path) answering every URL under PREFIX (like /hook, no
# trailing slash) with NAME=VALUE... in its environment, and the
# sanitizer options of the test's.  Sets LIGHTTPD_URL, LIGHTTPD_PORT,
# LIGHTTPD_LOG, LIGHTTPD_PID and LIGHTTPD_DIR.
lighttpd_start() {
	local prefix=$1 program=$2 try token
	shift 2
	if [[ ! $prefix =~ ^/[A-Za-z0-9_-]+$ ]]; then
		echo "lighttpd_start: a prefix like /hook, not $prefix" >&2
		return 1
	fi
	if [[ $program != /* ]]; then
		echo "lighttpd_start: $program is not an absolute path" >&2
		return 1
	fi
	LIGHTTPD_DIR="$BATS_TEST_TMPDIR/lighttpd"
	LIGHTTPD_LOG="$LIGHTTPD_DIR/error.log"
	mkdir -p "$LIGHTTPD_DIR/htdocs" "$LIGHTTPD_DIR/upload"
	# only this server has this page: what answers the probe is ours, not
	# whatever took the port first
	token="ready-$RANDOM$RANDOM$RANDOM-$$"
	printf '%s\n' "$token" > "$LIGHTTPD_DIR/htdocs/ready"
	for try in 1 2 3; do
		lighttpd_free_port
		lighttpd_conf "$prefix" "$program" "$@" \
			${ASAN_OPTIONS:+"ASAN_OPTIONS=$ASAN_OPTIONS"} \
			${UBSAN_OPTIONS:+"UBSAN_OPTIONS=$UBSAN_OPTIONS"} \
			> "$LIGHTTPD_DIR/lighttpd.conf" || return 1
		if [ "$try" = 1 ]; then
			"$LIGHTTPD_BIN" -tt -f "$LIGHTTPD_DIR/lighttpd.conf" > "$LIGHTTPD_DIR/configtest" 2>&1 || {
				cat "$LIGHTTPD_DIR/configtest" >&2
				return 1
			}
		fi
		# fd 3 closed: bats waits for whatever holds it open
		"$LIGHTTPD_BIN" -D -f "$LIGHTTPD_DIR/lighttpd.conf" >> "$LIGHTTPD_LOG" 2>&1 3>&- < /dev/null &
		LIGHTTPD_PID=$!
		LIGHTTPD_URL="http://127.0.0.1:$LIGHTTPD_PORT"
		if lighttpd_wait_ready "$token"; then
			return 0
		fi
		# the port may have been taken between asking and binding
		lighttpd_kill
	done
	echo "lighttpd: did not start; its log:" >&2
	cat "$LIGHTTPD_LOG" >&2
	return 1
}

# Whether LIGHTTPD_PID runs: a zombie (exited, not yet reaped) does not.
lighttpd_alive() {
	local stat
	[ -n "${LIGHTTPD_PID:-}" ] && [ -r "/proc/$LIGHTTPD_PID/stat" ] || return 1
	read -r stat < "/proc/$LIGHTTPD_PID/stat" 2> /dev/null || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# Until the server hands out its page (at most 10 s, every try bounded by
# read's timeout); 1 when it died first.
lighttpd_wait_ready() {
	local i fd line found
	for ((i = 0; i < 100; i++)); do
		lighttpd_alive || return 1
		found=
		if { exec {fd}<> "/dev/tcp/127.0.0.1/$LIGHTTPD_PORT"; } 2> /dev/null; then
			printf 'GET /ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&"$fd" 2> /dev/null
			while IFS= read -r -t 2 -u "$fd" line; do
				[ "${line%$'\r'}" = "$1" ] && found=1
			done 2> /dev/null
			exec {fd}>&-
			[ -n "$found" ] && return 0
		fi
		sleep 0.1
	done
	return 1
}

# Ends the server: TERM, then KILL after 5 s.
lighttpd_kill() {
	local i
	if [ -n "${LIGHTTPD_PID:-}" ]; then
		kill -TERM "$LIGHTTPD_PID" 2> /dev/null
		for ((i = 0; i < 100; i++)); do
			lighttpd_alive || break
			sleep 0.05
		done
		# gone already on TERM, as it should be: not a failure
		kill -KILL "$LIGHTTPD_PID" 2> /dev/null || true
		# its exit status is that of a killed server: not news
		wait "$LIGHTTPD_PID" 2> /dev/null || true
		unset LIGHTTPD_PID
	fi
}

lighttpd_stop() {
	lighttpd_kill
}
