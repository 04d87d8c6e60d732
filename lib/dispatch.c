/*
 * dispatch: see dispatch.h.
 *
 * A delivery moves through three lists: queue (not yet admitted), ready
 * (admitted, or due for another try, with a token reserved in each of its
 * buckets, waiting for a free transfer) and waiting (a retry not yet due).
 * Tokens are reserved when a delivery joins ready and taken when its
 * transfer starts, so the rate holds at the moment requests leave, however
 * long they waited for a free transfer.
 */
#include "dispatch.h"

#include <err.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"

#define MAX_REPLY (1 << 20)
#define MAX_REPLY_HEADERS (64 << 10)

struct dispatch {
	struct dispatch_opts o;
	CURLM *multi;
	CURL **idle;
	size_t nidle;
	struct delivery *queue, **queue_tail;
	struct delivery *ready, **ready_tail;
	struct delivery *waiting;
	int active, ready_net;
	uint64_t rng;
	struct delivery **group;	/* admit()'s argument */
	size_t group_cap;
};

static int64_t
now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int
parse_rate(const char *s, double *per_second)
{
	char *end;
	double n;

	if (strcmp(s, "none") == 0) {
		*per_second = 0;
		return 0;
	}
	n = strtod(s, &end);
	if (end == s || !(n > 0) || !isfinite(n) || *end != '/')
		return -1;
	if (strcmp(end, "/s") == 0)
		*per_second = n;
	else if (strcmp(end, "/m") == 0)
		*per_second = n / 60;
	else if (strcmp(end, "/h") == 0)
		*per_second = n / 3600;
	else
		return -1;
	return 0;
}

/* A burst of a twentieth of a second's worth, at least one request: in any
 * T seconds at most rate*T + burst requests start. */
void
bucket_set(struct bucket *b, double rate)
{
	b->rate = rate;
	b->burst = rate / 20 > 1 ? rate / 20 : 1;
	b->tokens = b->burst;
	b->reserved = 0;
	b->at_us = now_us();
}

static void
refill(struct bucket *b, int64_t now)
{
	b->tokens += (double)(now - b->at_us) * b->rate / 1e6;
	if (b->tokens > b->burst)
		b->tokens = b->burst;
	b->at_us = now;
}

/* 0 when a token can be reserved now, else the microseconds to wait. */
static int64_t
bucket_wait(struct bucket *b, int64_t now)
{
	double need;
	if (!b || b->rate <= 0)
		return 0;
	refill(b, now);
	need = b->reserved + 1 - b->tokens;
	if (need <= 0)
		return 0;
	return (int64_t)(need / b->rate * 1e6) + 1;
}

static struct bucket *
sender_bucket(struct adapter *a, const char *sender)
{
	struct sender_bucket *s;
	if (a->sender_rate <= 0 || !sender)
		return NULL;
	for (s = a->senders; s; s = s->next)
		if (strcmp(s->sender, sender) == 0)
			return &s->b;
	s = xcalloc(1, sizeof *s);
	s->sender = xstrdup(sender);
	bucket_set(&s->b, a->sender_rate);
	s->next = a->senders;
	a->senders = s;
	return &s->b;
}

/* Reserves a token in each of d's buckets; else the microseconds to wait. */
static int64_t
reserve(struct delivery *d, int64_t now)
{
	struct adapter *a = d->adapter;
	struct bucket *sb = sender_bucket(a, d->sender);
	int64_t w;

	if (a->paused_until_us > now)
		return a->paused_until_us - now;
	if ((w = bucket_wait(&a->rate, now)) > 0 || (w = bucket_wait(sb, now)) > 0)
		return w;
	d->held[0] = a->rate.rate > 0 ? &a->rate : NULL;
	d->held[1] = sb;
	for (int i = 0; i < 2; i++)
		if (d->held[i])
			d->held[i]->reserved++;
	return 0;
}

static void
unreserve(struct delivery *d, int take, int64_t now)
{
	for (int i = 0; i < 2; i++)
		if (d->held[i]) {
			if (take) {
				refill(d->held[i], now);
				d->held[i]->tokens -= 1;
			}
			d->held[i]->reserved--;
			d->held[i] = NULL;
		}
}

