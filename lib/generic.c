/*
 * generic: see generic.h.  One line is one event:
 *
 *   {"type": "meeting_booked", "email": "ann@acme.example",
 *    "at": "2026-11-23T10:00:00Z", "id": "cal-123", "source": "calendly",
 *    "details": {...}, "channel": "email"}
 *
 * with exactly one of lead_id, external_id, email and phone.  The event's
 * id is the source's "id"; without one, it is made from what the line
 * says, so that an export read twice is recorded once.
 */
#include "generic.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/sha.h>

#include "lead.h"
#include "ndjson.h"
#include "pii.h"
#include "seqdef.h"
#include "util.h"

/* Events point at their source's name and type: the names live as long as
 * the run.  A run sees few of them. */
static char **names;
static size_t nnames;

static const char *
keep(const char *s)
{
	for (size_t i = 0; i < nnames; i++)
		if (strcmp(names[i], s) == 0)
			return names[i];
	names = xrealloc(names, (nnames + 1) * sizeof *names);
	return names[nnames++] = xstrdup(s);
}

void
generic_forget(void)
{
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	names = NULL;
	nnames = 0;
}

/* Lower case letters, digits, '.', '_' and '-', a letter or digit first;
 * not a provider's name, whose event ids a source must not take. */
static int
source_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64 || !(islower((unsigned char)s[0]) ||
	    isdigit((unsigned char)s[0])))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) &&
		    !strchr("._-", s[i]))
			return 0;
	/* "task" is seq-task's: its events' ids are the tasks' own */
	return !events_provider_known(s) && strcmp(s, "task") != 0;
}

/* The lead the reference names, or 0. */
static int64_t
find_lead(struct db *db, const char *by, const char *value, long long id)
{
	sqlite3_stmt *st;
	char *look = NULL;
	int64_t found = 0;

	if (!strcmp(by, "lead_id")) {
		st = db_stmt(db, "SELECT id FROM leads WHERE id = ?");
		bind_int(st, 1, id);
	} else if (!strcmp(by, "external_id")) {
		st = db_stmt(db, "SELECT id FROM leads WHERE external_id = ?");
		bind_text(st, 1, value);
	} else if (!strcmp(by, "email")) {
		/* as seq-event matches a provider's address: without case,
		 * the oldest lead first */
		st = db_stmt(db, "SELECT id FROM leads WHERE lower(email) = "
		    "lower(?) ORDER BY id LIMIT 1");
		bind_text(st, 1, (look = pii_lookup(db, value)));
	} else {
		st = db_stmt(db, "SELECT id FROM leads WHERE phone = ? "
		    "ORDER BY id LIMIT 1");
		bind_text(st, 1, (look = pii_lookup(db, value)));
	}
	if (db_step(db, st) == SQLITE_ROW)
		found = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	free(look);
	return found;
}

/* "line:" and 32 hex digits of SHA-256 over what the line says, in one
 * form: keys sorted, the lead by its id however the line named it, "at" as
 * seconds.  "id" and "source" are not in it (the source is the other half
 * of the key). */
static char *
content_id(json_t *said)
{
	char *text = json_dumps(said, JSON_COMPACT | JSON_SORT_KEYS);
	unsigned char md[SHA256_DIGEST_LENGTH];
	char hex[33];

	SHA256((const unsigned char *)text, strlen(text), md);
	free(text);
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return xasprintf("line:%s", hex);
}

static const char *
channel_name(const char *s)
{
	for (int ch = 0; ch < CH_COUNT; ch++)
		if (strcmp(channel_names[ch], s) == 0)
			return channel_names[ch];
	return NULL;
}

