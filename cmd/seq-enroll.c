/*
 * seq-enroll: enroll leads in a sequence; pause, resume, cancel and convert
 * enrollments; list them.
 */
#include <err.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "db.h"
#include "enroll.h"
#include "lead.h"
#include "ndjson.h"
#include "sequence.h"
#include "util.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: seq-enroll --sequence name [--start time] [--db path] [--now time]\n"
	    "       seq-enroll --pause | --resume | --cancel [--reason text]\n"
	    "                  [--db path] [--now time] id ...\n"
	    "       seq-enroll --convert [--value amount] [--reason text]\n"
	    "                  [--db path] [--now time] id ...\n"
	    "       seq-enroll --list [--lead id] [--status status] [--sequence name]\n"
	    "                  [--limit n] [--db path]\n");
	exit(EXIT_USAGE);
}

struct run {
	struct batch b;
	int64_t seq_id;
	int version;
	const struct seqdef *def;
	int exclusive_stored;
	int64_t start, now;
	long skipped;
};

static int
on_record(struct ndjson *nj, json_t *rec, long line, void *arg)
{
	struct run *r = arg;
	char *why;

	batch_begin(&r->b);
	char why_not[300];
	int64_t lead = lead_ref(r->b.db, rec, why_not, sizeof why_not);
	if (!lead) {
		ndjson_reject(nj, line, "%s", why_not);
		return -1;
	}
	int64_t id = enroll(r->b.db, lead, r->seq_id, r->version, r->def,
	    r->exclusive_stored, r->start, r->now, &why);
	json_t *o;
	if (id)
		o = enrollment_json(r->b.db, id);
	else {
		progress_clear(nj->progress);
		fprintf(stderr, "seq-enroll: line %ld: lead %lld %s; skipped\n",
		    line, (long long)lead, why);
		o = json_pack("{s:I, s:s, s:i, s:s}", "lead_id", (json_int_t)lead,
		    "sequence", r->def->name, "version", r->version, "skipped", why);
		r->skipped++;
	}
	json_line(&r->b.out, o);
	json_decref(o);
	return 0;
}

static void
on_flush(struct ndjson *nj, void *arg)
{
	(void)nj;
	batch_flush(&((struct run *)arg)->b);
}

static void
list(struct db *db, long long lead, const char *status, const char *seq,
    long long limit)
{
	struct buf out = { 0 };
	sqlite3_stmt *st = db_stmt(db,
	    "SELECT e.id FROM enrollments e JOIN sequences s ON s.id = "
	    "e.sequence_id WHERE (?1 IS NULL OR e.lead_id = ?1) AND "
	    "(?2 IS NULL OR e.status = ?2) AND (?3 IS NULL OR s.name = ?3) "
	    "ORDER BY e.id LIMIT ?4");
	if (lead)
		bind_int(st, 1, lead);
	bind_text(st, 2, status);
	bind_text(st, 3, seq);
	bind_int(st, 4, limit);
	size_t n;
	int64_t *ids = db_ids(db, st, &n);
	for (size_t i = 0; i < n; i++) {
		json_t *o = enrollment_json(db, ids[i]);
		json_line(&out, o);
		json_decref(o);
		if (out.len > 1 << 16)
			emit(&out);
	}
	emit(&out);
	buf_free(&out);
	free(ids);
}

