/*
 * autoreply: out-of-office and other automatic replies.  An inbound message
 * that a machine wrote for an absent person is not a reply: seq-event
 * records it as an auto_reply event, the lead's active enrollments are
 * paused, and seq-due resumes them on the return date the message gives
 * (09:00 that day in the lead's time zone, else the sequence's, else UTC),
 * or SEQ_OOO_DAYS days after it was written when it gives none.
 *
 * A message is automatic by its headers (RFC 3834 Auto-Submitted other than
 * "no", X-Autoreply, X-Autorespond, Precedence: auto_reply) or by its
 * subject before any reply prefix ("Automatic reply: Re: ...", never
 * "Re: out of office tools"), in English, German, French, Spanish,
 * Portuguese, Italian and Dutch.  Text is compared lower-cased with the
 * accents of Latin letters taken off, so that "Büro", "BÜRO" and "Buro"
 * are one word.
 */
#ifndef SEQ_AUTOREPLY_H
#define SEQ_AUTOREPLY_H

#include <jansson.h>
#include <stdint.h>

#include "db.h"
#include "events.h"

struct autoreply {
	const char *by;		/* the header or "subject" that told */
	const char *lang;	/* en, de, fr, es, pt, it, nl; NULL if unknown */
	int64_t back;		/* the return day at 00:00 UTC; 0 if none */
};

/*
 * 1 if the message is an automatic reply, with what told and the return
 * day found in subject or text (read as of the time at); 0 if a person
 * wrote it.  Headers come as a raw block of header lines, or as a JSON
 * array of {"Name", "Value"} objects (Postmark's), either NULL.
 */
int autoreply_detect(const char *headers, json_t *header_array,
    const char *subject, const char *text, int64_t at, struct autoreply *);

/* The return day (00:00 UTC) that text gives, as of at, or 0. */
int64_t autoreply_return_day(const char *text, int64_t at, int month_first);

/* Makes an inbound reply event an auto_reply, with "autoreply" (what told)
 * and "return_date" (YYYY-MM-DD, if found) in its details, when it is one. */
void autoreply_classify(struct event *, const char *headers,
    json_t *header_array, const char *subject, const char *text);

/* Pauses the lead's active enrollments for a recorded auto_reply event,
 * each until its resume time; inside the caller's transaction. */
void autoreply_pause(struct db *, const struct event *, int64_t now);

/* Resumes the enrollments whose out-of-office pause ends by now, each at
 * its resume time; how many.  One indexed look when there are none. */
long autoreply_resume(struct db *, int64_t now);

#endif
