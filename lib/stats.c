/*
 * stats: see stats.h.
 */
#include "stats.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seqdef.h"
#include "sequence.h"
#include "util.h"

const char *const step_count_names[SC_COUNT] = {
	"sent", "failed", "unknown", "retried", "skipped", "delivered",
	"opened", "clicked", "replied", "bounced", "opted_out", "complained",
	"answered", "converted"
};

const char *const enrollment_count_names[EC_COUNT] = {
	"enrolled", "active", "paused", "completed", "exited", "failed",
	"cancelled", "converted"
};

/* What each event type counts as; others (a deferral, say) count nothing. */
static const struct {
	const char *type;
	enum step_count count;
} event_counts[] = {
	{ "delivered", SC_DELIVERED }, { "open", SC_OPENED },
	{ "click", SC_CLICKED }, { "reply", SC_REPLIED },
	{ "bounce", SC_BOUNCED }, { "unsubscribe", SC_OPTED_OUT },
	{ "complaint", SC_COMPLAINED }, { "answered", SC_ANSWERED },
};
#define REPLY_KIND 3	/* the index of "reply" above */

int
stats_price(const char *prices, const char *channel, const char *adapter,
    double *price, const char **bad)
{
	static char word[128];
	double by_channel = 0, by_adapter = -1;
	const char *p = prices ? prices : "";

	*price = 0;
	while (*p) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		size_t n = strcspn(p, " \t");
		snprintf(word, sizeof word, "%.*s", (int)n, p);
		p += n;
		if (n >= sizeof word) {
			*bad = word;
			return -1;
		}
		char *eq = strchr(word, '='), *end;
		if (!eq || eq == word) {
			*bad = word;
			return -1;
		}
		*eq = '\0';
		double v = strtod(eq + 1, &end);
		if (end == eq + 1 || *end || !isfinite(v) || v < 0) {
			*eq = '=';
			*bad = word;
			return -1;
		}
		char *slash = strchr(word, '/');
		if (slash)
			*slash = '\0';
		if (strcmp(word, channel))
			continue;
		if (!slash)
			by_channel = v;
		else if (adapter && !strcmp(slash + 1, adapter))
			by_adapter = v;
	}
	*price = by_adapter >= 0 ? by_adapter : by_channel;
	return 0;
}

static struct funnel *
funnel_of(struct funnel *f, int n, int64_t seq_id, int version)
{
	/* few funnels: a scan is enough */
	for (int i = 0; i < n; i++)
		if (f[i].sequence_id == seq_id && f[i].version == version)
			return &f[i];
	return NULL;
}

static struct step_stats *
step_of(struct funnel *f, const char *id)
{
	if (!f || !id)
		return NULL;
	for (int i = 0; i < f->nsteps; i++)
		if (!strcmp(f->steps[i].id, id))
			return &f->steps[i];
	return NULL;
}

