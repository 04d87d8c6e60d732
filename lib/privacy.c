/*
 * privacy: see privacy.h.
 */
#include "privacy.h"

#include <ctype.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "consent.h"
#include "enroll.h"
#include "lead.h"
#include "ndjson.h"
#include "pii.h"
#include "task.h"

static int
time_column(const char *name)
{
	size_t n = strlen(name);
	return !strcmp(name, "at") || (n > 3 && !strcmp(name + n - 3, "_at"));
}

/* A row as an object named by its columns: times as text, the columns that
 * hold JSON as JSON. */
static json_t *
row_json(const char *record, sqlite3_stmt *st)
{
	json_t *o = json_pack("{s:s}", "record", record);
	char t[32];
	for (int i = 0; i < sqlite3_column_count(st); i++) {
		const char *name = sqlite3_column_name(st, i), *text;
		json_t *v = NULL;
		json_error_t je;
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_INTEGER:
			v = time_column(name) ?
			    json_string(format_time(sqlite3_column_int64(st, i), t)) :
			    json_integer(sqlite3_column_int64(st, i));
			break;
		case SQLITE_FLOAT:
			v = json_real(sqlite3_column_double(st, i));
			break;
		case SQLITE_TEXT:
			text = col_text(st, i);
			if (!strcmp(name, "details") || !strcmp(name, "metadata") ||
			    !strcmp(name, "counts"))
				v = json_loads(text, JSON_DECODE_ANY, &je);
			if (!v)
				v = json_string(text);
			break;
		case SQLITE_NULL:
			v = json_null();
			break;
		default:	/* sealed values are opened by the caller */
			continue;
		}
		json_object_set_new(o, name, v);
	}
	return o;
}

static void
rows(struct db *db, const char *record, sqlite3_stmt *st, int64_t lead_id,
    struct buf *out)
{
	bind_int(st, 1, lead_id);
	while (db_step(db, st) == SQLITE_ROW) {
		json_t *o = row_json(record, st);
		json_line(out, o);
		json_decref(o);
	}
	sqlite3_reset(st);
}

static void
steps(struct db *db, int64_t lead_id, struct buf *out)
{
	sqlite3_stmt *st = db_stmt(db, "SELECT x.id, x.key, x.enrollment_id, "
	    "x.step, x.channel, x.attempt, x.sender, x.recipient, x.state, "
	    "x.adapter, x.provider_id, x.http_status, x.error, x.cost, "
	    "x.latency_ms, x.metadata, x.claimed_at, x.sending_at, x.done_at, "
	    "j.job FROM sequence_executions x LEFT JOIN execution_jobs j ON "
	    "j.execution_id = x.id WHERE x.lead_id = ? ORDER BY x.id");
	bind_int(st, 1, lead_id);
	while (db_step(db, st) == SQLITE_ROW) {
		json_t *o = row_json("step", st);
		char *text = pii_job_text(db, st, 19, sqlite3_column_int64(st, 0));
		json_error_t je;
		json_object_del(o, "job");
		if (text)
			json_object_set_new(o, "job", json_loads(text, 0, &je));
		free(text);
		json_line(out, o);
		json_decref(o);
	}
	sqlite3_reset(st);
}

static void
suppression(struct db *db, const char *address, struct buf *out)
{
	char why[300];
	if (address && recipient_suppressed(db, address, why, sizeof why)) {
		json_t *o = json_pack("{s:s, s:s, s:s}", "record", "suppression",
		    "address", address, "reason", why);
		json_line(out, o);
		json_decref(o);
	}
}

int
privacy_export(struct db *db, int64_t lead_id, struct buf *out)
{
	struct lead l;
	if (lead_load(db, lead_id, &l) != 0)
		return -1;
	json_t *o = json_pack("{s:s}", "record", "lead"), *lj = lead_json(&l);
	json_object_update(o, lj);
	json_decref(lj);
	json_line(out, o);
	json_decref(o);

	rows(db, "consent", db_stmt(db, "SELECT id, channel, state, source, "
	    "evidence, at FROM consent WHERE lead_id = ? ORDER BY id"), lead_id,
	    out);
	rows(db, "enrollment", db_stmt(db, "SELECT e.id, s.name AS sequence, "
	    "e.version, e.status, e.step, e.next_run_at, e.value, e.created_at, "
	    "e.updated_at FROM enrollments e JOIN sequences s ON s.id = "
	    "e.sequence_id WHERE e.lead_id = ? ORDER BY e.id"), lead_id, out);
	rows(db, "enrollment_change", db_stmt(db, "SELECT c.id, "
	    "c.enrollment_id, c.status, c.reason, c.at FROM enrollment_changes c "
	    "JOIN enrollments e ON e.id = c.enrollment_id WHERE e.lead_id = ? "
	    "ORDER BY c.id"), lead_id, out);
	steps(db, lead_id, out);
	task_export(db, lead_id, out);
	rows(db, "event", db_stmt(db, "SELECT id, provider, provider_event_id, "
	    "type, execution_id, details, at FROM events WHERE lead_id = ?1 OR "
	    "execution_id IN (SELECT id FROM sequence_executions WHERE "
	    "lead_id = ?1) ORDER BY id"), lead_id, out);
	suppression(db, l.f[LF_EMAIL], out);
	suppression(db, l.f[LF_PHONE], out);
	rows(db, "erasure", db_stmt(db, "SELECT lead_id, reason, counts, at "
	    "FROM erasures WHERE lead_id = ?"), lead_id, out);
	lead_free(&l);
	return 0;
}

