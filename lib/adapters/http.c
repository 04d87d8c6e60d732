/*
 * http: what the HTTP adapters share: a JSON POST with the provider's
 * authentication, the reading of its answer, and the one mapping of HTTP
 * statuses to outcomes that every provider here documents the same way.
 */
#include <ctype.h>
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapter.h"
#include "config.h"

/* The body goes out through a callback that cannot rewind: with
 * POSTFIELDS, libcurl resends a POST by itself when a reused connection
 * dies before any answer, a request that no token bucket paid for and no
 * backoff delayed (seen as 22 requests in a second under --rate 20/s).
 * Unable to rewind, it fails the transfer instead, and dispatch decides
 * whether and when to try again. */
size_t
body_read(char *p, size_t size, size_t n, void *arg)
{
	struct delivery *d = arg;
	size_t m = size * n, left = d->body.len - d->body_off;

	if (m > left)
		m = left;
	memcpy(p, d->body.p + d->body_off, m);
	d->body_off += m;
	return m;
}

void
http_json_post(struct delivery *d, CURL *easy, const char *base,
    const char *path, const char *auth_header, const char *scheme,
    const char *secret, json_t *body)
{
	size_t blen = strlen(base);
	char *auth;

	while (blen && base[blen - 1] == '/')
		blen--;
	d->url = xasprintf("%.*s%s", (int)blen, base, path);
	curl_easy_setopt(easy, CURLOPT_URL, d->url);
	d->headers = curl_slist_append(d->headers, "Content-Type: application/json");
	d->headers = curl_slist_append(d->headers, "Accept: application/json");
	/* no 100-continue round trip before large bodies */
	d->headers = curl_slist_append(d->headers, "Expect:");
	auth = xasprintf("%s: %s%s%s", auth_header, scheme ? scheme : "",
	    scheme ? " " : "", secret);
	d->headers = curl_slist_append(d->headers, auth);
	/* curl copied it; wipe ours so no stray copy of the key lingers */
	memset(auth, 0, strlen(auth));
	free(auth);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, d->headers);
	if (body) {
		/* one pass: json_dumps sizes as it writes */
		char *s = json_dumps(body, JSON_COMPACT);
		buf_free(&d->body);
		d->body.p = s;
		d->body.len = strlen(s);
		d->body.cap = d->body.len + 1;
	}
	d->body_off = 0;
	curl_easy_setopt(easy, CURLOPT_POST, 1L);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)d->body.len);
	curl_easy_setopt(easy, CURLOPT_READFUNCTION, body_read);
	curl_easy_setopt(easy, CURLOPT_READDATA, d);
}

const char *
reply_header(struct delivery *d, const char *name)
{
	static char value[512];
	size_t nlen = strlen(name);
	const char *p = d->reply_headers.p, *end = p + d->reply_headers.len;

	while (p && p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = eol ? eol : end;
		if ((size_t)(line_end - p) > nlen && p[nlen] == ':' &&
		    strncasecmp(p, name, nlen) == 0) {
			const char *v = p + nlen + 1;
			size_t len;
			while (v < line_end && (*v == ' ' || *v == '\t'))
				v++;
			len = (size_t)(line_end - v);
			while (len && isspace((unsigned char)v[len - 1]))
				len--;
			if (len >= sizeof value)
				len = sizeof value - 1;
			memcpy(value, v, len);
			value[len] = '\0';
			return value;
		}
		p = eol ? eol + 1 : end;
	}
	return NULL;
}

json_t *
reply_json(struct delivery *d)
{
	json_error_t e;
	if (!d->reply.len)
		return NULL;
	return json_loadb(d->reply.p, d->reply.len, JSON_REJECT_DUPLICATES, &e);
}

