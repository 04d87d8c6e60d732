/*
 * generic: events from any source (seq-event --from ndjson).  A calendar's
 * webhook, a CRM's export or a script says that something happened to a
 * lead, named by its id, external id, email or phone; the event is recorded
 * and acts as a provider's would (events.h), under the source's name.
 * Lines are checked strictly and their lead looked up before anything is
 * recorded, so a line that names no lead is rejected, not stored unmatched.
 */
#ifndef SEQ_GENERIC_H
#define SEQ_GENERIC_H

#include <jansson.h>
#include <stdint.h>

#include "db.h"
#include "events.h"

/* Reads one line's record into l; NULL, or why it is rejected (static;
 * nothing is added then).  now is the time of an event without "at". */
const char *generic_parse(struct db *, json_t *rec, int64_t now,
    struct event_list *l);
/* Frees the source names generic_parse kept (at the end of a run). */
void generic_forget(void);

#endif
