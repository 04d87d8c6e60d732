/*
 * seqdef: a sequence definition (sequence(5)).  Parsing validates all of it
 * and collects every problem with its JSON path, so an author fixes a
 * definition in one pass.  A parsed definition borrows its strings from the
 * JSON document it holds.
 */
#ifndef SEQ_SEQDEF_H
#define SEQ_SEQDEF_H

#include <jansson.h>
#include <stdint.h>

enum step_type { ST_EMAIL, ST_SMS, ST_VOICE, ST_WAIT, ST_BRANCH, ST_TASK };
enum { CH_EMAIL, CH_SMS, CH_VOICE, CH_COUNT };
extern const char *const channel_names[CH_COUNT];
extern const char *const step_type_names[];

#define STEP_END (-1)
#define MAX_VARIANTS 5

/* An A/B variant of a message step: what it leaves NULL comes from the
 * step. */
struct variant {
	const char *name;		/* "A".."E" unless named */
	const char *subject, *text, *html, *say;
	int weight;			/* 1..100 */
};

struct step {
	const char *id;
	enum step_type type;
	const char *subject, *text, *html, *say;
	int64_t duration;		/* wait */
	const char *if_event;		/* branch */
	int if_step;
	int64_t within;			/* 0: none */
	int next, then_step, else_step;	/* step indices or STEP_END */
	int on_fail_continue;
	int nvariants;			/* 0, or 2..MAX_VARIANTS */
	struct variant variants[MAX_VARIANTS];
	int weight_sum;
	int thread;			/* email: index of the email it answers, or -1 */
	const char *title, *notes;	/* task: templates */
	const char *task_kind;		/* task: "call", "linkedin", ...; NULL */
};

enum reenroll { REENROLL_AFTER_FINISHED, REENROLL_NEVER, REENROLL_ALWAYS };
enum catch_up { CATCH_UP_SHIFT, CATCH_UP_SEND };

struct window {
	int days;		/* bit 0 = Sunday .. bit 6 = Saturday */
	int start, end;		/* minutes after midnight */
};

struct seqdef {
	json_t *doc;
	const char *name;
	const char *timezone;	/* NULL: UTC */
	int has_window;
	struct window window;
	int has_quiet;
	struct window quiet;	/* "quiet_hours": every day, start to end */
	json_t *exit_on;	/* array of event types, may be empty */
	char *exit_on_text;	/* the same as JSON text, for SQL; NULL if none */
	const char *from[CH_COUNT];
	json_t *caps;		/* object: channel or sender -> per day */
	int max_attempts;
	/* enrollment rules (seq-enroll) */
	enum reenroll reenroll;
	int exclusive;
	int64_t min_gap;	/* 0: none */
	json_t *require_badges;	/* array of badge names, or NULL */
	int min_quality;	/* -1: none */
	int stop_on_company_reply;
	enum catch_up catch_up;
	const char *holidays;	/* a calendar of share/holidays/, or NULL */
	struct step *steps;
	int nsteps;
};

struct problems {
	char **msg;
	int n, cap;
};
void problems_free(struct problems *);

/* Takes a reference to doc.  0 if valid; otherwise -1 and every problem in
 * *p (when p is not NULL). */
int seqdef_parse(json_t *doc, struct seqdef *, struct problems *p);
void seqdef_free(struct seqdef *);
int seqdef_step(const struct seqdef *, const char *id);	/* index or -1 */
/* 1 to 64 letters, digits, '.', '_' or '-': a name, a step's id. */
int seqdef_id_ok(const char *);
int step_channel(const struct step *);	/* CH_* or -1 */
/* A built-in event type, or a name of one's own (meeting_booked) that
 * seq-event --from ndjson or seq-task records. */
int event_type_known(const char *);
int event_type_builtin(const char *);

/* The opening of the window at or after t, in zone (t if inside now). */
int64_t window_next_open(const struct window *, const char *zone, int64_t t);
/* "HH:MM-HH:MM", start before end, as a window of every day; 0, or -1 if
 * s is not such a range. */
int hours_parse(const char *s, struct window *);

#endif
