/*
 * consent: see consent.h.
 */
#include "consent.h"

#include <ctype.h>
#include <err.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "lead.h"
#include "pii.h"
#include "progress.h"
#include "util.h"

int64_t
consent_add(struct db *db, int64_t lead_id, const char *channel,
    const char *state, const char *source, const char *evidence, int64_t at)
{
	sqlite3_stmt *st = db_stmt(db, "INSERT INTO consent (lead_id, channel, "
	    "state, source, evidence, at) VALUES (?, ?, ?, ?, ?, ?)");
	bind_int(st, 1, lead_id);
	bind_text(st, 2, channel);
	bind_text(st, 3, state);
	bind_text(st, 4, source);
	bind_text(st, 5, evidence);
	bind_int(st, 6, at);
	db_run(db, st);
	return sqlite3_last_insert_rowid(db_handle(db));
}

char *
suppression_form(const char *value, const char *region, const char **kind)
{
	char *s;
	if (strchr(value, '@')) {
		if (!(s = normalise_email(value)))
			return NULL;
		/* as bounces are compared: the whole address without case */
		for (char *p = s; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		*kind = "email";
		return s;
	}
	*kind = "phone";
	return normalise_phone(value, region);
}

/* The keys a suppression list is indexed under: the database's own when it
 * is sealed, else SEQ_KEY_FILE's. */
static const struct keys *
list_keys(struct db *db)
{
	const struct keys *k = pii_keys(db);
	return k ? k : keys_get();
}

/* Whether the database holds a suppression list, asked once per process:
 * most hold none, and then no recipient costs an HMAC. */
static int
list_held(struct db *db)
{
	static int held = -1;
	if (held < 0) {
		sqlite3_stmt *st = db_stmt(db, "SELECT EXISTS (SELECT 1 FROM "
		    "suppression_list)");
		held = db_step(db, st) == SQLITE_ROW && sqlite3_column_int(st, 0);
		sqlite3_reset(st);
	}
	return held;
}

int
recipient_suppressed(struct db *db, const char *to, char *why, size_t size)
{
	sqlite3_stmt *st;
	int found;

	if (!to)
		return 0;
	st = db_stmt(db, "SELECT reason FROM suppressions WHERE address = "
	    "lower(?)");
	char *look = pii_lookup(db, to);
	bind_text(st, 1, look);
	free(look);
	if ((found = db_step(db, st) == SQLITE_ROW))
		snprintf(why, size, "address suppressed (%s)", col_text(st, 0));
	sqlite3_reset(st);
	if (found || !list_held(db))
		return found;

	const struct keys *k = list_keys(db);
	if (!k)
		errx(EXIT_CONFIG, "the database holds a suppression list, which "
		    "only its key can read: set SEQ_KEY_FILE to the key file it "
		    "was imported with");
	const char *kind;
	char *form = suppression_form(to, NULL, &kind), index[65];
	if (!form)
		return 0;
	blind_index(k, form, index);
	free(form);
	st = db_stmt(db, "SELECT source FROM suppression_list WHERE hash = ?");
	bind_text(st, 1, index);
	if ((found = db_step(db, st) == SQLITE_ROW))
		snprintf(why, size, "%s on the suppression list (%s)",
		    strcmp(kind, "email") ? "number" : "address",
		    col_text(st, 0));
	sqlite3_reset(st);
	return found;
}

void
suppress_list(struct db *db, FILE *in, int remove, const char *region,
    const char *source, int64_t now, struct suppress_stats *stats)
{
	const struct keys *k = list_keys(db);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0, in_batch = 0;
	struct progress pg;

	if (!k)
		errx(EXIT_CONFIG, "a suppression list is kept only as blind "
		    "indexes: set SEQ_KEY_FILE (make one with seq-init "
		    "--key-file FILE)");
	memset(stats, 0, sizeof *stats);
	progress_start(&pg, "seq-consent", "lines read", 0, PROGRESS_IN);
	db_begin(db);
	while ((n = getline(&line, &cap, in)) >= 0) {
		const char *kind;
		char index[65], *form, *p = line;
		lineno++;
		int has_nul = strlen(line) != (size_t)n;
		while (n > 0 && isspace((unsigned char)line[n - 1]))
			line[--n] = '\0';
		while (isspace((unsigned char)*p))
			p++;
		if (!*p || *p == '#')
			continue;
		if (has_nul || !(form = suppression_form(p, region, &kind))) {
			/* the value itself is not shown: it is personal data */
			progress_clear(&pg);
			warnx("line %ld: not an email address or a phone number",
			    lineno);
			stats->rejected++;
			continue;
		}
		blind_index(k, form, index);
		sqlite3_stmt *st;
		if (remove) {
			st = db_stmt(db, "DELETE FROM suppression_list WHERE "
			    "hash = ?");
			bind_text(st, 1, index);
			db_run(db, st);
			if (sqlite3_changes(db_handle(db)))
				stats->removed++;
			else
				stats->absent++;
		} else {
			/* sealed beside its index, so that a new index
			 * key can index it again (seq-init --rotate-key) */
			size_t len;
			unsigned char *sealed = pii_seal(k, form, strlen(form),
			    index, &len);
			st = db_stmt(db, "INSERT INTO suppression_list (hash, "
			    "kind, source, at, sealed) VALUES (?, ?, ?, ?, ?) "
			    "ON CONFLICT (hash) DO NOTHING");
			bind_text(st, 1, index);
			bind_text(st, 2, kind);
			bind_text(st, 3, source);
			bind_int(st, 4, now);
			sqlite3_bind_blob(st, 5, sealed, (int)len, free);
			db_run(db, st);
			if (sqlite3_changes(db_handle(db)))
				stats->added++;
			else
				stats->already++;
		}
		explicit_bzero(form, strlen(form));
		free(form);
		if (++in_batch == 10000) {
			db_commit(db);
			db_begin(db);
			in_batch = 0;
		}
		progress_set(&pg, lineno);
	}
	if (ferror(in))
		err(EXIT_IO, "reading the list");
	db_commit(db);
	progress_done(&pg);
	free(line);
}
