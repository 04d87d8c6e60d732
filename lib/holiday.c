/*
 * holiday: see holiday.h.  A calendar becomes a sorted array of day
 * numbers (days since 1970-01-01, as dates, with no time zone: a holiday
 * is a date wherever the clock is read) and a short list of yearly rules.
 */
#include "holiday.h"

#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "jsonw.h"
#include "tzone.h"

#define MAX_CALENDAR (8 << 20)
#define MAX_SPAN 366		/* days one event may take */
#define HORIZON 400		/* days holiday_next_open looks ahead */

struct day {
	int32_t day;
	const char *summary;
};

struct yearly {
	int month, mday, first_year;
	int32_t until;		/* last start, INT32_MAX: none */
	int count;		/* occurrences, 0: no limit */
	int span;
	const char *summary;
};

struct holidays {
	char *name, *path;
	struct day *days;
	size_t ndays;
	struct yearly *yearly;
	size_t nyearly;
	char **texts;		/* the summaries, owned */
	size_t ntexts;
};

/* Every calendar asked for, and the names that have no file (NULL). */
static struct cached {
	char *name;
	struct holidays *cal;
} *cache;
static size_t ncache;

static int
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int y, int m)
{
	static const int n[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && leap(y) ? 29 : n[m - 1];
}

/* Days since 1970-01-01 of a Gregorian date (H. Hinnant's algorithm). */
static int32_t
day_number(int y, int m, int d)
{
	y -= m <= 2;
	int era = (y >= 0 ? y : y - 399) / 400;
	int yoe = y - era * 400;
	int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil(int32_t z, int *y, int *m, int *d)
{
	z += 719468;
	int era = (z >= 0 ? z : z - 146096) / 146097;
	int doe = z - era * 146097;
	int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp + (mp < 10 ? 3 : -9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* What is being read, for messages. */
struct reader {
	const char *path;
	int line;
};

static void __attribute__((noreturn, format(printf, 2, 3)))
bad(const struct reader *rd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	errx(EXIT_CONFIG, "%s: line %d: %s", rd->path, rd->line, msg);
}

/* A content line, split: NAME *(;PARAM) : VALUE (RFC 5545 3.1). */
struct prop {
	char *name, *params, *value;
};

static int
split_prop(char *line, struct prop *p)
{
	char *s = line;
	int quoted = 0;

	p->name = line;
	p->params = NULL;
	while (*s && (isalnum((unsigned char)*s) || *s == '-'))
		s++;
	if (s == line || (*s != ';' && *s != ':'))
		return -1;
	if (*s == ';') {
		*s++ = '\0';
		p->params = s;
		/* a quoted parameter value may hold a colon */
		for (; *s && (quoted || *s != ':'); s++)
			if (*s == '"')
				quoted = !quoted;
		if (*s != ':')
			return -1;
	}
	*s++ = '\0';
	p->value = s;
	return 0;
}

/* The value of parameter name in params, upper-cased, in buf; NULL if
 * absent. */
static const char *
param(const char *params, const char *name, char *buf, size_t size)
{
	size_t n = strlen(name);
	for (const char *s = params; s && *s;) {
		if (strncasecmp(s, name, n) == 0 && s[n] == '=') {
			size_t i = 0;
			for (s += n + 1; *s && *s != ';' && i + 1 < size; s++)
				if (*s != '"')
					buf[i++] = (char)toupper((unsigned char)*s);
			buf[i] = '\0';
			return buf;
		}
		s = strchr(s, ';');
		if (s)
			s++;
	}
	return NULL;
}

/* YYYYMMDD, and the rest of the string in *rest; -1 if not a date. */
static int
parse_ymd(const char *s, int *y, int *m, int *d, const char **rest)
{
	for (int i = 0; i < 8; i++)
		if (!isdigit((unsigned char)s[i]))
			return -1;
	*y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	    (s[3] - '0');
	*m = (s[4] - '0') * 10 + (s[5] - '0');
	*d = (s[6] - '0') * 10 + (s[7] - '0');
	if (*m < 1 || *m > 12 || *d < 1 || *d > month_days(*y, *m))
		return -1;
	*rest = s + 8;
	return 0;
}

/* DTSTART or DTEND: a date, as a day number. */
static int32_t
date_prop(const struct reader *rd, const struct prop *p)
{
	char value[16];
	const char *kind = param(p->params, "VALUE", value, sizeof value);
	const char *rest;
	int y, m, d;

	if ((kind && strcmp(kind, "DATE") != 0) || strchr(p->value, 'T'))
		bad(rd, "%s is a date and time: a holiday is a whole day, "
		    "%s;VALUE=DATE:YYYYMMDD", p->name, p->name);
	if (parse_ymd(p->value, &y, &m, &d, &rest) != 0 || *rest)
		bad(rd, "%s: '%s' is not a date YYYYMMDD", p->name, p->value);
	return day_number(y, m, d);
}

/* DURATION in whole days or weeks: P2D, P1W. */
static int
duration_prop(const struct reader *rd, const char *v)
{
	const char *s = v;
	long n;
	char *end;

	if (*s == '+')
		s++;
	if (*s++ != 'P' || !isdigit((unsigned char)*s))
		goto no;
	n = strtol(s, &end, 10);
	if (strcmp(end, "D") == 0 && n <= MAX_SPAN)
		return (int)n;
	if (strcmp(end, "W") == 0 && n <= MAX_SPAN / 7)
		return (int)n * 7;
no:
	bad(rd, "DURATION: '%s' is not whole days or weeks (P1D, P2W) of "
	    "at most %d days", v, MAX_SPAN);
}

/* The rule of a yearly holiday: FREQ=YEARLY with, at most, INTERVAL=1,
 * BYMONTH and BYMONTHDAY (checked against DTSTART later), UNTIL, COUNT
 * and WKST. */
static void
rrule_prop(const struct reader *rd, char *v, struct yearly *r, int *bymonth,
    int *bymday)
{
	int yearly = 0;
	char *save;
	r->until = INT32_MAX;
	r->count = 0;
	*bymonth = *bymday = 0;
	for (char *part = strtok_r(v, ";", &save); part;
	    part = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(part, '=');
		if (!eq)
			bad(rd, "RRULE: '%s' is not NAME=VALUE", part);
		*eq++ = '\0';
		char *end;
		long n = strtol(eq, &end, 10);
		int number = *eq && !*end && n > 0 && n < 100000;
		const char *rest;
		int y, m, d;
		if (strcasecmp(part, "FREQ") == 0 && strcasecmp(eq, "YEARLY") == 0)
			yearly = 1;
		else if (strcasecmp(part, "INTERVAL") == 0 && number && n == 1)
			;
		else if (strcasecmp(part, "BYMONTH") == 0 && number && n <= 12)
			*bymonth = (int)n;
		else if (strcasecmp(part, "BYMONTHDAY") == 0 && number && n <= 31)
			*bymday = (int)n;
		else if (strcasecmp(part, "COUNT") == 0 && number)
			r->count = (int)n;
		else if (strcasecmp(part, "UNTIL") == 0 &&
		    parse_ymd(eq, &y, &m, &d, &rest) == 0 &&
		    (!*rest || *rest == 'T'))
			r->until = day_number(y, m, d);
		else if (strcasecmp(part, "WKST") == 0)
			;
		else
			bad(rd, "RRULE: %s=%s is not read: a holiday calendar "
			    "repeats an event only every year on its date "
			    "(FREQ=YEARLY, with UNTIL or COUNT)", part, eq);
	}
	if (!yearly)
		bad(rd, "RRULE: only FREQ=YEARLY is read");
}

/* TEXT unescaped (RFC 5545 3.3.11), in place. */
static char *
unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			*o++ = *p == 'n' || *p == 'N' ? '\n' : *p;
		} else
			*o++ = *p;
	}
	*o = '\0';
	return s;
}

struct event {
	int line;
	int32_t start, end;	/* end exclusive; -1 unset */
	int duration;		/* days; 0 unset */
	int has_rule, bymonth, bymday;
	struct yearly rule;
	int cancelled;
	char *summary;
};

static const char *
keep_text(struct holidays *h, const struct reader *rd, const char *s)
{
	json_t *check = json_string(s);
	if (!check)
		bad(rd, "SUMMARY is not UTF-8");
	json_decref(check);
	h->texts = xrealloc(h->texts, (h->ntexts + 1) * sizeof *h->texts);
	return h->texts[h->ntexts++] = xstrdup(s);
}

static void
add_event(struct holidays *h, struct reader *rd, struct event *ev)
{
	rd->line = ev->line;
	if (ev->start < 0)
		bad(rd, "a VEVENT without DTSTART");
	if (ev->cancelled)
		return;
	int span = ev->end >= 0 ? ev->end - ev->start : ev->duration ?
	    ev->duration : 1;
	if (span < 1 || span > MAX_SPAN)
		bad(rd, "a VEVENT of %d days: DTEND must come after DTSTART, "
		    "at most %d days on", span, MAX_SPAN);
	const char *summary = keep_text(h, rd, ev->summary ? ev->summary :
	    "holiday");
	int y, m, d;
	civil(ev->start, &y, &m, &d);
	if (ev->has_rule) {
		if ((ev->bymonth && ev->bymonth != m) ||
		    (ev->bymday && ev->bymday != d))
			bad(rd, "RRULE: BYMONTH and BYMONTHDAY must be the month "
			    "and day of DTSTART");
		h->yearly = xrealloc(h->yearly, (h->nyearly + 1) *
		    sizeof *h->yearly);
		struct yearly *r = &h->yearly[h->nyearly++];
		*r = ev->rule;
		r->month = m;
		r->mday = d;
		r->first_year = y;
		r->span = span;
		r->summary = summary;
		return;
	}
	h->days = xrealloc(h->days, (h->ndays + (size_t)span) * sizeof *h->days);
	for (int i = 0; i < span; i++)
		h->days[h->ndays++] = (struct day){ ev->start + i, summary };
}

static int
day_cmp(const void *a, const void *b)
{
	const struct day *x = a, *y = b;
	return (x->day > y->day) - (x->day < y->day);
}

/* Reads a calendar's text, unfolding its lines (RFC 5545 3.1). */
static void
parse(struct holidays *h, char *text, size_t len)
{
	struct reader rd = { h->path, 0 };
	struct event ev;
	int begun = 0, in_event = 0, other = 0, other_line = 0, phys = 0;
	char *p = text, *end = text + len;

	while (p < end) {
		/* one logical line: a physical one and every following one
		 * that begins with a space or tab, each without that
		 * character, joined in place */
		char *line = p, *o = p;
		rd.line = ++phys;
		for (;;) {
			char *nl = memchr(p, '\n', (size_t)(end - p));
			char *stop = nl ? nl : end;
			char *cut = stop > p && stop[-1] == '\r' ? stop - 1 : stop;
			memmove(o, p, (size_t)(cut - p));
			o += cut - p;
			p = nl ? nl + 1 : end;
			if (p < end && (*p == ' ' || *p == '\t')) {
				p++;
				phys++;
				continue;
			}
			break;
		}
		*o = '\0';
		if (!*line)
			continue;
		if (strlen(line) != (size_t)(o - line))
			bad(&rd, "a NUL byte");

		struct prop pr;
		if (split_prop(line, &pr) != 0) {
			if (!begun)
				bad(&rd, "not an iCalendar file: it must begin "
				    "with BEGIN:VCALENDAR");
			bad(&rd, "not a content line NAME:VALUE");
		}
		int is_begin = strcasecmp(pr.name, "BEGIN") == 0;
		int is_end = strcasecmp(pr.name, "END") == 0;
		if (!begun) {
			if (!is_begin || strcasecmp(pr.value, "VCALENDAR") != 0)
				bad(&rd, "not an iCalendar file: it must begin "
				    "with BEGIN:VCALENDAR");
			begun = 1;
			continue;
		}
		if (begun == 2) {	/* after END:VCALENDAR: another? */
			if (!is_begin || strcasecmp(pr.value, "VCALENDAR") != 0)
				bad(&rd, "%s after END:VCALENDAR", pr.name);
			begun = 1;
			continue;
		}
		if (other) {		/* a component this does not read */
			if (is_begin)
				other++;
			else if (is_end)
				other--;
			continue;
		}
		if (is_begin && !in_event && strcasecmp(pr.value, "VEVENT") == 0) {
			in_event = 1;
			memset(&ev, 0, sizeof ev);
			ev.line = rd.line;
			ev.start = ev.end = -1;
			continue;
		}
		if (is_begin) {
			other = 1;
			other_line = rd.line;
			continue;
		}
		if (is_end && in_event && strcasecmp(pr.value, "VEVENT") == 0) {
			add_event(h, &rd, &ev);
			free(ev.summary);
			in_event = 0;
			continue;
		}
		if (is_end && !in_event && strcasecmp(pr.value, "VCALENDAR") == 0) {
			begun = 2;
			continue;
		}
		if (is_end)
			bad(&rd, "END:%s where %s ends", pr.value,
			    in_event ? "VEVENT" : "VCALENDAR");
		if (!in_event)
			continue;
		if (strcasecmp(pr.name, "DTSTART") == 0)
			ev.start = date_prop(&rd, &pr);
		else if (strcasecmp(pr.name, "DTEND") == 0)
			ev.end = date_prop(&rd, &pr);
		else if (strcasecmp(pr.name, "DURATION") == 0)
			ev.duration = duration_prop(&rd, pr.value);
		else if (strcasecmp(pr.name, "RRULE") == 0) {
			if (ev.has_rule)
				bad(&rd, "a second RRULE");
			ev.has_rule = 1;
			rrule_prop(&rd, pr.value, &ev.rule, &ev.bymonth,
			    &ev.bymday);
		} else if (strcasecmp(pr.name, "STATUS") == 0)
			ev.cancelled = strcasecmp(pr.value, "CANCELLED") == 0;
		else if (strcasecmp(pr.name, "SUMMARY") == 0) {
			free(ev.summary);
			ev.summary = xstrdup(unescape(pr.value));
		} else if (strcasecmp(pr.name, "RDATE") == 0 ||
		    strcasecmp(pr.name, "EXDATE") == 0 ||
		    strcasecmp(pr.name, "EXRULE") == 0 ||
		    strcasecmp(pr.name, "RECURRENCE-ID") == 0)
			bad(&rd, "%s is not read: list each holiday as an event "
			    "of its own", pr.name);
	}
	if (!begun)
		errx(EXIT_CONFIG, "%s: empty: not an iCalendar file", h->path);
	if (other)
		errx(EXIT_CONFIG, "%s: ends inside the component begun on "
		    "line %d", h->path, other_line);
	if (in_event)
		errx(EXIT_CONFIG, "%s: ends inside the VEVENT begun on line %d",
		    h->path, ev.line);
	if (begun != 2)
		errx(EXIT_CONFIG, "%s: ends without END:VCALENDAR", h->path);
	qsort(h->days, h->ndays, sizeof *h->days, day_cmp);
}

/* Opens NAME.ics in dir; NULL when there is none, and an exit when there
 * is one that cannot be read. */
static FILE *
open_in(const char *dir, const char *name, char **path)
{
	*path = xasprintf("%s/%s.ics", dir, name);
	FILE *f = fopen(*path, "rb");
	if (f || errno == ENOENT)
		return f;
	err(EXIT_CONFIG, "%s", *path);
}

static struct holidays *
read_calendar(const char *name)
{
	const char *dir = config_get("SEQ_HOLIDAYS_DIR");
	char *path = NULL, *share = xasprintf("%s/holidays", share_dir());
	FILE *f = NULL;
	struct buf b = { 0 };
	char chunk[65536];
	size_t n;

	if (dir)
		f = open_in(dir, name, &path);
	if (!f) {
		free(path);
		f = open_in(share, name, &path);
	}
	free(share);
	if (!f) {
		free(path);
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		buf_add(&b, chunk, n);
		if (b.len > MAX_CALENDAR)
			errx(EXIT_CONFIG, "%s: larger than %d bytes", path,
			    MAX_CALENDAR);
	}
	if (ferror(f))
		err(EXIT_CONFIG, "%s", path);
	fclose(f);
	buf_addc(&b, '\0');

	struct holidays *h = xcalloc(1, sizeof *h);
	h->name = xstrdup(name);
	h->path = path;
	parse(h, b.p, b.len - 1);
	buf_free(&b);
	return h;
}

int
holidays_name_ok(const char *s)
{
	return s[0] != '.' && seqdef_id_ok(s);
}

const struct holidays *
holidays_find(const char *name)
{
	for (size_t i = 0; i < ncache; i++)
		if (strcmp(cache[i].name, name) == 0)
			return cache[i].cal;
	if (!holidays_name_ok(name))
		errx(EXIT_CONFIG, "holidays: '%s' is not the name of a calendar, "
		    "such as US or DE", name);
	struct holidays *h = read_calendar(name);
	cache = xrealloc(cache, (ncache + 1) * sizeof *cache);
	cache[ncache++] = (struct cached){ xstrdup(name), h };
	return h;
}

static void __attribute__((noreturn))
missing(const char *name, const char *who)
{
	const char *dir = config_get("SEQ_HOLIDAYS_DIR");
	char *share = xasprintf("%s/holidays/%s.ics", share_dir(), name);
	if (dir)
		errx(EXIT_CONFIG, "%s%sno holiday calendar '%s': neither "
		    "%s/%s.ics nor %s exists", who ? who : "", who ? ": " : "",
		    name, dir, name, share);
	errx(EXIT_CONFIG, "%s%sno holiday calendar '%s': %s does not exist "
	    "(an admin's own calendars go in SEQ_HOLIDAYS_DIR)", who ? who : "",
	    who ? ": " : "", name, share);
}

const struct holidays *
holidays_load(const char *name)
{
	const struct holidays *h = holidays_find(name);
	if (!h)
		missing(name, NULL);
	return h;
}

const char *
holidays_name(const struct holidays *h)
{
	return h->name;
}

/* The lead's country in cc, upper case, or 0 when it is not known. */
static int
lead_country(const struct lead *l, char cc[3])
{
	const char *v = json_string_value(json_object_get(l->attributes,
	    "country"));
	const char *regions[4];

	if (v && strlen(v) == 2 && isalpha((unsigned char)v[0]) &&
	    isalpha((unsigned char)v[1])) {
		cc[0] = (char)toupper((unsigned char)v[0]);
		cc[1] = (char)toupper((unsigned char)v[1]);
		cc[2] = '\0';
		return 1;
	}
	/* +1 is the United States and Canada, and others: no one country */
	if (phone_regions(l->f[LF_PHONE], regions, 4) == 1) {
		snprintf(cc, 3, "%s", regions[0]);
		return 1;
	}
	return 0;
}

const struct holidays *
holidays_for(const struct seqdef *d, const struct lead *l)
{
	const struct holidays *h, *own;
	char cc[3];

	if (!d->holidays)
		return NULL;
	/* the sequence's calendar is checked even when no lead needs it: a
	 * name that does not resolve fails on the first run, not on the
	 * first lead of no known country */
	if (!(h = holidays_find(d->holidays))) {
		char who[96];
		snprintf(who, sizeof who, "sequence '%s'", d->name);
		missing(d->holidays, who);
	}
	if (lead_country(l, cc) && (own = holidays_find(cc)))
		return own;
	return h;
}

/* Which occurrence of the rule year y is (1, 2, ...), 0 if none. */
static int
occurrence(const struct yearly *r, int y)
{
	int k = 0;
	if (y < r->first_year || r->mday > month_days(y, r->month))
		return 0;
	if (r->count == 0)
		return 1;
	/* only 29 February skips years */
	for (int i = r->first_year; i <= y && k <= r->count; i++)
		k += r->mday <= month_days(i, r->month);
	return k;
}

const char *
holiday_on(const struct holidays *h, int year, int month, int mday)
{
	struct day key = { day_number(year, month, mday), NULL };
	const struct day *d = bsearch(&key, h->days, h->ndays, sizeof *h->days,
	    day_cmp);
	if (d)
		return d->summary;
	for (size_t i = 0; i < h->nyearly; i++) {
		const struct yearly *r = &h->yearly[i];
		/* a span may run on from the year before */
		for (int y = year - 1; y <= year; y++) {
			int k = occurrence(r, y);
			if (!k || (r->count && k > r->count))
				continue;
			int32_t start = day_number(y, r->month, r->mday);
			if (start <= r->until && start <= key.day &&
			    key.day < start + r->span)
				return r->summary;
		}
	}
	return NULL;
}

const char *
holiday_at(const struct holidays *h, const char *zone, int64_t t)
{
	struct tm lt;
	tz_local(zone, t, &lt);
	return holiday_on(h, lt.tm_year + 1900, lt.tm_mon + 1, lt.tm_mday);
}

int64_t
holiday_next_open(const struct holidays *h, const struct window *w,
    const char *zone, int64_t t, const char **why)
{
	if (why)
		*why = NULL;
	for (int i = 0; i < HORIZON; i++) {
		int64_t open = w ? window_next_open(w, zone, t) : t;
		const char *name = holiday_at(h, zone, open);
		if (!name)
			return open;
		struct tm lt;
		tz_local(zone, open, &lt);
		if (why && !*why)
			*why = name;
		/* on to the start of the next day there */
		lt.tm_mday++;
		lt.tm_hour = lt.tm_min = lt.tm_sec = 0;
		t = tz_mktime(zone, &lt);
	}
	return -1;
}

struct listed {
	int32_t day;
	const char *summary;
	int yearly;
};

static int
listed_cmp(const void *a, const void *b)
{
	const struct listed *x = a, *y = b;
	return (x->day > y->day) - (x->day < y->day);
}

void
holidays_list(const struct holidays *h, struct buf *out)
{
	size_t n = 0;
	struct listed *l = xcalloc(h->ndays + h->nyearly + 1, sizeof *l);
	for (size_t i = 0; i < h->ndays; i++)
		l[n++] = (struct listed){ h->days[i].day, h->days[i].summary, 0 };
	for (size_t i = 0; i < h->nyearly; i++)
		l[n++] = (struct listed){ day_number(h->yearly[i].first_year,
		    h->yearly[i].month, h->yearly[i].mday), h->yearly[i].summary,
		    1 };
	/* stable enough: days of one date keep no order that matters */
	qsort(l, n, sizeof *l, listed_cmp);
	for (size_t i = 0; i < n; i++) {
		struct jsonw w;
		char date[16];
		int y, m, d;
		civil(l[i].day, &y, &m, &d);
		snprintf(date, sizeof date, "%04d-%02d-%02d", y, m, d);
		jw_open(&w, out);
		jw_str(&w, "calendar", h->name);
		jw_str(&w, "date", date);
		jw_str(&w, "summary", l[i].summary);
		if (l[i].yearly)
			jw_raw(&w, "yearly", "true", 4);
		jw_close(&w);
	}
	free(l);
}
