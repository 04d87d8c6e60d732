/*
 * telnyx-sms: Telnyx Messaging v2 (POST /v2/messages).  The message id
 * and, when Telnyx reports it, the cost come back at once; delivery
 * receipts come later through the webhook.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "config.h"

struct telnyx_sms {
	struct adapter a;
	const char *key, *base, *from, *profile, *webhook;
};

static const char *
sender(struct adapter *a, const struct job *j, char *buf, size_t size)
{
	struct telnyx_sms *t = (struct telnyx_sms *)a;
	return j->from ? j->from : pick_sender(t->from, j->to, buf, size);
}

static int
prepare(struct adapter *a, struct delivery *d, CURL *easy)
{
	struct telnyx_sms *t = (struct telnyx_sms *)a;
	const struct job *j = d->job;
	json_t *body;

	body = json_pack("{s:s, s:s, s:s}", "from", d->sender, "to", j->to,
	    "text", j->text);
	if (t->profile)
		json_object_set_new(body, "messaging_profile_id",
		    json_string(t->profile));
	if (t->webhook)
		json_object_set_new(body, "webhook_url", json_string(t->webhook));
	http_json_post(d, easy, t->base, "/messages", "Authorization",
	    "Bearer", t->key, body);
	json_decref(body);
	return 1;
}

static void
answer(struct adapter *a, struct delivery *d, CURLcode cc, long status)
{
	static const char *const fields[] = { "code", "title", "detail", NULL };
	struct buf why = { 0 };
	json_t *r = cc == CURLE_OK ? reply_json(d) : NULL;
	json_t *data = json_object_get(r, "data");
	const char *id = json_string_value(json_object_get(data, "id"));
	json_t *cost = json_object_get(data, "cost");
	const char *amount = json_string_value(json_object_get(cost, "amount"));
	const char *currency = json_string_value(json_object_get(cost, "currency"));

	(void)a;
	errors_text(status >= 400 ? r : NULL, fields, &why);
	http_outcome(d, cc, status, why.p);
	if (!strcmp(d->status, "sent")) {
		json_t *m = json_object();
		if (id)
			set_text(d->provider_id, sizeof d->provider_id, id);
		if (amount) {
			char *end;
			double v = strtod(amount, &end);
			if (end != amount && *end == '\0') {
				d->cost = v;
				d->has_cost = 1;
			}
		}
		if (currency)
			json_object_set_new(m, "currency", json_string(currency));
		if (json_is_integer(json_object_get(data, "parts")))
			json_object_set(m, "parts", json_object_get(data, "parts"));
		set_metadata(d, m);
	}
	buf_free(&why);
	json_decref(r);
}

struct adapter *
telnyx_sms_adapter(void)
{
	struct telnyx_sms *t = xcalloc(1, sizeof *t);
	t->a.name = "telnyx-sms";
	t->a.network = 1;
	t->a.sender = sender;
	t->a.prepare = prepare;
	t->a.answer = answer;
	t->a.close = adapter_free;
	t->key = conf_need("telnyx-sms", "TELNYX_API_KEY");
	t->from = conf_need_numbers("telnyx-sms", "SEQ_SMS_FROM");
	t->base = conf_or("SEQ_TELNYX_URL", "https://api.telnyx.com/v2");
	t->profile = conf_or("SEQ_TELNYX_MESSAGING_PROFILE_ID", NULL);
	t->webhook = conf_or("SEQ_TELNYX_WEBHOOK_URL", NULL);
	return &t->a;
}
