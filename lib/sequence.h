/*
 * sequence: stored definitions.  Versions are immutable; loading one parses
 * it again (it was valid when stored) and caches it for the process.
 */
#ifndef SEQ_SEQUENCE_H
#define SEQ_SEQUENCE_H

#include "db.h"
#include "seqdef.h"

/* The id of a sequence by name, 0 if none; its latest version in *latest. */
int64_t sequence_find(struct db *, const char *name, int *latest);
/* A cached parsed version, or NULL if there is no such version. */
const struct seqdef *sequence_version(struct db *, int64_t seq_id, int version);
void sequence_cache_free(void);

#endif
