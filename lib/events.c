/*
 * events: see events.h.  The mapping from each provider's vocabulary to
 * ours is here, in one table per provider; what an event does to leads and
 * enrollments is in event_record().
 */
#include "events.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "autoreply.h"
#include "company.h"
#include "enroll.h"
#include "jsonw.h"
#include "lead.h"
#include "pii.h"
#include "sequence.h"
#include "util.h"
#include "webhook.h"

int
events_provider_known(const char *p)
{
	static const char *const known[] = { "sendgrid", "postmark", "telnyx",
		"sendgrid-inbound", "postmark-inbound", "unsubscribe", NULL };
	for (const char *const *k = known; *k; k++)
		if (strcmp(p, *k) == 0)
			return 1;
	return 0;
}

static const char *
str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s && *s ? s : NULL;
}

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static struct event *
add(struct event_list *l, const char *provider, const char *type,
    const char *channel)
{
	struct event *e;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->e = xrealloc(l->e, l->cap * sizeof *l->e);
	}
	e = &l->e[l->n++];
	memset(e, 0, sizeof *e);
	e->provider = provider;
	e->type = type;
	e->channel = channel;
	e->details = json_object();
	return e;
}

struct event *
events_add(struct event_list *l, const char *provider, const char *type,
    const char *channel)
{
	return add(l, provider, type, channel);
}

static void
drop_last(struct event_list *l)
{
	struct event *e = &l->e[--l->n];
	free(e->provider_event_id);
	free(e->key);
	free(e->message_id);
	free(e->in_reply_to);
	free(e->address);
	free(e->details_text);
	json_decref(e->details);
}

void
events_free(struct event_list *l)
{
	while (l->n)
		drop_last(l);
	free(l->e);
	l->e = NULL;
	l->cap = 0;
	l->ignored = 0;
}

