/*
 * jsonw: see jsonw.h.  Escapes only what JSON requires; UTF-8 passes
 * through as it came.
 */
#include "jsonw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
jw_quote(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;
	buf_addc(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_add(b, run, (size_t)(s - run));
		run = s + 1;
		switch (c) {
		case '"': buf_add(b, "\\\"", 2); break;
		case '\\': buf_add(b, "\\\\", 2); break;
		case '\n': buf_add(b, "\\n", 2); break;
		case '\r': buf_add(b, "\\r", 2); break;
		case '\t': buf_add(b, "\\t", 2); break;
		default: {
			char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			buf_add(b, u, 6);
		}
		}
	}
	buf_add(b, run, (size_t)(s - run));
	buf_addc(b, '"');
}

void
jw_open(struct jsonw *w, struct buf *b)
{
	w->b = b;
	w->first = 1;
	buf_addc(b, '{');
}

void
jw_close(struct jsonw *w)
{
	buf_add(w->b, "}\n", 2);
}

/* A key is always one of the callers' literals, which need no escapes. */
static void
key(struct jsonw *w, const char *k)
{
	size_t n = strlen(k);
	if (w->b->len + n + 5 > w->b->cap)
		buf_grow(w->b, n + 4);
	char *p = w->b->p + w->b->len;
	if (!w->first)
		*p++ = ',';
	w->first = 0;
	*p++ = '"';
	memcpy(p, k, n);
	p += n;
	*p++ = '"';
	*p++ = ':';
	*p = '\0';
	w->b->len = (size_t)(p - w->b->p);
}

void
jw_str(struct jsonw *w, const char *k, const char *v)
{
	key(w, k);
	if (v)
		jw_quote(w->b, v);
	else
		buf_add(w->b, "null", 4);
}

/* by hand: printf's format machinery was 7% of seq-send's instructions */
void
jw_int(struct jsonw *w, const char *k, int64_t v)
{
	char n[24], *p = n + sizeof n;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	key(w, k);
	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	buf_add(w->b, p, (size_t)(n + sizeof n - p));
}

void
jw_real(struct jsonw *w, const char *k, double v)
{
	char n[32];
	key(w, k);
	int len = snprintf(n, sizeof n, "%.15g", v);
	if (strtod(n, NULL) != v)
		len = snprintf(n, sizeof n, "%.17g", v);
	buf_add(w->b, n, (size_t)len);
}

void
jw_null(struct jsonw *w, const char *k)
{
	key(w, k);
	buf_add(w->b, "null", 4);
}

void
jw_raw(struct jsonw *w, const char *k, const char *json, size_t n)
{
	key(w, k);
	buf_add(w->b, json, n);
}

