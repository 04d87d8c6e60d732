/*
 * seqdef: parsing and validation of sequence definitions.  Unknown keys are
 * problems too: a misspelt "within" must not silently mean "no window".
 */
#include "seqdef.h"

#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "holiday.h"
#include "lead.h"
#include "template.h"
#include "tzone.h"
#include "util.h"

const char *const channel_names[CH_COUNT] = { "email", "sms", "voice" };
const char *const step_type_names[] = { "email", "sms", "voice", "wait",
	"branch", "task" };

static const char *const event_types[] = { "delivered", "open", "click",
	"reply", "bounce", "unsubscribe", "resubscribe", "help", "complaint",
	"answered", "voicemail", "no-answer", "converted", "auto_reply" };

#define MAX_STEPS 1000

int
event_type_builtin(const char *s)
{
	for (size_t i = 0; i < sizeof event_types / sizeof *event_types; i++)
		if (strcmp(event_types[i], s) == 0)
			return 1;
	return 0;
}

/* Lower case, so that "Reply" is refused rather than never matched. */
int
event_type_known(const char *s)
{
	size_t n = strlen(s);
	if (event_type_builtin(s))
		return 1;
	if (n == 0 || n > 64 || !islower((unsigned char)s[0]))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) &&
		    s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

void
problems_free(struct problems *p)
{
	for (int i = 0; i < p->n; i++)
		free(p->msg[i]);
	free(p->msg);
	memset(p, 0, sizeof *p);
}

struct ctx {
	struct problems *p;
	int count;
};

static void
problem(struct ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
problem(struct ctx *c, const char *fmt, ...)
{
	va_list ap;
	char *s;
	c->count++;
	if (!c->p)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = xstrdup("(out of memory)");
	va_end(ap);
	if (c->p->n == c->p->cap) {
		c->p->cap = c->p->cap ? c->p->cap * 2 : 16;
		c->p->msg = xrealloc(c->p->msg, c->p->cap * sizeof *c->p->msg);
	}
	c->p->msg[c->p->n++] = s;
}

int
seqdef_id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' &&
		    s[i] != '.')
			return 0;
	return 1;
}

static void
only_keys(struct ctx *c, json_t *o, const char *path, const char *const *keys)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		int ok = 0;
		for (const char *const *q = keys; *q; q++)
			if (strcmp(*q, k) == 0)
				ok = 1;
		if (!ok)
			problem(c, "%s.%s: unknown key", path, k);
	}
}

/* A string member: NULL if absent; a problem if present but not a
 * non-empty string. */
static const char *
str_member(struct ctx *c, json_t *o, const char *key, const char *path,
    int required)
{
	json_t *v = json_object_get(o, key);
	if (!v) {
		if (required)
			problem(c, "%s.%s: missing", path, key);
		return NULL;
	}
	if (!json_is_string(v) || !*json_string_value(v)) {
		problem(c, "%s.%s: must be a non-empty string", path, key);
		return NULL;
	}
	return json_string_value(v);
}

static int64_t
duration_member(struct ctx *c, json_t *o, const char *key, const char *path,
    int required)
{
	const char *s = str_member(c, o, key, path, required);
	int64_t d;
	if (!s)
		return 0;
	if (parse_duration(s, &d) != 0 || d <= 0) {
		problem(c, "%s.%s: '%s' is not a duration like 30m, 2d or 1w",
		    path, key, s);
		return 0;
	}
	return d;
}

static void
template_member(struct ctx *c, json_t *o, const char *key, const char *path,
    int required, unsigned allowed, const char **out)
{
	*out = str_member(c, o, key, path, required);
	if (*out) {
		char *why = template_check(*out, allowed);
		if (why) {
			problem(c, "%s.%s: %s", path, key, why);
			free(why);
		}
	}
}

