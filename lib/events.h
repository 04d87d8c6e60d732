/*
 * events: what providers report back, as one record.  Each provider's
 * webhook payload is read into events (open, click, reply, bounce, ...),
 * each event is matched to the execution it is about (by the key the
 * adapters sent along, else the provider's message id, else the lead's
 * address), recorded once, and its effects are applied in the same
 * transaction: exits, opt-outs, suppressed addresses, and an early wake
 * for a branch that waits on it.
 */
#ifndef SEQ_EVENTS_H
#define SEQ_EVENTS_H

#include <jansson.h>
#include <stdint.h>

#include "db.h"
#include "util.h"

struct event {
	const char *provider;	/* sendgrid, postmark, telnyx, ... */
	char *provider_event_id;
	const char *type;	/* one of sequence(5)'s event types */
	const char *channel;	/* email, sms, voice */
	int64_t at;
	int hard;		/* a bounce that will not pass later */
	char *key;		/* the execution key, if the provider carried it */
	char *message_id;	/* the provider's message or call id */
	char *in_reply_to;	/* Message-IDs a reply names */
	char *address;		/* the lead's email or number */
	json_t *details;
	/* filled by event_record */
	char *details_text;
	int64_t id, execution_id, lead_id;
};

struct event_list {
	struct event *e;
	size_t n, cap;
	long ignored;		/* provider events with no meaning here */
};

/* The providers seq-event reads. */
int events_provider_known(const char *provider);
/* Reads one payload: body is the webhook's body as received (content_type
 * matters to the inbound parsers).  NULL, or why the payload cannot be
 * read, in which case nothing is added. */
const char *events_parse(const char *provider, const char *content_type,
    const char *query, const char *body, size_t len, int64_t received_at,
    struct event_list *);
/* The same, for a payload already parsed as JSON. */
const char *events_parse_json(const char *provider, json_t *payload,
    int64_t received_at, struct event_list *);
void events_free(struct event_list *);
/* A new event at the end of l, for a reader of another source
 * (generic.h); provider, type and channel must outlive it. */
struct event *events_add(struct event_list *, const char *provider,
    const char *type, const char *channel);

/* Records e unless it was recorded before (1: new, 0: seen), applying its
 * effects; inside the caller's transaction. */
int event_record(struct db *, struct event *, int64_t now);
/* Appends the normalised record of a recorded event, one line. */
void event_line(struct buf *out, const struct event *);
/* Forgets what was read of the sequences (at the end of a run). */
void events_forget(void);

#endif
