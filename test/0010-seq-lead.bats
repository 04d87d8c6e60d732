#!/usr/bin/env bats
# seq-lead: normalisation, badges and quality, the upsert rule, attributes,
# consent, CSV, --list, and records it must refuse.

load test_helper

setup() {
	common_setup
	init_db
}

# The stored email and phone of one record, and whether each is valid.
stored() {
	local region=$1
	shift
	printf '%s\n' "$1" > one.ndjson
	seq-lead ${region:+--default-region "$region"} --now 2026-11-25T10:00:00Z < one.ndjson |
		jq -r '[.email // "-", .phone // "-", (.badges | join(","))] | join(" ")'
}

@test "email: white space trimmed, domain lower-cased, local part kept as given" {
	run stored "" '{"external_id":"e1","email":"  John.Smith+Tag@Mail.Example.COM \t"}'
	assert_output "John.Smith+Tag@mail.example.com - valid-email,missing-name,no-timezone"
	assert_equal "$(sql 'SELECT email FROM leads')" "John.Smith+Tag@mail.example.com"
	run stored "" '{"external_id":"e2","email":"o'"'"'brien!#$%&*=?^_`{|}~-/@EXAMPLE.ie"}'
	assert_output "o'brien!#\$%&*=?^_\`{|}~-/@example.ie - valid-email,missing-name,no-timezone"
	run stored "" '{"external_id":"e3","email":"ADA@XN--BCHER-KVA.EXAMPLE"}'
	assert_output "ADA@xn--bcher-kva.example - valid-email,missing-name,no-timezone"
}

@test "email: invalid addresses are kept as given and badged invalid-email" {
	for e in "not-an-address" "a@b" "@example.com" "a@@example.com" \
	    "a..b@example.com" ".a@example.com" "a.@example.com" \
	    "a b@example.com" "a@-example.com" "a@example-.com" "a@example..com" \
	    "a@example.c" "a@example.c0m" "a@exa_mple.com" \
	    "$(printf 'x%.0s' {1..65})@example.com"; do
		echo "email: $e"
		run stored "" "{\"external_id\":\"bad\",\"email\":\"$e\",\"first_name\":\"B\",\"timezone\":\"UTC\"}"
		assert_output "$e - invalid-email,no-contact"
	done
	assert_equal "$(sql 'SELECT count(*) FROM leads')" 1
}

@test "phone: national numbers to E.164 in the default region (US, GB, DE); 00 and + are international" {
	run stored US '{"external_id":"p","phone":"(202) 555-0142"}'
	assert_output "- +12025550142 valid-phone,missing-name,no-timezone"
	run stored US '{"external_id":"p","phone":"1-202-555-0142"}'
	assert_output "- +12025550142 valid-phone,missing-name,no-timezone"
	run stored US '{"external_id":"p","phone":"202.555.0142"}'
	assert_output "- +12025550142 valid-phone,missing-name,no-timezone"
	run stored us '{"external_id":"p","phone":"+1 (202) 555-0142"}'
	assert_output "- +12025550142 valid-phone,missing-name,no-timezone"
	# NANP: area code and exchange start with 2-9; ten digits
	run stored US '{"external_id":"p","phone":"(102) 555-0142"}'
	assert_output "- (102) 555-0142 invalid-phone,no-contact,missing-name,no-timezone"
	run stored US '{"external_id":"p","phone":"202 555 014"}'
	assert_output "- 202 555 014 invalid-phone,no-contact,missing-name,no-timezone"
	# GB: the trunk 0 is dropped
	run stored GB '{"external_id":"p","phone":"020 7946 0018"}'
	assert_output "- +442079460018 valid-phone,missing-name,no-timezone"
	run stored GB '{"external_id":"p","phone":"07700 900123"}'
	assert_output "- +447700900123 valid-phone,missing-name,no-timezone"
	run stored GB '{"external_id":"p","phone":"0044 20 7946 0018"}'
	assert_output "- +442079460018 valid-phone,missing-name,no-timezone"
	run stored US '{"external_id":"p","phone":"+44 20 7946 0018"}'
	assert_output "- +442079460018 valid-phone,missing-name,no-timezone"
	# DE
	run stored DE '{"external_id":"p","phone":"030 1234567"}'
	assert_output "- +49301234567 valid-phone,missing-name,no-timezone"
	run stored DE '{"external_id":"p","phone":"0171/1234567"}'
	assert_output "- +491711234567 valid-phone,missing-name,no-timezone"
	run stored DE '{"external_id":"p","phone":"0049 30 1234567"}'
	assert_output "- +49301234567 valid-phone,missing-name,no-timezone"
	run stored GB '{"external_id":"p","phone":"0049 30 1234567"}'
	assert_output "- +49301234567 valid-phone,missing-name,no-timezone"
	# letters, too many digits, a leading 0 after +
	run stored US '{"external_id":"p","phone":"202-555-CALL"}'
	assert_output "- 202-555-CALL invalid-phone,no-contact,missing-name,no-timezone"
	run stored US '{"external_id":"p","phone":"+1 202 555 0142 1234 5678 9012"}'
	assert_output "- +1 202 555 0142 1234 5678 9012 invalid-phone,no-contact,missing-name,no-timezone"
	run stored US '{"external_id":"p","phone":"+0 202 555 0142"}'
	assert_output "- +0 202 555 0142 invalid-phone,no-contact,missing-name,no-timezone"
	assert_equal "$(sql 'SELECT count(*) FROM leads')" 1
}

