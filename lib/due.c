/*
 * due: the walk and the claim.  See due.h.
 */
#include "due.h"

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "autoreply.h"
#include "config.h"
#include "consent.h"
#include "enroll.h"
#include "freqcap.h"
#include "holiday.h"
#include "jsonw.h"
#include "lead.h"
#include "pii.h"
#include "ndjson.h"
#include "quiet.h"
#include "seqdef.h"
#include "sequence.h"
#include "task.h"
#include "template.h"
#include "thread.h"
#include "tzone.h"
#include "util.h"
#include "variant.h"
#include "webhook.h"

/* A walk that passes this many steps without stopping is a bug in the
 * definition check: loops must contain a wait. */
#define WALK_MAX 256

struct cap {
	char key[160];
	int64_t day, day_end;
	long base;		/* as read */
	long count;		/* base, and this batch's claims */
	int64_t seq_id;
	char channel[8], from[128];
	int64_t lead_id;	/* SEQ_LEAD_CAP: day is the window's start */
};

struct run {
	struct db *db;
	const struct due_opts *o;
	struct due_stats *st;	/* the run's; walks count into their own */
	struct buf out;
	int64_t seq_filter;
	int64_t next_id;
	struct cap *caps;
	int ncaps;
	char instance[17];
	struct window quiet;	/* SEQ_QUIET_HOURS */
	struct freqcaps fc;	/* SEQ_LEAD_CAP, SEQ_SENDER_CAP */
};

/* What a cap or the catch-up policy put off, written with the walk. */
struct defer {
	const struct step *s;
	const char *what;
	char reason[200];
	int64_t due, until;
};

/* A row the walk will write: a skip (why set) or the claim (job set). */
struct pend {
	const struct step *s;
	char key[96];
	int attempt;
	const char *variant;		/* the step's, or NULL */
	char *from, *to, *why;
	char *in_reply_to;		/* what a threaded email answers */
	struct buf job;			/* the line without its execution_id */
};

struct enr {
	int64_t id, lead_id, seq_id, created_at, step_at, next_run_at;
	int version, cursor, attempt, k;
	/* as read: the claim writes only if the enrollment is unchanged */
	int64_t read_next_run_at;
	int read_cursor, read_attempt;
	char *step_id;			/* as read; resolved to k */
	const struct seqdef *def;
	const char *status;		/* a new status */
	char *reason;			/* and why */
	struct lead lead;		/* fields and attributes only */
	int valid_email, valid_phone, converted;
	struct pend *pend;
	int npend;
	const struct step *task;	/* a task to open; it waits for it */
	struct defer *defers;
	int ndefers;
	struct buf explain;		/* --explain: the walk's decisions */
	struct due_stats st;
};

/* --explain: one record per decision that moved the enrollment on, or
 * held it back, without a job; written only if the walk is. */
static void
explain(struct run *r, struct enr *e, const char *decision,
    const struct step *s, int64_t until, const char *why)
{
	struct jsonw w;
	char at[21];
	if (!r->o->explain)
		return;
	jw_open(&w, &e->explain);
	jw_str(&w, "decision", decision);
	jw_int(&w, "enrollment_id", e->id);
	jw_int(&w, "lead_id", e->lead_id);
	jw_str(&w, "sequence", e->def->name);
	jw_int(&w, "version", e->version);
	jw_str(&w, "step", s ? s->id : NULL);
	if (until)
		jw_str(&w, "until", format_time(until, at));
	if (why)
		jw_str(&w, "why", why);
	jw_close(&w);
}

static void
move_to(struct enr *e, int k, int64_t at)
{
	e->k = k;
	e->cursor++;
	e->attempt = 1;
	e->step_at = at;
}

static const char *
exit_reason(struct run *r, struct enr *e, char *why, size_t size)
{
	sqlite3_stmt *st;
	const char *found = NULL;

	if (e->def->exit_on_text) {
		/* a soft bounce may pass later: it ends nothing */
		st = db_stmt(r->db, "SELECT type FROM events WHERE lead_id = ?1 "
		    "AND at >= ?2 AND type IN (SELECT value FROM json_each(?3)) "
		    "AND (type != 'bounce' OR details ->> '$.hard' IS NOT 0) "
		    "ORDER BY at LIMIT 1");
		bind_int(st, 1, e->lead_id);
		bind_int(st, 2, e->created_at);
		sqlite3_bind_text(st, 3, e->def->exit_on_text, -1, SQLITE_STATIC);
		if (db_step(r->db, st) == SQLITE_ROW) {
			snprintf(why, size, "%s received", col_text(st, 0));
			found = why;
		}
		sqlite3_reset(st);
		if (found)
			return found;
	}
	if (e->converted) {
		snprintf(why, size, "lead converted (enrollment %lld)",
		    (long long)e->converted);
		found = why;
	}
	return found;
}

