/*
 * seq-consent: append to the consent ledger, show a lead's ledger, and keep
 * the suppression list.
 */
#include <err.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "consent.h"
#include "db.h"
#include "lead.h"
#include "ndjson.h"
#include "util.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: seq-consent [--source name] [--db path] [--now time]\n"
	    "       seq-consent --show lead-id [--db path]\n"
	    "       seq-consent --suppress [--source name] [--default-region CC]\n"
	    "               [--db path] [--now time]\n"
	    "       seq-consent --unsuppress [--default-region CC] [--db path]\n");
	exit(EXIT_USAGE);
}

struct run {
	struct batch b;
	int64_t now;
	const char *source;
};

static void
entry_line(struct buf *out, sqlite3_stmt *st)
{
	char t[32];
	json_t *o = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s}",
	    "id", (json_int_t)sqlite3_column_int64(st, 0),
	    "lead_id", (json_int_t)sqlite3_column_int64(st, 1),
	    "channel", col_text(st, 2), "state", col_text(st, 3),
	    "source", col_text(st, 4),
	    "at", format_time(sqlite3_column_int64(st, 6), t));
	if (col_text(st, 5))
		json_object_set_new(o, "evidence", json_string(col_text(st, 5)));
	json_line(out, o);
	json_decref(o);
}

static int
on_record(struct ndjson *nj, json_t *rec, long line, void *arg)
{
	static const char *const known[] = { "id", "lead_id", "external_id",
		"email", "channel", "state", "source", "evidence", "at" };
	struct run *r = arg;
	const char *channel, *state, *source = r->source, *evidence = NULL;
	const char *at_text = NULL, *key;
	char why[300];
	int64_t at = r->now;
	json_t *v;

	if (!json_is_object(rec)) {
		ndjson_reject(nj, line, "not a JSON object");
		return -1;
	}
	json_object_foreach(rec, key, v) {
		size_t i;
		for (i = 0; i < sizeof known / sizeof known[0]; i++)
			if (!strcmp(key, known[i]))
				break;
		if (i == sizeof known / sizeof known[0]) {
			ndjson_reject(nj, line, "unknown field '%.40s'", key);
			return -1;
		}
	}
	if (field_str(rec, "channel", &channel) != 1 || (strcmp(channel,
	    "email") && strcmp(channel, "sms") && strcmp(channel, "voice"))) {
		ndjson_reject(nj, line, "channel must be email, sms or voice");
		return -1;
	}
	if (field_str(rec, "state", &state) != 1 || (strcmp(state, "opt-in") &&
	    strcmp(state, "opt-out"))) {
		ndjson_reject(nj, line, "state must be opt-in or opt-out");
		return -1;
	}
	if (field_str(rec, "source", &source) < 0 || (source && !*source) ||
	    field_str(rec, "evidence", &evidence) < 0) {
		ndjson_reject(nj, line, "source and evidence are strings, and a "
		    "source is not empty");
		return -1;
	}
	if (!source)
		source = r->source;
	if (field_str(rec, "at", &at_text) < 0 ||
	    (at_text && parse_time(at_text, &at) != 0)) {
		ndjson_reject(nj, line, "at must be an RFC 3339 time");
		return -1;
	}
	batch_begin(&r->b);
	int64_t lead = lead_ref(r->b.db, rec, why, sizeof why);
	if (!lead) {
		ndjson_reject(nj, line, "%s", why);
		return -1;
	}
	int64_t id = consent_add(r->b.db, lead, channel, state, source,
	    evidence, at);
	sqlite3_stmt *st = db_stmt(r->b.db, "SELECT id, lead_id, channel, "
	    "state, source, evidence, at FROM consent WHERE id = ?");
	bind_int(st, 1, id);
	if (db_step(r->b.db, st) == SQLITE_ROW)
		entry_line(&r->b.out, st);
	sqlite3_reset(st);
	return 0;
}

static void
on_flush(struct ndjson *nj, void *arg)
{
	(void)nj;
	batch_flush(&((struct run *)arg)->b);
}

