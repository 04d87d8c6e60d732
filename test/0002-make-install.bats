#!/usr/bin/env bats
# make install PREFIX=... DESTDIR=...: commands, man pages and share/ land
# where an admin expects them, and the installed commands find their share
# directory under the PREFIX they were built for.

load test_helper

setup() {
	common_setup
	command -v make > /dev/null || skip "make is not installed"
	# a copy of the tree, so that building for another PREFIX leaves the
	# tree under test alone
	mkdir src
	(cd "$TOP" && tar cf - Makefile cmd lib share man tools crontab.example) |
		(cd src && tar xf -)
}

@test "make install puts commands, pages and share/ under DESTDIR/PREFIX" {
	run make -C src install PREFIX=/opt/seqtools DESTDIR="$BATS_TEST_TMPDIR/root"
	assert_success
	root=$BATS_TEST_TMPDIR/root/opt/seqtools
	for c in seq-init seq-lead seq-def seq-enroll seq-consent seq-timeline seq-due seq-send seq-log seq-hook seq-event seq-stats; do
		assert_file_executable "$root/bin/$c"
		assert_file_exists "$root/share/man/man1/$c.1"
	done
	assert_file_exists "$root/share/man/man7/seqtools.7"
	assert_file_exists "$root/share/man/man5/seqtools-records.5"
	assert_file_exists "$root/share/man/man5/sequence.5"
	assert_file_exists "$root/share/seqtools/disposable-domains.txt"
	assert_file_exists "$root/share/seqtools/crontab.example"
	assert_file_exists "$root/share/seqtools/grafana/seqtools-dashboard.json"
	assert_file_exists "$root/share/seqtools/schema/job.schema.json"
	assert_file_exists "$root/share/seqtools/examples/intro.json"
	# the installed pages are the linted ones
	run mandoc -Tlint -W warning "$root"/share/man/man*/*
	assert_success
	assert_output ""
}

@test "installed commands look for share/ under their PREFIX, and SEQ_SHARE overrides it" {
	make -C src install PREFIX=/opt/seqtools DESTDIR="$BATS_TEST_TMPDIR/root" > /dev/null
	root=$BATS_TEST_TMPDIR/root/opt/seqtools
	export SEQ_DB="$BATS_TEST_TMPDIR/inst.db"
	unset SEQ_SHARE
	"$root/bin/seq-init" 2> /dev/null
	# nothing is installed at /opt/seqtools itself: the error names it
	run -4 --separate-stderr "$root/bin/seq-lead" <<< '{"email":"a@example.com"}'
	assert_equal "$stderr" "seq-lead: /opt/seqtools/share/seqtools/disposable-domains.txt (set SEQ_SHARE to the share directory): No such file or directory"
	SEQ_SHARE="$root/share/seqtools" run --separate-stderr "$root/bin/seq-lead" <<< '{"email":"a@mailinator.com"}'
	assert_success
	assert_equal "$(jq -c .badges <<< "$output")" '["valid-email","disposable-domain","missing-name","no-timezone"]'
}
