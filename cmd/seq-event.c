/*
 * seq-event: provider webhooks in, normalised events out.  Drains the
 * spool seq-hook fills (--spool), or reads one provider payload per line
 * (--from).  Each event is recorded once and its effects applied in the
 * same transaction; a spool file is removed only after that commit.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapter.h"
#include "config.h"
#include "db.h"
#include "events.h"
#include "generic.h"
#include "ndjson.h"
#include "pii.h"
#include "progress.h"
#include "sequence.h"
#include "spool.h"
#include "util.h"

static void
usage(void)
{
	fprintf(stderr, "usage: seq-event [--db path] [--now time] "
	    "[--config file] [--live] --spool dir\n"
	    "       seq-event [--db path] [--now time] [--config file] [--live] "
	    "--from provider\n"
	    "       seq-event [--db path] [--now time] [--config file] "
	    "--from ndjson\n");
	exit(EXIT_USAGE);
}

struct speak {
	int64_t execution_id;
	char *call, *key;
};

struct run {
	struct db *db;
	int64_t now;
	int live;
	const char *provider;
	int generic;		/* --from ndjson: events of any source */
	struct speak *speak;
	size_t nspeak, speak_cap;
	struct event_list pending;
	struct buf out;
	long recorded, seen, ignored;
	struct progress progress;	/* spool files, or lines read */
};

/* The words of a voice step, said once its call is answered: after the
 * commit, so that a webhook delivered twice is spoken once. */
static void
speak_answered(struct run *r)
{
	for (size_t i = 0; i < r->nspeak; i++) {
		struct speak *s = &r->speak[i];
		sqlite3_stmt *st = db_stmt(r->db, "SELECT job FROM execution_jobs "
		    "WHERE execution_id = ?");
		json_t *job = NULL;
		json_error_t je;
		char why[400];

		bind_int(st, 1, s->execution_id);
		if (db_step(r->db, st) == SQLITE_ROW) {
			char *text = pii_job_text(r->db, st, 0, s->execution_id);
			job = json_loads(text, 0, &je);
			free(text);
		}
		sqlite3_reset(st);
		const char *say = json_string_value(json_object_get(job, "say"));
		if (!say)
			warnx("execution %lld: answered, but it has no words to say",
			    (long long)s->execution_id);
		else {
			/* the key again, so the call's later webhooks carry it */
			struct buf state = { 0 };
			if (s->key)
				buf_base64(&state, s->key, strlen(s->key));
			buf_addc(&state, '\0');
			if (telnyx_speak(s->call, say, s->key ? state.p : NULL, why,
			    sizeof why) != 0)
				warnx("execution %lld: call %s: cannot speak: %s",
				    (long long)s->execution_id, s->call, why);
			buf_free(&state);
		}
		json_decref(job);
		free(s->call);
		free(s->key);
	}
	r->nspeak = 0;
}

/* Records the pending events in one transaction, then prints the new. */
static void
commit_pending(struct run *r)
{
	struct buf recs = { 0 };
	long n = 0;

	db_begin(r->db);
	for (size_t i = 0; i < r->pending.n; i++) {
		struct event *e = &r->pending.e[i];
		if (!event_record(r->db, e, r->now)) {
			r->seen++;
			continue;
		}
		event_line(&recs, e);
		n++;
		if (r->live && !strcmp(e->provider, "telnyx") &&
		    !strcmp(e->type, "answered") && e->execution_id &&
		    e->message_id) {
			if (r->nspeak == r->speak_cap) {
				r->speak_cap = r->speak_cap ? r->speak_cap * 2 : 16;
				r->speak = xrealloc(r->speak,
				    r->speak_cap * sizeof *r->speak);
			}
			r->speak[r->nspeak++] = (struct speak){ e->execution_id,
			    xstrdup(e->message_id), e->key ? xstrdup(e->key) : NULL };
		}
	}
	db_commit(r->db);
	/* printed only once committed: what is printed is recorded */
	if (recs.len)
		buf_add(&r->out, recs.p, recs.len);
	buf_free(&recs);
	r->recorded += n;
	r->ignored += r->pending.ignored;
	events_free(&r->pending);
	emit(&r->out);
	speak_answered(r);
}

/* ---- --from: payloads on standard input ---- */

static int
on_record(struct ndjson *nj, json_t *rec, long line, void *arg)
{
	struct run *r = arg;
	const char *why = r->generic ?
	    generic_parse(r->db, rec, r->now, &r->pending) :
	    events_parse_json(r->provider, rec, r->now, &r->pending);
	if (why) {
		ndjson_reject(nj, line, "%s", why);
		return -1;
	}
	return 0;
}

static void
on_flush(struct ndjson *nj, void *arg)
{
	(void)nj;
	commit_pending(arg);
}

/* ---- --spool: files from seq-hook ---- */

/* The meta line seq-hook wrote; NULL when the file is not one of its. */
static const char *
read_meta(const char *file, size_t len, json_t **meta, const char **body,
    size_t *body_len)
{
	const char *nl = memchr(file, '\n', len);
	json_error_t e;

	if (!nl)
		return "no meta line: not a file seq-hook wrote";
	if (!(*meta = json_loadb(file, (size_t)(nl - file), JSON_REJECT_DUPLICATES,
	    &e)) || !json_is_object(*meta) ||
	    !json_is_string(json_object_get(*meta, "provider")) ||
	    !json_is_integer(json_object_get(*meta, "received_at"))) {
		json_decref(*meta);
		*meta = NULL;
		return "a bad meta line: not a file seq-hook wrote";
	}
	*body = nl + 1;
	*body_len = len - (size_t)(nl + 1 - file);
	return NULL;
}

