/*
 * privacy: what a lead may ask for.  Export writes everything held about a
 * lead; erasure removes its personal data from every table and from the
 * webhook spool, and keeps what the analytics count (enrollments, steps
 * with their state, channel, cost and latency, events with their type and
 * time) under the lead's bare id.
 */
#ifndef SEQ_PRIVACY_H
#define SEQ_PRIVACY_H

#include <stdint.h>

#include "db.h"
#include "util.h"

/* One NDJSON line per record, each naming its kind in "record": the lead,
 * its consent entries, enrollments, enrollment changes, steps (with the job
 * as rendered), events, suppressions of its addresses and its erasure.
 * -1 when there is no such lead. */
int privacy_export(struct db *, int64_t lead_id, struct buf *out);

struct erasure {
	long enrollments, steps, events, spool_files;
};

/* Erases a lead in one transaction; spool (NULL: none) is searched for
 * webhooks that name its addresses, which are removed before the commit.
 * -1 when there is no such lead. */
int privacy_erase(struct db *, int64_t lead_id, const char *reason,
    const char *spool, int64_t now, struct erasure *);

#endif
