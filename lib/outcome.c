/*
 * outcome: see outcome.h.  The execution's state is read and changed in
 * one write transaction, so a result recorded twice is recorded once.
 */
#include "outcome.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enroll.h"
#include "pii.h"
#include "seqdef.h"
#include "sequence.h"
#include "util.h"

int64_t
retry_delay(const char *key, int attempt)
{
	int64_t d = 300;
	for (int i = 1; i < attempt && d < 6 * 3600; i++)
		d *= 2;
	if (d > 6 * 3600)
		d = 6 * 3600;
	/* FNV-1a of the key: the same retry always waits the same, and
	 * retries of many keys spread out */
	uint64_t h = 1469598103934665603ULL;
	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return d - d / 5 + (int64_t)(h % (uint64_t)(2 * (d / 5) + 1));
}

/* Moves the enrollment past step k; at the end an active one completes, in
 * the same statement.  The next step counts from now, or, for a sequence
 * whose catch_up is "send", from when step k was due (its step_at), so
 * that steps that came due while cron did not run go out at once. */
static void
advance(struct db *db, int64_t enrollment, const char *status,
    const struct seqdef *d, int k, int64_t now)
{
	int next = d->steps[k].next;
	sqlite3_stmt *st = db_stmt(db, "UPDATE enrollments SET step = ?2, "
	    "cursor = cursor + 1, attempt = 1, step_at = CASE WHEN ?4 THEN "
	    "min(step_at, ?3) ELSE ?3 END, claim = NULL, "
	    "updated_at = ?3, next_run_at = CASE WHEN ?2 IS NULL AND "
	    "status = 'active' THEN NULL ELSE ?3 END, status = CASE WHEN "
	    "?2 IS NULL AND status = 'active' THEN 'completed' ELSE status END "
	    "WHERE id = ?1");
	bind_int(st, 1, enrollment);
	if (next != STEP_END)
		sqlite3_bind_text(st, 2, d->steps[next].id, -1, SQLITE_STATIC);
	bind_int(st, 3, now);
	bind_int(st, 4, d->catch_up == CATCH_UP_SEND);
	db_run(db, st);
	/* the caller read status in this transaction: it is still current */
	if (next == STEP_END && strcmp(status, "active") == 0) {
		st = db_stmt(db, "INSERT INTO enrollment_changes (enrollment_id, "
		    "at, status, reason) VALUES (?, ?, 'completed', "
		    "'reached the end')");
		bind_int(st, 1, enrollment);
		bind_int(st, 2, now);
		db_run(db, st);
	}
}

/* A text column into a buffer, cut to fit as snprintf would, without its
 * cost: this runs under the write lock for every result. */
