/*
 * rekey: see rekey.h.
 */
#include "rekey.h"

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lead.h"
#include "pii.h"
#include "progress.h"
#include "task.h"
#include "util.h"

static void
set_meta(struct db *db, const char *key, const char *value)
{
	sqlite3_stmt *st = db_stmt(db, "INSERT INTO meta (key, value) VALUES "
	    "(?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2");
	bind_text(st, 1, key);
	bind_text(st, 2, value);
	db_run(db, st);
}

void
rekey_mark(struct db *db, const struct keys *k)
{
	char check[33];
	pii_check_value(k, check);
	set_meta(db, "pii", "sealed");
	set_meta(db, "pii_check", check);
}

static void
leads(struct db *db, const struct keys *to, struct progress *p)
{
	size_t n;
	int64_t *ids = db_ids(db, db_stmt(db, "SELECT id FROM leads ORDER BY "
	    "id"), &n);
	progress_start(p, "seq-init", "leads sealed", (long)n, 0);
	for (size_t i = 0; i < n; i++) {
		struct lead l;
		if (lead_load(db, ids[i], &l) != 0)
			errx(EXIT_DB, "lead %lld: gone while sealing",
			    (long long)ids[i]);
		if (lead_store(db, &l, to) != 0)
			errx(EXIT_DB, "lead %lld: cannot be written again",
			    (long long)ids[i]);
		lead_free(&l);
		progress_add(p, 1);
	}
	progress_done(p);
	free(ids);
}

static void
jobs(struct db *db, const struct keys *to, struct progress *p)
{
	size_t n;
	int64_t *ids = db_ids(db, db_stmt(db, "SELECT execution_id FROM "
	    "execution_jobs ORDER BY execution_id"), &n);
	progress_start(p, "seq-init", "jobs sealed", (long)n, 0);
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *st = db_stmt(db, "SELECT job FROM execution_jobs "
		    "WHERE execution_id = ?");
		char ad[32], *text;
		size_t len;
		bind_int(st, 1, ids[i]);
		db_step(db, st);
		text = pii_job_text(db, st, 0, ids[i]);
		sqlite3_reset(st);
		pii_job_ad(ids[i], ad);
		unsigned char *sealed = pii_seal(to, text, strlen(text), ad, &len);
		sodium_memzero(text, strlen(text));
		free(text);
		st = db_stmt(db, "UPDATE execution_jobs SET job = ? WHERE "
		    "execution_id = ?");
		sqlite3_bind_blob(st, 1, sealed, (int)len, free);
		bind_int(st, 2, ids[i]);
		db_run(db, st);
		progress_add(p, 1);
	}
	progress_done(p);
	free(ids);
	db_run(db, db_stmt(db, "UPDATE sequence_executions SET recipient = "
	    "NULL WHERE recipient IS NOT NULL"));
}

/*
 * One table of suppressed addresses: each row's value, from its sealed copy
 * (or, in a plain database's bounce list, the address itself), is indexed
 * and sealed again under the new keys.  A row with neither cannot be
 * carried over, and a suppression must never lapse: that stops the rekey.
 */
struct suppression_table {
	const char *name, *select, *sealed, *update;
	const struct keys *from;
	int plain_values;
};

static void
suppressions(struct db *db, const struct suppression_table *t,
    const struct keys *to, long *moved)
{
	sqlite3_stmt *st = db_stmt(db, t->select);
	char **keys = NULL;
	size_t n = 0;
	while (db_step(db, st) == SQLITE_ROW) {
		keys = xrealloc(keys, (n + 1) * sizeof *keys);
		keys[n++] = xstrdup(col_text(st, 0));
	}
	sqlite3_reset(st);
	for (size_t i = 0; i < n; i++) {
		char *value = NULL, index[65];
		st = db_stmt(db, t->sealed);
		bind_text(st, 1, keys[i]);
		if (db_step(db, st) == SQLITE_ROW &&
		    sqlite3_column_type(st, 0) == SQLITE_BLOB && t->from)
			value = pii_open(t->from, sqlite3_column_blob(st, 0),
			    (size_t)sqlite3_column_bytes(st, 0), keys[i]);
		sqlite3_reset(st);
		if (!value && t->plain_values)
			value = xstrdup(keys[i]);
		/* an entry with no sealed copy keeps its index when the index
		 * key stays */
		if (!value && t->from && !memcmp(t->from->index, to->index,
		    sizeof to->index)) {
			free(keys[i]);
			continue;
		}
		if (!value)
			errx(EXIT_CONFIG, "%s holds %zu entries; %s cannot be read "
			    "back, so their index cannot be made under the new "
			    "key: %s", t->name, n, t->from ? "some" : "they",
			    t->from ? "remove them with seq-consent --unsuppress "
			    "and import them again, then rotate" : "set "
			    "SEQ_KEY_FILE to the key file they were imported "
			    "with");
		/* indexed as lookups make it: an email without case */
		char *look = pii_lookup_with(to, value);
		snprintf(index, sizeof index, "%s", look);
		free(look);
		size_t len;
		unsigned char *sealed = pii_seal(to, value, strlen(value), index,
		    &len);
		sodium_memzero(value, strlen(value));
		free(value);
		st = db_stmt(db, t->update);
		bind_text(st, 1, index);
		sqlite3_bind_blob(st, 2, sealed, (int)len, free);
		bind_text(st, 3, keys[i]);
		db_run(db, st);
		free(keys[i]);
		(*moved)++;
	}
	free(keys);
}

void
rekey(struct db *db, const struct keys *to, struct rekey_stats *stats)
{
	struct progress p;
	const struct keys *from = pii_keys(db);
	memset(stats, 0, sizeof *stats);

	/* what is freed is overwritten, so no plain or old value lingers in
	 * free pages */
	sqlite3 *h = db_handle(db);
	if (sqlite3_exec(h, "PRAGMA secure_delete = ON", NULL, NULL, NULL) !=
	    SQLITE_OK)
		errx(EXIT_DB, "secure_delete: %s", sqlite3_errmsg(h));
	db_begin(db);
	leads(db, to, &p);
	stats->leads = p.done;
	jobs(db, to, &p);
	stats->jobs = p.done;
	task_rekey(db, from, to);

	const struct suppression_table bounces = {
		"suppressions", "SELECT address FROM suppressions ORDER BY address",
		"SELECT sealed FROM suppressions WHERE address = ?",
		"UPDATE suppressions SET address = ?1, sealed = ?2 WHERE "
		"address = ?3", from, !from
	};
	suppressions(db, &bounces, to, &stats->suppressions);
	/* a plain database's list was indexed under SEQ_KEY_FILE */
	const struct suppression_table list = {
		"the suppression list", "SELECT hash FROM suppression_list ORDER "
		"BY hash", "SELECT sealed FROM suppression_list WHERE hash = ?",
		"UPDATE suppression_list SET hash = ?1, sealed = ?2 "
		"WHERE hash = ?3", from ? from : keys_get(), 0
	};
	suppressions(db, &list, to, &stats->listed);
	rekey_mark(db, to);
	db_commit(db);

	if (sqlite3_exec(h, "VACUUM", NULL, NULL, NULL) != SQLITE_OK)
		errx(EXIT_DB, "after sealing: %s", sqlite3_errmsg(h));
	if (db_truncate_wal(db) != 0)
		errx(EXIT_TEMPFAIL, "sealed, but a process reading the database "
		    "kept the old pages in its write-ahead log: once it is done, "
		    "run sqlite3 on the database with 'PRAGMA "
		    "wal_checkpoint(TRUNCATE)'");
}
