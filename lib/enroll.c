/*
 * enroll: see enroll.h for the states and who moves them.
 */
#include "enroll.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consent.h"
#include "lead.h"
#include "sequence.h"
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

int
enroll_exclusive_stored(struct db *db)
{
	sqlite3_stmt *st = db_stmt(db, "SELECT EXISTS (SELECT 1 FROM "
	    "sequence_versions WHERE json_extract(definition, '$.exclusive') "
	    "= 1)");
	int any = db_step(db, st) == SQLITE_ROW && sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return any;
}

/*
 * reenroll: an open enrollment in the sequence refuses the lead, unless the
 * sequence re-enrolls always: then *replace names it, to be cancelled once
 * every other rule has let the lead in.  "never" refuses a lead that was
 * ever enrolled in the sequence.
 */
static int
reenroll_refuses(struct db *db, int64_t lead_id, int64_t seq_id,
    const struct seqdef *d, int64_t *replace, char *reason, size_t size)
{
	sqlite3_stmt *st = db_stmt(db, "SELECT id FROM enrollments WHERE "
	    "lead_id = ? AND sequence_id = ? AND (status = 'active' OR "
	    "status = 'paused')");
	int refused = 0;

	*replace = 0;
	bind_int(st, 1, lead_id);
	bind_int(st, 2, seq_id);
	if (db_step(db, st) == SQLITE_ROW) {
		if (d->reenroll == REENROLL_ALWAYS)
			*replace = sqlite3_column_int64(st, 0);
		else {
			snprintf(reason, size, "already enrolled in %s "
			    "(enrollment %lld)", d->name,
			    (long long)sqlite3_column_int64(st, 0));
			refused = 1;
		}
	}
	sqlite3_reset(st);
	if (refused || d->reenroll != REENROLL_NEVER)
		return refused;
	st = db_stmt(db, "SELECT id, status FROM enrollments WHERE "
	    "lead_id = ? AND sequence_id = ? ORDER BY id DESC LIMIT 1");
	bind_int(st, 1, lead_id);
	bind_int(st, 2, seq_id);
	if (db_step(db, st) == SQLITE_ROW) {
		snprintf(reason, size, "sequence '%s' does not re-enroll "
		    "(enrolled before: enrollment %lld, %s)", d->name,
		    (long long)sqlite3_column_int64(st, 0), col_text(st, 1));
		refused = 1;
	}
	sqlite3_reset(st);
	return refused;
}

/*
 * exclusive: a lead's open enrollment in an exclusive sequence (as of the
 * version it is in) keeps it out of every other sequence, and an exclusive
 * sequence takes no lead that is open in another.  Only asked when d is
 * exclusive or some stored version is.
 */
static int
exclusive_refuses(struct db *db, int64_t lead_id, int64_t seq_id,
    const struct seqdef *d, char *reason, size_t size)
{
	sqlite3_stmt *st = db_stmt(db, "SELECT e.id, e.sequence_id, "
	    "e.version, s.name FROM enrollments e JOIN sequences s ON "
	    "s.id = e.sequence_id WHERE e.lead_id = ? AND e.sequence_id <> ? "
	    "AND (e.status = 'active' OR e.status = 'paused') ORDER BY e.id");
	int refused = 0;

	bind_int(st, 1, lead_id);
	bind_int(st, 2, seq_id);
	while (!refused && db_step(db, st) == SQLITE_ROW) {
		long long id = sqlite3_column_int64(st, 0);
		const struct seqdef *other = sequence_version(db,
		    sqlite3_column_int64(st, 1), sqlite3_column_int(st, 2));
		if (other && other->exclusive) {
			snprintf(reason, size, "lead is in exclusive sequence "
			    "'%s' (enrollment %lld)", col_text(st, 3), id);
			refused = 1;
		} else if (d->exclusive) {
			snprintf(reason, size, "sequence '%s' is exclusive and "
			    "the lead is in sequence '%s' (enrollment %lld)",
			    d->name, col_text(st, 3), id);
			refused = 1;
		}
	}
	sqlite3_reset(st);
	return refused;
}

/*
 * min_gap: the lead's latest touch by any sequence, an execution that was
 * sent or attempted (all but skipped and released ones, as caps count
 * them), at the time it was sent, or claimed while it is not yet.  Found
 * through the lead's enrollments and their executions, both indexed.
 */
