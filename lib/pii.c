/*
 * pii: see pii.h.
 */
#include "pii.h"

#include <ctype.h>
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "config.h"
#include "util.h"

#define NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG crypto_aead_xchacha20poly1305_ietf_ABYTES

static void
need_sodium(void)
{
	static int ready;
	if (!ready && sodium_init() < 0)
		errx(EXIT_CONFIG, "libsodium cannot start");
	ready = 1;
}

void
pii_check_value(const struct keys *k, char out[33])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char a[32], b[32];
	need_sodium();
	crypto_auth_hmacsha256(a, (const unsigned char *)"seqtools index",
	    14, k->index);
	crypto_auth_hmacsha256(b, (const unsigned char *)"seqtools encryption",
	    19, k->encryption);
	for (int i = 0; i < 8; i++) {
		out[2 * i] = digits[a[i] >> 4];
		out[2 * i + 1] = digits[a[i] & 15];
		out[16 + 2 * i] = digits[b[i] >> 4];
		out[16 + 2 * i + 1] = digits[b[i] & 15];
	}
	out[32] = '\0';
}

static char *
meta(struct db *db, const char *key)
{
	sqlite3_stmt *st = db_stmt(db, "SELECT value FROM meta WHERE key = ?");
	char *v = NULL;
	bind_text(st, 1, key);
	if (db_step(db, st) == SQLITE_ROW && col_text(st, 0))
		v = xstrdup(col_text(st, 0));
	sqlite3_reset(st);
	return v;
}

static int state = -1;		/* -1 not asked, 0 plain, 1 sealed */
static char *state_check;	/* meta pii_check as first read */

const struct keys *
pii_keys(struct db *db)
{
	static const struct keys *k;
	if (state >= 0)
		return k;
	char *mode = meta(db, "pii"), *check = NULL;
	state = mode && !strcmp(mode, "sealed");
	free(mode);
	state_check = meta(db, "pii_check");
	if (!state)
		return NULL;
	if (!(k = keys_get()))
		errx(EXIT_CONFIG, "the database keeps personal data sealed: set "
		    "SEQ_KEY_FILE to its key file");
	char want[33];
	pii_check_value(k, want);
	if (!(check = meta(db, "pii_check")) || strcmp(check, want))
		errx(EXIT_CONFIG, "SEQ_KEY_FILE %s does not hold this "
		    "database's keys", config_get("SEQ_KEY_FILE"));
	free(check);
	return k;
}

void
pii_recheck(struct db *db)
{
	if (state < 0)
		return;
	char *mode = meta(db, "pii"), *check = meta(db, "pii_check");
	int sealed = mode && !strcmp(mode, "sealed");
	int same = sealed == state && (!check) == (!state_check) &&
	    (!check || !strcmp(check, state_check));
	free(mode);
	free(check);
	if (!same)
		errx(EXIT_CONFIG, "the database's personal data was sealed under "
		    "new keys while this command ran (seq-init --rotate-key); "
		    "nothing was written: run it again with SEQ_KEY_FILE naming "
		    "the new key file");
}

char *
pii_lookup_with(const struct keys *k, const char *address)
{
	if (!address)
		return NULL;
	char *s = xstrdup(address);
	if (!k)
		return s;
	/* as suppression lists are matched: an email without case */
	if (strchr(s, '@'))
		for (char *p = s; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	char index[65];
	blind_index(k, s, index);
	free(s);
	return xstrdup(index);
}

char *
pii_lookup(struct db *db, const char *address)
{
	return pii_lookup_with(pii_keys(db), address);
}

unsigned char *
pii_seal(const struct keys *k, const void *plain, size_t n, const char *ad,
    size_t *len)
{
	unsigned long long clen;
	unsigned char *out = xmalloc(NONCE + n + TAG);
	need_sodium();
	randombytes_buf(out, NONCE);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + NONCE, &clen, plain,
	    n, (const unsigned char *)ad, strlen(ad), NULL, out, k->encryption);
	*len = NONCE + (size_t)clen;
	return out;
}

char *
pii_open(const struct keys *k, const void *sealed, size_t len, const char *ad)
{
	const unsigned char *in = sealed;
	unsigned long long n;
	if (len < NONCE + TAG)
		return NULL;
	need_sodium();
	char *out = xmalloc(len - NONCE - TAG + 1);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)out,
	    &n, NULL, in + NONCE, len - NONCE, (const unsigned char *)ad,
	    strlen(ad), in, k->encryption) != 0) {
		free(out);
		return NULL;
	}
	out[n] = '\0';
	return out;
}

char *
pii_redact(const char *text, const char *address)
{
	static const char mark[] = "<address>";
	struct buf b = { 0 };
	size_t n = address ? strlen(address) : 0;
	if (!text)
		return NULL;
	for (const char *p = text; *p; ) {
		if (n && !strncasecmp(p, address, n)) {
			buf_adds(&b, mark);
			p += n;
		} else
			buf_addc(&b, *p++);
	}
	buf_addc(&b, '\0');
	return b.p;
}

void
pii_redact_json(json_t *v, const char *address)
{
	const char *k;
	json_t *x;
	size_t i;
	if (!address || !*address)
		return;
	if (json_is_string(v)) {
		char *r = pii_redact(json_string_value(v), address);
		if (strcmp(r, json_string_value(v)))
			json_string_set(v, r);
		free(r);
	} else if (json_is_object(v))
		json_object_foreach(v, k, x)
			pii_redact_json(x, address);
	else if (json_is_array(v))
		json_array_foreach(v, i, x)
			pii_redact_json(x, address);
}

void
pii_lead_ad(int64_t id, char out[32])
{
	snprintf(out, 32, "lead %lld", (long long)id);
}

void
pii_job_ad(int64_t execution_id, char out[32])
{
	snprintf(out, 32, "job %lld", (long long)execution_id);
}

char *
pii_job_text(struct db *db, void *stmt, int col, int64_t execution_id)
{
	sqlite3_stmt *st = stmt;
	const struct keys *k;
	char ad[32], *text;
	switch (sqlite3_column_type(st, col)) {
	case SQLITE_NULL:
		return NULL;
	case SQLITE_BLOB:
		if (!(k = pii_keys(db)))
			errx(EXIT_DB, "execution %lld: a sealed job in a plain "
			    "database", (long long)execution_id);
		pii_job_ad(execution_id, ad);
		if (!(text = pii_open(k, sqlite3_column_blob(st, col),
		    (size_t)sqlite3_column_bytes(st, col), ad)))
			errx(EXIT_DB, "execution %lld: its job does not open "
			    "with the database's key", (long long)execution_id);
		return text;
	default:
		return xstrdup(col_text(st, col));
	}
}
