# A private OpenSMTPD for one test: it listens on 127.0.0.1 on a free port
# and puts every message it accepts into one maildir under the test's
# temporary directory.  Loaded by test/2020-smtp.bats.
#
# smtpd's queue (/var/spool/smtpd) and control socket (/var/run/smtpd.sock)
# are compiled in, and a second instance refuses to start while the
# first one's socket answers.  So each instance runs in a mount namespace
# of its own, where a directory of the test is mounted over /var/spool and
# another over /var/run: instances never meet, whatever runs in parallel,
# and the system's spool and mail are never touched.  Where no namespace
# can be made (a container without CAP_SYS_ADMIN), the instances take
# turns (flock) on the system's paths, but only while /var/spool/smtpd
# does not exist, that is while the system has no smtpd and no queue of
# its own; the spool an instance creates is removed when it stops.
# SEQ_TEST_SMTPD_SHARED=1 asks for that way where namespaces work, to
# try it.

SMTPD_BIN=${SMTPD_BIN:-/usr/sbin/smtpd}
SMTPD_LOCK=/tmp/seqtools-smtpd.lock

# Skips the test, saying why, when no private smtpd can run here.
smtpd_need() {
	[ "$(id -u)" -eq 0 ] || skip "needs root: smtpd drops privileges to its own users"
	[ -x "$SMTPD_BIN" ] || skip "needs OpenSMTPD ($SMTPD_BIN; Debian package opensmtpd)"
	getent passwd nobody > /dev/null || skip "needs a user nobody to deliver as"
	command -v python3 > /dev/null || skip "needs python3 to read the delivered mail"
	[ -d /var/lib/opensmtpd/empty ] || skip "needs /var/lib/opensmtpd/empty, where smtpd chroots"
	if [ -z "${SEQ_TEST_SMTPD_SHARED:-}" ] &&
		unshare --mount --propagation private true 2> /dev/null; then
		SMTPD_MODE=private
		return 0
	fi
	command -v flock > /dev/null || skip "needs flock to take turns on the system's smtpd paths"
	SMTPD_MODE=shared
}

