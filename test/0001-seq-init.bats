#!/usr/bin/env bats
# seq-init: creating the database, running it again, and how every command
# refuses a database that is missing or of another schema; --db, $SEQ_DB,
# --now and $SEQ_NOW.

load test_helper

setup() {
	common_setup
}

# Every command that opens the database, with arguments that would
# otherwise work on an empty one.
COMMANDS=(
	"seq-lead"
	"seq-lead --list"
	"seq-def --list"
	"seq-def --show intro"
	"seq-enroll --sequence intro"
	"seq-enroll --list"
	"seq-enroll --pause 1"
	"seq-consent"
	"seq-consent --show 1"
	"seq-consent --suppress"
	"seq-timeline --lead 1"
	"seq-due"
	"seq-send"
	"seq-log"
	"seq-stats"
	"seq-stats --prom"
)

@test "seq-init creates a database at schema version 11 in WAL mode with an instance id" {
	run --separate-stderr seq-init --now 2026-11-25T09:00:00Z
	assert_success
	assert_output ""
	assert_equal "$stderr" "seq-init: $SEQ_DB: schema version 0 -> 11"
	assert_file_exist "$SEQ_DB"
	assert_equal "$(sql 'PRAGMA user_version')" 11
	assert_equal "$(sql 'PRAGMA journal_mode')" wal
	assert_equal "$(sql "SELECT count(*) FROM meta WHERE key = 'instance'")" 1
	assert_regex "$(sql "SELECT value FROM meta WHERE key = 'instance'")" '^[0-9a-f]{16}$'
	assert_equal "$(sql "SELECT value FROM meta WHERE key = 'created_at'")" 2026-11-25T09:00:00Z
	for t in leads consent sequences sequence_versions enrollments \
	    enrollment_changes sequence_executions events adapter_counters \
	    suppressions suppression_list; do
		assert_equal "$(sql "SELECT count(*) FROM $t")" 0
	done
	assert_equal "$(sql 'PRAGMA integrity_check')" ok
}

@test "seq-init again is a no-op: same instance id, same creation time, silent" {
	seq-init --now 2026-11-25T09:00:00Z 2> /dev/null
	sql .dump > before.sql
	run --separate-stderr seq-init --now 2027-01-01T00:00:00Z
	assert_success
	assert_output ""
	assert_equal "$stderr" ""
	sql .dump > after.sql
	assert_equal "$(cat after.sql)" "$(cat before.sql)"
	assert_equal "$(sql "SELECT value FROM meta WHERE key = 'created_at'")" 2026-11-25T09:00:00Z
	assert_equal "$(sql 'PRAGMA user_version')" 11
}

@test "seq-init takes a schema 1 database to schema 11 and keeps its data" {
	# schema 1 as the previous release left it: its migration, and the
	# meta rows seq-init writes
	sqlite3 "$SEQ_DB" < "$TOP/share/schema/001-init.sql"
	sql "INSERT INTO meta VALUES ('instance', '0123456789abcdef'), ('created_at', '2026-11-01T00:00:00Z')"
	sql "INSERT INTO leads (email, quality, created_at, updated_at) VALUES ('ann@example.com', 90, 1, 1)"
	sql "INSERT INTO events (provider, provider_event_id, type, at, lead_id) VALUES ('sendgrid', 'e1', 'open', 5, 1)"
	assert_equal "$(sql 'PRAGMA user_version')" 1
	run --separate-stderr seq-init
	assert_success
	assert_equal "$stderr" "seq-init: $SEQ_DB: schema version 1 -> 11"
	assert_equal "$(sql 'PRAGMA user_version')" 11
	assert_equal "$(sql 'SELECT email FROM leads')" ann@example.com
	assert_equal "$(sql "SELECT value FROM meta WHERE key = 'instance'")" 0123456789abcdef
	# the event is kept, and the timeline still shows it, with no channel
	assert_equal "$(sql "SELECT kind, what, channel IS NULL FROM timeline WHERE lead_id = 1")" "event|open|1"
	assert_equal "$(sql 'SELECT count(*) FROM suppressions')" 0
	assert_equal "$(sql 'PRAGMA integrity_check')" ok
	assert_equal "$(sql 'PRAGMA foreign_key_check')" ""
}

