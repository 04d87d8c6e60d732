/*
 * rekey: seals a database's personal data under new keys, in one
 * transaction: a plain database becomes sealed, a sealed one is read with
 * its old keys (SEQ_KEY_FILE) and written again under the new ones, blind
 * indexes included.  Freed pages are overwritten and the file vacuumed, so
 * that neither the plain values nor the old sealed ones remain in it.
 */
#ifndef SEQ_REKEY_H
#define SEQ_REKEY_H

#include "db.h"
#include "keys.h"

struct rekey_stats {
	long leads, jobs, suppressions, listed;
};

/* Exits with a reason when something cannot be carried over; the database
 * is then unchanged. */
void rekey(struct db *, const struct keys *to, struct rekey_stats *);

/* Marks a new, empty database as sealed under k. */
void rekey_mark(struct db *, const struct keys *k);

#endif
