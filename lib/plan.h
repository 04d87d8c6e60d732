/*
 * plan: seq-due --plan.  The schedule ahead, from now until a moment, for
 * the enrollments of a lead or a sequence (or all): every job the walk
 * would claim, as a job line with the moment "at" which it would go out,
 * assuming each is delivered and no engagement comes back.  Nothing is
 * kept: the plan runs in a dry run (db_dry_begin) that is rolled back.
 */
#ifndef SEQ_PLAN_H
#define SEQ_PLAN_H

#include "due.h"

/* 0, or -1 if --sequence names no sequence; *jobs: the planned jobs. */
int plan_run(struct db *, const struct due_opts *, int64_t until, long *jobs);

#endif
