#!/usr/bin/env bats
# A/B variants (sequence(5) "variants"): 10,000 enrollments split 70/20/10
# within 2 points, each job rendered from its variant, the variant kept by
# a retry and by a second database with the same ids, recorded on every
# attempt and in the timeline, and every funnel figure of seq-stats per
# variant equal to what SQL counts from the attempts and events.

load test_helper

T0=2026-11-23T09:00:00Z
T1=2026-11-23T10:00:00Z
T2=2026-11-23T11:00:00Z

# The 70/20/10 sequence: A and B change the subject, C only the text.
ab_def() {
	cat > ab.json <<'JSON'
{"name":"ab","steps":[{"id":"hello","type":"email",
 "subject":"Base: Hi {{first_name}}","text":"Hello {{first_name}}",
 "variants":[{"name":"A","weight":70,"subject":"A: Hi {{first_name}}"},
  {"name":"B","weight":20,"subject":"B: Hi {{first_name}}"},
  {"name":"C","weight":10,"text":"C: a question for {{first_name}}"}]}]}
JSON
	seq-def ab.json > /dev/null
}

# N leads l1..lN enrolled in ab at T0; every 500th address starts with
# "flaky", which the mock adapter fails transiently at attempt 1.
ab_world() {	# n
	ab_def
	awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++)
		printf "{\"external_id\":\"l%d\",\"email\":\"%suser%d@example.com\",\"first_name\":\"U%d\"}\n",
		    i, i % 500 ? "" : "flaky", i, i }' |
		seq-lead | seq-enroll --sequence ab --now "$T0" > /dev/null
}

# One world of 10,000 for the file, run through a tick at T1: its
# database and its jobs are copied into each test that needs them.
setup_file() {
	BATS_TEST_TMPDIR=$BATS_FILE_TMPDIR common_setup
	init_db
	ab_world 10000
	seq-due --now "$T1" | tee jobs.ndjson | seq-send --now "$T1" |
		seq-log --now "$T1" > /dev/null
	sql "PRAGMA wal_checkpoint(TRUNCATE)" > /dev/null
	mv seq.db world.db
	rm -f seq.db-wal seq.db-shm
}

setup() { common_setup; }

world() {
	cp "$BATS_FILE_TMPDIR/world.db" "$SEQ_DB"
	cp "$BATS_FILE_TMPDIR/jobs.ndjson" jobs.ndjson
}

@test "10,000 enrollments split 70/20/10 within 2 points, each job rendered from its variant" {
	world
	assert_equal "$(wc -l < jobs.ndjson)" 10000
	jq -r .variant jobs.ndjson | sort | uniq -c | awk '{ print $2, $1 }' > split
	assert_equal "$(cut -d' ' -f1 split | tr '\n' ' ')" "A B C "
	local v n w
	while read -r v n; do
		case $v in A) w=70 ;; B) w=20 ;; C) w=10 ;; esac
		awk -v n="$n" -v w="$w" 'BEGIN { d = n / 100 - w; exit !(d <= 2 && d >= -2) }' ||
			fail "variant $v: $n of 10000, not within 2 points of $w%"
	done < split
	# A and B their own subjects and the step's text; C the step's
	# subject and its own text
	jq -r 'select(.variant as $v | .subject != (if $v == "C" then "Base" else $v end) +
		": Hi " + (.to | capture("user(?<n>[0-9]+)@").n | "U" + .) or
		.text != (if .variant == "C" then "C: a question for " else "Hello " end) +
		(.to | capture("user(?<n>[0-9]+)@").n | "U" + .)) | .key' jobs.ndjson > wrong
	assert_equal "$(wc -l < wrong)" 0
	# every attempt records the variant of its job
	assert_equal "$(jq -r '[.execution_id, .variant] | @tsv' jobs.ndjson | sort)" \
		"$(sql -separator $'\t' "SELECT id, variant FROM sequence_executions" | sort)"
	assert_equal "$(sql "SELECT count(*) FROM sequence_executions WHERE variant IS NULL")" 0
	# and the timeline shows it
	local lead v
	IFS=$'\t' read -r lead v < <(jq -r 'select(.enrollment_id == 4242) | [.lead_id, .variant] | @tsv' jobs.ndjson)
	run -0 seq-timeline --lead "$lead"
	assert_equal "$(jq -r 'select(.kind == "step") | .details.variant' <<< "$output")" "$v"
}

