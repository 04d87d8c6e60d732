/*
 * task: see task.h.
 */
#include "task.h"

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "enroll.h"
#include "events.h"
#include "ndjson.h"
#include "pii.h"
#include "sequence.h"
#include "template.h"

/* The texts of a task, each sealed on its own: a swap of two sealed values,
 * within a row or between rows, does not open. */
enum { TT_TITLE, TT_NOTES, TT_NOTE, TT_COUNT };
static const char *const text_names[TT_COUNT] = { "title", "notes", "note" };

static void
text_ad(int64_t id, int which, char out[48])
{
	snprintf(out, 48, "task %lld %s", (long long)id, text_names[which]);
}

/* Binds text (NULL: SQL NULL) as stored: sealed under k, else as it is. */
static void
bind_sealed(sqlite3_stmt *st, int col, const struct keys *k, int64_t id,
    int which, const char *text)
{
	char ad[48];
	size_t len;
	if (!text || !k) {
		bind_text(st, col, text);
		return;
	}
	text_ad(id, which, ad);
	unsigned char *sealed = pii_seal(k, text, strlen(text), ad, &len);
	sqlite3_bind_blob(st, col, sealed, (int)len, free);
}

/* The text at column col as stored, opened under k; malloc'd, NULL for
 * SQL NULL. */
static char *
column_open(sqlite3_stmt *st, int col, const struct keys *k, int64_t id,
    int which)
{
	char ad[48], *text;
	switch (sqlite3_column_type(st, col)) {
	case SQLITE_NULL:
		return NULL;
	case SQLITE_BLOB:
		if (!k)
			errx(EXIT_DB, "task %lld: a sealed %s in a plain database",
			    (long long)id, text_names[which]);
		text_ad(id, which, ad);
		if (!(text = pii_open(k, sqlite3_column_blob(st, col),
		    (size_t)sqlite3_column_bytes(st, col), ad)))
			errx(EXIT_DB, "task %lld: its %s does not open with the "
			    "database's key", (long long)id, text_names[which]);
		return text;
	default:
		return xstrdup(col_text(st, col));
	}
}

static char *
rendered(const char *tpl, const struct lead *l)
{
	struct buf b = { 0 };
	if (!tpl)
		return NULL;
	buf_add(&b, "", 0);
	template_render(tpl, l, NULL, 0, &b);
	buf_addc(&b, '\0');
	return b.p;
}

int
task_open(struct db *db, int64_t enrollment_id, int64_t lead_id,
    const struct lead *l, const struct step *s, int cursor, int64_t now)
{
	const struct keys *k = pii_keys(db);
	sqlite3_stmt *st;
	int64_t id;

	/* the id is known before the row is written: the sealed texts are
	 * bound to it; the caller holds the write lock */
	st = db_stmt(db, "SELECT coalesce(max(id), 0) + 1 FROM tasks");
	db_step(db, st);
	id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);

	char *title = rendered(s->title, l), *notes = rendered(s->notes, l);
	st = db_stmt(db, "INSERT INTO tasks (id, enrollment_id, lead_id, step, "
	    "cursor, kind, title, notes, created_at) VALUES (?1, ?2, ?3, ?4, "
	    "?5, ?6, ?7, ?8, ?9) ON CONFLICT (enrollment_id, cursor) DO "
	    "NOTHING");
	bind_int(st, 1, id);
	bind_int(st, 2, enrollment_id);
	bind_int(st, 3, lead_id);
	bind_text(st, 4, s->id);
	bind_int(st, 5, cursor);
	bind_text(st, 6, s->task_kind);
	bind_sealed(st, 7, k, id, TT_TITLE, title);
	bind_sealed(st, 8, k, id, TT_NOTES, notes);
	bind_int(st, 9, now);
	db_run(db, st);
	if (title)
		sodium_memzero(title, strlen(title));
	if (notes)
		sodium_memzero(notes, strlen(notes));
	free(title);
	free(notes);
	return sqlite3_changes(db_handle(db)) > 0;
}

const char *
task_outcome_check(const char *outcome)
{
	/* what a provider says of a message it carried, or an effect on an
	 * address or a channel's consent that a task cannot name: an opt-out
	 * heard on a call goes in with seq-consent */
	static const char *const refused[] = { "delivered", "open", "click",
		"bounce", "unsubscribe", "resubscribe", "help", "complaint",
		NULL };
	if (!event_type_known(outcome))
		return "an outcome is a lower-case event name like answered, "
		    "voicemail, no-answer or meeting_booked";
	/* it would pause the very enrollment that waits for the task */
	if (!strcmp(outcome, "auto_reply"))
		return "an automatic reply is a mail's, not a task's outcome";
	for (int i = 0; refused[i]; i++)
		if (!strcmp(outcome, refused[i]))
			return "that event is a provider's word for a message; "
			    "record an opt-out with seq-consent";
	return NULL;
}