/* The forms in which a webhook may carry an address: as given, in lower
 * case, and URL-encoded (%40 for @, %2B for +), and a number without its
 * plus. */
static int
names_address(const char *body, const char *address)
{
	if (!address)
		return 0;
	char forms[4][400];
	size_t n = 0;
	snprintf(forms[n++], sizeof forms[0], "%s", address);
	char *p = forms[n++], *end = p + sizeof forms[0] - 4;
	for (const char *s = address; *s && p < end; s++)
		if (*s == '@' || *s == '+')
			p += sprintf(p, "%%%02X", (unsigned char)*s);
		else
			*p++ = *s;
	*p = '\0';
	if (*address == '+')
		snprintf(forms[n++], sizeof forms[0], "%s", address + 1);
	for (size_t i = 0; i < n; i++) {
		for (char *q = forms[i]; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		if (strstr(body, forms[i]))
			return 1;
	}
	return 0;
}

/* The whole file in lower case, a NUL read as a space; NULL if it is gone. */
static char *
read_lower(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	struct buf b = { 0 };
	char chunk[8192];
	size_t n;
	if (!f) {
		if (errno != ENOENT)
			err(EXIT_IO, "%s", path);
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, n);
	if (ferror(f))
		err(EXIT_IO, "%s", path);
	fclose(f);
	for (size_t k = 0; k < b.len; k++)
		b.p[k] = b.p[k] ? (char)tolower((unsigned char)b.p[k]) : ' ';
	buf_addc(&b, '\0');
	*len = b.len - 1;
	return b.p;
}

static long
spool_erase(const char *spool, const char *email, const char *phone)
{
	static const char *const subdirs[] = { "new", "tmp", "quarantine" };
	long removed = 0;
	for (size_t i = 0; i < sizeof subdirs / sizeof *subdirs; i++) {
		char *dir = xasprintf("%s/%s", spool, subdirs[i]);
		DIR *d = opendir(dir);
		struct dirent *de;
		if (!d) {
			if (errno != ENOENT)
				err(EXIT_IO, "%s", dir);
			free(dir);
			continue;
		}
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			char *path = xasprintf("%s/%s", dir, de->d_name);
			size_t len;
			char *body = read_lower(path, &len);
			if (body && (names_address(body, email) ||
			    names_address(body, phone))) {
				if (unlink(path) != 0 && errno != ENOENT)
					err(EXIT_IO, "%s", path);
				char *why = xasprintf("%s.why", path);
				unlink(why);
				free(why);
				removed++;
			}
			free(body);
			free(path);
		}
		closedir(d);
		int fd = open(dir, O_RDONLY | O_DIRECTORY);
		if (fd < 0 || fsync(fd) != 0)
			err(EXIT_IO, "%s", dir);
		close(fd);
		free(dir);
	}
	return removed;
}

