/*
 * seq-task: the manual steps of sequences: list the open tasks, close one
 * with its outcome.
 */
#include <err.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "events.h"
#include "ndjson.h"
#include "sequence.h"
#include "task.h"
#include "util.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: seq-task --list [--lead id] [--sequence name] [--limit n] [--db path]\n"
	    "       seq-task --done id --outcome outcome [--note text] [--db path]\n"
	    "                [--now time]\n");
	exit(EXIT_USAGE);
}

int
main(int argc, char **argv)
{
	enum { O_DB = 256, O_NOW, O_LIST, O_DONE, O_OUTCOME, O_NOTE, O_LEAD,
		O_SEQ, O_LIMIT };
	static const struct option opts[] = {
		{ "db", required_argument, NULL, O_DB },
		{ "now", required_argument, NULL, O_NOW },
		{ "list", no_argument, NULL, O_LIST },
		{ "done", required_argument, NULL, O_DONE },
		{ "outcome", required_argument, NULL, O_OUTCOME },
		{ "note", required_argument, NULL, O_NOTE },
		{ "lead", required_argument, NULL, O_LEAD },
		{ "sequence", required_argument, NULL, O_SEQ },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dbopt = NULL, *nowopt = NULL, *outcome = NULL, *note = NULL,
	    *seq = NULL, *bad;
	long long done = 0, lead = 0, limit = -1;
	int do_list = 0, c, rc = 0;
	struct buf out = { 0 };

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		switch (c) {
		case O_DB: dbopt = optarg; break;
		case O_NOW: nowopt = optarg; break;
		case O_LIST: do_list = 1; break;
		case O_DONE:
			done = parse_whole("--done", optarg, 1, LLONG_MAX);
			break;
		case O_OUTCOME: outcome = optarg; break;
		case O_NOTE: note = optarg; break;
		case O_LEAD:
			lead = parse_whole("--lead", optarg, 1, LLONG_MAX);
			break;
		case O_SEQ: seq = optarg; break;
		case O_LIMIT:
			limit = parse_whole("--limit", optarg, 0, LLONG_MAX);
			break;
		default: usage();
		}
	if (optind != argc || do_list == (done != 0) ||
	    (do_list && (outcome || note)) ||
	    (done && (!outcome || lead || seq || limit >= 0)))
		usage();
	if (outcome && (bad = task_outcome_check(outcome)))
		errx(EXIT_USAGE, "--outcome: '%s': %s", outcome, bad);
	int64_t now = resolve_now(nowopt);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);

	if (do_list) {
		struct db *db = db_open(resolve_db(dbopt), DB_READONLY | DB_PERSONAL);
		db_begin_read(db);
		task_list(db, lead, seq, limit, &out);
		db_end_read(db);
		emit(&out);
		db_close(db);
	} else {
		struct db *db = db_open(resolve_db(dbopt), DB_PERSONAL);
		char *why;
		db_begin(db);
		if (task_done(db, done, outcome, note, now, &why) != 0) {
			db_rollback(db);
			warnx("%s", why);
			free(why);
			rc = EXIT_REJECTED;
		} else {
			json_t *o = task_json(db, done);
			json_line(&out, o);
			json_decref(o);
			db_commit(db);
			emit(&out);
		}
		events_forget();
		db_close(db);
	}
	buf_free(&out);
	sequence_cache_free();
	finish_stdout();
	return rc;
}
