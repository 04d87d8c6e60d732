/*
 * csv: see csv.h.  A malformed row is rejected whole, read to its end
 * with quotes respected, so none of it can turn into another row.
 */
#include "csv.h"

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct row {
	struct buf *f;
	int n, cap;
};

static void
row_reset(struct row *r)
{
	for (int i = 0; i < r->n; i++)
		r->f[i].len = 0;
	r->n = 0;
}

static struct buf *
row_next(struct row *r)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->f = xrealloc(r->f, (size_t)r->cap * sizeof *r->f);
		memset(r->f + r->n, 0, (size_t)(r->cap - r->n) * sizeof *r->f);
	}
	struct buf *b = &r->f[r->n++];
	b->len = 0;
	buf_add(b, "", 0);
	return b;
}

/* Reads one row; 1 on a row, 0 at the end, -1 on a malformed row (the
 * reason in *why). */
static int
read_row(FILE *in, struct row *r, long *line, const char **why)
{
	int c, quoted = 0, any = 0, overlong = 0;
	struct buf *f;

	row_reset(r);
	f = row_next(r);
	for (;;) {
		c = getc(in);
		if (c == EOF) {
			if (quoted) {
				*why = "a quoted field is never closed";
				return -1;
			}
			if (overlong) {
				*why = "field longer than 1 MiB";
				return -1;
			}
			return any ? 1 : 0;
		}
		any = 1;
		if (quoted) {
			if (c == '"') {
				int d = getc(in);
				if (d == '"')
					buf_addc(f, '"');
				else {
					quoted = 0;
					if (d != EOF)
						ungetc(d, in);
				}
			} else {
				if (c == '\n')
					(*line)++;
				buf_addc(f, (char)c);
			}
			if (f->len > (1 << 20)) {
				overlong = 1;	/* read on to the row's end */
				f->len = 0;
			}
			continue;
		}
		if (c == '"' && f->len == 0)
			quoted = 1;
		else if (c == ',')
			f = row_next(r);
		else if (c == '\n') {
			(*line)++;
			if (overlong) {
				*why = "field longer than 1 MiB";
				return -1;
			}
			if (f->len && f->p[f->len - 1] == '\r')
				f->p[--f->len] = '\0';
			return 1;
		} else if (c == '\0') {
			*why = "NUL byte in row";
			return -1;
		} else {
			buf_addc(f, (char)c);
			if (f->len > (1 << 20)) {
				overlong = 1;
				f->len = 0;
			}
		}
	}
}

static void
skip_line(FILE *in, long *line)
{
	int c;
	while ((c = getc(in)) != EOF && c != '\n')
		;
	(*line)++;
}

long
csv_run(struct ndjson *nj, int fd)
{
	FILE *in = fdopen(dup(fd), "r");
	struct row hdr = { 0 }, r = { 0 };
	long line = 0, start;
	const char *why = NULL;
	size_t max_batch = nj->max_batch ? nj->max_batch : 1000;
	int rc;

	if (!in)
		err(EXIT_IO, "reading input");
	if ((rc = read_row(in, &hdr, &line, &why)) <= 0) {
		if (rc < 0)
			ndjson_reject(nj, 1, "header: %s", why);
		else
			ndjson_reject(nj, 1, "no header line");
		goto out;
	}
	for (;;) {
		start = line + 1;
		rc = read_row(in, &r, &line, &why);
		if (rc == 0)
			break;
		nj->lines = line;
		progress_set(nj->progress, line);
		if (rc < 0) {
			ndjson_reject(nj, start, "%s", why);
			if (strcmp(why, "NUL byte in row") == 0)
				skip_line(in, &line);
			else if (strcmp(why, "a quoted field is never closed") == 0)
				break;
			continue;
		}
		if (r.n == 1 && r.f[0].len == 0)
			continue;	/* a blank line */
		if (r.n != hdr.n) {
			ndjson_reject(nj, start, "%d fields where the header has %d",
			    r.n, hdr.n);
			continue;
		}
		json_t *o = json_object();
		int bad = 0;
		for (int i = 0; i < r.n; i++)
			if (r.f[i].len && json_object_set_new(o, hdr.f[i].p,
			    json_stringn(r.f[i].p, r.f[i].len)) != 0)
				bad = 1;
		if (bad)
			ndjson_reject(nj, start, "not valid UTF-8");
		else if (json_object_size(o) == 0)
			ndjson_reject(nj, start, "empty row");
		else if (nj->record(nj, o, start, nj->arg) == 0) {
			nj->records++;
			nj->pending++;
		}
		json_decref(o);
		if (nj->pending >= max_batch) {
			nj->flush(nj, nj->arg);
			nj->pending = 0;
		}
	}
out:
	if (nj->pending)
		nj->flush(nj, nj->arg);
	nj->pending = 0;
	for (int i = 0; i < hdr.cap; i++)
		buf_free(&hdr.f[i]);
	for (int i = 0; i < r.cap; i++)
		buf_free(&r.f[i]);
	free(hdr.f);
	free(r.f);
	fclose(in);
	return nj->rejected;
}