static char *
lower(const char *s)
{
	char *d = dup_or_null(s);
	for (char *p = d; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

/* "Name <addr>" or a bare address, lower-cased. */
static char *
address_of(const char *s)
{
	const char *lt, *gt;
	char *a;
	if (!s)
		return NULL;
	if ((lt = strrchr(s, '<')) && (gt = strchr(lt, '>'))) {
		a = xasprintf("%.*s", (int)(gt - lt - 1), lt + 1);
		char *l = lower(a);
		free(a);
		return l;
	}
	while (isspace((unsigned char)*s))
		s++;
	a = lower(s);
	for (size_t n = strlen(a); n && isspace((unsigned char)a[n - 1]); n--)
		a[n - 1] = '\0';
	return a;
}

static int
time_of(json_t *v, int64_t *at)
{
	if (json_is_integer(v)) {
		*at = json_integer_value(v);
		return 0;
	}
	if (json_is_string(v))
		return parse_time(json_string_value(v), at);
	return -1;
}

/* ---- SendGrid's event webhook: an array of events ---- */

static const char *
sendgrid(json_t *payload, struct event_list *l)
{
	static const struct { const char *theirs, *ours; } map[] = {
		{ "delivered", "delivered" }, { "open", "open" },
		{ "click", "click" }, { "bounce", "bounce" },
		{ "dropped", "bounce" }, { "spamreport", "complaint" },
		{ "unsubscribe", "unsubscribe" },
		{ "group_unsubscribe", "unsubscribe" },
	};
	static char why[160];
	size_t i;
	json_t *o;

	if (!json_is_array(payload))
		return "a SendGrid event webhook body is a JSON array";
	json_array_foreach(payload, i, o) {
		const char *ev = str(o, "event"), *type = NULL, *id;
		struct event *e;
		if (!json_is_object(o) || !ev) {
			snprintf(why, sizeof why, "event %zu: no \"event\"", i + 1);
			return why;
		}
		for (size_t k = 0; k < sizeof map / sizeof map[0]; k++)
			if (strcmp(ev, map[k].theirs) == 0)
				type = map[k].ours;
		if (!type) {	/* processed, deferred, group_resubscribe... */
			l->ignored++;
			continue;
		}
		e = add(l, "sendgrid", type, "email");
		if (!(id = str(o, "sg_event_id")) ||
		    time_of(json_object_get(o, "timestamp"), &e->at) != 0) {
			drop_last(l);
			snprintf(why, sizeof why, "event %zu: no sg_event_id or "
			    "timestamp", i + 1);
			return why;
		}
		e->provider_event_id = xstrdup(id);
		e->key = dup_or_null(str(o, "seq_key"));
		/* sg_message_id is the X-Message-Id of the send and a suffix
		 * per recipient */
		if ((id = str(o, "sg_message_id")))
			e->message_id = xasprintf("%.*s", (int)strcspn(id, "."), id);
		e->address = lower(str(o, "email"));
		/* a bounce of type "blocked", and a drop, may pass later */
		e->hard = strcmp(ev, "bounce") == 0 &&
		    !(str(o, "type") && strcmp(str(o, "type"), "blocked") == 0);
		if (strcmp(type, "bounce") == 0)
			json_object_set_new(e->details, "hard", json_boolean(e->hard));
		const char *keep[] = { "reason", "type", "url", "useragent",
			"bounce_classification", "status" };
		for (size_t k = 0; k < sizeof keep / sizeof keep[0]; k++)
			if (str(o, keep[k]))
				json_object_set_new(e->details, keep[k],
				    json_string(str(o, keep[k])));
		json_object_set_new(e->details, "event", json_string(ev));
	}
	return NULL;
}

/* ---- Postmark: one object per webhook, by RecordType ---- */

static const char *
postmark(json_t *o, struct event_list *l)
{
	const char *rt = str(o, "RecordType"), *type = NULL, *when = NULL;
	json_t *md = json_object_get(o, "Metadata");
	struct event *e;

	if (!json_is_object(o) || !rt)
		return "a Postmark webhook body is an object with a RecordType";
	if (!strcmp(rt, "Delivery"))
		type = "delivered", when = "DeliveredAt";
	else if (!strcmp(rt, "Bounce"))
		type = "bounce", when = "BouncedAt";
	else if (!strcmp(rt, "SpamComplaint"))
		type = "complaint", when = "BouncedAt";
	else if (!strcmp(rt, "Open"))
		type = "open", when = "ReceivedAt";
	else if (!strcmp(rt, "Click"))
		type = "click", when = "ReceivedAt";
	else if (!strcmp(rt, "SubscriptionChange")) {
		const char *why = str(o, "SuppressionReason");
		/* a resubscription, or Postmark's own suppression after a hard
		 * bounce, which its Bounce webhook has already told */
		if (!json_is_true(json_object_get(o, "SuppressSending")) ||
		    (why && !strcmp(why, "HardBounce"))) {
			l->ignored++;
			return NULL;
		}
		type = why && !strcmp(why, "SpamComplaint") ? "complaint" :
		    "unsubscribe";
		when = "ChangedAt";
	} else {
		l->ignored++;
		return NULL;
	}
	e = add(l, "postmark", type, "email");
	if (time_of(json_object_get(o, when), &e->at) != 0) {
		drop_last(l);
		return "no time of the event, or not an ISO 8601 time";
	}
	e->key = dup_or_null(str(md, "seq_key"));
	e->message_id = dup_or_null(str(o, "MessageID"));
	e->address = lower(str(o, "Recipient") ? str(o, "Recipient") :
	    str(o, "Email"));
	/* Bounces and complaints carry their own ID; the others are one per
	 * message, kind and moment (a message has one recipient).  The
	 * address is not part of it: an id is kept in clear, even in a sealed
	 * database and after an erasure. */
	if (json_is_integer(json_object_get(o, "ID")))
		e->provider_event_id = xasprintf("%s:%lld", rt,
		    (long long)json_integer_value(json_object_get(o, "ID")));
	else
		e->provider_event_id = xasprintf("%s:%s:%lld", rt,
		    e->message_id ? e->message_id : "", (long long)e->at);
	if (!strcmp(type, "click") && str(o, "OriginalLink")) {
		char *id = xasprintf("%s:%s", e->provider_event_id,
		    str(o, "OriginalLink"));
		free(e->provider_event_id);
		e->provider_event_id = id;
		json_object_set_new(e->details, "url",
		    json_string(str(o, "OriginalLink")));
	}
	if (!strcmp(type, "bounce")) {
		const char *t = str(o, "Type");
		e->hard = t && (!strcmp(t, "HardBounce") ||
		    !strcmp(t, "BadEmailAddress") || !strcmp(t, "ManuallyDeactivated"));
		json_object_set_new(e->details, "hard", json_boolean(e->hard));
		if (t)
			json_object_set_new(e->details, "type", json_string(t));
		if (str(o, "Description"))
			json_object_set_new(e->details, "reason",
			    json_string(str(o, "Description")));
	}
	json_object_set_new(e->details, "record_type", json_string(rt));
	return NULL;
}

/* ---- Telnyx: messaging and call control, { "data": { ... } } ---- */

/*
 * The keywords of the carriers' rules for text messages (CTIA): a message
 * that is one of these words, in any case, with nothing around it but white
 * space, opts the number out, opts it back in, or asks for help; any other
 * text is a reply.  The event type, with the word in upper case left in
 * word; NULL for any other text.
 */
static const char *
sms_keyword(const char *text, char *word, size_t size)
{
	static const struct { const char *word, *type; } words[] = {
		{ "STOP", "unsubscribe" }, { "STOPALL", "unsubscribe" },
		{ "UNSUBSCRIBE", "unsubscribe" }, { "CANCEL", "unsubscribe" },
		{ "END", "unsubscribe" }, { "QUIT", "unsubscribe" },
		{ "START", "resubscribe" }, { "YES", "resubscribe" },
		{ "UNSTOP", "resubscribe" },
		{ "HELP", "help" },
	};
	size_t n = 0;

	while (isspace((unsigned char)*text))
		text++;
	while (*text && !isspace((unsigned char)*text) && n < size - 1)
		word[n++] = (char)toupper((unsigned char)*text++);
	word[n] = '\0';
	while (isspace((unsigned char)*text))
		text++;
	if (*text)
		return NULL;
	for (size_t k = 0; k < sizeof words / sizeof words[0]; k++)
		if (strcmp(word, words[k].word) == 0)
			return words[k].type;
	return NULL;
}

static char *
unbase64(const char *s)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s), o = 0;
	char *out = xmalloc(n + 1);
	unsigned v = 0;
	int bits = 0;
	for (size_t i = 0; i < n && s[i] != '='; i++) {
		const char *p = strchr(abc, s[i]);
		if (!p || !s[i]) {
			free(out);
			return NULL;
		}
		v = v << 6 | (unsigned)(p - abc);
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[o++] = (char)(v >> bits & 0xff);
		}
	}
	out[o] = '\0';
	if (memchr(out, '\0', o)) {
		free(out);
		return NULL;
	}
	return out;
}

