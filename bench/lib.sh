# Shared by the benchmarks: a world of N due steps of a one-email sequence,
# built with the commands themselves, checkpointed, and kept as a template.
# With a third argument "sealed", the database keeps personal data sealed
# under a key file made in dir, and SEQ_KEY_FILE names it.
bench_world() {	# dir n [sealed]
	local dir=$1 n=$2
	rm -rf "$dir"
	mkdir -p "$dir"
	export SEQ_DB="$dir/seq.db"
	unset SEQ_KEY_FILE
	if [ "${3:-}" = sealed ]; then
		seq-init --key-file "$dir/keys" 2> /dev/null
		export SEQ_KEY_FILE="$dir/keys"
	else
		seq-init 2> /dev/null
	fi
	cat > "$dir/one.json" <<'JSON'
{"name":"one","steps":[{"id":"hello","type":"email",
 "subject":"Hi {{first_name|there}}",
 "text":"Hello {{first_name|there}}, a question about {{company|your team}}."}]}
JSON
	seq-def "$dir/one.json" > /dev/null
	awk -v n="$n" 'BEGIN { for (i = 1; i <= n; i++)
		printf "{\"external_id\":\"b%d\",\"email\":\"user%d@example.com\",\"first_name\":\"U%d\"}\n", i, i, i }' |
		seq-lead | seq-enroll --sequence one --now 2026-11-25T10:00:00Z > /dev/null
	sqlite3 "$SEQ_DB" "PRAGMA wal_checkpoint(TRUNCATE)" > /dev/null
	cp "$SEQ_DB" "$dir/template.db"
}

# A fresh copy of the template; synced, so that writing back the copy does
# not land inside the next timed run.
bench_reset() {	# dir
	cp "$1/template.db" "$1/seq.db"
	rm -f "$1/seq.db-wal" "$1/seq.db-shm"
	sync
}

# Wall seconds of a command line, to the millisecond.
seconds() {
	local t0 t1
	t0=$(date +%s%N)
	"$@"
	t1=$(date +%s%N)
	awk -v d=$((t1 - t0)) 'BEGIN { printf "%.3f", d / 1e9 }'
}
