/*
 * outcome: recording what happened to an execution, and moving its
 * enrollment on.  Used by seq-log for results and for --settle.
 *
 * Only a "sending" or "unknown" execution takes an outcome; a result for one
 * already recorded is ignored (seq-log can be fed the same results twice).
 * sent: the enrollment moves to the next step, due at once (the walk in
 * seq-due applies waits); at the end it completes.  retry: the step is due
 * again after a backoff (5 min doubling per attempt, at most 6 h, 20 %
 * jitter from the key), until the sequence's max_attempts is spent, and then
 * it has failed.  failed: on_fail "stop" (the default) fails the
 * enrollment, "continue" moves on as if sent.
 */
#ifndef SEQ_OUTCOME_H
#define SEQ_OUTCOME_H

#include <stdint.h>

#include "db.h"
#include "record.h"

enum { OUTCOME_RECORDED = 0, OUTCOME_IGNORED = 1, OUTCOME_REJECTED = -1 };

/* r->job.key may be NULL (settling by id).  *why explains IGNORED and
 * REJECTED; final_status says what was recorded (retry may become
 * failed). */
int outcome_record(struct db *, const struct result *r, int settle,
    int64_t now, const char **why, const char **final_status);

int64_t retry_delay(const char *key, int attempt);

/* Per-adapter counters, summed in memory and added in the batch's
 * transaction by counters_flush, with a histogram of latency in
 * LATENCY_BUCKETS buckets: up to each of latency_bounds_ms, then above. */
#define LATENCY_BUCKETS 9
extern const int64_t latency_bounds_ms[LATENCY_BUCKETS - 1];
void counters_add(const char *adapter, const char *channel,
    const char *outcome, int64_t latency_ms);
void counters_flush(struct db *);

#endif