static void
set_time(json_t *o, const char *name, sqlite3_stmt *st, int col)
{
	char t[32];
	json_object_set_new(o, name, sqlite3_column_type(st, col) ==
	    SQLITE_NULL ? json_null() :
	    json_string(format_time(sqlite3_column_int64(st, col), t)));
}

static void
set_text(json_t *o, const char *name, char *text)
{
	json_object_set_new(o, name, text ? json_string(text) : json_null());
	if (text)
		sodium_memzero(text, strlen(text));
	free(text);
}

json_t *
task_json(struct db *db, int64_t id)
{
	const struct keys *k = pii_keys(db);
	sqlite3_stmt *st = db_stmt(db, "SELECT t.id, t.enrollment_id, "
	    "t.lead_id, s.name, e.version, t.step, t.kind, t.title, t.notes, "
	    "t.created_at, t.done_at, t.outcome, t.note, t.execution_id "
	    "FROM tasks t JOIN enrollments e ON e.id = t.enrollment_id "
	    "JOIN sequences s ON s.id = e.sequence_id WHERE t.id = ?");
	json_t *o = NULL;
	bind_int(st, 1, id);
	if (db_step(db, st) == SQLITE_ROW) {
		o = json_pack("{s:I, s:I, s:I, s:s, s:i, s:s}",
		    "task_id", (json_int_t)id,
		    "enrollment_id", (json_int_t)sqlite3_column_int64(st, 1),
		    "lead_id", (json_int_t)sqlite3_column_int64(st, 2),
		    "sequence", col_text(st, 3),
		    "version", sqlite3_column_int(st, 4),
		    "step", col_text(st, 5));
		json_object_set_new(o, "kind", col_text(st, 6) ?
		    json_string(col_text(st, 6)) : json_null());
		set_text(o, "title", column_open(st, 7, k, id, TT_TITLE));
		set_text(o, "notes", column_open(st, 8, k, id, TT_NOTES));
		set_time(o, "created_at", st, 9);
		set_time(o, "done_at", st, 10);
		json_object_set_new(o, "outcome", col_text(st, 11) ?
		    json_string(col_text(st, 11)) : json_null());
		set_text(o, "note", column_open(st, 12, k, id, TT_NOTE));
		json_object_set_new(o, "execution_id",
		    sqlite3_column_type(st, 13) == SQLITE_NULL ? json_null() :
		    json_integer(sqlite3_column_int64(st, 13)));
	}
	sqlite3_reset(st);
	return o;
}

/* What the person doing the task needs of the lead. */
static json_t *
lead_details(struct db *db, int64_t lead_id)
{
	static const enum lead_field shown[] = { LF_EXTERNAL_ID, LF_FIRST_NAME,
		LF_LAST_NAME, LF_COMPANY, LF_TITLE, LF_EMAIL, LF_PHONE,
		LF_TIMEZONE };
	struct lead l;
	json_t *o = json_pack("{s:I}", "id", (json_int_t)lead_id);
	if (lead_load(db, lead_id, &l) != 0)
		return o;
	for (size_t i = 0; i < sizeof shown / sizeof *shown; i++)
		json_object_set_new(o, lead_field_names[shown[i]],
		    l.f[shown[i]] ? json_string(l.f[shown[i]]) : json_null());
	lead_free(&l);
	return o;
}

void
task_list(struct db *db, int64_t lead_id, const char *sequence,
    long long limit, struct buf *out)
{
	/* a paused enrollment's task comes back when it resumes; a stopped
	 * one's is moot */
	sqlite3_stmt *st = db_stmt(db, "SELECT t.id FROM tasks t "
	    "INDEXED BY tasks_open JOIN enrollments e ON e.id = "
	    "t.enrollment_id JOIN sequences s ON s.id = e.sequence_id "
	    "WHERE t.done_at IS NULL AND e.status = 'active' AND "
	    "(?1 = 0 OR t.lead_id = ?1) AND (?2 IS NULL OR s.name = ?2) "
	    "ORDER BY t.created_at, t.id LIMIT ?3");
	size_t n;
	bind_int(st, 1, lead_id);
	bind_text(st, 2, sequence);
	bind_int(st, 3, limit);
	int64_t *ids = db_ids(db, st, &n);
	for (size_t i = 0; i < n; i++) {
		json_t *o = task_json(db, ids[i]);
		if (!o)
			continue;
		json_object_del(o, "done_at");
		json_object_del(o, "outcome");
		json_object_del(o, "note");
		json_object_del(o, "execution_id");
		json_object_set_new(o, "lead", lead_details(db,
		    json_integer_value(json_object_get(o, "lead_id"))));
		json_line(out, o);
		json_decref(o);
		if (out->len > 1 << 16)
			emit(out);
	}
	free(ids);
}

