/*
 * ndjson: the one input loop every command runs.  It owns reading lines,
 * counting them, parsing them strictly, and reporting "prog: line N: reason".
 *
 * Records come in batches: a batch ends when the input has nothing more to
 * read right now, or after max_batch records.  At the end of each batch the
 * loop calls flush(), where a command commits its transaction and only then
 * writes its output.  A slow producer therefore gets one record per batch
 * (streaming), a fast one large batches (throughput).
 */
#ifndef SEQ_NDJSON_H
#define SEQ_NDJSON_H

#include <jansson.h>
#include <stddef.h>

#include "progress.h"
#include "util.h"

struct ndjson {
	const char *prog;
	/* 0: accepted; -1: rejected, the reason already given by ndjson_reject */
	int (*record)(struct ndjson *, json_t *rec, long line, void *arg);
	void (*flush)(struct ndjson *, void *arg);
	void *arg;
	size_t max_batch;	/* default 1000 */
	size_t max_line;	/* bytes; default 1 MiB */
	int arrays;		/* a line may also be a JSON array */
	long lines, records, rejected;
	size_t pending;		/* records in the batch not yet flushed */
	/* the current line's bytes, valid during record() */
	const char *raw;
	size_t raw_len;
	/* lines read, shown on stderr at a terminal; NULL: none.  The
	 * command starts it and ends it. */
	struct progress *progress;
};

/* Reads fd to its end; returns the number of rejected lines. */
long ndjson_run(struct ndjson *, int fd);
void ndjson_reject(struct ndjson *, long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends rec as one compact line to out. */
void json_line(struct buf *out, const json_t *rec);
/* Writes out to stdout and empties it; exits EXIT_IO if that fails. */
void emit(struct buf *out);

/* Field access for validation: each returns 0 when the field is absent or
 * null and may be defaulted, 1 when present and of the right type, -1 when
 * present but wrong (the caller rejects). */
int field_str(const json_t *, const char *key, const char **out);
int field_int(const json_t *, const char *key, long long *out);

#endif
