/*
 * enroll: see enroll.h for the states and who moves them.
 */
#include "enroll.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consent.h"
#include "lead.h"
#include "util.h"

/* The channel a sequence starts with: its first message step along next. */
static int
first_channel(const struct seqdef *d)
{
	int k = 0, guard = 0;
	while (k >= 0 && guard++ < d->nsteps) {
		const struct step *s = &d->steps[k];
		if (step_channel(s) >= 0)
			return step_channel(s);
		k = s->type == ST_BRANCH ? s->then_step : s->next;
	}
	return -1;
}

static int
has_badge(const struct lead *l, const char *b)
{
	size_t i;
	json_t *v;
	json_array_foreach(l->badges, i, v)
		if (strcmp(json_string_value(v), b) == 0)
			return 1;
	return 0;
}

int64_t
enroll(struct db *db, int64_t lead_id, int64_t seq_id, int version,
    const struct seqdef *d, int64_t start, int64_t now, char **why)
{
	struct lead l;
	sqlite3_stmt *st;
	int ch = first_channel(d);
	static char reason[160];

	*why = NULL;
	if (lead_load(db, lead_id, &l) != 0) {
		*why = "unknown lead";
		return 0;
	}
	st = db_stmt(db, "SELECT id FROM enrollments WHERE lead_id = ? AND "
	    "sequence_id = ? AND (status = 'active' OR status = 'paused')");
	bind_int(st, 1, lead_id);
	bind_int(st, 2, seq_id);
	if (db_step(db, st) == SQLITE_ROW) {
		snprintf(reason, sizeof reason, "already enrolled in %s "
		    "(enrollment %lld)", d->name,
		    (long long)sqlite3_column_int64(st, 0));
		*why = reason;
	}
	sqlite3_reset(st);
	if (!*why) {
		st = db_stmt(db, "SELECT id FROM enrollments WHERE lead_id = ? "
		    "AND status = 'converted' LIMIT 1");
		bind_int(st, 1, lead_id);
		if (db_step(db, st) == SQLITE_ROW) {
			snprintf(reason, sizeof reason, "converted already "
			    "(enrollment %lld)", (long long)sqlite3_column_int64(st, 0));
			*why = reason;
		}
		sqlite3_reset(st);
	}
	if (!*why && ch >= 0 && lead_opted_out(db, lead_id, channel_names[ch])) {
		snprintf(reason, sizeof reason, "opted out of %s",
		    channel_names[ch]);
		*why = reason;
	}
	if (!*why && ch >= 0 && recipient_suppressed(db, ch == CH_EMAIL ?
	    l.f[LF_EMAIL] : l.f[LF_PHONE], reason, sizeof reason))
		*why = reason;
	if (!*why && ch == CH_EMAIL && !has_badge(&l, "valid-email"))
		*why = l.f[LF_EMAIL] ? "invalid email address" : "no email address";
	if (!*why && ch >= CH_SMS && !has_badge(&l, "valid-phone"))
		*why = l.f[LF_PHONE] ? "invalid phone number" : "no phone number";
	lead_free(&l);
	if (*why)
		return 0;

	st = db_stmt(db, "INSERT INTO enrollments (lead_id, sequence_id, "
	    "version, status, step, step_at, next_run_at, created_at, "
	    "updated_at) VALUES (?1, ?2, ?3, 'active', ?4, ?5, ?5, ?6, ?6)");
	bind_int(st, 1, lead_id);
	bind_int(st, 2, seq_id);
	bind_int(st, 3, version);
	bind_text(st, 4, d->steps[0].id);
	bind_int(st, 5, start > now ? start : now);
	bind_int(st, 6, now);
	db_run(db, st);
	int64_t id = sqlite3_last_insert_rowid(db_handle(db));
	st = db_stmt(db, "INSERT INTO enrollment_changes (enrollment_id, at, "
	    "status, reason) VALUES (?, ?, 'active', ?)");
	bind_int(st, 1, id);
	bind_int(st, 2, now);
	bind_text(st, 3, start > now ? "enrolled; starts later" : "enrolled");
	db_run(db, st);
	return id;
}

