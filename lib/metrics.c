/*
 * metrics: see metrics.h.
 */
#include "metrics.h"

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outcome.h"

static void
out(struct buf *b, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	buf_add(b, line, n < (int)sizeof line ? (size_t)n : sizeof line - 1);
}

static void
head(struct buf *b, const char *name, const char *type, const char *help)
{
	out(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value as the exposition format wants it: \, " and newline
 * escaped.  Adapter and channel names never hold them; a status could. */
static const char *
label(const char *s, char *buf, size_t size)
{
	size_t j = 0;
	for (; s && *s && j + 3 < size; s++) {
		if (*s == '\\' || *s == '"' || *s == '\n') {
			buf[j++] = '\\';
			buf[j++] = *s == '\n' ? 'n' : *s;
		} else
			buf[j++] = *s;
	}
	buf[j] = '\0';
	return buf;
}

static void
sends(struct db *db, struct buf *b)
{
	char a[128], c[64], o[64];
	sqlite3_stmt *st = db_stmt(db, "SELECT adapter, channel, outcome, count "
	    "FROM adapter_counters ORDER BY 1, 2, 3");
	head(b, "seqtools_sends_total", "counter", "Delivery attempts by "
	    "adapter, channel and outcome: sent, failed, retry (recorded by "
	    "seq-log), unknown (no outcome before the lease ended).");
	while (db_step(db, st) == SQLITE_ROW)
		out(b, "seqtools_sends_total{adapter=\"%s\",channel=\"%s\","
		    "outcome=\"%s\"} %lld\n", label(col_text(st, 0), a, sizeof a),
		    label(col_text(st, 1), c, sizeof c),
		    label(col_text(st, 2), o, sizeof o),
		    (long long)sqlite3_column_int64(st, 3));
	sqlite3_reset(st);

	st = db_stmt(db, "SELECT adapter, channel, count FROM adapter_counters "
	    "WHERE outcome = 'retry' ORDER BY 1, 2");
	head(b, "seqtools_retries_total", "counter", "Attempts that failed "
	    "transiently and were rescheduled, by adapter and channel.");
	while (db_step(db, st) == SQLITE_ROW)
		out(b, "seqtools_retries_total{adapter=\"%s\",channel=\"%s\"} "
		    "%lld\n", label(col_text(st, 0), a, sizeof a),
		    label(col_text(st, 1), c, sizeof c),
		    (long long)sqlite3_column_int64(st, 2));
	sqlite3_reset(st);
}

static void
latency(struct db *db, struct buf *b)
{
	char a[128], c[64];
	head(b, "seqtools_delivery_latency_seconds", "histogram", "Time an "
	    "adapter took to deliver an attempt, by adapter and channel.");
	sqlite3_stmt *pairs = db_stmt(db, "SELECT adapter, channel, "
	    "sum(latency_ms_sum) FROM adapter_counters GROUP BY 1, 2 "
	    "ORDER BY 1, 2");
	while (db_step(db, pairs) == SQLITE_ROW) {
		int64_t n[LATENCY_BUCKETS] = { 0 }, cum = 0;
		label(col_text(pairs, 0), a, sizeof a);
		label(col_text(pairs, 1), c, sizeof c);
		sqlite3_stmt *st = db_stmt(db, "SELECT bucket, count FROM "
		    "latency_buckets WHERE adapter = ? AND channel = ?");
		bind_text(st, 1, col_text(pairs, 0));
		bind_text(st, 2, col_text(pairs, 1));
		while (db_step(db, st) == SQLITE_ROW) {
			int k = sqlite3_column_int(st, 0);
			if (k >= 0 && k < LATENCY_BUCKETS)
				n[k] = sqlite3_column_int64(st, 1);
		}
		sqlite3_reset(st);
		for (int k = 0; k < LATENCY_BUCKETS; k++) {
			cum += n[k];
			if (k < LATENCY_BUCKETS - 1)
				out(b, "seqtools_delivery_latency_seconds_bucket{"
				    "adapter=\"%s\",channel=\"%s\",le=\"%g\"} "
				    "%lld\n", a, c, latency_bounds_ms[k] / 1000.0,
				    (long long)cum);
			else
				out(b, "seqtools_delivery_latency_seconds_bucket{"
				    "adapter=\"%s\",channel=\"%s\",le=\"+Inf\"} "
				    "%lld\n", a, c, (long long)cum);
		}
		out(b, "seqtools_delivery_latency_seconds_sum{adapter=\"%s\","
		    "channel=\"%s\"} %.3f\n", a, c,
		    sqlite3_column_int64(pairs, 2) / 1000.0);
		out(b, "seqtools_delivery_latency_seconds_count{adapter=\"%s\","
		    "channel=\"%s\"} %lld\n", a, c, (long long)cum);
	}
	sqlite3_reset(pairs);
}

static long
spool_depth(const char *spool, const char *sub)
{
	char *path = xasprintf("%s/%s", spool, sub);
	DIR *d = opendir(path);
	struct dirent *de;
	long n = 0;
	if (!d) {
		int e = errno;
		if (e != ENOENT)
			warn("%s", path);
		free(path);
		return e == ENOENT ? 0 : -1;
	}
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && (strcmp(sub, "quarantine") ||
		    !strstr(de->d_name, ".why")))
			n++;
	closedir(d);
	free(path);
	return n;
}

static void
gauges(struct db *db, const char *spool, int64_t now, struct buf *b)
{
	char s[64];
	sqlite3_stmt *st = db_stmt(db, "SELECT count(*), min(next_run_at) FROM "
	    "enrollments WHERE status = 'active' AND claim IS NULL AND "
	    "next_run_at <= ?");
	bind_int(st, 1, now);
	db_step(db, st);
	long long due = sqlite3_column_int64(st, 0);
	int64_t oldest = sqlite3_column_type(st, 1) == SQLITE_NULL ? now :
	    sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	head(b, "seqtools_due_steps", "gauge", "Enrollments whose next step is "
	    "due and not yet claimed.");
	out(b, "seqtools_due_steps %lld\n", due);
	head(b, "seqtools_due_lag_seconds", "gauge", "How long the oldest due, "
	    "unclaimed step has waited (0 when none waits).");
	out(b, "seqtools_due_lag_seconds %lld\n", (long long)(now - oldest));

	st = db_stmt(db, "SELECT count(*) FROM sequence_executions WHERE "
	    "state = 'unknown'");
	db_step(db, st);
	head(b, "seqtools_unknown_steps", "gauge", "Attempts whose outcome was "
	    "never recorded, waiting for seq-log --settle.");
	out(b, "seqtools_unknown_steps %lld\n",
	    (long long)sqlite3_column_int64(st, 0));
	sqlite3_reset(st);

	/* every status, a series even at 0, in one scan */
	head(b, "seqtools_enrollments", "gauge", "Enrollments by status.");
	st = db_stmt(db, "WITH s(status) AS (VALUES ('active'), ('paused'), "
	    "('completed'), ('cancelled'), ('converted'), ('exited'), "
	    "('failed')), n AS (SELECT status, count(*) AS c FROM enrollments "
	    "GROUP BY status) SELECT s.status, coalesce(n.c, 0) FROM s LEFT "
	    "JOIN n ON n.status = s.status");
	while (db_step(db, st) == SQLITE_ROW)
		out(b, "seqtools_enrollments{status=\"%s\"} %lld\n",
		    label(col_text(st, 0), s, sizeof s),
		    (long long)sqlite3_column_int64(st, 1));
	sqlite3_reset(st);

	if (spool) {
		head(b, "seqtools_spool_files", "gauge", "Webhooks waiting in "
		    "the spool (new) and set aside as unreadable (quarantine).");
		long n = spool_depth(spool, "new"), q = spool_depth(spool,
		    "quarantine");
		if (n >= 0)
			out(b, "seqtools_spool_files{dir=\"new\"} %ld\n", n);
		if (q >= 0)
			out(b, "seqtools_spool_files{dir=\"quarantine\"} %ld\n", q);
	}

	st = db_stmt(db, "SELECT value FROM meta WHERE key = 'last_run'");
	int64_t last = 0;
	if (db_step(db, st) == SQLITE_ROW && col_text(st, 0))
		parse_time(col_text(st, 0), &last);
	sqlite3_reset(st);
	head(b, "seqtools_last_run_timestamp_seconds", "gauge", "When seq-log "
	    "last finished a pipeline run (0: never).");
	out(b, "seqtools_last_run_timestamp_seconds %lld\n", (long long)last);
}

void
metrics_write(struct db *db, const char *spool, int64_t now, struct buf *b)
{
	sends(db, b);
	latency(db, b);
	gauges(db, spool, now, b);
}
