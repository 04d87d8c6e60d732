/*
 * tzone: see tzone.h.
 */
#include "tzone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static char current[128];

/* Zones seen, with their verdicts: a run meets few zones and asks about
 * each for every lead or step. */
static struct {
	char name[104];
	int ok;
} seen[64];
static int nseen;

static int
tz_check(const char *name)
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

int
tz_valid(const char *name)
{
	if (!name || strlen(name) >= sizeof seen[0].name)
		return 0;
	for (int i = 0; i < nseen; i++)
		if (strcmp(seen[i].name, name) == 0)
			return seen[i].ok;
	int ok = tz_check(name);
	if (nseen < (int)(sizeof seen / sizeof *seen)) {
		snprintf(seen[nseen].name, sizeof seen[nseen].name, "%s", name);
		seen[nseen++].ok = ok;
	}
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

static long
offset_at(const char *zone, int64_t t)
{
	struct tm tm;
	tz_local(zone, t, &tm);
	return tm.tm_gmtoff;
}

int64_t
tz_mktime(const char *zone, struct tm *local)
{
	struct tm tm = *local;
	tm.tm_isdst = 0;
	/* the wall clock read as if it were UTC */
	int64_t wall = (int64_t)timegm(&tm);
	/* the offsets in force a day before and a day after: around a
	 * change of offset, one of them applies (or both, or neither) */
	long before = offset_at(zone, wall - 86400);
	long after = offset_at(zone, wall + 86400);
	int64_t t_before = wall - before, t_after = wall - after;
	int ok_before = offset_at(zone, t_before) == before;
	int ok_after = offset_at(zone, t_after) == after;

	if (ok_before && ok_after)	/* a repeated hour: the first */
		return t_before < t_after ? t_before : t_after;
	if (ok_before)
		return t_before;
	if (ok_after)
		return t_after;
	/* a skipped hour: the first moment after it, the change itself,
	 * found between the two readings */
	int64_t lo = t_before < t_after ? t_before : t_after;
	int64_t hi = t_before < t_after ? t_after : t_before;
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;
		if (offset_at(zone, mid) == after)
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}