@test "phone: a national number with no default region is invalid; \$SEQ_DEFAULT_REGION is one; --default-region beats it" {
	run stored "" '{"external_id":"p","phone":"(202) 555-0142"}'
	assert_output "- (202) 555-0142 invalid-phone,no-contact,missing-name,no-timezone"
	export SEQ_DEFAULT_REGION=GB
	run stored "" '{"external_id":"p","phone":"020 7946 0018"}'
	assert_output "- +442079460018 valid-phone,missing-name,no-timezone"
	run stored US '{"external_id":"p","phone":"(202) 555-0142"}'
	assert_output "- +12025550142 valid-phone,missing-name,no-timezone"
	# an empty region is none
	run stored "" '{"external_id":"q","phone":"020 7946 0018"}'
	assert_output "- +442079460018 valid-phone,missing-name,no-timezone"
	export SEQ_DEFAULT_REGION=
	run stored "" '{"external_id":"q","phone":"020 7946 0018"}'
	assert_output "- 020 7946 0018 invalid-phone,no-contact,missing-name,no-timezone"
}

@test "an unknown default region is a usage error" {
	echo '{"external_id":"p","phone":"020 7946 0018"}' > one.ndjson
	run -2 --separate-stderr seq-lead --default-region XX < one.ndjson
	assert_output ""
	assert_equal "$stderr" "seq-lead: --default-region: 'XX' is not a region this seqtools knows (see seq-lead(1))"
	export SEQ_DEFAULT_REGION=UK
	run -2 --separate-stderr seq-lead < one.ndjson
	assert_equal "$stderr" "seq-lead: --default-region: 'UK' is not a region this seqtools knows (see seq-lead(1))"
	assert_equal "$(sql 'SELECT count(*) FROM leads')" 0
}