struct dispatch *
dispatch_new(const struct dispatch_opts *o)
{
	struct dispatch *dp = xcalloc(1, sizeof *dp);
	dp->o = *o;
	if (dp->o.parallel < 1)
		dp->o.parallel = 1;
	dp->queue_tail = &dp->queue;
	dp->ready_tail = &dp->ready;
	dp->rng = (uint64_t)time(NULL) * 2654435761u ^ (uint64_t)getpid();
	if (!dp->rng)
		dp->rng = 1;
	return dp;
}

static CURLM *
multi(struct dispatch *dp)
{
	if (!dp->multi) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 ||
		    !(dp->multi = curl_multi_init()))
			errx(EXIT_CONFIG, "libcurl cannot start");
		curl_multi_setopt(dp->multi, CURLMOPT_MAXCONNECTS,
		    (long)dp->o.parallel * 2);
	}
	return dp->multi;
}

void
dispatch_add(struct dispatch *dp, struct delivery *d)
{
	d->next = NULL;
	d->tries = 0;
	d->held[0] = d->held[1] = NULL;
	d->admitted = 0;
	d->sender = d->adapter->sender ? d->adapter->sender(d->adapter, d->job,
	    d->sender_buf, sizeof d->sender_buf) : NULL;
	*dp->queue_tail = d;
	dp->queue_tail = &d->next;
}

static void
push_ready(struct dispatch *dp, struct delivery *d)
{
	d->next = NULL;
	*dp->ready_tail = d;
	dp->ready_tail = &d->next;
	if (d->adapter->network)
		dp->ready_net++;
}

static double
jitter(struct dispatch *dp)
{
	dp->rng ^= dp->rng << 13;
	dp->rng ^= dp->rng >> 7;
	dp->rng ^= dp->rng << 17;
	return 0.75 + (double)(dp->rng % 10001) / 20000;	/* 0.75 .. 1.25 */
}

static void
clear_outcome(struct delivery *d)
{
	d->status = NULL;
	d->provider_id[0] = d->error[0] = d->metadata[0] = '\0';
	d->http_status = 0;
	d->has_cost = 0;
	d->cost = 0;
	d->retry_after = 0;
	d->latency_ms = 0;
}

static void
free_transfer(struct delivery *d)
{
	free(d->url);
	d->url = NULL;
	curl_slist_free_all(d->headers);
	curl_slist_free_all(d->rcpt);
	d->headers = d->rcpt = NULL;
	buf_free(&d->body);
	buf_free(&d->reply);
	buf_free(&d->reply_headers);
	d->body_off = 0;
}

static void
finish(struct dispatch *dp, struct delivery *d)
{
	(void)dp;
	free_transfer(d);
	if (!d->status) {
		d->status = "retry";
		set_text(d->error, sizeof d->error, "adapter gave no outcome");
	}
	d->done(d);
}

static size_t
on_write(char *p, size_t size, size_t n, void *arg)
{
	struct delivery *d = arg;
	size_t len = size * n;
	/* an answer larger than this is not one we read: keep memory flat */
	if (d->reply.len + len <= MAX_REPLY)
		buf_add(&d->reply, p, len);
	return len;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct delivery *d = arg;
	size_t len = size * n;
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0)
		d->reply_headers.len = 0;	/* a new response: 100, redirects */
	if (d->reply_headers.len + len <= MAX_REPLY_HEADERS)
		buf_add(&d->reply_headers, p, len);
	return len;
}

static void
verbose_request(struct dispatch *dp, struct delivery *d)
{
	struct buf b = { 0 };
	char *clean;

	buf_adds(&b, d->adapter->name);
	buf_adds(&b, ": ");
	buf_adds(&b, d->job->key);
	buf_adds(&b, d->tries > 1 ? ": try " : ": start");
	if (d->tries > 1) {
		char n[16];
		snprintf(n, sizeof n, "%d", d->tries);
		buf_adds(&b, n);
	}
	if (d->url) {
		buf_adds(&b, ": ");
		buf_adds(&b, d->url);
	}
	for (struct curl_slist *h = d->headers; h; h = h->next) {
		const char *colon = strchr(h->data, ':');
		buf_adds(&b, "\n    ");
		if (colon && (strncasecmp(h->data, "authorization:", 14) == 0 ||
		    strncasecmp(h->data, "x-postmark-server-token:", 24) == 0)) {
			buf_add(&b, h->data, (size_t)(colon - h->data + 1));
			buf_adds(&b, " ****");
		} else
			buf_adds(&b, h->data);
	}
	buf_addc(&b, '\0');
	clean = config_scrub(b.p);
	fprintf(stderr, "%s: %s\n", dp->o.prog, clean);
	free(clean);
	buf_free(&b);
}