static int
hhmm(const char *s)
{
	if (strlen(s) != 5 || !isdigit((unsigned char)s[0]) ||
	    !isdigit((unsigned char)s[1]) || s[2] != ':' ||
	    !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
		return -1;
	int h = (s[0] - '0') * 10 + s[1] - '0', m = (s[3] - '0') * 10 + s[4] - '0';
	if (h > 24 || m > 59 || (h == 24 && m))
		return -1;
	return h * 60 + m;
}

int
hours_parse(const char *s, struct window *w)
{
	char start[6], end[6];
	int a, b;

	if (strlen(s) != 11 || s[5] != '-')
		return -1;
	memcpy(start, s, 5);
	start[5] = '\0';
	memcpy(end, s + 6, 5);
	end[5] = '\0';
	if ((a = hhmm(start)) < 0 || (b = hhmm(end)) < 0 || a >= b)
		return -1;
	w->days = 0x7f;
	w->start = a;
	w->end = b;
	return 0;
}

/* 1 if s is already in its normal form; frees n. */
static int
same_normal(const char *s, char *n)
{
	int same = n && strcmp(s, n) == 0;
	free(n);
	return same;
}

static void
parse_window(struct ctx *c, json_t *w, struct seqdef *d)
{
	static const char *const keys[] = { "days", "start", "end", NULL };
	static const char *const days[] = { "sun", "mon", "tue", "wed", "thu",
		"fri", "sat" };
	json_t *v;
	size_t i;

	if (!json_is_object(w)) {
		problem(c, "$.window: must be an object");
		return;
	}
	only_keys(c, w, "$.window", keys);
	d->has_window = 1;
	d->window.days = 0x7f;
	d->window.start = 0;
	d->window.end = 24 * 60;
	if ((v = json_object_get(w, "days"))) {
		d->window.days = 0;
		if (!json_is_array(v) || json_array_size(v) == 0)
			problem(c, "$.window.days: must be a non-empty array "
			    "of mon, tue, wed, thu, fri, sat, sun");
		else
			for (i = 0; i < json_array_size(v); i++) {
				const char *s = json_string_value(json_array_get(v, i));
				int k = -1;
				for (int j = 0; s && j < 7; j++)
					if (strcmp(days[j], s) == 0)
						k = j;
				if (k < 0)
					problem(c, "$.window.days[%zu]: not one of "
					    "mon, tue, wed, thu, fri, sat, sun", i);
				else
					d->window.days |= 1 << k;
			}
	}
	const char *s;
	if ((s = str_member(c, w, "start", "$.window", 0)) &&
	    (d->window.start = hhmm(s)) < 0)
		problem(c, "$.window.start: '%s' is not a time like 09:00", s);
	if ((s = str_member(c, w, "end", "$.window", 0)) &&
	    (d->window.end = hhmm(s)) < 0)
		problem(c, "$.window.end: '%s' is not a time like 17:00", s);
	if (d->window.start >= 0 && d->window.end >= 0 &&
	    d->window.start >= d->window.end)
		problem(c, "$.window: start must be before end");
}

static int
target(struct ctx *c, struct seqdef *d, json_t *o, const char *key,
    const char *path, int dflt)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return dflt;
	if (!json_is_string(v)) {
		problem(c, "%s.%s: must be a step id or \"end\"", path, key);
		return dflt;
	}
	if (strcmp(json_string_value(v), "end") == 0)
		return STEP_END;
	int k = seqdef_step(d, json_string_value(v));
	if (k < 0)
		problem(c, "%s.%s: no step '%s'", path, key, json_string_value(v));
	return k < 0 ? dflt : k;
}

/* 1 when every variant sets the member at off, so the step need not. */
static int
variants_have(const struct step *s, size_t off)
{
	if (s->nvariants == 0)
		return 0;
	for (int i = 0; i < s->nvariants; i++)
		if (!*(const char *const *)((const char *)&s->variants[i] + off))
			return 0;
	return 1;
}