@test "every badge of the vocabulary, with its exact quality" {
	cat > badges.ndjson <<'EOF'
{"external_id":"b1","email":"ada@example.com","phone":"+44 20 7946 0018","first_name":"Ada","timezone":"Europe/London"}
{"external_id":"b2","email":"not-an-address","phone":"+1 202 555 0142","first_name":"Ned","timezone":"Europe/Paris"}
{"external_id":"b3","email":"Sales@corp.example","first_name":"Sam","timezone":"Europe/Paris"}
{"external_id":"b4","email":"ken@Mailinator.com","first_name":"Ken","timezone":"Europe/Paris"}
{"external_id":"b5","email":"b5@example.com","phone":"12","first_name":"Pia","timezone":"Europe/Paris"}
{"external_id":"b6","first_name":"Quin","timezone":"Europe/Paris"}
{"external_id":"b7","email":"b7@example.com","timezone":"Europe/Paris"}
{"external_id":"b8","email":"b8@example.com","last_name":"Roe"}
{"external_id":"b9","email":"b9@example.com","first_name":"Sue","timezone":"Mars/Olympus_Mons"}
{"external_id":"b10","email":"ada@example.com","first_name":"Ada","timezone":"Europe/London"}
{"external_id":"b11","email":"other@example.com","phone":"+442079460018","first_name":"Ada","timezone":"Europe/London"}
{"external_id":"b12","email":"x","phone":"1"}
{"external_id":"b13","email":"info@mailinator.com","phone":"12"}
{"external_id":"b14","email":"no-reply@example.com","first_name":"N","timezone":"UTC"}
EOF
	run --separate-stderr seq-lead < badges.ndjson
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(jq -c '[.id, .external_id, .badges, .quality, .duplicate_of]' <<< "$output")" \
'[1,"b1",["valid-email","valid-phone"],100,null]
[2,"b2",["invalid-email","valid-phone"],60,null]
[3,"b3",["valid-email","role-address"],85,null]
[4,"b4",["valid-email","disposable-domain"],70,null]
[5,"b5",["valid-email","invalid-phone"],80,null]
[6,"b6",["no-contact"],40,null]
[7,"b7",["valid-email","missing-name"],90,null]
[8,"b8",["valid-email","no-timezone"],95,null]
[9,"b9",["valid-email","invalid-timezone"],95,null]
[10,"b10",["valid-email","duplicate"],90,[1]]
[11,"b11",["valid-email","valid-phone","duplicate"],90,[1]]
[12,"b12",["invalid-email","invalid-phone","no-contact","missing-name","no-timezone"],0,null]
[13,"b13",["valid-email","role-address","disposable-domain","invalid-phone","missing-name","no-timezone"],20,null]
[14,"b14",["valid-email","role-address"],85,null]'
	# what was written is what was stored
	assert_equal "$(sql 'SELECT id, badges, quality FROM leads ORDER BY id')" \
"$(jq -r '"\(.id)|\(.badges | tojson)|\(.quality)"' <<< "$output")"
	assert_equal "$(sql "SELECT email FROM leads WHERE external_id = 'b4'")" "ken@mailinator.com"
}

@test "badges are worked out again from the stored fields when a lead is updated" {
	echo '{"external_id":"r1","email":"bad-address"}' > a.ndjson
	echo '{"external_id":"r1","email":"good@example.com","first_name":"G","timezone":"Europe/Berlin"}' > b.ndjson
	echo '{"external_id":"r1","timezone":"Nowhere/Special"}' > c.ndjson
	run --separate-stderr seq-lead < a.ndjson
	assert_equal "$(jq -c '[.badges, .quality]' <<< "$output")" '[["invalid-email","no-contact","missing-name","no-timezone"],0]'
	run --separate-stderr seq-lead < b.ndjson
	assert_equal "$(jq -c '[.badges, .quality]' <<< "$output")" '[["valid-email"],100]'
	run --separate-stderr seq-lead < c.ndjson
	assert_equal "$(jq -c '[.email, .badges, .quality]' <<< "$output")" '["good@example.com",["valid-email","invalid-timezone"],95]'
	assert_equal "$(sql 'SELECT count(*), badges, quality FROM leads')" '1|["valid-email","invalid-timezone"]|95'
}

