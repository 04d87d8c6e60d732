/*
 * jsonw: writing JSON straight into a buffer.  Jansson parses every record
 * (strictly); building output through its objects cost more than all the
 * SQLite work of a step, so the hot paths write their records here.
 * Strings must be valid UTF-8 (they come from jansson or the database,
 * which hold nothing else); control characters and " and \ are escaped.
 * Keys are written as they are: each is a literal of the caller's, plain
 * ASCII with no " or \.
 */
#ifndef SEQ_JSONW_H
#define SEQ_JSONW_H

#include <jansson.h>
#include <stdint.h>

#include "util.h"

struct jsonw {
	struct buf *b;
	int first;	/* no member written yet in the open object */
};

void jw_open(struct jsonw *, struct buf *);	/* { */
void jw_close(struct jsonw *);			/* }\n */
void jw_str(struct jsonw *, const char *key, const char *v);	/* NULL: null */
void jw_int(struct jsonw *, const char *key, int64_t v);
void jw_real(struct jsonw *, const char *key, double v);
void jw_null(struct jsonw *, const char *key);
void jw_raw(struct jsonw *, const char *key, const char *json, size_t n);
/* The string escaped, with quotes. */
void jw_quote(struct buf *, const char *s);

#endif
