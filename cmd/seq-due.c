/*
 * seq-due: claim what is due and write it as jobs.
 */
#include <err.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "due.h"
#include "plan.h"
#include "sequence.h"
#include "util.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: seq-due [--db path] [--now time] [--lease duration] [--limit n]\n"
	    "               [--channel channel] [--sequence name] [--shard k/n]\n"
	    "               [--batch n] [--config file] [--lead id]\n"
	    "               [--dry-run [--explain] | --plan --until time]\n");
	exit(EXIT_USAGE);
}

int
main(int argc, char **argv)
{
	enum { O_DB = 256, O_NOW, O_LEASE, O_LIMIT, O_CHANNEL, O_SEQ, O_SHARD,
		O_BATCH, O_CONFIG, O_LEAD, O_DRY, O_EXPLAIN, O_PLAN, O_UNTIL };
	static const struct option opts[] = {
		{ "db", required_argument, NULL, O_DB },
		{ "now", required_argument, NULL, O_NOW },
		{ "lease", required_argument, NULL, O_LEASE },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ "channel", required_argument, NULL, O_CHANNEL },
		{ "sequence", required_argument, NULL, O_SEQ },
		{ "shard", required_argument, NULL, O_SHARD },
		{ "batch", required_argument, NULL, O_BATCH },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "lead", required_argument, NULL, O_LEAD },
		{ "dry-run", no_argument, NULL, O_DRY },
		{ "explain", no_argument, NULL, O_EXPLAIN },
		{ "plan", no_argument, NULL, O_PLAN },
		{ "until", required_argument, NULL, O_UNTIL },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dbopt = NULL, *nowopt = NULL, *configopt = NULL;
	const char *untilopt = NULL;
	int dry = 0, plan = 0;
	struct due_opts o = { .lease = 300, .limit = -1 };
	struct due_stats st;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		switch (c) {
		case O_DB: dbopt = optarg; break;
		case O_NOW: nowopt = optarg; break;
		case O_LEASE:
			if (parse_duration(optarg, &o.lease) != 0 || o.lease < 1)
				errx(EXIT_USAGE, "--lease: a duration like 5m");
			break;
		case O_LIMIT:
			o.limit = (long)parse_whole("--limit", optarg, 0, LONG_MAX);
			break;
		case O_CHANNEL:
			if (strcmp(optarg, "email") && strcmp(optarg, "sms") &&
			    strcmp(optarg, "voice"))
				errx(EXIT_USAGE, "--channel: email, sms or voice");
			o.channel = optarg;
			break;
		case O_SEQ: o.sequence = optarg; break;
		case O_SHARD:
			if (sscanf(optarg, "%d/%d", &o.shard_k, &o.shard_n) != 2 ||
			    o.shard_n < 1 || o.shard_k < 1 || o.shard_k > o.shard_n)
				errx(EXIT_USAGE, "--shard: k/n with 1 <= k <= n");
			break;
		case O_BATCH:
			o.batch = (int)parse_whole("--batch", optarg, 1, 100000);
			break;
		case O_CONFIG: configopt = optarg; break;
		case O_LEAD:
			o.lead_id = parse_whole("--lead", optarg, 1, INT64_MAX);
			break;
		case O_DRY: dry = 1; break;
		case O_EXPLAIN: o.explain = dry = 1; break;
		case O_PLAN: plan = 1; break;
		case O_UNTIL: untilopt = optarg; break;
		default: usage();
		}
	if (optind != argc || (plan && dry) || (plan != !!untilopt))
		usage();
	config_load("seq-due", configopt);
	o.now = resolve_now(nowopt);
	int64_t until = 0;
	if (untilopt && parse_time(untilopt, &until) != 0)
		errx(EXIT_USAGE, "--until: '%s' is not an RFC 3339 time "
		    "(like 2026-12-01T00:00:00Z)", untilopt);
	if (plan && until < o.now)
		errx(EXIT_USAGE, "--until: %s is before now", untilopt);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	struct db *db = db_open(resolve_db(dbopt), DB_RELAXED | DB_PERSONAL);
	struct progress pg;
	progress_start(&pg, "seq-due", plan ? "jobs planned" : "jobs written",
	    0, PROGRESS_OUT);
	o.progress = &pg;
	int rc;
	memset(&st, 0, sizeof st);
	if (plan)
		rc = plan_run(db, &o, until, &st.jobs);
	else if (dry) {
		db_dry_begin(db);
		rc = due_run(db, &o, &st);
		db_dry_end(db);
	} else
		rc = due_run(db, &o, &st);
	/* the summary below takes its place */
	progress_clear(&pg);
	if (rc != 0)
		warnx("no sequence '%s'", o.sequence);
	else if (isatty(2) && plan)
		fprintf(stderr, "seq-due: %ld jobs planned; nothing claimed\n",
		    st.jobs);
	else if (isatty(2))
		fprintf(stderr, "seq-due: %s%ld jobs (%ld again after their lease), "
		    "%ld skipped, %ld deferred, %ld completed, %ld exited, "
		    "%ld unknown, %ld tasks opened\n", dry ? "would write " : "", st.jobs, st.reclaimed, st.skipped,
		    st.deferred, st.completed, st.exited, st.unknown, st.tasks);
	sequence_cache_free();
	config_free();
	db_close(db);
	finish_stdout();
	return rc ? EXIT_REJECTED : 0;
}
