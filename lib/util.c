/*
 * util: small things every command needs.  Allocation failure is fatal: a
 * command that cannot allocate cannot keep its promises, so it stops before
 * it writes anything half done.
 */
#include "util.h"

#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		err(EXIT_IO, "malloc");
	return p;
}

void *
xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);
	if (!p)
		err(EXIT_IO, "calloc");
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		err(EXIT_IO, "realloc");
	return p;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		err(EXIT_IO, "strdup");
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		err(EXIT_IO, "vasprintf");
	va_end(ap);
	return s;
}

static int
digits(const char **s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)**s))
			return -1;
		v = v * 10 + (**s - '0');
		(*s)++;
	}
	*out = v;
	return 0;
}

int
parse_time(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	struct tm tm = { 0 };

	if (digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) ||
	    *s++ != '-' || digits(&s, 2, &d) || (*s != 'T' && *s != 't' &&
	    *s != ' ') || (s++, digits(&s, 2, &h)) || *s++ != ':' ||
	    digits(&s, 2, &mi) || *s++ != ':' || digits(&s, 2, &sec))
		return -1;
	if (*s == '.') {	/* fractions of a second are dropped */
		s++;
		if (!isdigit((unsigned char)*s))
			return -1;
		while (isdigit((unsigned char)*s))
			s++;
	}
	if (*s == 'Z' || *s == 'z')
		s++;
	else if (*s == '+' || *s == '-') {
		sign = *s++ == '-' ? -1 : 1;
		if (digits(&s, 2, &oh) || *s++ != ':' || digits(&s, 2, &om))
			return -1;
	} else
		return -1;
	if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60 || oh > 23 || om > 59)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec == 60 ? 59 : sec;
	time_t t = timegm(&tm);
	if (tm.tm_mday != d)	/* 2026-02-30 rolled over */
		return -1;
	*out = (int64_t)t - sign * (oh * 3600 + om * 60);
	return 0;
}

char *
format_time(int64_t t, char *buf)
{
	struct tm tm;
	time_t tt = (time_t)t;
	gmtime_r(&tt, &tm);
	strftime(buf, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

int
parse_duration(const char *s, int64_t *out)
{
	int64_t total = 0;
	if (!*s)
		return -1;
	while (*s) {
		int64_t n = 0, unit;
		if (!isdigit((unsigned char)*s))
			return -1;
		while (isdigit((unsigned char)*s)) {
			n = n * 10 + (*s++ - '0');
			if (n > 100000000)
				return -1;
		}
		switch (*s++) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		case 'w': unit = 7 * 86400; break;
		default: return -1;
		}
		total += n * unit;
	}
	*out = total;
	return 0;
}

long long
parse_whole(const char *opt, const char *arg, long long min, long long max)
{
	char *end;
	errno = 0;
	long long v = strtoll(arg, &end, 10);
	if (!*arg || *end || errno || v < min || v > max) {
		if (max == LLONG_MAX)
			errx(EXIT_USAGE, "%s: '%s' is not a whole number of at "
			    "least %lld", opt, arg, min);
		errx(EXIT_USAGE, "%s: '%s' is not a whole number from %lld to "
		    "%lld", opt, arg, min, max);
	}
	return v;
}

int64_t
resolve_now(const char *opt)
{
	const char *s = opt ? opt : getenv("SEQ_NOW");
	int64_t t;
	/* an empty $SEQ_NOW is unset; an empty --now is a mistake */
	if (!s || (!*s && !opt))
		return (int64_t)time(NULL);
	if (parse_time(s, &t) != 0)
		errx(EXIT_USAGE, "%s: '%s' is not an RFC 3339 time "
		    "(like 2026-11-25T09:00:00Z)", opt ? "--now" : "SEQ_NOW", s);
	return t;
}

const char *
resolve_db(const char *opt)
{
	const char *s = opt ? opt : getenv("SEQ_DB");
	return s && *s ? s : "seq.db";
}

const char *
share_dir(void)
{
	const char *s = getenv("SEQ_SHARE");
	return s && *s ? s : SHAREDIR;
}

void
finish_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0)
		err(EXIT_IO, "writing output failed");
}

/* Room for n more bytes and the NUL after them. */
void
buf_grow(struct buf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + n + 1)
		cap *= 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}