static void
copy_column(char *dst, size_t size, sqlite3_stmt *st, int i)
{
	const char *src = col_text(st, i);
	size_t n = src ? (size_t)sqlite3_column_bytes(st, i) : 0;
	if (n >= size)
		n = size - 1;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

int
outcome_record(struct db *db, const struct result *r, int settle, int64_t now,
    const char **why, const char **final_status)
{
	static char reason[160];
	sqlite3_stmt *st = db_stmt(db, "SELECT x.state, x.key, x.enrollment_id, "
	    "x.step, x.attempt, e.claim, e.sequence_id, e.version, e.status, "
	    "x.channel "
	    "FROM sequence_executions x JOIN enrollments e ON e.id = "
	    "x.enrollment_id WHERE x.id = ?");
	char state[16] = "", key[128] = "", step[72] = "", status[16] = "";
	char channel[8] = "";
	int64_t enrollment = 0, claim = 0, seq_id = 0;
	int attempt = 0, version = 0;

	*why = NULL;
	bind_int(st, 1, r->job.execution_id);
	if (db_step(db, st) == SQLITE_ROW) {
		copy_column(state, sizeof state, st, 0);
		copy_column(key, sizeof key, st, 1);
		enrollment = sqlite3_column_int64(st, 2);
		copy_column(step, sizeof step, st, 3);
		attempt = sqlite3_column_int(st, 4);
		claim = sqlite3_column_int64(st, 5);
		seq_id = sqlite3_column_int64(st, 6);
		version = sqlite3_column_int(st, 7);
		copy_column(status, sizeof status, st, 8);
		copy_column(channel, sizeof channel, st, 9);
	}
	sqlite3_reset(st);
	if (!enrollment) {
		snprintf(reason, sizeof reason, "no execution %lld",
		    (long long)r->job.execution_id);
		*why = reason;
		return OUTCOME_REJECTED;
	}
	if (r->job.key) {
		const char *field = strcmp(key, r->job.key) ? "key" :
		    r->job.enrollment_id != enrollment ? "enrollment_id" :
		    strcmp(step, r->job.step) ? "step" :
		    r->job.attempt != attempt ? "attempt" :
		    strcmp(channel, r->job.channel) ? "channel" : NULL;
		if (field) {
			snprintf(reason, sizeof reason, "execution %lld has "
			    "another %s", (long long)r->job.execution_id, field);
			*why = reason;
			return OUTCOME_REJECTED;
		}
	}
	if (!strcmp(state, "sent") || !strcmp(state, "failed") ||
	    !strcmp(state, "retry")) {
		snprintf(reason, sizeof reason, "execution %lld was recorded as "
		    "%s already; ignored", (long long)r->job.execution_id, state);
		*why = reason;
		return OUTCOME_IGNORED;
	}
	if (settle ? strcmp(state, "unknown") != 0 :
	    strcmp(state, "sending") && strcmp(state, "unknown")) {
		snprintf(reason, sizeof reason, "execution %lld is %s, not %s",
		    (long long)r->job.execution_id, state,
		    settle ? "unknown" : "sending");
		*why = reason;
		return OUTCOME_REJECTED;
	}

	const struct seqdef *d = sequence_version(db, seq_id, version);
	int k = d ? seqdef_step(d, step) : -1;
	if (k < 0) {
		*why = "the execution's step is not in its sequence version";
		return OUTCOME_REJECTED;
	}
	const char *out = r->status, *error = r->error;
	char gave_up[600], redacted[500];
	/* a provider's error may quote the address; a sealed database keeps
	 * none in clear */
	if (error && pii_keys(db)) {
		char *x = pii_redact(error, r->job.to);
		snprintf(redacted, sizeof redacted, "%s", x);
		free(x);
		error = redacted;
	}
	if (!strcmp(out, "retry") && attempt >= d->max_attempts) {
		snprintf(gave_up, sizeof gave_up, "gave up after %d attempts: %s",
		    attempt, error ? error : "");
		out = "failed";
		error = gave_up;
	}
	*final_status = out;

	char *own = NULL;
	const char *meta = r->metadata_text;
	if (!meta && r->metadata)
		meta = own = json_dumps(r->metadata, JSON_COMPACT);
	st = db_stmt(db, "UPDATE sequence_executions SET state = ?2, "
	    "adapter = ?3, provider_id = ?4, http_status = ?5, error = ?6, "
	    "cost = ?7, latency_ms = ?8, metadata = ?9, done_at = ?10 "
	    "WHERE id = ?1");
	bind_int(st, 1, r->job.execution_id);
	bind_text(st, 2, out);
	bind_text(st, 3, r->adapter);
	bind_text(st, 4, r->provider_id);
	if (r->http_status)
		bind_int(st, 5, r->http_status);
	bind_text(st, 6, error);
	if (r->has_cost)
		bind_real(st, 7, r->cost);
	bind_int(st, 8, r->latency_ms);
	bind_text(st, 9, meta);
	bind_int(st, 10, now);
	db_run(db, st);
	free(own);

	/* the enrollment moves only if this execution still holds it */
	if (claim != r->job.execution_id)
		return OUTCOME_RECORDED;
	if (!strcmp(out, "sent") || (!strcmp(out, "failed") &&
	    d->steps[k].on_fail_continue)) {
		advance(db, enrollment, status, d, k, now);
	} else if (!strcmp(out, "retry")) {
		st = db_stmt(db, "UPDATE enrollments SET attempt = attempt + 1, "
		    "next_run_at = ?2, claim = NULL, updated_at = ?3 WHERE id = ?1");
		bind_int(st, 1, enrollment);
		bind_int(st, 2, now + retry_delay(key, attempt));
		bind_int(st, 3, now);
		db_run(db, st);
	} else {
		char msg[700];
		snprintf(msg, sizeof msg, "step %s failed: %s", step,
		    error ? error : "");
		st = db_stmt(db, "UPDATE enrollments SET claim = NULL, "
		    "next_run_at = NULL WHERE id = ?");
		bind_int(st, 1, enrollment);
		db_run(db, st);
		if (!strcmp(status, "active") || !strcmp(status, "paused"))
			enrollment_set_status(db, enrollment, "failed", msg, now);
	}
	return OUTCOME_RECORDED;
}

const int64_t latency_bounds_ms[LATENCY_BUCKETS - 1] = {
	50, 100, 250, 500, 1000, 2500, 5000, 10000
};

static struct counter {
	char *adapter, *channel, *outcome;
	int64_t count, latency;
	int64_t buckets[LATENCY_BUCKETS];
} *counters;
static int ncounters;

void
counters_add(const char *adapter, const char *channel, const char *outcome,
    int64_t latency_ms)
{
	int i;
	for (i = 0; i < ncounters; i++)
		if (!strcmp(counters[i].adapter, adapter) &&
		    !strcmp(counters[i].channel, channel) &&
		    !strcmp(counters[i].outcome, outcome))
			break;
	if (i == ncounters) {
		counters = xrealloc(counters, (size_t)(i + 1) * sizeof *counters);
		counters[i].adapter = xstrdup(adapter);
		counters[i].channel = xstrdup(channel);
		counters[i].outcome = xstrdup(outcome);
		counters[i].count = counters[i].latency = 0;
		memset(counters[i].buckets, 0, sizeof counters[i].buckets);
		ncounters++;
	}
	counters[i].count++;
	counters[i].latency += latency_ms;
	int b = 0;
	while (b < LATENCY_BUCKETS - 1 && latency_ms > latency_bounds_ms[b])
		b++;
	counters[i].buckets[b]++;
}

void
counters_flush(struct db *db)
{
	for (int i = 0; i < ncounters; i++) {
		sqlite3_stmt *st = db_stmt(db, "INSERT INTO adapter_counters "
		    "(adapter, channel, outcome, count, latency_ms_sum) VALUES "
		    "(?1, ?2, ?3, ?4, ?5) ON CONFLICT DO UPDATE SET count = "
		    "count + ?4, latency_ms_sum = latency_ms_sum + ?5");
		bind_text(st, 1, counters[i].adapter);
		bind_text(st, 2, counters[i].channel);
		bind_text(st, 3, counters[i].outcome);
		bind_int(st, 4, counters[i].count);
		bind_int(st, 5, counters[i].latency);
		db_run(db, st);
		for (int b = 0; b < LATENCY_BUCKETS; b++) {
			if (!counters[i].buckets[b])
				continue;
			st = db_stmt(db, "INSERT INTO latency_buckets (adapter, "
			    "channel, bucket, count) VALUES (?1, ?2, ?3, ?4) ON "
			    "CONFLICT DO UPDATE SET count = count + ?4");
			bind_text(st, 1, counters[i].adapter);
			bind_text(st, 2, counters[i].channel);
			bind_int(st, 3, b);
			bind_int(st, 4, counters[i].buckets[b]);
			db_run(db, st);
		}
		free(counters[i].adapter);
		free(counters[i].channel);
		free(counters[i].outcome);
	}
	free(counters);
	counters = NULL;
	ncounters = 0;
}
