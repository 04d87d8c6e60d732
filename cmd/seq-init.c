/*
 * seq-init: create or migrate the database; make keys; seal personal data
 * under new keys.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "keys.h"
#include "rekey.h"
#include "util.h"

static void
usage(void)
{
	fprintf(stderr, "usage: seq-init [--db path] [--now time] [--key-file file]\n"
	    "       seq-init [--db path] --rotate-key file\n");
	exit(EXIT_USAGE);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "now", required_argument, NULL, 'n' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "rotate-key", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dbopt = NULL, *nowopt = NULL, *keyfile = NULL;
	const char *rotate = NULL;
	struct keys made, to;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		switch (c) {
		case 'd': dbopt = optarg; break;
		case 'n': nowopt = optarg; break;
		case 'k': keyfile = optarg; break;
		case 'r': rotate = optarg; break;
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
		keys_read(keyfile, &made);
	}
	if (rotate && access(rotate, F_OK) != 0) {
		if (keys_create(rotate) != 0)
			err(EXIT_CONFIG, "%s", rotate);
		fprintf(stderr, "seq-init: %s: new keys\n", rotate);
	}
	if (rotate)
		keys_read(rotate, &to);
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
		/* a new database with a key keeps personal data sealed from
		 * its first lead */
		const struct keys *k = keyfile ? &made : keys_get();
		if (k && !rotate) {
			rekey_mark(db, k);
			fprintf(stderr, "seq-init: %s: personal data is kept "
			    "sealed under the keys of %s\n", path, keyfile ?
			    keyfile : config_get("SEQ_KEY_FILE"));
		}
	}
	db_commit(db);
	if (have != want)
		fprintf(stderr, "seq-init: %s: schema version %d -> %d\n", path,
		    have, want);
	if (rotate) {
		struct rekey_stats rs;
		rekey(db, &to, &rs);
		fprintf(stderr, "seq-init: %s: sealed %ld leads, %ld jobs and "
		    "%ld suppressed addresses under the keys of %s; set "
		    "SEQ_KEY_FILE=%s (backups made before now need the old "
		    "file)\n", path, rs.leads, rs.jobs,
		    rs.suppressions + rs.listed, rotate, rotate);
	}
	explicit_bzero(&made, sizeof made);
	explicit_bzero(&to, sizeof to);
	db_close(db);
	return 0;
}
