/*
 * plan: see plan.h.  The plan runs the real walk at each moment something
 * becomes due, and records every job it claims as sent at that moment, all
 * inside a dry run: the schedule it prints is the one seq-due would follow
 * if every message were delivered and nothing came back.
 */
#include "plan.h"

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ndjson.h"
#include "outcome.h"
#include "record.h"
#include "sequence.h"
#include "util.h"

/* A moment that keeps yielding jobs without time passing would be a walk
 * that never waits: the definition check forbids it, this stops it. */
#define ROUNDS_AT_ONE_MOMENT 1000

struct moment {
	struct db *db;
	int64_t at;
	struct buf out;
	long jobs;
};

/* Each job line of a batch: printed with the moment it goes out, then
 * recorded as sent so that the walk moves on. */
static void
planned(struct buf *lines, void *arg)
{
	struct moment *m = arg;
	char at[21];
	char *p = lines->p, *end = lines->p + lines->len;

	format_time(m->at, at);
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		json_error_t je;
		json_t *job = json_loadb(p, len, JSON_REJECT_DUPLICATES, &je);
		json_t *id = job ? json_object_get(job, "execution_id") : NULL;
		if (!json_is_integer(id))
			errx(EXIT_DB, "plan: a job line without its execution id");
		buf_adds(&m->out, "{\"at\":\"");
		buf_adds(&m->out, at);
		buf_adds(&m->out, "\",");
		buf_add(&m->out, p + 1, len - 1);
		buf_addc(&m->out, '\n');

		sqlite3_stmt *st = db_stmt(m->db, "UPDATE sequence_executions "
		    "SET state = 'sending', sending_at = ?2 WHERE id = ?1");
		bind_int(st, 1, json_integer_value(id));
		bind_int(st, 2, m->at);
		db_run(m->db, st);
		struct result r;
		const char *why, *final;
		memset(&r, 0, sizeof r);
		r.job.execution_id = json_integer_value(id);
		r.status = "sent";
		r.adapter = "plan";
		if (outcome_record(m->db, &r, 0, m->at, &why, &final) !=
		    OUTCOME_RECORDED)
			errx(EXIT_DB, "plan: execution %lld: %s",
			    (long long)r.job.execution_id, why ? why : "not recorded");
		json_decref(job);
		m->jobs++;
		p += len + 1;
	}
	emit(&m->out);
}

/* The next moment after t when an enrollment the plan follows is due, or
 * a claim of one lapses and goes out again. */
static int64_t
next_moment(struct db *db, const struct due_opts *o, int64_t seq_id, int64_t t)
{
	sqlite3_stmt *st = db_stmt(db, "SELECT min(at) FROM ("
	    "SELECT min(next_run_at) AS at FROM enrollments WHERE "
	    "status = 'active' AND claim IS NULL AND next_run_at > ?1 AND "
	    "(?2 = 0 OR sequence_id = ?2) AND (?3 = 0 OR lead_id = ?3) "
	    "UNION ALL SELECT min(x.lease_until) FROM sequence_executions x "
	    "JOIN enrollments e ON e.id = x.enrollment_id WHERE "
	    "x.state = 'claimed' AND x.lease_until > ?1 AND "
	    "(?2 = 0 OR e.sequence_id = ?2) AND (?3 = 0 OR e.lead_id = ?3))");
	int64_t next = -1;
	bind_int(st, 1, t);
	bind_int(st, 2, seq_id);
	bind_int(st, 3, o->lead_id);
	if (db_step(db, st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL)
		next = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return next;
}

int
plan_run(struct db *db, const struct due_opts *opts, int64_t until, long *jobs)
{
	int64_t seq_id = 0;
	if (opts->sequence && !(seq_id = sequence_find(db, opts->sequence, NULL)))
		return -1;
	struct moment m = { .db = db, .at = opts->now };
	struct due_opts o = *opts;
	struct due_stats st;
	int rounds = 0;

	o.sink = planned;
	o.sink_arg = &m;
	o.progress = NULL;
	db_dry_begin(db);
	while (m.at <= until) {
		long before = m.jobs;
		o.now = m.at;
		if (due_run(db, &o, &st) != 0) {
			db_dry_end(db);
			return -1;
		}
		/* what was just sent may lead straight to a wait or a branch:
		 * walk again at the same moment before time moves on */
		if (m.jobs > before && ++rounds < ROUNDS_AT_ONE_MOMENT)
			continue;
		rounds = 0;
		int64_t next = next_moment(db, &o, seq_id, m.at);
		if (next < 0)
			break;
		m.at = next;
	}
	db_dry_end(db);
	buf_free(&m.out);
	*jobs = m.jobs;
	return 0;
}
