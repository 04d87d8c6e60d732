/*
 * The JSON floor of the pipeline: each line of a file parsed as seq-send
 * and seq-log parse theirs (jansson, strict, duplicates rejected) and
 * freed, nothing else.  Prints the seconds of CPU it took.
 */
#define _POSIX_C_SOURCE 200809L

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int
main(int argc, char **argv)
{
	FILE *f;
	char *b = NULL, *p, *nl;
	size_t cap = 0, len = 0, n;
	long lines = 0;
	struct timespec t0, t1;

	if (argc != 2 || !(f = fopen(argv[1], "rb"))) {
		fprintf(stderr, "usage: parse file\n");
		return 2;
	}
	do {
		if (len + 65536 > cap)
			b = realloc(b, cap = 2 * cap + 65536);
		if (!b)
			return 1;
		n = fread(b + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	for (p = b; p < b + len && (nl = memchr(p, '\n', (size_t)(b + len - p)));
	    p = nl + 1) {
		json_error_t e;
		json_t *rec = json_loadb(p, (size_t)(nl - p),
		    JSON_REJECT_DUPLICATES, &e);
		if (!rec) {
			fprintf(stderr, "parse: line %ld: %s\n", lines + 1, e.text);
			return 1;
		}
		json_decref(rec);
		lines++;
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	printf("%ld %.3f\n", lines, (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	free(b);
	return 0;
}