/* Moves the enrollment past step k, due at once; at the end it completes. */
static void
move_on(struct db *db, int64_t enrollment_id, const struct seqdef *d, int k,
    int64_t now)
{
	int next = d->steps[k].next;
	sqlite3_stmt *st = db_stmt(db, "UPDATE enrollments SET step = ?2, "
	    "cursor = cursor + 1, attempt = 1, step_at = ?3, next_run_at = "
	    "CASE WHEN ?2 IS NULL THEN NULL ELSE ?3 END, updated_at = ?3 "
	    "WHERE id = ?1");
	bind_int(st, 1, enrollment_id);
	bind_text(st, 2, next == STEP_END ? NULL : d->steps[next].id);
	bind_int(st, 3, now);
	db_run(db, st);
	if (next == STEP_END)
		enrollment_set_status(db, enrollment_id, "completed",
		    "reached the end", now);
}

int
task_done(struct db *db, int64_t id, const char *outcome, const char *note,
    int64_t now, char **why)
{
	sqlite3_stmt *st = db_stmt(db, "SELECT t.enrollment_id, t.lead_id, "
	    "t.step, t.cursor, t.kind, t.created_at, t.done_at, t.outcome, "
	    "e.status, e.step, e.cursor, e.claim, e.sequence_id, e.version, "
	    "e.attempt FROM tasks t JOIN enrollments e ON e.id = "
	    "t.enrollment_id WHERE t.id = ?");
	int64_t enrollment = 0, lead = 0, created = 0, done = 0, claim = 0,
	    seq_id = 0;
	int cursor = 0, at_cursor = 0, version = 0, attempt = 0, same_step = 0;
	char step[72] = "", kind[72] = "", was[72] = "", status[16] = "";
	char t[32];
	const char *bad;

	*why = NULL;
	bind_int(st, 1, id);
	if (db_step(db, st) == SQLITE_ROW) {
		enrollment = sqlite3_column_int64(st, 0);
		lead = sqlite3_column_int64(st, 1);
		snprintf(step, sizeof step, "%s", col_text(st, 2));
		cursor = sqlite3_column_int(st, 3);
		if (col_text(st, 4))
			snprintf(kind, sizeof kind, "%s", col_text(st, 4));
		created = sqlite3_column_int64(st, 5);
		if (sqlite3_column_type(st, 6) != SQLITE_NULL) {
			done = sqlite3_column_int64(st, 6);
			snprintf(was, sizeof was, "%s", col_text(st, 7));
		}
		snprintf(status, sizeof status, "%s", col_text(st, 8));
		same_step = col_text(st, 9) && !strcmp(col_text(st, 9), step);
		at_cursor = sqlite3_column_int(st, 10);
		claim = sqlite3_column_int64(st, 11);
		seq_id = sqlite3_column_int64(st, 12);
		version = sqlite3_column_int(st, 13);
		attempt = sqlite3_column_int(st, 14);
	}
	sqlite3_reset(st);
	if (!enrollment) {
		*why = xasprintf("no task %lld", (long long)id);
		return -1;
	}
	if (done) {
		*why = xasprintf("task %lld was done already, at %s (%s); "
		    "nothing changed", (long long)id, format_time(done, t), was);
		return -1;
	}
	if (strcmp(status, "active")) {
		*why = xasprintf("task %lld: enrollment %lld is %s%s; nothing "
		    "changed", (long long)id, (long long)enrollment, status,
		    !strcmp(status, "paused") ? " (resume it with seq-enroll "
		    "--resume first)" : ", so its task is moot");
		return -1;
	}
	/* a task is opened only where its enrollment stops and waits */
	if (!same_step || at_cursor != cursor || claim) {
		*why = xasprintf("task %lld: enrollment %lld is no longer at it; "
		    "nothing changed", (long long)id, (long long)enrollment);
		return -1;
	}
	if ((bad = task_outcome_check(outcome))) {
		*why = xasprintf("task %lld: outcome '%s': %s", (long long)id,
		    outcome, bad);
		return -1;
	}
	const struct seqdef *d = sequence_version(db, seq_id, version);
	int k = d ? seqdef_step(d, step) : -1;
	if (k < 0 || d->steps[k].type != ST_TASK) {
		*why = xasprintf("task %lld: step '%s' is not a task of its "
		    "sequence version", (long long)id, step);
		return -1;
	}

	/* the step's attempt, as seq-log would have recorded a message's:
	 * branch() and seq-stats find it as they find those */
	char key[96];
	snprintf(key, sizeof key, "%s.%lld.%d.%d", db_instance(db),
	    (long long)enrollment, cursor, attempt);
	st = db_stmt(db, "INSERT INTO sequence_executions (key, enrollment_id, "
	    "lead_id, step, channel, attempt, state, claimed_at, done_at) "
	    "VALUES (?1, ?2, ?3, ?4, 'task', ?5, 'sent', ?6, ?7)");
	bind_text(st, 1, key);
	bind_int(st, 2, enrollment);
	bind_int(st, 3, lead);
	bind_text(st, 4, step);
	bind_int(st, 5, attempt);
	bind_int(st, 6, created);
	bind_int(st, 7, now);
	if (db_step(db, st) == SQLITE_CONSTRAINT) {
		*why = xasprintf("task %lld: execution key %s exists already; "
		    "nothing changed", (long long)id, key);
		return -1;
	}
	sqlite3_reset(st);
	int64_t execution = sqlite3_last_insert_rowid(db_handle(db));

	st = db_stmt(db, "UPDATE tasks SET done_at = ?2, outcome = ?3, "
	    "note = ?4, execution_id = ?5 WHERE id = ?1");
	bind_int(st, 1, id);
	bind_int(st, 2, now);
	bind_text(st, 3, outcome);
	bind_sealed(st, 4, pii_keys(db), id, TT_NOTE, note);
	bind_int(st, 5, execution);
	db_run(db, st);

	/* recorded as seq-event records a provider's: an exit_on of the
	 * outcome ends the lead's enrollments now, as a reply would */
	struct event e = {
		.provider = "task", .type = outcome, .channel = "task",
		.at = now, .key = key,
	};
	e.provider_event_id = xasprintf("task:%lld", (long long)id);
	e.details = json_pack("{s:I}", "task_id", (json_int_t)id);
	if (*kind)
		json_object_set_new(e.details, "kind", json_string(kind));
	if (event_record(db, &e, now) == 0)
		errx(EXIT_DB, "task %lld: its event is recorded already",
		    (long long)id);
	free(e.provider_event_id);
	free(e.details_text);
	json_decref(e.details);

	/* unless the outcome ended it */
	st = db_stmt(db, "SELECT status FROM enrollments WHERE id = ?");
	bind_int(st, 1, enrollment);
	int active = db_step(db, st) == SQLITE_ROW &&
	    !strcmp(col_text(st, 0), "active");
	sqlite3_reset(st);
	if (active)
		move_on(db, enrollment, d, k, now);
	return 0;
}

