/*
 * util: exit codes, allocation that cannot return NULL, time in RFC 3339 and
 * durations.  Times are int64 seconds since the epoch, UTC, everywhere.
 */
#ifndef SEQ_UTIL_H
#define SEQ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Exit statuses, listed in every man page under EXIT STATUS. */
enum {
	EXIT_REJECTED = 1,	/* some records were rejected or failed */
	EXIT_USAGE = 2,
	EXIT_DB = 3,		/* database missing, too old, or broken */
	EXIT_CONFIG = 4,	/* configuration or environment */
	EXIT_IO = 5,		/* reading input or writing output failed */
	EXIT_TEMPFAIL = 75	/* busy beyond the timeout: cron may retry */
};

void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xrealloc(void *, size_t);
char *xstrdup(const char *);
char *xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

/* 0 on success; the time is seconds since the epoch. */
int parse_time(const char *, int64_t *);
/* Writes "2026-11-25T06:10:46Z" into buf (at least 21 bytes). */
char *format_time(int64_t, char *buf);
/* "30s", "30m", "2h", "2d", "1w", and sums like "1d12h"; 0 on success. */
int parse_duration(const char *, int64_t *);

/* A whole number from min to max given to option opt, or a usage error. */
long long parse_whole(const char *opt, const char *arg, long long min,
    long long max);

/* --now, else $SEQ_NOW, else the clock; exits with a usage error if bad. */
int64_t resolve_now(const char *opt);
/* --db, else $SEQ_DB, else "seq.db". */
const char *resolve_db(const char *opt);
/* $SEQ_SHARE, else the compiled-in SHAREDIR. */
const char *share_dir(void);

/* Checks ferror and fclose of stdout; exits EXIT_IO if output failed. */
void finish_stdout(void);

/* A growable byte buffer. */
struct buf {
	char *p;
	size_t len, cap;
};
void buf_grow(struct buf *, size_t);
void buf_adds(struct buf *, const char *);
void buf_free(struct buf *);

/* Inline: every job and result line is written a few bytes at a time, and
 * the calls were a tenth of seq-send's own instructions. */
static inline void
buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap)
		buf_grow(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static inline void
buf_addc(struct buf *b, char c)
{
	if (b->len + 2 > b->cap)
		buf_grow(b, 1);
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

#endif
