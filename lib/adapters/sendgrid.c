/*
 * sendgrid: Twilio SendGrid's v3 Mail Send (POST /v3/mail/send).  One
 * personalization per job, carrying the execution key in custom_args so
 * that SendGrid's event webhooks name it; the message id comes back in
 * the X-Message-Id header of the 202.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"

struct sendgrid {
	struct adapter a;
	const char *key, *base, *from;
};

static const char *
sender(struct adapter *a, const struct job *j, char *buf, size_t size)
{
	(void)buf;
	(void)size;
	return j->from ? j->from : ((struct sendgrid *)a)->from;
}

static json_t *
address(const char *s)
{
	char addr[320], name[256];
	int has_name;
	if (split_address(s, addr, sizeof addr, name, sizeof name, &has_name))
		return NULL;
	return has_name ? json_pack("{s:s, s:s}", "email", addr, "name", name) :
	    json_pack("{s:s}", "email", addr);
}

static int
prepare(struct adapter *a, struct delivery *d, CURL *easy)
{
	struct sendgrid *sg = (struct sendgrid *)a;
	const struct job *j = d->job;
	json_t *body, *content, *from;

	if (!(from = address(d->sender))) {
		d->status = "failed";
		snprintf(d->error, sizeof d->error,
		    "sendgrid: the sender is not an address: %s", d->sender);
		return 0;
	}
	content = json_array();
	if (j->text && *j->text)
		json_array_append_new(content, json_pack("{s:s, s:s}",
		    "type", "text/plain", "value", j->text));
	if (j->html && *j->html)
		json_array_append_new(content, json_pack("{s:s, s:s}",
		    "type", "text/html", "value", j->html));
	body = json_pack("{s:[{s:[{s:s}], s:o}], s:o, s:s, s:o}",
	    "personalizations", "to", "email", j->to,
	    "custom_args", key_args(j),
	    "from", from, "subject", j->subject, "content", content);
	if (j->headers && json_object_size(j->headers))
		json_object_set(body, "headers", j->headers);
	http_json_post(d, easy, sg->base, "/v3/mail/send", "Authorization",
	    "Bearer", sg->key, body);
	json_decref(body);
	return 1;
}

static void
answer(struct adapter *a, struct delivery *d, CURLcode cc, long status)
{
	static const char *const fields[] = { "field", "message", NULL };
	struct buf why = { 0 };
	json_t *r = NULL;
	const char *id;

	(void)a;
	if (cc == CURLE_OK && status >= 400)
		r = reply_json(d);
	errors_text(r, fields, &why);
	http_outcome(d, cc, status, why.p);
	if (cc == CURLE_OK && status >= 200 && status < 300 &&
	    (id = reply_header(d, "x-message-id")))
		set_text(d->provider_id, sizeof d->provider_id, id);
	buf_free(&why);
	json_decref(r);
}

static void
close_sendgrid(struct adapter *a)
{
	free(a);
}

struct adapter *
sendgrid_adapter(void)
{
	struct sendgrid *sg = xcalloc(1, sizeof *sg);
	sg->a.name = "sendgrid";
	sg->a.network = 1;
	sg->a.sender = sender;
	sg->a.prepare = prepare;
	sg->a.answer = answer;
	sg->a.close = close_sendgrid;
	sg->key = conf_need("sendgrid", "SENDGRID_API_KEY");
	sg->from = conf_need("sendgrid", "SEQ_EMAIL_FROM");
	sg->base = conf_or("SEQ_SENDGRID_URL", "https://api.sendgrid.com");
	return &sg->a;
}