void
set_text(char *dst, size_t size, const char *s)
{
	char *clean = config_scrub(s);
	size_t n = strlen(clean);
	if (n >= size) {
		n = size - 1;
		/* do not cut a UTF-8 sequence in half */
		while (n && ((unsigned char)clean[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, clean, n);
	dst[n] = '\0';
	free(clean);
}

/* Retry-After: seconds, or an HTTP date. */
static double
retry_after(struct delivery *d)
{
	const char *v = reply_header(d, "retry-after");
	char *end;
	double s;
	time_t t;

	if (!v)
		return 0;
	s = strtod(v, &end);
	if (end != v && *end == '\0' && s >= 0)
		return s;
	if ((t = curl_getdate(v, NULL)) > 0)
		return t > time(NULL) ? (double)(t - time(NULL)) : 0;
	return 0;
}

void
http_outcome(struct delivery *d, CURLcode cc, long status, const char *errtext)
{
	char msg[512];

	d->http_status = (int)status;
	if (cc != CURLE_OK) {
		/* timeouts, refused and reset connections: nothing was
		 * accepted, as far as anyone can tell here */
		d->status = "retry";
		d->http_status = status >= 100 ? (int)status : 0;
		/* what it means here (body_read): curl's words would blame the
		 * rewind, not the connection */
		snprintf(msg, sizeof msg, "%s", cc == CURLE_SEND_FAIL_REWIND ?
		    "the connection closed before an answer" :
		    curl_easy_strerror(cc));
		set_text(d->error, sizeof d->error, msg);
		return;
	}
	if (status >= 200 && status < 300) {
		d->status = "sent";
		return;
	}
	if (status == 429 || status == 408 || status >= 500) {
		d->status = "retry";
		d->retry_after = retry_after(d);
	} else
		d->status = "failed";
	if (errtext && *errtext) {
		/* whole until scrubbed: a secret cut in two by a fixed buffer
		 * would no longer match and half of it would stay */
		char *whole = xasprintf("HTTP %ld: %s", status, errtext);
		set_text(d->error, sizeof d->error, whole);
		free(whole);
	} else {
		snprintf(msg, sizeof msg, "HTTP %ld", status);
		set_text(d->error, sizeof d->error, msg);
	}
}

const char *
conf_or(const char *name, const char *def)
{
	const char *v = config_get(name);
	return v ? v : def;
}

int
split_address(const char *s, char *addr, size_t asize, char *name,
    size_t nsize, int *has_name)
{
	const char *lt = strrchr(s, '<');
	size_t n;

	*has_name = 0;
	if (!lt) {
		if (strlen(s) >= asize)
			return -1;
		strcpy(addr, s);
		return strchr(addr, '@') ? 0 : -1;
	}
	n = strlen(lt + 1);
	if (n < 2 || lt[n] != '>' || n > asize)
		return -1;
	memcpy(addr, lt + 1, n - 1);
	addr[n - 1] = '\0';
	while (lt > s && lt[-1] == ' ')
		lt--;
	if (lt > s && *s == '"' && lt[-1] == '"' && lt - s >= 2) {
		s++;
		lt--;
	}
	if (lt > s) {
		if ((size_t)(lt - s) >= nsize)
			return -1;
		memcpy(name, s, (size_t)(lt - s));
		name[lt - s] = '\0';
		*has_name = 1;
	}
	return strchr(addr, '@') ? 0 : -1;
}

json_t *
key_args(const struct job *j)
{
	char id[24];
	snprintf(id, sizeof id, "%lld", (long long)j->execution_id);
	return json_pack("{s:s, s:s}", "seq_key", j->key,
	    "seq_execution_id", id);
}

void
adapter_free(struct adapter *a)
{
	free(a);
}

const char *
conf_need_numbers(const char *adapter, const char *name)
{
	const char *v = conf_need(adapter, name);
	char one[64];
	/* a list of separators alone names no one: every job without a
	 * sender of its own would go out as an empty request */
	if (!pick_sender(v, "", one, sizeof one))
		errx(EXIT_CONFIG, "the %s adapter needs %s to name at least one "
		    "number", adapter, name);
	return v;
}

const char *
conf_need(const char *adapter, const char *name)
{
	const char *v = config_get(name);
	if (!v)
		errx(EXIT_CONFIG, "the %s adapter needs %s (in the environment "
		    "or the file named by --config or SEQ_CONFIG)", adapter, name);
	return v;
}

void
errors_text(json_t *reply, const char *const *fields, struct buf *out)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(reply, "errors"), i, e) {
		int first = 1;
		if (out->len)
			buf_adds(out, "; ");
		for (const char *const *f = fields; *f; f++) {
			const char *v = json_string_value(json_object_get(e, *f));
			if (!v || !*v)
				continue;
			if (!first)
				buf_adds(out, ": ");
			buf_adds(out, v);
			first = 0;
		}
	}
	buf_addc(out, '\0');
}

/* The provider's words go into metadata as they came; like errors and ids,
 * they must not carry a secret it echoed. */
static void
scrub_strings(json_t *v)
{
	const char *k;
	json_t *e;
	size_t i;

	if (json_is_string(v)) {
		char *clean = config_scrub(json_string_value(v));
		json_string_set(v, clean);
		free(clean);
	} else if (json_is_object(v)) {
		json_object_foreach(v, k, e)
			scrub_strings(e);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			scrub_strings(e);
	}
}

void
set_metadata(struct delivery *d, json_t *m)
{
	char *s;

	scrub_strings(m);
	s = json_object_size(m) ? json_dumps(m, JSON_COMPACT) : NULL;
	/* too large to keep whole: keep none rather than a broken object */
	if (s && strlen(s) < sizeof d->metadata)
		strcpy(d->metadata, s);
	free(s);
	json_decref(m);
}

void
buf_base64(struct buf *b, const void *data, size_t n)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = data;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16;
		char q[4];
		if (i + 1 < n)
			v |= (unsigned)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		q[0] = abc[v >> 18 & 63];
		q[1] = abc[v >> 12 & 63];
		q[2] = i + 1 < n ? abc[v >> 6 & 63] : '=';
		q[3] = i + 2 < n ? abc[v & 63] : '=';
		buf_add(b, q, 4);
	}
}
