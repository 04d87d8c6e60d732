/*
 * config: see config.h.  The file holds lines NAME=value; blank lines and
 * lines starting with # are skipped.  The value runs to the end of the
 * line, as written: no quotes, no escapes, no trailing-space trimming, so
 * that a secret is never altered on its way in.
 */
#include "config.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static const char *const names[] = {
	"SEQ_EMAIL_ADAPTER", "SEQ_SMS_ADAPTER", "SEQ_VOICE_ADAPTER",
	"SENDGRID_API_KEY", "POSTMARK_SERVER_TOKEN", "TELNYX_API_KEY",
	"SEQ_SMTP_URL", "SEQ_SMTP_USER", "SEQ_SMTP_PASSWORD",
	"SEQ_SENDGRID_URL", "SEQ_POSTMARK_URL", "SEQ_TELNYX_URL",
	"SEQ_EMAIL_FROM", "SEQ_SMS_FROM", "SEQ_VOICE_FROM",
	"SEQ_TELNYX_CONNECTION_ID", "SEQ_TELNYX_MESSAGING_PROFILE_ID",
	"SEQ_TELNYX_WEBHOOK_URL", "SEQ_POSTMARK_STREAM", "SEQ_DELIVERY",
	"SEQ_SPOOL", "SEQ_SENDGRID_WEBHOOK_KEY", "SEQ_TELNYX_PUBLIC_KEY",
	"SEQ_POSTMARK_WEBHOOK_USER", "SEQ_POSTMARK_WEBHOOK_PASSWORD",
	"SEQ_WEBHOOK_TOLERANCE", "SEQ_WEBHOOK_MAX_BYTES",
	"SEQ_UNSUBSCRIBE_URL", "SEQ_UNSUBSCRIBE_SECRET",
	"SEQ_UNSUBSCRIBE_MAILTO", "SEQ_UNSUBSCRIBE_TTL", "SEQ_KEY_FILE",
	"SEQ_QUIET_HOURS", "SEQ_PRICES", "SEQ_LEAD_CAP", "SEQ_SENDER_CAP",
	"SEQ_HOLIDAYS_DIR", "SEQ_OOO_DAYS",
};
#define NNAMES (sizeof names / sizeof names[0])

static const char *const secrets[] = {
	"SENDGRID_API_KEY", "POSTMARK_SERVER_TOKEN", "TELNYX_API_KEY",
	"SEQ_SMTP_PASSWORD", "SEQ_POSTMARK_WEBHOOK_PASSWORD",
	"SEQ_UNSUBSCRIBE_SECRET",
};

static char *file_values[NNAMES];

static int
name_index(const char *name, size_t len)
{
	for (size_t i = 0; i < NNAMES; i++)
		if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
			return (int)i;
	return -1;
}

void
config_load(const char *prog, const char *path)
{
	struct stat sb;
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0;
	int fd;

	if (!path && (path = getenv("SEQ_CONFIG")) && !*path)
		path = NULL;
	if (!path)
		return;
	/* O_NOFOLLOW is not used: a link to a private file is fine, and
	 * fstat below judges the file itself */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		err(EXIT_CONFIG, "%s", path);
	if (fstat(fd, &sb) != 0)
		err(EXIT_CONFIG, "%s", path);
	if (!S_ISREG(sb.st_mode))
		errx(EXIT_CONFIG, "%s: not a regular file", path);
	if (sb.st_mode & 077)
		errx(EXIT_CONFIG, "%s: mode %04o lets others read or change it; "
		    "a file that holds secrets must be private (chmod 600 %s)",
		    path, (unsigned)(sb.st_mode & 07777), path);
	if (!(f = fdopen(fd, "r")))
		err(EXIT_CONFIG, "%s", path);
	while ((n = getline(&line, &cap, f)) >= 0) {
		char *eq;
		int i;
		lineno++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		/* taken as written, a carriage return would end every value */
		if (n > 0 && line[n - 1] == '\r')
			errx(EXIT_CONFIG, "%s: line %ld: ends in a carriage return "
			    "(CRLF line ends); save the file with LF line ends",
			    path, lineno);
		if (n == 0 || line[0] == '#')
			continue;
		if (!(eq = strchr(line, '=')) ||
		    (i = name_index(line, (size_t)(eq - line))) < 0)
			/* the line itself is not shown: it may hold a secret */
			errx(EXIT_CONFIG, "%s: line %ld: not NAME=value with a "
			    "name from %s(1)", path, lineno, prog);
		free(file_values[i]);
		file_values[i] = xstrdup(eq + 1);
	}
	if (ferror(f))
		err(EXIT_CONFIG, "%s", path);
	free(line);
	fclose(f);
}

const char *
config_get(const char *name)
{
	int i = name_index(name, strlen(name));
	const char *v = getenv(name);
	if (v && *v)
		return v;
	if (i < 0)
		return NULL;
	return file_values[i] && *file_values[i] ? file_values[i] : NULL;
}

char *
config_scrub(const char *s)
{
	enum { NSECRETS = sizeof secrets / sizeof secrets[0] };
	const char *v[NSECRETS];
	size_t n[NSECRETS];
	struct buf b = { 0 };
	const char *p = s, *end = s + strlen(s);

	for (size_t i = 0; i < NSECRETS; i++) {
		v[i] = config_get(secrets[i]);
		n[i] = v[i] ? strlen(v[i]) : 0;
	}
	while (*p) {
		size_t skip = 0, left = (size_t)(end - p);
		/* a secret of one or two characters would scrub everything
		 * and protect nothing.  The longest match wins: when one secret
		 * begins another, the shorter would leave the other's tail. */
		for (size_t i = 0; i < NSECRETS; i++)
			if (n[i] >= 3 && n[i] > skip &&
			    strncmp(p, v[i], n[i]) == 0)
				skip = n[i];
		/* s may have been cut short (a fixed buffer, a provider's
		 * own limit) through a secret: a tail that begins one is
		 * scrubbed too */
		for (size_t i = 0; !skip && i < NSECRETS; i++)
			if (n[i] >= 3 && left >= 3 && left < n[i] &&
			    strncmp(p, v[i], left) == 0)
				skip = left;
		if (skip) {
			buf_add(&b, "****", 4);
			p += skip;
		} else
			buf_addc(&b, *p++);
	}
	buf_addc(&b, '\0');
	return b.p;
}

void
config_free(void)
{
	for (size_t i = 0; i < NNAMES; i++) {
		free(file_values[i]);
		file_values[i] = NULL;
	}
}

/* by the recipient: the same lead always hears from the same number, which
 * matters to people and to carriers alike */
const char *
pick_sender(const char *list, const char *to, char *buf, size_t size)
{
	const char *p = list;
	size_t count = 0, pick;
	uint32_t h = 2166136261u;

	if (!list)
		return NULL;
	for (const char *s = to; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	for (;;) {
		p += strspn(p, " ,");
		if (!*p)
			break;
		count++;
		p += strcspn(p, " ,");
	}
	if (!count)
		return NULL;
	pick = h % count;
	p = list;
	for (;;) {
		size_t len;
		p += strspn(p, " ,");
		len = strcspn(p, " ,");
		if (pick-- == 0) {
			if (len >= size)
				len = size - 1;
			memcpy(buf, p, len);
			buf[len] = '\0';
			return buf;
		}
		p += len;
	}
}
