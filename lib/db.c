/*
 * db: opening, the schema check, cached statements, transactions.
 */
#include "db.h"

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pii.h"
#include "util.h"

#define BUSY_TIMEOUT_MS 60000
#define CACHE_MAX 96

struct db {
	sqlite3 *h;
	const char *path;
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} cache[CACHE_MAX];
	int ncache;
	char instance[17];
	int personal;		/* DB_PERSONAL */
	int dry;		/* db_dry_begin: transactions are savepoints */
	int sync_after;		/* FULL durability, the sync outside the lock */
	/* for SEQ_LOCK_TIMES: where a command's write transactions go */
	int64_t t_wait, t_held, t_commit, t_begun, n_tx, t_ckpt, n_ckpt,
	    t_sync;
};

static int64_t
mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * SQLite's own busy handler sleeps in steps of up to 100 ms.  The commands of
 * one pipeline hand the write lock to each other every batch, and such naps
 * left it idle most of the time; polling every 100 to 1000 us keeps the lock
 * busy and costs little CPU.
 */
static int
on_busy(void *arg, int count)
{
	static int64_t since;
	(void)arg;
	if (count == 0)
		since = mono_us();
	else if (mono_us() - since > (int64_t)BUSY_TIMEOUT_MS * 1000)
		return 0;
	usleep(count < 10 ? 100 : count < 100 ? 300 : 1000);
	return 1;
}

/*
 * SQLite calls this after each commit, once the write lock is released, and
 * the commit's step returns only after it.  First the sync that makes the
 * commit durable, when this connection takes it out of the lock (see
 * db_open); then SQLite's automatic checkpoint as its default hook runs it
 * (passive, once the WAL holds 1,000 pages), timed, so that SEQ_LOCK_TIMES
 * counts neither as time the lock was held.
 */
static int
on_wal(void *arg, sqlite3 *h, const char *schema, int pages)
{
	struct db *db = arg;
	int64_t t0 = mono_us();
	if (db->sync_after) {
		sqlite3_file *wal = NULL;
		if (sqlite3_file_control(h, schema, SQLITE_FCNTL_JOURNAL_POINTER,
		    &wal) != SQLITE_OK || !wal || !wal->pMethods ||
		    wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL) != SQLITE_OK)
			/* the commit is made and seen, only perhaps not on
			 * disk: nothing of it may go on.  seq-send stops
			 * before delivering; its jobs, marked sending, turn
			 * unknown after their lease, never sent by themselves */
			errx(EXIT_DB, "%s: cannot sync the write-ahead log; "
			    "the last commit may not be on disk", db->path);
		int64_t t1 = mono_us();
		db->t_sync += t1 - t0;
		t0 = t1;
	}
	if (pages < 1000)
		return SQLITE_OK;
	/* like the default hook, a busy or failed checkpoint is left to the
	 * next commit */
	sqlite3_wal_checkpoint_v2(h, schema, SQLITE_CHECKPOINT_PASSIVE, NULL,
	    NULL);
	db->t_ckpt += mono_us() - t0;
	db->n_ckpt++;		/* tried: one may find nothing to copy */
	return SQLITE_OK;
}

int
db_latest_version(void)
{
	int v = 0;
	for (const struct migration *m = migrations; m->sql; m++)
		v = m->version;
	return v;
}

static void
fail(struct db *db, const char *what)
{
	int code = sqlite3_errcode(db->h);
	if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
		errx(EXIT_TEMPFAIL, "%s: %s: database stayed locked for %d s; "
		    "try again", db->path, what, BUSY_TIMEOUT_MS / 1000);
	errx(EXIT_DB, "%s: %s: %s", db->path, what, sqlite3_errmsg(db->h));
}