@test "upsert by external_id: a second record updates the lead, and fields it leaves out are kept" {
	echo '{"external_id":"crm-1","email":"ada@example.com","phone":"+44 20 7946 0018","first_name":"Ada","last_name":"Lovelace","company":"Engines","title":"CTO","timezone":"Europe/London"}' > first.ndjson
	echo '{"external_id":"crm-1","last_name":"King","company":"Analytical Engines"}' > second.ndjson
	run --separate-stderr seq-lead --now 2026-11-25T10:00:00Z < first.ndjson
	assert_success
	run --separate-stderr seq-lead --now 2026-11-26T11:30:00Z < second.ndjson
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(jq -c . <<< "$output")" '{"id":1,"external_id":"crm-1","email":"ada@example.com","phone":"+442079460018","first_name":"Ada","last_name":"King","company":"Analytical Engines","title":"CTO","timezone":"Europe/London","badges":["valid-email","valid-phone"],"quality":100,"created_at":"2026-11-25T10:00:00Z","updated_at":"2026-11-26T11:30:00Z"}'
	assert_equal "$(sql 'SELECT count(*) FROM leads')" 1
	assert_equal "$(sql 'SELECT id, external_id, email, phone, first_name, last_name, company, title, timezone, created_at, updated_at FROM leads')" \
		"1|crm-1|ada@example.com|+442079460018|Ada|King|Analytical Engines|CTO|Europe/London|1795600800|1795692600"
}

@test "upsert by email when there is no external_id: same normalised email updates, another local-part case inserts" {
	echo '{"external_id":"crm-7","email":"grace@example.org","first_name":"Grace","company":"Navy"}' > a.ndjson
	echo '{"email":"  grace@EXAMPLE.ORG ","last_name":"Hopper","title":"RADM"}' > b.ndjson
	echo '{"email":"Grace@example.org","first_name":"Other"}' > c.ndjson
	seq-lead < a.ndjson > /dev/null
	run --separate-stderr seq-lead < b.ndjson
	assert_success
	assert_equal "$(jq -c '[.id, .external_id, .email, .first_name, .last_name, .company, .title]' <<< "$output")" \
		'[1,"crm-7","grace@example.org","Grace","Hopper","Navy","RADM"]'
	assert_equal "$(sql 'SELECT count(*) FROM leads')" 1
	# the local part is case-sensitive: another lead
	run --separate-stderr seq-lead < c.ndjson
	assert_success
	assert_equal "$(jq -c '[.id, .email, .first_name]' <<< "$output")" '[2,"Grace@example.org","Other"]'
	assert_equal "$(sql 'SELECT id, external_id, email, first_name FROM leads ORDER BY id')" \
"1|crm-7|grace@example.org|Grace
2||Grace@example.org|Other"
}

@test "a record with an external_id never updates another lead found by email" {
	echo '{"external_id":"x1","email":"same@example.com","first_name":"One"}' > a.ndjson
	echo '{"external_id":"x2","email":"same@example.com","first_name":"Two"}' > b.ndjson
	seq-lead < a.ndjson > /dev/null
	run --separate-stderr seq-lead < b.ndjson
	assert_success
	assert_equal "$(jq -c '[.id, .badges, .quality, .duplicate_of]' <<< "$output")" '[2,["valid-email","no-timezone","duplicate"],85,[1]]'
	assert_equal "$(sql 'SELECT id, external_id, first_name FROM leads ORDER BY id')" "1|x1|One
2|x2|Two"
}

@test "null or an empty string clears a field; CSV's empty cells do not" {
	echo '{"external_id":"c1","email":"c1@example.com","first_name":"Cy","company":"Co","title":"Boss"}' > a.ndjson
	echo '{"external_id":"c1","company":null,"title":""}' > b.ndjson
	seq-lead < a.ndjson > /dev/null
	run --separate-stderr seq-lead < b.ndjson
	assert_success
	assert_equal "$(jq -c '[.first_name, .company, .title]' <<< "$output")" '["Cy",null,null]'
	assert_equal "$(sql "SELECT first_name, quote(company), quote(title) FROM leads")" "Cy|NULL|NULL"
	printf 'external_id,first_name,company\nc1,,Again\n' > c.csv
	run --separate-stderr seq-lead --csv < c.csv
	assert_success
	assert_equal "$(sql "SELECT first_name, company FROM leads")" "Cy|Again"
}

