/*
 * seq-timeline: one lead's activities, newest first.
 */
#include <err.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "ndjson.h"
#include "util.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: seq-timeline --lead id [--since time] [--until time] [--kind kind]\n"
	    "                    [--channel channel] [--sequence name] [--limit n]\n"
	    "                    [--db path] [--now time]\n");
	exit(EXIT_USAGE);
}

int
main(int argc, char **argv)
{
	enum { O_DB = 256, O_NOW, O_LEAD, O_SINCE, O_UNTIL, O_KIND, O_CHANNEL,
		O_SEQ, O_LIMIT };
	static const struct option opts[] = {
		{ "db", required_argument, NULL, O_DB },
		{ "now", required_argument, NULL, O_NOW },
		{ "lead", required_argument, NULL, O_LEAD },
		{ "since", required_argument, NULL, O_SINCE },
		{ "until", required_argument, NULL, O_UNTIL },
		{ "kind", required_argument, NULL, O_KIND },
		{ "channel", required_argument, NULL, O_CHANNEL },
		{ "sequence", required_argument, NULL, O_SEQ },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dbopt = NULL, *kind = NULL, *channel = NULL, *seq = NULL;
	int64_t since = INT64_MIN, until = INT64_MAX;
	long long lead = 0, limit = -1;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		switch (c) {
		case O_DB: dbopt = optarg; break;
		case O_NOW: resolve_now(optarg); break;
		case O_LEAD:
			lead = parse_whole("--lead", optarg, 1, LLONG_MAX);
			break;
		case O_SINCE:
			if (parse_time(optarg, &since) != 0)
				errx(EXIT_USAGE, "--since: an RFC 3339 time");
			break;
		case O_UNTIL:
			if (parse_time(optarg, &until) != 0)
				errx(EXIT_USAGE, "--until: an RFC 3339 time");
			break;
		case O_KIND:
			if (strcmp(optarg, "enrollment") && strcmp(optarg, "step") &&
			    strcmp(optarg, "event") && strcmp(optarg, "consent") &&
			    strcmp(optarg, "task"))
				errx(EXIT_USAGE, "--kind: enrollment, step, event, "
				    "consent or task");
			kind = optarg;
			break;
		case O_CHANNEL:
			if (strcmp(optarg, "email") && strcmp(optarg, "sms") &&
			    strcmp(optarg, "voice") && strcmp(optarg, "task"))
				errx(EXIT_USAGE, "--channel: email, sms, voice "
				    "or task");
			channel = optarg;
			break;
		case O_SEQ: seq = optarg; break;
		case O_LIMIT:
			limit = parse_whole("--limit", optarg, 0, LLONG_MAX);
			break;
		default: usage();
		}
	if (optind != argc || !lead)
		usage();
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	struct db *db = db_open(resolve_db(dbopt), DB_READONLY);
	sqlite3_stmt *st = db_stmt(db,
	    "SELECT at, kind, what, sequence, version, step, channel, "
	    "enrollment_id, execution_id, details FROM timeline "
	    "WHERE lead_id = ?1 AND at >= ?2 AND at <= ?3 "
	    "AND (?4 IS NULL OR kind = ?4) AND (?5 IS NULL OR channel = ?5) "
	    "AND (?6 IS NULL OR sequence = ?6) "
	    "ORDER BY at DESC, ord DESC LIMIT ?7");
	bind_int(st, 1, lead);
	bind_int(st, 2, since);
	bind_int(st, 3, until);
	bind_text(st, 4, kind);
	bind_text(st, 5, channel);
	bind_text(st, 6, seq);
	bind_int(st, 7, limit);
	struct buf out = { 0 };
	char t[32];
	while (db_step(db, st) == SQLITE_ROW) {
		json_error_t e;
		json_t *o = json_pack("{s:s, s:s, s:s}",
		    "at", format_time(sqlite3_column_int64(st, 0), t),
		    "kind", col_text(st, 1), "what", col_text(st, 2));
		static const char *const names[] = { "sequence", "version",
			"step", "channel", "enrollment_id", "execution_id" };
		for (int i = 0; i < 6; i++) {
			int col = 3 + i;
			if (sqlite3_column_type(st, col) == SQLITE_NULL)
				continue;
			json_object_set_new(o, names[i],
			    sqlite3_column_type(st, col) == SQLITE_INTEGER ?
			    json_integer(sqlite3_column_int64(st, col)) :
			    json_string(col_text(st, col)));
		}
		json_t *details = json_loads(col_text(st, 9), 0, &e);
		/* nulls say nothing: leave them out */
		const char *k;
		json_t *v;
		void *tmp;
		json_object_foreach_safe(details, tmp, k, v)
			if (json_is_null(v))
				json_object_del(details, k);
		json_object_set_new(o, "details", details ? details : json_object());
		json_line(&out, o);
		json_decref(o);
		if (out.len > 1 << 16)
			emit(&out);
	}
	sqlite3_reset(st);
	emit(&out);
	buf_free(&out);
	db_close(db);
	finish_stdout();
	return 0;
}