void
task_export(struct db *db, int64_t lead_id, struct buf *out)
{
	sqlite3_stmt *st = db_stmt(db, "SELECT id FROM tasks WHERE lead_id = ? "
	    "ORDER BY id");
	size_t n;
	bind_int(st, 1, lead_id);
	int64_t *ids = db_ids(db, st, &n);
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_pack("{s:s}", "record", "task"),
		    *t = task_json(db, ids[i]);
		json_object_update(o, t);
		json_decref(t);
		json_line(out, o);
		json_decref(o);
	}
	free(ids);
}

void
task_erase(struct db *db, int64_t lead_id)
{
	sqlite3_stmt *st = db_stmt(db, "UPDATE tasks SET title = 'erased', "
	    "notes = NULL, note = NULL WHERE lead_id = ?");
	bind_int(st, 1, lead_id);
	db_run(db, st);
}

long
task_rekey(struct db *db, const struct keys *from, const struct keys *to)
{
	size_t n;
	int64_t *ids = db_ids(db, db_stmt(db, "SELECT id FROM tasks ORDER BY "
	    "id"), &n);
	for (size_t i = 0; i < n; i++) {
		char *text[TT_COUNT];
		sqlite3_stmt *st = db_stmt(db, "SELECT title, notes, note FROM "
		    "tasks WHERE id = ?");
		bind_int(st, 1, ids[i]);
		db_step(db, st);
		for (int j = 0; j < TT_COUNT; j++)
			text[j] = column_open(st, j, from, ids[i], j);
		sqlite3_reset(st);
		st = db_stmt(db, "UPDATE tasks SET title = ?2, notes = ?3, "
		    "note = ?4 WHERE id = ?1");
		bind_int(st, 1, ids[i]);
		for (int j = 0; j < TT_COUNT; j++) {
			bind_sealed(st, 2 + j, to, ids[i], j, text[j]);
			if (text[j])
				sodium_memzero(text[j], strlen(text[j]));
			free(text[j]);
		}
		db_run(db, st);
	}
	free(ids);
	return (long)n;
}