int
db_user_version(struct db *db)
{
	sqlite3_stmt *st = db_stmt(db, "PRAGMA user_version");
	int v = db_step(db, st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_reset(st);
	return v;
}

/*
 * Every command is one thread with one connection: SQLite's mutexes and
 * its count of allocations (a global mutex taken on every malloc) cost a
 * few per cent of each statement and guard nothing here.  Set before the
 * library initialises, that is, before the first connection.
 */
static void
single_threaded(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	sqlite3_config(SQLITE_CONFIG_SINGLETHREAD);
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int
is_wal(struct db *db)
{
	sqlite3_stmt *st;
	int wal;
	if (sqlite3_prepare_v2(db->h, "PRAGMA journal_mode", -1, &st, NULL) !=
	    SQLITE_OK)
		fail(db, "cannot read the journal mode");
	wal = sqlite3_step(st) == SQLITE_ROW &&
	    strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
	sqlite3_finalize(st);
	return wal;
}

struct db *
db_open(const char *path, int flags)
{
	struct db *db = xcalloc(1, sizeof *db);
	int oflags = flags & DB_READONLY ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | (flags & DB_CREATE ? SQLITE_OPEN_CREATE : 0);

	db->path = path;
	single_threaded();
	if (!(flags & DB_CREATE) && access(path, F_OK) != 0)
		errx(EXIT_DB, "%s: no such database; create it with "
		    "'seq-init --db %s'", path, path);
	if (sqlite3_open_v2(path, &db->h, oflags | SQLITE_OPEN_NOMUTEX,
	    NULL) != SQLITE_OK)
		fail(db, "cannot open");
	sqlite3_busy_handler(db->h, on_busy, NULL);
	sqlite3_wal_hook(db->h, on_wal, db);
	sqlite3_extended_result_codes(db->h, 0);
	if (sqlite3_exec(db->h, "PRAGMA foreign_keys = ON; "
	    "PRAGMA temp_store = MEMORY", NULL, NULL, NULL) != SQLITE_OK)
		fail(db, "cannot configure");
	if (flags & DB_CREATE) {
		if (sqlite3_exec(db->h, "PRAGMA synchronous = FULL", NULL, NULL,
		    NULL) != SQLITE_OK)
			fail(db, "cannot configure");
		return db;
	}

	int have = db_user_version(db), want = db_latest_version();
	if (have == 0)
		errx(EXIT_DB, "%s: not a seqtools database (schema version 0); "
		    "create it with 'seq-init --db %s'", path, path);
	if (have < want)
		errx(EXIT_DB, "%s: schema version %d is older than %d; "
		    "migrate it with 'seq-init --db %s'", path, have, want, path);
	if (have > want)
		errx(EXIT_DB, "%s: schema version %d is newer than this "
		    "seqtools knows (%d); upgrade seqtools", path, have, want);
	/*
	 * synchronous=FULL syncs the WAL inside the commit, while the write
	 * lock is held: a tenth of the lock's time in the cron pipeline, the
	 * other commands waiting.  In WAL mode the same sync, made by on_wal
	 * right after the commit has released the lock, makes the commit as
	 * durable before its step returns: a commit's frames are in
	 * the WAL until a checkpoint has copied them into the database and
	 * synced it, and only then may the WAL start over.  (FULL would also
	 * pad the last frame to a sector, which Linux's powersafe overwrite,
	 * SQLite's default there, makes needless.)
	 */
	db->sync_after = !(flags & (DB_RELAXED | DB_READONLY)) && is_wal(db);
	if (sqlite3_exec(db->h, flags & DB_RELAXED || db->sync_after ?
	    "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL", NULL,
	    NULL, NULL) != SQLITE_OK)
		fail(db, "cannot configure");
	if (flags & DB_PERSONAL) {
		pii_keys(db);
		db->personal = 1;
	}
	return db;
}

void
db_close(struct db *db)
{
	const char *show = getenv("SEQ_LOCK_TIMES");
	if (show && *show && db->n_tx)
		warnx("%lld write transactions: waited %.3f s for the lock, "
		    "held it %.3f s, of which commits %.3f s; after it, syncs "
		    "%.3f s and %lld checkpoints tried %.3f s", (long long)db->n_tx,
		    db->t_wait / 1e6, db->t_held / 1e6, db->t_commit / 1e6,
		    db->t_sync / 1e6, (long long)db->n_ckpt, db->t_ckpt / 1e6);
	for (int i = 0; i < db->ncache; i++)
		sqlite3_finalize(db->cache[i].st);
	if (sqlite3_close(db->h) != SQLITE_OK)
		fail(db, "closing");
	free(db);
}

sqlite3 *
db_handle(struct db *db)
{
	return db->h;
}

sqlite3_stmt *
db_stmt(struct db *db, const char *sql)
{
	sqlite3_stmt *st;
	for (int i = 0; i < db->ncache; i++)
		if (db->cache[i].sql == sql) {
			st = db->cache[i].st;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return st;
		}
	if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
	    NULL) != SQLITE_OK)
		fail(db, "preparing a statement");
	if (db->ncache == CACHE_MAX)
		errx(EXIT_DB, "internal: statement cache full");
	db->cache[db->ncache].sql = sql;
	db->cache[db->ncache++].st = st;
	return st;
}