@test "seq-init takes a schema 10 database to 11: enrollment changes made before name no step, those after the step they were at" {
	for f in "$TOP"/share/schema/00[1-9]-*.sql "$TOP"/share/schema/010-*.sql; do
		sqlite3 "$SEQ_DB" < "$f"
	done
	sql "INSERT INTO meta VALUES ('instance', '0123456789abcdef'), ('created_at', '2026-11-01T00:00:00Z')"
	assert_equal "$(sql 'PRAGMA user_version')" 10
	sql "INSERT INTO leads (email, quality, created_at, updated_at) VALUES ('ann@example.com', 90, 1, 1)"
	sql "INSERT INTO sequences (name, created_at) VALUES ('intro', 1)"
	sql "INSERT INTO sequence_versions VALUES (1, 1, '{\"name\":\"intro\",\"steps\":[{\"id\":\"hello\",\"type\":\"email\",\"subject\":\"Hi\",\"text\":\"Hi\"},{\"id\":\"later\",\"type\":\"email\",\"subject\":\"Hi\",\"text\":\"Hi\"}]}', 1)"
	sql "INSERT INTO enrollments (lead_id, sequence_id, version, status, step, step_at, next_run_at, created_at, updated_at) VALUES (1, 1, 1, 'active', 'hello', 1, 1, 1, 1)"
	sql "INSERT INTO enrollment_changes (enrollment_id, at, status, reason) VALUES (1, 1, 'active', 'enrolled')"
	# schema 10's timeline names the step the enrollment is at now
	sql "UPDATE enrollments SET step = 'later' WHERE id = 1"
	assert_equal "$(sql "SELECT what, step FROM timeline WHERE kind = 'enrollment'")" "active|later"
	run --separate-stderr seq-init
	assert_success
	assert_equal "$stderr" "seq-init: $SEQ_DB: schema version 10 -> 11"
	assert_equal "$(sql "SELECT what, step IS NULL FROM timeline WHERE kind = 'enrollment'")" "active|1"
	seq-enroll --pause --now 2026-11-25T11:00:00Z 1 > /dev/null
	sql "UPDATE enrollments SET step = 'hello' WHERE id = 1"
	assert_equal "$(sql "SELECT what, step FROM timeline WHERE kind = 'enrollment' AND step IS NOT NULL")" "paused|later"
	assert_equal "$(sql 'PRAGMA integrity_check')" ok
	assert_equal "$(sql 'PRAGMA foreign_key_check')" ""
}

@test "seq-init takes a schema 2 database to 11: the consent ledger is kept, shown in the timeline, and append-only" {
	sqlite3 "$SEQ_DB" < "$TOP/share/schema/001-init.sql"
	sqlite3 "$SEQ_DB" < "$TOP/share/schema/002-engagement.sql"
	sql "INSERT INTO meta VALUES ('instance', '0123456789abcdef'), ('created_at', '2026-11-01T00:00:00Z')"
	sql "INSERT INTO leads (email, quality, created_at, updated_at) VALUES ('ann@example.com', 90, 1, 1)"
	sql "INSERT INTO consent (lead_id, channel, state, source, at) VALUES (1, 'sms', 'opt-out', 'import', 7)"
	run --separate-stderr seq-init
	assert_success
	assert_equal "$stderr" "seq-init: $SEQ_DB: schema version 2 -> 11"
	assert_equal "$(sql "SELECT kind, what, channel, details ->> 'source' FROM timeline WHERE lead_id = 1")" "consent|opt-out|sms|import"
	run sqlite3 "$SEQ_DB" "UPDATE consent SET state = 'opt-in'"
	assert_failure
	assert_output --partial "the consent ledger is append-only"
	run sqlite3 "$SEQ_DB" "DELETE FROM consent"
	assert_failure
	assert_output --partial "the consent ledger is append-only"
	assert_equal "$(sql 'SELECT state FROM consent')" opt-out
	assert_equal "$(sql 'PRAGMA integrity_check')" ok
}

@test "seq-init keeps the data of a current database" {
	init_db
	echo '{"external_id":"k1","email":"k1@example.com"}' > lead.ndjson
	seq-lead < lead.ndjson > /dev/null
	run --separate-stderr seq-init
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(sql 'SELECT id, external_id FROM leads')" "1|k1"
}

@test "two databases get different instance ids" {
	seq-init --db one.db 2> /dev/null
	seq-init --db two.db 2> /dev/null
	a=$(sqlite3 one.db "SELECT value FROM meta WHERE key = 'instance'")
	b=$(sqlite3 two.db "SELECT value FROM meta WHERE key = 'instance'")
	assert_regex "$a" '^[0-9a-f]{16}$'
	assert_regex "$b" '^[0-9a-f]{16}$'
	assert [ "$a" != "$b" ]
}

