/*
 * progress: the line a long command keeps redrawing on stderr while it
 * works ("\rseq-lead: 12000 lines read"), when stderr is a terminal.  Under
 * cron, or with stderr sent to a file, nothing at all is written.
 *
 * The first update past zero draws at once and later ones at most once a
 * second, so the line costs nothing per record.  progress_done() ends the line with
 * the final count, and progress_clear() wipes it, for a command that
 * prints a summary of its own or a warning in its place; both do nothing
 * when no line was drawn.  Every function takes NULL and then does nothing,
 * so that library code can be handed no progress at all.
 */
#ifndef SEQ_PROGRESS_H
#define SEQ_PROGRESS_H

#include <time.h>

/* The command's own records travel on stdin or stdout: a line redrawn in
 * place would land between the records typed at a terminal, or between
 * those it prints to one, and they show the progress themselves.  Nor is
 * there a line when they come from or go to a pipe: the other end of a
 * pipeline may draw its own (seq-send does), and two would garble each
 * other. */
enum {
	PROGRESS_IN = 1,	/* no line while stdin is a terminal or a pipe */
	PROGRESS_OUT = 2	/* no line while stdout is a terminal or a pipe */
};

struct progress {
	const char *prog;	/* "seq-lead" */
	const char *what;	/* after the count: "lines read" */
	long done, total;	/* total 0: not known */
	int tty;		/* decided once, by progress_start */
	int shown;		/* a line was drawn since the start */
	int width;		/* of the line on the terminal now; 0: none */
	time_t drawn_at;
};

void progress_start(struct progress *, const char *prog, const char *what,
    long total, int flags);
/* done so far; the line is redrawn if a second has passed */
void progress_set(struct progress *, long done);
void progress_add(struct progress *, long n);
void progress_done(struct progress *);
void progress_clear(struct progress *);

#endif
