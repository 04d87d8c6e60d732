/*
 * template: see template.h.  Rendering never fails: a template was checked
 * when its definition was stored.
 */
#include "template.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static int
field_index(const char *name, size_t n)
{
	for (int i = 0; i < LF_COUNT; i++)
		if (strlen(lead_field_names[i]) == n &&
		    strncmp(lead_field_names[i], name, n) == 0)
			return i;
	return -1;
}

static int
name_known(const char *name, size_t n)
{
	if (field_index(name, n) >= 0)
		return 1;
	return n > 5 && strncmp(name, "attr.", 5) == 0;
}

/* Splits "{{ name | fallback }}" found at p; returns the end or NULL. */
static const char *
parse_tag(const char *p, const char **name, size_t *nlen, const char **fb,
    size_t *fblen)
{
	const char *end = strstr(p + 2, "}}");
	const char *q = p + 2, *bar;
	if (!end)
		return NULL;
	while (q < end && isspace((unsigned char)*q))
		q++;
	*name = q;
	while (q < end && (isalnum((unsigned char)*q) || *q == '_' || *q == '.' ||
	    *q == '-'))
		q++;
	*nlen = (size_t)(q - *name);
	while (q < end && isspace((unsigned char)*q))
		q++;
	*fb = NULL;
	*fblen = 0;
	if (q < end && *q == '|') {
		bar = q + 1;
		*fb = bar;
		*fblen = (size_t)(end - bar);
		q = end;
	}
	if (q != end)
		return p;	/* junk in the tag: the caller reports it */
	return end + 2;
}

static int
is_name(const char *name, size_t n, const char *want)
{
	return n == strlen(want) && strncmp(name, want, n) == 0;
}

char *
template_check(const char *tpl, unsigned allowed)
{
	for (const char *p = strstr(tpl, "{{"); p; p = strstr(p, "{{")) {
		const char *name, *fb;
		size_t n, fbl;
		const char *end = parse_tag(p, &name, &n, &fb, &fbl);
		if (!end)
			return xasprintf("'{{' at offset %zu is never closed",
			    (size_t)(p - tpl));
		if (end == p || n == 0)
			return xasprintf("malformed merge field at offset %zu",
			    (size_t)(p - tpl));
		if (is_name(name, n, "unsubscribe_url")) {
			if (!(allowed & TPL_UNSUBSCRIBE_URL))
				return xasprintf("the merge field "
				    "'unsubscribe_url' belongs only in an email "
				    "step's text and html");
		} else if (!name_known(name, n))
			return xasprintf("unknown merge field '%.*s'", (int)n,
			    name);
		p = end;
	}
	return NULL;
}

int
template_uses(const char *tpl, const char *want)
{
	for (const char *p = tpl ? strstr(tpl, "{{") : NULL; p;
	    p = strstr(p, "{{")) {
		const char *name, *fb, *end;
		size_t n, fbl;
		if (!(end = parse_tag(p, &name, &n, &fb, &fbl)) || end == p) {
			p += 2;
			continue;
		}
		if (is_name(name, n, want))
			return 1;
		p = end;
	}
	return 0;
}

static void
add_value(struct buf *out, const char *s, size_t n, int html)
{
	if (!html) {
		buf_add(out, s, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		switch (s[i]) {
		case '&': buf_adds(out, "&amp;"); break;
		case '<': buf_adds(out, "&lt;"); break;
		case '>': buf_adds(out, "&gt;"); break;
		case '"': buf_adds(out, "&quot;"); break;
		case '\'': buf_adds(out, "&#39;"); break;
		default: buf_addc(out, s[i]);
		}
}

void
template_render(const char *tpl, const struct lead *l,
    const char *unsubscribe_url, int html, struct buf *out)
{
	const char *p = tpl, *tag;
	char num[32];
	while ((tag = strstr(p, "{{"))) {
		const char *name, *fb, *value = NULL;
		size_t n, fbl;
		const char *end = parse_tag(tag, &name, &n, &fb, &fbl);
		buf_add(out, p, (size_t)(tag - p));
		if (!end || end == tag) {	/* checked at store time */
			buf_add(out, tag, 2);
			p = tag + 2;
			continue;
		}
		int i = field_index(name, n);
		if (i >= 0)
			value = l->f[i];
		else if (is_name(name, n, "unsubscribe_url"))
			value = unsubscribe_url;
		else if (n > 5 && strncmp(name, "attr.", 5) == 0) {
			char key[256];
			snprintf(key, sizeof key, "%.*s", (int)(n - 5), name + 5);
			json_t *v = json_object_get(l->attributes, key);
			if (json_is_string(v))
				value = json_string_value(v);
			else if (json_is_integer(v)) {
				snprintf(num, sizeof num, "%lld",
				    (long long)json_integer_value(v));
				value = num;
			} else if (json_is_real(v)) {
				snprintf(num, sizeof num, "%g", json_real_value(v));
				value = num;
			}
		}
		if (value && *value)
			add_value(out, value, strlen(value), html);
		else if (fb)
			add_value(out, fb, fbl, html);
		p = end;
	}
	buf_adds(out, p);
}