int
privacy_erase(struct db *db, int64_t lead_id, const char *reason,
    const char *spool, int64_t now, struct erasure *stats)
{
	struct lead l;
	sqlite3_stmt *st;
	sqlite3 *h = db_handle(db);
	memset(stats, 0, sizeof *stats);

	/* freed cells and pages are overwritten: the values must not stay in
	 * the file's free space */
	if (sqlite3_exec(h, "PRAGMA secure_delete = ON", NULL, NULL, NULL) !=
	    SQLITE_OK)
		errx(EXIT_DB, "secure_delete: %s", sqlite3_errmsg(h));
	db_begin(db);
	if (lead_load(db, lead_id, &l) != 0) {
		db_rollback(db);
		return -1;
	}
	size_t n;
	int64_t *open;
	st = db_stmt(db, "SELECT id FROM enrollments WHERE lead_id = ? AND "
	    "(status = 'active' OR status = 'paused')");
	bind_int(st, 1, lead_id);
	open = db_ids(db, st, &n);
	for (size_t i = 0; i < n; i++)
		enrollment_set_status(db, open[i], "cancelled", "lead erased",
		    now);
	free(open);

	st = db_stmt(db, "SELECT count(*) FROM enrollments WHERE lead_id = ?");
	bind_int(st, 1, lead_id);
	db_step(db, st);
	stats->enrollments = sqlite3_column_int(st, 0);
	sqlite3_reset(st);

	/* reasons that quote an address (a provider's error) lose it */
	char *email = l.f[LF_EMAIL] ? xstrdup(l.f[LF_EMAIL]) : NULL;
	char *phone = l.f[LF_PHONE] ? xstrdup(l.f[LF_PHONE]) : NULL;
	st = db_stmt(db, "UPDATE enrollment_changes SET reason = 'erased' "
	    "WHERE enrollment_id IN (SELECT id FROM enrollments WHERE "
	    "lead_id = ?1) AND (instr(lower(reason), lower(?2)) > 0 OR "
	    "instr(reason, ?3) > 0)");
	bind_int(st, 1, lead_id);
	bind_text(st, 2, email);
	bind_text(st, 3, phone);
	db_run(db, st);

	st = db_stmt(db, "DELETE FROM execution_jobs WHERE execution_id IN "
	    "(SELECT id FROM sequence_executions WHERE lead_id = ?)");
	bind_int(st, 1, lead_id);
	db_run(db, st);
	task_erase(db, lead_id);
	st = db_stmt(db, "UPDATE sequence_executions SET recipient = NULL, "
	    "error = CASE WHEN error IS NULL THEN NULL ELSE 'erased' END, "
	    "metadata = NULL WHERE lead_id = ?");
	bind_int(st, 1, lead_id);
	db_run(db, st);
	stats->steps = sqlite3_changes(h);
	/* ids made by earlier versions could hold the address */
	st = db_stmt(db, "UPDATE events SET details = NULL, provider_event_id = "
	    "CASE WHEN instr(lower(provider_event_id), lower(?2)) > 0 THEN "
	    "'erased:' || id ELSE provider_event_id END WHERE lead_id = ?1 "
	    "OR execution_id IN (SELECT id FROM sequence_executions WHERE "
	    "lead_id = ?1)");
	bind_int(st, 1, lead_id);
	bind_text(st, 2, email);
	db_run(db, st);
	stats->events = sqlite3_changes(h);

	/* a plain database keeps a bounced address in clear: it goes; a
	 * sealed one keeps it as a blind index and sealed, which stay so
	 * that the address is never mailed again, and loses any reason that
	 * quotes it */
	if (!pii_keys(db)) {
		/* unless another lead has the address: it stays unmailable */
		st = db_stmt(db, "DELETE FROM suppressions WHERE address = "
		    "lower(?1) AND NOT EXISTS (SELECT 1 FROM leads WHERE "
		    "lower(email) = lower(?1) AND id != ?2)");
		bind_text(st, 1, email);
		bind_int(st, 2, lead_id);
		db_run(db, st);
	} else {
		st = db_stmt(db, "UPDATE suppressions SET reason = 'hard bounce' "
		    "WHERE address = lower(?1) AND instr(lower(reason), "
		    "lower(?2)) > 0");
		char *look = pii_lookup(db, email);
		bind_text(st, 1, look);
		bind_text(st, 2, email);
		db_run(db, st);
		free(look);
	}
	st = db_stmt(db, "UPDATE leads SET external_id = NULL, email = NULL, "
	    "phone = NULL, first_name = NULL, last_name = NULL, company = NULL, "
	    "title = NULL, timezone = NULL, attributes = '{}', "
	    "badges = '[\"erased\"]', quality = 0, sealed = NULL, "
	    "updated_at = ?2 WHERE id = ?1");
	bind_int(st, 1, lead_id);
	bind_int(st, 2, now);
	db_run(db, st);

	/* before the commit: if it then fails, webhooks about a lead being
	 * erased are lost, which is what was asked; after it, a crash would
	 * leave them with nothing left to find them by */
	if (spool)
		stats->spool_files = spool_erase(spool, email, phone);
	char *counts = xasprintf("{\"enrollments\":%ld,\"steps\":%ld,"
	    "\"events\":%ld,\"spool_files\":%ld}", stats->enrollments,
	    stats->steps, stats->events, stats->spool_files);
	st = db_stmt(db, "INSERT INTO erasures (lead_id, at, reason, counts) "
	    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (lead_id) DO UPDATE SET "
	    "at = ?2, reason = ?3, counts = ?4");
	bind_int(st, 1, lead_id);
	bind_int(st, 2, now);
	bind_text(st, 3, reason);
	bind_text(st, 4, counts);
	db_run(db, st);
	free(counts);
	db_commit(db);
	/* the write-ahead log still holds the old pages until they are
	 * copied back and it is emptied */
	if (db_truncate_wal(db) != 0)
		errx(EXIT_TEMPFAIL, "lead %lld is erased, but a process reading "
		    "the database kept the old pages in its write-ahead log: run "
		    "seq-lead --erase %lld again once it is done",
		    (long long)lead_id, (long long)lead_id);
	if (email)
		explicit_bzero(email, strlen(email));
	free(email);
	free(phone);
	lead_free(&l);
	return 0;
}