int
db_step(struct db *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return rc;
	if (rc == SQLITE_CONSTRAINT) {
		sqlite3_reset(st);
		return rc;
	}
	fail(db, "query failed");
	return rc;
}

void
db_run(struct db *db, sqlite3_stmt *st)
{
	if (db_step(db, st) == SQLITE_CONSTRAINT)
		errx(EXIT_DB, "%s: constraint failed: %s", db->path,
		    sqlite3_errmsg(db->h));
	sqlite3_reset(st);
}

int64_t *
db_ids(struct db *db, sqlite3_stmt *st, size_t *n)
{
	int64_t *ids = NULL;
	size_t cap = 0;
	*n = 0;
	while (db_step(db, st) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			ids = xrealloc(ids, cap * sizeof *ids);
		}
		ids[(*n)++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	return ids;
}

static void
exec_const(struct db *db, const char *sql)
{
	db_run(db, db_stmt(db, sql));
}

void
db_begin(struct db *db)
{
	if (db->dry) {
		exec_const(db, "SAVEPOINT dry");
		return;
	}
	int64_t t0 = mono_us();
	exec_const(db, "BEGIN IMMEDIATE");
	db->t_begun = mono_us();
	db->t_wait += db->t_begun - t0;
	db->n_tx++;
	if (db->personal)
		pii_recheck(db);
}

int
db_truncate_wal(struct db *db)
{
	int log = -1, done = -1;
	int rc = sqlite3_wal_checkpoint_v2(db->h, NULL,
	    SQLITE_CHECKPOINT_TRUNCATE, &log, &done);
	if (rc == SQLITE_BUSY)
		return -1;
	if (rc != SQLITE_OK)
		fail(db, "checkpoint");
	return log == done ? 0 : -1;
}

/* A read transaction: a snapshot that writers do not wait for. */
void
db_begin_read(struct db *db)
{
	if (db->dry) {
		exec_const(db, "SAVEPOINT dry");
		return;
	}
	exec_const(db, "BEGIN DEFERRED");
	if (db->personal)
		pii_recheck(db);
}
void
db_end_read(struct db *db)
{
	exec_const(db, db->dry ? "RELEASE dry" : "COMMIT");
}

void
db_commit(struct db *db)
{
	if (db->dry) {
		exec_const(db, "RELEASE dry");
		return;
	}
	int64_t t0 = mono_us(), after = db->t_sync + db->t_ckpt;
	exec_const(db, "COMMIT");
	int64_t t1 = mono_us() - (db->t_sync + db->t_ckpt - after);
	db->t_commit += t1 - t0;
	db->t_held += t1 - db->t_begun;
}

void
db_rollback(struct db *db)
{
	if (db->dry) {
		exec_const(db, "ROLLBACK TO dry");
		exec_const(db, "RELEASE dry");
	} else
		exec_const(db, "ROLLBACK");
}

/*
 * A dry run writes as a real one would, inside one transaction that is
 * rolled back at the end: what it reports is what the code decides, not
 * a second opinion of it.  It holds the write lock while it runs.
 */
void
db_dry_begin(struct db *db)
{
	db_begin(db);
	db->dry = 1;
}

void
db_dry_end(struct db *db)
{
	db->dry = 0;
	exec_const(db, "ROLLBACK");
}
void db_savepoint(struct db *db) { exec_const(db, "SAVEPOINT rec"); }
void db_release(struct db *db) { exec_const(db, "RELEASE rec"); }

void
db_rollback_to(struct db *db)
{
	exec_const(db, "ROLLBACK TO rec");
	exec_const(db, "RELEASE rec");
}

void
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

void
bind_int(sqlite3_stmt *st, int i, int64_t v)
{
	sqlite3_bind_int64(st, i, v);
}

void
bind_real(sqlite3_stmt *st, int i, double v)
{
	sqlite3_bind_double(st, i, v);
}

const char *
col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

const char *
db_instance(struct db *db)
{
	if (!db->instance[0]) {
		sqlite3_stmt *st = db_stmt(db,
		    "SELECT value FROM meta WHERE key = 'instance'");
		if (db_step(db, st) != SQLITE_ROW)
			errx(EXIT_DB, "%s: no instance id; run seq-init",
			    db->path);
		snprintf(db->instance, sizeof db->instance, "%s",
		    col_text(st, 0));
		sqlite3_reset(st);
	}
	return db->instance;
}
