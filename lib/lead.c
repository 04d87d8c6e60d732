/*
 * lead: normalisation, badges and the upsert.  See lead.h for the rules.
 */
#include "lead.h"

#include <ctype.h>
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "domains.h"
#include "ndjson.h"
#include "pii.h"
#include "tzone.h"
#include "util.h"

const char *const lead_field_names[LF_COUNT] = {
	"external_id", "email", "phone", "first_name", "last_name",
	"company", "title", "timezone"
};

/* Fields longer than this are refused: no name or address is this long. */
#define FIELD_MAX 1024

static const struct { const char *badge; int weight; } weights[] = {
	{ "invalid-email", 40 }, { "disposable-domain", 30 },
	{ "role-address", 15 }, { "invalid-phone", 20 }, { "no-contact", 60 },
	{ "missing-name", 10 }, { "no-timezone", 5 },
	{ "invalid-timezone", 5 }, { "duplicate", 10 },
};

int
lead_badge_weight(const char *badge)
{
	for (size_t i = 0; i < sizeof weights / sizeof *weights; i++)
		if (strcmp(weights[i].badge, badge) == 0)
			return weights[i].weight;
	return 0;
}

static const char *const role_locals[] = {
	"abuse", "accounts", "admin", "billing", "careers", "contact",
	"enquiries", "feedback", "finance", "hello", "help", "hostmaster",
	"hr", "info", "inquiries", "jobs", "legal", "marketing", "media",
	"newsletter", "no-reply", "noreply", "office", "postmaster", "press",
	"privacy", "sales", "security", "service", "support", "team",
	"webmaster",
};

static char *
trimmed(const char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	char *r = xmalloc(n + 1);
	memcpy(r, s, n);
	r[n] = '\0';
	return r;
}

static int
atext(int c)
{
	return isalnum(c) || strchr("!#$%&'*+-/=?^_`{|}~", c);
}

char *
normalise_email(const char *in)
{
	char *s = trimmed(in), *at = strrchr(s, '@');
	size_t local, dom;

	if (!at || strlen(s) > 254)
		goto bad;
	local = (size_t)(at - s);
	dom = strlen(at + 1);
	if (local == 0 || local > 64 || s[0] == '.' || at[-1] == '.')
		goto bad;
	for (char *p = s; p < at; p++)
		if (!(atext((unsigned char)*p) || (*p == '.' && p[1] != '.')))
			goto bad;
	if (dom < 4 || dom > 253)
		goto bad;
	/* labels of letters, digits and hyphens; a TLD of two letters or more */
	char *label = at + 1, *last = NULL;
	for (char *p = at + 1;; p++) {
		if (*p == '.' || *p == '\0') {
			size_t n = (size_t)(p - label);
			if (n == 0 || n > 63 || label[0] == '-' || p[-1] == '-')
				goto bad;
			last = label;
			if (!*p)
				break;
			label = p + 1;
			continue;
		}
		*p = (char)tolower((unsigned char)*p);
		if (!isalnum((unsigned char)*p) && *p != '-')
			goto bad;
	}
	if (last == at + 1 || strlen(last) < 2)
		goto bad;
	for (char *p = last; *p; p++)
		if (!isalpha((unsigned char)*p))
			goto bad;
	return s;
bad:
	free(s);
	return NULL;
}

