/*
 * telnyx_speak: what follows a telnyx-voice dial.  Call Control speaks
 * only on a live call, so the words of a voice step cannot go out with the
 * dial; when the call.answered webhook comes back, seq-event asks Telnyx
 * to say them (POST /v2/calls/{call_control_id}/actions/speak).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "config.h"

/* enough of an error answer to say what went wrong */
static size_t
keep_reply(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	if (b->len + size * n <= 64 << 10)
		buf_add(b, p, size * n);
	return size * n;
}

int
telnyx_speak(const char *call_control_id, const char *text,
    const char *client_state, char *why, size_t size)
{
	const char *key = config_get("TELNYX_API_KEY");
	const char *base = conf_or("SEQ_TELNYX_URL", "https://api.telnyx.com/v2");
	struct curl_slist *h = NULL;
	struct buf reply = { 0 };
	char *url, *auth, *body, *escaped;
	json_t *o;
	CURL *easy;
	CURLcode cc;
	long status = 0;
	size_t blen = strlen(base);

	if (!key) {
		snprintf(why, size, "TELNYX_API_KEY is not configured");
		return -1;
	}
	if (!(easy = curl_easy_init())) {
		snprintf(why, size, "libcurl cannot make a transfer");
		return -1;
	}
	while (blen && base[blen - 1] == '/')
		blen--;
	escaped = curl_easy_escape(easy, call_control_id, 0);
	url = xasprintf("%.*s/calls/%s/actions/speak", (int)blen, base, escaped);
	curl_free(escaped);
	o = json_pack("{s:s, s:s, s:s}", "payload", text, "voice", "female",
	    "language", "en-US");
	if (client_state)
		json_object_set_new(o, "client_state", json_string(client_state));
	body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	auth = xasprintf("Authorization: Bearer %s", key);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Accept: application/json");
	h = curl_slist_append(h, auth);
	memset(auth, 0, strlen(auth));
	free(auth);
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 15000L);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, keep_reply);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, &reply);
	cc = curl_easy_perform(easy);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	if (cc != CURLE_OK)
		snprintf(why, size, "%s", curl_easy_strerror(cc));
	else if (status < 200 || status >= 300) {
		char *clean;
		buf_addc(&reply, '\0');
		clean = config_scrub(reply.p);
		snprintf(why, size, "HTTP %ld: %.300s", status, clean);
		free(clean);
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(easy);
	free(url);
	free(body);
	buf_free(&reply);
	return cc == CURLE_OK && status >= 200 && status < 300 ? 0 : -1;
}
