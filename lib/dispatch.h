/*
 * dispatch: drives deliveries through their adapters on one libcurl multi
 * handle: many transfers at once over reused connections, a token bucket
 * per adapter and per sender, a pause and halved concurrency after a 429,
 * timeouts, and in-run retries with exponential backoff and jitter for a
 * bounded time.
 *
 * A delivery is first admitted: the admit callback gets each group of
 * deliveries about to make their first attempt and marks those that may go
 * (seq-send records them as sending, durably, before any leaves).  The
 * group is kept near what can start soon, so that a crash leaves few
 * admitted deliveries that were never attempted.
 */
#ifndef SEQ_DISPATCH_H
#define SEQ_DISPATCH_H

#include <stdint.h>

#include "adapter.h"

struct dispatch_opts {
	int parallel;			/* transfers at once */
	long connect_timeout_ms, timeout_ms;
	int64_t retry_for_ms;		/* in-run retries stop after this */
	int verbose;			/* requests and answers on stderr */
	const char *prog;
};

struct dispatch;

struct dispatch *dispatch_new(const struct dispatch_opts *);
/* Queues d; d->adapter, d->job, d->done and d->arg are set. */
void dispatch_add(struct dispatch *, struct delivery *);
/* Runs until every queued delivery is done or refused.  admit() sets
 * d->admitted on each delivery of the group that may go; the others are
 * dropped without done().  progress() is called when results may be
 * waiting to be written, with final set on its last call. */
void dispatch_run(struct dispatch *,
    void (*admit)(struct delivery **, size_t, void *),
    void (*progress)(void *, int final), void *arg);
void dispatch_free(struct dispatch *);

/* Sets a rate from "N/s", "N/m", "N/h" or "none"; 0 on success. */
int parse_rate(const char *, double *per_second);
void bucket_set(struct bucket *, double rate);

#endif