/* Country calling codes and national number lengths of common regions. */
static const struct region {
	const char *region, *code;
	int minlen, maxlen;
	int trunk_zero;	/* national numbers are written with a leading 0 */
} regions[] = {
	{ "US", "1", 10, 10, 0 }, { "CA", "1", 10, 10, 0 },
	{ "GB", "44", 9, 10, 1 }, { "IE", "353", 7, 9, 1 },
	{ "DE", "49", 6, 13, 1 }, { "AT", "43", 4, 13, 1 },
	{ "CH", "41", 9, 9, 1 }, { "FR", "33", 9, 9, 1 },
	{ "BE", "32", 8, 9, 1 }, { "NL", "31", 9, 9, 1 },
	{ "LU", "352", 4, 11, 0 }, { "ES", "34", 9, 9, 0 },
	{ "PT", "351", 9, 9, 0 }, { "IT", "39", 6, 11, 0 },
	{ "DK", "45", 8, 8, 0 }, { "NO", "47", 8, 8, 0 },
	{ "SE", "46", 7, 13, 1 }, { "FI", "358", 5, 12, 1 },
	{ "PL", "48", 9, 9, 0 }, { "CZ", "420", 9, 9, 0 },
	{ "AU", "61", 9, 9, 1 }, { "NZ", "64", 8, 10, 1 },
	{ "JP", "81", 9, 10, 1 }, { "IN", "91", 10, 10, 1 },
	{ "SG", "65", 8, 8, 0 }, { "BR", "55", 10, 11, 1 },
	{ "MX", "52", 10, 10, 0 }, { "ZA", "27", 9, 9, 1 },
	{ "IL", "972", 8, 9, 1 }, { "AE", "971", 8, 9, 1 },
};

static const struct region *
region_by_name(const char *r)
{
	for (size_t i = 0; r && i < sizeof regions / sizeof *regions; i++)
		if (strcasecmp(regions[i].region, r) == 0)
			return &regions[i];
	return NULL;
}

int
region_known(const char *r)
{
	return region_by_name(r) != NULL;
}

int
phone_regions(const char *e164, const char **out, int max)
{
	int n = 0;
	if (!e164 || e164[0] != '+')
		return 0;
	for (size_t i = 0; i < sizeof regions / sizeof *regions; i++)
		if (strncmp(e164 + 1, regions[i].code,
		    strlen(regions[i].code)) == 0 && n < max)
			out[n++] = regions[i].region;
	return n;
}

/* Checks an international number "+CC..." against the table. */
static int
plausible(const char *digits)
{
	size_t n = strlen(digits);
	if (n < 8 || n > 15 || digits[0] == '0')
		return 0;
	for (size_t i = 0; i < sizeof regions / sizeof *regions; i++) {
		const struct region *r = &regions[i];
		size_t cl = strlen(r->code);
		if (strncmp(digits, r->code, cl) != 0)
			continue;
		size_t nl = n - cl;
		if ((int)nl < r->minlen || (int)nl > r->maxlen)
			return 0;
		/* NANP: area code and exchange start with 2-9 */
		if (strcmp(r->code, "1") == 0 &&
		    (digits[1] < '2' || digits[4] < '2'))
			return 0;
		return 1;
	}
	return 1;	/* a country we do not know: length alone */
}

char *
normalise_phone(const char *in, const char *region)
{
	char digits[32];
	size_t n = 0;
	int plus = 0;
	const char *p = in;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '+') {
		plus = 1;
		p++;
	}
	for (; *p; p++) {
		/* "+49 (0)30 ...": the trunk 0 shown for national dialling */
		if (plus && strncmp(p, "(0)", 3) == 0) {
			p += 2;
			continue;
		}
		if (isdigit((unsigned char)*p)) {
			if (n >= 20)
				return NULL;
			digits[n++] = *p;
		} else if (!strchr(" -.()/", *p) && !isspace((unsigned char)*p))
			return NULL;
	}
	digits[n] = '\0';
	if (n == 0)
		return NULL;
	char out[40];
	if (plus)
		snprintf(out, sizeof out, "%s", digits);
	else if (n > 2 && digits[0] == '0' && digits[1] == '0')
		snprintf(out, sizeof out, "%s", digits + 2);
	else {
		const struct region *r = region_by_name(region);
		const char *national = digits;
		if (!r)
			return NULL;
		if (r->trunk_zero && national[0] == '0')
			national++;
		else if (strcmp(r->code, "1") == 0 && n == 11 &&
		    national[0] == '1')
			national++;
		snprintf(out, sizeof out, "%s%s", r->code, national);
	}
	if (!plausible(out))
		return NULL;
	return xasprintf("+%s", out);
}