# A port nothing listens on at the moment of asking.  In bash: python
# takes over a second just to start on a slow machine.
smtpd_free_port() {
	local port
	while :; do
		port=$((20000 + RANDOM % 40000))
		# refused: nothing there
		if ! (exec 9<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; then
			echo "$port"
			return 0
		fi
	done
}

# smtpd_start: starts the server; sets SMTPD_PORT, SMTPD_URL, SMTPD_MAIL
# (the maildir, as seen from the test), SMTPD_LOG and SMTPD_PID.
# A recipient listed in SMTPD_REFUSE (space-separated) is refused at
# RCPT TO with SMTPD_REFUSE_REPLY, one in SMTPD_DEFER with
# SMTPD_DEFER_REPLY.
smtpd_start() {
	local dir="$BATS_TEST_TMPDIR/smtpd" maildir conf try
	SMTPD_REFUSE_REPLY=${SMTPD_REFUSE_REPLY:-"550 5.1.1 no mailbox by that name here"}
	SMTPD_DEFER_REPLY=${SMTPD_DEFER_REPLY:-"451 4.2.1 try again later"}
	mkdir -p "$dir"
	SMTPD_LOG="$dir/log"
	conf="$dir/smtpd.conf"
	if [ "$SMTPD_MODE" = private ]; then
		# mounted over /var/spool and /var/run inside the namespace
		install -d -m 755 "$dir/spool" "$dir/run"
		install -d -m 711 "$dir/spool/smtpd"
		# smtpd will not deliver as root; nobody must reach the
		# maildir, and the test's directories are closed to it
		install -d -m 700 -o nobody "$dir/spool/seqtest-mail"
		maildir=/var/spool/seqtest-mail
		SMTPD_MAIL="$dir/spool/seqtest-mail"
	else
		exec {SMTPD_LOCK_FD}> "$SMTPD_LOCK"
		flock -w 100 "$SMTPD_LOCK_FD" || { echo "smtpd: another test kept $SMTPD_LOCK" >&2; return 1; }
		if [ -e /var/spool/smtpd ]; then
			smtpd_unlock
			skip "no private mount namespace here, and /var/spool/smtpd is the system's own"
		fi
		SMTPD_OWN_SPOOL=1
		SMTPD_SHARED_DIR=$(mktemp -d /tmp/seqtools-smtpd.XXXXXX)
		chmod 711 "$SMTPD_SHARED_DIR"
		install -d -m 700 -o nobody "$SMTPD_SHARED_DIR/mail"
		maildir="$SMTPD_SHARED_DIR/mail"
		SMTPD_MAIL="$maildir"
	fi
	for try in 1 2 3; do
		SMTPD_PORT=$(smtpd_free_port)
		smtpd_conf "$maildir" > "$conf"
		"$SMTPD_BIN" -n -f "$conf" > "$dir/configtest" 2>&1 || {
			cat "$dir/configtest" >&2
			return 1
		}
		# fd 3 closed: bats waits for whatever holds it open
		if [ "$SMTPD_MODE" = private ]; then
			unshare --mount --propagation private sh -c \
				'mount --bind "$1" /var/spool && mount --bind "$2" /var/run && exec "$3" -d -f "$4"' \
				sh "$dir/spool" "$dir/run" "$SMTPD_BIN" "$conf" > "$SMTPD_LOG" 2>&1 3>&- &
		else
			"$SMTPD_BIN" -d -f "$conf" > "$SMTPD_LOG" 2>&1 3>&- {SMTPD_LOCK_FD}>&- &
		fi
		SMTPD_PID=$!
		SMTPD_URL="smtp://127.0.0.1:$SMTPD_PORT"
		if smtpd_wait_banner; then
			return 0
		fi
		# the port may have been taken between asking and binding
		smtpd_kill
	done
	echo "smtpd: did not start; its log:" >&2
	cat "$SMTPD_LOG" >&2
	return 1
}

# A list table of the space-separated words of $1; never empty, which
# smtpd refuses.
smtpd_table() {
	local r list=""
	for r in $1; do
		list+="${list:+, }\"$r\""
	done
	echo "{ ${list:-\"nobody@refuse.invalid\"} }"
}

smtpd_conf() {
	local maildir=$1
	cat <<-CONF
	table refused $(smtpd_table "${SMTPD_REFUSE:-}")
	table deferred $(smtpd_table "${SMTPD_DEFER:-}")
	table everyone { "@" = "nobody" }
	filter "refuse" phase rcpt-to match rcpt-to <refused> reject "$SMTPD_REFUSE_REPLY"
	filter "defer" phase rcpt-to match rcpt-to <deferred> reject "$SMTPD_DEFER_REPLY"
	filter "recipients" chain { "refuse", "defer" }
	listen on 127.0.0.1 port $SMTPD_PORT hostname seqtest.invalid filter "recipients"
	action "keep" maildir "$maildir" virtual <everyone>
	match from any for any action "keep"
	CONF
}

# Until the server greets a client (at most 10 s); 1 when it died first.
smtpd_wait_banner() {
	local i fd line
	for ((i = 0; i < 200; i++)); do
		smtpd_alive || return 1
		if exec {fd}<> "/dev/tcp/127.0.0.1/$SMTPD_PORT"; then
			line=
			read -r -t 2 -u "$fd" line || true
			printf 'QUIT\r\n' >&"$fd" 2> /dev/null || true
			exec {fd}>&-
			[[ $line == "220 "* ]] && return 0
		fi 2> /dev/null
		sleep 0.05
	done
	return 1
}

# Whether SMTPD_PID runs: a zombie (exited, not yet reaped by this shell)
# does not.
smtpd_alive() {
	local stat
	stat=$(cat "/proc/$SMTPD_PID/stat" 2> /dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# Until every message smtpd accepted has been delivered or refused for
# good (at most 10 s): its log holds one "smtp envelope" line per
# accepted recipient and one "mda delivery" line per attempt.
smtpd_wait_delivered() {
	local i accepted delivered
	for ((i = 0; i < 200; i++)); do
		# grep -c says 0 and fails when nothing matches
		accepted=$(grep -c ' smtp envelope ' "$SMTPD_LOG" || true)
		delivered=$(grep -c ' mda delivery .* result=\(Ok\|PermFail\)' "$SMTPD_LOG" || true)
		[ "$accepted" -eq "$delivered" ] && return 0
		sleep 0.05
	done
	echo "smtpd: $accepted accepted, $delivered delivered after 10 s; its log:" >&2
	cat "$SMTPD_LOG" >&2
	return 1
}

# The delivered messages, one path a line.
smtpd_messages() {
	find "$SMTPD_MAIL/new" "$SMTPD_MAIL/cur" -type f 2> /dev/null | sort
}

smtpd_unlock() {
	if [ -n "${SMTPD_LOCK_FD:-}" ]; then
		exec {SMTPD_LOCK_FD}>&-
		unset SMTPD_LOCK_FD
	fi
}

# Ends the server: TERM, then KILL after 5 s.
smtpd_kill() {
	local i
	if [ -n "${SMTPD_PID:-}" ]; then
		kill -TERM "$SMTPD_PID" 2> /dev/null
		for ((i = 0; i < 100; i++)); do
			smtpd_alive || break
			sleep 0.05
		done
		kill -KILL "$SMTPD_PID" 2> /dev/null
		wait "$SMTPD_PID" 2> /dev/null
		unset SMTPD_PID
	fi
}

# Stops the server and, on the system's paths, removes what it left there.
smtpd_stop() {
	smtpd_kill
	if [ -n "${SMTPD_OWN_SPOOL:-}" ]; then
		rm -rf /var/spool/smtpd /var/run/smtpd.sock /var/run/smtpd.pid
		unset SMTPD_OWN_SPOOL
	fi
	if [ -n "${SMTPD_SHARED_DIR:-}" ]; then
		rm -rf "$SMTPD_SHARED_DIR"
		unset SMTPD_SHARED_DIR
	fi
	smtpd_unlock
}
