/*
 * batch: a write transaction per input batch, and output held until it
 * commits.  A record's output line must never be seen before the change it
 * reports is durable: a reader downstream acts on it.
 */
#ifndef SEQ_BATCH_H
#define SEQ_BATCH_H

#include "db.h"
#include "util.h"

struct batch {
	struct db *db;
	struct buf out;
	int open;
};

/* Opens the transaction if this batch has none yet. */
void batch_begin(struct batch *);
/* Commits, then writes the held output to stdout. */
void batch_flush(struct batch *);

#endif
