/*
 * telnyx-voice: Telnyx Call Control (POST /v2/calls).  The call is dialled
 * with answering machine detection and the execution key in client_state
 * (base64, as Telnyx requires); Telnyx echoes it in every webhook of the
 * call, and the words to say are spoken when the call.answered event
 * comes back through seq-event, from the job kept with the execution.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "config.h"

struct telnyx_voice {
	struct adapter a;
	const char *key, *base, *from, *connection, *webhook;
};

static const char *
sender(struct adapter *a, const struct job *j, char *buf, size_t size)
{
	struct telnyx_voice *t = (struct telnyx_voice *)a;
	return j->from ? j->from : pick_sender(t->from, j->to, buf, size);
}

static int
prepare(struct adapter *a, struct delivery *d, CURL *easy)
{
	struct telnyx_voice *t = (struct telnyx_voice *)a;
	const struct job *j = d->job;
	struct buf state = { 0 };
	json_t *body;

	buf_base64(&state, j->key, strlen(j->key));
	buf_addc(&state, '\0');
	body = json_pack("{s:s, s:s, s:s, s:s, s:s}",
	    "connection_id", t->connection, "to", j->to, "from", d->sender,
	    "client_state", state.p, "answering_machine_detection", "detect");
	if (t->webhook)
		json_object_set_new(body, "webhook_url", json_string(t->webhook));
	http_json_post(d, easy, t->base, "/calls", "Authorization", "Bearer",
	    t->key, body);
	json_decref(body);
	buf_free(&state);
	return 1;
}

static void
answer(struct adapter *a, struct delivery *d, CURLcode cc, long status)
{
	static const char *const fields[] = { "code", "title", "detail", NULL };
	struct buf why = { 0 };
	json_t *r = cc == CURLE_OK ? reply_json(d) : NULL;
	json_t *data = json_object_get(r, "data");
	const char *id = json_string_value(json_object_get(data, "call_control_id"));

	(void)a;
	errors_text(status >= 400 ? r : NULL, fields, &why);
	http_outcome(d, cc, status, why.p);
	if (!strcmp(d->status, "sent")) {
		json_t *m = json_object();
		const char *keep[] = { "call_leg_id", "call_session_id" };
		if (id)
			set_text(d->provider_id, sizeof d->provider_id, id);
		for (size_t i = 0; i < 2; i++) {
			json_t *v = json_object_get(data, keep[i]);
			if (json_is_string(v))
				json_object_set(m, keep[i], v);
		}
		set_metadata(d, m);
	}
	buf_free(&why);
	json_decref(r);
}

struct adapter *
telnyx_voice_adapter(void)
{
	struct telnyx_voice *t = xcalloc(1, sizeof *t);
	t->a.name = "telnyx-voice";
	t->a.network = 1;
	t->a.sender = sender;
	t->a.prepare = prepare;
	t->a.answer = answer;
	t->a.close = adapter_free;
	t->key = conf_need("telnyx-voice", "TELNYX_API_KEY");
	t->from = conf_need_numbers("telnyx-voice", "SEQ_VOICE_FROM");
	t->connection = conf_need("telnyx-voice", "SEQ_TELNYX_CONNECTION_ID");
	t->base = conf_or("SEQ_TELNYX_URL", "https://api.telnyx.com/v2");
	t->webhook = conf_or("SEQ_TELNYX_WEBHOOK_URL", NULL);
	return &t->a;
}