int
main(int argc, char **argv)
{
	enum { O_DB = 256, O_NOW, O_SEQ, O_START, O_PAUSE, O_RESUME, O_CANCEL,
		O_CONVERT, O_VALUE, O_REASON, O_LIST, O_LEAD, O_STATUS, O_LIMIT };
	static const struct option opts[] = {
		{ "db", required_argument, NULL, O_DB },
		{ "now", required_argument, NULL, O_NOW },
		{ "sequence", required_argument, NULL, O_SEQ },
		{ "start", required_argument, NULL, O_START },
		{ "pause", no_argument, NULL, O_PAUSE },
		{ "resume", no_argument, NULL, O_RESUME },
		{ "cancel", no_argument, NULL, O_CANCEL },
		{ "convert", no_argument, NULL, O_CONVERT },
		{ "value", required_argument, NULL, O_VALUE },
		{ "reason", required_argument, NULL, O_REASON },
		{ "list", no_argument, NULL, O_LIST },
		{ "lead", required_argument, NULL, O_LEAD },
		{ "status", required_argument, NULL, O_STATUS },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dbopt = NULL, *nowopt = NULL, *seq = NULL, *startopt = NULL,
	    *reason = NULL, *status = NULL;
	int action = -1, do_list = 0, has_value = 0, c, rc = 0;
	double value = 0;
	long long lead = 0, limit = -1;
	char *end;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		switch (c) {
		case O_DB: dbopt = optarg; break;
		case O_NOW: nowopt = optarg; break;
		case O_SEQ: seq = optarg; break;
		case O_START: startopt = optarg; break;
		case O_PAUSE: case O_RESUME: case O_CANCEL: case O_CONVERT:
			if (action >= 0)
				usage();
			action = c == O_PAUSE ? EA_PAUSE : c == O_RESUME ?
			    EA_RESUME : c == O_CANCEL ? EA_CANCEL : EA_CONVERT;
			break;
		case O_VALUE:
			value = strtod(optarg, &end);
			if (*end || !isfinite(value) || value < 0)
				errx(EXIT_USAGE, "--value: an amount like 1200.50");
			has_value = 1;
			break;
		case O_REASON: reason = optarg; break;
		case O_LIST: do_list = 1; break;
		case O_LEAD:
			lead = parse_whole("--lead", optarg, 1, LLONG_MAX);
			break;
		case O_STATUS: status = optarg; break;
		case O_LIMIT:
			limit = parse_whole("--limit", optarg, 0, LLONG_MAX);
			break;
		default: usage();
		}
	int64_t now = resolve_now(nowopt), start = now;
	if (startopt && parse_time(startopt, &start) != 0)
		errx(EXIT_USAGE, "--start: '%s' is not an RFC 3339 time", startopt);
	if (do_list + (action >= 0) + (seq && !do_list) != 1 ||
	    (has_value && action != EA_CONVERT) || (startopt && !seq) ||
	    ((lead || status || limit >= 0) && !do_list) ||
	    (action >= 0 && optind == argc) || (action < 0 && optind != argc))
		usage();
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);

	if (do_list) {
		struct db *db = db_open(resolve_db(dbopt), DB_READONLY | DB_PERSONAL);
		list(db, lead, status, seq, limit);
		db_close(db);
	} else if (action >= 0) {
		struct db *db = db_open(resolve_db(dbopt), DB_PERSONAL);
		struct buf out = { 0 };
		db_begin(db);
		for (int i = optind; i < argc; i++) {
			long long id = strtoll(argv[i], &end, 10);
			char *why;
			if (*end || id < 1) {
				warnx("'%s' is not an enrollment id", argv[i]);
				rc = EXIT_REJECTED;
			} else if (enrollment_act(db, id, (enum enroll_action)action,
			    value, has_value, reason, now, &why) != 0) {
				warnx("%s", why);
				free(why);
				rc = EXIT_REJECTED;
			} else {
				json_t *o = enrollment_json(db, id);
				json_line(&out, o);
				json_decref(o);
			}
		}
		db_commit(db);
		emit(&out);
		buf_free(&out);
		db_close(db);
	} else {
		struct run r = { .start = start, .now = now };
		r.b.db = db_open(resolve_db(dbopt), DB_PERSONAL);
		if (!(r.seq_id = sequence_find(r.b.db, seq, &r.version)))
			errx(EXIT_REJECTED, "no sequence '%s'; store it with seq-def", seq);
		r.def = sequence_version(r.b.db, r.seq_id, r.version);
		r.exclusive_stored = enroll_exclusive_stored(r.b.db);
		struct progress pg;
		progress_start(&pg, "seq-enroll", "lines read", 0,
		    PROGRESS_IN | PROGRESS_OUT);
		struct ndjson nj = { .prog = "seq-enroll", .record = on_record,
			.flush = on_flush, .arg = &r, .progress = &pg };
		if (ndjson_run(&nj, 0))
			rc = EXIT_REJECTED;
		progress_done(&pg);
		buf_free(&r.b.out);
		sequence_cache_free();
		db_close(r.b.db);
	}
	finish_stdout();
	return rc;
}
