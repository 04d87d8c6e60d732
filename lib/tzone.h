/*
 * tzone: IANA time zones through the C library.  Local time in a zone is
 * computed by switching TZ, which glibc reloads only when the name changes,
 * so callers that handle many leads of one zone pay once.
 */
#ifndef SEQ_TZONE_H
#define SEQ_TZONE_H

#include <stdint.h>
#include <time.h>

/* 1 if name is a zone in the system's database. */
int tz_valid(const char *name);
/* Broken-down local time of t in zone (UTC when zone is NULL). */
void tz_local(const char *zone, int64_t t, struct tm *out);
/* The UTC time of a local wall-clock time (tm_isdst is ignored).  A time
 * that occurs twice (the hour repeated when clocks go back) is its first
 * occurrence; a time that never occurs (the hour skipped when clocks go
 * forward) is the moment the skipped hour ends. */
int64_t tz_mktime(const char *zone, struct tm *local);

#endif