static void
drain(struct run *r, const char *dir)
{
	struct spool_list l;
	char **done = NULL;
	size_t ndone = 0;

	spool_list(dir, &l);
	progress_start(&r->progress, "seq-event", "spool files", (long)l.n,
	    PROGRESS_OUT);
	done = xcalloc(l.n + 1, sizeof *done);
	for (size_t i = 0; i < l.n; i++) {
		size_t len, body_len;
		char *file = spool_read(dir, l.names[i], &len);
		const char *why, *body, *provider;
		json_t *meta = NULL;

		if (!file) {
			/* gone: another seq-event beside us took it; anything
			 * else is left where it is, to be read again */
			if (errno != ENOENT) {
				progress_clear(&r->progress);
				warn("%s/new/%s: left in the spool", dir, l.names[i]);
			}
		} else {
			if (!(why = read_meta(file, len, &meta, &body, &body_len))) {
				provider = json_string_value(json_object_get(meta,
				    "provider"));
				if (!events_provider_known(provider))
					why = "an unknown provider";
				else
					why = events_parse(provider, json_string_value(
					    json_object_get(meta, "content_type")),
				    json_string_value(json_object_get(meta, "query")), body,
					    body_len, json_integer_value(json_object_get(
					    meta, "received_at")), &r->pending);
			}
			if (why) {
				progress_clear(&r->progress);
				warnx("%s: quarantined: %s", l.names[i], why);
				spool_quarantine(dir, l.names[i], why);
			} else
				done[ndone++] = l.names[i];
			json_decref(meta);
			free(file);
		}
		/* a transaction per few thousand events; files leave after it */
		if (r->pending.n >= 1000 || i + 1 == l.n) {
			commit_pending(r);
			spool_remove(dir, done, ndone);
			ndone = 0;
		}
		progress_set(&r->progress, (long)i + 1);
	}
	free(done);
	spool_list_free(&l);
}

int
main(int argc, char **argv)
{
	enum { O_DB = 256, O_NOW, O_SPOOL, O_FROM, O_CONFIG, O_LIVE };
	static const struct option opts[] = {
		{ "db", required_argument, NULL, O_DB },
		{ "now", required_argument, NULL, O_NOW },
		{ "spool", required_argument, NULL, O_SPOOL },
		{ "from", required_argument, NULL, O_FROM },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "live", no_argument, NULL, O_LIVE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dbopt = NULL, *nowopt = NULL, *spool = NULL, *configopt = NULL;
	struct run r = { 0 };
	long rejected = 0;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		switch (c) {
		case O_DB: dbopt = optarg; break;
		case O_NOW: nowopt = optarg; break;
		case O_SPOOL: spool = optarg; break;
		case O_FROM: r.provider = optarg; break;
		case O_CONFIG: configopt = optarg; break;
		case O_LIVE: r.live = 1; break;
		default: usage();
		}
	if (optind != argc || (spool && r.provider))
		usage();
	config_load("seq-event", configopt);
	if (!spool && !r.provider && !(spool = config_get("SEQ_SPOOL")))
		usage();
	r.generic = r.provider && !strcmp(r.provider, "ndjson");
	if (r.provider && !r.generic && (!events_provider_known(r.provider) ||
	    !strcmp(r.provider, "sendgrid-inbound") ||
	    !strcmp(r.provider, "unsubscribe")))
		errx(EXIT_USAGE, "--from: sendgrid, postmark, postmark-inbound, "
		    "telnyx or ndjson");
	if (config_get("SEQ_DELIVERY") && !strcmp(config_get("SEQ_DELIVERY"), "live"))
		r.live = 1;
	if (r.live && curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		errx(EXIT_CONFIG, "libcurl cannot start");
	r.now = resolve_now(nowopt);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	r.db = db_open(resolve_db(dbopt), DB_PERSONAL);
	if (spool)
		drain(&r, spool);
	else {
		progress_start(&r.progress, "seq-event", "lines read", 0,
		    PROGRESS_IN | PROGRESS_OUT);
		/* a SendGrid line may be an array of events */
		struct ndjson nj = { .prog = "seq-event", .record = on_record,
			.flush = on_flush, .arg = &r, .arrays = !r.generic,
			.progress = &r.progress };
		rejected = ndjson_run(&nj, 0);
	}
	/* the summary below takes its place */
	progress_clear(&r.progress);
	if (isatty(2))
		fprintf(stderr, "seq-event: %ld recorded, %ld seen before, %ld "
		    "with no meaning here\n", r.recorded, r.seen, r.ignored);
	events_free(&r.pending);
	free(r.speak);
	if (r.live)
		curl_global_cleanup();
	buf_free(&r.out);
	events_forget();
	generic_forget();
	sequence_cache_free();
	db_close(r.db);
	config_free();
	finish_stdout();
	return rejected ? EXIT_REJECTED : 0;
}
