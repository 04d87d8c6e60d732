/*
 * task: manual steps (sequence(5) "type": "task"), the work a person does
 * for a lead: a call, a LinkedIn message.  seq-due opens a task when an
 * enrollment reaches such a step, once per visit (the enrollment's cursor
 * names the visit), and the enrollment waits with no next_run_at.
 * seq-task --done closes it in one transaction: the step gets an execution
 * (channel "task", state "sent"), the outcome becomes an event on that
 * execution (provider "task"), so that a branch on the step and exit_on
 * read it like a provider's event, and the enrollment moves to its next
 * step, due at once.  Title, notes and the closing note are personal data:
 * a sealed database keeps them sealed (pii.h), bound to the task's id.
 */
#ifndef SEQ_TASK_H
#define SEQ_TASK_H

#include <jansson.h>
#include <stdint.h>

#include "db.h"
#include "keys.h"
#include "lead.h"
#include "seqdef.h"
#include "util.h"

/* Opens the task of step s (a task step) for an enrollment at its cursor,
 * its title and notes rendered for l; inside the caller's write
 * transaction.  1 if opened, 0 if that visit's task exists already (the
 * enrollment was paused and resumed). */
int task_open(struct db *, int64_t enrollment_id, int64_t lead_id,
    const struct lead *l, const struct step *s, int cursor, int64_t now);

/* NULL when outcome may close a task, else why not (static). */
const char *task_outcome_check(const char *outcome);

/* Appends the open tasks of active enrollments, oldest first, one JSON
 * line each with the lead's details; lead_id 0 and sequence NULL: all.
 * limit < 0: no limit. */
void task_list(struct db *, int64_t lead_id, const char *sequence,
    long long limit, struct buf *out);

/* Closes task id with outcome (and note, may be NULL) at now, records its
 * execution and event and moves its enrollment on, inside the caller's
 * write transaction; 0, or -1 with a malloc'd reason and nothing
 * written. */
int task_done(struct db *, int64_t id, const char *outcome, const char *note,
    int64_t now, char **why);

/* The task as a record (title, notes and note opened), or NULL. */
json_t *task_json(struct db *, int64_t id);

/* seq-lead --export: the lead's tasks as "task" records. */
void task_export(struct db *, int64_t lead_id, struct buf *out);
/* seq-lead --erase: the lead's tasks keep no text. */
void task_erase(struct db *, int64_t lead_id);
/* seq-init --rotate-key: every task's texts sealed again under to (from:
 * the old keys, NULL when the database was plain); how many tasks. */
long task_rekey(struct db *, const struct keys *from, const struct keys *to);

#endif