static void
parse_variants(struct ctx *c, struct step *s, json_t *o, const char *path)
{
	static const char *const keys[][6] = {
		[ST_EMAIL] = { "name", "weight", "subject", "text", "html", NULL },
		[ST_SMS] = { "name", "weight", "text", NULL },
		[ST_VOICE] = { "name", "weight", "say", NULL },
	};
	json_t *a = json_object_get(o, "variants"), *v;
	char vpath[96];
	size_t i;

	if (!a)
		return;
	if (!json_is_array(a) || json_array_size(a) < 2 ||
	    json_array_size(a) > MAX_VARIANTS) {
		problem(c, "%s.variants: must be an array of 2 to %d variants",
		    path, MAX_VARIANTS);
		return;
	}
	json_array_foreach(a, i, v) {
		struct variant *x = &s->variants[i];
		snprintf(vpath, sizeof vpath, "%s.variants[%zu]", path, i);
		if (!json_is_object(v)) {
			problem(c, "%s: a variant is an object", vpath);
			continue;
		}
		only_keys(c, v, vpath, keys[s->type]);
		static const char *const letters[] = { "A", "B", "C", "D", "E" };
		x->name = letters[i];
		const char *name = str_member(c, v, "name", vpath, 0);
		if (name && !seqdef_id_ok(name))
			problem(c, "%s.name: use 1 to 64 letters, digits, '.', "
			    "'_' or '-'", vpath);
		else if (name)
			x->name = name;
		for (size_t j = 0; j < i; j++)
			if (strcmp(s->variants[j].name, x->name) == 0)
				problem(c, "%s.name: '%s' is used twice", vpath,
				    x->name);
		json_t *w = json_object_get(v, "weight");
		x->weight = 1;
		if (w && (!json_is_integer(w) || json_integer_value(w) < 1 ||
		    json_integer_value(w) > 100))
			problem(c, "%s.weight: must be a whole number from 1 to "
			    "100", vpath);
		else if (w)
			x->weight = (int)json_integer_value(w);
		s->weight_sum += x->weight;
		if (s->type == ST_EMAIL) {
			template_member(c, v, "subject", vpath, 0, 0, &x->subject);
			template_member(c, v, "text", vpath, 0,
			    TPL_UNSUBSCRIBE_URL, &x->text);
			template_member(c, v, "html", vpath, 0,
			    TPL_UNSUBSCRIBE_URL, &x->html);
			if (!x->subject && !x->text && !x->html)
				problem(c, "%s: sets none of subject, text, "
				    "html", vpath);
		} else if (s->type == ST_SMS) {
			template_member(c, v, "text", vpath, 1, 0, &x->text);
		} else
			template_member(c, v, "say", vpath, 1, 0, &x->say);
	}
	s->nvariants = (int)json_array_size(a);
}

/* "thread": the id of an email step this one answers, never itself. */
static void
parse_thread(struct ctx *c, struct seqdef *d, struct step *s, json_t *o,
    const char *path)
{
	const char *t = str_member(c, o, "thread", path, 0);
	int k;
	if (!t)
		return;
	if ((k = seqdef_step(d, t)) < 0)
		problem(c, "%s.thread: no step '%s'", path, t);
	else if (d->steps[k].type != ST_EMAIL)
		problem(c, "%s.thread: '%s' is not an email step", path, t);
	else if (&d->steps[k] == s)
		problem(c, "%s.thread: a step cannot answer itself", path);
	/* so that a chain of replies ends at a message with a subject */
	else if (&d->steps[k] > s)
		problem(c, "%s.thread: '%s' comes later; a reply answers an "
		    "earlier step", path, t);
	else
		s->thread = k;
}

