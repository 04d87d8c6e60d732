#!/usr/bin/env bats
# seq-stats --prom and what reads it: the Grafana dashboard asks only for
# metrics and labels that seq-stats prints, promtool accepts the exposition,
# the counters never go down, and the crontab line hands node_exporter whole
# files only.

load test_helper
setup() { common_setup; init_db; }

T0=2026-11-23T10:00:00Z
DASH=$TOP/share/grafana/seqtools-dashboard.json

# Some of everything: sends, a permanent failure and a retry through the
# mock adapter, a webhook waiting in the spool, one set aside.
world() {
	one_email_world 3 $T0
	leads '{"external_id":"f1","email":"fail1@example.com"}' \
		'{"external_id":"k1","email":"flaky1@example.com"}'
	enroll one $T0 f1 k1
	tick $T0 > /dev/null
	mkdir -p spool/new spool/quarantine spool/tmp
	: > spool/new/1.json
	: > spool/quarantine/2.json
	export SEQ_SPOOL=$BATS_TEST_TMPDIR/spool
}

# The query of every panel, one a line.
exprs() { jq -r '.. | objects | select(has("targets")) | .targets[].expr' "$DASH"; }

# The samples of the counters and histograms, as "series value" lines.
counter_samples() {
	awk '$1 == "#" && $2 == "TYPE" && ($4 == "counter" || $4 == "histogram") {
		fam[$3] = 1; next }
	/^#/ { next }
	{ name = $1; sub(/\{.*/, "", name); base = name
	  sub(/_(bucket|sum|count)$/, "", base)
	  if (name in fam || base in fam) print }' "$1"
}

# What of the dashboard's queries seq-stats does not print (in $1): a metric,
# a label matched or grouped by, or a value matched.
unknown_to_prom() {
	local prom=$1 expr names n base sel m label by
	while IFS= read -r expr; do
		names=$(grep -o 'seqtools_[a-z0-9_]*' <<< "$expr" | sort -u)
		[ -n "$names" ] || echo "no seqtools metric in: $expr"
		for n in $names; do
			base=$n
			if ! grep -q "^# TYPE $n " "$prom"; then
				base=$(sed -E 's/_(bucket|sum|count)$//' <<< "$n")
				[ "$base" != "$n" ] &&
					grep -q "^# TYPE $base histogram$" "$prom" ||
					echo "no metric $n, in: $expr"
			fi
		done
		# label="value" matchers, on the metric they follow
		for sel in $(grep -o 'seqtools_[a-z0-9_]*{[^}]*}' <<< "$expr"); do
			n=${sel%%\{*}
			for m in $(grep -o '[a-z_]*=~*"[^"]*"' <<< "$sel"); do
				grep -q "^$n{\(.*,\)\?$m[,}]" "$prom" ||
					echo "no sample of $n with $m, in: $expr"
			done
		done
		# by (labels): each on some sample of the query's metrics
		for by in $(grep -o 'by *([^)]*)' <<< "$expr" |
		    sed 's/by *(//; s/)//; s/,/ /g'); do
			label=$by
			found=
			for n in $names; do
				grep -q "^$n{\(.*,\)\?$label=" "$prom" && found=1
			done
			[ -n "$found" ] || echo "no label $label on $names, in: $expr"
		done
	done < <(exprs)
}

@test "the dashboard is a Grafana dashboard on a Prometheus data source chosen at import" {
	run jq -e . "$DASH"
	assert_success
	# an input, as an exported dashboard has, and a variable of the same
	# name, so that it also works when provisioned from the file
	assert_equal "$(jq -c '[.__inputs[] | {name, type, pluginId}]' "$DASH")" \
		'[{"name":"DS_PROMETHEUS","type":"datasource","pluginId":"prometheus"}]'
	assert_equal "$(jq -c '[.templating.list[] | select(.type == "datasource") | {name, query}]' "$DASH")" \
		'[{"name":"DS_PROMETHEUS","query":"prometheus"}]'
	run jq -e '.schemaVersion >= 36 and .uid == "seqtools" and (.panels | length) >= 9' "$DASH"
	assert_success
	# every panel and query on that data source
	assert_equal "$(jq -c '[.. | objects | select(has("datasource")) | .datasource
		| select(.type != "grafana")] | unique' "$DASH")" \
		'[{"type":"prometheus","uid":"${DS_PROMETHEUS}"}]'
	# unique ids, each panel on the 24-column grid, with queries of one
	# line and unique refIds
	assert_equal "$(jq '[.panels[].id] | length - (unique | length)' "$DASH")" 0
	assert_equal "$(jq -c '[.panels[] | select(.gridPos.x + .gridPos.w > 24
		or .gridPos.w < 1 or .gridPos.h < 1 or (.targets | length) == 0
		or ([.targets[].refId] | length != (unique | length))
		or any(.targets[]; (.expr | type) != "string" or (.expr | test("\n"))))
		| .title]' "$DASH")" '[]'
}

@test "every metric, label and value the dashboard asks for is one seq-stats --prom prints" {
	world
	seq-stats --prom --now 2026-11-23T10:01:00Z > metrics.prom
	# the world has what the panels match on
	assert grep -q 'outcome="failed"' metrics.prom
	assert grep -q '^seqtools_retries_total{' metrics.prom
	run unknown_to_prom metrics.prom
	assert_success
	assert_output ""
}