static struct domain_list disposable = { "disposable-domains.txt", NULL, 0 };

static int
is_disposable(const char *domain)
{
	return domain_listed(&disposable, domain);
}

static void
badge(struct lead *l, const char *b)
{
	json_array_append_new(l->badges, json_string(b));
	l->quality -= lead_badge_weight(b);
}

/* Finds other leads with the same email or phone: the same person under
 * another external id. */
static void
find_duplicates(struct db *db, struct lead *l, int ok_email, int ok_phone)
{
	sqlite3_stmt *st = db_stmt(db,
	    "SELECT id FROM leads WHERE (email = ?1 OR phone = ?2) AND id IS NOT ?3 "
	    "ORDER BY id LIMIT 10");
	char *email = pii_lookup(db, ok_email ? l->f[LF_EMAIL] : NULL);
	char *phone = pii_lookup(db, ok_phone ? l->f[LF_PHONE] : NULL);
	bind_text(st, 1, email);
	bind_text(st, 2, phone);
	if (l->id)
		bind_int(st, 3, l->id);
	while (db_step(db, st) == SQLITE_ROW)
		json_array_append_new(l->duplicate_of,
		    json_integer(sqlite3_column_int64(st, 0)));
	sqlite3_reset(st);
	free(email);
	free(phone);
}

static void
score(struct db *db, struct lead *l, int ok_email, int ok_phone)
{
	json_array_clear(l->badges);
	json_array_clear(l->duplicate_of);
	l->quality = 100;
	if (ok_email) {
		char *at = strrchr(l->f[LF_EMAIL], '@');
		badge(l, "valid-email");
		size_t ln = (size_t)(at - l->f[LF_EMAIL]);
		for (size_t i = 0; i < sizeof role_locals / sizeof *role_locals; i++)
			if (strlen(role_locals[i]) == ln &&
			    strncasecmp(role_locals[i], l->f[LF_EMAIL], ln) == 0)
				badge(l, "role-address");
		if (is_disposable(at + 1))
			badge(l, "disposable-domain");
	} else if (l->f[LF_EMAIL])
		badge(l, "invalid-email");
	if (ok_phone)
		badge(l, "valid-phone");
	else if (l->f[LF_PHONE])
		badge(l, "invalid-phone");
	if (!ok_email && !ok_phone)
		badge(l, "no-contact");
	if (!l->f[LF_FIRST_NAME] && !l->f[LF_LAST_NAME])
		badge(l, "missing-name");
	if (!l->f[LF_TIMEZONE])
		badge(l, "no-timezone");
	else if (!tz_valid(l->f[LF_TIMEZONE]))
		badge(l, "invalid-timezone");
	if (ok_email || ok_phone) {
		find_duplicates(db, l, ok_email, ok_phone);
		if (json_array_size(l->duplicate_of))
			badge(l, "duplicate");
	}
	if (l->quality < 0)
		l->quality = 0;
}

static void
lead_init(struct lead *l)
{
	memset(l, 0, sizeof *l);
	l->attributes = json_object();
	l->badges = json_array();
	l->duplicate_of = json_array();
}

void
lead_free(struct lead *l)
{
	for (int i = 0; i < LF_COUNT; i++)
		free(l->f[i]);
	json_decref(l->attributes);
	json_decref(l->badges);
	json_decref(l->duplicate_of);
	memset(l, 0, sizeof *l);
}

static void
set_field(struct lead *l, int i, const char *v)
{
	free(l->f[i]);
	l->f[i] = v ? xstrdup(v) : NULL;
}

/* The fields a sealed row keeps only sealed: everything but the external id
 * and the timezone, which are not about the person. */
static int
personal(int i)
{
	return i != LF_EXTERNAL_ID && i != LF_TIMEZONE;
}