static const char *
telnyx(json_t *o, struct event_list *l)
{
	json_t *data = json_object_get(o, "data");
	json_t *p = json_object_get(data, "payload");
	const char *et = str(data, "event_type"), *id = str(data, "id");
	const char *type = NULL, *channel = "sms";
	char keyword[16] = "";
	struct event *e;

	if (!json_is_object(data) || !et || !id || !json_is_object(p))
		return "a Telnyx webhook body is {\"data\": {\"event_type\", "
		    "\"id\", \"payload\"}}";
	if (!strcmp(et, "message.finalized")) {
		const char *st = str(json_array_get(json_object_get(p, "to"), 0),
		    "status");
		if (st && !strcmp(st, "delivered"))
			type = "delivered";
		else if (st && (!strcmp(st, "delivery_failed") ||
		    !strcmp(st, "sending_failed")))
			type = "bounce";
	} else if (!strcmp(et, "message.received")) {
		const char *text = str(p, "text");
		if (!text || !(type = sms_keyword(text, keyword, sizeof keyword)))
			type = "reply";
	} else if (!strcmp(et, "call.answered")) {
		type = "answered", channel = "voice";
	} else if (!strcmp(et, "call.machine.detection.ended") ||
	    !strcmp(et, "call.machine.premium.detection.ended")) {
		const char *r = str(p, "result");
		if (r && (!strncmp(r, "machine", 7) || !strcmp(r, "fax_detected")))
			type = "voicemail";
		channel = "voice";
	} else if (!strcmp(et, "call.hangup")) {
		const char *c = str(p, "hangup_cause");
		if (c && (!strcmp(c, "timeout") || !strcmp(c, "no_answer") ||
		    !strcmp(c, "busy") || !strcmp(c, "user_busy") ||
		    !strcmp(c, "call_rejected") || !strcmp(c, "not_found") ||
		    !strcmp(c, "unallocated_number")))
			type = "no-answer";
		channel = "voice";
	}
	if (!type) {
		l->ignored++;
		return NULL;
	}
	e = add(l, "telnyx", type, channel);
	if (time_of(json_object_get(data, "occurred_at"), &e->at) != 0) {
		drop_last(l);
		return "no occurred_at, or not an ISO 8601 time";
	}
	e->provider_event_id = xstrdup(id);
	if (!strcmp(channel, "voice")) {
		const char *cs = str(p, "client_state");
		e->message_id = dup_or_null(str(p, "call_control_id"));
		e->key = cs ? unbase64(cs) : NULL;
		e->address = dup_or_null(str(p, "to"));
		if (str(p, "hangup_cause"))
			json_object_set_new(e->details, "hangup_cause",
			    json_string(str(p, "hangup_cause")));
		if (str(p, "result"))
			json_object_set_new(e->details, "result",
			    json_string(str(p, "result")));
	} else if (!strcmp(et, "message.received")) {
		e->address = dup_or_null(str(json_object_get(p, "from"),
		    "phone_number"));
		json_object_set_new(e->details, "text",
		    json_string(str(p, "text") ? str(p, "text") : ""));
		if (strcmp(type, "reply") != 0)
			json_object_set_new(e->details, "keyword",
			    json_string(keyword));
	} else {
		e->message_id = dup_or_null(str(p, "id"));
		e->address = dup_or_null(str(json_array_get(json_object_get(p,
		    "to"), 0), "phone_number"));
		json_object_set_new(e->details, "status", json_string(str(
		    json_array_get(json_object_get(p, "to"), 0), "status")));
		json_object_set_new(e->details, "hard", json_false());
	}
	json_object_set_new(e->details, "event_type", json_string(et));
	return NULL;
}