void
enrollment_set_status(struct db *db, int64_t id, const char *status,
    const char *reason, int64_t now)
{
	sqlite3_stmt *st = db_stmt(db, "UPDATE sequence_executions SET "
	    "state = 'released', done_at = ?2, error = ?3 WHERE id = "
	    "(SELECT claim FROM enrollments WHERE id = ?1) AND state = 'claimed'");
	bind_int(st, 1, id);
	bind_int(st, 2, now);
	char why[64];
	snprintf(why, sizeof why, "not sent: enrollment %s", status);
	bind_text(st, 3, why);
	db_run(db, st);
	if (sqlite3_changes(db_handle(db))) {
		/* the released execution keeps its key; the step's next claim
		 * must have another */
		st = db_stmt(db, "UPDATE enrollments SET cursor = cursor + 1 "
		    "WHERE id = ?");
		bind_int(st, 1, id);
		db_run(db, st);
	}
	/* a claim that is already sending stays: its outcome is still due */
	st = db_stmt(db, "UPDATE enrollments SET status = ?2, updated_at = ?3, "
	    "claim = (SELECT id FROM sequence_executions WHERE id = claim AND "
	    "(state = 'sending' OR state = 'unknown')) WHERE id = ?1");
	bind_int(st, 1, id);
	bind_text(st, 2, status);
	bind_int(st, 3, now);
	db_run(db, st);
	st = db_stmt(db, "INSERT INTO enrollment_changes (enrollment_id, at, "
	    "status, reason) VALUES (?, ?, ?, ?)");
	bind_int(st, 1, id);
	bind_int(st, 2, now);
	bind_text(st, 3, status);
	bind_text(st, 4, reason);
	db_run(db, st);
}

int
enrollment_act(struct db *db, int64_t id, enum enroll_action a, double value,
    int has_value, const char *reason, int64_t now, char **why)
{
	static const char *const allowed[] = {
		[EA_PAUSE] = "active",
		[EA_RESUME] = "paused",
		[EA_CANCEL] = "active paused",
		[EA_CONVERT] = "active paused completed exited",
	};
	static const char *const to[] = { "paused", "active", "cancelled",
		"converted" };
	sqlite3_stmt *st = db_stmt(db, "SELECT status FROM enrollments WHERE id = ?");
	char status[16] = "";

	bind_int(st, 1, id);
	if (db_step(db, st) == SQLITE_ROW)
		snprintf(status, sizeof status, "%s", col_text(st, 0));
	sqlite3_reset(st);
	if (!*status) {
		*why = xasprintf("no enrollment %lld", (long long)id);
		return -1;
	}
	if (!strstr(allowed[a], status)) {
		*why = xasprintf("enrollment %lld is %s; cannot make it %s",
		    (long long)id, status, to[a]);
		return -1;
	}
	enrollment_set_status(db, id, to[a], reason ? reason : "admin", now);
	if (a == EA_RESUME) {
		/* from now: a wait restarts, overdue steps do not burst out */
		st = db_stmt(db, "UPDATE enrollments SET next_run_at = ?2, "
		    "step_at = ?2 WHERE id = ?1");
		bind_int(st, 1, id);
		bind_int(st, 2, now);
		db_run(db, st);
	}
	if (a == EA_CONVERT && has_value) {
		st = db_stmt(db, "UPDATE enrollments SET value = ? WHERE id = ?");
		bind_real(st, 1, value);
		bind_int(st, 2, id);
		db_run(db, st);
	}
	return 0;
}

json_t *
enrollment_json(struct db *db, int64_t id)
{
	sqlite3_stmt *st = db_stmt(db,
	    "SELECT e.id, e.lead_id, s.name, e.version, e.status, e.step, "
	    "e.next_run_at, e.created_at, e.updated_at, e.value, e.attempt "
	    "FROM enrollments e JOIN sequences s ON s.id = e.sequence_id "
	    "WHERE e.id = ?");
	json_t *o = NULL;
	char t[32];
	bind_int(st, 1, id);
	if (db_step(db, st) == SQLITE_ROW) {
		o = json_pack("{s:I, s:I, s:s, s:i, s:s}",
		    "enrollment_id", (json_int_t)sqlite3_column_int64(st, 0),
		    "lead_id", (json_int_t)sqlite3_column_int64(st, 1),
		    "sequence", col_text(st, 2),
		    "version", sqlite3_column_int(st, 3),
		    "status", col_text(st, 4));
		json_object_set_new(o, "step", col_text(st, 5) ?
		    json_string(col_text(st, 5)) : json_null());
		json_object_set_new(o, "next_run_at",
		    sqlite3_column_type(st, 6) == SQLITE_NULL ? json_null() :
		    json_string(format_time(sqlite3_column_int64(st, 6), t)));
		json_object_set_new(o, "attempt", json_integer(sqlite3_column_int(st, 10)));
		json_object_set_new(o, "created_at",
		    json_string(format_time(sqlite3_column_int64(st, 7), t)));
		json_object_set_new(o, "updated_at",
		    json_string(format_time(sqlite3_column_int64(st, 8), t)));
		if (sqlite3_column_type(st, 9) != SQLITE_NULL)
			json_object_set_new(o, "value",
			    json_real(sqlite3_column_double(st, 9)));
	}
	sqlite3_reset(st);
	return o;
}