@test "attributes: other members and the attributes object are kept, merged on update" {
	echo '{"external_id":"a1","email":"a1@example.com","plan":"pro","seats":40,"tags":["x","y"],"attributes":{"region":"emea","plan":"old"}}' > a.ndjson
	echo '{"external_id":"a1","seats":41,"attributes":{"owner":"kim"}}' > b.ndjson
	run --separate-stderr seq-lead < a.ndjson
	assert_success
	assert_equal "$(jq -cS .attributes <<< "$output")" '{"plan":"pro","region":"emea","seats":40,"tags":["x","y"]}'
	run --separate-stderr seq-lead < b.ndjson
	assert_success
	assert_equal "$(jq -cS .attributes <<< "$output")" '{"owner":"kim","plan":"pro","region":"emea","seats":41,"tags":["x","y"]}'
	assert_equal "$(sql 'SELECT attributes FROM leads' | jq -cS .)" '{"owner":"kim","plan":"pro","region":"emea","seats":41,"tags":["x","y"]}'
	# seq-lead's own output fed back changes nothing but updated_at
	run --separate-stderr seq-lead --now 2026-12-01T00:00:00Z < b.ndjson
	echo "$output" > back.ndjson
	run --separate-stderr seq-lead --now 2026-12-02T00:00:00Z < back.ndjson
	assert_success
	assert_equal "$(jq -cS 'del(.updated_at)' <<< "$output")" "$(jq -cS 'del(.updated_at)' back.ndjson)"
	assert_equal "$(sql 'SELECT count(*) FROM leads')" 1
}

@test "consent {\"sms\":\"opt-out\"} is recorded, once per change" {
	echo '{"external_id":"m1","email":"m@example.com","phone":"+1 617 555 0123","consent":{"sms":"opt-out"}}' > a.ndjson
	echo '{"external_id":"m1","consent":{"sms":"opt-in","email":"opt-out"}}' > c.ndjson
	run --separate-stderr seq-lead --now 2026-11-25T10:00:00Z < a.ndjson
	assert_success
	assert_equal "$(sql 'SELECT lead_id, channel, state, source, at FROM consent')" "1|sms|opt-out|import|1795600800"
	# the same state again is no change
	run --separate-stderr seq-lead --now 2026-11-25T11:00:00Z < a.ndjson
	assert_success
	assert_equal "$(sql 'SELECT count(*) FROM consent')" 1
	run --separate-stderr seq-lead --now 2026-11-25T12:00:00Z < c.ndjson
	assert_success
	assert_equal "$(sql 'SELECT channel, state, source, at FROM consent ORDER BY channel, id')" "email|opt-out|import|1795608000
sms|opt-out|import|1795600800
sms|opt-in|import|1795608000"
	# consent is not an attribute
	assert_equal "$(sql 'SELECT attributes FROM leads')" '{}'
}

@test "bad consent is rejected with its line number, and changes nothing" {
	cat > in.ndjson <<'EOF'
{"external_id":"k0","email":"k0@example.com"}
{"external_id":"k1","email":"k1@example.com","consent":{"fax":"opt-out"}}
{"external_id":"k2","email":"k2@example.com","consent":{"sms":"yes"}}
{"external_id":"k3","email":"k3@example.com","consent":"opt-out"}
{"external_id":"k0","consent":{"sms":"opt-out","voice":null}}
EOF
	run -1 --separate-stderr seq-lead < in.ndjson
	assert_equal "$stderr" 'seq-lead: line 2: consent: channels are email, sms and voice
seq-lead: line 3: consent: a state is "opt-in" or "opt-out"
seq-lead: line 4: consent must be an object like {"email": "opt-out"}
seq-lead: line 5: consent: a state is "opt-in" or "opt-out"'
	assert_equal "$(jq -r .external_id <<< "$output")" k0
	assert_equal "$(sql 'SELECT external_id FROM leads')" k0
	assert_equal "$(sql 'SELECT count(*) FROM consent')" 0
}

