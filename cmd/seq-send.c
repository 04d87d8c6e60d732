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
#include <unistd.h>

#include "adapter.h"
#include "config.h"
#include "dispatch.h"
#include "db.h"
#include "jsonw.h"
#include "ndjson.h"
#include "record.h"
#include "util.h"

static void
usage(void)
{
	fprintf(stderr, "usage: seq-send [--db path] [--now time] [--live] "
	    "[--parallel n] [--rate adapter=n/s]\n"
	    "                [--sender-rate adapter=n/s] [--timeout duration] "
	    "[--connect-timeout duration]\n"
	    "                [--retry-for duration] [--config file] [--verbose]\n");
	exit(EXIT_USAGE);
}

struct pending {
	json_t *rec;
	struct job job;
	long line;
	struct run *run;
	struct delivery d;
};

struct run {
	struct db *db;
	int64_t now;
	int fixed_now, live;
	struct dispatch *dispatch;
	struct pending *p;
	size_t n, cap;
	struct buf out;
	long sent, failed, retry, strangers;
	int tty;		/* progress on stderr */
	time_t shown;
	int64_t emitted_ms;
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
	if (!(a = adapter_for(j.channel, r->live, &why)))
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
	memset(&r->p[r->n].d, 0, sizeof r->p[r->n].d);
	r->p[r->n].d.adapter = a;
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
	jw_str(&w, "adapter", d->adapter->name);
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
	else if (!strcmp(d->status, "retry"))
		r->retry++;
	else
		r->sent++;
}

/* Marks each job sending; 1 if it was still claimed. */
static int
mark_sending(struct run *r, struct pending *p, int64_t now)
{
	/* the adapter too, so that an attempt that becomes unknown is
	 * counted against it */
	sqlite3_stmt *st = db_stmt(r->db, "UPDATE sequence_executions SET "
	    "state = 'sending', sending_at = ?3, lease_until = ?3 + lease, "
	    "adapter = ?4 WHERE id = ?1 AND key = ?2 AND state = 'claimed'");
	bind_int(st, 1, p->job.execution_id);
	bind_text(st, 2, p->job.key);
	bind_int(st, 3, now);
	bind_text(st, 4, p->d.adapter->name);
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

/* dispatch's admit(): the attempts of a group, durably, before any
 * leaves */
static void
admit(struct delivery **group, size_t n, void *arg)
{
	struct run *r = arg;
	int64_t now = r->fixed_now ? r->now : (int64_t)time(NULL);

	db_begin(r->db);
	for (size_t i = 0; i < n; i++)
		group[i]->admitted = mark_sending(r, group[i]->arg, now);
	db_commit(r->db);
}

static uint64_t
clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
show_progress(struct run *r, const char *end)
{
	fprintf(stderr, "\rseq-send: %ld sent, %ld failed, %ld to retry%s",
	    r->sent, r->failed, r->retry, end);
}

/* Results leave as soon as they are known, so that seq-log records them
 * while slow deliveries are still under way. */
static void
progress(void *arg, int final)
{
	struct run *r = arg;
	int64_t now_ms = (int64_t)clock_ms();
	/* out in writes of some size, yet never more than 50 ms late: a write
	 * per handful of results cost more than their requests' sends */
	if (r->out.len && (final || r->out.len >= 32768 ||
	    now_ms - r->emitted_ms >= 50)) {
		emit(&r->out);
		r->emitted_ms = now_ms;
	}
	if (r->tty && time(NULL) != r->shown) {
		r->shown = time(NULL);
		show_progress(r, "");
	}
}

static void
on_flush(struct ndjson *nj, void *arg)
{
	struct run *r = arg;

	(void)nj;
	for (size_t i = 0; i < r->n; i++) {
		struct pending *p = &r->p[i];
		p->run = r;
		p->d.job = &p->job;
		p->d.done = done;
		p->d.arg = p;
		dispatch_add(r->dispatch, &p->d);
	}
	dispatch_run(r->dispatch, admit, progress, r);
	for (size_t i = 0; i < r->n; i++) {
		json_decref(r->p[i].rec);
		free(r->p[i].job.line);
	}
	r->n = 0;
}

static int64_t
duration_ms(const char *opt, const char *arg)
{
	int64_t s;
	if (parse_duration(arg, &s) != 0 || s < 1)
		errx(EXIT_USAGE, "%s: a duration like 30s", opt);
	return s * 1000;
}

int
main(int argc, char **argv)
{
	enum { O_DB = 256, O_NOW, O_LIVE, O_PARALLEL, O_RATE, O_SENDER_RATE,
		O_TIMEOUT, O_CONNECT_TIMEOUT, O_RETRY_FOR, O_CONFIG, O_VERBOSE };
	static const struct option opts[] = {
		{ "db", required_argument, NULL, O_DB },
		{ "now", required_argument, NULL, O_NOW },
		{ "live", no_argument, NULL, O_LIVE },
		{ "parallel", required_argument, NULL, O_PARALLEL },
		{ "rate", required_argument, NULL, O_RATE },
		{ "sender-rate", required_argument, NULL, O_SENDER_RATE },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "connect-timeout", required_argument, NULL, O_CONNECT_TIMEOUT },
		{ "retry-for", required_argument, NULL, O_RETRY_FOR },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "verbose", no_argument, NULL, O_VERBOSE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dbopt = NULL, *nowopt = NULL, *configopt = NULL, *why;
	struct dispatch_opts o = { .parallel = 16, .connect_timeout_ms = 10000,
		.timeout_ms = 30000, .retry_for_ms = 60000, .prog = "seq-send" };
	struct run r = { 0 };
	int c;

	while ((c = getopt_long(argc, argv, "hv", opts, NULL)) != -1)
		switch (c) {
		case O_DB: dbopt = optarg; break;
		case O_NOW: nowopt = optarg; break;
		case O_LIVE: r.live = 1; break;
		case O_PARALLEL:
			o.parallel = (int)parse_whole("--parallel", optarg, 1, 1024);
			break;
		case O_RATE:
		case O_SENDER_RATE:
			if (adapter_set_rate(optarg, c == O_SENDER_RATE, &why) != 0)
				errx(EXIT_USAGE, "%s %s: %s", c == O_RATE ? "--rate" :
				    "--sender-rate", optarg, why);
			break;
		case O_TIMEOUT: o.timeout_ms = duration_ms("--timeout", optarg); break;
		case O_CONNECT_TIMEOUT:
			o.connect_timeout_ms = duration_ms("--connect-timeout", optarg);
			break;
		case O_RETRY_FOR:
			o.retry_for_ms = duration_ms("--retry-for", optarg);
			break;
		case O_CONFIG: configopt = optarg; break;
		case 'v':
		case O_VERBOSE: o.verbose = 1; break;
		default: usage();
		}
	if (optind != argc)
		usage();
	config_load("seq-send", configopt);
	r.now = resolve_now(nowopt);
	r.fixed_now = nowopt || (getenv("SEQ_NOW") && *getenv("SEQ_NOW"));
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	r.db = db_open(resolve_db(dbopt), 0);
	r.dispatch = dispatch_new(&o);
	struct ndjson nj = { .prog = "seq-send", .record = on_record,
		.flush = on_flush, .arg = &r };
	r.tty = isatty(2);
	long rejected = ndjson_run(&nj, 0);
	if (r.tty)
		show_progress(&r, "\n");
	dispatch_free(r.dispatch);
	adapters_close();
	config_free();
	buf_free(&r.out);
	free(r.p);
	db_close(r.db);
	finish_stdout();
	return rejected || r.failed || r.strangers ? EXIT_REJECTED : 0;
}
