/*
 * thread: Message-IDs and threaded follow-ups.  See thread.h.
 */
#include "thread.h"

#include <ctype.h>
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "jsonw.h"
#include "pii.h"
#include "template.h"
#include "variant.h"

/* References beyond this many bytes lose their middle ids: the SMTP
 * adapter writes a header value of 900 bytes or more as encoded words,
 * which a msg-id must never be. */
#define REFERENCES_MAX 800

static int
domain_ok(const char *s, size_t n)
{
	if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-' || s[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.')
			return 0;
	return 1;
}

void
thread_message_id(const char *key, const char *from, char *out, size_t size)
{
	const char *addr = from, *end, *at;

	if (from && (addr = strrchr(from, '<')))
		addr++;
	else
		addr = from;
	if (addr) {
		end = strchr(addr, '>');
		if (!end)
			end = addr + strlen(addr);
		at = memrchr(addr, '@', (size_t)(end - addr));
		if (at && domain_ok(at + 1, (size_t)(end - at - 1))) {
			snprintf(out, size, "<%s@%.*s>", key, (int)(end - at - 1),
			    at + 1);
			return;
		}
	}
	snprintf(out, size, "<%s@%s>", key, THREAD_DOMAIN);
}

static const char *
header_of(json_t *headers, const char *name)
{
	const char *k;
	json_t *v;

	json_object_foreach(headers, k, v)
		if (strcasecmp(k, name) == 0)
			return json_string_value(v);
	return NULL;
}

/* "earlier's References, then earlier": the first id (the thread's
 * root) and as many of the latest as fit in REFERENCES_MAX. */
static char *
references(const char *earlier, const char *id)
{
	char *all = xasprintf("%s%s%s", earlier ? earlier : "",
	    earlier && *earlier ? " " : "", id);
	char *ids[512], *save;
	int n = 0, keep;
	size_t len;

	if (strlen(all) <= REFERENCES_MAX)
		return all;
	for (char *p = strtok_r(all, " \t", &save); p && n < 512;
	    p = strtok_r(NULL, " \t", &save))
		ids[n++] = p;
	if (n < 2)
		return all;
	/* the newest always stays: it is the one answered */
	keep = n - 1;
	len = strlen(ids[0]) + 1 + strlen(ids[keep]);
	while (keep - 1 > 0 && len + 1 + strlen(ids[keep - 1]) <= REFERENCES_MAX)
		len += 1 + strlen(ids[--keep]);
	struct buf b = { 0 };
	buf_adds(&b, ids[0]);
	for (int i = keep; i < n; i++) {
		buf_addc(&b, ' ');
		buf_adds(&b, ids[i]);
	}
	free(all);
	return b.p;
}

/* The last message of step in the enrollment that went out; 1 and t set,
 * or 0.  An attempt whose outcome was lost (unknown) is settled as sent
 * or failed before its enrollment moves on (seq-log --settle), so sent
 * is all there is to look for. */
static int
answered(struct db *db, int64_t enrollment, const char *step,
    struct thread *t)
{
	sqlite3_stmt *st = db_stmt(db, "SELECT x.id, j.job FROM "
	    "sequence_executions x JOIN execution_jobs j ON "
	    "j.execution_id = x.id WHERE x.enrollment_id = ?1 AND "
	    "x.step = ?2 AND x.state = 'sent' ORDER BY x.id DESC LIMIT 1");
	int64_t id = 0;
	char *text = NULL;
	json_t *job;
	json_error_t je;

	bind_int(st, 1, enrollment);
	bind_text(st, 2, step);
	if (db_step(db, st) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		text = pii_job_text(db, st, 1, id);
	}
	sqlite3_reset(st);
	if (!text)
		return 0;
	job = json_loads(text, 0, &je);
	free(text);
	if (!job)
		errx(EXIT_DB, "execution %lld: its job is not JSON: %s",
		    (long long)id, je.text);

	json_t *headers = json_object_get(job, "headers");
	const char *mid = header_of(headers, "Message-ID");
	const char *subject = json_string_value(json_object_get(job, "subject"));
	char made[400];
	/* a job claimed before jobs named their Message-ID: the one the
	 * SMTP adapter made for it */
	if (!mid) {
		thread_message_id(json_string_value(json_object_get(job, "key")),
		    json_string_value(json_object_get(job, "from")), made,
		    sizeof made);
		mid = made;
	}
	t->execution = id;
	t->in_reply_to = xstrdup(mid);
	t->references = references(header_of(headers, "References"), mid);
	subject = subject ? subject : "";
	while (*subject == ' ' || *subject == '\t')
		subject++;
	/* a reply to a reply is not "Re: Re:" */
	t->subject = strncasecmp(subject, "re:", 3) == 0 ? xstrdup(subject) :
	    xasprintf("Re: %s", subject);
	json_decref(job);
	return 1;
}

/* A new thread's subject: that of the first step up the chain that has
 * one, in the enrollment's variant of it, without "Re: ". */
static char *
first_subject(int64_t enrollment, const struct seqdef *d,
    const struct step *s, const struct lead *l)
{
	int k = s->thread;
	for (int n = 0; k >= 0 && n < d->nsteps; n++) {
		const struct step *up = &d->steps[k];
		const struct variant *v = variant_of(enrollment, up);
		const char *tpl = v && v->subject ? v->subject : up->subject;
		if (tpl) {
			struct buf b = { 0 };
			buf_add(&b, "", 0);
			template_render(tpl, l, NULL, 0, &b);
			return b.p;
		}
		k = up->thread;
	}
	/* seq-def lets a ring of threads without a subject through */
	errx(EXIT_DB, "sequence '%s' step '%s': no step of its thread has a "
	    "subject; give the step one", d->name, s->id);
}

void
thread_find(struct db *db, int64_t enrollment, const struct seqdef *d,
    const struct step *s, const struct lead *l, struct thread *t)
{
	memset(t, 0, sizeof *t);
	/* a step that never went out: what it would have answered */
	int k = s->thread;
	for (int n = 0; k >= 0 && n < d->nsteps; n++) {
		if (answered(db, enrollment, d->steps[k].id, t))
			break;
		k = d->steps[k].thread;
	}
	if (s->subject) {
		free(t->subject);
		t->subject = NULL;
	} else if (!t->subject)
		t->subject = first_subject(enrollment, d, s, l);
}

void
thread_free(struct thread *t)
{
	free(t->in_reply_to);
	free(t->references);
	free(t->subject);
	memset(t, 0, sizeof *t);
}

void
thread_headers(struct buf *b, const char *message_id, const struct thread *t)
{
	buf_adds(b, ",\"Message-ID\":");
	jw_quote(b, message_id);
	if (t && t->in_reply_to) {
		buf_adds(b, ",\"In-Reply-To\":");
		jw_quote(b, t->in_reply_to);
		buf_adds(b, ",\"References\":");
		jw_quote(b, t->references);
	}
}