static void
start(struct dispatch *dp, struct delivery *d, int64_t now)
{
	struct adapter *a = d->adapter;
	CURL *easy;

	unreserve(d, 1, now);
	d->tries++;
	if (d->tries == 1)
		d->first_us = now;
	d->start_us = now;
	clear_outcome(d);
	if (!a->network) {
		a->prepare(a, d, NULL);
		finish(dp, d);
		return;
	}
	if (dp->nidle)
		easy = dp->idle[--dp->nidle];
	else if (!(easy = curl_easy_init()))
		errx(EXIT_CONFIG, "libcurl cannot make a transfer");
	curl_easy_reset(easy);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, d);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https,smtp,smtps");
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, dp->o.connect_timeout_ms);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, dp->o.timeout_ms);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, d);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, d);
	if (!a->prepare(a, d, easy)) {
		dp->idle[dp->nidle++] = easy;
		finish(dp, d);
		return;
	}
	if (dp->o.verbose)
		verbose_request(dp, d);
	if (curl_multi_add_handle(multi(dp), easy) != CURLM_OK)
		errx(EXIT_CONFIG, "libcurl cannot add a transfer");
	dp->active++;
	a->active++;
}

/* After a failed try: another one later, or the final outcome. */
static void
retry_or_finish(struct dispatch *dp, struct delivery *d, int64_t now)
{
	struct adapter *a = d->adapter;
	double backoff = 0.5 * pow(2, d->tries - 1);
	int64_t wait;
	int cur;

	if (backoff > 30)
		backoff = 30;
	backoff *= jitter(dp);
	if (d->http_status == 429) {
		double pause = d->retry_after > 0 ? d->retry_after : 1;
		int64_t until = now + (int64_t)(pause * 1e6);
		if (until > a->paused_until_us)
			a->paused_until_us = until;
		/* max_active starts out unbounded (adapter.c): halving that
		 * changed nothing; halve what the adapter may really have */
		cur = a->max_active < dp->o.parallel ? a->max_active :
		    dp->o.parallel;
		a->max_active = cur > 1 ? cur / 2 : 1;
	}
	if (d->retry_after > backoff)
		backoff = d->retry_after;
	wait = (int64_t)(backoff * 1e6);
	if (now + wait - d->first_us > dp->o.retry_for_ms * 1000) {
		finish(dp, d);
		return;
	}
	free_transfer(d);
	d->due_us = now + wait;
	d->next = dp->waiting;
	dp->waiting = d;
}

static void
completed(struct dispatch *dp, CURLMsg *m, int64_t now)
{
	struct delivery *d;
	struct adapter *a;
	long code = 0;
	CURL *easy = m->easy_handle;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&d);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	curl_multi_remove_handle(dp->multi, easy);
	dp->idle[dp->nidle++] = easy;
	a = d->adapter;
	dp->active--;
	a->active--;
	d->latency_ms = (now - d->start_us) / 1000;
	a->answer(a, d, m->data.result, code);
	if (dp->o.verbose) {
		char *clean = config_scrub(d->error);
		fprintf(stderr, "%s: %s: %s: %s %ld in %lld ms%s%s\n",
		    dp->o.prog, a->name, d->job->key,
		    d->status ? d->status : "?", code,
		    (long long)d->latency_ms, *clean ? ": " : "", clean);
		free(clean);
	}
	if (d->status && strcmp(d->status, "retry") == 0) {
		retry_or_finish(dp, d, now);
		return;
	}
	if (a->max_active < dp->o.parallel)
		a->max_active++;
	finish(dp, d);
}

