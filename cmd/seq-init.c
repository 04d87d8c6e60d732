/*
 * seq-init: create or migrate the database.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "db.h"
#include "keys.h"
#include "util.h"

static void
usage(void)
{
	fprintf(stderr, "usage: seq-init [--db path] [--now time] [--key-file file]\n");
	exit(EXIT_USAGE);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "now", required_argument, NULL, 'n' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dbopt = NULL, *nowopt = NULL, *keyfile = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		switch (c) {
		case 'd': dbopt = optarg; break;
		case 'n': nowopt = optarg; break;
		case 'k': keyfile = optarg; break;
		default: usage();
		}
	if (optind != argc)
		usage();
	/* before the database: a key file that cannot be made stops all */
	if (keyfile) {
		if (keys_create(keyfile) != 0)
			err(EXIT_CONFIG, "%s", keyfile);
		fprintf(stderr, "seq-init: %s: new keys; set SEQ_KEY_FILE=%s, "
		    "and back the file up\n", keyfile, keyfile);
	}
	const char *path = resolve_db(dbopt);
	int64_t now = resolve_now(nowopt);
	struct db *db = db_open(path, DB_CREATE);
	sqlite3 *h = db_handle(db);

	/* WAL cannot be switched on inside a transaction. */
	if (sqlite3_exec(h, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) !=
	    SQLITE_OK)
		errx(EXIT_DB, "%s: %s", path, sqlite3_errmsg(h));
	db_begin(db);
	int have = db_user_version(db), want = db_latest_version();
	if (have > want)
		errx(EXIT_DB, "%s: schema version %d is newer than this "
		    "seqtools knows (%d); upgrade seqtools", path, have, want);
	for (const struct migration *m = migrations; m->sql; m++) {
		if (m->version <= have)
			continue;
		if (sqlite3_exec(h, m->sql, NULL, NULL, NULL) != SQLITE_OK)
			errx(EXIT_DB, "%s: migration %s failed: %s", path,
			    m->name, sqlite3_errmsg(h));
		if (db_user_version(db) != m->version)
			errx(EXIT_DB, "%s: migration %s did not set "
			    "user_version to %d", path, m->name, m->version);
	}
	if (have == 0) {
		unsigned char r[8];
		char hex[17], t[32];
		if (getrandom(r, sizeof r, 0) != sizeof r)
			err(EXIT_CONFIG, "getrandom");
		for (int i = 0; i < 8; i++)
			snprintf(hex + 2 * i, 3, "%02x", r[i]);
		sqlite3_stmt *st = db_stmt(db, "INSERT INTO meta (key, value) "
		    "VALUES ('instance', ?), ('created_at', ?)");
		bind_text(st, 1, hex);
		bind_text(st, 2, format_time(now, t));
		db_run(db, st);
	}
	db_commit(db);
	if (have != want)
		fprintf(stderr, "seq-init: %s: schema version %d -> %d\n", path,
		    have, want);
	db_close(db);
	return 0;
}