/* The figures of the variant an attempt went out as, or NULL. */
static struct step_stats *
variant_stats(struct step_stats *s, const char *name)
{
	if (!name)
		return NULL;
	for (int i = 0; i < s->nvariants; i++)
		if (!strcmp(s->variants[i].variant, name))
			return &s->variants[i];
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int
cmp_funnel(const void *a, const void *b)
{
	const struct funnel *x = a, *y = b;
	int c = strcmp(x->sequence, y->sequence);
	return c ? c : (x->version > y->version) - (x->version < y->version);
}

static int64_t
max_id(struct db *db, sqlite3_stmt *st)
{
	int64_t n = db_step(db, st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return n > 0 ? n : 0;
}

/*
 * Three scans, each in the order of its table or index, with the joins done
 * here in arrays indexed by id: the enrollments of the cohort, then every
 * attempt, then every event by attempt (a covering index).  Joining in SQL
 * would look up a row at random for each attempt and each event, which is
 * several times slower over millions of them.
 */
struct scan {
	int32_t *funnel;	/* by enrollment id: index in f, or -1 */
	uint8_t *converted;	/* by enrollment id */
	int32_t *slot;		/* by attempt id: sent, counted: step slot, or -1 */
	int32_t *vslot;		/* by attempt id: its variant's slot, or -1;
				 * NULL when no step has variants */
	uint16_t *seen;		/* by attempt id: event kinds already counted */
	int64_t *sent_at, *replied_at;	/* by attempt id */
	struct step_stats **slots;
	int nslots;
};

int
stats_funnels(struct db *db, const struct stats_opts *o, struct funnel **out)
{
	struct funnel *f = NULL;
	struct scan sc = { 0 };
	int n = 0;
	int64_t seq_id = 0, nenr, nexec;
	sqlite3_stmt *st;

	*out = NULL;
	if (o->sequence && !(seq_id = sequence_find(db, o->sequence, NULL)))
		return -1;
	nenr = max_id(db, db_stmt(db, "SELECT max(id) FROM enrollments"));
	nexec = max_id(db, db_stmt(db, "SELECT max(id) FROM "
	    "sequence_executions"));
	sc.funnel = xcalloc((size_t)nenr + 1, sizeof *sc.funnel);
	memset(sc.funnel, 0xff, (size_t)(nenr + 1) * sizeof *sc.funnel);
	sc.converted = xcalloc((size_t)nenr + 1, 1);
	sc.slot = xcalloc((size_t)nexec + 1, sizeof *sc.slot);
	memset(sc.slot, 0xff, (size_t)(nexec + 1) * sizeof *sc.slot);
	sc.seen = xcalloc((size_t)nexec + 1, sizeof *sc.seen);
	sc.sent_at = xcalloc((size_t)nexec + 1, sizeof *sc.sent_at);
	sc.replied_at = xcalloc((size_t)nexec + 1, sizeof *sc.replied_at);

	/* the cohort */
	st = db_stmt(db, "SELECT e.id, e.sequence_id, s.name, e.version, "
	    "e.status, e.value FROM enrollments e JOIN sequences s ON s.id = "
	    "e.sequence_id WHERE (?1 IS NULL OR e.sequence_id = ?1) AND "
	    "e.created_at >= ?2 AND e.created_at < ?3");
	if (seq_id)
		bind_int(st, 1, seq_id);
	bind_int(st, 2, o->since);
	bind_int(st, 3, o->until);
	while (db_step(db, st) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		int64_t sid = sqlite3_column_int64(st, 1);
		int version = sqlite3_column_int(st, 3);
		struct funnel *fu = funnel_of(f, n, sid, version);
		if (!fu) {
			const struct seqdef *d = sequence_version(db, sid, version);
			f = xrealloc(f, (size_t)(n + 1) * sizeof *f);
			fu = &f[n++];
			memset(fu, 0, sizeof *fu);
			fu->sequence = xstrdup(col_text(st, 2));
			fu->sequence_id = sid;
			fu->version = version;
			fu->steps = xcalloc((size_t)(d ? d->nsteps : 0) + 1,
			    sizeof *fu->steps);
			for (int i = 0; d && i < d->nsteps; i++) {
				int ch = step_channel(&d->steps[i]);
				if (ch < 0)
					continue;
				struct step_stats *ss = &fu->steps[fu->nsteps++];
				const struct step *ds = &d->steps[i];
				ss->id = ds->id;
				ss->channel = channel_names[ch];
				if (!ds->nvariants)
					continue;
				ss->variants = xcalloc((size_t)ds->nvariants,
				    sizeof *ss->variants);
				ss->nvariants = ds->nvariants;
				for (int v = 0; v < ds->nvariants; v++) {
					ss->variants[v].id = ds->id;
					ss->variants[v].channel = ss->channel;
					ss->variants[v].variant =
					    ds->variants[v].name;
				}
			}
		}
		const char *status = col_text(st, 4);
		fu->n[EC_ENROLLED]++;
		for (int i = EC_ACTIVE; i < EC_COUNT; i++)
			if (!strcmp(status, enrollment_count_names[i]))
				fu->n[i]++;
		if (id >= 0 && id <= nenr) {
			sc.funnel[id] = (int32_t)(fu - f);
			if ((sc.converted[id] = !strcmp(status, "converted")))
				fu->revenue += sqlite3_column_double(st, 5);
		}
	}
	sqlite3_reset(st);

	/* every attempt, by the state it ended in, and what it cost; the
	 * slots of the steps, then those of their variants */
	int32_t *base = xcalloc((size_t)n + 1, sizeof *base);
	for (int i = 0; i < n; i++)
		for (int k = 0; k < f[i].nsteps; k++) {
			if (k == 0)
				base[i] = sc.nslots;
			sc.slots = xrealloc(sc.slots, (size_t)(sc.nslots + 1) *
			    sizeof *sc.slots);
			sc.slots[sc.nslots++] = &f[i].steps[k];
		}
	int nstepslots = sc.nslots;
	int32_t *vbase = xcalloc((size_t)nstepslots + 1, sizeof *vbase);
	for (int k = 0; k < nstepslots; k++) {
		struct step_stats *s = sc.slots[k];
		vbase[k] = sc.nslots;
		for (int v = 0; v < s->nvariants; v++) {
			sc.slots = xrealloc(sc.slots, (size_t)(sc.nslots + 1) *
			    sizeof *sc.slots);
			sc.slots[sc.nslots++] = &s->variants[v];
		}
	}
	if (sc.nslots > nstepslots) {
		sc.vslot = xcalloc((size_t)nexec + 1, sizeof *sc.vslot);
		memset(sc.vslot, 0xff, (size_t)(nexec + 1) * sizeof *sc.vslot);
	}
	st = db_stmt(db, "SELECT id, enrollment_id, step, state, channel, "
	    "adapter, cost, done_at, variant FROM sequence_executions");
	while (n && db_step(db, st) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		int64_t eid = sqlite3_column_int64(st, 1);
		if (eid < 0 || eid > nenr || sc.funnel[eid] < 0)
			continue;
		struct funnel *fu = &f[sc.funnel[eid]];
		struct step_stats *s = step_of(fu, col_text(st, 2));
		if (!s)
			continue;
		struct step_stats *v = s->nvariants ? variant_stats(s,
		    col_text(st, 8)) : NULL;
		const char *state = col_text(st, 3);
		static const struct { const char *state; enum step_count c; }
		    states[] = { { "sent", SC_SENT }, { "failed", SC_FAILED },
		    { "unknown", SC_UNKNOWN }, { "retry", SC_RETRIED },
		    { "skipped", SC_SKIPPED } };
		for (size_t i = 0; i < sizeof states / sizeof *states; i++)
			if (!strcmp(state, states[i].state)) {
				s->n[states[i].c]++;
				if (v)
					v->n[states[i].c]++;
			}
		double cost = sqlite3_column_double(st, 6), price;
		const char *bad;
		int sent = !strcmp(state, "sent");
		if (sent && sqlite3_column_type(st, 6) == SQLITE_NULL &&
		    stats_price(o->prices, col_text(st, 4), col_text(st, 5),
		    &price, &bad) == 0)
			cost = price;
		s->cost += cost;
		fu->cost += cost;
		if (v)
			v->cost += cost;
		if (!sent || id < 0 || id > nexec)
			continue;
		if (sc.converted[eid]) {
			s->n[SC_CONVERTED]++;
			if (v)
				v->n[SC_CONVERTED]++;
		}
		sc.slot[id] = base[sc.funnel[eid]] + (int32_t)(s - fu->steps);
		if (v)
			sc.vslot[id] = vbase[sc.slot[id]] +
			    (int32_t)(v - s->variants);
		sc.sent_at[id] = sqlite3_column_int64(st, 7);
	}
	sqlite3_reset(st);

	/* sent attempts with at least one event of a kind; the first reply */
	st = db_stmt(db, "SELECT execution_id, type, at FROM events "
	    "INDEXED BY events_execution WHERE execution_id IS NOT NULL "
	    "ORDER BY execution_id");
	while (n && db_step(db, st) == SQLITE_ROW) {
		int64_t x = sqlite3_column_int64(st, 0);
		if (x < 0 || x > nexec || sc.slot[x] < 0)
			continue;
		const char *type = col_text(st, 1);
		for (size_t i = 0; i < sizeof event_counts / sizeof *event_counts;
		    i++) {
			if (strcmp(type, event_counts[i].type))
				continue;
			if (!(sc.seen[x] & 1u << i)) {
				sc.seen[x] |= (uint16_t)(1u << i);
				sc.slots[sc.slot[x]]->n[event_counts[i].count]++;
				if (sc.vslot && sc.vslot[x] >= 0)
					sc.slots[sc.vslot[x]]->
					    n[event_counts[i].count]++;
			}
			int64_t at = sqlite3_column_int64(st, 2);
			if (event_counts[i].count == SC_REPLIED &&
			    (!sc.replied_at[x] || at < sc.replied_at[x]))
				sc.replied_at[x] = at;
		}
	}
	sqlite3_reset(st);

	/* time from a send to its first reply, per step and variant */
	double **times = xcalloc((size_t)sc.nslots + 1, sizeof *times);
	for (int64_t x = 0; x <= nexec; x++) {
		if (sc.slot[x] < 0 || !(sc.seen[x] & 1u << REPLY_KIND))
			continue;
		int64_t d = sc.replied_at[x] - sc.sent_at[x];
		int32_t in[2] = { sc.slot[x], sc.vslot ? sc.vslot[x] : -1 };
		for (int j = 0; j < 2 && in[j] >= 0; j++) {
			struct step_stats *s = sc.slots[in[j]];
			times[in[j]] = xrealloc(times[in[j]],
			    (size_t)(s->replies + 1) * sizeof **times);
			times[in[j]][s->replies++] = (double)(d > 0 ? d : 0);
		}
	}
	for (int i = 0; i < sc.nslots; i++) {
		struct step_stats *s = sc.slots[i];
		if (s->replies) {
			double sum = 0;
			long r = s->replies;
			qsort(times[i], (size_t)r, sizeof *times[i], cmp_double);
			for (long k = 0; k < r; k++)
				sum += times[i][k];
			s->reply_mean_s = sum / (double)r;
			s->reply_median_s = r % 2 ? times[i][r / 2] :
			    (times[i][r / 2 - 1] + times[i][r / 2]) / 2;
		}
		free(times[i]);
	}
	free(times);
	free(sc.funnel);
	free(sc.converted);
	free(sc.slot);
	free(sc.vslot);
	free(sc.seen);
	free(sc.sent_at);
	free(sc.replied_at);
	free(sc.slots);
	free(base);
	free(vbase);
	/* in the order of names and versions, not of first enrollments */
	if (n > 1)
		qsort(f, (size_t)n, sizeof *f, cmp_funnel);
	*out = f;
	return n;
}

void
stats_free(struct funnel *f, int n)
{
	for (int i = 0; i < n; i++) {
		free(f[i].sequence);
		for (int k = 0; k < f[i].nsteps; k++)
			free(f[i].steps[k].variants);
		free(f[i].steps);
	}
	free(f);
}