static void
parse_step(struct ctx *c, struct seqdef *d, int i, json_t *o)
{
	static const char *const keys[][11] = {
		[ST_EMAIL] = { "id", "type", "description", "next", "on_fail",
		    "subject", "text", "html", "variants", "thread", NULL },
		[ST_SMS] = { "id", "type", "description", "next", "on_fail",
		    "text", "variants", NULL },
		[ST_VOICE] = { "id", "type", "description", "next", "on_fail",
		    "say", "variants", NULL },
		[ST_WAIT] = { "id", "type", "description", "next", "duration",
		    NULL },
		[ST_BRANCH] = { "id", "type", "description", "if", "then",
		    "else", NULL },
		[ST_TASK] = { "id", "type", "description", "next", "title",
		    "notes", "kind", NULL },
	};
	static const char *const if_keys[] = { "event", "step", "within", NULL };
	struct step *s = &d->steps[i];
	char path[64];
	const char *t;

	snprintf(path, sizeof path, "$.steps[%d]", i);
	only_keys(c, o, path, keys[s->type]);
	str_member(c, o, "description", path, 0);
	s->next = i + 1 < d->nsteps ? i + 1 : STEP_END;
	s->if_step = -1;
	s->thread = -1;
	s->next = target(c, d, o, "next", path, s->next);
	if ((t = str_member(c, o, "on_fail", path, 0))) {
		if (strcmp(t, "continue") == 0)
			s->on_fail_continue = 1;
		else if (strcmp(t, "stop") != 0)
			problem(c, "%s.on_fail: must be \"stop\" or \"continue\"",
			    path);
	}
	if (s->type <= ST_VOICE)
		parse_variants(c, s, o, path);
	switch (s->type) {
	case ST_EMAIL:
		/* a reply in a thread takes its subject from the thread */
		parse_thread(c, d, s, o, path);
		template_member(c, o, "subject", path, s->thread < 0 &&
		    !variants_have(s, offsetof(struct variant, subject)), 0,
		    &s->subject);
		template_member(c, o, "text", path,
		    !variants_have(s, offsetof(struct variant, text)),
		    TPL_UNSUBSCRIBE_URL, &s->text);
		template_member(c, o, "html", path, 0, TPL_UNSUBSCRIBE_URL,
		    &s->html);
		break;
	case ST_SMS:
		template_member(c, o, "text", path,
		    !variants_have(s, offsetof(struct variant, text)), 0,
		    &s->text);
		break;
	case ST_VOICE:
		template_member(c, o, "say", path,
		    !variants_have(s, offsetof(struct variant, say)), 0,
		    &s->say);
		break;
	case ST_TASK:
		template_member(c, o, "title", path, 1, 0, &s->title);
		template_member(c, o, "notes", path, 0, 0, &s->notes);
		if ((s->task_kind = str_member(c, o, "kind", path, 0)) &&
		    !seqdef_id_ok(s->task_kind))
			problem(c, "%s.kind: use 1 to 64 letters, digits, '.', "
			    "'_' or '-', like call or linkedin", path);
		break;
	case ST_WAIT:
		s->duration = duration_member(c, o, "duration", path, 1);
		break;
	case ST_BRANCH: {
		json_t *f = json_object_get(o, "if");
		char ipath[80];
		snprintf(ipath, sizeof ipath, "%s.if", path);
		if (!json_is_object(f)) {
			problem(c, "%s: missing or not an object", ipath);
			break;
		}
		only_keys(c, f, ipath, if_keys);
		if ((s->if_event = str_member(c, f, "event", ipath, 1)) &&
		    !event_type_known(s->if_event))
			problem(c, "%s.event: unknown event '%s'", ipath,
			    s->if_event);
		if ((t = str_member(c, f, "step", ipath, 1))) {
			s->if_step = seqdef_step(d, t);
			if (s->if_step < 0)
				problem(c, "%s.step: no step '%s'", ipath, t);
			else if (step_channel(&d->steps[s->if_step]) < 0 &&
			    d->steps[s->if_step].type != ST_TASK)
				problem(c, "%s.step: '%s' sends nothing to "
				    "branch on", ipath, t);
		}
		s->within = duration_member(c, f, "within", ipath, 0);
		if (!json_object_get(o, "then"))
			problem(c, "%s.then: missing", path);
		if (!json_object_get(o, "else"))
			problem(c, "%s.else: missing", path);
		s->then_step = target(c, d, o, "then", path, STEP_END);
		s->else_step = target(c, d, o, "else", path, STEP_END);
		break;
	}
	}
}

static void
edges(const struct step *s, int out[3], int *n)
{
	*n = 0;
	if (s->type == ST_BRANCH) {
		out[(*n)++] = s->then_step;
		out[(*n)++] = s->else_step;
	} else
		out[(*n)++] = s->next;
}

/* Reachability from the first step, and cycles that pass no wait: such a
 * loop would make seq-due spin. */