@test "a retried step keeps its variant, at every attempt and in the job sent again" {
	world
	jq -c 'select(.to | startswith("flaky"))' jobs.ndjson > first
	assert_equal "$(wc -l < first)" 20
	# the flaky ones are not all of one variant, or this proves little
	assert [ "$(jq -r .variant first | sort -u | wc -l)" -ge 2 ]
	assert_equal "$(sql "SELECT count(*) FROM sequence_executions WHERE state = 'retry'")" 20
	seq-due --now "$T2" > again
	assert_equal "$(jq -r '[.enrollment_id, .attempt] | @tsv' again | sort -n | cut -f2 | sort -u)" 2
	assert_equal "$(jq -r '[.enrollment_id, .variant, .subject, .text] | @tsv' again | sort -n)" \
		"$(jq -r '[.enrollment_id, .variant, .subject, .text] | @tsv' first | sort -n)"
	seq-send --now "$T2" < again | seq-log --now "$T2" > /dev/null
	# both attempts of each record the same variant
	assert_equal "$(sql "SELECT count(*) FROM (SELECT enrollment_id FROM sequence_executions
		GROUP BY enrollment_id HAVING count(*) = 2 AND count(DISTINCT variant) = 1)")" 20
	assert_equal "$(sql "SELECT state, count(*) FROM sequence_executions GROUP BY 1 ORDER BY 1")" "retry|20
sent|10000"
}

@test "a second database with the same enrollment ids picks the same variants" {
	world
	sql -separator $'\t' "SELECT x.enrollment_id, l.external_id, x.variant FROM
		sequence_executions x JOIN leads l ON l.id = x.lead_id
		WHERE x.enrollment_id <= 2000 ORDER BY 1" > first
	export SEQ_DB="$BATS_TEST_TMPDIR/second.db"
	init_db
	# another instance: the choice depends on the ids alone
	assert [ "$(instance)" != "$(sqlite3 "$BATS_TEST_TMPDIR/seq.db" "SELECT value FROM meta WHERE key = 'instance'")" ]
	ab_world 2000
	seq-due --now 2026-12-01T10:00:00Z > jobs2
	assert_equal "$(wc -l < jobs2)" 2000
	assert_equal "$(sql -separator $'\t' "SELECT x.enrollment_id, l.external_id, x.variant FROM
		sequence_executions x JOIN leads l ON l.id = x.lead_id ORDER BY 1")" "$(cat first)"
	assert_equal "$(jq -r '[.enrollment_id, .variant] | @tsv' jobs2 | sort -n)" "$(cut -f1,3 first)"
}

