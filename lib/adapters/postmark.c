/*
 * postmark: Postmark's Email API (POST /email).  The execution key rides
 * in Metadata, which Postmark returns in its webhooks; MessageID comes
 * back in the answer, and ErrorCode says why a message was refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"

struct postmark {
	struct adapter a;
	const char *token, *base, *from, *stream;
};

static const char *
sender(struct adapter *a, const struct job *j, char *buf, size_t size)
{
	(void)buf;
	(void)size;
	return j->from ? j->from : ((struct postmark *)a)->from;
}

static int
prepare(struct adapter *a, struct delivery *d, CURL *easy)
{
	struct postmark *pm = (struct postmark *)a;
	const struct job *j = d->job;
	json_t *body;

	body = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s}",
	    "From", d->sender, "To", j->to, "Subject", j->subject,
	    "TextBody", j->text, "Metadata", key_args(j),
	    "MessageStream", pm->stream);
	if (j->html && *j->html)
		json_object_set_new(body, "HtmlBody", json_string(j->html));
	if (j->headers && json_object_size(j->headers)) {
		json_t *hs = json_array(), *v;
		const char *k;
		json_object_foreach(j->headers, k, v)
			json_array_append_new(hs, json_pack("{s:s, s:O}",
			    "Name", k, "Value", v));
		json_object_set_new(body, "Headers", hs);
	}
	http_json_post(d, easy, pm->base, "/email", "X-Postmark-Server-Token",
	    NULL, pm->token, body);
	json_decref(body);
	return 1;
}

static void
answer(struct adapter *a, struct delivery *d, CURLcode cc, long status)
{
	json_t *r = cc == CURLE_OK ? reply_json(d) : NULL;
	const char *msg = json_string_value(json_object_get(r, "Message"));
	json_int_t code = json_integer_value(json_object_get(r, "ErrorCode"));
	const char *id = json_string_value(json_object_get(r, "MessageID"));
	const char *at = json_string_value(json_object_get(r, "SubmittedAt"));
	char why[400];

	(void)a;
	why[0] = '\0';
	if (code)
		snprintf(why, sizeof why, "Postmark error %lld%s%s",
		    (long long)code, msg ? ": " : "", msg ? msg : "");
	http_outcome(d, cc, status, why);
	/* a 200 that carries an error code was not accepted */
	if (!strcmp(d->status, "sent") && code) {
		d->status = "failed";
		set_text(d->error, sizeof d->error, why);
	}
	if (!strcmp(d->status, "sent") && id)
		set_text(d->provider_id, sizeof d->provider_id, id);
	if (!strcmp(d->status, "sent") && at)
		set_metadata(d, json_pack("{s:s}", "submitted_at", at));
	json_decref(r);
}

struct adapter *
postmark_adapter(void)
{
	struct postmark *pm = xcalloc(1, sizeof *pm);
	pm->a.name = "postmark";
	pm->a.network = 1;
	pm->a.sender = sender;
	pm->a.prepare = prepare;
	pm->a.answer = answer;
	pm->a.close = adapter_free;
	pm->token = conf_need("postmark", "POSTMARK_SERVER_TOKEN");
	pm->from = conf_need("postmark", "SEQ_EMAIL_FROM");
	pm->base = conf_or("SEQ_POSTMARK_URL", "https://api.postmarkapp.com");
	pm->stream = conf_or("SEQ_POSTMARK_STREAM", "outbound");
	return &pm->a;
}
