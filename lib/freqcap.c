/*
 * freqcap: see freqcap.h.
 */
#include "freqcap.h"

#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "util.h"

/* The next comma-separated entry of *p, blanks around it trimmed, in buf;
 * 0 at the end. */
static int
next_entry(const char **p, char *buf, size_t size, const char *name)
{
	const char *s = *p, *end;
	size_t len;

	s += strspn(s, " \t,");
	if (!*s)
		return 0;
	end = s + strcspn(s, ",");
	*p = end;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	len = (size_t)(end - s);
	if (len >= size)
		errx(EXIT_CONFIG, "%s: an entry longer than %zu characters",
		    name, size - 1);
	memcpy(buf, s, len);
	buf[len] = '\0';
	return 1;
}

static long
whole(const char *s, const char *name, const char *entry)
{
	char *end;
	long v;

	errno = 0;
	v = isdigit((unsigned char)*s) ? strtol(s, &end, 10) : -1;
	if (v < 1 || errno || *end)
		errx(EXIT_CONFIG, "%s: '%s': the limit must be a whole number of "
		    "at least 1", name, entry);
	return v;
}

static void
lead_caps(struct freqcaps *fc, const char *v)
{
	static const char name[] = "SEQ_LEAD_CAP";
	char entry[48];

	while (next_entry(&v, entry, sizeof entry, name)) {
		char *eq = strchr(entry, '='), *slash = strchr(entry, '/');
		int ch;
		if (!eq || !slash || slash < eq)
			errx(EXIT_CONFIG, "%s: '%s' is not channel=N/duration, "
			    "like email=2/1d", name, entry);
		*eq = *slash = '\0';
		for (ch = 0; ch < CH_COUNT; ch++)
			if (strcmp(entry, channel_names[ch]) == 0)
				break;
		if (ch == CH_COUNT)
			errx(EXIT_CONFIG, "%s: '%s' is not a channel (email, sms "
			    "or voice)", name, entry);
		struct lead_cap *c = &fc->lead[ch];
		if (c->limit)
			errx(EXIT_CONFIG, "%s: %s is capped twice", name, entry);
		*eq = '=';
		c->limit = whole(eq + 1, name, entry);
		if (parse_duration(slash + 1, &c->window) != 0 || c->window <= 0)
			errx(EXIT_CONFIG, "%s: '%s' is not a duration like 12h, "
			    "1d or 1w", name, slash + 1);
		*slash = '/';
		snprintf(c->text, sizeof c->text, "%s", entry);
		fc->has_lead = 1;
	}
}

static void
sender_caps(struct freqcaps *fc, const char *v)
{
	static const char name[] = "SEQ_SENDER_CAP";
	char entry[200];

	while (next_entry(&v, entry, sizeof entry, name)) {
		char *eq = strrchr(entry, '=');
		if (!eq) {
			if (fc->sender_default)
				errx(EXIT_CONFIG, "%s: two limits for every "
				    "sender", name);
			fc->sender_default = whole(entry, name, entry);
			continue;
		}
		*eq = '\0';
		if (!*entry)
			errx(EXIT_CONFIG, "%s: '=%s' names no sender", name,
			    eq + 1);
		for (int i = 0; i < fc->nsenders; i++)
			if (strcasecmp(fc->senders[i].sender, entry) == 0)
				errx(EXIT_CONFIG, "%s: %s is capped twice",
				    name, entry);
		fc->senders = xrealloc(fc->senders, (size_t)(fc->nsenders + 1) *
		    sizeof *fc->senders);
		struct sender_cap *c = &fc->senders[fc->nsenders++];
		c->sender = xstrdup(entry);
		*eq = '=';
		c->limit = whole(eq + 1, name, entry);
	}
}

void
freqcaps_load(struct freqcaps *fc)
{
	const char *v;

	memset(fc, 0, sizeof *fc);
	if ((v = config_get("SEQ_LEAD_CAP")))
		lead_caps(fc, v);
	if ((v = config_get("SEQ_SENDER_CAP")))
		sender_caps(fc, v);
}

void
freqcaps_free(struct freqcaps *fc)
{
	for (int i = 0; i < fc->nsenders; i++)
		free(fc->senders[i].sender);
	free(fc->senders);
	memset(fc, 0, sizeof *fc);
}

void
sender_mailbox(const char *from, char *out, size_t size)
{
	const char *lt, *gt;
	size_t n = strlen(from), i;
	if ((lt = strrchr(from, '<')) && (gt = strchr(lt, '>'))) {
		from = lt + 1;
		n = (size_t)(gt - from);
	}
	for (i = 0; i < n && i + 1 < size; i++)
		out[i] = (char)tolower((unsigned char)from[i]);
	out[i] = '\0';
}

/* A sender may be "Name <address>": it is named by the whole or by the
 * address. */
static int
names_sender(const char *name, const char *from)
{
	char mailbox[256];
	if (strcasecmp(name, from) == 0)
		return 1;
	sender_mailbox(from, mailbox, sizeof mailbox);
	return strcasecmp(name, mailbox) == 0;
}

long
freqcaps_sender(const struct freqcaps *fc, const char *from)
{
	if (!from)
		return 0;
	for (int i = 0; i < fc->nsenders; i++)
		if (names_sender(fc->senders[i].sender, from))
			return fc->senders[i].limit;
	return fc->sender_default;
}

void
deferral_record(struct db *db, int64_t enrollment, const char *step,
    const char *channel, const char *what, const char *reason, int64_t due,
    int64_t until, int64_t now)
{
	/* a deferral met again, by a run that read the enrollment before
	 * another moved it, is the same deferral */
	sqlite3_stmt *st = db_stmt(db, "INSERT INTO deferrals (enrollment_id, "
	    "step, channel, what, reason, due_at, until_at, at) VALUES (?1, "
	    "?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING");
	bind_int(st, 1, enrollment);
	bind_text(st, 2, step);
	bind_text(st, 3, channel);
	bind_text(st, 4, what);
	bind_text(st, 5, reason);
	bind_int(st, 6, due);
	bind_int(st, 7, until);
	bind_int(st, 8, now);
	db_run(db, st);
}