# Every funnel figure per variant, as SQL counts it from the attempts and
# the events: sent, retried, delivered, opened, clicked, replied, bounced,
# opted_out, converted, cost and the mean reply time.
sql_figures() {
	sql -separator $'\t' "
	WITH fig AS (SELECT x.variant AS variant, x.state AS state,
		x.done_at AS done_at, e.status = 'converted' AS conv,
		(SELECT min(at) FROM events v WHERE v.execution_id = x.id AND v.type = 'delivered') AS dl,
		(SELECT min(at) FROM events v WHERE v.execution_id = x.id AND v.type = 'open') AS op,
		(SELECT min(at) FROM events v WHERE v.execution_id = x.id AND v.type = 'click') AS cl,
		(SELECT min(at) FROM events v WHERE v.execution_id = x.id AND v.type = 'reply') AS rp,
		(SELECT min(at) FROM events v WHERE v.execution_id = x.id AND v.type = 'bounce') AS bo,
		(SELECT min(at) FROM events v WHERE v.execution_id = x.id AND v.type = 'unsubscribe') AS un
		FROM sequence_executions x JOIN enrollments e ON e.id = x.enrollment_id)
	SELECT variant, sum(state = 'sent'), sum(state = 'retry'),
		sum(state = 'sent' AND dl IS NOT NULL), sum(state = 'sent' AND op IS NOT NULL),
		sum(state = 'sent' AND cl IS NOT NULL), sum(state = 'sent' AND rp IS NOT NULL),
		sum(state = 'sent' AND bo IS NOT NULL), sum(state = 'sent' AND un IS NOT NULL),
		sum(state = 'sent' AND conv), printf('%.3f', 0.001 * sum(state = 'sent')),
		printf('%.1f', avg(CASE WHEN state = 'sent' THEN rp - done_at END))
	FROM fig GROUP BY variant ORDER BY variant"
}

@test "seq-stats reports every funnel figure per variant, as SQL counts them" {
	world
	seq-due --now "$T2" | seq-send --now "$T2" | seq-log --now "$T2" > /dev/null
	# events on the sent attempts, of every kind, some twice; replies
	# after a time that differs by attempt
	sql "INSERT INTO events (provider, provider_event_id, type, at, execution_id, lead_id)
		SELECT 'mock', k.type || '-' || x.id || '-' || k.n, k.type,
		    x.done_at + 60 * (x.id % 97) + k.n, x.id, x.lead_id
		FROM sequence_executions x JOIN (
		    SELECT 'delivered' AS type, 2 AS m, 0 AS n UNION ALL
		    SELECT 'open', 3, 0 UNION ALL SELECT 'open', 6, 1 UNION ALL
		    SELECT 'click', 7, 0 UNION ALL SELECT 'reply', 11, 0 UNION ALL
		    SELECT 'reply', 22, 5 UNION ALL SELECT 'bounce', 29, 0 UNION ALL
		    SELECT 'unsubscribe', 31, 0) k ON x.id % k.m = 0
		WHERE x.state = 'sent'"
	sql "UPDATE enrollments SET status = 'converted', value = 10 WHERE id % 13 = 0"
	export SEQ_PRICES="email=0.001"
	run -0 --separate-stderr seq-stats --sequence ab
	assert_equal "$stderr" ""
	echo "$output" > stats
	assert_equal "$(jq -r 'select(.record == "step") | .variants[] | [.variant, .sent,
		.retried, .delivered, .opened, .clicked, .replied, .bounced, .opted_out,
		.converted, .cost, .reply_time_s.mean] | @tsv' stats |
		awk -F'\t' -v OFS='\t' '{ $11 = sprintf("%.3f", $11); $12 = sprintf("%.1f", $12); print }')" \
		"$(sql_figures)"
	# the rates are over each variant's own sends
	assert_equal "$(jq -r 'select(.record == "step") | .variants[] |
		((.rates.opened - .opened / .sent) | fabs) < 1e-9 and
		((.rates.replied - .replied / .sent) | fabs) < 1e-9' stats | sort -u)" true
	# and the variants add up to the step
	assert_equal "$(jq -c 'select(.record == "step") | [.sent, .retried, .opened, .clicked,
		.replied, .converted]' stats)" \
		"$(jq -c 'select(.record == "step") | [.variants | (map(.sent), map(.retried),
		map(.opened), map(.clicked), map(.replied), map(.converted)) | add]' stats)"
	# the table and the page show a line per variant
	run -0 seq-stats --sequence ab --table
	assert_equal "$(awk '$1 ~ /^hello/ { print $1, $3 }' <<< "$output")" \
		"hello 10000