const char *
generic_parse(struct db *db, json_t *rec, int64_t now, struct event_list *l)
{
	static const char *const keys[] = { "type", "lead_id", "external_id",
		"email", "phone", "at", "id", "source", "details", "channel", NULL };
	static const char *const refs[] = { "lead_id", "external_id", "email",
		"phone", NULL };
	static char why[400];
	const char *type = NULL, *ref = NULL, *given = NULL, *source = "ndjson";
	const char *channel = NULL, *at_text = NULL, *key, *bad = NULL;
	char *value = NULL, *event_id = NULL;
	long long lead_ref = 0;
	int64_t at = now, lead_id = 0;
	int hard = 0;
	json_t *v, *said, *details;
	struct event *e;

	json_object_foreach(rec, key, v) {
		const char *const *k;
		for (k = keys; *k && strcmp(*k, key); k++)
			;
		if (!*k) {
			snprintf(why, sizeof why, "unknown key \"%.64s\"", key);
			return why;
		}
	}
	if (field_str(rec, "type", &type) <= 0 || !event_type_known(type))
		return "\"type\" must be an event type: a built-in one or a name "
		    "of one's own in lower case, such as meeting_booked";
	for (const char *const *k = refs; *k; k++) {
		if (!json_object_get(rec, *k) || json_is_null(json_object_get(rec,
		    *k)))
			continue;
		if (ref)
			return "name the lead once: by one of lead_id, external_id, "
			    "email and phone";
		ref = *k;
	}
	if (!ref)
		return "no lead: give lead_id, external_id, email or phone";
	/* a bounce is an email's: a number that bounced names nothing */
	if (!strcmp(type, "bounce") && !strcmp(ref, "phone"))
		return "a bounce names its lead by email, lead_id or external_id";
	if (!strcmp(ref, "lead_id")) {
		if (field_int(rec, "lead_id", &lead_ref) <= 0 || lead_ref <= 0)
			return "\"lead_id\" must be a whole number above 0";
	} else if (field_str(rec, ref, &given) <= 0 || !*given) {
		snprintf(why, sizeof why, "\"%s\" must be a string", ref);
		return why;
	} else if (!strcmp(ref, "email")) {
		if (!(value = normalise_email(given)))
			return "\"email\" is not an email address";
		/* the whole address without case, as the lookup compares */
		for (char *p = value; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	} else if (!strcmp(ref, "phone") && !(value = normalise_phone(given,
	    getenv("SEQ_DEFAULT_REGION"))))
		return "\"phone\" is not a phone number";
	if (field_str(rec, "at", &at_text) < 0 || (at_text &&
	    parse_time(at_text, &at) != 0))
		bad = "\"at\" must be an RFC 3339 time, such as "
		    "2026-11-23T10:00:00Z";
	v = json_object_get(rec, "id");
	if (json_is_integer(v))
		event_id = xasprintf("%lld", (long long)json_integer_value(v));
	else if (json_is_string(v) && *json_string_value(v) &&
	    strlen(json_string_value(v)) <= 200)
		event_id = xstrdup(json_string_value(v));
	else if (v && !json_is_null(v))
		bad = "\"id\" must be a string of 1 to 200 bytes, or a whole number";
	if (field_str(rec, "source", &source) < 0 || !source_ok(source))
		bad = "\"source\" must be a name in lower case (letters, digits, "
		    "'.', '_', '-'), not a provider's";
	details = json_object_get(rec, "details");
	if (details && !json_is_null(details) && !json_is_object(details))
		bad = "\"details\" must be an object";
	if (field_str(rec, "channel", &channel) < 0 || (channel &&
	    !(channel = channel_name(channel))))
		bad = "\"channel\" must be email, sms or voice";
	/* an opt-out or an opt-in is for a channel */
	else if (!channel && (!strcmp(type, "unsubscribe") ||
	    !strcmp(type, "resubscribe") || !strcmp(type, "complaint"))) {
		snprintf(why, sizeof why, "an event of type %s needs a "
		    "\"channel\"", type);
		bad = why;
	}
	if (!bad && !(lead_id = find_lead(db, ref, value ? value : given,
	    lead_ref))) {
		char *text = json_dumps(json_object_get(rec, ref), JSON_COMPACT |
		    JSON_ENCODE_ANY);
		snprintf(why, sizeof why, "no such lead: {\"%s\":%.200s}", ref,
		    text);
		free(text);
		bad = why;
	}
	if (bad) {
		free(value);
		free(event_id);
		return bad;
	}
	details = json_is_object(details) ? json_deep_copy(details) : NULL;
	if (!strcmp(type, "bounce")) {
		/* hard unless the line says otherwise, as seq-due's exit_on
		 * reads it: "hard": false is a soft bounce, which may pass */
		if (!details)
			details = json_object();
		json_t *h = json_object_get(details, "hard");
		hard = !json_is_false(h) && !(json_is_integer(h) &&
		    json_integer_value(h) == 0);
		json_object_set_new(details, "hard", json_boolean(hard));
	}
	if (!event_id) {
		/* the lead by its id, and the details without its address:
		 * an id is stored in clear, and must not let anyone test a
		 * guessed address against a sealed database */
		said = json_pack("{s:s, s:O?, s:s?, s:I}", "type", type,
		    "details", details, "channel", channel, "lead_id",
		    (json_int_t)lead_id);
		if (value && details) {
			json_object_set_new(said, "details",
			    json_deep_copy(details));
			pii_redact_json(json_object_get(said, "details"), value);
		}
		if (at_text)
			json_object_set_new(said, "at", json_integer(at));
		event_id = content_id(said);
		json_decref(said);
	}
	e = events_add(l, keep(source), keep(type), channel);
	e->provider_event_id = event_id;
	e->at = at;
	e->lead_id = lead_id;
	/* named by address: a hard bounce suppresses it, and a sealed
	 * database keeps it out of the details */
	e->address = value;
	e->hard = hard;
	if (details) {
		json_decref(e->details);
		e->details = details;
	}
	return NULL;
}
