/*
 * company: see company.h.  A company is an email domain, compared exactly
 * and without case: sales.acme.example is not acme.example.  In a sealed
 * database the domain is not in clear anywhere: each open enrollment of the
 * sequence has its lead opened to read it, one decryption per enrollment
 * per company reply, which replies are rare enough to pay for.
 */
#include "company.h"

#include <ctype.h>
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domains.h"
#include "enroll.h"
#include "lead.h"
#include "pii.h"
#include "sequence.h"
#include "util.h"

static struct domain_list freemail = { "freemail-domains.txt", NULL, 0 };

int
freemail_domain(const char *domain)
{
	return domain_listed(&freemail, domain);
}

/* The domain of an address, in lower case, after its last @ (an invalid
 * address may have more); NULL if it has none.  colleagues() matches the
 * same way in SQL. */
static char *
domain_of(const char *email)
{
	const char *at = email ? strrchr(email, '@') : NULL;
	char *d;
	if (!at || !at[1])
		return NULL;
	d = xstrdup(at + 1);
	for (char *p = d; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

struct ids {
	int64_t *v;
	size_t n, cap;
};

static void
ids_add(struct ids *s, int64_t id)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == id)
			return;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->v = xrealloc(s->v, s->cap * sizeof *s->v);
	}
	s->v[s->n++] = id;
}

/* The colleagues' open enrollments in sequence seq_id, into out. */
static void
colleagues(struct db *db, const struct event *e, int64_t seq_id,
    const char *domain, struct ids *out)
{
	int sealed = pii_keys(db) != NULL;
	/* enrolled by the time of the reply, as an exit_on event counts */
	sqlite3_stmt *st = db_stmt(db, "SELECT e.id, l.id, l.sealed FROM "
	    "enrollments e JOIN leads l ON l.id = e.lead_id WHERE "
	    "e.sequence_id = ?1 AND (e.status = 'active' OR "
	    "e.status = 'paused') AND e.lead_id != ?2 AND e.created_at <= ?3 "
	    "AND (?4 IS NULL OR lower(substr(l.email, -length(?4) - 1)) = "
	    "'@' || ?4) ORDER BY e.id");

	bind_int(st, 1, seq_id);
	bind_int(st, 2, e->lead_id);
	bind_int(st, 3, e->at);
	/* a blind index has no domain: sealed leads are opened one by one */
	bind_text(st, 4, sealed ? NULL : domain);
	while (db_step(db, st) == SQLITE_ROW) {
		if (sealed) {
			struct lead l = { .id = sqlite3_column_int64(st, 1) };
			char *d;
			if (sqlite3_column_type(st, 2) != SQLITE_BLOB)
				continue;
			lead_unseal(db, &l, sqlite3_column_blob(st, 2),
			    (size_t)sqlite3_column_bytes(st, 2));
			d = domain_of(l.f[LF_EMAIL]);
			if (d && strcmp(d, domain) == 0)
				ids_add(out, sqlite3_column_int64(st, 0));
			free(d);
			lead_free(&l);
		} else
			ids_add(out, sqlite3_column_int64(st, 0));
	}
	sqlite3_reset(st);
}

void
company_reply(struct db *db, const struct event *e, int64_t now)
{
	struct lead replier;
	struct ids seqs = { 0 }, stop = { 0 };
	char *domain = NULL;
	sqlite3_stmt *st;

	if (lead_load(db, e->lead_id, &replier) != 0)
		return;
	domain = domain_of(replier.f[LF_EMAIL]);
	lead_free(&replier);
	if (!domain || freemail_domain(domain)) {
		free(domain);
		return;
	}
	/* the sequences the replier is in, or whose message it answers */
	st = db_stmt(db, "SELECT sequence_id, version FROM enrollments WHERE "
	    "lead_id = ?1 AND (((status = 'active' OR status = 'paused') AND "
	    "created_at <= ?2) OR id = (SELECT enrollment_id FROM "
	    "sequence_executions WHERE id = ?3))");
	bind_int(st, 1, e->lead_id);
	bind_int(st, 2, e->at);
	bind_int(st, 3, e->execution_id);
	while (db_step(db, st) == SQLITE_ROW) {
		const struct seqdef *d = sequence_version(db,
		    sqlite3_column_int64(st, 0), sqlite3_column_int(st, 1));
		if (d && d->stop_on_company_reply)
			ids_add(&seqs, sqlite3_column_int64(st, 0));
	}
	sqlite3_reset(st);
	for (size_t i = 0; i < seqs.n; i++)
		colleagues(db, e, seqs.v[i], domain, &stop);
	for (size_t i = 0; i < stop.n; i++) {
		char *why = xasprintf("reply from a colleague (lead %lld, "
		    "event %lld)", (long long)e->lead_id, (long long)e->id);
		enrollment_set_status(db, stop.v[i], "exited", why, now);
		free(why);
	}
	free(seqs.v);
	free(stop.v);
	free(domain);
}
