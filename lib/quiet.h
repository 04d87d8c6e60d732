/*
 * quiet: quiet hours, the part of the recipient's day outside which no text
 * message goes out and no call is made: SEQ_QUIET_HOURS, 08:00-21:00 unless
 * set, which a sequence's "quiet_hours" may narrow.  They hold in the
 * recipient's local time; when that is not known, in every time zone of the
 * country that the recipient's number belongs to, at once.
 */
#ifndef SEQ_QUIET_H
#define SEQ_QUIET_H

#include <stddef.h>
#include <stdint.h>

#include "seqdef.h"

#define QUIET_DEFAULT "08:00-21:00"
#define QUIET_MAX_ZONES 24

/* SEQ_QUIET_HOURS, or the default.  Exits EXIT_CONFIG when it is set to
 * anything but HH:MM-HH:MM with the start before the end. */
void quiet_config(struct window *);

/* The zones of the country of an E.164 number, or of all the countries that
 * share its calling code; how many, 0 when the calling code is not known.
 * countries gets their names, such as "US, CA", for messages. */
int quiet_zones(const char *e164, const char **zones, int max,
    char *countries, size_t size);

/* A window kept in a zone (NULL: UTC), on the days that are no holidays
 * of cal (NULL: every day; w NULL: the whole of each such day). */
struct holidays;
struct zoned {
	const struct window *w;
	const char *zone;
	const struct holidays *cal;
};
/* The first moment at or after t that is inside every window, each in its
 * zone; -1 when none comes before limit. */
int64_t zoned_next_open(const struct zoned *, int n, int64_t t, int64_t limit);

#endif