static void
admit_first(struct dispatch *dp, int64_t now, int64_t *wake,
    void (*admit)(struct delivery **, size_t, void *), void *arg)
{
	size_t n = 0;
	/* eight rounds of --parallel: each group is one durable commit, and
	 * fewer, larger groups keep that fsync off the critical path
	 * (bench/live); a crash leaves at most this many admitted and never
	 * attempted */
	int room = 8 * dp->o.parallel - dp->active - dp->ready_net;
	struct delivery **link = &dp->queue, *d;

	while ((d = *link)) {
		int64_t w;
		if (d->adapter->network && room <= 0)
			break;
		if ((w = reserve(d, now)) > 0) {
			if (now + w < *wake)
				*wake = now + w;
			link = &d->next;
			continue;
		}
		*link = d->next;
		if (n == dp->group_cap) {
			dp->group_cap = dp->group_cap ? dp->group_cap * 2 : 256;
			dp->group = xrealloc(dp->group,
			    dp->group_cap * sizeof *dp->group);
		}
		dp->group[n++] = d;
		if (d->adapter->network)
			room--;
	}
	dp->queue_tail = link;
	while (*dp->queue_tail)
		dp->queue_tail = &(*dp->queue_tail)->next;
	if (!n)
		return;
	admit(dp->group, n, arg);
	for (size_t i = 0; i < n; i++) {
		d = dp->group[i];
		if (!d->admitted) {
			unreserve(d, 0, now);
			continue;
		}
		if (d->adapter->network)
			push_ready(dp, d);
		else
			start(dp, d, now);
	}
}

static void
due_retries(struct dispatch *dp, int64_t now, int64_t *wake)
{
	struct delivery **link = &dp->waiting, *d;
	while ((d = *link)) {
		int64_t w = d->due_us > now ? d->due_us - now : reserve(d, now);
		if (w > 0) {
			if (now + w < *wake)
				*wake = now + w;
			link = &d->next;
			continue;
		}
		*link = d->next;
		push_ready(dp, d);
	}
}

static void
start_ready(struct dispatch *dp, int64_t now, int64_t *wake)
{
	struct delivery **link = &dp->ready, *d;
	while ((d = *link) && dp->active < dp->o.parallel) {
		struct adapter *a = d->adapter;
		if (a->active >= a->max_active || a->paused_until_us > now) {
			if (a->paused_until_us > now && a->paused_until_us < *wake)
				*wake = a->paused_until_us;
			link = &d->next;
			continue;
		}
		*link = d->next;
		if (a->network)
			dp->ready_net--;
		start(dp, d, now);
	}
	dp->ready_tail = link;
	while (*dp->ready_tail)
		dp->ready_tail = &(*dp->ready_tail)->next;
}

/* Every transfer that has finished, to its outcome. */
static void
collect(struct dispatch *dp)
{
	int64_t now = now_us();
	int left;
	CURLMsg *m;

	while (dp->multi && (m = curl_multi_info_read(dp->multi, &left)))
		if (m->msg == CURLMSG_DONE)
			completed(dp, m, now);
}

void
dispatch_run(struct dispatch *dp,
    void (*admit)(struct delivery **, size_t, void *),
    void (*progress)(void *, int), void *arg)
{
	if (!dp->idle)
		dp->idle = xcalloc((size_t)dp->o.parallel, sizeof *dp->idle);
	for (;;) {
		int64_t now = now_us(), wake = now + 1000000;
		int running;

		due_retries(dp, now, &wake);
		admit_first(dp, now, &wake, admit, arg);
		start_ready(dp, now, &wake);
		if (!dp->active && !dp->queue && !dp->ready && !dp->waiting)
			break;
		/* wait only when nothing has finished: on loopback the answers
		 * are often in before the first perform returns, and a poll
		 * then has nothing left to wake it (bench/live) */
		if (dp->active) {
			curl_multi_perform(dp->multi, &running);
			if (running < dp->active) {
				collect(dp);
				progress(arg, 0);
				continue;
			}
		}
		if (dp->active || dp->ready || dp->waiting || dp->queue) {
			int ms = (int)((wake - now_us()) / 1000);
			if (ms < 1)
				ms = dp->active ? 0 : 1;
			if (dp->active) {
				if (curl_multi_poll(dp->multi, NULL, 0, ms, NULL) != CURLM_OK)
					errx(EXIT_CONFIG, "libcurl cannot wait");
				curl_multi_perform(dp->multi, &running);
			} else if (ms > 0)
				usleep((useconds_t)ms * 1000);
		}
		collect(dp);
		progress(arg, 0);
	}
	progress(arg, 1);
}

void
dispatch_free(struct dispatch *dp)
{
	if (!dp)
		return;
	for (size_t i = 0; i < dp->nidle; i++)
		curl_easy_cleanup(dp->idle[i]);
	free(dp->idle);
	free(dp->group);
	if (dp->multi) {
		curl_multi_cleanup(dp->multi);
		curl_global_cleanup();
	}
	free(dp);
}