void
lead_unseal(struct db *db, struct lead *l, const void *sealed, size_t len)
{
	char ad[32], *text;
	json_error_t e;
	json_t *o = NULL;
	const struct keys *k = pii_keys(db);
	if (!k)
		errx(EXIT_DB, "lead %lld: sealed in a plain database",
		    (long long)l->id);
	pii_lead_ad(l->id, ad);
	if (!(text = pii_open(k, sealed, len, ad)) ||
	    !(o = json_loads(text, 0, &e)))
		errx(EXIT_DB, "lead %lld: its personal data does not open with "
		    "the database's key", (long long)l->id);
	sodium_memzero(text, strlen(text));
	free(text);
	for (int i = 0; i < LF_COUNT; i++)
		if (personal(i))
			set_field(l, i, json_string_value(json_object_get(o,
			    lead_field_names[i])));
	json_decref(l->attributes);
	l->attributes = json_incref(json_object_get(o, "attributes"));
	if (!json_is_object(l->attributes)) {
		json_decref(l->attributes);
		l->attributes = json_object();
	}
	json_decref(o);
}

static void
from_row(struct db *db, sqlite3_stmt *st, struct lead *l)
{
	json_error_t e;
	l->id = sqlite3_column_int64(st, 0);
	for (int i = 0; i < LF_COUNT; i++)
		set_field(l, i, col_text(st, 1 + i));
	json_decref(l->attributes);
	l->attributes = json_loads(col_text(st, 9), 0, &e);
	json_decref(l->badges);
	l->badges = json_loads(col_text(st, 10), 0, &e);
	if (!l->attributes || !l->badges)
		errx(EXIT_DB, "lead %lld: corrupt JSON in the database",
		    (long long)l->id);
	l->quality = sqlite3_column_int(st, 11);
	l->created_at = sqlite3_column_int64(st, 12);
	l->updated_at = sqlite3_column_int64(st, 13);
	if (sqlite3_column_type(st, 14) != SQLITE_NULL)
		lead_unseal(db, l, sqlite3_column_blob(st, 14),
		    (size_t)sqlite3_column_bytes(st, 14));
}

#define LEAD_COLUMNS "id, external_id, email, phone, first_name, last_name, " \
	"company, title, timezone, attributes, badges, quality, created_at, " \
	"updated_at, sealed"

int
lead_load(struct db *db, int64_t id, struct lead *l)
{
	sqlite3_stmt *st = db_stmt(db,
	    "SELECT " LEAD_COLUMNS " FROM leads WHERE id = ?");
	int found;
	lead_init(l);
	bind_int(st, 1, id);
	if ((found = db_step(db, st) == SQLITE_ROW))
		from_row(db, st, l);
	sqlite3_reset(st);
	if (!found)
		lead_free(l);
	return found ? 0 : -1;
}

