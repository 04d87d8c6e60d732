/*
 * adapter: one interface for every provider.  An adapter turns a job into
 * a transfer (a libcurl easy handle: HTTP for the APIs, SMTP for mail
 * servers) and the provider's answer into an outcome; dispatch (dispatch.h)
 * owns everything between: concurrency, rate limits, timeouts and in-run
 * retries.  The mock makes no transfer and settles each job at once.
 * Adapters never touch the database: seq-send records the attempt before
 * a job reaches its adapter and seq-log records the outcome.
 */
#ifndef SEQ_ADAPTER_H
#define SEQ_ADAPTER_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdint.h>

#include "record.h"
#include "util.h"

struct adapter;

/* A token bucket: at most rate per second, bursts of at most burst. */
struct bucket {
	double rate;		/* per second; 0: unlimited */
	double burst, tokens;
	int reserved;		/* promised to admitted deliveries */
	int64_t at_us;		/* when tokens was last brought up to date */
};

struct sender_bucket {
	char *sender;
	struct bucket b;
	struct sender_bucket *next;
};

struct delivery {
	const struct job *job;
	struct adapter *adapter;
	const char *sender;	/* the identity it goes out as, or NULL */
	char sender_buf[128];

	/* the outcome, filled by the adapter */
	const char *status;	/* sent, failed, retry */
	char provider_id[128];
	int http_status;	/* or the SMTP reply code; 0: none */
	char error[512];
	double cost;
	int has_cost;
	char metadata[1024];	/* a JSON object, or empty */
	int64_t latency_ms;
	double retry_after;	/* seconds the provider asked for, or 0 */

	/* the transfer: prepare() fills headers, rcpt and body; dispatch
	 * frees them and fills reply and reply_headers */
	char *url;
	struct curl_slist *headers, *rcpt;
	struct buf body, reply, reply_headers;
	size_t body_off;

	/* dispatch's own */
	int tries;
	int64_t first_us, start_us, due_us;
	struct bucket *held[2];	/* buckets holding a token reserved for it */
	struct delivery *next;
	int admitted;		/* set by the admit callback */

	/* set by the caller */
	void (*done)(struct delivery *);
	void *arg;
};

struct adapter {
	const char *name;
	int network;		/* 0: settles in prepare() without a transfer */
	/* The identity a job goes out as, for per-sender limits; or NULL.
	 * buf is the delivery's own, for an identity chosen per job. */
	const char *(*sender)(struct adapter *, const struct job *, char *buf,
	    size_t size);
	/* Sets up the transfer of d on easy and returns 1; or settles d (sets
	 * its status) and returns 0. */
	int (*prepare)(struct adapter *, struct delivery *, CURL *easy);
	/* The outcome of a finished transfer: curl's code, and the HTTP
	 * status or SMTP reply code. */
	void (*answer)(struct adapter *, struct delivery *, CURLcode, long code);
	void (*close)(struct adapter *);

	/* pacing, kept by dispatch */
	struct bucket rate;
	double sender_rate;	/* each sender's; 0: unlimited */
	struct sender_bucket *senders;
	int64_t paused_until_us;	/* after a 429 */
	int active, max_active;	/* max_active halves on a 429 */
};

/* The adapter for a channel under the current configuration; NULL with a
 * reason when none can serve it.  live: SEQ_DELIVERY=live or --live. */
struct adapter *adapter_for(const char *channel, int live, const char **why);
/* "name=RATE" (see parse_rate): the adapter's own limit, or with
 * per_sender each sender's; 0 on success, else -1 with a reason. */
int adapter_set_rate(const char *spec, int per_sender, const char **why);
void adapters_close(void);

struct adapter *mock_adapter(void);
struct adapter *sendgrid_adapter(void);
struct adapter *postmark_adapter(void);
struct adapter *smtp_adapter(void);
struct adapter *telnyx_sms_adapter(void);
struct adapter *telnyx_voice_adapter(void);
/* Says text on an answered Telnyx call; 0, or -1 with why. */
int telnyx_speak(const char *call_control_id, const char *text,
    const char *client_state, char *why, size_t size);

/* Shared by the HTTP adapters (adapters/http.c). */
/* libcurl's read callback over d->body (arg: the delivery); it cannot
 * rewind, so libcurl never re-sends a request on its own. */
size_t body_read(char *p, size_t size, size_t n, void *arg);
/* POSTs body, or, when it is NULL, what d->body already holds. */
void http_json_post(struct delivery *, CURL *, const char *base,
    const char *path, const char *auth_header, const char *scheme,
    const char *secret, json_t *body);
/* Splits "Name <addr>" (or a bare address) into its address and name
 * (NULL when none); returns 0 unless it is malformed. */
int split_address(const char *s, char *addr, size_t asize, char *name,
    size_t nsize, int *has_name);
/* The job's key and execution id as an object of strings, for the
 * providers' custom arguments and metadata. */
json_t *key_args(const struct job *);
/* The provider's errors[] as one line: each element's fields in order,
 * joined by ": ", the elements by "; "; NUL-terminated. */
void errors_text(json_t *reply, const char *const *fields, struct buf *out);
/* Appends data in base64 (RFC 4648, padded). */
void buf_base64(struct buf *, const void *data, size_t n);
/* Keeps the object m (consumed) as d's metadata, when it fits. */
void set_metadata(struct delivery *, json_t *m);
/* The close() of an adapter that holds nothing of its own. */
void adapter_free(struct adapter *);
/* conf_need, for a list of numbers that must name at least one. */
const char *conf_need_numbers(const char *adapter, const char *name);
/* Needs name configured, else exits with a message naming it. */
const char *conf_need(const char *adapter, const char *name);
/* Classifies a finished HTTP transfer: transport errors, 429 and 5xx are
 * retry, other 4xx failed, 2xx sent; the error text comes from errtext
 * (the provider's own, parsed by the caller) or curl. */
void http_outcome(struct delivery *, CURLcode, long status,
    const char *errtext);
/* A response header's value (name in any case), or NULL; the returned
 * string lives until the next call. */
const char *reply_header(struct delivery *, const char *name);
/* The reply body parsed as JSON (strict), or NULL. */
json_t *reply_json(struct delivery *);
/* Copies s into the fixed field dst, scrubbed of secrets. */
void set_text(char *dst, size_t size, const char *s);
/* The configured value of name, or def. */
const char *conf_or(const char *name, const char *def);

#endif
