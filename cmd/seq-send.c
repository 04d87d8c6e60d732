/*
 * seq-send: deliver jobs through their adapters and write results.
 *
 * For each batch of jobs, the attempt is recorded first (claimed -> sending,
 * committed), and only then are the jobs handed to their adapters.  A job
 * that is no longer claimed (released by a pause, or taken by another
 * seq-send) is not delivered.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapter.h"
#include "db.h"
#include "jsonw.h"
#include "ndjson.h"
#include "record.h"
#include "util.h"

static void
usage(void)
{
	fprintf(stderr, "usage: seq-send [--db path] [--now time]\n");
	exit(EXIT_USAGE);
}

struct pending {
	json_t *rec;
	struct job job;
	struct adapter *adapter;
	long line;
	struct run *run;
	int go;			/* still claimed: marked sending, to deliver */
	struct delivery d;
};

struct run {
	struct db *db;
	int64_t now;
	int fixed_now;
	struct pending *p;
	size_t n, cap;
	struct buf out;
	long failed, strangers;
};

static int
on_record(struct ndjson *nj, json_t *rec, long line, void *arg)
{
	struct run *r = arg;
	struct job j;
	const char *why = job_check(rec, &j);
	struct adapter *a;

	if (why) {
		ndjson_reject(nj, line, "%s", why);
		return -1;
	}
	if (!(a = adapter_for(j.channel, &why)))
		errx(EXIT_CONFIG, "%s", why);
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 256;
		r->p = xrealloc(r->p, r->cap * sizeof *r->p);
	}
	r->p[r->n].rec = json_incref(rec);
	j.line = xmalloc(nj->raw_len + 1);
	memcpy(j.line, nj->raw, nj->raw_len);
	j.line[nj->raw_len] = '\n';
	j.line_len = nj->raw_len + 1;
	r->p[r->n].job = j;
	r->p[r->n].adapter = a;
	r->p[r->n++].line = line;
	return 0;
}

static void
done(struct delivery *d)
{
	struct pending *p = d->arg;
	struct run *r = p->run;
	const struct job *j = d->job;
	struct jsonw w;

	jw_open(&w, &r->out);
	jw_int(&w, "execution_id", j->execution_id);
	jw_str(&w, "key", j->key);
	jw_int(&w, "enrollment_id", j->enrollment_id);
	jw_int(&w, "lead_id", j->lead_id);
	jw_str(&w, "sequence", j->sequence);
	jw_int(&w, "version", j->version);
	jw_str(&w, "step", j->step);
	jw_str(&w, "channel", j->channel);
	jw_int(&w, "attempt", j->attempt);
	jw_str(&w, "to", j->to);
	jw_str(&w, "status", d->status);
	jw_str(&w, "adapter", p->adapter->name);
	jw_str(&w, "provider_id", d->provider_id[0] ? d->provider_id : NULL);
	if (d->http_status)
		jw_int(&w, "http_status", d->http_status);
	else
		jw_null(&w, "http_status");
	jw_str(&w, "error", d->error[0] ? d->error : NULL);
	jw_int(&w, "latency_ms", d->latency_ms);
	if (d->has_cost)
		jw_real(&w, "cost", d->cost);
	else
		jw_null(&w, "cost");
	if (d->metadata[0])
		jw_raw(&w, "metadata", d->metadata, strlen(d->metadata));
	jw_close(&w);
	if (!strcmp(d->status, "failed"))
		r->failed++;
}

/* Marks each job sending; 1 if it was still claimed. */
static int
mark_sending(struct run *r, struct pending *p, int64_t now)
{
	sqlite3_stmt *st = db_stmt(r->db, "UPDATE sequence_executions SET "
	    "state = 'sending', sending_at = ?3, lease_until = ?3 + lease "
	    "WHERE id = ?1 AND key = ?2 AND state = 'claimed'");
	bind_int(st, 1, p->job.execution_id);
	bind_text(st, 2, p->job.key);
	bind_int(st, 3, now);
	db_run(r->db, st);
	if (sqlite3_changes(db_handle(r->db)) == 1)
		return 1;
	st = db_stmt(r->db, "SELECT state FROM sequence_executions WHERE "
	    "id = ? AND key = ?");
	bind_int(st, 1, p->job.execution_id);
	bind_text(st, 2, p->job.key);
	if (db_step(r->db, st) == SQLITE_ROW)
		fprintf(stderr, "seq-send: line %ld: execution %lld is %s, not "
		    "claimed; not sent\n", p->line,
		    (long long)p->job.execution_id, col_text(st, 0));
	else {
		/* not a race between runs: a job from another database */
		fprintf(stderr, "seq-send: line %ld: no execution %lld with key "
		    "%s; not sent\n", p->line,
		    (long long)p->job.execution_id, p->job.key);
		r->strangers++;
	}
	sqlite3_reset(st);
	return 0;
}

static void
on_flush(struct ndjson *nj, void *arg)
{
	struct run *r = arg;
	int64_t now = r->fixed_now ? r->now : (int64_t)time(NULL);

	(void)nj;
	if (r->n) {
		db_begin(r->db);
		for (size_t i = 0; i < r->n; i++)
			r->p[i].go = mark_sending(r, &r->p[i], now);
		db_commit(r->db);
	}
	for (size_t i = 0; i < r->n; i++) {
		struct pending *p = &r->p[i];
		if (!p->go)
			continue;
		memset(&p->d, 0, sizeof p->d);
		p->run = r;
		p->d.job = &p->job;
		p->d.done = done;
		p->d.arg = p;
		p->adapter->deliver(p->adapter, &p->d);
	}
	for (size_t i = 0; i < r->n; i++)
		if (r->p[i].go && (i == 0 || r->p[i].adapter != r->p[i - 1].adapter))
			r->p[i].adapter->wait(r->p[i].adapter);
	emit(&r->out);
	for (size_t i = 0; i < r->n; i++) {
		json_decref(r->p[i].rec);
		free(r->p[i].job.line);
	}
	r->n = 0;
}

int
main(int argc, char **argv)
{
	enum { O_DB = 256, O_NOW };
	static const struct option opts[] = {
		{ "db", required_argument, NULL, O_DB },
		{ "now", required_argument, NULL, O_NOW },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dbopt = NULL, *nowopt = NULL;
	struct run r = { 0 };
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		switch (c) {
		case O_DB: dbopt = optarg; break;
		case O_NOW: nowopt = optarg; break;
		default: usage();
		}
	if (optind != argc)
		usage();
	r.now = resolve_now(nowopt);
	r.fixed_now = nowopt || (getenv("SEQ_NOW") && *getenv("SEQ_NOW"));
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	r.db = db_open(resolve_db(dbopt), 0);
	struct ndjson nj = { .prog = "seq-send", .record = on_record,
		.flush = on_flush, .arg = &r };
	long rejected = ndjson_run(&nj, 0);
	adapters_close();
	buf_free(&r.out);
	free(r.p);
	db_close(r.db);
	finish_stdout();
	return rejected || r.failed || r.strangers ? EXIT_REJECTED : 0;
}
