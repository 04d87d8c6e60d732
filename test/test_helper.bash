# Loaded by every bats file: a fresh world per test (git's trash directory).
bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert
bats_load_library bats-file

TOP="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
SEQ_BIN="${SEQ_BIN:-$TOP/bin}"
export PATH="$SEQ_BIN:$PATH"
export SEQ_SHARE="$TOP/share"
SHARED="${SEQ_SHARED:-$TOP/../shared}"
# A sanitizer report must never pass for an expected exit status 1.
export ASAN_OPTIONS="exitcode=99:detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="halt_on_error=1:exitcode=98:print_stacktrace=1"
# Quiet hours off: most tests text and call US numbers at 10:00Z, before
# 08:00 in every US zone.  1040-quiet-hours.bats sets its own.
export SEQ_QUIET_HOURS=00:00-24:00

common_setup() {
	unset SEQ_NOW SEQ_DELIVERY SEQ_MOCK_LOG SEQ_DEFAULT_REGION SEQ_CONFIG \
		SEQ_EMAIL_ADAPTER SEQ_SMS_ADAPTER SEQ_VOICE_ADAPTER \
		SENDGRID_API_KEY POSTMARK_SERVER_TOKEN TELNYX_API_KEY \
		SEQ_SMTP_URL SEQ_SMTP_USER SEQ_SMTP_PASSWORD \
		SEQ_SENDGRID_URL SEQ_POSTMARK_URL SEQ_TELNYX_URL \
		SEQ_EMAIL_FROM SEQ_SMS_FROM SEQ_VOICE_FROM \
		SEQ_TELNYX_CONNECTION_ID SEQ_TELNYX_MESSAGING_PROFILE_ID \
		SEQ_TELNYX_WEBHOOK_URL SEQ_POSTMARK_STREAM
	export SEQ_DB="$BATS_TEST_TMPDIR/seq.db"
	cd "$BATS_TEST_TMPDIR" || return 1
}

# A database at the current schema, quietly.
init_db() {
	seq-init 2>/dev/null
}

# Tests that read ../shared skip, with the reason shown, in a clone
# that has none.
need_shared() {
	[ -d "$SHARED/$1" ] || skip "needs ../shared/$1 (not in a user's clone)"
}

# Waits for a lock a seq-* command beside it may hold, as they do.
sql() {
	sqlite3 -batch -noheader -cmd '.timeout 20000' "$SEQ_DB" "$@"
}

# Leads, a sequence and enrollments from share/examples in one go.
load_example() {
	seq-lead < "$TOP/share/examples/leads.ndjson" > /dev/null
	seq-def "$TOP/share/examples/intro.json" > /dev/null
}

# One cron tick at time $1: seq-due | seq-send | seq-log.
tick() {
	seq-due --now "$1" | seq-send --now "$1" | seq-log --now "$1"
}

# N leads user1..userN@example.com enrolled at $2 in a one-email sequence.
one_email_world() {
	local n=$1 at=$2
	cat > one.json <<'JSON'
{"name":"one","steps":[{"id":"hello","type":"email","subject":"Hi {{first_name|there}}","text":"Hello {{first_name|there}}"}]}
JSON
	seq-def one.json > /dev/null
	awk -v n="$n" 'BEGIN { for (i = 1; i <= n; i++)
		printf "{\"external_id\":\"l%d\",\"email\":\"user%d@example.com\",\"first_name\":\"U%d\"}\n", i, i, i }' |
		seq-lead | seq-enroll --sequence one --now "$at" > /dev/null
}

# Times: epoch TIME prints seconds; iso COLUMN is SQL that shows a time
# column as RFC 3339.
epoch() { date -u -d "$1" +%s; }
iso() { printf "strftime('%%Y-%%m-%%dT%%H:%%M:%%SZ', %s, 'unixepoch')" "$1"; }
# Leads, one JSON object per argument.
leads() { printf '%s\n' "$@" | seq-lead > /dev/null; }
# enroll SEQUENCE TIME EXTERNAL_ID...
enroll() {
	local seq=$1 at=$2
	shift 2
	printf '{"external_id":"%s"}\n' "$@" | seq-enroll --sequence "$seq" --now "$at" > /dev/null
}
instance() { sql "SELECT value FROM meta WHERE key = 'instance'"; }

# readable FILE...: the values of $PERSONAL (one a line) that strings finds
# in the files, without case, one a line: what a copy of them would give
# away.
readable() {
	local f
	for f in "$@"; do
		[ -e "$f" ] || continue
		strings -n 6 "$f" | grep -i -F -o -f <(printf '%s\n' "$PERSONAL") || true
	done | sort -u -f
}