@test "the dashboard shows every metric family that seq-stats --prom prints" {
	world
	seq-stats --prom > metrics.prom
	all=$(exprs)
	for fam in $(awk '$1 == "#" && $2 == "TYPE" { print $3 }' metrics.prom); do
		grep -q "$fam" <<< "$all" || echo "$fam" >> missing
	done
	assert_file_not_exists missing
	assert_equal "$(grep -c '^# TYPE' metrics.prom)" 9
}

@test "promtool check metrics accepts seq-stats --prom" {
	command -v promtool > /dev/null ||
		skip "promtool is not installed (Debian package prometheus; tools/deps installs it)"
	# an empty database: families without samples
	run --separate-stderr promtool check metrics < <(seq-stats --prom)
	assert_success
	assert_output ""
	assert_equal "$stderr" ""
	world
	seq-stats --prom > metrics.prom
	run --separate-stderr promtool check metrics < metrics.prom
	assert_success
	assert_output ""
	assert_equal "$stderr" ""
}

@test "counters survive the erasure of a lead and only grow after it" {
	world
	seq-stats --prom > before.prom
	counter_samples before.prom > before
	assert grep -q '^seqtools_sends_total{adapter="mock",channel="email",outcome="sent"} 3$' before
	run --separate-stderr seq-lead --erase 1
	assert_success
	assert_equal "$(jq -r .steps <<< "$output")" 1
	seq-stats --prom > erased.prom
	counter_samples erased.prom > erased
	run diff -u before erased
	assert_success
	# the retry goes out, and new leads are sent to
	leads '{"external_id":"n1","email":"new1@example.com"}' \
		'{"external_id":"n2","email":"new2@example.com"}'
	enroll one 2026-11-23T11:00:00Z n1 n2
	tick 2026-11-23T11:00:00Z > /dev/null
	seq-stats --prom > after.prom
	counter_samples after.prom > after
	# every series is still there, none went down, some went up
	run awk 'NR == FNR { was[$1] = $2; next }
		($1 in was) { seen[$1] = 1; if ($2 + 0 < was[$1] + 0) print "down: " $1 " " was[$1] " -> " $2
			else if ($2 + 0 > was[$1] + 0) up++ }
		END { for (s in was) if (!(s in seen)) print "gone: " s
			if (!up) print "nothing grew" }' before after
	assert_success
	assert_output ""
	assert grep -q '^seqtools_sends_total{adapter="mock",channel="email",outcome="sent"} 6$' after
}

# A seq-stats that writes half its output, then waits until the test has
# looked, as a slow one would.
slow_stats() {
	mkdir -p slowbin
	cat > slowbin/seq-stats <<SH
#!/bin/sh
"$SEQ_BIN/seq-stats" "\$@" > "$BATS_TEST_TMPDIR/full" || exit \$?
head -n 10 "$BATS_TEST_TMPDIR/full"
: > "$BATS_TEST_TMPDIR/half-written"
i=0
while [ ! -e "$BATS_TEST_TMPDIR/go" ] && [ \$i -lt 200 ]; do sleep 0.05; i=\$((i + 1)); done
tail -n +11 "$BATS_TEST_TMPDIR/full"
SH
	chmod 755 slowbin/seq-stats
}

@test "the crontab line hands node_exporter whole files only, and cleans up after a failure" {
	world
	line=$(grep -v '^#' "$TOP/crontab.example" | grep 'seq-stats --prom')
	assert [ -n "$line" ]
	cmd=$(sed -E 's/^([^ ]+ +){5}//' <<< "$line")
	mkdir textfile
	cmd=${cmd//\/var\/lib\/prometheus\/node-exporter/$BATS_TEST_TMPDIR/textfile}
	cmd=${cmd//\/var\/spool\/seqtools/$BATS_TEST_TMPDIR/spool}
	run sh -c "$cmd"
	assert_success
	assert_equal "$(ls textfile)" seqtools.prom
	assert grep -q '^seqtools_spool_files{dir="new"} 1$' textfile/seqtools.prom
	cp textfile/seqtools.prom first.prom

	# while seq-stats is half-way, the collector still sees the old file
	tick 2026-11-23T11:00:00Z > /dev/null
	slow_stats
	PATH="$BATS_TEST_TMPDIR/slowbin:$PATH" sh -c "$cmd" 3>&- &
	i=0
	while [ ! -e half-written ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
	assert_file_exists half-written
	for f in textfile/*.prom; do
		cmp "$f" first.prom || echo "$f" >> not-the-old-file
	done
	: > go
	wait $!
	assert_file_not_exists not-the-old-file
	assert_equal "$(ls textfile)" seqtools.prom
	run cmp textfile/seqtools.prom full
	assert_success
	run cmp textfile/seqtools.prom first.prom
	assert_failure

	# a run that fails leaves the last file, and no temporary one
	cp textfile/seqtools.prom second.prom
	SEQ_DB=$BATS_TEST_TMPDIR/missing.db run sh -c "$cmd"
	assert_equal "$(ls textfile)" seqtools.prom
	run cmp textfile/seqtools.prom second.prom
	assert_success
}