@test "every other command refuses a missing database, names seq-init, exits 3 and creates nothing" {
	for c in "${COMMANDS[@]}"; do
		echo "command: $c"
		prog=${c%% *}
		run -3 --separate-stderr $c < /dev/null
		assert_output ""
		assert_equal "$stderr" "$prog: $SEQ_DB: no such database; create it with 'seq-init --db $SEQ_DB'"
		assert_file_not_exist "$SEQ_DB"
	done
	# seq-def with a definition to store refuses too, before reading it
	run -3 --separate-stderr seq-def "$TOP/share/examples/intro.json"
	assert_equal "$stderr" "seq-def: $SEQ_DB: no such database; create it with 'seq-init --db $SEQ_DB'"
	assert_file_not_exist "$SEQ_DB"
}

@test "every command refuses a seqtools database whose user_version was set to 0" {
	init_db
	sql 'PRAGMA user_version = 0'
	for c in "${COMMANDS[@]}"; do
		echo "command: $c"
		prog=${c%% *}
		run -3 --separate-stderr $c < /dev/null
		assert_output ""
		assert_equal "$stderr" "$prog: $SEQ_DB: not a seqtools database (schema version 0); create it with 'seq-init --db $SEQ_DB'"
	done
	assert_equal "$(sql 'PRAGMA user_version')" 0
}

@test "every command refuses an SQLite file that is not a seqtools database" {
	sqlite3 "$SEQ_DB" 'CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES (1)'
	for c in "${COMMANDS[@]}"; do
		echo "command: $c"
		prog=${c%% *}
		run -3 --separate-stderr $c < /dev/null
		assert_equal "$stderr" "$prog: $SEQ_DB: not a seqtools database (schema version 0); create it with 'seq-init --db $SEQ_DB'"
	done
	assert_equal "$(sql 'SELECT count(*) FROM sqlite_master')" 1
}

@test "a database newer than this seqtools is refused by every command, and left alone by seq-init" {
	init_db
	sql 'PRAGMA user_version = 12'
	for c in "${COMMANDS[@]}"; do
		echo "command: $c"
		prog=${c%% *}
		run -3 --separate-stderr $c < /dev/null
		assert_output ""
		assert_equal "$stderr" "$prog: $SEQ_DB: schema version 12 is newer than this seqtools knows (11); upgrade seqtools"
	done
	sql .dump > before.sql
	run -3 --separate-stderr seq-init
	assert_output ""
	assert_equal "$stderr" "seq-init: $SEQ_DB: schema version 12 is newer than this seqtools knows (11); upgrade seqtools"
	assert_equal "$(sql 'PRAGMA user_version')" 12
	sql .dump > after.sql
	assert_equal "$(cat after.sql)" "$(cat before.sql)"
	sql 'PRAGMA user_version = 99'
	run -3 --separate-stderr seq-lead --list
	assert_equal "$stderr" "seq-lead: $SEQ_DB: schema version 99 is newer than this seqtools knows (11); upgrade seqtools"
}

@test "--db beats \$SEQ_DB" {
	export SEQ_DB="$BATS_TEST_TMPDIR/env.db"
	run --separate-stderr seq-init --db flag.db
	assert_success
	assert_equal "$stderr" "seq-init: flag.db: schema version 0 -> 11"
	assert_file_exist flag.db
	assert_file_not_exist env.db
	echo '{"external_id":"d1","email":"d1@example.com"}' > lead.ndjson
	run --separate-stderr seq-lead --db flag.db < lead.ndjson
	assert_success
	assert_equal "$(sqlite3 flag.db 'SELECT external_id FROM leads')" d1
	# without --db, $SEQ_DB is the database, and it does not exist
	run -3 --separate-stderr seq-lead --list
	assert_equal "$stderr" "seq-lead: $SEQ_DB: no such database; create it with 'seq-init --db $SEQ_DB'"
	run -3 --separate-stderr seq-enroll --list
	assert_equal "$stderr" "seq-enroll: $SEQ_DB: no such database; create it with 'seq-init --db $SEQ_DB'"
	assert_file_not_exist env.db
	# and $SEQ_DB is used when there is no --db
	run --separate-stderr seq-init
	assert_success
	assert_equal "$stderr" "seq-init: $SEQ_DB: schema version 0 -> 11"
	assert_file_exist env.db
	assert_equal "$(sqlite3 env.db 'SELECT count(*) FROM leads')" 0
	assert_equal "$(sqlite3 flag.db 'SELECT count(*) FROM leads')" 1
}

@test "without --db or \$SEQ_DB the database is seq.db in the current directory" {
	mkdir here
	cd here
	run --separate-stderr env SEQ_DB= seq-init
	assert_success
	assert_equal "$stderr" "seq-init: seq.db: schema version 0 -> 11"
	assert_file_exist "$BATS_TEST_TMPDIR/here/seq.db"
	unset SEQ_DB
	run --separate-stderr seq-lead --list
	assert_success
	assert_output ""
}