static int
gap_refuses(struct db *db, int64_t lead_id, const struct seqdef *d,
    int64_t now, char *reason, size_t size)
{
	sqlite3_stmt *st = db_stmt(db, "SELECT s.name, coalesce(x.sending_at, "
	    "x.claimed_at) AS t FROM enrollments e JOIN sequence_executions x "
	    "ON x.enrollment_id = e.id JOIN sequences s ON s.id = "
	    "e.sequence_id WHERE e.lead_id = ?1 AND x.state <> 'skipped' AND "
	    "x.state <> 'released' AND coalesce(x.sending_at, x.claimed_at) > "
	    "?2 ORDER BY t DESC LIMIT 1");
	int refused = 0;
	char t[32];

	bind_int(st, 1, lead_id);
	bind_int(st, 2, now - d->min_gap);
	if (db_step(db, st) == SQLITE_ROW) {
		snprintf(reason, size, "touched by sequence '%s' %s, within "
		    "min_gap %s", col_text(st, 0),
		    format_time(sqlite3_column_int64(st, 1), t),
		    json_string_value(json_object_get(d->doc, "min_gap")));
		refused = 1;
	}
	sqlite3_reset(st);
	return refused;
}

/* The quality gate, on the badges and quality the lead has stored. */
static int
quality_refuses(const struct lead *l, const struct seqdef *d, char *reason,
    size_t size)
{
	size_t i, len = 0;
	int missing = 0;
	json_t *v;
	char names[200] = "";

	json_array_foreach(d->require_badges, i, v) {
		if (has_badge(l, json_string_value(v)))
			continue;
		size_t room = sizeof names - len;
		int n = snprintf(names + len, room, "%s%s", missing ? ", " : "",
		    json_string_value(v));
		len += n > 0 && (size_t)n < room ? (size_t)n : room - 1;
		missing++;
	}
	if (missing) {
		snprintf(reason, size, "missing badge%s %s", missing > 1 ?
		    "s" : "", names);
		return 1;
	}
	if (d->min_quality >= 0 && l->quality < d->min_quality) {
		snprintf(reason, size, "quality %d below min_quality %d",
		    l->quality, d->min_quality);
		return 1;
	}
	return 0;
}

int64_t
enroll(struct db *db, int64_t lead_id, int64_t seq_id, int version,
    const struct seqdef *d, int exclusive_stored, int64_t start, int64_t now,
    char **why)
{
	struct lead l;
	sqlite3_stmt *st;
	int ch = first_channel(d);
	int64_t replace;
	static char reason[256];

	*why = NULL;
	if (lead_load(db, lead_id, &l) != 0) {
		*why = "unknown lead";
		return 0;
	}
	if (reenroll_refuses(db, lead_id, seq_id, d, &replace, reason,
	    sizeof reason))
		*why = reason;
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
	if (!*why && (d->exclusive || exclusive_stored) &&
	    exclusive_refuses(db, lead_id, seq_id, d, reason, sizeof reason))
		*why = reason;
	if (!*why && d->min_gap > 0 &&
	    gap_refuses(db, lead_id, d, now, reason, sizeof reason))
		*why = reason;
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
	if (!*why && quality_refuses(&l, d, reason, sizeof reason))
		*why = reason;
	lead_free(&l);
	if (*why)
		return 0;

	/* the partial unique index allows one open enrollment per lead and
	 * sequence: the one replaced stops first, in the same transaction */
	if (replace)
		enrollment_set_status(db, replace, "cancelled", "re-enrolled",
		    now);
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
	    "status, reason, step) VALUES (?, ?, 'active', ?, ?)");
	bind_int(st, 1, id);
	bind_int(st, 2, now);
	bind_text(st, 4, d->steps[0].id);
	snprintf(reason, sizeof reason, "%s", start > now ?
	    "enrolled; starts later" : "enrolled");
	if (replace)
		snprintf(reason + strlen(reason), sizeof reason - strlen(reason),
		    "; replaces enrollment %lld", (long long)replace);
	bind_text(st, 3, reason);
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
	/* the step it is at: the timeline shows it at this change, whatever
	 * step the enrollment reaches later */
	st = db_stmt(db, "INSERT INTO enrollment_changes (enrollment_id, at, "
	    "status, reason, step) SELECT ?1, ?2, ?3, ?4, step FROM enrollments "
	    "WHERE id = ?1");
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
	if (a == EA_CONVERT) {
		/* the lead's other enrollments exit when next due; one that
		 * waits for a task (seq-task) is never due by itself */
		st = db_stmt(db, "UPDATE enrollments SET next_run_at = ?2 "
		    "WHERE lead_id = (SELECT lead_id FROM enrollments WHERE "
		    "id = ?1) AND id <> ?1 AND status = 'active' AND "
		    "claim IS NULL AND next_run_at IS NULL");
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
