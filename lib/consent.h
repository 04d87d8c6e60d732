/*
 * consent: the ledger of opt-ins and opt-outs per lead and channel, and the
 * addresses and numbers that nothing may reach.
 *
 * The ledger (table consent) is append-only: the database refuses to
 * change or delete a row, and a lead's state on a channel is its newest
 * row.  Suppressions come two ways: a hard bounce suppresses its address
 * (table suppressions, with the event that did it), and an admin imports a
 * suppression list (table suppression_list), stored only as blind indexes
 * made with the index key of SEQ_KEY_FILE.
 */
#ifndef SEQ_CONSENT_H
#define SEQ_CONSENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "db.h"

/* Appends a row to the ledger; its id. */
int64_t consent_add(struct db *, int64_t lead_id, const char *channel,
    const char *state, const char *source, const char *evidence, int64_t at);

/* 1, with the reason in why, when nothing may go to this recipient (an
 * email address or a number): a bounce suppressed it or the suppression
 * list holds it.  Exits with EXIT_CONFIG when the database holds a list and
 * SEQ_KEY_FILE is not set, since the list cannot then be honoured. */
int recipient_suppressed(struct db *, const char *to, char *why, size_t size);

/* The form an address or number is indexed in: an email address in lower
 * case, a number in E.164 (region for numbers without a country code).  A
 * malloc'd string, or NULL if it is neither; *kind is "email" or "phone". */
char *suppression_form(const char *value, const char *region,
    const char **kind);

struct suppress_stats {
	long added, already, removed, absent, rejected;
};

/* Reads a list, one address or number per line (blank lines and lines
 * starting with # are skipped), and adds each to the suppression list, or
 * with remove, takes it off.  Bad lines are reported by number. */
void suppress_list(struct db *, FILE *, int remove, const char *region,
    const char *source, int64_t now, struct suppress_stats *);

#endif