static void
check_graph(struct ctx *c, struct seqdef *d)
{
	int n = d->nsteps, *seen = xcalloc((size_t)n, sizeof *seen);
	int *stack = xmalloc((size_t)n * sizeof *stack), top = 0, e[3], ne;

	seen[0] = 1;
	stack[top++] = 0;
	while (top) {
		int k = stack[--top];
		edges(&d->steps[k], e, &ne);
		for (int j = 0; j < ne; j++)
			if (e[j] >= 0 && !seen[e[j]]) {
				seen[e[j]] = 1;
				stack[top++] = e[j];
			}
	}
	for (int i = 0; i < n; i++)
		if (!seen[i])
			problem(c, "$.steps[%d]: step '%s' can never be reached",
			    i, d->steps[i].id);

	/* colour: 0 new, 1 on the path, 2 done; waits cut every path */
	int *colour = seen, *iter = xcalloc((size_t)n, sizeof *iter);
	memset(colour, 0, (size_t)n * sizeof *colour);
	for (int root = 0; root < n; root++) {
		if (colour[root] || d->steps[root].type == ST_WAIT)
			continue;
		top = 0;
		stack[top++] = root;
		colour[root] = 1;
		iter[root] = 0;
		while (top) {
			int k = stack[top - 1];
			edges(&d->steps[k], e, &ne);
			if (iter[k] < ne) {
				int t = e[iter[k]++];
				if (t < 0 || d->steps[t].type == ST_WAIT)
					continue;
				if (colour[t] == 1)
					problem(c, "$.steps[%d]: '%s' starts a loop "
					    "with no wait step", t, d->steps[t].id);
				else if (colour[t] == 0) {
					colour[t] = 1;
					iter[t] = 0;
					stack[top++] = t;
				}
			} else {
				colour[k] = 2;
				top--;
			}
		}
	}
	free(iter);
	free(seen);
	free(stack);
}

static int
badge_known(const char *b)
{
	static const char *const good[] = { "valid-email", "valid-phone",
		NULL };
	for (int i = 0; good[i]; i++)
		if (strcmp(good[i], b) == 0)
			return 1;
	return lead_badge_weight(b) > 0;
}

static int
bool_member(struct ctx *c, json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (v && !json_is_boolean(v))
		problem(c, "$.%s: must be true or false", key);
	return json_is_true(v);
}

static int
one_of(struct ctx *c, json_t *o, const char *key, const char *const *names,
    int dflt)
{
	const char *s = str_member(c, o, key, "$", 0);
	if (!s)
		return dflt;
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	problem(c, "$.%s: '%s' is not one of the choices in sequence(5)", key, s);
	return dflt;
}

/* Who may be enrolled and when (seq-enroll), and how the sequence meets
 * replies, outages and holidays. */