$(jq -r 'select(.record == "step") | .variants[] | "hello/" + .variant + " " + (.sent | tostring)' stats)"
	run -0 seq-stats --sequence ab --html
	assert_equal "$(grep -o '<tr class="variant" data-variant="[A-C]">' <<< "$output" | cut -d'"' -f4 | tr '\n' ' ')" \
		"A B C "
}

@test "a step without variants has none in its jobs, attempts and figures; sms and voice variants render their own text" {
	init_db
	cat > mix.json <<'JSON'
{"name":"mix","steps":[{"id":"mail","type":"email","subject":"S {{first_name}}","text":"T"},
 {"id":"text","type":"sms","text":"plain {{first_name}}",
  "variants":[{"name":"short","text":"short {{first_name}}"},
   {"name":"long","weight":3,"text":"long {{first_name}}"}]},
 {"id":"call","type":"voice","say":"hello",
  "variants":[{"say":"first"},{"say":"second"}]}]}
JSON
	seq-def mix.json > /dev/null
	awk 'BEGIN { for (i = 1; i <= 40; i++)
		printf "{\"external_id\":\"m%d\",\"email\":\"m%d@example.com\",\"phone\":\"+1415555%04d\",\"first_name\":\"M%d\"}\n", i, i, 2000 + i, i }' |
		seq-lead | seq-enroll --sequence mix --now "$T0" > /dev/null
	local t
	for t in "$T1" 2026-11-23T10:01:00Z 2026-11-23T10:02:00Z; do
		seq-due --now "$t" | tee -a jobs | seq-send --now "$t" | seq-log --now "$t" > /dev/null
	done
	assert_equal "$(jq -r '[.channel, has("variant")] | @tsv' jobs | sort | uniq -c | awk '{ print $2, $3, $1 }')" \
		"email false 40
sms true 40
voice true 40"
	assert_equal "$(sql "SELECT step, count(variant) FROM sequence_executions GROUP BY 1 ORDER BY 1")" "call|40
mail|0
text|40"
	# sms: each its own text; voice: A and B
	jq -r 'select(.channel == "sms") | .variant + " " + .text' jobs |
		sed 's/ M[0-9]*$//' | sort | uniq -c | awk '{ print $2, $3 }' > sms
	assert_equal "$(cat sms)" "long long
short short"
	assert_equal "$(jq -r 'select(.channel == "voice") | .variant + " " + .say' jobs | sort -u)" "A first
B second"
	run -0 seq-stats --sequence mix
	assert_equal "$(jq -r 'select(.record == "step") | [.step, has("variants")] | @tsv' <<< "$output")" \
		"$(printf 'mail\tfalse\ntext\ttrue\ncall\ttrue')"
	assert_equal "$(jq -r 'select(.step == "text") | .variants | map(.variant + "=" + (.sent | tostring)) | join(" ")' <<< "$output")" \
		"$(jq -r 'select(.channel == "sms") | .variant' jobs | sort -r | uniq -c | awk '{ printf "%s%s=%s", (NR > 1 ? " " : ""), $2, $1 }')"
}

@test "variants work in a sealed database: chosen, rendered and recorded the same" {
	seq-init --key-file keys 2> /dev/null
	export SEQ_KEY_FILE="$BATS_TEST_TMPDIR/keys"
	ab_world 300
	seq-due --now "$T1" > sealed.jobs
	assert_equal "$(wc -l < sealed.jobs)" 300
	# the same picks as the plain world's enrollments 1..300
	assert_equal "$(jq -r '[.enrollment_id, .variant] | @tsv' sealed.jobs | sort -n)" \
		"$(jq -r 'select(.enrollment_id <= 300) | [.enrollment_id, .variant] | @tsv' "$BATS_FILE_TMPDIR/jobs.ndjson" | sort -n)"
	assert_equal "$(jq -r 'select(.variant == "B") | .subject' sealed.jobs | head -1 | cut -c1-7)" "B: Hi U"
	assert_equal "$(sql "SELECT count(*) FROM sequence_executions WHERE variant IS NOT NULL AND recipient IS NULL")" 300
}
