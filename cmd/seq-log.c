/*
 * seq-log: record results, move enrollments on, count per adapter; list and
 * settle executions whose outcome is unknown.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "db.h"
#include "ndjson.h"
#include "outcome.h"
#include "pii.h"
#include "record.h"
#include "sequence.h"
#include "util.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: seq-log [--db path] [--now time]\n"
	    "       seq-log --unknown [--db path]\n"
	    "       seq-log --settle id sent|failed [--reason text] [--db path]\n"
	    "               [--now time]\n");
	exit(EXIT_USAGE);
}

struct pending {
	json_t *rec;		/* NULL: rejected, for the reason in why */
	char *why;
	struct result res;
	long line;
};

struct run {
	struct batch b;
	int64_t now;
	struct pending *p;
	size_t n, cap;
	long sent, failed, retried, ignored;
};

/* Records are checked as they come and recorded at the end of the batch,
 * so the write lock is never held while parsing. */
static int
on_record(struct ndjson *nj, json_t *rec, long line, void *arg)
{
	struct run *r = arg;
	struct result res;
	const char *why = result_check(rec, &res);

	(void)nj;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 256;
		r->p = xrealloc(r->p, r->cap * sizeof *r->p);
	}
	/* serialized now, so that it is not under the write lock */
	if (!why && res.metadata)
		res.metadata_text = json_dumps(res.metadata, JSON_COMPACT);
	/* a bad record is reported in its turn with the batch, so that
	 * stderr stays in line order */
	r->p[r->n].rec = why ? NULL : json_incref(rec);
	r->p[r->n].why = why ? xstrdup(why) : NULL;
	r->p[r->n].res = res;
	r->p[r->n++].line = line;
	return 0;
}

static void
on_flush(struct ndjson *nj, void *arg)
{
	struct run *r = arg;
	const char *why, *final;

	if (r->n)
		batch_begin(&r->b);
	for (size_t i = 0; i < r->n; i++) {
		struct result *res = &r->p[i].res;
		if (r->p[i].why) {
			ndjson_reject(nj, r->p[i].line, "%s", r->p[i].why);
			continue;
		}
		switch (outcome_record(r->b.db, res, 0, r->now, &why, &final)) {
		case OUTCOME_REJECTED:
			ndjson_reject(nj, r->p[i].line, "%s", why);
			continue;
		case OUTCOME_IGNORED:
			progress_clear(nj->progress);
			fprintf(stderr, "seq-log: line %ld: %s\n", r->p[i].line, why);
			r->ignored++;
			continue;
		}
		counters_add(res->adapter, res->job.channel, final, res->latency_ms);
		if (!strcmp(final, "sent"))
			r->sent++;
		else if (!strcmp(final, "retry"))
			r->retried++;
		else
			r->failed++;
	}
	if (r->b.open)
		counters_flush(r->b.db);
	batch_flush(&r->b);
	for (size_t i = 0; i < r->n; i++) {
		json_decref(r->p[i].rec);
		free(r->p[i].res.metadata_text);
		free(r->p[i].why);
	}
	r->n = 0;
}

/* The end of a pipeline run, for seq-stats --prom: a monitor alerts when it
 * grows old, even when nothing was due.  A run that read nothing but bad
 * lines is not one: it changes nothing. */
static void
mark_run(struct db *db, int64_t now)
{
	char t[32];
	db_begin(db);
	sqlite3_stmt *st = db_stmt(db, "INSERT INTO meta (key, value) VALUES "
	    "('last_run', ?1) ON CONFLICT (key) DO UPDATE SET value = ?1");
	bind_text(st, 1, format_time(now, t));
	db_run(db, st);
	db_commit(db);
}

static void
list_unknown(struct db *db)
{
	struct buf out = { 0 };
	char t[32];
	sqlite3_stmt *st = db_stmt(db,
	    "SELECT x.id, x.key, x.enrollment_id, x.lead_id, s.name, e.version, "
	    "x.step, x.channel, x.attempt, x.sending_at, x.error, x.recipient, "
	    "j.job FROM sequence_executions x LEFT JOIN execution_jobs j ON "
	    "j.execution_id = x.id JOIN enrollments e ON e.id = "
	    "x.enrollment_id JOIN sequences s ON s.id = e.sequence_id "
	    "WHERE x.state = 'unknown' ORDER BY x.id");
	while (db_step(db, st) == SQLITE_ROW) {
		json_t *o = json_pack("{s:I, s:s, s:I, s:I, s:s, s:i, s:s, s:s, s:i, s:s}",
		    "execution_id", (json_int_t)sqlite3_column_int64(st, 0),
		    "key", col_text(st, 1),
		    "enrollment_id", (json_int_t)sqlite3_column_int64(st, 2),
		    "lead_id", (json_int_t)sqlite3_column_int64(st, 3),
		    "sequence", col_text(st, 4), "version", sqlite3_column_int(st, 5),
		    "step", col_text(st, 6), "channel", col_text(st, 7),
		    "attempt", sqlite3_column_int(st, 8), "state", "unknown");
		json_object_set_new(o, "sending_at", sqlite3_column_type(st, 9) ==
		    SQLITE_NULL ? json_null() :
		    json_string(format_time(sqlite3_column_int64(st, 9), t)));
		/* a sealed database keeps the address only in the job */
		if (col_text(st, 11))
			json_object_set_new(o, "to", json_string(col_text(st, 11)));
		else {
			char *text = pii_job_text(db, st, 12,
			    sqlite3_column_int64(st, 0));
			json_error_t je;
			json_t *job = text ? json_loads(text, 0, &je) : NULL;
			json_object_set(o, "to", json_object_get(job, "to") ?
			    json_object_get(job, "to") : json_null());
			json_decref(job);
			free(text);
		}
		json_object_set_new(o, "error", json_string(col_text(st, 10)));
		json_line(&out, o);
		json_decref(o);
	}
	sqlite3_reset(st);
	emit(&out);
	buf_free(&out);
}

