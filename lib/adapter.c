/*
 * adapter: which adapter serves a channel, made once per run, with its
 * rate limits.  Nothing leaves the machine unless live delivery is asked
 * for, by SEQ_DELIVERY=live or seq-send --live; then SEQ_EMAIL_ADAPTER,
 * SEQ_SMS_ADAPTER and SEQ_VOICE_ADAPTER choose among the providers.
 */
#include "adapter.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dispatch.h"

/* Defaults from the providers' published limits (seq-send(1), RATES).
 * SendGrid and Postmark publish no fixed number for sending: their 429s
 * pace us.  Telnyx: 50 SMS/s per account, and 1 message/s per number
 * for a portal account; 30 dials/s per account. */
static struct kind {
	const char *name;
	const char *channel;	/* NULL: any */
	struct adapter *(*make)(void);
	double rate, sender_rate;
	struct adapter *made;
} kinds[] = {
	{ "mock", NULL, mock_adapter, 0, 0, NULL },
	{ "sendgrid", "email", sendgrid_adapter, 0, 0, NULL },
	{ "postmark", "email", postmark_adapter, 0, 0, NULL },
	{ "smtp", "email", smtp_adapter, 0, 0, NULL },
	{ "telnyx-sms", "sms", telnyx_sms_adapter, 50, 1, NULL },
	{ "telnyx-voice", "voice", telnyx_voice_adapter, 30, 0, NULL },
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

static struct kind *
kind_named(const char *name, size_t len)
{
	for (size_t i = 0; i < NKINDS; i++)
		if (strlen(kinds[i].name) == len &&
		    strncmp(kinds[i].name, name, len) == 0)
			return &kinds[i];
	return NULL;
}

int
adapter_set_rate(const char *spec, int per_sender, const char **why)
{
	const char *eq = strchr(spec, '=');
	struct kind *k;
	double r;

	if (!eq || !(k = kind_named(spec, (size_t)(eq - spec)))) {
		*why = "not ADAPTER=RATE with an adapter seq-send knows "
		    "(mock, sendgrid, postmark, smtp, telnyx-sms, telnyx-voice)";
		return -1;
	}
	if (parse_rate(eq + 1, &r) != 0) {
		*why = "the rate must be N/s, N/m, N/h or none";
		return -1;
	}
	if (per_sender)
		k->sender_rate = r;
	else
		k->rate = r;
	return 0;
}

static struct adapter *
make(struct kind *k)
{
	if (!k->made) {
		struct adapter *a = k->make();
		bucket_set(&a->rate, k->rate);
		a->sender_rate = k->sender_rate;
		a->max_active = 1 << 30;
		k->made = a;
	}
	return k->made;
}

struct adapter *
adapter_for(const char *channel, int live, const char **why)
{
	static const struct {
		const char *channel, *var, *def, *choices;
	} ch[] = {
		{ "email", "SEQ_EMAIL_ADAPTER", NULL,
		  "SEQ_EMAIL_ADAPTER must be sendgrid, postmark, smtp or mock" },
		{ "sms", "SEQ_SMS_ADAPTER", "telnyx-sms",
		  "SEQ_SMS_ADAPTER must be telnyx-sms or mock" },
		{ "voice", "SEQ_VOICE_ADAPTER", "telnyx-voice",
		  "SEQ_VOICE_ADAPTER must be telnyx-voice or mock" },
	};
	const char *mode = config_get("SEQ_DELIVERY");
	struct kind *k;

	if (mode && strcmp(mode, "live") == 0)
		live = 1;
	else if (mode && strcmp(mode, "mock") != 0) {
		*why = "SEQ_DELIVERY must be mock or live";
		return NULL;
	}
	if (!live)
		return make(&kinds[0]);
	for (size_t i = 0; i < sizeof ch / sizeof ch[0]; i++) {
		const char *name;
		if (strcmp(channel, ch[i].channel) != 0)
			continue;
		if (!(name = config_get(ch[i].var)) && !(name = ch[i].def)) {
			*why = "live delivery of email needs SEQ_EMAIL_ADAPTER "
			    "(sendgrid, postmark or smtp)";
			return NULL;
		}
		k = kind_named(name, strlen(name));
		if (!k || (k->channel && strcmp(k->channel, channel) != 0)) {
			*why = ch[i].choices;
			return NULL;
		}
		return make(k);
	}
	*why = "channel must be email, sms or voice";
	return NULL;
}

void
adapters_close(void)
{
	for (size_t i = 0; i < NKINDS; i++)
		if (kinds[i].made) {
			struct adapter *a = kinds[i].made;
			while (a->senders) {
				struct sender_bucket *s = a->senders;
				a->senders = s->next;
				free(s->sender);
				free(s);
			}
			a->close(a);
			kinds[i].made = NULL;
		}
}
