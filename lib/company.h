/*
 * company: the same-company stop (sequence(5) stop_on_company_reply).  A
 * reply from a lead ends the other open enrollments, in each sequence with
 * the stop that the replier is in, of the leads whose email domain is the
 * replier's: colleagues are not written to once one of them has answered.
 * A free-mail domain (share/freemail-domains.txt) says nothing about a
 * company and stops no one.
 */
#ifndef SEQ_COMPANY_H
#define SEQ_COMPANY_H

#include <stdint.h>

#include "db.h"
#include "events.h"

/* Applies the stop for e, a recorded reply with a lead; inside the
 * caller's transaction. */
void company_reply(struct db *, const struct event *e, int64_t now);
/* 1 when domain (lower case) is a free-mail domain. */
int freemail_domain(const char *domain);

#endif