static void
show(struct db *db, long long lead)
{
	struct buf out = { 0 };
	sqlite3_stmt *st = db_stmt(db, "SELECT id FROM leads WHERE id = ?");
	bind_int(st, 1, lead);
	int found = db_step(db, st) == SQLITE_ROW;
	sqlite3_reset(st);
	if (!found)
		errx(EXIT_REJECTED, "no lead %lld", lead);
	st = db_stmt(db, "SELECT id, lead_id, channel, state, source, evidence, "
	    "at FROM consent WHERE lead_id = ? ORDER BY id");
	bind_int(st, 1, lead);
	while (db_step(db, st) == SQLITE_ROW)
		entry_line(&out, st);
	sqlite3_reset(st);
	emit(&out);
	buf_free(&out);
}

int
main(int argc, char **argv)
{
	enum { O_DB = 256, O_NOW, O_SHOW, O_SUPPRESS, O_UNSUPPRESS, O_SOURCE,
		O_REGION };
	static const struct option opts[] = {
		{ "db", required_argument, NULL, O_DB },
		{ "now", required_argument, NULL, O_NOW },
		{ "show", required_argument, NULL, O_SHOW },
		{ "suppress", no_argument, NULL, O_SUPPRESS },
		{ "unsuppress", no_argument, NULL, O_UNSUPPRESS },
		{ "source", required_argument, NULL, O_SOURCE },
		{ "default-region", required_argument, NULL, O_REGION },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dbopt = NULL, *nowopt = NULL, *source = NULL;
	const char *region = getenv("SEQ_DEFAULT_REGION");
	long long lead = 0;
	int suppress = 0, unsuppress = 0, c, rc = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		switch (c) {
		case O_DB: dbopt = optarg; break;
		case O_NOW: nowopt = optarg; break;
		case O_SHOW:
			lead = parse_whole("--show", optarg, 1, LLONG_MAX);
			break;
		case O_SUPPRESS: suppress = 1; break;
		case O_UNSUPPRESS: unsuppress = 1; break;
		case O_SOURCE:
			if (!*optarg)
				errx(EXIT_USAGE, "--source: a name, such as crm");
			source = optarg;
			break;
		case O_REGION: region = optarg; break;
		default: usage();
		}
	if (optind != argc || (lead != 0) + suppress + unsuppress > 1 ||
	    (source && (lead || unsuppress)))
		usage();
	if (region && *region && !region_known(region))
		errx(EXIT_USAGE, "--default-region: '%s' is not a region this "
		    "seqtools knows", region);
	if (region && !*region)
		region = NULL;
	int64_t now = resolve_now(nowopt);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);

	if (lead) {
		struct db *db = db_open(resolve_db(dbopt), DB_READONLY | DB_PERSONAL);
		show(db, lead);
		db_close(db);
	} else if (suppress || unsuppress) {
		struct suppress_stats s;
		struct db *db = db_open(resolve_db(dbopt), DB_PERSONAL);
		suppress_list(db, stdin, unsuppress, region,
		    source ? source : "admin", now, &s);
		if (unsuppress)
			printf("{\"removed\":%ld,\"absent\":%ld,\"rejected\":%ld}\n",
			    s.removed, s.absent, s.rejected);
		else
			printf("{\"added\":%ld,\"already\":%ld,\"rejected\":%ld}\n",
			    s.added, s.already, s.rejected);
		rc = s.rejected ? EXIT_REJECTED : 0;
		db_close(db);
	} else {
		struct run r = { .now = now, .source = source ? source : "admin" };
		r.b.db = db_open(resolve_db(dbopt), DB_PERSONAL);
		struct progress pg;
		progress_start(&pg, "seq-consent", "lines read", 0,
		    PROGRESS_IN | PROGRESS_OUT);
		struct ndjson nj = { .prog = "seq-consent", .record = on_record,
			.flush = on_flush, .arg = &r, .progress = &pg };
		if (ndjson_run(&nj, 0))
			rc = EXIT_REJECTED;
		progress_done(&pg);
		buf_free(&r.b.out);
		db_close(r.b.db);
	}
	finish_stdout();
	return rc;
}