static int
settle(struct db *db, const char *idstr, const char *status, const char *reason,
    int64_t now)
{
	char *end;
	struct result r = { 0 };
	const char *why, *final;
	long long id = strtoll(idstr, &end, 10);

	if (*end || id < 1)
		errx(EXIT_USAGE, "--settle: '%s' is not an execution id", idstr);
	if (strcmp(status, "sent") && strcmp(status, "failed"))
		errx(EXIT_USAGE, "--settle: the outcome is sent or failed");
	r.job.execution_id = id;
	r.status = status;
	r.adapter = "admin";
	if (strcmp(status, "sent") != 0)
		r.error = reason ? reason : "settled as failed by an admin";
	db_begin(db);
	int rc = outcome_record(db, &r, 1, now, &why, &final);
	if (rc == OUTCOME_RECORDED) {
		sqlite3_stmt *st = db_stmt(db, "UPDATE sequence_executions SET "
		    "metadata = CASE WHEN ?2 IS NULL THEN json_object('settled_by', "
		    "'admin') ELSE json_object('settled_by', 'admin', 'reason', ?2) "
		    "END WHERE id = ?1");
		bind_int(st, 1, id);
		bind_text(st, 2, reason);
		db_run(db, st);
	}
	db_commit(db);
	if (rc != OUTCOME_RECORDED) {
		warnx("%s", why);
		return EXIT_REJECTED;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	enum { O_DB = 256, O_NOW, O_UNKNOWN, O_SETTLE, O_REASON };
	static const struct option opts[] = {
		{ "db", required_argument, NULL, O_DB },
		{ "now", required_argument, NULL, O_NOW },
		{ "unknown", no_argument, NULL, O_UNKNOWN },
		{ "settle", required_argument, NULL, O_SETTLE },
		{ "reason", required_argument, NULL, O_REASON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dbopt = NULL, *nowopt = NULL, *settle_id = NULL, *reason = NULL;
	int unknown = 0, c, rc = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		switch (c) {
		case O_DB: dbopt = optarg; break;
		case O_NOW: nowopt = optarg; break;
		case O_UNKNOWN: unknown = 1; break;
		case O_SETTLE: settle_id = optarg; break;
		case O_REASON: reason = optarg; break;
		default: usage();
		}
	if ((unknown && (settle_id || optind != argc)) ||
	    (settle_id && argc - optind != 1) ||
	    (!settle_id && !unknown && optind != argc) || (reason && !settle_id))
		usage();
	int64_t now = resolve_now(nowopt);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	if (unknown) {
		struct db *db = db_open(resolve_db(dbopt), DB_READONLY |
		    DB_PERSONAL);
		list_unknown(db);
		db_close(db);
	} else if (settle_id) {
		struct db *db = db_open(resolve_db(dbopt), 0);
		rc = settle(db, settle_id, argv[optind], reason, now);
		sequence_cache_free();
		db_close(db);
	} else {
		struct run r = { .now = now };
		r.b.db = db_open(resolve_db(dbopt), DB_RELAXED);
		struct progress pg;
		progress_start(&pg, "seq-log", "lines read", 0, PROGRESS_IN);
		struct ndjson nj = { .prog = "seq-log", .record = on_record,
			.flush = on_flush, .arg = &r, .progress = &pg };
		long rejected = ndjson_run(&nj, 0);
		progress_done(&pg);
		if (nj.records || !rejected)
			mark_run(r.b.db, now);
		json_t *sum = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}",
		    "records", (json_int_t)nj.lines, "sent", (json_int_t)r.sent,
		    "failed", (json_int_t)r.failed, "retried", (json_int_t)r.retried,
		    "ignored", (json_int_t)r.ignored, "rejected", (json_int_t)rejected);
		json_line(&r.b.out, sum);
		json_decref(sum);
		emit(&r.b.out);
		buf_free(&r.b.out);
		free(r.p);
		sequence_cache_free();
		db_close(r.b.db);
		rc = rejected ? EXIT_REJECTED : 0;
	}
	finish_stdout();
	return rc;
}