static void
parse_rules(struct ctx *c, json_t *doc, struct seqdef *d)
{
	static const char *const reenroll[] = { "after_finished", "never",
		"always", NULL };
	static const char *const catch_up[] = { "shift", "send", NULL };
	json_t *v, *b;
	size_t i;

	d->reenroll = (enum reenroll)one_of(c, doc, "reenroll", reenroll, 0);
	d->catch_up = (enum catch_up)one_of(c, doc, "catch_up", catch_up, 0);
	d->exclusive = bool_member(c, doc, "exclusive");
	d->stop_on_company_reply = bool_member(c, doc, "stop_on_company_reply");
	d->min_gap = duration_member(c, doc, "min_gap", "$", 0);
	if ((v = json_object_get(doc, "require_badges"))) {
		if (!json_is_array(v) || json_array_size(v) == 0)
			problem(c, "$.require_badges: must be a non-empty array "
			    "of badge names");
		else {
			d->require_badges = v;
			json_array_foreach(v, i, b)
				if (!json_is_string(b) ||
				    !badge_known(json_string_value(b)))
					problem(c, "$.require_badges[%zu]: not a "
					    "badge seq-lead gives", i);
		}
	}
	if ((v = json_object_get(doc, "min_quality"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 100)
			problem(c, "$.min_quality: must be a whole number from 0 "
			    "to 100");
		else
			d->min_quality = (int)json_integer_value(v);
	}
	if ((d->holidays = str_member(c, doc, "holidays", "$", 0)) &&
	    !holidays_name_ok(d->holidays))
		problem(c, "$.holidays: name a calendar, like US or DE");
}

int
seqdef_parse(json_t *doc, struct seqdef *d, struct problems *p)
{
	static const char *const root_keys[] = { "name", "description",
		"timezone", "window", "quiet_hours", "exit_on", "from", "caps",
		"max_attempts", "reenroll", "exclusive", "min_gap",
		"require_badges", "min_quality", "stop_on_company_reply",
		"catch_up", "holidays", "steps", NULL };
	struct ctx c = { p, 0 };
	json_t *v, *steps;
	size_t i;

	memset(d, 0, sizeof *d);
	d->doc = json_incref(doc);
	d->max_attempts = 5;
	d->min_quality = -1;
	if (!json_is_object(doc)) {
		problem(&c, "$: a definition is a JSON object");
		return -1;
	}
	only_keys(&c, doc, "$", root_keys);
	if ((d->name = str_member(&c, doc, "name", "$", 1)) &&
	    !seqdef_id_ok(d->name))
		problem(&c, "$.name: use 1 to 64 letters, digits, '.', '_' or '-'");
	str_member(&c, doc, "description", "$", 0);
	if ((d->timezone = str_member(&c, doc, "timezone", "$", 0)) &&
	    !tz_valid(d->timezone))
		problem(&c, "$.timezone: '%s' is not an IANA time zone here",
		    d->timezone);
	if ((v = json_object_get(doc, "window")))
		parse_window(&c, v, d);
	const char *quiet = str_member(&c, doc, "quiet_hours", "$", 0);
	if (quiet && hours_parse(quiet, &d->quiet) != 0)
		problem(&c, "$.quiet_hours: '%s' is not a range of the day like "
		    "09:00-20:00, its start before its end", quiet);
	else if (quiet)
		d->has_quiet = 1;
	d->exit_on = json_object_get(doc, "exit_on");
	if (d->exit_on && !json_is_array(d->exit_on)) {
		problem(&c, "$.exit_on: must be an array of event types");
		d->exit_on = NULL;
	}
	for (i = 0; d->exit_on && i < json_array_size(d->exit_on); i++) {
		const char *s = json_string_value(json_array_get(d->exit_on, i));
		if (!s || !event_type_known(s))
			problem(&c, "$.exit_on[%zu]: unknown event type", i);
	}
	if ((v = json_object_get(doc, "from"))) {
		static const char *const keys[] = { "email", "sms", "voice", NULL };
		if (!json_is_object(v))
			problem(&c, "$.from: must be an object of channel: sender");
		else {
			only_keys(&c, v, "$.from", keys);
			for (int ch = 0; ch < CH_COUNT; ch++)
				d->from[ch] = str_member(&c, v, channel_names[ch],
				    "$.from", 0);
			if (d->from[CH_EMAIL] && !same_normal(d->from[CH_EMAIL],
			    normalise_email(d->from[CH_EMAIL])))
				problem(&c, "$.from.email: not an email address");
			for (int ch = CH_SMS; ch <= CH_VOICE; ch++)
				if (d->from[ch] && !same_normal(d->from[ch],
				    normalise_phone(d->from[ch], NULL)))
					problem(&c, "$.from.%s: not an E.164 number "
					    "like +12025550100", channel_names[ch]);
		}
	}
	if ((d->caps = json_object_get(doc, "caps"))) {
		const char *k;
		if (!json_is_object(d->caps)) {
			problem(&c, "$.caps: must be an object of channel or "
			    "sender: messages per day");
			d->caps = NULL;
		} else
			json_object_foreach(d->caps, k, v) {
				if (!json_is_integer(v) || json_integer_value(v) < 1)
					problem(&c, "$.caps.%s: must be a whole "
					    "number above 0", k);
				if (strcmp(k, "email") && strcmp(k, "sms") &&
				    strcmp(k, "voice") && !same_normal(k,
				    normalise_email(k)) && !(k[0] == '+' &&
				    same_normal(k, normalise_phone(k, NULL))))
					problem(&c, "$.caps.%s: a cap is per channel "
					    "(email, sms, voice) or per sender (an "
					    "address or +number)", k);
			}
	}
	if ((v = json_object_get(doc, "max_attempts"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 20)
			problem(&c, "$.max_attempts: must be from 1 to 20");
		else
			d->max_attempts = (int)json_integer_value(v);
	}
	parse_rules(&c, doc, d);

	steps = json_object_get(doc, "steps");
	if (!json_is_array(steps) || json_array_size(steps) == 0) {
		problem(&c, "$.steps: must be a non-empty array");
		goto out;
	}
	if (json_array_size(steps) > MAX_STEPS) {
		problem(&c, "$.steps: more than %d steps", MAX_STEPS);
		goto out;
	}
	d->nsteps = (int)json_array_size(steps);
	d->steps = xcalloc((size_t)d->nsteps, sizeof *d->steps);
	/* first pass: ids and types, so targets can point forward */
	int typed = 1;
	json_array_foreach(steps, i, v) {
		char path[64];
		const char *t;
		struct step *s = &d->steps[i];
		snprintf(path, sizeof path, "$.steps[%zu]", i);
		s->id = "";
		s->type = (enum step_type)-1;
		if (!json_is_object(v)) {
			problem(&c, "%s: a step is an object", path);
			typed = 0;
			continue;
		}
		if ((t = str_member(&c, v, "id", path, 1))) {
			if (!seqdef_id_ok(t) || strcmp(t, "end") == 0)
				problem(&c, "%s.id: use 1 to 64 letters, digits, "
				    "'.', '_' or '-' (and not \"end\")", path);
			else if (seqdef_step(d, t) >= 0)
				problem(&c, "%s.id: '%s' is used twice", path, t);
			s->id = t;
		}
		if ((t = str_member(&c, v, "type", path, 1))) {
			for (int k = 0; k <= ST_TASK; k++)
				if (strcmp(t, step_type_names[k]) == 0)
					s->type = (enum step_type)k;
			if ((int)s->type < 0)
				problem(&c, "%s.type: '%s' is not email, sms, voice, "
				    "wait, branch or task", path, t);
		}
		if ((int)s->type < 0)
			typed = 0;
	}
	if (!typed)
		goto out;
	json_array_foreach(steps, i, v)
		parse_step(&c, d, (int)i, v);
	if (c.count == 0)
		check_graph(&c, d);
out:
	if (c.count == 0 && d->exit_on && json_array_size(d->exit_on))
		d->exit_on_text = json_dumps(d->exit_on, JSON_COMPACT);
	return c.count ? -1 : 0;
}

void
seqdef_free(struct seqdef *d)
{
	free(d->steps);
	free(d->exit_on_text);
	json_decref(d->doc);
	memset(d, 0, sizeof *d);
}

int
seqdef_step(const struct seqdef *d, const char *id)
{
	for (int i = 0; i < d->nsteps; i++)
		if (d->steps[i].id && strcmp(d->steps[i].id, id) == 0)
			return i;
	return -1;
}

int
step_channel(const struct step *s)
{
	switch (s->type) {
	case ST_EMAIL: return CH_EMAIL;
	case ST_SMS: return CH_SMS;
	case ST_VOICE: return CH_VOICE;
	default: return -1;
	}
}

int64_t
window_next_open(const struct window *w, const char *zone, int64_t t)
{
	struct tm lt;
	tz_local(zone, t, &lt);
	for (int day = 0; day < 8; day++) {
		struct tm d = lt;
		d.tm_mday += day;
		d.tm_hour = 12;		/* noon: safe from DST edges */
		d.tm_min = d.tm_sec = 0;
		int64_t noon = tz_mktime(zone, &d);
		struct tm n;
		tz_local(zone, noon, &n);
		if (!(w->days & (1 << n.tm_wday)))
			continue;
		struct tm o = n, e = n;
		o.tm_hour = w->start / 60;
		o.tm_min = w->start % 60;
		e.tm_hour = w->end / 60;
		e.tm_min = w->end % 60;
		int64_t open = tz_mktime(zone, &o), close = tz_mktime(zone, &e);
		if (t < close)
			return t >= open ? t : open;
	}
	return t;	/* unreachable: some day in any week is allowed */
}