@test "--csv: a header, quoted fields with commas, quotes and newlines; a short row is rejected with its line number" {
	printf '%s\r\n' 'external_id,email,first_name,company,note,phone' > in.csv
	cat >> in.csv <<'EOF'
c1,ann@example.com,Ann,"Acme, Inc.","she said ""hi""",+12025550142
c2,bob@example.com,Bob,Bee,"line one
line two",
c3,cy@example.com,Cy

c4,di@example.com,Di,"Dee ""D"" Co",ok,020 7946 0018
c5,"ed@example.com",Ed,E,"a,b,""c""
d",
EOF
	run -1 --separate-stderr seq-lead --csv --default-region GB < in.csv
	assert_equal "$stderr" "seq-lead: line 5: 3 fields where the header has 6"
	assert_equal "$(jq -c '[.id, .external_id, .company, .attributes.note, .phone]' <<< "$output")" \
'[1,"c1","Acme, Inc.","she said \"hi\"","+12025550142"]
[2,"c2","Bee","line one\nline two",null]
[3,"c4","Dee \"D\" Co","ok","+442079460018"]
[4,"c5","E","a,b,\"c\"\nd",null]'
	assert_equal "$(sql 'SELECT external_id FROM leads ORDER BY id' | tr '\n' ' ')" "c1 c2 c4 c5 "
}

@test "--csv: rows with too many fields and an unclosed quote are rejected with the line they start on" {
	cat > in.csv <<'EOF'
external_id,email
q1,q1@example.com
q2,q2@example.com,extra
"q3
 still q3",q3@example.com
q4,"q4@example.com
EOF
	run -1 --separate-stderr seq-lead --csv < in.csv
	assert_equal "$stderr" "seq-lead: line 3: 3 fields where the header has 2
seq-lead: line 6: a quoted field is never closed"
	assert_equal "$(sql 'SELECT json_group_array(external_id) FROM (SELECT external_id FROM leads ORDER BY id)')" '["q1","q3\n still q3"]'
}

@test "--csv: an empty input has no header" {
	run -1 --separate-stderr seq-lead --csv < /dev/null
	assert_output ""
	assert_equal "$stderr" "seq-lead: line 1: no header line"
}

@test "--list with --badge (all of them required), --min-quality and --limit" {
	load_example
	run --separate-stderr seq-lead --list
	assert_success
	assert_equal "$(jq -r .id <<< "$output" | tr '\n' ' ')" "1 2 3 4 5 6 7 8 9 10 "
	# --list leaves duplicate_of out
	assert_equal "$(jq -c 'select(.id == 9) | [.badges, .duplicate_of]' <<< "$output")" '[["valid-email","duplicate"],null]'
	run --separate-stderr seq-lead --list --badge valid-email
	assert_equal "$(jq -r .id <<< "$output" | tr '\n' ' ')" "1 2 3 4 5 7 8 9 10 "
	run --separate-stderr seq-lead --list --badge valid-email --badge valid-phone
	assert_equal "$(jq -r .id <<< "$output" | tr '\n' ' ')" "1 3 4 7 8 10 "
	run --separate-stderr seq-lead --list --badge valid-phone --badge role-address
	assert_equal "$(jq -r .id <<< "$output" | tr '\n' ' ')" "4 "
	run --separate-stderr seq-lead --list --badge duplicate
	assert_equal "$(jq -r .id <<< "$output" | tr '\n' ' ')" "9 "
	run --separate-stderr seq-lead --list --badge no-such-badge
	assert_success
	assert_output ""
	run --separate-stderr seq-lead --list --min-quality 90
	assert_equal "$(jq -r .id <<< "$output" | tr '\n' ' ')" "1 3 7 8 9 10 "
	run --separate-stderr seq-lead --list --min-quality 100
	assert_equal "$(jq -r .id <<< "$output" | tr '\n' ' ')" "1 3 7 10 "
	run --separate-stderr seq-lead --list --min-quality 75 --badge valid-phone
	assert_equal "$(jq -r .id <<< "$output" | tr '\n' ' ')" "1 3 4 7 8 10 "
	run --separate-stderr seq-lead --list --badge valid-email --limit 2
	assert_equal "$(jq -r .id <<< "$output" | tr '\n' ' ')" "1 2 "
	run --separate-stderr seq-lead --list --limit 0
	assert_success
	assert_output ""
	assert_equal "$(jq -c 'select(.id == 10) | [.email, .phone, .quality, .attributes]' <<< "$(seq-lead --list)")" \
		'["edsger@example.nl","+31205550100",100,{"plan":"enterprise","seats":40}]'
}

