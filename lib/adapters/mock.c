/*
 * mock: the default adapter.  Deterministic and instant, so pipelines and
 * tests run without a network:
 *   - an email whose local part starts with "fail", or a number ending in
 *     0000, fails permanently (HTTP 400);
 *   - "flaky" or a number ending in 0001 fails transiently (HTTP 503) on
 *     attempt 1 and is sent on later attempts;
 *   - everything else is sent, with provider id "mock-" plus the key.
 * With SEQ_MOCK_LOG=FILE every delivery is appended to FILE as one JSON line
 * (the job as delivered) before its outcome is reported: the file is the
 * evidence of what "left the machine".
 */
#include <err.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapter.h"
#include "ndjson.h"
#include "util.h"

struct mock {
	struct adapter a;
	int log_fd;
	struct buf line;
};

static int
local_starts(const char *to, const char *prefix)
{
	return strncasecmp(to, prefix, strlen(prefix)) == 0 && strchr(to, '@');
}

static int
number_ends(const char *to, const char *suffix)
{
	size_t n = strlen(to), m = strlen(suffix);
	return to[0] == '+' && n >= m && strcmp(to + n - m, suffix) == 0;
}

static int
prepare(struct adapter *a, struct delivery *d, CURL *easy)
{
	struct mock *m = (struct mock *)a;
	const struct job *j = d->job;
	int email = strcmp(j->channel, "email") == 0;

	(void)easy;
	if (m->log_fd >= 0) {
		m->line.len = 0;
		if (j->line)
			buf_add(&m->line, j->line, j->line_len);
		else
			json_line(&m->line, j->rec);
		if (m->line.p[m->line.len - 1] != '\n')
			buf_addc(&m->line, '\n');
		/* one write per line: O_APPEND keeps concurrent senders'
		 * lines whole */
		if (write(m->log_fd, m->line.p, m->line.len) != (ssize_t)m->line.len)
			err(EXIT_IO, "SEQ_MOCK_LOG");
	}
	d->latency_ms = 0;
	strcpy(d->metadata, "{\"simulated\":true}");
	if (email ? local_starts(j->to, "fail") : number_ends(j->to, "0000")) {
		d->status = "failed";
		d->http_status = 400;
		snprintf(d->error, sizeof d->error,
		    "mock: the recipient rejects every message");
	} else if ((email ? local_starts(j->to, "flaky") :
	    number_ends(j->to, "0001")) && j->attempt == 1) {
		d->status = "retry";
		d->http_status = 503;
		snprintf(d->error, sizeof d->error,
		    "mock: service unavailable, try again");
	} else {
		d->status = "sent";
		d->http_status = email ? 202 : 200;
		snprintf(d->provider_id, sizeof d->provider_id, "mock-%s", j->key);
	}
	return 0;
}

static void
close_mock(struct adapter *a)
{
	struct mock *m = (struct mock *)a;
	if (m->log_fd >= 0 && close(m->log_fd) != 0)
		err(EXIT_IO, "SEQ_MOCK_LOG");
	buf_free(&m->line);
	free(m);
}

struct adapter *
mock_adapter(void)
{
	struct mock *m = xcalloc(1, sizeof *m);
	const char *log = getenv("SEQ_MOCK_LOG");
	m->a.name = "mock";
	m->a.prepare = prepare;
	m->a.close = close_mock;
	m->log_fd = -1;
	if (log && *log &&
	    (m->log_fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0)
		err(EXIT_CONFIG, "SEQ_MOCK_LOG: %s", log);
	return &m->a;
}
