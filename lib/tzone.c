/*
 * tzone: see tzone.h.
 */
#include "tzone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static char current[128];

int
tz_valid(const char *name)
{
	char path[256];
	FILE *f;
	char magic[4];
	int ok;

	if (!name || !*name || strlen(name) > 100 || strstr(name, "..") ||
	    name[0] == '/' || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789/_+-") != strlen(name))
		return 0;
	snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", name);
	if (!(f = fopen(path, "rb")))
		return 0;
	ok = fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
	fclose(f);
	return ok;
}

static void
use_zone(const char *zone)
{
	if (!zone)
		zone = "UTC";
	if (strcmp(zone, current) == 0)
		return;
	snprintf(current, sizeof current, "%s", zone);
	setenv("TZ", zone, 1);
	tzset();
}

void
tz_local(const char *zone, int64_t t, struct tm *out)
{
	time_t tt = (time_t)t;
	use_zone(zone);
	localtime_r(&tt, out);
}

int64_t
tz_mktime(const char *zone, struct tm *local)
{
	struct tm tm = *local;
	use_zone(zone);
	tm.tm_isdst = -1;
	time_t t = mktime(&tm);
	/* In a gap (02:30 on a spring-forward night) glibc normalises by the
	 * offset before the gap; never return a time before the wall clock
	 * asked for, so a window opening in a gap opens when the gap ends. */
	struct tm back;
	localtime_r(&t, &back);
	if (back.tm_hour < local->tm_hour && back.tm_mday == local->tm_mday)
		t += 3600;
	return (int64_t)t;
}
