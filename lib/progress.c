/*
 * progress: see progress.h.
 */
#include "progress.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static int
is_pipe(int fd)
{
	struct stat sb;
	return fstat(fd, &sb) == 0 && S_ISFIFO(sb.st_mode);
}

void
progress_start(struct progress *p, const char *prog, const char *what,
    long total, int flags)
{
	if (!p)
		return;
	*p = (struct progress){ .prog = prog, .what = what, .total = total };
	p->tty = isatty(2) && !((flags & PROGRESS_IN) && (isatty(0) ||
	    is_pipe(0))) && !((flags & PROGRESS_OUT) && (isatty(1) ||
	    is_pipe(1)));
}

static void
draw(struct progress *p, const char *end)
{
	char line[200];
	int n;

	if (p->total > 0)
		n = snprintf(line, sizeof line, "%s: %ld of %ld %s", p->prog,
		    p->done, p->total, p->what);
	else
		n = snprintf(line, sizeof line, "%s: %ld %s", p->prog, p->done,
		    p->what);
	if (n < 0)
		return;
	if (n >= (int)sizeof line)
		n = (int)sizeof line - 1;
	/* blanks over whatever a longer line before left */
	fprintf(stderr, "\r%s%*s%s", line, p->width > n ? p->width - n : 0, "",
	    end);
	p->width = *end ? 0 : n;
	p->shown = 1;
	p->drawn_at = time(NULL);
}

void
progress_set(struct progress *p, long done)
{
	if (!p)
		return;
	p->done = done;
	if (p->tty && done > 0 && time(NULL) != p->drawn_at)
		draw(p, "");
}

void
progress_add(struct progress *p, long n)
{
	if (p)
		progress_set(p, p->done + n);
}

void
progress_done(struct progress *p)
{
	if (!p || !p->tty || !p->shown)
		return;
	draw(p, "\n");
	p->shown = 0;
}

void
progress_clear(struct progress *p)
{
	if (!p || !p->width)
		return;
	fprintf(stderr, "\r%*s\r", p->width, "");
	p->width = 0;
}
