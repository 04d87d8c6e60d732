/*
 * freqcap: the caps of seqtools-config(5) that span sequences, and the
 * record of what a cap or the catch-up policy put off.
 *
 * SEQ_LEAD_CAP limits the messages a lead gets on a channel within a
 * sliding window ("email=2/1d,sms=1/1d"), in every sequence together;
 * SEQ_SENDER_CAP limits the messages from a sender per UTC day ("200",
 * "sales@example.com=300", or both).  Both are read once per run of
 * seq-due; a value that does not parse stops it (EXIT_CONFIG), since a cap
 * silently ignored would let messages through that should wait.
 *
 * A deferral is written once per enrollment, step, reason and time it
 * waits until, whatever the number of runs that meet it: the timeline
 * shows it as a step activity, "deferred" or "shifted".
 */
#ifndef SEQ_FREQCAP_H
#define SEQ_FREQCAP_H

#include <stdint.h>

#include "db.h"
#include "seqdef.h"

struct lead_cap {
	long limit;		/* 0: none */
	int64_t window;		/* seconds */
	char text[48];		/* as configured: "email=2/1d" */
};

struct sender_cap {
	char *sender;
	long limit;
};

struct freqcaps {
	int has_lead;
	struct lead_cap lead[CH_COUNT];
	long sender_default;	/* 0: none */
	struct sender_cap *senders;
	int nsenders;
};

/* Reads SEQ_LEAD_CAP and SEQ_SENDER_CAP; exits EXIT_CONFIG when either
 * does not parse. */
void freqcaps_load(struct freqcaps *);
void freqcaps_free(struct freqcaps *);
/* The daily limit of SEQ_SENDER_CAP for the sender from (NULL: none), 0
 * when it has none. */
long freqcaps_sender(const struct freqcaps *, const char *from);
/* The mailbox or number a from names, in lower case: the address of
 * "Name <address>", else the whole.  A sender's caps count by it, so that
 * one mailbox written two ways is counted once. */
void sender_mailbox(const char *from, char *out, size_t size);

/* what: "deferred" or "shifted".  channel NULL for a wait. */
void deferral_record(struct db *, int64_t enrollment, const char *step,
    const char *channel, const char *what, const char *reason, int64_t due,
    int64_t until, int64_t now);

#endif
