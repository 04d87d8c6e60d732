/*
 * metrics: the Prometheus text exposition of a database, for
 * node_exporter's textfile collector.  Counters come from tables that only
 * grow (adapter_counters, latency_buckets), never from rows, so they stay
 * monotonic across runs, restarts and erasures; gauges are read at the
 * moment asked.
 */
#ifndef SEQ_METRICS_H
#define SEQ_METRICS_H

#include <stdint.h>

#include "db.h"
#include "util.h"

/* spool: SEQ_SPOOL, or NULL for none. */
void metrics_write(struct db *, const char *spool, int64_t now,
    struct buf *out);

#endif