/* then (1), else (0), or wait until *until (-1). */
static int
branch(struct run *r, struct enr *e, const struct step *s, int64_t *until)
{
	sqlite3_stmt *st = db_stmt(r->db, "SELECT id, done_at FROM "
	    "sequence_executions WHERE enrollment_id = ? AND step = ? AND "
	    "state = 'sent' ORDER BY id DESC LIMIT 1");
	int64_t exec = 0, sent_at = 0;
	int hit = 0;

	bind_int(st, 1, e->id);
	bind_text(st, 2, e->def->steps[s->if_step].id);
	if (db_step(r->db, st) == SQLITE_ROW) {
		exec = sqlite3_column_int64(st, 0);
		sent_at = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (!exec)
		return 0;
	/* or an event of another source (seq-event --from ndjson), which
	 * names the lead and no attempt, since the step was sent */
	st = db_stmt(r->db, "SELECT 1 FROM events WHERE execution_id = ?1 AND "
	    "type = ?2 AND (?3 IS NULL OR at <= ?3) UNION ALL "
	    "SELECT 1 FROM events WHERE lead_id = ?4 AND type = ?2 AND "
	    "at >= ?5 AND (?3 IS NULL OR at <= ?3) AND execution_id IS NULL AND "
	    "provider NOT IN ('sendgrid', 'postmark', 'telnyx', "
	    "'sendgrid-inbound', 'postmark-inbound', 'unsubscribe') LIMIT 1");
	bind_int(st, 1, exec);
	bind_text(st, 2, s->if_event);
	bind_int(st, 4, e->lead_id);
	bind_int(st, 5, sent_at);
	if (s->within)
		bind_int(st, 3, sent_at + s->within);
	hit = db_step(r->db, st) == SQLITE_ROW;
	sqlite3_reset(st);
	if (hit)
		return 1;
	if (s->within && r->o->now < sent_at + s->within) {
		*until = sent_at + s->within;
		return -1;
	}
	return 0;
}

static const char *
sender(const struct seqdef *d, int ch, const char *to, char *buf, size_t size)
{
	static const char *const names[] = { "SEQ_EMAIL_FROM", "SEQ_SMS_FROM",
		"SEQ_VOICE_FROM" };
	const char *v;
	if (d->from[ch])
		return d->from[ch];
	v = config_get(names[ch]);
	/* an email sender is one, and may be "Name <address>", spaces and
	 * all; numbers come as a list */
	if (ch == CH_EMAIL || !v || !to)
		return v;
	return pick_sender(v, to, buf, size);
}

static int64_t
day_start(const char *zone, int64_t t, int next)
{
	struct tm lt;
	tz_local(zone, t, &lt);
	lt.tm_mday += next;
	lt.tm_hour = lt.tm_min = lt.tm_sec = 0;
	return tz_mktime(zone, &lt);
}

static long cap_count(struct db *, const struct cap *);

/* The attempts that count against a lead's cap (?3) on a channel (?2) in
 * its window (?1, ?4): what may have reached the lead, not what was
 * skipped, released, failed or is to be retried. */
#define LEAD_COUNTED "lead_id = ?3 AND claimed_at > ?1 AND claimed_at < ?4 " \
	"AND channel = ?2 AND (state = 'claimed' OR state = 'sending' OR " \
	"state = 'sent' OR state = 'unknown')"

/* A cap that applies to a step, the limit it holds it to, and where that
 * limit comes from, for the timeline. */
struct capcheck {
	int cap;		/* in r->caps, which may move as it grows */
	long limit;
	const char *source, *name;
};

/* A daily cap (of the sequence's channel, or of the sender), or a lead's
 * cap over its window, read once per batch; the walk adds its claims to
 * the count. */
static struct cap *
cap_get(struct run *r, const char *key, int64_t day, int64_t day_end,
    int64_t seq_id, const char *channel, const char *from, int64_t lead_id)
{
	for (int i = 0; i < r->ncaps; i++)
		if (r->caps[i].day == day && strcmp(r->caps[i].key, key) == 0)
			return &r->caps[i];
	r->caps = xrealloc(r->caps, (size_t)(r->ncaps + 1) * sizeof *r->caps);
	struct cap *c = &r->caps[r->ncaps++];
	snprintf(c->key, sizeof c->key, "%s", key);
	c->day = day;
	c->day_end = day_end;
	c->seq_id = seq_id;
	snprintf(c->channel, sizeof c->channel, "%s", channel ? channel : "");
	snprintf(c->from, sizeof c->from, "%s", from ? from : "");
	c->lead_id = lead_id;
	c->base = c->count = cap_count(r->db, c);
	return c;
}

/* The claims counted against a cap today (a lead's: in its window), as the
 * database holds them. */
static long
cap_count(struct db *db, const struct cap *c)
{
	sqlite3_stmt *st;
	const char *from = *c->from ? c->from : NULL;
	if (c->lead_id) {
		st = db_stmt(db, "SELECT count(*) FROM sequence_executions "
		    "WHERE " LEAD_COUNTED);
		bind_text(st, 2, c->channel);
		bind_int(st, 3, c->lead_id);
	} else if (from) {
		/* by mailbox, however each attempt wrote its sender: the day's
		 * senders are few */
		long n = 0;
		char mailbox[sizeof c->from];
		st = db_stmt(db, "SELECT sender, count(*) FROM "
		    "sequence_executions WHERE claimed_at >= ?1 AND "
		    "claimed_at < ?2 AND sender IS NOT NULL AND "
		    "state <> 'skipped' AND state <> 'released' GROUP BY sender");
		bind_int(st, 1, c->day);
		bind_int(st, 2, c->day_end);
		while (db_step(db, st) == SQLITE_ROW) {
			sender_mailbox(col_text(st, 0), mailbox, sizeof mailbox);
			if (strcmp(mailbox, from) == 0)
				n += (long)sqlite3_column_int64(st, 1);
		}
		sqlite3_reset(st);
		return n;
	} else {
		st = db_stmt(db, "SELECT count(*) FROM sequence_executions x "
		    "JOIN enrollments e ON e.id = x.enrollment_id WHERE "
		    "x.claimed_at >= ?1 AND x.claimed_at < ?4 AND "
		    "x.channel = ?2 AND e.sequence_id = ?3 AND "
		    "x.state <> 'skipped' AND x.state <> 'released'");
		bind_text(st, 2, c->channel);
		bind_int(st, 3, c->seq_id);
	}
	bind_int(st, 1, c->day);
	bind_int(st, 4, c->day_end);
	long n = db_step(db, st) == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return n;
}

/* Caps are kept by index: the array moves when it grows. */
static int
cap_index(struct run *r, const struct cap *c)
{
	return (int)(c - r->caps);
}

/*
 * A sequence's cap of the sender whose mailbox is given, and its key as the
 * sequence wrote it.  The key is in normal form, which keeps the capitals
 * of a local part; the mailbox is all in lower case, and the from it came
 * from may be SEQ_EMAIL_FROM's "Name <address>".
 */
static json_t *
sender_cap(json_t *caps, const char *mailbox, const char **named)
{
	const char *k;
	json_t *v;
	json_object_foreach(caps, k, v)
		if (strcasecmp(k, mailbox) == 0) {
			*named = k;
			return v;
		}
	return NULL;
}

/* The caps that apply to a step: of its channel, and of its sender, with
 * this sequence's limit for each.  A sender's count is shared by every
 * sequence that sends from it; each checks it against its own cap, so the
 * order in which enrollments come does not matter. */
static int
caps_for(struct run *r, struct enr *e, int ch, const char *from,
    struct capcheck *out)
{
	int n = 0;
	json_t *v;
	char key[160];
	long limit;
	const struct lead_cap *lc = &r->fc.lead[ch];
	int64_t now = r->o->now, utc_day = now - now % 86400;
	char mailbox[sizeof r->caps->from] = "";
	if (from)
		sender_mailbox(from, mailbox, sizeof mailbox);
	if (e->def->caps) {
		/* a sequence's day is its time zone's; a sender's, shared by
		 * sequences in any zone, is UTC's */
		int64_t day = day_start(e->def->timezone, now, 0);
		int64_t day_end = day_start(e->def->timezone, now, 1);
		if ((v = json_object_get(e->def->caps, channel_names[ch]))) {
			snprintf(key, sizeof key, "%lld:%s",
			    (long long)e->seq_id, channel_names[ch]);
			out[n++] = (struct capcheck){ cap_index(r, cap_get(r,
			    key, day, day_end, e->seq_id, channel_names[ch],
			    NULL, 0)),
			    (long)json_integer_value(v), "caps",
			    channel_names[ch] };
		}
		const char *named;
		if (from && (v = sender_cap(e->def->caps, mailbox, &named))) {
			snprintf(key, sizeof key, "from:%s", mailbox);
			out[n++] = (struct capcheck){ cap_index(r, cap_get(r,
			    key, utc_day, utc_day + 86400, 0, NULL, mailbox,
			    0)), (long)json_integer_value(v), "caps", named };
		}
	}
	/* SEQ_SENDER_CAP shares the count of the sender's caps above */
	if ((limit = freqcaps_sender(&r->fc, from))) {
		snprintf(key, sizeof key, "from:%s", mailbox);
		out[n++] = (struct capcheck){ cap_index(r, cap_get(r, key,
		    utc_day, utc_day + 86400, 0, NULL, mailbox, 0)), limit,
		    "SEQ_SENDER_CAP", from };
	}
	if (lc->limit) {
		snprintf(key, sizeof key, "lead:%lld:%s", (long long)e->lead_id,
		    channel_names[ch]);
		out[n++] = (struct capcheck){ cap_index(r, cap_get(r, key,
		    now - lc->window, now + 1, 0, channel_names[ch], NULL,
		    e->lead_id)),
		    lc->limit, "SEQ_LEAD_CAP", lc->text };
	}
	return n;
}

/*
 * When a step over a cap may go: the next day of a daily cap; for
 * SEQ_LEAD_CAP, the moment enough of the lead's counted attempts leave the
 * window that one more fits.  The batch's own claims are the newest.
 */
static int64_t
cap_until(struct run *r, const struct capcheck *k)
{
	const struct cap *c = &r->caps[k->cap];
	long leave = c->count - k->limit;	/* how many must leave, less one */
	int64_t at = r->o->now;

	if (!c->lead_id)
		return c->day_end;
	if (leave < c->base) {
		sqlite3_stmt *st = db_stmt(r->db, "SELECT claimed_at FROM "
		    "sequence_executions WHERE " LEAD_COUNTED " ORDER BY "
		    "claimed_at LIMIT 1 OFFSET ?5");
		bind_int(st, 1, c->day);
		bind_text(st, 2, c->channel);
		bind_int(st, 3, c->lead_id);
		bind_int(st, 4, c->day_end);
		bind_int(st, 5, leave);
		if (db_step(r->db, st) == SQLITE_ROW)
			at = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	return at + (r->o->now - c->day);
}

static void
insert_execution(struct run *r, struct enr *e, const struct pend *p,
    const char *state, const char *job, size_t job_len)
{
	const struct keys *k = pii_keys(r->db);
	sqlite3_stmt *st = db_stmt(r->db, "INSERT INTO sequence_executions "
	    "(id, key, enrollment_id, lead_id, step, channel, attempt, sender, "
	    "recipient, state, error, claimed_at, lease, lease_until, done_at, "
	    "variant, message_id, in_reply_to) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
	    "?7, ?8, ?9, ?10, ?11, ?12, ?15, ?12 + ?15, ?14, ?16, ?17, ?18)");
	bind_int(st, 1, r->next_id);
	if (job && step_channel(p->s) == CH_EMAIL) {
		char mid[400];
		thread_message_id(p->key, p->from, mid, sizeof mid);
		bind_text(st, 17, mid);
		bind_text(st, 18, p->in_reply_to);
	}
	if (p->variant)
		sqlite3_bind_text(st, 16, p->variant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, p->key, -1, SQLITE_STATIC);
	bind_int(st, 3, e->id);
	bind_int(st, 4, e->lead_id);
	sqlite3_bind_text(st, 5, p->s->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, channel_names[step_channel(p->s)], -1,
	    SQLITE_STATIC);
	bind_int(st, 7, p->attempt);
	bind_text(st, 8, p->from);
	/* a sealed database keeps the address only inside the sealed job */
	bind_text(st, 9, k ? NULL : p->to);
	sqlite3_bind_text(st, 10, state, -1, SQLITE_STATIC);
	bind_text(st, 11, p->why);
	bind_int(st, 12, r->o->now);
	if (job)
		bind_int(st, 15, r->o->lease);
	else
		bind_int(st, 14, r->o->now);
	if (db_step(r->db, st) == SQLITE_CONSTRAINT)
		errx(EXIT_DB, "enrollment %lld: key %s exists already",
		    (long long)e->id, p->key);
	sqlite3_reset(st);
	if (job) {
		st = db_stmt(r->db, "INSERT INTO execution_jobs (execution_id, "
		    "job) VALUES (?, ?)");
		bind_int(st, 1, r->next_id);
		if (k) {
			char ad[32];
			size_t len;
			pii_job_ad(r->next_id, ad);
			unsigned char *sealed = pii_seal(k, job, job_len, ad,
			    &len);
			sqlite3_bind_blob(st, 2, sealed, (int)len, free);
		} else
			sqlite3_bind_text(st, 2, job, (int)job_len,
			    SQLITE_STATIC);
		db_run(r->db, st);
	}
	r->next_id++;
}

/*
 * RFC 8058 one-click unsubscribe, when SEQ_UNSUBSCRIBE_URL and its secret
 * are configured: mail clients show an unsubscribe button that POSTs to
 * seq-hook's /unsubscribe with a token only that secret makes.  With
 * SEQ_UNSUBSCRIBE_MAILTO, an address to write to as well (RFC 2369), the
 * token in the subject.
 */
static void
list_unsubscribe(struct buf *b, const char *link, const char *token)
{
	char *mailto, *value;
	const char *why;

	if (!link)
		return;
	if (!(mailto = unsubscribe_mailto(token, &why)) && why)
		errx(EXIT_CONFIG, "%s", why);
	value = xasprintf("<%s>%s%s", link, mailto ? ", " : "",
	    mailto ? mailto : "");
	buf_adds(b, ",\"List-Unsubscribe\":");
	jw_quote(b, value);
	buf_adds(b, ",\"List-Unsubscribe-Post\":\"List-Unsubscribe=One-Click\"");
	free(value);
	free(mailto);
}

static void
render(struct buf *b, const char *tpl, const struct lead *l, const char *link,
    int html)
{
	b->len = 0;
	buf_add(b, "", 0);
	template_render(tpl, l, link, html, b);
}

/* Writes the job line, all but its execution_id, which is known only once
 * the write lock is held. */
static void
write_job(struct run *r, struct enr *e, const struct step *s, int ch,
    const char *from, const char *to, struct pend *p)
{
	struct buf *out = &p->job;
	char key[96];
	struct buf b = { 0 };
	const struct lead *l = &e->lead;
	struct jsonw w;
	/* from here on, the step is what the enrollment's variant makes it */
	const struct variant *v = variant_of(e->id, s);
	struct step view;
	if (v)
		s = variant_apply(s, v, &view);

	snprintf(key, sizeof key, "%s.%lld.%d.%d", r->instance,
	    (long long)e->id, e->cursor, e->attempt);
	jw_open(&w, out);
	jw_str(&w, "key", key);
	jw_int(&w, "enrollment_id", e->id);
	jw_int(&w, "lead_id", e->lead_id);
	jw_str(&w, "sequence", e->def->name);
	jw_int(&w, "version", e->version);
	jw_str(&w, "step", s->id);
	if (v)
		jw_str(&w, "variant", v->name);
	jw_str(&w, "channel", channel_names[ch]);
	jw_int(&w, "attempt", e->attempt);
	jw_str(&w, "to", to);
	jw_str(&w, "from", from);
	if (ch == CH_EMAIL) {
		char *link, *token;
		const char *why;
		int got = unsubscribe_link(key, e->lead_id, "email", r->o->now,
		    &link, &token, &why);
		/* a body never goes out with a hole where its link belongs */
		if (got < 0)
			errx(EXIT_CONFIG, "%s", why);
		if (got > 0 && (template_uses(s->text, "unsubscribe_url") ||
		    template_uses(s->html, "unsubscribe_url")))
			errx(EXIT_CONFIG, "sequence '%s' step '%s' uses "
			    "{{unsubscribe_url}}, and %s; the step is not "
			    "claimed", e->def->name, s->id, why);
		struct thread t = { 0 };
		char mid[400];
		if (s->thread >= 0)
			thread_find(r->db, e->id, e->def, s, l, &t);
		if (t.subject)
			jw_str(&w, "subject", t.subject);
		else {
			render(&b, s->subject, l, NULL, 0);
			jw_str(&w, "subject", b.p);
		}
		render(&b, s->text, l, link, 0);
		jw_str(&w, "text", b.p);
		if (s->html) {
			render(&b, s->html, l, link, 1);
			jw_str(&w, "html", b.p);
		}
		b.len = 0;
		buf_adds(&b, "{\"X-Seq-Key\":");
		jw_quote(&b, key);
		thread_message_id(key, from, mid, sizeof mid);
		thread_headers(&b, mid, &t);
		list_unsubscribe(&b, link, token);
		buf_addc(&b, '}');
		jw_raw(&w, "headers", b.p, b.len);
		free(link);
		free(token);
		p->in_reply_to = t.in_reply_to;
		t.in_reply_to = NULL;
		thread_free(&t);
	} else {
		render(&b, ch == CH_VOICE ? s->say : s->text, l, NULL, 0);
		jw_str(&w, ch == CH_VOICE ? "say" : "text", b.p);
		jw_raw(&w, "headers", "{}", 2);
	}
	jw_close(&w);
	buf_free(&b);
}

static struct pend *
pend_add(struct run *r, struct enr *e, const struct step *s, const char *from,
    const char *to, const char *why)
{
	e->pend = xrealloc(e->pend, (size_t)(e->npend + 1) * sizeof *e->pend);
	struct pend *p = &e->pend[e->npend++];
	p->s = s;
	snprintf(p->key, sizeof p->key, "%s.%lld.%d.%d", r->instance,
	    (long long)e->id, e->cursor, e->attempt);
	p->attempt = e->attempt;
	p->variant = s->nvariants ? variant_of(e->id, s)->name : NULL;
	p->from = from ? xstrdup(from) : NULL;
	p->to = to ? xstrdup(to) : NULL;
	p->why = why ? xstrdup(why) : NULL;
	p->in_reply_to = NULL;
	memset(&p->job, 0, sizeof p->job);
	return p;
}

/* A deferral for the timeline, written with the walk (freqcap.h). */
static void
defer_add(struct enr *e, const struct step *s, const char *what,
    const char *reason, int64_t due, int64_t until)
{
	e->defers = xrealloc(e->defers, (size_t)(e->ndefers + 1) *
	    sizeof *e->defers);
	struct defer *d = &e->defers[e->ndefers++];
	d->s = s;
	d->what = what;
	snprintf(d->reason, sizeof d->reason, "%s", reason);
	d->due = due;
	d->until = until;
}

/* The timeline shows the step a holiday moved, as a deferral. */
static void
holiday_defer(struct enr *e, const struct step *s,
    const struct holidays *cal, const char *holiday, int64_t until)
{
	char reason[200];
	snprintf(reason, sizeof reason, "holiday: %s (%s)", holiday,
	    holidays_name(cal));
	defer_add(e, s, "deferred", reason, e->step_at > e->read_next_run_at ?
	    e->step_at : e->read_next_run_at, until);
}

/* How far ahead a text or call looks for a moment that suits it: one that
 * finds none is skipped with the reason, not deferred for ever. */
#define QUIET_HORIZON (15 * 86400)

static void
format_hours(const struct window *w, char *buf, size_t size)
{
	snprintf(buf, size, "%02d:%02d-%02d:%02d", w->start / 60, w->start % 60,
	    w->end / 60, w->end % 60);
}

/*
 * A text or a call goes out inside quiet hours, in every zone the recipient
 * may be in, and inside the send window, all at once: the first moment at
 * or after now when they all hold, or -1 with the reason in why.
 */
static int64_t
quiet_open(struct run *r, struct enr *e, const struct step *s,
    const char *lead_zone, const char *window_zone, char *why, size_t size)
{
	struct window q = r->quiet;
	const char *zones[QUIET_MAX_ZONES];
	struct zoned z[1 + QUIET_MAX_ZONES];
	char hours[32], other[32], where[128], names[48];
	int nzones, n = 0;

	/* a sequence narrows quiet hours, and never widens them */
	if (e->def->has_quiet) {
		if (e->def->quiet.start > q.start)
			q.start = e->def->quiet.start;
		if (e->def->quiet.end < q.end)
			q.end = e->def->quiet.end;
		if (q.start >= q.end) {
			format_hours(&e->def->quiet, hours, sizeof hours);
			format_hours(&r->quiet, other, sizeof other);
			snprintf(why, size, "quiet hours %s of the sequence and "
			    "%s of SEQ_QUIET_HOURS have no time in common",
			    hours, other);
			return -1;
		}
	}
	if (lead_zone) {
		zones[0] = lead_zone;
		nzones = 1;
	} else if ((nzones = quiet_zones(e->lead.f[LF_PHONE], zones,
	    QUIET_MAX_ZONES, names, sizeof names)) == 0) {
		zones[0] = e->def->timezone;
		nzones = 1;
	}
	if (nzones == 1)
		snprintf(where, sizeof where, "%s", zones[0] ? zones[0] : "UTC");
	else
		snprintf(where, sizeof where, "every time zone of %s", names);

	/* holidays are days without a window, in the window's zone */
	const struct holidays *cal = holidays_for(e->def, &e->lead);
	if (e->def->has_window || cal)
		z[n++] = (struct zoned){ e->def->has_window ? &e->def->window :
		    NULL, window_zone, cal };
	for (int i = 0; i < nzones; i++)
		z[n++] = (struct zoned){ &q, zones[i], NULL };
	int64_t open = zoned_next_open(z, n, r->o->now,
	    r->o->now + QUIET_HORIZON);
	if (open < 0) {
		format_hours(&q, hours, sizeof hours);
		snprintf(why, size, "no time in the next %d days is inside quiet "
		    "hours %s in %s%s%s", QUIET_HORIZON / 86400, hours, where,
		    e->def->has_window ? " and inside the send window" : "",
		    cal ? " on a working day" : "");
	} else if (cal && open > r->o->now) {
		/* the holiday, if it was one, is the day it would have gone */
		z[0].cal = NULL;
		int64_t plain = zoned_next_open(z, n, r->o->now, open);
		if (plain >= 0 && plain < open)
			holiday_defer(e, s, cal, holiday_at(cal, window_zone,
			    plain), open);
	}
	return open;
}

/* An email goes out inside the send window, on a day that is no holiday
 * of the lead's calendar (holiday.h); -1 with the reason in why when no
 * day is. */
static int64_t
email_open(struct run *r, struct enr *e, const struct step *s,
    const char *zone, char *why, size_t size)
{
	const struct holidays *cal = holidays_for(e->def, &e->lead);
	const struct window *w = e->def->has_window ? &e->def->window : NULL;
	const char *holiday;
	if (!cal)
		return w ? window_next_open(w, zone, r->o->now) : r->o->now;
	int64_t open = holiday_next_open(cal, w, zone, r->o->now, &holiday);
	if (open < 0)
		snprintf(why, size, "no day in the next year is a working day "
		    "of holiday calendar %s", holidays_name(cal));
	else if (holiday)
		holiday_defer(e, s, cal, holiday, open);
	return open;
}

/* What put a step off to a later moment, for --explain: a holiday names
 * itself in the deferral it added; else the window, or quiet hours. */
static const char *
held_by(struct run *r, struct enr *e, const struct step *s, int ch,
    const char *zone)
{
	if (e->ndefers && e->defers[e->ndefers - 1].s == s)
		return e->defers[e->ndefers - 1].reason;
	if (ch != CH_EMAIL && (!e->def->has_window || window_next_open(
	    &e->def->window, zone, r->o->now) <= r->o->now))
		return "outside quiet hours";
	return "outside the send window";
}

/* A message step: skipped (0), deferred (-1, next_run_at set) or claimed
 * (1, job written). */
static int
message(struct run *r, struct enr *e, const struct step *s)
{
	int ch = step_channel(s);
	const char *to = ch == CH_EMAIL ? e->lead.f[LF_EMAIL] : e->lead.f[LF_PHONE];
	char picked[128];
	const char *why = NULL, *from = sender(e->def, ch, to, picked, sizeof picked);
	const char *lead_zone = e->lead.f[LF_TIMEZONE] &&
	    tz_valid(e->lead.f[LF_TIMEZONE]) ? e->lead.f[LF_TIMEZONE] : NULL;
	const char *zone = lead_zone ? lead_zone : e->def->timezone;
	int64_t open = r->o->now;

	char suppressed[200], unsuitable[320];
	if (lead_opted_out(r->db, e->lead_id, channel_names[ch]))
		why = ch == CH_EMAIL ? "opted out of email" : ch == CH_SMS ?
		    "opted out of sms" : "opted out of voice";
	/* before validity: a bounce takes the valid-email badge away, and
	 * the reason to give is the bounce */
	else if (to && recipient_suppressed(r->db, to, suppressed,
	    sizeof suppressed))
		why = suppressed;
	else if (ch == CH_EMAIL && !e->valid_email)
		why = to ? "invalid email address" : "no email address";
	else if (ch != CH_EMAIL && !e->valid_phone)
		why = to ? "invalid phone number" : "no phone number";
	else if (ch != CH_EMAIL && (open = quiet_open(r, e, s, lead_zone, zone,
	    unsuitable, sizeof unsuitable)) < 0)
		why = unsuitable;
	else if (ch == CH_EMAIL && (open = email_open(r, e, s, zone, unsuitable,
	    sizeof unsuitable)) < 0)
		why = unsuitable;
	if (why) {
		pend_add(r, e, s, from, to, why);
		e->st.skipped++;
		explain(r, e, "skipped", s, 0, why);
		return 0;
	}
	if (open > r->o->now) {
		e->next_run_at = open;
		e->st.deferred++;
		explain(r, e, "deferred", s, open, held_by(r, e, s, ch, zone));
		return -1;
	}
	struct capcheck caps[4];
	int ncaps = caps_for(r, e, ch, from, caps), over = -1;
	int64_t until = 0;
	/* to the latest moment any cap allows, not to wake for each */
	for (int i = 0; i < ncaps; i++)
		if (r->caps[caps[i].cap].count >= caps[i].limit) {
			int64_t t = cap_until(r, &caps[i]);
			if (over < 0 || t > until) {
				over = i;
				until = t;
			}
		}
	if (over >= 0) {
		struct capcheck *k = &caps[over];
		char reason[200];
		if (r->caps[k->cap].lead_id)
			snprintf(reason, sizeof reason, "%s %s", k->source,
			    k->name);
		else
			snprintf(reason, sizeof reason, "%s %s=%ld", k->source,
			    k->name, k->limit);
		e->next_run_at = until;
		e->st.deferred++;
		/* due when the walk came to it, or when it was due again
		 * after an earlier deferral */
		defer_add(e, s, "deferred", reason, e->cursor != e->read_cursor ?
		    e->step_at : e->read_next_run_at, until);
		explain(r, e, "deferred", s, until, reason);
		return -1;
	}
	/* one count, however many limits hold it */
	for (int i = 0; i < ncaps; i++) {
		int seen = 0;
		for (int j = 0; j < i; j++)
			seen |= caps[j].cap == caps[i].cap;
		if (!seen)
			r->caps[caps[i].cap].count++;
	}

	struct pend *p = pend_add(r, e, s, from, to, NULL);
	write_job(r, e, s, ch, from, to, p);
	e->st.jobs++;
	return 1;
}

/* How late a wait may end before the catch-up policy counts it as an
 * outage: cron's minute, a slow run and a busy lock stay well inside. */
#define CATCH_UP_GRACE (15 * 60)

/*
 * When a wait that has ended ended, for the steps after it.  With "send"
 * (and any wait seq-due met in time), when it was to end: steps that came
 * due while seq-due did not run go out at once.  With "shift", a wait
 * that ended while seq-due did not run ends now, so every later step
 * moves by the delay.
 */
static int64_t
wait_over(struct run *r, struct enr *e, const struct step *s)
{
	int64_t end = e->step_at + s->duration;
	if (e->def->catch_up != CATCH_UP_SHIFT ||
	    r->o->now - end <= CATCH_UP_GRACE)
		return end;
	defer_add(e, s, "shifted", "catch_up shift", end, r->o->now);
	return r->o->now;
}

static void
explain_branch(struct run *r, struct enr *e, const struct step *s,
    const char *way, int to)
{
	char why[160];
	if (!r->o->explain)
		return;
	snprintf(why, sizeof why, "%s: %s", way, to == STEP_END ? "the end" :
	    e->def->steps[to].id);
	explain(r, e, "branched", s, 0, why);
}

static void
walk(struct run *r, struct enr *e)
{
	static char why[64];
	if (exit_reason(r, e, why, sizeof why)) {
		e->status = "exited";
		e->reason = xstrdup(why);
		e->st.exited++;
		explain(r, e, "exited", e->k == STEP_END ? NULL :
		    &e->def->steps[e->k], 0, why);
		return;
	}
	for (int n = 0; n < WALK_MAX; n++) {
		if (e->k == STEP_END) {
			e->status = "completed";
			e->reason = xstrdup("reached the end");
			e->st.completed++;
			explain(r, e, "completed", NULL, 0, e->reason);
			return;
		}
		const struct step *s = &e->def->steps[e->k];
		int64_t until;
		switch (s->type) {
		case ST_WAIT:
			if (r->o->now < e->step_at + s->duration) {
				e->next_run_at = e->step_at + s->duration;
				explain(r, e, "waiting", s, e->next_run_at, NULL);
				return;
			}
			move_to(e, s->next, wait_over(r, e, s));
			break;
		case ST_BRANCH:
			switch (branch(r, e, s, &until)) {
			case 1:
				explain_branch(r, e, s, "then", s->then_step);
				move_to(e, s->then_step, r->o->now);
				break;
			case 0:
				explain_branch(r, e, s, "else", s->else_step);
				move_to(e, s->else_step, r->o->now);
				break;
			default:
				e->next_run_at = until;
				explain(r, e, "waiting", s, until, NULL);
				return;
			}
			break;
		case ST_TASK:
			/* a person's work: seq-task --done moves it on */
			e->task = s;
			e->st.tasks++;
			explain(r, e, "task", s, 0, NULL);
			return;
		default:
			if (r->o->channel && strcmp(r->o->channel,
			    channel_names[step_channel(s)]) != 0)
				return;	/* another seq-due's; still due */
			switch (message(r, e, s)) {
			case 1: return;
			case -1: return;
			default: move_to(e, s->next, r->o->now);
			}
		}
	}
	errx(EXIT_DB, "enrollment %lld: no wait in %d steps", (long long)e->id,
	    WALK_MAX);
}

/*
 * Writes what the walk decided, under the write lock.  The walk may have
 * read the enrollment before another command changed it (a pause, a
 * cancel, another seq-due's claim): then the guarded update changes
 * nothing, and nothing of the walk is written; the enrollment is visited
 * again by a later run if it is still due.  Events, consent and leads read
 * by the walk may have changed since too: that is as if they had changed
 * just after the claim.  0, or -1 when the walk was dropped.
 */
static int
apply(struct run *r, struct enr *e)
{
	int64_t claim = 0;
	if (e->npend && !e->pend[e->npend - 1].why)
		claim = r->next_id + e->npend - 1;
	sqlite3_stmt *st = db_stmt(r->db, "UPDATE enrollments SET step = ?2, "
	    "cursor = ?3, attempt = ?4, step_at = ?5, next_run_at = ?6, "
	    "claim = ?7, updated_at = ?8 WHERE id = ?1 AND status = 'active' "
	    "AND claim IS NULL AND cursor = ?9 AND attempt = ?10 AND "
	    "next_run_at = ?11");
	bind_int(st, 1, e->id);
	bind_text(st, 2, e->k == STEP_END ? NULL : e->def->steps[e->k].id);
	bind_int(st, 3, e->cursor);
	bind_int(st, 4, e->attempt);
	bind_int(st, 5, e->step_at);
	if (e->status || e->task)
		sqlite3_bind_null(st, 6);
	else
		bind_int(st, 6, e->next_run_at);
	if (claim)
		bind_int(st, 7, claim);
	bind_int(st, 8, r->o->now);
	bind_int(st, 9, e->read_cursor);
	bind_int(st, 10, e->read_attempt);
	bind_int(st, 11, e->read_next_run_at);
	db_run(r->db, st);
	if (sqlite3_changes(db_handle(r->db)) == 0)
		return -1;

	/* a claim ends the walk: its job comes after the decisions */
	if (e->explain.len)
		buf_add(&r->out, e->explain.p, e->explain.len);
	for (int i = 0; i < e->npend; i++) {
		struct pend *p = &e->pend[i];
		if (p->why) {
			insert_execution(r, e, p, "skipped", NULL, 0);
			continue;
		}
		size_t start = r->out.len;
		struct jsonw w;
		jw_open(&w, &r->out);
		jw_int(&w, "execution_id", r->next_id);
		buf_addc(&r->out, ',');
		buf_add(&r->out, p->job.p + 1, p->job.len - 1);
		insert_execution(r, e, p, "claimed", r->out.p + start,
		    r->out.len - start - 1);
	}
	/* a visit after a resume finds its task open already */
	if (e->task && !task_open(r->db, e->id, e->lead_id, &e->lead, e->task,
	    e->cursor, r->o->now))
		e->st.tasks--;
	for (int i = 0; i < e->ndefers; i++) {
		struct defer *d = &e->defers[i];
		int ch = step_channel(d->s);
		deferral_record(r->db, e->id, d->s->id, ch < 0 ? NULL :
		    channel_names[ch], d->what, d->reason, d->due, d->until,
		    r->o->now);
	}
	if (e->status)
		enrollment_set_status(r->db, e->id, e->status, e->reason, r->o->now);
	return 0;
}

static void
out(struct run *r)
{
	if (r->o->sink)
		r->o->sink(&r->out, r->o->sink_arg);
	else
		emit(&r->out);
	r->out.len = 0;
}

static void
recover(struct run *r, long *budget)
{
	sqlite3_stmt *st;
	db_begin(r->db);
	/* counted as an outcome of its adapter, as seq-log counts the others,
	 * in counters that never go down (seq-stats --prom) */
	st = db_stmt(r->db, "INSERT INTO adapter_counters (adapter, channel, "
	    "outcome, count) SELECT coalesce(adapter, '-'), channel, 'unknown', "
	    "count(*) FROM sequence_executions WHERE state = 'sending' AND "
	    "lease_until <= ?1 GROUP BY 1, 2 ORDER BY 1, 2 ON CONFLICT DO "
	    "UPDATE SET count = count + excluded.count");
	bind_int(st, 1, r->o->now);
	db_run(r->db, st);
	st = db_stmt(r->db, "UPDATE sequence_executions SET state = 'unknown', "
	    "error = 'no outcome was recorded before the lease ended', "
	    "done_at = ?1 WHERE state = 'sending' AND lease_until <= ?1");
	bind_int(st, 1, r->o->now);
	db_run(r->db, st);
	r->st->unknown += sqlite3_changes(db_handle(r->db));

	st = db_stmt(r->db, "SELECT x.id, j.job FROM sequence_executions x "
	    "JOIN execution_jobs j ON j.execution_id = x.id "
	    "JOIN enrollments e ON e.id = x.enrollment_id "
	    "WHERE x.state = 'claimed' AND x.lease_until <= ?1 "
	    "AND (?2 IS NULL OR x.channel = ?2) AND (?3 IS NULL OR "
	    "e.sequence_id = ?3) AND (?4 = 0 OR e.id % ?4 = ?5) "
	    "AND (?7 = 0 OR e.lead_id = ?7) ORDER BY x.id LIMIT ?6");
	bind_int(st, 1, r->o->now);
	bind_text(st, 2, r->o->channel);
	if (r->seq_filter)
		bind_int(st, 3, r->seq_filter);
	bind_int(st, 4, r->o->shard_n);
	bind_int(st, 5, r->o->shard_k - 1);
	bind_int(st, 6, *budget);
	bind_int(st, 7, r->o->lead_id);
	int64_t *ids = NULL;
	size_t n = 0;
	while (db_step(r->db, st) == SQLITE_ROW) {
		ids = xrealloc(ids, (n + 1) * sizeof *ids);
		ids[n] = sqlite3_column_int64(st, 0);
		char *job = pii_job_text(r->db, st, 1, ids[n++]);
		buf_adds(&r->out, job);
		buf_addc(&r->out, '\n');
		free(job);
	}
	sqlite3_reset(st);
	for (size_t i = 0; i < n; i++) {
		st = db_stmt(r->db, "UPDATE sequence_executions SET "
		    "lease = ?3, lease_until = ?1 + ?3 WHERE id = ?2");
		bind_int(st, 1, r->o->now);
		bind_int(st, 3, r->o->lease);
		bind_int(st, 2, ids[i]);
		db_run(r->db, st);
	}
	free(ids);
	r->st->reclaimed += (long)n;
	r->st->jobs += (long)n;
	*budget -= (long)n;
	db_commit(r->db);
	out(r);
	progress_set(r->o->progress, r->st->jobs);
}

/* The next batch of due enrollments, in the current transaction. */
static int
read_batch(struct run *r, struct enr *es, int batch, int64_t after_at,
    int64_t after_id)
{
	const struct due_opts *o = r->o;
	int n = 0;
	sqlite3_stmt *st = db_stmt(r->db, "SELECT e.id, e.lead_id, "
	    "e.sequence_id, e.version, e.step, e.cursor, e.attempt, e.step_at, "
	    "e.next_run_at, e.created_at, l.external_id, l.email, "
	    "l.phone, l.first_name, l.last_name, l.company, l.title, "
	    "l.timezone, l.attributes, "
	    "instr(l.badges, '\"valid-email\"') > 0, "
	    "instr(l.badges, '\"valid-phone\"') > 0, "
	    "(SELECT c.id FROM enrollments c WHERE c.lead_id = e.lead_id "
	    "AND c.status = 'converted' LIMIT 1), l.sealed "
	    "FROM enrollments e JOIN leads l ON l.id = e.lead_id "
	    "WHERE e.status = 'active' AND e.claim IS NULL "
	    "AND e.next_run_at <= ?1 AND (e.next_run_at, e.id) > (?2, ?3) "
	    "AND (?4 IS NULL OR e.sequence_id = ?4) "
	    "AND (?5 = 0 OR e.id % ?5 = ?6) AND (?8 = 0 OR e.lead_id = ?8) "
	    "ORDER BY e.next_run_at, e.id LIMIT ?7");
	bind_int(st, 1, o->now);
	bind_int(st, 2, after_at);
	bind_int(st, 3, after_id);
	if (r->seq_filter)
		bind_int(st, 4, r->seq_filter);
	bind_int(st, 5, o->shard_n);
	bind_int(st, 6, o->shard_k - 1);
	/* not cut to the budget: with --channel, steps of other channels
	 * come first and yield no job */
	bind_int(st, 7, batch);
	bind_int(st, 8, o->lead_id);
	while (db_step(r->db, st) == SQLITE_ROW) {
		struct enr *e = &es[n++];
		memset(e, 0, sizeof *e);
		e->id = sqlite3_column_int64(st, 0);
		e->lead_id = sqlite3_column_int64(st, 1);
		e->seq_id = sqlite3_column_int64(st, 2);
		e->version = sqlite3_column_int(st, 3);
		e->cursor = e->read_cursor = sqlite3_column_int(st, 5);
		e->attempt = e->read_attempt = sqlite3_column_int(st, 6);
		e->step_at = sqlite3_column_int64(st, 7);
		e->next_run_at = e->read_next_run_at =
		    sqlite3_column_int64(st, 8);
		e->created_at = sqlite3_column_int64(st, 9);
		e->step_id = col_text(st, 4) ? xstrdup(col_text(st, 4)) : NULL;
		for (int f = 0; f < LF_COUNT; f++)
			e->lead.f[f] = col_text(st, 10 + f) ?
			    xstrdup(col_text(st, 10 + f)) : NULL;
		/* attributes are parsed only when there are some */
		const char *attrs = col_text(st, 18);
		json_error_t je;
		e->lead.attributes = attrs && strcmp(attrs, "{}") ?
		    json_loads(attrs, 0, &je) : NULL;
		e->valid_email = sqlite3_column_int(st, 19);
		e->valid_phone = sqlite3_column_int(st, 20);
		e->converted = sqlite3_column_int64(st, 21);
		if (sqlite3_column_type(st, 22) == SQLITE_BLOB) {
			e->lead.id = e->lead_id;
			lead_unseal(r->db, &e->lead, sqlite3_column_blob(st, 22),
			    (size_t)sqlite3_column_bytes(st, 22));
		}
	}
	sqlite3_reset(st);
	return n;
}

static void
walk_batch(struct run *r, struct enr *es, int n, long budget)
{
	r->ncaps = 0;
	for (int i = 0; i < n && budget > 0; i++) {
		struct enr *e = &es[i];
		const char *step = e->step_id;
		e->def = sequence_version(r->db, e->seq_id, e->version);
		if (!e->def)
			errx(EXIT_DB, "enrollment %lld: sequence version %d is "
			    "gone", (long long)e->id, e->version);
		e->k = step ? seqdef_step(e->def, step) : STEP_END;
		if (step && e->k < 0)
			errx(EXIT_DB, "enrollment %lld: no step '%s' in version "
			    "%d", (long long)e->id, step, e->version);
		walk(r, e);
		budget -= e->st.jobs;
	}
}

/* 1 when another command claimed against a cap this batch counted. */
static int
caps_moved(struct run *r)
{
	for (int i = 0; i < r->ncaps; i++)
		if (cap_count(r->db, &r->caps[i]) != r->caps[i].base)
			return 1;
	return 0;
}

static void
free_batch(struct enr *es, int n)
{
	for (int i = 0; i < n; i++) {
		struct enr *e = &es[i];
		free(e->step_id);
		free(e->reason);
		for (int f = 0; f < LF_COUNT; f++)
			free(e->lead.f[f]);
		json_decref(e->lead.attributes);
		for (int j = 0; j < e->npend; j++) {
			free(e->pend[j].from);
			free(e->pend[j].to);
			free(e->pend[j].why);
			free(e->pend[j].in_reply_to);
			buf_free(&e->pend[j].job);
		}
		free(e->pend);
		free(e->defers);
		buf_free(&e->explain);
	}
}

static void
add_stats(struct due_stats *to, const struct due_stats *from)
{
	to->jobs += from->jobs;
	to->skipped += from->skipped;
	to->deferred += from->deferred;
	to->completed += from->completed;
	to->exited += from->exited;
	to->tasks += from->tasks;
}

/*
 * A batch is read and walked in a read transaction, while the other
 * commands of the pipeline write, and only its rows are written under the
 * write lock.  If another seq-due claimed against a cap the batch counted,
 * the counts it decided on are stale: the batch is read and walked again
 * under the lock.
 */
int
due_run(struct db *db, const struct due_opts *o, struct due_stats *stats)
{
	struct run r = { .db = db, .o = o, .st = stats };
	long budget = o->limit < 0 ? (long)1 << 62 : o->limit;
	int64_t after_at = INT64_MIN, after_id = 0;
	int batch = o->batch > 0 ? o->batch : 500;
	struct enr *es;

	memset(stats, 0, sizeof *stats);
	quiet_config(&r.quiet);
	snprintf(r.instance, sizeof r.instance, "%s", db_instance(db));
	if (o->sequence && !(r.seq_filter = sequence_find(db, o->sequence, NULL)))
		return -1;
	freqcaps_load(&r.fc);
	es = xcalloc((size_t)batch, sizeof *es);
	/* out-of-office pauses whose return has come (lib/autoreply.c) */
	autoreply_resume(db, o->now);
	recover(&r, &budget);

	while (budget > 0) {
		int locked = 0, n;
		for (;;) {
			if (locked)
				db_begin(db);
			else
				db_begin_read(db);
			n = read_batch(&r, es, batch, after_at, after_id);
			if (n == 0)
				break;
			walk_batch(&r, es, n, budget);
			if (locked)
				break;
			db_end_read(db);
			db_begin(db);
			if (!caps_moved(&r))
				break;
			db_rollback(db);
			free_batch(es, n);
			locked = 1;
		}
		if (n == 0) {
			if (locked)
				db_commit(db);
			else
				db_end_read(db);
			break;
		}
		after_at = es[n - 1].read_next_run_at;
		after_id = es[n - 1].id;
		sqlite3_stmt *st = db_stmt(db, "SELECT coalesce(max(id), 0) + 1 "
		    "FROM sequence_executions");
		db_step(db, st);
		r.next_id = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		for (int i = 0; i < n; i++)
			if (es[i].def && apply(&r, &es[i]) == 0) {
				add_stats(stats, &es[i].st);
				budget -= es[i].st.jobs;
			}
		db_commit(db);
		out(&r);
		progress_set(o->progress, stats->jobs);
		free_batch(es, n);
		if (n < batch)
			break;
	}
	free(es);
	buf_free(&r.out);
	free(r.caps);
	freqcaps_free(&r.fc);
	return 0;
}