@test "--list options are checked" {
	run -2 --separate-stderr seq-lead --list --min-quality 101
	assert_equal "$stderr" "seq-lead: --min-quality: '101' is not a whole number from 0 to 100"
	run -2 --separate-stderr seq-lead --list --min-quality high
	assert_equal "$stderr" "seq-lead: --min-quality: 'high' is not a whole number from 0 to 100"
	run -2 --separate-stderr seq-lead --list --limit -1
	assert_equal "$stderr" "seq-lead: --limit: '-1' is not a whole number of at least 0"
	# --badge without --list, --list with --csv
	run -2 --separate-stderr seq-lead --badge valid-email < /dev/null
	assert_equal "${stderr%%$'\n'*}" "usage: seq-lead [--db path] [--now time] [--csv] [--default-region CC]"
	run -2 --separate-stderr seq-lead --list --csv
	assert_output ""
	assert_equal "${stderr%%$'\n'*}" "usage: seq-lead [--db path] [--now time] [--csv] [--default-region CC]"
}

@test "seq-lead --list --badge valid-email piped (via a file) into seq-enroll --sequence intro enrolls them" {
	load_example
	seq-lead --list --badge valid-email > valid.ndjson
	run --separate-stderr seq-enroll --sequence intro --now 2026-11-25T10:00:00Z < valid.ndjson
	assert_success
	assert_equal "$stderr" ""
	assert_equal "$(jq -r '[.lead_id, .status, .step, .version] | @tsv' <<< "$output" | tr '\t\n' ', ')" \
		"1,active,hello,1 2,active,hello,1 3,active,hello,1 4,active,hello,1 5,active,hello,1 7,active,hello,1 8,active,hello,1 9,active,hello,1 10,active,hello,1 "
	assert_equal "$(sql 'SELECT group_concat(lead_id) FROM enrollments')" "1,2,3,4,5,7,8,9,10"
}

@test "a 10 MB line is rejected with its line number and nothing of it is stored" {
	{
		echo '{"external_id":"before","email":"before@example.com"}'
		printf '{"external_id":"huge","email":"huge@example.com","first_name":"'
		head -c 10485760 /dev/zero | tr '\0' a
		printf '"}\n'
		echo '{"external_id":"after","email":"after@example.com"}'
	} > big.ndjson
	run -1 --separate-stderr seq-lead < big.ndjson
	assert_equal "$stderr" "seq-lead: line 2: line longer than 1048576 bytes; skipped"
	assert_equal "$(jq -r .external_id <<< "$output" | tr '\n' ' ')" "before after "
	assert_equal "$(sql 'SELECT id, external_id FROM leads ORDER BY id')" "1|before
2|after"
}

@test "a 10 MB field in CSV is rejected with its line number and nothing of it is stored" {
	{
		echo 'external_id,email,first_name'
		echo 'before,before@example.com,B'
		printf 'huge,huge@example.com,'
		head -c 10485760 /dev/zero | tr '\0' a
		echo
		echo 'after,after@example.com,A'
	} > big.csv
	run -1 --separate-stderr seq-lead --csv < big.csv
	assert_equal "$stderr" "seq-lead: line 3: field longer than 1 MiB"
	assert_equal "$(sql 'SELECT external_id FROM leads ORDER BY id' | tr '\n' ' ')" "before after "
}

