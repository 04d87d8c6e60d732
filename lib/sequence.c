/*
 * sequence: see sequence.h.  The cache lives for the process: versions
 * never change once stored.
 */
#include "sequence.h"

#include <err.h>
#include <stdlib.h>

#include "util.h"

static struct cached {
	int64_t seq_id;
	int version;
	struct seqdef def;
} **cache;		/* each apart: callers keep pointers to them */
static size_t ncache;

int64_t
sequence_find(struct db *db, const char *name, int *latest)
{
	sqlite3_stmt *st = db_stmt(db,
	    "SELECT s.id, max(v.version) FROM sequences s JOIN "
	    "sequence_versions v ON v.sequence_id = s.id WHERE s.name = ?");
	int64_t id = 0;
	bind_text(st, 1, name);
	if (db_step(db, st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		id = sqlite3_column_int64(st, 0);
		if (latest)
			*latest = sqlite3_column_int(st, 1);
	}
	sqlite3_reset(st);
	return id;
}

const struct seqdef *
sequence_version(struct db *db, int64_t seq_id, int version)
{
	for (size_t i = 0; i < ncache; i++)
		if (cache[i]->seq_id == seq_id && cache[i]->version == version)
			return &cache[i]->def;
	sqlite3_stmt *st = db_stmt(db, "SELECT definition FROM sequence_versions "
	    "WHERE sequence_id = ? AND version = ?");
	bind_int(st, 1, seq_id);
	bind_int(st, 2, version);
	if (db_step(db, st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return NULL;
	}
	json_error_t e;
	json_t *doc = json_loads(col_text(st, 0), 0, &e);
	sqlite3_reset(st);
	cache = xrealloc(cache, (ncache + 1) * sizeof *cache);
	struct cached *c = cache[ncache] = xcalloc(1, sizeof *c);
	if (!doc || seqdef_parse(doc, &c->def, NULL) != 0)
		errx(EXIT_DB, "sequence %lld version %d: stored definition "
		    "no longer parses", (long long)seq_id, version);
	json_decref(doc);
	c->seq_id = seq_id;
	c->version = version;
	ncache++;
	return &c->def;
}

void
sequence_cache_free(void)
{
	for (size_t i = 0; i < ncache; i++) {
		seqdef_free(&cache[i]->def);
		free(cache[i]);
	}
	free(cache);
	cache = NULL;
	ncache = 0;
}
