/*
 * quiet: see quiet.h.
 */
#include "quiet.h"

#include <err.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "holiday.h"
#include "lead.h"
#include "tzone.h"
#include "util.h"

/*
 * The time zones of each region of lead.c's table: one zone per clock, so a
 * zone that always shows the same time as one listed is left out; what
 * counts is the earliest and the latest local time in the country.  A
 * number is placed by its calling code alone, not by its area code: a +1
 * number may be anywhere in the United States or Canada.  A region not
 * listed here counts as one whose zones are not known.
 */
static const struct {
	const char *region;
	const char *zones[9];
} countries[] = {
	{ "US", { "America/New_York", "America/Chicago", "America/Denver",
	    "America/Phoenix", "America/Los_Angeles", "America/Anchorage",
	    "America/Adak", "Pacific/Honolulu" } },
	{ "CA", { "America/St_Johns", "America/Halifax", "America/Toronto",
	    "America/Winnipeg", "America/Regina", "America/Edmonton",
	    "America/Vancouver", "America/Whitehorse" } },
	{ "GB", { "Europe/London" } },
	{ "IE", { "Europe/Dublin" } },
	{ "DE", { "Europe/Berlin" } },
	{ "AT", { "Europe/Vienna" } },
	{ "CH", { "Europe/Zurich" } },
	{ "FR", { "Europe/Paris" } },
	{ "BE", { "Europe/Brussels" } },
	{ "NL", { "Europe/Amsterdam" } },
	{ "LU", { "Europe/Luxembourg" } },
	{ "ES", { "Europe/Madrid", "Atlantic/Canary" } },
	{ "PT", { "Europe/Lisbon", "Atlantic/Azores" } },
	{ "IT", { "Europe/Rome" } },
	{ "DK", { "Europe/Copenhagen" } },
	{ "NO", { "Europe/Oslo" } },
	{ "SE", { "Europe/Stockholm" } },
	{ "FI", { "Europe/Helsinki" } },
	{ "PL", { "Europe/Warsaw" } },
	{ "CZ", { "Europe/Prague" } },
	{ "AU", { "Australia/Perth", "Australia/Eucla", "Australia/Darwin",
	    "Australia/Adelaide", "Australia/Brisbane", "Australia/Sydney",
	    "Australia/Lord_Howe" } },
	{ "NZ", { "Pacific/Auckland", "Pacific/Chatham" } },
	{ "JP", { "Asia/Tokyo" } },
	{ "IN", { "Asia/Kolkata" } },
	{ "SG", { "Asia/Singapore" } },
	{ "BR", { "America/Noronha", "America/Sao_Paulo", "America/Manaus",
	    "America/Rio_Branco" } },
	{ "MX", { "America/Cancun", "America/Mexico_City", "America/Mazatlan",
	    "America/Tijuana" } },
	{ "ZA", { "Africa/Johannesburg" } },
	{ "IL", { "Asia/Jerusalem" } },
	{ "AE", { "Asia/Dubai" } },
};

void
quiet_config(struct window *w)
{
	const char *v = config_get("SEQ_QUIET_HOURS");

	if (!v)
		v = QUIET_DEFAULT;
	if (hours_parse(v, w) != 0)
		errx(EXIT_CONFIG, "SEQ_QUIET_HOURS: '%s' is not a range of the "
		    "day like %s, its start before its end", v, QUIET_DEFAULT);
}

int
quiet_zones(const char *e164, const char **zones, int max, char *names,
    size_t size)
{
	const char *regions[8];
	int nregions = phone_regions(e164, regions, 8), n = 0;
	size_t used = 0;

	if (size)
		names[0] = '\0';
	for (int i = 0; i < nregions; i++)
		for (size_t c = 0; c < sizeof countries / sizeof *countries; c++) {
			if (strcmp(countries[c].region, regions[i]) != 0)
				continue;
			for (int z = 0; z < 9 && countries[c].zones[z]; z++)
				/* a system without a zone cannot tell its time */
				if (n < max && tz_valid(countries[c].zones[z]))
					zones[n++] = countries[c].zones[z];
			if (used < size)
				used += (size_t)snprintf(names + used, size - used,
				    "%s%s", used ? ", " : "", regions[i]);
		}
	return n;
}

int64_t
zoned_next_open(const struct zoned *z, int n, int64_t t, int64_t limit)
{
	/* Each window in turn moves t on to its next opening, passing only
	 * times when that window is closed; when a round moves it no more, t
	 * is inside every window, and no earlier time was.  t only grows, from
	 * one opening to another, so the rounds end by limit. */
	for (int moved = 1; moved && t <= limit;) {
		moved = 0;
		for (int i = 0; i < n; i++) {
			int64_t open = z[i].cal ? holiday_next_open(z[i].cal,
			    z[i].w, z[i].zone, t, NULL) : z[i].w ?
			    window_next_open(z[i].w, z[i].zone, t) : t;
			if (open < 0)
				return -1;
			if (open > t) {
				t = open;
				moved = 1;
			}
		}
	}
	return t <= limit ? t : -1;
}