/* ---- inbound email: replies ---- */

static void
reply_details(struct event *e, const char *subject, const char *text)
{
	if (subject)
		json_object_set_new(e->details, "subject", json_string(subject));
	if (text) {
		/* enough to recognise the reply; the message itself stays with
		 * the provider */
		size_t n = strlen(text) < 280 ? strlen(text) : 280;
		while (n && ((unsigned char)text[n] & 0xc0) == 0x80)
			n--;
		char *snip = xasprintf("%.*s", (int)n, text);
		json_object_set_new(e->details, "snippet", json_string(snip));
		free(snip);
	}
}

/*
 * A message to SEQ_UNSUBSCRIBE_MAILTO, written by the mailto of a
 * List-Unsubscribe header: its subject is "unsubscribe TOKEN".  With a
 * token this secret made, unexpired when the message came, the reply is
 * the message's unsubscribe; any other subject leaves it a reply.
 */
static void
mailto_unsubscribe(struct event *e, const char *subject, int64_t at)
{
	struct unsubscribe u;
	char *token;
	size_t n;

	if (!subject)
		return;
	subject += strspn(subject, " \t");
	if (strncasecmp(subject, "unsubscribe", 11) != 0 ||
	    (subject[11] != ' ' && subject[11] != '\t'))
		return;
	subject += 11 + strspn(subject + 11, " \t");
	n = strcspn(subject, " \t\r\n");
	if (subject[n + strspn(subject + n, " \t\r\n")])
		return;
	token = xasprintf("%.*s", (int)n, subject);
	if (!unsubscribe_check(token, at, &u) && !strcmp(u.channel, "email")) {
		e->type = "unsubscribe";
		free(e->key);
		e->key = xstrdup(u.key);
		json_object_set_new(e->details, "method", json_string("mailto"));
	}
	free(token);
}

static const char *
postmark_inbound(json_t *o, int64_t received_at, struct event_list *l)
{
	const char *from = str(json_object_get(o, "FromFull"), "Email");
	const char *mid = str(o, "MessageID");
	struct buf refs = { 0 };
	json_t *h;
	size_t i;
	struct event *e;

	if (!json_is_object(o) || !mid || !(from || str(o, "From")))
		return "a Postmark inbound body is an object with From and MessageID";
	e = add(l, "postmark-inbound", "reply", "email");
	e->provider_event_id = xstrdup(mid);
	e->address = from ? lower(from) : address_of(str(o, "From"));
	e->at = received_at;
	if (str(o, "Date")) {
		time_t t = curl_getdate(str(o, "Date"), NULL);
		if (t > 0)
			e->at = t;
	}
	json_array_foreach(json_object_get(o, "Headers"), i, h) {
		const char *n = str(h, "Name"), *v = str(h, "Value");
		if (n && v && (!strcasecmp(n, "In-Reply-To") ||
		    !strcasecmp(n, "References"))) {
			buf_adds(&refs, v);
			buf_addc(&refs, ' ');
		}
	}
	buf_addc(&refs, '\0');
	e->in_reply_to = refs.p;
	reply_details(e, str(o, "Subject"), str(o, "StrippedTextReply") ?
	    str(o, "StrippedTextReply") : str(o, "TextBody"));
	autoreply_classify(e, NULL, json_object_get(o, "Headers"),
	    str(o, "Subject"), str(o, "StrippedTextReply") ?
	    str(o, "StrippedTextReply") : str(o, "TextBody"));
	mailto_unsubscribe(e, str(o, "Subject"), received_at);
	return NULL;
}

/* multipart/form-data (RFC 7578), as SendGrid's Inbound Parse posts it:
 * the value of field name, or NULL. */
static char *
form_field(const char *boundary, const char *body, size_t len,
    const char *name)
{
	char *delim = xasprintf("--%s", boundary), *want;
	size_t dlen = strlen(delim);
	const char *p = body, *end = body + len;
	char *value = NULL;

	want = xasprintf("name=\"%s\"", name);
	while ((p = memmem(p, (size_t)(end - p), delim, dlen))) {
		const char *hdr = p + dlen, *hend, *next;
		if (hdr + 2 <= end && hdr[0] == '-' && hdr[1] == '-')
			break;
		if (!(hend = memmem(hdr, (size_t)(end - hdr), "\r\n\r\n", 4)))
			break;
		if (!(next = memmem(hend, (size_t)(end - hend), delim, dlen)))
			break;
		if (memmem(hdr, (size_t)(hend - hdr), want, strlen(want))) {
			const char *v = hend + 4;
			size_t n = (size_t)(next - v);
			if (n >= 2 && v[n - 2] == '\r' && v[n - 1] == '\n')
				n -= 2;
			value = xmalloc(n + 1);
			memcpy(value, v, n);
			value[n] = '\0';
			break;
		}
		p = next;
	}
	free(delim);
	free(want);
	return value;
}

