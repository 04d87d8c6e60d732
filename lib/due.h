/*
 * due: what seq-due does, callable from anywhere.  A run first recovers
 * (a "sending" execution whose lease ended becomes "unknown" and is never
 * sent again by itself; a "claimed" one whose lease ended was never
 * attempted and is emitted again under the same key), then walks every
 * active, unclaimed enrollment whose next_run_at has come, in batches: a
 * batch is read and walked in a read transaction and written in one
 * BEGIN IMMEDIATE transaction, and a job line goes out for every step it
 * claims.  Jobs are written only after their batch commits.
 *
 * A walk passes waits, branches, skips and window or cap deferrals, stops
 * at the first message step it claims, and writes the enrollment once, and
 * only if no one changed it since it was read.  Each enrollment is visited
 * at most once per run.
 */
#ifndef SEQ_DUE_H
#define SEQ_DUE_H

#include <stdint.h>

#include "db.h"
#include "util.h"
#include "progress.h"

struct due_opts {
	int64_t now, lease;
	long limit;		/* jobs at most; <0: no limit */
	const char *channel;	/* NULL: all */
	const char *sequence;	/* NULL: all */
	int shard_k, shard_n;	/* 1..n of n; n 0: no sharding */
	int batch;		/* enrollments per transaction */
	struct progress *progress;	/* jobs written; NULL: none */
	int64_t lead_id;	/* 0: all leads */
	int explain;		/* decision records besides the jobs */
	/* where a batch's job lines go; NULL: stdout */
	void (*sink)(struct buf *lines, void *arg);
	void *sink_arg;
};

struct due_stats {
	long jobs, reclaimed, unknown, skipped, deferred, completed, exited;
	long tasks;		/* opened for a person (seq-task) */
};

/* 0, or -1 if --sequence names no sequence. */
int due_run(struct db *, const struct due_opts *, struct due_stats *);

#endif
