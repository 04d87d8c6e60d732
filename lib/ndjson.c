/*
 * ndjson: strict line reading.  A line is one JSON object, UTF-8, no NUL
 * bytes, at most max_line bytes; anything else is rejected with its line
 * number and the loop goes on.  Memory is bounded by max_line whatever the
 * input: an overlong line is skipped, not buffered.
 */
#include "ndjson.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonmem.h"

#define LINGER_MS 5

void
ndjson_reject(struct ndjson *nj, long line, const char *fmt, ...)
{
	va_list ap;
	progress_clear(nj->progress);
	fprintf(stderr, "%s: line %ld: ", nj->prog, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	nj->rejected++;
}

/* A line the loop itself refuses.  The batch before it ends first, so
 * that what its records have to say comes before this line's reason. */
static void
loop_reject(struct ndjson *nj, const char *reason)
{
	if (nj->pending) {
		nj->flush(nj, nj->arg);
		nj->pending = 0;
	}
	ndjson_reject(nj, nj->lines, "%s", reason);
}

static void
one_line(struct ndjson *nj, char *s, size_t len)
{
	json_error_t e;
	json_t *rec;

	nj->lines++;
	if (len && s[len - 1] == '\r')
		len--;
	if (len == 0) {
		loop_reject(nj, "empty line");
		return;
	}
	if (memchr(s, '\0', len)) {
		loop_reject(nj, "NUL byte in line");
		return;
	}
	jsonmem_carve(1);
	rec = json_loadb(s, len, JSON_REJECT_DUPLICATES, &e);
	jsonmem_carve(0);
	if (!rec) {
		char why[256];
		snprintf(why, sizeof why, "invalid JSON at column %d: %s",
		    e.column, e.text);
		loop_reject(nj, why);
		return;
	}
	nj->raw = s;
	nj->raw_len = len;
	if (!json_is_object(rec) && !(nj->arrays && json_is_array(rec)))
		loop_reject(nj, nj->arrays ? "not a JSON object or array" :
		    "not a JSON object");
	else if (nj->record(nj, rec, nj->lines, nj->arg) == 0) {
		nj->records++;
		nj->pending++;
	}
	nj->raw = NULL;
	json_decref(rec);
}

/*
 * A pipe holds 64 KiB unless asked for more: some 160 jobs.  In
 * seq-due | seq-send | seq-log each command writes under the one write
 * lock in turn, and with so small a pipe a command soon blocks on a full
 * pipe while its reader holds the lock, so that most of the time one of
 * the three runs.  1 MiB, the most an unprivileged process may ask for
 * (fs.pipe-max-size), lets each run ahead while another writes: a third
 * faster end to end (bench/pipeline).  Nothing for a file or a terminal,
 * nor where there is no F_SETPIPE_SZ (it is Linux's).
 */
static void
widen_pipe(int fd)
{
#ifdef F_SETPIPE_SZ
	int size = fcntl(fd, F_GETPIPE_SZ);
	if (size > 0 && size < 1 << 20)
		(void)fcntl(fd, F_SETPIPE_SZ, 1 << 20);
#else
	(void)fd;
#endif
}

/*
 * Whether more input arrives within ms.  A batch lingers this long for more
 * records before it ends: every batch is a commit, and a commit is an fsync,
 * so a pipe that delivers records a few at a time would otherwise cost one
 * fsync per few records.
 */
static int
readable_within(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, ms) > 0;
}

long
ndjson_run(struct ndjson *nj, int fd)
{
	size_t max_line = nj->max_line ? nj->max_line : 1 << 20;
	size_t max_batch = nj->max_batch ? nj->max_batch : 1000;
	size_t cap = 1 << 16, start = 0, end = 0;
	char *b = xmalloc(cap);
	int skipping = 0;	/* inside an overlong line */
	char too_long[64];

	snprintf(too_long, sizeof too_long, "line longer than %zu bytes; "
	    "skipped", max_line);
	widen_pipe(fd);

	for (;;) {
		char *nl = memchr(b + start, '\n', end - start);
		if (nl) {
			size_t len = (size_t)(nl - (b + start));
			if (skipping)
				skipping = 0;
			else if (len > max_line) {
				nj->lines++;
				loop_reject(nj, too_long);
			} else
				one_line(nj, b + start, len);
			start += len + 1;
			progress_set(nj->progress, nj->lines);
			if (nj->pending >= max_batch) {
				nj->flush(nj, nj->arg);
				nj->pending = 0;
			}
			continue;
		}
		if (!skipping && end - start > max_line) {
			nj->lines++;
			loop_reject(nj, too_long);
			skipping = 1;
		}
		if (skipping)
			start = end;
		memmove(b, b + start, end - start);
		end -= start;
		start = 0;
		if (end + 4096 > cap) {
			cap *= 2;
			b = xrealloc(b, cap);
		}
		if (nj->pending && !readable_within(fd, LINGER_MS)) {
			nj->flush(nj, nj->arg);
			nj->pending = 0;
		}
		ssize_t n = read(fd, b + end, cap - end);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err(EXIT_IO, "reading input");
		if (n == 0) {
			if (end > 0 && !skipping && end > max_line) {
				nj->lines++;
				loop_reject(nj, too_long);
			} else if (end > 0 && !skipping)
				one_line(nj, b, end);
			progress_set(nj->progress, nj->lines);
			break;
		}
		end += (size_t)n;
	}
	if (nj->pending)
		nj->flush(nj, nj->arg);
	nj->pending = 0;
	free(b);
#if defined(__SANITIZE_ADDRESS__)
	/* LeakSanitizer sees chunks, not the records carved from them */
	if (jsonmem_live()) {
		fprintf(stderr, "%s: internal: %zu blocks of parsed records "
		    "never freed\n", nj->prog, jsonmem_live());
		abort();
	}
#endif
	return nj->rejected;
}

void
json_line(struct buf *out, const json_t *rec)
{
	size_t n = json_dumpb(rec, NULL, 0, JSON_COMPACT);
	if (out->len + n + 2 > out->cap) {
		buf_add(out, "", 0);
		size_t cap = out->cap;
		while (cap < out->len + n + 2)
			cap *= 2;
		out->p = xrealloc(out->p, cap);
		out->cap = cap;
	}
	json_dumpb(rec, out->p + out->len, n, JSON_COMPACT);
	out->len += n;
	buf_addc(out, '\n');
}

void
emit(struct buf *out)
{
	static int widened;
	if (!widened) {
		widened = 1;
		widen_pipe(STDOUT_FILENO);
	}
	if (out->len && fwrite(out->p, 1, out->len, stdout) != out->len)
		err(EXIT_IO, "writing output failed");
	if (fflush(stdout) != 0)
		err(EXIT_IO, "writing output failed");
	out->len = 0;
}

int
field_str(const json_t *o, const char *key, const char **out)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = json_string_value(v);
	return 1;
}

int
field_int(const json_t *o, const char *key, long long *out)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return -1;
	*out = json_integer_value(v);
	return 1;
}
