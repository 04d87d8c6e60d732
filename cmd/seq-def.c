/*
 * seq-def: validate a sequence definition and store it as a new version;
 * list and show what is stored.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "holiday.h"
#include "ndjson.h"
#include "seqdef.h"
#include "sequence.h"
#include "util.h"

#define MAX_DEFINITION (16 << 20)

static void
usage(void)
{
	fprintf(stderr,
	    "usage: seq-def [--db path] [--now time] [--check] [file]\n"
	    "       seq-def --list [--db path]\n"
	    "       seq-def --show name[@version] [--db path]\n"
	    "       seq-def --holidays calendar\n");
	exit(EXIT_USAGE);
}

static json_t *
read_definition(const char *file)
{
	FILE *f = file ? fopen(file, "rb") : stdin;
	struct buf b = { 0 };
	char chunk[65536];
	size_t n;
	json_error_t e;

	if (!f)
		err(EXIT_IO, "%s", file);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		buf_add(&b, chunk, n);
		if (b.len > MAX_DEFINITION)
			errx(EXIT_REJECTED, "%s: larger than %d bytes",
			    file ? file : "stdin", MAX_DEFINITION);
	}
	if (ferror(f))
		err(EXIT_IO, "%s", file ? file : "stdin");
	if (file)
		fclose(f);
	json_t *doc = b.len ? json_loadb(b.p, b.len, JSON_REJECT_DUPLICATES, &e) : NULL;
	if (!doc)
		errx(EXIT_REJECTED, "%s: line %d, column %d: %s",
		    file ? file : "stdin", b.len ? e.line : 1, b.len ? e.column : 0,
		    b.len ? e.text : "empty input");
	buf_free(&b);
	return doc;
}

static int
store(struct db *db, json_t *doc, const char *file, int check_only, int64_t now)
{
	struct seqdef d;
	struct problems p = { 0 };
	int rc = seqdef_parse(doc, &d, &p);

	for (int i = 0; i < p.n; i++)
		fprintf(stderr, "seq-def: %s: %s\n", file ? file : "stdin", p.msg[i]);
	if (rc != 0) {
		fprintf(stderr, "seq-def: %s: %d problem%s; nothing stored\n",
		    file ? file : "stdin", p.n, p.n == 1 ? "" : "s");
		problems_free(&p);
		seqdef_free(&d);
		return EXIT_REJECTED;
	}
	problems_free(&p);
	json_t *out = json_pack("{s:s, s:i}", "sequence", d.name, "steps", d.nsteps);
	if (check_only) {
		json_object_set_new(out, "valid", json_true());
		goto print;
	}
	db_begin(db);
	int latest = 0, version;
	int64_t id = sequence_find(db, d.name, &latest);
	char *canon = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	if (id) {
		/* the same definition again is no new version */
		const struct seqdef *old = sequence_version(db, id, latest);
		char *was = json_dumps(old->doc, JSON_COMPACT | JSON_SORT_KEYS);
		int same = strcmp(was, canon) == 0;
		free(was);
		if (same) {
			db_commit(db);
			json_object_set_new(out, "version", json_integer(latest));
			json_object_set_new(out, "unchanged", json_true());
			free(canon);
			goto print;
		}
	} else {
		sqlite3_stmt *st = db_stmt(db,
		    "INSERT INTO sequences (name, created_at) VALUES (?, ?)");
		bind_text(st, 1, d.name);
		bind_int(st, 2, now);
		db_run(db, st);
		id = sqlite3_last_insert_rowid(db_handle(db));
	}
	version = latest + 1;
	sqlite3_stmt *st = db_stmt(db, "INSERT INTO sequence_versions "
	    "(sequence_id, version, definition, created_at) VALUES (?, ?, ?, ?)");
	bind_int(st, 1, id);
	bind_int(st, 2, version);
	char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	bind_text(st, 3, text);
	free(text);
	bind_int(st, 4, now);
	db_run(db, st);
	db_commit(db);
	free(canon);
	json_object_set_new(out, "version", json_integer(version));
print:;
	struct buf b = { 0 };
	json_line(&b, out);
	emit(&b);
	buf_free(&b);
	json_decref(out);
	seqdef_free(&d);
	return 0;
}

