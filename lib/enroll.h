/*
 * enroll: enrollments and their states.  Every change of status is recorded
 * in enrollment_changes with its time and reason (the timeline reads them).
 * A change that stops an enrollment releases a claim that was never sent, so
 * a job already on its way to seq-send is dropped there, not delivered.
 *
 *   active -> paused -> active        (pause, resume)
 *   active|paused -> cancelled        (cancel)
 *   active|paused|completed|exited -> converted   (convert)
 *   active -> completed | exited    (seq-due, seq-log)
 *   active|paused -> failed         (seq-log: a step failed, on_fail stop)
 */
#ifndef SEQ_ENROLL_H
#define SEQ_ENROLL_H

#include <jansson.h>
#include <stdint.h>

#include "db.h"
#include "seqdef.h"

/*
 * The id of a new enrollment, or 0 with a reason in *why (static).  The
 * rules of the definition (reenroll, exclusive, min_gap, require_badges,
 * min_quality; sequence(5)) decide with the older ones; exclusive_stored,
 * from enroll_exclusive_stored(), spares the look at the lead's other
 * enrollments when no sequence is exclusive.  Re-enrolling "always"
 * cancels the lead's open enrollment in the sequence, in the caller's
 * transaction.
 */
int64_t enroll(struct db *, int64_t lead_id, int64_t seq_id, int version,
    const struct seqdef *, int exclusive_stored, int64_t start, int64_t now,
    char **why);
/* Whether any stored version of any sequence is exclusive. */
int enroll_exclusive_stored(struct db *);

enum enroll_action { EA_PAUSE, EA_RESUME, EA_CANCEL, EA_CONVERT };
/* 0, or -1 with a malloc'd reason. */
int enrollment_act(struct db *, int64_t id, enum enroll_action,
    double value, int has_value, const char *reason, int64_t now, char **why);

/* Sets status and records the change; releases an unsent claim. */
void enrollment_set_status(struct db *, int64_t id, const char *status,
    const char *reason, int64_t now);

/* The enrollment as a record, or NULL if there is none. */
json_t *enrollment_json(struct db *, int64_t id);

#endif