static int64_t
find_existing(struct db *db, const char *external_id, const char *email)
{
	sqlite3_stmt *st;
	int64_t id = 0;
	if (external_id) {
		st = db_stmt(db, "SELECT id FROM leads WHERE external_id = ?");
		bind_text(st, 1, external_id);
	} else {
		st = db_stmt(db, "SELECT id FROM leads WHERE email = ? "
		    "ORDER BY id LIMIT 1");
		char *look = pii_lookup(db, email);
		bind_text(st, 1, look);
		free(look);
	}
	if (db_step(db, st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return id;
}

/* Keys of a record that are not attributes: the fields, and what seq-lead
 * writes, so that its output can be fed back in. */
static int
reserved_key(const char *k)
{
	static const char *const out_keys[] = { "id", "badges", "quality",
	    "duplicate_of", "created_at", "updated_at", "attributes",
	    "consent" };
	for (int i = 0; i < LF_COUNT; i++)
		if (strcmp(k, lead_field_names[i]) == 0)
			return 1;
	for (size_t i = 0; i < sizeof out_keys / sizeof *out_keys; i++)
		if (strcmp(k, out_keys[i]) == 0)
			return 1;
	return 0;
}

static const char *
check_consent(json_t *consent)
{
	const char *ch;
	json_t *v;
	if (!json_is_object(consent))
		return "consent must be an object like {\"email\": \"opt-out\"}";
	json_object_foreach(consent, ch, v) {
		if (strcmp(ch, "email") && strcmp(ch, "sms") && strcmp(ch, "voice"))
			return "consent: channels are email, sms and voice";
		if (!json_is_string(v) || (strcmp(json_string_value(v), "opt-in") &&
		    strcmp(json_string_value(v), "opt-out")))
			return "consent: a state is \"opt-in\" or \"opt-out\"";
	}
	return NULL;
}

static void
record_consent(struct db *db, int64_t lead_id, json_t *consent, int64_t now)
{
	const char *ch;
	json_t *v;
	json_object_foreach(consent, ch, v) {
		sqlite3_stmt *st = db_stmt(db,
		    "INSERT INTO consent (lead_id, channel, state, source, at) "
		    "SELECT ?1, ?2, ?3, 'import', ?4 WHERE ?3 IS NOT "
		    "(SELECT state FROM consent WHERE lead_id = ?1 AND "
		    "channel = ?2 ORDER BY id DESC LIMIT 1)");
		bind_int(st, 1, lead_id);
		bind_text(st, 2, ch);
		bind_text(st, 3, json_string_value(v));
		bind_int(st, 4, now);
		db_run(db, st);
	}
}

int
lead_store(struct db *db, struct lead *l, const struct keys *k)
{
	char *attrs = json_dumps(l->attributes, JSON_COMPACT);
	char *badges = json_dumps(l->badges, JSON_COMPACT);
	char *stored[LF_COUNT], ad[32];
	char *email = NULL, *phone = NULL;
	unsigned char *sealed = NULL;
	size_t sealed_len = 0;
	sqlite3_stmt *st;
	int rc = 0;

	/* the sealed value is bound to its row's id, which a new row must
	 * have first: no other writer can take it inside this transaction */
	if (!l->id && k) {
		st = db_stmt(db, "SELECT coalesce(max(id), 0) + 1 FROM leads");
		db_step(db, st);
		l->id = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	} else if (!l->id)
		l->id = -1;
	for (int i = 0; i < LF_COUNT; i++)
		stored[i] = k && personal(i) ? NULL : l->f[i];
	if (k) {
		json_t *o = json_object();
		for (int i = 0; i < LF_COUNT; i++)
			if (personal(i) && l->f[i])
				json_object_set_new(o, lead_field_names[i],
				    json_string(l->f[i]));
		json_object_set(o, "attributes", l->attributes);
		char *text = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		pii_lead_ad(l->id, ad);
		sealed = pii_seal(k, text, strlen(text), ad, &sealed_len);
		sodium_memzero(text, strlen(text));
		free(text);
		stored[LF_EMAIL] = email = pii_lookup_with(k, l->f[LF_EMAIL]);
		stored[LF_PHONE] = phone = pii_lookup_with(k, l->f[LF_PHONE]);
		sodium_memzero(attrs, strlen(attrs));
		free(attrs);
		attrs = xstrdup("{}");
	}
	if (l->id > 0)
		st = db_stmt(db, "INSERT INTO leads (id, external_id, email, "
		    "phone, first_name, last_name, company, title, timezone, "
		    "attributes, badges, quality, created_at, updated_at, sealed) "
		    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
		    "?13, ?14, ?15) ON CONFLICT (id) DO UPDATE SET "
		    "external_id = ?2, email = ?3, phone = ?4, first_name = ?5, "
		    "last_name = ?6, company = ?7, title = ?8, timezone = ?9, "
		    "attributes = ?10, badges = ?11, quality = ?12, "
		    "updated_at = ?14, sealed = ?15");
	else
		st = db_stmt(db, "INSERT INTO leads (external_id, email, phone, "
		    "first_name, last_name, company, title, timezone, attributes, "
		    "badges, quality, created_at, updated_at) VALUES (?2, ?3, ?4, "
		    "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
	if (l->id > 0)
		bind_int(st, 1, l->id);
	for (int i = 0; i < LF_COUNT; i++)
		bind_text(st, 2 + i, stored[i]);
	bind_text(st, 10, attrs);
	bind_text(st, 11, badges);
	bind_int(st, 12, l->quality);
	bind_int(st, 13, l->created_at);
	bind_int(st, 14, l->updated_at);
	if (sealed)
		sqlite3_bind_blob(st, 15, sealed, (int)sealed_len,
		    SQLITE_TRANSIENT);
	if (db_step(db, st) == SQLITE_CONSTRAINT)
		rc = -1;
	sqlite3_reset(st);
	if (l->id < 0)
		l->id = rc ? 0 : sqlite3_last_insert_rowid(db_handle(db));
	free(attrs);
	free(badges);
	free(sealed);
	free(email);
	free(phone);
	return rc;
}

int
lead_put(struct db *db, json_t *rec, const char *region, int64_t now,
    struct lead *l, char **why)
{
	const char *raw[LF_COUNT] = { 0 };
	int given[LF_COUNT] = { 0 };
	const char *k;
	json_t *v, *consent = json_object_get(rec, "consent");
	char *email = NULL, *phone = NULL;

	*why = NULL;
	for (int i = 0; i < LF_COUNT; i++) {
		v = json_object_get(rec, lead_field_names[i]);
		if (!v)
			continue;
		given[i] = i != LF_EXTERNAL_ID || !json_is_null(v);
		if (json_is_null(v))
			continue;
		if (!json_is_string(v)) {
			*why = xasprintf("%s must be a string", lead_field_names[i]);
			return -1;
		}
		raw[i] = json_string_value(v);
		if (i == LF_EXTERNAL_ID && !*raw[i]) {
			/* an empty id is no id: it must not wipe the one
			 * a lead matched by email has */
			given[i] = 0;
			raw[i] = NULL;
			continue;
		}
		if (strlen(raw[i]) > FIELD_MAX) {
			*why = xasprintf("%s is longer than %d bytes",
			    lead_field_names[i], FIELD_MAX);
			return -1;
		}
		if (!*raw[i])
			raw[i] = NULL;
	}
	if (!raw[LF_EXTERNAL_ID] && !raw[LF_EMAIL]) {
		*why = xstrdup("a lead needs external_id or email");
		return -1;
	}
	if (consent && (*why = (char *)check_consent(consent))) {
		*why = xstrdup(*why);
		return -1;
	}
	v = json_object_get(rec, "attributes");
	if (v && !json_is_object(v)) {
		*why = xstrdup("attributes must be an object");
		return -1;
	}
	if (raw[LF_EMAIL])
		email = normalise_email(raw[LF_EMAIL]);
	if (raw[LF_PHONE])
		phone = normalise_phone(raw[LF_PHONE], region);
	if (!raw[LF_EXTERNAL_ID] && !email) {
		*why = xasprintf("email '%s' is not valid and there is no "
		    "external_id to store the lead under", raw[LF_EMAIL]);
		free(phone);
		return -1;
	}

	int64_t id = find_existing(db, raw[LF_EXTERNAL_ID], email);
	if (id)
		lead_load(db, id, l);
	else {
		lead_init(l);
		l->created_at = now;
	}
	for (int i = 0; i < LF_COUNT; i++)
		if (given[i])
			set_field(l, i, raw[i]);
	/* An invalid address is kept as given, so nothing is lost; its badge
	 * says it cannot be used. */
	if (email)
		set_field(l, LF_EMAIL, email);
	if (phone)
		set_field(l, LF_PHONE, phone);
	if (v)
		json_object_update(l->attributes, v);
	json_object_foreach(rec, k, v)
		if (!reserved_key(k))
			json_object_set(l->attributes, k, v);
	/* An address stored as given is re-checked, so an update that does not
	 * touch it still scores it. */
	int ok_email = 0, ok_phone = 0;
	if (l->f[LF_EMAIL] && (email || (email = normalise_email(l->f[LF_EMAIL]))))
		ok_email = strcmp(email, l->f[LF_EMAIL]) == 0;
	if (l->f[LF_PHONE] && (phone || (phone = normalise_phone(l->f[LF_PHONE], region))))
		ok_phone = strcmp(phone, l->f[LF_PHONE]) == 0;
	score(db, l, ok_email, ok_phone);
	free(email);
	free(phone);
	l->updated_at = now;

	if (lead_store(db, l, pii_keys(db)) != 0) {
		*why = xasprintf("external_id '%s' is taken by another lead",
		    l->f[LF_EXTERNAL_ID]);
		lead_free(l);
		return -1;
	}
	if (consent)
		record_consent(db, l->id, consent, now);
	return 0;
}

json_t *
lead_json(const struct lead *l)
{
	json_t *o = json_object();
	char t[32];
	json_object_set_new(o, "id", json_integer(l->id));
	for (int i = 0; i < LF_COUNT; i++)
		if (l->f[i])
			json_object_set_new(o, lead_field_names[i],
			    json_string(l->f[i]));
	if (json_object_size(l->attributes))
		json_object_set(o, "attributes", l->attributes);
	json_object_set(o, "badges", l->badges);
	json_object_set_new(o, "quality", json_integer(l->quality));
	if (l->duplicate_of && json_array_size(l->duplicate_of))
		json_object_set(o, "duplicate_of", l->duplicate_of);
	json_object_set_new(o, "created_at", json_string(format_time(l->created_at, t)));
	json_object_set_new(o, "updated_at", json_string(format_time(l->updated_at, t)));
	return o;
}

int
lead_opted_out(struct db *db, int64_t lead_id, const char *channel)
{
	sqlite3_stmt *st = db_stmt(db,
	    "SELECT state = 'opt-out' FROM consent WHERE lead_id = ? AND "
	    "channel = ? ORDER BY id DESC LIMIT 1");
	int out = 0;
	bind_int(st, 1, lead_id);
	bind_text(st, 2, channel);
	if (db_step(db, st) == SQLITE_ROW)
		out = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return out;
}

int64_t
lead_ref(struct db *db, const json_t *rec, char *why, size_t size)
{
	long long id;
	const char *s;
	sqlite3_stmt *st;
	int k;

	if ((k = field_int(rec, "id", &id)) < 0 ||
	    (k == 0 && (k = field_int(rec, "lead_id", &id)) < 0)) {
		snprintf(why, size, "id must be a whole number");
		return 0;
	}
	if (k == 0 && (k = field_str(rec, "external_id", &s)) > 0) {
		st = db_stmt(db, "SELECT id FROM leads WHERE external_id = ?");
		bind_text(st, 1, s);
	} else if (k == 0 && (k = field_str(rec, "email", &s)) > 0) {
		char *n = normalise_email(s);
		char *look = pii_lookup(db, n ? n : s);
		st = db_stmt(db, "SELECT id FROM leads WHERE email = ? "
		    "ORDER BY id LIMIT 1");
		bind_text(st, 1, look);
		free(look);
		free(n);
	} else if (k == 0) {
		snprintf(why, size, "a lead reference needs id, external_id or "
		    "email");
		return 0;
	} else if (k < 0) {
		snprintf(why, size, "external_id and email must be strings");
		return 0;
	} else {
		st = db_stmt(db, "SELECT id FROM leads WHERE id = ?");
		bind_int(st, 1, id);
	}
	int64_t found = db_step(db, st) == SQLITE_ROW ?
	    sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (!found) {
		/* the reference as given: an id, an external id or an email */
		json_t *ref = json_object();
		const char *keys[] = { "id", "lead_id", "external_id", "email" };
		for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
			if (json_object_get(rec, keys[i]))
				json_object_set(ref, keys[i],
				    json_object_get(rec, keys[i]));
		char *text = json_dumps(ref, JSON_COMPACT);
		snprintf(why, size, "no such lead: %.200s", text);
		free(text);
		json_decref(ref);
	}
	return found;
}