@test "a quoted CSV field longer than 1 MiB that spans lines is rejected as a whole, and none of it becomes a lead" {
	{
		echo 'external_id,email,note'
		echo 'before,before@example.com,B'
		printf 'huge,huge@example.com,"'
		head -c 2000000 /dev/zero | tr '\0' a
		printf '\ninjected,injected@example.com,still the note"\n'
		echo 'after,after@example.com,A'
	} > big.csv
	run -1 --separate-stderr seq-lead --csv < big.csv
	assert_equal "$stderr" "seq-lead: line 3: field longer than 1 MiB"
	assert_equal "$(jq -r .external_id <<< "$output" | tr '\n' ' ')" "before after "
	assert_equal "$(sql 'SELECT external_id FROM leads ORDER BY id' | tr '\n' ' ')" "before after "
}

# A line of n bytes (without its newline) that is a valid lead.
line_of() {
	local n=$1 id=$2 head
	head=$(printf '{"external_id":"%s","email":"%s@example.com","pad":"' "$id" "$id")
	printf '%s' "$head"
	head -c $((n - ${#head} - 2)) /dev/zero | tr '\0' a
	printf '"}\n'
}

@test "the line limit is 1 MiB: a line of 1048576 bytes is stored, one of 1048577 or 1.2 MB is not" {
	{
		line_of 1048576 fits
		line_of 1048577 over
		line_of 1200000 far
		echo '{"external_id":"last","email":"last@example.com"}'
	} > edge.ndjson
	assert_equal "$(sed -n 1p edge.ndjson | wc -c)" 1048577
	assert_equal "$(sed -n 2p edge.ndjson | wc -c)" 1048578
	run -1 --separate-stderr seq-lead < edge.ndjson
	assert_equal "$stderr" "seq-lead: line 2: line longer than 1048576 bytes; skipped
seq-lead: line 3: line longer than 1048576 bytes; skipped"
	assert_equal "$(sql 'SELECT external_id FROM leads ORDER BY id' | tr '\n' ' ')" "fits last "
}

@test "records of the wrong shape or types are rejected with their line numbers; the others are stored" {
	long=$(printf 'n%.0s' {1..1025})
	cat > in.ndjson <<EOF
{"external_id":"ok1","email":"ok1@example.com"}
{"external_id":5,"email":"five@example.com"}
{"external_id":"t3","email":["t3@example.com"]}
{"external_id":"t4","phone":15551234567}
{"external_id":"t5","first_name":{"given":"X"}}
{"external_id":"t6","timezone":true}
{"external_id":"t7","attributes":"plan=pro"}
{"first_name":"Nobody"}
{"email":"not-an-address","first_name":"Nobody"}
{"external_id":"t10","first_name":"$long"}
["external_id","t11"]
"t12"
{"external_id":"t13","external_id":"t13b"}
{"external_id":"t14","email":"t14@example.com"
{"email":"","external_id":""}

{"external_id":"ok2","email":"ok2@example.com","first_name":"$(printf 'n%.0s' {1..1024})"}
EOF
	run -1 --separate-stderr seq-lead < in.ndjson
	assert_equal "$stderr" "seq-lead: line 2: external_id must be a string
seq-lead: line 3: email must be a string
seq-lead: line 4: phone must be a string
seq-lead: line 5: first_name must be a string
seq-lead: line 6: timezone must be a string
seq-lead: line 7: attributes must be an object
seq-lead: line 8: a lead needs external_id or email
seq-lead: line 9: email 'not-an-address' is not valid and there is no external_id to store the lead under
seq-lead: line 10: first_name is longer than 1024 bytes
seq-lead: line 11: not a JSON object
seq-lead: line 12: invalid JSON at column 5: '[' or '{' expected near '\"t12\"'
seq-lead: line 13: invalid JSON at column 34: duplicate object key near '\"external_id\"'
seq-lead: line 14: invalid JSON at column 46: '}' expected near end of file
seq-lead: line 15: a lead needs external_id or email
seq-lead: line 16: empty line"
	assert_equal "$(jq -r .external_id <<< "$output" | tr '\n' ' ')" "ok1 ok2 "
	assert_equal "$(sql 'SELECT external_id FROM leads ORDER BY id' | tr '\n' ' ')" "ok1 ok2 "
	assert_equal "$(sql 'SELECT count(*) FROM consent')" 0
	assert_equal "$(sql 'PRAGMA integrity_check')" ok
}