/* One header's value from a raw header block, unfolded. */
static char *
header_of(const char *block, const char *name)
{
	size_t nlen = strlen(name);
	for (const char *p = block; p && *p;) {
		if (!strncasecmp(p, name, nlen) && p[nlen] == ':') {
			struct buf b = { 0 };
			const char *v = p + nlen + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			for (;;) {
				size_t n = strcspn(v, "\r\n");
				buf_add(&b, v, n);
				v += n;
				v += *v == '\r' ? 1 : 0;
				v += *v == '\n' ? 1 : 0;
				if (*v != ' ' && *v != '\t')
					break;
			}
			buf_addc(&b, '\0');
			return b.p;
		}
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return NULL;
}

static const char *
sendgrid_inbound(const char *content_type, const char *body, size_t len,
    int64_t received_at, struct event_list *l)
{
	const char *b = content_type ? strstr(content_type, "boundary=") : NULL;
	char boundary[200], *from, *headers, *mid, *subject, *text, *refs, *irt;
	struct event *e;
	size_t n;

	if (!b || strncasecmp(content_type, "multipart/form-data", 19) != 0)
		return "SendGrid's Inbound Parse posts multipart/form-data with a "
		    "boundary";
	b += 9;
	if (*b == '"')
		b++;
	n = strcspn(b, "\";");
	if (n == 0 || n >= sizeof boundary)
		return "a bad multipart boundary";
	memcpy(boundary, b, n);
	boundary[n] = '\0';
	from = form_field(boundary, body, len, "from");
	headers = form_field(boundary, body, len, "headers");
	if (!from || !headers) {
		free(from);
		free(headers);
		return "no from or headers field";
	}
	mid = header_of(headers, "Message-ID");
	e = add(l, "sendgrid-inbound", "reply", "email");
	e->address = address_of(from);
	e->at = received_at;
	/* without a Message-ID, the same message posted twice is still one
	 * event: its headers name it */
	if (mid)
		e->provider_event_id = mid;
	else {
		uint64_t h = 1469598103934665603ull;
		for (const char *p = headers; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
		e->provider_event_id = xasprintf("headers:%016llx",
		    (unsigned long long)h);
	}
	refs = header_of(headers, "References");
	irt = header_of(headers, "In-Reply-To");
	e->in_reply_to = xasprintf("%s %s", irt ? irt : "", refs ? refs : "");
	subject = form_field(boundary, body, len, "subject");
	text = form_field(boundary, body, len, "text");
	reply_details(e, subject, text);
	autoreply_classify(e, headers, NULL, subject, text);
	mailto_unsubscribe(e, subject, received_at);
	free(from);
	free(headers);
	free(refs);
	free(irt);
	free(subject);
	free(text);
	return NULL;
}

const char *
events_parse_json(const char *provider, json_t *payload, int64_t received_at,
    struct event_list *l)
{
	size_t before = l->n;
	const char *why;

	if (!strcmp(provider, "sendgrid"))
		why = sendgrid(payload, l);
	else if (!strcmp(provider, "postmark"))
		why = postmark(payload, l);
	else if (!strcmp(provider, "telnyx"))
		why = telnyx(payload, l);
	else if (!strcmp(provider, "postmark-inbound"))
		why = postmark_inbound(payload, received_at, l);
	else
		why = "this provider's payloads are not JSON";
	if (why)
		while (l->n > before)
			drop_last(l);
	return why;
}

/* RFC 8058 one-click: seq-hook checked the token.  The execution its key
 * names gives the lead, as for any event with a key. */
static const char *
one_click(const char *query, int64_t received_at, struct event_list *l)
{
	struct unsubscribe u;
	struct event *e;
	char *token = unsubscribe_token_of(query);

	if (!token || unsubscribe_parse(token, &u)) {
		free(token);
		return "no t= token in the query, or more than one, or not "
		    "one of seq-due's";
	}
	free(token);
	e = add(l, "unsubscribe", "unsubscribe", u.channel);
	e->key = xstrdup(u.key);
	/* one per message, however often its link is followed */
	e->provider_event_id = xasprintf("one-click:%s", e->key);
	e->at = received_at;
	json_object_set_new(e->details, "method", json_string("one-click"));
	return NULL;
}

const char *
events_parse(const char *provider, const char *content_type,
    const char *query, const char *body, size_t len, int64_t received_at,
    struct event_list *l)
{
	static char why[200];
	json_error_t e;
	json_t *payload;
	const char *r;

	/* an inbound message may carry binary attachments; JSON may not
	 * carry a NUL */
	if (!strcmp(provider, "sendgrid-inbound"))
		return sendgrid_inbound(content_type, body, len, received_at, l);
	if (!strcmp(provider, "unsubscribe"))
		return one_click(query, received_at, l);
	if (memchr(body, '\0', len))
		return "a NUL byte in the body";
	if (!(payload = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e))) {
		snprintf(why, sizeof why, "invalid JSON at line %d column %d: %s",
		    e.line, e.column, e.text);
		return why;
	}
	r = events_parse_json(provider, payload, received_at, l);
	json_decref(payload);
	return r;
}

/* ---- recording and effects ---- */

static void
match(struct db *db, struct event *e)
{
	sqlite3_stmt *st;

	if (e->key) {
		st = db_stmt(db, "SELECT id, lead_id FROM sequence_executions "
		    "WHERE key = ?");
		bind_text(st, 1, e->key);
		if (db_step(db, st) == SQLITE_ROW) {
			e->execution_id = sqlite3_column_int64(st, 0);
			e->lead_id = sqlite3_column_int64(st, 1);
		}
		sqlite3_reset(st);
	}
	if (!e->execution_id && e->message_id) {
		st = db_stmt(db, "SELECT id, lead_id FROM sequence_executions "
		    "WHERE provider_id = ? ORDER BY id DESC LIMIT 1");
		bind_text(st, 1, e->message_id);
		if (db_step(db, st) == SQLITE_ROW) {
			e->execution_id = sqlite3_column_int64(st, 0);
			e->lead_id = sqlite3_column_int64(st, 1);
		}
		sqlite3_reset(st);
	}
	/* a reply names the message it answers: the SMTP adapter's
	 * Message-ID is <key@domain> */
	if (!e->execution_id && e->in_reply_to) {
		for (const char *p = e->in_reply_to; (p = strchr(p, '<'));) {
			size_t n = strcspn(++p, "@>");
			char *key = xasprintf("%.*s", (int)n, p);
			st = db_stmt(db, "SELECT id, lead_id FROM "
			    "sequence_executions WHERE key = ? OR provider_id = ?");
			bind_text(st, 1, key);
			bind_text(st, 2, key);
			if (db_step(db, st) == SQLITE_ROW) {
				e->execution_id = sqlite3_column_int64(st, 0);
				e->lead_id = sqlite3_column_int64(st, 1);
			}
			sqlite3_reset(st);
			free(key);
			if (e->execution_id)
				break;
		}
	}
	if (!e->lead_id && e->address) {
		/* seq-lead keeps the case of an address's local part, and
		 * providers may not: compare without case (an index on it) */
		st = db_stmt(db, strcmp(e->channel, "email") == 0 ?
		    "SELECT id FROM leads WHERE lower(email) = lower(?) "
		    "ORDER BY id LIMIT 1" :
		    "SELECT id FROM leads WHERE phone = ? ORDER BY id LIMIT 1");
		char *look = pii_lookup(db, e->address);
		bind_text(st, 1, look);
		free(look);
		if (db_step(db, st) == SQLITE_ROW)
			e->lead_id = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	/* a reply found by its sender belongs to the last message sent to
	 * that lead on the channel, so that a branch on it can see it */
	if (!e->execution_id && e->lead_id && (!strcmp(e->type, "reply") ||
	    !strcmp(e->type, "auto_reply"))) {
		st = db_stmt(db, "SELECT id FROM sequence_executions WHERE "
		    "lead_id = ? AND channel = ? AND state = 'sent' "
		    "ORDER BY id DESC LIMIT 1");
		bind_int(st, 1, e->lead_id);
		bind_text(st, 2, e->channel);
		if (db_step(db, st) == SQLITE_ROW)
			e->execution_id = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
}

/*
 * An opt-out stands whatever came before it.  An opt-in (an SMS START) does
 * not, when the lead's consent on the channel changed after it was sent:
 * providers deliver late and out of order, and a START older than a STOP
 * must not undo the STOP.
 */
static void
consent_change(struct db *db, const struct event *e, const char *state,
    int64_t now)
{
	/* a keyword speaks for its number: every lead that has it, not
	 * only the one the message was matched to */
	sqlite3_stmt *st = db_stmt(db, "INSERT INTO consent (lead_id, channel, "
	    "state, source, evidence, at) SELECT l.id, ?2, ?3, ?4, ?5, ?6 "
	    "FROM leads l WHERE (l.id = ?1 OR l.phone = ?7) AND (?3 = 'opt-out' "
	    "OR NOT EXISTS (SELECT 1 FROM consent WHERE lead_id = l.id AND "
	    "channel = ?2 AND at > ?6)) ORDER BY l.id");
	char *source = xasprintf("%s:%s", e->provider, e->type);
	char *evidence = xasprintf("event %lld", (long long)e->id);
	char *phone = !strcmp(e->channel, "sms") ? pii_lookup(db, e->address) :
	    NULL;
	bind_text(st, 7, phone);
	free(phone);
	bind_int(st, 1, e->lead_id);
	bind_text(st, 2, e->channel);
	bind_text(st, 3, state);
	bind_text(st, 4, source);
	bind_text(st, 5, evidence);
	bind_int(st, 6, e->at ? e->at : now);
	db_run(db, st);
	free(source);
	free(evidence);
}

static void
suppress(struct db *db, const struct event *e)
{
	sqlite3_stmt *st;
	const char *reason = json_string_value(json_object_get(e->details,
	    "reason"));
	char *said = pii_keys(db) ? pii_redact(reason, e->address) :
	    (reason ? xstrdup(reason) : NULL);
	char *why = xasprintf("hard bounce%s%s", said ? ": " : "",
	    said ? said : "");
	free(said);
	/* kept in lower case, and compared so (seq-due); in a sealed
	 * database as a blind index, with the address sealed beside it */
	const struct keys *k = pii_keys(db);
	char *look = pii_lookup_with(k, e->address);
	st = db_stmt(db, "INSERT INTO suppressions (address, reason, event_id, "
	    "at, sealed) VALUES (lower(?), ?, ?, ?, ?) ON CONFLICT (address) "
	    "DO NOTHING");
	bind_text(st, 1, look);
	bind_text(st, 2, why);
	bind_int(st, 3, e->id);
	bind_int(st, 4, e->at);
	if (k) {
		size_t len;
		unsigned char *sealed = pii_seal(k, e->address,
		    strlen(e->address), look, &len);
		sqlite3_bind_blob(st, 5, sealed, (int)len, free);
	}
	db_run(db, st);
	free(why);
	/* the badges say it too, for whoever lists the lead */
	st = db_stmt(db, "UPDATE leads SET badges = (SELECT json_group_array("
	    "value) FROM (SELECT value FROM json_each(leads.badges) WHERE "
	    "value != 'valid-email' AND value != 'bounced' UNION ALL "
	    "SELECT 'bounced')) WHERE lower(email) = lower(?)");
	bind_text(st, 1, look);
	db_run(db, st);
	free(look);
}

static int
exits_on(const struct seqdef *d, const char *type)
{
	size_t i;
	json_t *v;
	json_array_foreach(d->exit_on, i, v)
		if (strcmp(json_string_value(v), type) == 0)
			return 1;
	return 0;
}

/*
 * Which event types any stored sequence exits on or branches on, read once
 * per run: most events (opens, deliveries) concern neither, and need no
 * look at the lead's enrollments or a wake.
 */
static struct {
	int loaded;
	struct buf exits, branches;	/* " type type ... " */
	int company;		/* a version stops on a company reply */
} interest;

static void
load_interest(struct db *db)
{
	sqlite3_stmt *st = db_stmt(db, "SELECT sequence_id, version FROM "
	    "sequence_versions");
	int64_t ids[2];

	buf_addc(&interest.exits, ' ');
	buf_addc(&interest.branches, ' ');
	while (db_step(db, st) == SQLITE_ROW) {
		const struct seqdef *d;
		size_t i;
		json_t *v;
		ids[0] = sqlite3_column_int64(st, 0);
		ids[1] = sqlite3_column_int64(st, 1);
		if (!(d = sequence_version(db, ids[0], (int)ids[1])))
			continue;
		interest.company |= d->stop_on_company_reply;
		json_array_foreach(d->exit_on, i, v) {
			buf_adds(&interest.exits, json_string_value(v));
			buf_addc(&interest.exits, ' ');
		}
		for (int k = 0; k < d->nsteps; k++)
			if (d->steps[k].if_event) {
				buf_adds(&interest.branches, d->steps[k].if_event);
				buf_addc(&interest.branches, ' ');
			}
	}
	sqlite3_reset(st);
	buf_addc(&interest.exits, '\0');
	buf_addc(&interest.branches, '\0');
	interest.loaded = 1;
}

static int
interesting(const struct buf *set, const char *type)
{
	char word[32];
	snprintf(word, sizeof word, " %s ", type);
	return strstr(set->p, word) != NULL;
}

void
events_forget(void)
{
	buf_free(&interest.exits);
	buf_free(&interest.branches);
	interest.loaded = interest.company = 0;
}

static void
exit_enrollments(struct db *db, const struct event *e, int64_t now)
{
	/* as seq-due judges exit_on: by events since the enrollment began */
	sqlite3_stmt *st = db_stmt(db, "SELECT id, sequence_id, version FROM "
	    "enrollments WHERE lead_id = ? AND (status = 'active' OR "
	    "status = 'paused') AND created_at <= ?");
	int64_t *ids = NULL;
	size_t n = 0, cap = 0;

	bind_int(st, 1, e->lead_id);
	bind_int(st, 2, e->at);
	while (db_step(db, st) == SQLITE_ROW) {
		const struct seqdef *d = sequence_version(db,
		    sqlite3_column_int64(st, 1), sqlite3_column_int(st, 2));
		if (!d || !exits_on(d, e->type))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			ids = xrealloc(ids, cap * sizeof *ids);
		}
		ids[n++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	for (size_t i = 0; i < n; i++) {
		char *why = xasprintf("%s received (event %lld)", e->type,
		    (long long)e->id);
		enrollment_set_status(db, ids[i], "exited", why, now);
		free(why);
	}
	free(ids);
}

int
event_record(struct db *db, struct event *e, int64_t now)
{
	sqlite3_stmt *st;
	char *details;
	int soft_bounce = !strcmp(e->type, "bounce") && !e->hard;

	if (!interest.loaded)
		load_interest(db);
	match(db, e);
	free(e->details_text);
	/* a sealed database keeps no address in clear, and providers quote
	 * it in their words */
	if (pii_keys(db))
		pii_redact_json(e->details, e->address);
	details = e->details_text = json_dumps(e->details, JSON_COMPACT);
	st = db_stmt(db, "INSERT INTO events (provider, provider_event_id, type, "
	    "at, execution_id, lead_id, details, channel) VALUES (?, ?, ?, ?, ?, "
	    "?, ?, ?) ON CONFLICT (provider, provider_event_id) DO NOTHING");
	bind_text(st, 1, e->provider);
	bind_text(st, 2, e->provider_event_id);
	bind_text(st, 3, e->type);
	bind_int(st, 4, e->at);
	if (e->execution_id)
		bind_int(st, 5, e->execution_id);
	else
		sqlite3_bind_null(st, 5);
	if (e->lead_id)
		bind_int(st, 6, e->lead_id);
	else
		sqlite3_bind_null(st, 6);
	bind_text(st, 7, details);
	bind_text(st, 8, e->channel);
	db_run(db, st);
	if (sqlite3_changes(db_handle(db)) == 0)
		return 0;
	e->id = sqlite3_last_insert_rowid(db_handle(db));
	if (!e->lead_id)
		return 1;
	if (!strcmp(e->type, "unsubscribe") || !strcmp(e->type, "complaint"))
		consent_change(db, e, "opt-out", now);
	if (!strcmp(e->type, "resubscribe"))
		consent_change(db, e, "opt-in", now);
	if (!strcmp(e->type, "bounce") && e->hard && e->address)
		suppress(db, e);
	/* before the replier's own exit, which may end the enrollment that
	 * names the sequence */
	if (interest.company && !strcmp(e->type, "reply"))
		company_reply(db, e, now);
	/* a soft bounce may pass later: it ends nothing */
	if (!soft_bounce && interesting(&interest.exits, e->type))
		exit_enrollments(db, e, now);
	/* an out-of-office pauses what the exits left (lib/autoreply.c) */
	if (!strcmp(e->type, "auto_reply"))
		autoreply_pause(db, e, now);
	/* a branch waiting on this step decides now, not at its window's end */
	if (e->execution_id && interesting(&interest.branches, e->type)) {
		st = db_stmt(db, "UPDATE enrollments SET next_run_at = ?2 WHERE "
		    "id = (SELECT enrollment_id FROM sequence_executions WHERE "
		    "id = ?1) AND status = 'active' AND claim IS NULL AND "
		    "next_run_at > ?2");
		bind_int(st, 1, e->execution_id);
		bind_int(st, 2, now);
		db_run(db, st);
	} else if (!events_provider_known(e->provider) &&
	    interesting(&interest.branches, e->type)) {
		/* another source's event names no attempt: a branch looks for
		 * it among the lead's (seq-due), in any of its enrollments */
		st = db_stmt(db, "UPDATE enrollments SET next_run_at = ?2 WHERE "
		    "lead_id = ?1 AND status = 'active' AND claim IS NULL AND "
		    "next_run_at > ?2");
		bind_int(st, 1, e->lead_id);
		bind_int(st, 2, now);
		db_run(db, st);
	}
	return 1;
}

void
event_line(struct buf *out, const struct event *e)
{
	struct jsonw w;
	char at[32];
	const char *details = e->details_text ? e->details_text : "{}";

	jw_open(&w, out);
	jw_int(&w, "id", e->id);
	jw_str(&w, "provider", e->provider);
	jw_str(&w, "provider_event_id", e->provider_event_id);
	jw_str(&w, "type", e->type);
	jw_str(&w, "channel", e->channel);
	jw_str(&w, "at", format_time(e->at, at));
	jw_str(&w, "execution_key", e->key);
	jw_str(&w, "provider_message_id", e->message_id);
	if (e->execution_id)
		jw_int(&w, "execution_id", e->execution_id);
	else
		jw_null(&w, "execution_id");
	if (e->lead_id)
		jw_int(&w, "lead_id", e->lead_id);
	else
		jw_null(&w, "lead_id");
	jw_raw(&w, "details", details, strlen(details));
	jw_close(&w);
}