@test "--now and \$SEQ_NOW set the creation time; --now beats \$SEQ_NOW" {
	check_now() {	# how the time is given, what is stored
		rm -f "$SEQ_DB" "$SEQ_DB-wal" "$SEQ_DB-shm"
		"$@" 2> /dev/null
		sql "SELECT value FROM meta WHERE key = 'created_at'"
	}
	run check_now seq-init --now 2026-11-25T09:00:00Z
	assert_output 2026-11-25T09:00:00Z
	run check_now seq-init --now 2026-11-25T09:00:00+01:00
	assert_output 2026-11-25T08:00:00Z
	run check_now seq-init --now 2026-11-25T09:00:00-05:30
	assert_output 2026-11-25T14:30:00Z
	run check_now seq-init --now 2026-11-25t09:00:00.999z
	assert_output 2026-11-25T09:00:00Z
	run check_now seq-init --now "2026-11-25 09:00:00Z"
	assert_output 2026-11-25T09:00:00Z
	run check_now seq-init --now 2024-02-29T23:59:59Z
	assert_output 2024-02-29T23:59:59Z
	run check_now env SEQ_NOW=2026-12-31T23:00:00Z seq-init
	assert_output 2026-12-31T23:00:00Z
	run check_now env SEQ_NOW=2026-12-31T23:00:00Z seq-init --now 2026-01-01T00:00:00Z
	assert_output 2026-01-01T00:00:00Z
	# an empty $SEQ_NOW is no $SEQ_NOW: the clock
	before=$(date +%s)
	run check_now env SEQ_NOW= seq-init
	after=$(date +%s)
	assert_regex "$output" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'
	t=$(date -ud "$output" +%s)
	assert [ "$t" -ge "$before" ]
	assert [ "$t" -le "$after" ]
}

@test "a --now that is not an RFC 3339 time is a usage error, and nothing is created" {
	for t in yesterday 2026-11-25 2026-11-25T09:00 2026-11-25T09:00:00 \
	    2026-11-25T09:00:00+0100 2026-02-30T00:00:00Z 2026-13-01T00:00:00Z \
	    2026-11-25T24:00:00Z 2026-11-25T09:60:00Z 2026-11-25T09:00:00Zjunk \
	    2026-11-25T09:00:00.Z 1764061200; do
		echo "time: $t"
		run -2 --separate-stderr seq-init --now "$t"
		assert_output ""
		assert_equal "$stderr" "seq-init: --now: '$t' is not an RFC 3339 time (like 2026-11-25T09:00:00Z)"
		assert_file_not_exist "$SEQ_DB"
	done
	SEQ_NOW=tomorrow run -2 --separate-stderr seq-init
	assert_equal "$stderr" "seq-init: SEQ_NOW: 'tomorrow' is not an RFC 3339 time (like 2026-11-25T09:00:00Z)"
	assert_file_not_exist "$SEQ_DB"
}

@test "an empty --now is a usage error, not the clock" {
	run -2 --separate-stderr seq-init --now ""
	assert_output ""
	assert_equal "$stderr" "seq-init: --now: '' is not an RFC 3339 time (like 2026-11-25T09:00:00Z)"
	assert_file_not_exist "$SEQ_DB"
}

@test "every command takes --now and refuses a bad one with exit 2" {
	init_db
	for c in "seq-lead" "seq-lead --list" "seq-def --list" "seq-enroll --list" \
	    "seq-enroll --sequence intro" "seq-timeline --lead 1" "seq-due" \
	    "seq-send" "seq-log"; do
		echo "command: $c"
		prog=${c%% *}
		run -2 --separate-stderr $c --now 2026-11-25T9:00:00Z < /dev/null
		assert_output ""
		assert_equal "$stderr" "$prog: --now: '2026-11-25T9:00:00Z' is not an RFC 3339 time (like 2026-11-25T09:00:00Z)"
	done
	assert_equal "$(sql 'SELECT count(*) FROM leads')" 0
}

@test "seq-init usage errors exit 2 with the synopsis" {
	run -2 --separate-stderr seq-init extra
	assert_output ""
	assert_equal "$stderr" "usage: seq-init [--db path] [--now time] [--key-file file]
       seq-init [--db path] --rotate-key file"
	run -2 --separate-stderr seq-init --bogus
	assert_equal "$stderr" "seq-init: unrecognized option '--bogus'
usage: seq-init [--db path] [--now time] [--key-file file]
       seq-init [--db path] --rotate-key file"
	run -2 --separate-stderr seq-init --help
	assert_equal "$stderr" "usage: seq-init [--db path] [--now time] [--key-file file]
       seq-init [--db path] --rotate-key file"
	assert_file_not_exist "$SEQ_DB"
}
