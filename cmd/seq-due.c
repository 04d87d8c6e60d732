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
#include "sequence.h"
#include "util.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: seq-due [--db path] [--now time] [--lease duration] [--limit n]\n"
	    "               [--channel channel] [--sequence name] [--shard k/n]\n"
	    "               [--batch n] [--config file]\n");
	exit(EXIT_USAGE);
}

int
main(int argc, char **argv)
{
	enum { O_DB = 256, O_NOW, O_LEASE, O_LIMIT, O_CHANNEL, O_SEQ, O_SHARD,
		O_BATCH, O_CONFIG };
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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dbopt = NULL, *nowopt = NULL, *configopt = NULL;
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
		default: usage();
		}
	if (optind != argc)
		usage();
	config_load("seq-due", configopt);
	o.now = resolve_now(nowopt);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	struct db *db = db_open(resolve_db(dbopt), DB_RELAXED | DB_PERSONAL);
	struct progress pg;
	progress_start(&pg, "seq-due", "jobs written", 0, PROGRESS_OUT);
	o.progress = &pg;
	int rc = due_run(db, &o, &st);
	/* the summary below takes its place */
	progress_clear(&pg);
	if (rc != 0)
		warnx("no sequence '%s'", o.sequence);
	else if (isatty(2))
		fprintf(stderr, "seq-due: %ld jobs (%ld again after their lease), "
		    "%ld skipped, %ld deferred, %ld completed, %ld exited, "
		    "%ld unknown\n", st.jobs, st.reclaimed, st.skipped,
		    st.deferred, st.completed, st.exited, st.unknown);
	sequence_cache_free();
	config_free();
	db_close(db);
	finish_stdout();
	return rc ? EXIT_REJECTED : 0;
}
