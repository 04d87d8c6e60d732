/*
 * thread: Message-IDs and threaded follow-ups (sequence(5) "thread").
 *
 * Every email job names its own Message-ID, made from its key, so that the
 * id a follow-up answers is known before any provider has seen the
 * message, whichever adapter sends it.  A step with "thread" answers the
 * last message of the step it names that was sent (state sent, settled
 * as sent included) in the same enrollment: In-Reply-To names that
 * message, References its References and it, and the subject is "Re: "
 * and the subject the lead saw, unless the step has its own.  When that
 * step never went out, the step answers what it would have answered; when
 * nothing up the chain went out, the step starts a new thread.
 */
#ifndef SEQ_THREAD_H
#define SEQ_THREAD_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "lead.h"
#include "seqdef.h"
#include "util.h"

/* The right side of a Message-ID whose job names no sender. */
#define THREAD_DOMAIN "seqtools.invalid"

/* "<key@domain>", the domain that of from's address, or THREAD_DOMAIN
 * when from is NULL or has no usable domain. */
void thread_message_id(const char *key, const char *from, char *out,
    size_t size);

struct thread {
	int64_t execution;	/* the execution answered, or 0 */
	char *in_reply_to;	/* its Message-ID, or NULL */
	char *references;	/* with in_reply_to */
	char *subject;		/* rendered; NULL when the step has its own */
};

/* What step s (its "thread" set) of enrollment answers, for lead l; free
 * with thread_free. */
void thread_find(struct db *, int64_t enrollment, const struct seqdef *,
    const struct step *s, const struct lead *l, struct thread *);
void thread_free(struct thread *);

/* Appends ,"Message-ID":message_id and, when t answers a message,
 * ,"In-Reply-To":...,"References":... to a JSON object being written;
 * t may be NULL. */
void thread_headers(struct buf *, const char *message_id,
    const struct thread *t);

#endif
