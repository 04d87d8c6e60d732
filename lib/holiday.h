/*
 * holiday: calendars of public holidays, as iCalendar files (RFC 5545) of
 * all-day events, and the working days they leave.  A calendar NAME is
 * NAME.ics in SEQ_HOLIDAYS_DIR, where an admin keeps their own, else in
 * share/holidays/.  Each calendar is read once per process.
 *
 * What a calendar may hold: VEVENTs whose DTSTART is a date, each a day off
 * (DTEND or DURATION in days or weeks make it several), and yearly ones
 * (RRULE:FREQ=YEARLY on the date of DTSTART, with UNTIL or COUNT or
 * neither).  Anything else that would change which days are off (timed
 * events, other rules, RDATE, EXDATE) is refused with the file and line,
 * never guessed at; cancelled events count for nothing.
 */
#ifndef SEQ_HOLIDAY_H
#define SEQ_HOLIDAY_H

#include <stdint.h>

#include "lead.h"
#include "seqdef.h"
#include "util.h"

struct holidays;

/* 1 if s can name a calendar: a file name in the calendars' directories,
 * and no path. */
int holidays_name_ok(const char *s);
/* The calendar; exits EXIT_CONFIG, naming the file, when it is missing,
 * unreadable or holds what this does not read. */
const struct holidays *holidays_load(const char *name);
/* The same, but NULL when there is no file of that name. */
const struct holidays *holidays_find(const char *name);
const char *holidays_name(const struct holidays *);

/* The calendar that holds for a lead in a sequence: none when the
 * sequence names no calendar ("holidays"); else the calendar of the lead's
 * country when there is one, else the sequence's.  The lead's country is
 * its attribute "country" (ISO 3166 alpha-2), else that of its phone
 * number when the calling code is one country's.  Exits EXIT_CONFIG when
 * the sequence's calendar is missing, even for a lead that does not need
 * it. */
const struct holidays *holidays_for(const struct seqdef *, const struct lead *);

/* The name of the holiday on a local date, or NULL on a working day. */
const char *holiday_on(const struct holidays *, int year, int month, int mday);

/* The name of the holiday on the local date of t in zone, or NULL. */
const char *holiday_at(const struct holidays *, const char *zone, int64_t t);

/*
 * The first moment at or after t inside window w (NULL: at any time of
 * day) on a day of zone that is no holiday of the calendar; -1 when there
 * is none in the next 400 days.  When a holiday moved it, *why (if not
 * NULL) gets the name of the first one passed, else NULL.
 */
int64_t holiday_next_open(const struct holidays *, const struct window *w,
    const char *zone, int64_t t, const char **why);

/* The calendar as NDJSON, one line per holiday, in date order: date,
 * summary, and "yearly": true for a yearly one (at its first date). */
void holidays_list(const struct holidays *, struct buf *);

#endif
