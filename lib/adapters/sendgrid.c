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
#include "jsonw.h"

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

/* The Mail Send body, written directly: the busiest adapter's body
 * through jansson's dump cost a third of each request's instructions
 * (bench/live).  Field for field what Twilio SendGrid's spec asks. */
static int
body(struct buf *b, const struct job *j, const char *sender)
{
	char addr[320], name[256], id[24];
	int has_name;

	if (split_address(sender, addr, sizeof addr, name, sizeof name, &has_name))
		return -1;
	snprintf(id, sizeof id, "%lld", (long long)j->execution_id);
	buf_adds(b, "{\"personalizations\":[{\"to\":[{\"email\":");
	jw_quote(b, j->to);
	buf_adds(b, "}],\"custom_args\":{\"seq_key\":");
	jw_quote(b, j->key);
	buf_adds(b, ",\"seq_execution_id\":");
	jw_quote(b, id);
	buf_adds(b, "}}],\"from\":{\"email\":");
	jw_quote(b, addr);
	if (has_name) {
		buf_adds(b, ",\"name\":");
		jw_quote(b, name);
	}
	buf_adds(b, "},\"subject\":");
	jw_quote(b, j->subject);
	buf_adds(b, ",\"content\":[");
	if (j->text && *j->text) {
		buf_adds(b, "{\"type\":\"text/plain\",\"value\":");
		jw_quote(b, j->text);
		buf_addc(b, '}');
	}
	if (j->html && *j->html) {
		if (j->text && *j->text)
			buf_addc(b, ',');
		buf_adds(b, "{\"type\":\"text/html\",\"value\":");
		jw_quote(b, j->html);
		buf_addc(b, '}');
	}
	buf_addc(b, ']');
	if (j->headers && json_object_size(j->headers)) {
		const char *k;
		json_t *v;
		int first = 1;
		buf_adds(b, ",\"headers\":{");
		json_object_foreach(j->headers, k, v) {
			if (!first)
				buf_addc(b, ',');
			first = 0;
			jw_quote(b, k);
			buf_addc(b, ':');
			jw_quote(b, json_string_value(v));
		}
		buf_addc(b, '}');
	}
	buf_addc(b, '}');
	return 0;
}

static int
prepare(struct adapter *a, struct delivery *d, CURL *easy)
{
	struct sendgrid *sg = (struct sendgrid *)a;

	d->body.len = 0;
	if (body(&d->body, d->job, d->sender) != 0) {
		d->status = "failed";
		snprintf(d->error, sizeof d->error,
		    "sendgrid: the sender is not an address: %s", d->sender);
		return 0;
	}
	http_json_post(d, easy, sg->base, "/v3/mail/send", "Authorization",
	    "Bearer", sg->key, NULL);
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

struct adapter *
sendgrid_adapter(void)
{
	struct sendgrid *sg = xcalloc(1, sizeof *sg);
	sg->a.name = "sendgrid";
	sg->a.network = 1;
	sg->a.sender = sender;
	sg->a.prepare = prepare;
	sg->a.answer = answer;
	sg->a.close = adapter_free;
	sg->key = conf_need("sendgrid", "SENDGRID_API_KEY");
	sg->from = conf_need("sendgrid", "SEQ_EMAIL_FROM");
	sg->base = conf_or("SEQ_SENDGRID_URL", "https://api.sendgrid.com");
	return &sg->a;
}
