/*
 * domains: see domains.h.
 */
#include "domains.h"

#include <ctype.h>
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
load(struct domain_list *l)
{
	char *path = xasprintf("%s/%s", share_dir(), l->file);
	FILE *f = fopen(path, "r");
	char *line = NULL, *t, *end;
	size_t cap = 0, alloc = 0;

	if (!f)
		err(EXIT_CONFIG, "%s (set SEQ_SHARE to the share directory)",
		    path);
	while (getline(&line, &cap, f) > 0) {
		for (t = line; isspace((unsigned char)*t); t++)
			;
		for (end = t + strlen(t); end > t &&
		    isspace((unsigned char)end[-1]); end--)
			;
		*end = '\0';
		if (!*t || *t == '#')
			continue;
		for (char *q = t; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		if (l->n == alloc) {
			alloc = alloc ? alloc * 2 : 256;
			l->v = xrealloc(l->v, alloc * sizeof *l->v);
		}
		l->v[l->n++] = xstrdup(t);
	}
	free(line);
	fclose(f);
	free(path);
	qsort(l->v, l->n, sizeof *l->v, cmpstr);
	if (!l->v)
		l->v = xmalloc(sizeof *l->v);
}

int
domain_listed(struct domain_list *l, const char *domain)
{
	if (!l->v)
		load(l);
	return bsearch(&domain, l->v, l->n, sizeof *l->v, cmpstr) != NULL;
}
