/*
 * seq-lead: upsert leads and score their quality; list them; export or
 * erase one.
 */
#include <err.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "config.h"
#include "csv.h"
#include "db.h"
#include "lead.h"
#include "ndjson.h"
#include "privacy.h"
#include "util.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: seq-lead [--db path] [--now time] [--csv] [--default-region CC]\n"
	    "       seq-lead --list [--db path] [--badge badge]... [--min-quality n]\n"
	    "                [--limit n]\n"
	    "       seq-lead --export id [--db path]\n"
	    "       seq-lead --erase id [--reason text] [--db path] [--now time]\n");
	exit(EXIT_USAGE);
}

struct run {
	struct batch b;
	const char *region;
	int64_t now;
};

static int
on_record(struct ndjson *nj, json_t *rec, long line, void *arg)
{
	struct run *r = arg;
	struct lead l;
	char *why;

	batch_begin(&r->b);
	db_savepoint(r->b.db);
	if (lead_put(r->b.db, rec, r->region, r->now, &l, &why) != 0) {
		db_rollback_to(r->b.db);
		ndjson_reject(nj, line, "%s", why);
		free(why);
		return -1;
	}
	db_release(r->b.db);
	json_t *o = lead_json(&l);
	json_line(&r->b.out, o);
	json_decref(o);
	lead_free(&l);
	return 0;
}

static void
on_flush(struct ndjson *nj, void *arg)
{
	(void)nj;
	batch_flush(&((struct run *)arg)->b);
}

static void
list(struct db *db, json_t *badges, long long min_quality, long long limit)
{
	char *want = json_dumps(badges, JSON_COMPACT);
	struct buf out = { 0 };
	sqlite3_stmt *st = db_stmt(db,
	    "SELECT id FROM leads WHERE quality >= ?2 AND NOT EXISTS "
	    "(SELECT 1 FROM json_each(?1) w WHERE w.value NOT IN "
	    "(SELECT value FROM json_each(leads.badges))) ORDER BY id LIMIT ?3");
	bind_text(st, 1, want);
	bind_int(st, 2, min_quality);
	bind_int(st, 3, limit);
	free(want);
	/* ids first: lead_load runs a statement of its own */
	size_t n;
	int64_t *ids = db_ids(db, st, &n);
	for (size_t i = 0; i < n; i++) {
		struct lead l;
		if (lead_load(db, ids[i], &l) != 0)
			continue;
		json_t *o = lead_json(&l);
		json_line(&out, o);
		json_decref(o);
		lead_free(&l);
		if (out.len > 1 << 16)
			emit(&out);
	}
	emit(&out);
	buf_free(&out);
	free(ids);
}

static int
export(const char *path, int64_t id)
{
	struct db *db = db_open(path, DB_READONLY | DB_PERSONAL);
	struct buf out = { 0 };
	db_begin_read(db);
	if (privacy_export(db, id, &out) != 0)
		errx(EXIT_REJECTED, "no lead %lld", (long long)id);
	db_end_read(db);
	emit(&out);
	buf_free(&out);
	db_close(db);
	finish_stdout();
	return 0;
}

static int
erase(const char *path, int64_t id, const char *reason, int64_t now)
{
	struct db *db = db_open(path, DB_PERSONAL);
	struct erasure e;
	char t[32];
	if (privacy_erase(db, id, reason, config_get("SEQ_SPOOL"), now, &e) != 0)
		errx(EXIT_REJECTED, "no lead %lld", (long long)id);
	printf("{\"erased\":%lld,\"at\":\"%s\",\"enrollments\":%ld,"
	    "\"steps\":%ld,\"events\":%ld,\"spool_files\":%ld}\n",
	    (long long)id, format_time(now, t), e.enrollments, e.steps,
	    e.events, e.spool_files);
	db_close(db);
	finish_stdout();
	return 0;
}

int
main(int argc, char **argv)
{
	enum { O_DB = 256, O_NOW, O_CSV, O_REGION, O_LIST, O_BADGE, O_MINQ,
		O_LIMIT, O_EXPORT, O_ERASE, O_REASON };
	static const struct option opts[] = {
		{ "db", required_argument, NULL, O_DB },
		{ "now", required_argument, NULL, O_NOW },
		{ "csv", no_argument, NULL, O_CSV },
		{ "default-region", required_argument, NULL, O_REGION },
		{ "list", no_argument, NULL, O_LIST },
		{ "badge", required_argument, NULL, O_BADGE },
		{ "min-quality", required_argument, NULL, O_MINQ },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ "export", required_argument, NULL, O_EXPORT },
		{ "erase", required_argument, NULL, O_ERASE },
		{ "reason", required_argument, NULL, O_REASON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dbopt = NULL, *nowopt = NULL;
	int csv = 0, do_list = 0, c;
	long long min_quality = 0, limit = -1, export_id = 0, erase_id = 0;
	const char *reason = NULL;
	json_t *badges = json_array();
	struct run r = { .region = getenv("SEQ_DEFAULT_REGION") };

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		switch (c) {
		case O_DB: dbopt = optarg; break;
		case O_NOW: nowopt = optarg; break;
		case O_CSV: csv = 1; break;
		case O_REGION: r.region = optarg; break;
		case O_LIST: do_list = 1; break;
		case O_BADGE: json_array_append_new(badges, json_string(optarg)); break;
		case O_MINQ:
			min_quality = parse_whole("--min-quality", optarg, 0, 100);
			break;
		case O_LIMIT:
			limit = parse_whole("--limit", optarg, 0, LLONG_MAX);
			break;
		case O_EXPORT:
			export_id = parse_whole("--export", optarg, 1, INT64_MAX);
			break;
		case O_ERASE:
			erase_id = parse_whole("--erase", optarg, 1, INT64_MAX);
			break;
		case O_REASON: reason = optarg; break;
		default: usage();
		}
	if (optind != argc || (do_list && csv) ||
	    (!do_list && (json_array_size(badges) || min_quality || limit >= 0)) ||
	    do_list + csv + !!export_id + !!erase_id > 1 ||
	    (reason && !erase_id))
		usage();
	if (r.region && !*r.region)
		r.region = NULL;
	if (r.region && !do_list && !region_known(r.region))
		errx(EXIT_USAGE, "--default-region: '%s' is not a region this "
		    "seqtools knows (see seq-lead(1))", r.region);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	r.now = resolve_now(nowopt);
	if (export_id || erase_id) {
		json_decref(badges);
		return export_id ? export(resolve_db(dbopt), export_id) :
		    erase(resolve_db(dbopt), erase_id, reason, r.now);
	}
	if (do_list) {
		struct db *db = db_open(resolve_db(dbopt), DB_READONLY | DB_PERSONAL);
		list(db, badges, min_quality, limit);
		json_decref(badges);
		db_close(db);
		finish_stdout();
		return 0;
	}
	json_decref(badges);
	r.b.db = db_open(resolve_db(dbopt), DB_PERSONAL);
	struct progress pg;
	progress_start(&pg, "seq-lead", "lines read", 0,
	    PROGRESS_IN | PROGRESS_OUT);
	struct ndjson nj = { .prog = "seq-lead", .record = on_record,
		.flush = on_flush, .arg = &r, .progress = &pg };
	long rejected = csv ? csv_run(&nj, 0) : ndjson_run(&nj, 0);
	progress_done(&pg);
	buf_free(&r.b.out);
	db_close(r.b.db);
	finish_stdout();
	return rejected ? EXIT_REJECTED : 0;
}