static void
list(struct db *db)
{
	struct buf b = { 0 };
	char t[32];
	sqlite3_stmt *st = db_stmt(db,
	    "SELECT s.name, max(v.version), count(*), max(v.created_at), "
	    "(SELECT count(*) FROM enrollments e WHERE e.sequence_id = s.id "
	    "AND e.status IN ('active', 'paused')) "
	    "FROM sequences s JOIN sequence_versions v ON v.sequence_id = s.id "
	    "GROUP BY s.id ORDER BY s.name");
	while (db_step(db, st) == SQLITE_ROW) {
		json_t *o = json_pack("{s:s, s:i, s:i, s:s, s:i}",
		    "sequence", col_text(st, 0),
		    "version", sqlite3_column_int(st, 1),
		    "versions", sqlite3_column_int(st, 2),
		    "updated_at", format_time(sqlite3_column_int64(st, 3), t),
		    "open_enrollments", sqlite3_column_int(st, 4));
		json_line(&b, o);
		json_decref(o);
	}
	sqlite3_reset(st);
	emit(&b);
	buf_free(&b);
}

static int
show(struct db *db, const char *spec)
{
	char *name = xstrdup(spec), *at = strchr(name, '@');
	int version = 0, latest;
	if (at) {
		char *end;
		*at = '\0';
		version = (int)strtol(at + 1, &end, 10);
		if (*end || version < 1)
			errx(EXIT_USAGE, "--show: '%s' is not name@version", spec);
	}
	int64_t id = sequence_find(db, name, &latest);
	if (!id) {
		warnx("no sequence '%s'", name);
		free(name);
		return EXIT_REJECTED;
	}
	const struct seqdef *d = sequence_version(db, id, version ? version : latest);
	if (!d) {
		warnx("sequence '%s' has no version %d (latest is %d)", name,
		    version, latest);
		free(name);
		return EXIT_REJECTED;
	}
	free(name);
	if (json_dumpf(d->doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
		err(EXIT_IO, "writing output failed");
	putchar('\n');
	return 0;
}

int
main(int argc, char **argv)
{
	enum { O_DB = 256, O_NOW, O_CHECK, O_LIST, O_SHOW, O_HOLIDAYS };
	static const struct option opts[] = {
		{ "db", required_argument, NULL, O_DB },
		{ "now", required_argument, NULL, O_NOW },
		{ "check", no_argument, NULL, O_CHECK },
		{ "list", no_argument, NULL, O_LIST },
		{ "show", required_argument, NULL, O_SHOW },
		{ "holidays", required_argument, NULL, O_HOLIDAYS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dbopt = NULL, *nowopt = NULL, *showopt = NULL, *calopt = NULL;
	int check_only = 0, do_list = 0, c, rc = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		switch (c) {
		case O_DB: dbopt = optarg; break;
		case O_NOW: nowopt = optarg; break;
		case O_CHECK: check_only = 1; break;
		case O_LIST: do_list = 1; break;
		case O_SHOW: showopt = optarg; break;
		case O_HOLIDAYS: calopt = optarg; break;
		default: usage();
		}
	if (argc - optind > 1 || do_list + !!showopt + check_only + !!calopt > 1 ||
	    ((do_list || showopt || calopt) && optind != argc))
		usage();
	if (calopt) {
		/* what seq-due will read, as it will find it */
		struct buf b = { 0 };
		config_load("seq-def", NULL);
		holidays_list(holidays_load(calopt), &b);
		emit(&b);
		buf_free(&b);
		finish_stdout();
		return 0;
	}
	int64_t now = resolve_now(nowopt);
	const char *file = optind < argc && strcmp(argv[optind], "-") ? argv[optind] : NULL;
	if (check_only) {
		json_t *doc = read_definition(file);
		rc = store(NULL, doc, file, 1, now);
		json_decref(doc);
	} else {
		struct db *db = db_open(resolve_db(dbopt),
		    do_list || showopt ? DB_READONLY : 0);
		if (do_list)
			list(db);
		else if (showopt)
			rc = show(db, showopt);
		else {
			json_t *doc = read_definition(file);
			rc = store(db, doc, file, 0, now);
			json_decref(doc);
		}
		sequence_cache_free();
		db_close(db);
	}
	finish_stdout();
	return rc;
}
