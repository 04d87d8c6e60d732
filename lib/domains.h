/*
 * domains: the lists of email domains that seqtools ships in its share
 * directory (disposable-domains.txt, freemail-domains.txt), one domain a
 * line, '#' comments.  A list is read on its first use, lower-cased and
 * sorted, and kept for the life of the process.
 */
#ifndef SEQ_DOMAINS_H
#define SEQ_DOMAINS_H

#include <stddef.h>

struct domain_list {
	const char *file;	/* its name in the share directory */
	char **v;		/* NULL until read */
	size_t n;
};

/* 1 if domain, in lower case, is on the list.  A list that cannot be read
 * exits with EXIT_CONFIG, naming it and SEQ_SHARE. */
int domain_listed(struct domain_list *, const char *domain);

#endif
