/*
 * db: the one SQLite file.  Opening checks the schema version against the
 * migrations this binary was built with and refuses a missing, older or newer
 * database with a message that names seq-init.  Every connection runs in WAL
 * mode with foreign keys on and a busy timeout, and unless DB_RELAXED a
 * commit survives power loss: its step returns once the WAL is synced, a
 * sync made after the write lock is released (db.c, on_wal).  That sync
 * runs in SQLite's WAL hook, so nothing may replace the hook (no PRAGMA
 * wal_autocheckpoint, no sqlite3_wal_autocheckpoint), and every write must
 * commit when a step returns SQLITE_DONE: a statement that commits only
 * when reset (INSERT ... RETURNING read in part) skips the hook.
 *
 * Statements are prepared once per process and cached by their SQL text's
 * address: pass string literals only.  Any SQLite error other than a
 * constraint is fatal (EXIT_DB, or EXIT_TEMPFAIL when the lock wait ran out):
 * the open transaction dies with the process and nothing half done remains.
 */
#ifndef SEQ_DB_H
#define SEQ_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct migration {
	int version;
	const char *name;
	const char *sql;
};
extern const struct migration migrations[];
int db_latest_version(void);

/*
 * DB_RELAXED: synchronous=NORMAL for this connection.  Only seq-due and
 * seq-log take it: after a power loss their last commits may be gone, which
 * costs nothing that matters (a lost claim is claimed again; a lost outcome
 * leaves the execution "sending", so it becomes "unknown", never resent).
 * seq-send's "sending" mark is synced: it is what stops a second delivery,
 * and its fsync makes every earlier commit in the WAL durable too.
 */
/*
 * DB_PERSONAL: the command reads or writes personal data, so a sealed
 * database is refused at once without its key (see pii.h), not when the
 * first lead comes.
 */
enum { DB_READONLY = 1, DB_CREATE = 2, DB_RELAXED = 4, DB_PERSONAL = 8 };

struct db;
struct db *db_open(const char *path, int flags);
int db_user_version(struct db *);
void db_close(struct db *);
sqlite3 *db_handle(struct db *);

/* A cached statement, reset and with its bindings cleared. */
sqlite3_stmt *db_stmt(struct db *, const char *sql);
/* SQLITE_ROW, SQLITE_DONE or SQLITE_CONSTRAINT; anything else exits. */
int db_step(struct db *, sqlite3_stmt *);
/* The first column of every row of st, as ids; *n says how many.  For
 * listings that load each row through another statement. */
int64_t *db_ids(struct db *, sqlite3_stmt *st, size_t *n);
/* Runs a statement that returns nothing. */
void db_run(struct db *, sqlite3_stmt *);

void db_begin(struct db *);
void db_begin_read(struct db *);
void db_end_read(struct db *);	/* BEGIN IMMEDIATE: this process writes */
void db_commit(struct db *);
/* Everything until db_dry_end happens in one transaction that is then
 * rolled back; db_begin/db_commit in between become savepoints. */
void db_dry_begin(struct db *);
void db_dry_end(struct db *);
void db_rollback(struct db *);
void db_savepoint(struct db *);
void db_release(struct db *);
void db_rollback_to(struct db *);

/* Binding helpers: a NULL string binds SQL NULL. */
void bind_text(sqlite3_stmt *, int, const char *);
void bind_int(sqlite3_stmt *, int, int64_t);
void bind_real(sqlite3_stmt *, int, double);
const char *col_text(sqlite3_stmt *, int);	/* NULL for SQL NULL */

/* Copies the write-ahead log into the file and empties it, so that the old
 * versions of changed pages are gone from both; -1 when a reader kept it
 * from finishing (after the busy timeout). */
int db_truncate_wal(struct db *);

/* The database's random instance id (set by seq-init), part of every key. */
const char *db_instance(struct db *);

#endif
