/*
 * webhook: see webhook.h.  Keys and credentials come from the
 * configuration (config.h); a provider whose key is not configured is
 * refused, never let through unchecked.
 */
#include "webhook.h"

#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"

const char *
hook_provider(const char *path_info)
{
	static const char *const known[] = { "sendgrid", "postmark", "telnyx",
		"sendgrid-inbound", "postmark-inbound", "unsubscribe", NULL };
	if (!path_info || *path_info != '/')
		return NULL;
	for (const char *const *k = known; *k; k++)
		if (strcmp(path_info + 1, *k) == 0)
			return *k;
	return NULL;
}

/* Standard base64, padded; NULL when s is not that. */
static unsigned char *
unbase64(const char *s, size_t *out_len)
{
	size_t n = strlen(s), pad = 0;
	unsigned char *out;
	int len;

	if (n == 0 || n % 4)
		return NULL;
	if (s[n - 1] == '=')
		pad++;
	if (s[n - 2] == '=')
		pad++;
	out = xmalloc(n / 4 * 3 + 1);
	if ((len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n)) < 0) {
		free(out);
		return NULL;
	}
	*out_len = (size_t)len - pad;
	return out;
}

static const char *
fresh(const struct hook_request *r)
{
	char *end;
	long long t;

	if (!r->timestamp || !*r->timestamp)
		return "no timestamp header";
	t = strtoll(r->timestamp, &end, 10);
	if (*end || end == r->timestamp)
		return "the timestamp is not a number of seconds";
	if (t < r->now - r->tolerance || t > r->now + r->tolerance)
		return "the timestamp is outside the tolerance (a replay, or a "
		    "clock out of step)";
	return NULL;
}

/* Verifies sig over prefix and body with key; md NULL for Ed25519. */
static int
verify(EVP_PKEY *key, const EVP_MD *md, const unsigned char *sig,
    size_t sig_len, const char *prefix, const char *body, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t plen = strlen(prefix);
	unsigned char *msg = NULL;
	int ok = 0;

	if (!ctx || EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) != 1)
		goto out;
	/* Ed25519 signs in one shot: no streaming update */
	msg = xmalloc(plen + len + 1);
	memcpy(msg, prefix, plen);
	memcpy(msg + plen, body, len);
	ok = EVP_DigestVerify(ctx, sig, sig_len, msg, plen + len) == 1;
out:
	free(msg);
	EVP_MD_CTX_free(ctx);
	return ok;
}

/*
 * A P-256 public key from its DER SubjectPublicKeyInfo, as SendGrid shows
 * it.  Such a key is always the same 26-byte header and then the point;
 * building the key from the point skips OpenSSL 3's generic decoder, which
 * cost more than half of each webhook's instructions (callgrind).
 */
static EVP_PKEY *
p256_key(const unsigned char *der, size_t len)
{
	static const unsigned char spki[] = {
		0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d,
		0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01,
		0x07, 0x03, 0x42, 0x00, 0x04 };
	EVP_PKEY_CTX *ctx;
	EVP_PKEY *key = NULL;
	OSSL_PARAM params[3];

	if (len != sizeof spki + 64 || memcmp(der, spki, sizeof spki) != 0)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string("group",
	    (char *)"prime256v1", 0);
	params[1] = OSSL_PARAM_construct_octet_string("pub",
	    (void *)(der + sizeof spki - 1), 65);
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) &&
	    EVP_PKEY_fromdata_init(ctx) == 1)
		EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

static const char *
sendgrid(const struct hook_request *r)
{
	const char *keyb64 = config_get("SEQ_SENDGRID_WEBHOOK_KEY"), *why;
	unsigned char *der = NULL, *sig = NULL;
	size_t der_len, sig_len;
	EVP_PKEY *key = NULL;
	int ok;

	if (!keyb64)
		return "SEQ_SENDGRID_WEBHOOK_KEY is not configured";
	if ((why = fresh(r)))
		return why;
	if (!r->signature || !*r->signature)
		return "no signature header";
	if (!(der = unbase64(keyb64, &der_len)))
		return "SEQ_SENDGRID_WEBHOOK_KEY is not base64";
	key = p256_key(der, der_len);
	free(der);
	if (!key)
		return "SEQ_SENDGRID_WEBHOOK_KEY is not a P-256 public key";
	if (!(sig = unbase64(r->signature, &sig_len))) {
		EVP_PKEY_free(key);
		return "the signature is not base64";
	}
	ok = verify(key, EVP_sha256(), sig, sig_len, r->timestamp, r->body, r->len);
	free(sig);
	EVP_PKEY_free(key);
	return ok ? NULL : "the signature does not match";
}

static const char *
telnyx(const struct hook_request *r)
{
	const char *keyb64 = config_get("SEQ_TELNYX_PUBLIC_KEY"), *why;
	unsigned char *raw = NULL, *sig = NULL;
	size_t raw_len, sig_len;
	EVP_PKEY *key;
	char *prefix;
	int ok;

	if (!keyb64)
		return "SEQ_TELNYX_PUBLIC_KEY is not configured";
	if ((why = fresh(r)))
		return why;
	if (!r->signature || !*r->signature)
		return "no signature header";
	if (!(raw = unbase64(keyb64, &raw_len)) || raw_len != 32) {
		free(raw);
		return "SEQ_TELNYX_PUBLIC_KEY is not 32 bytes in base64";
	}
	key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, raw_len);
	free(raw);
	if (!key)
		return "SEQ_TELNYX_PUBLIC_KEY is not an Ed25519 key";
	if (!(sig = unbase64(r->signature, &sig_len))) {
		EVP_PKEY_free(key);
		return "the signature is not base64";
	}
	prefix = xasprintf("%s|", r->timestamp);
	ok = verify(key, NULL, sig, sig_len, prefix, r->body, r->len);
	free(prefix);
	free(sig);
	EVP_PKEY_free(key);
	return ok ? NULL : "the signature does not match";
}

static const char *
basic(const struct hook_request *r)
{
	const char *user = config_get("SEQ_POSTMARK_WEBHOOK_USER");
	const char *pass = config_get("SEQ_POSTMARK_WEBHOOK_PASSWORD");
	unsigned char *got = NULL;
	size_t got_len;
	char *want;
	int ok;

	if (!user || !pass)
		return "SEQ_POSTMARK_WEBHOOK_USER and SEQ_POSTMARK_WEBHOOK_PASSWORD "
		    "are not configured";
	if (!r->authorization || strncasecmp(r->authorization, "Basic ", 6) != 0)
		return "no basic credentials";
	if (!(got = unbase64(r->authorization + 6, &got_len)))
		return "the credentials are not base64";
	want = xasprintf("%s:%s", user, pass);
	ok = got_len == strlen(want) && CRYPTO_memcmp(got, want, got_len) == 0;
	OPENSSL_cleanse(want, strlen(want));
	OPENSSL_cleanse(got, got_len);
	free(want);
	free(got);
	return ok ? NULL : "the credentials do not match";
}

/* The MAC of key, base64url without padding, in out (at least 44). */
static int
mac_of(const char *key, char *out)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *secret = config_get("SEQ_UNSUBSCRIBE_SECRET");
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, o = 0;

	/* a short secret would make tokens guessable */
	if (!secret || strlen(secret) < 16 ||
	    !HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    (const unsigned char *)key, strlen(key), md, &n))
		return -1;
	/* 18 bytes, 144 bits: short enough for a URL, far past guessing */
	for (unsigned i = 0; i < 18; i += 3) {
		unsigned v = (unsigned)md[i] << 16 | (unsigned)md[i + 1] << 8 | md[i + 2];
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		out[o++] = abc[v >> 6 & 63];
		out[o++] = abc[v & 63];
	}
	out[o] = '\0';
	OPENSSL_cleanse(md, sizeof md);
	return 0;
}

char *
unsubscribe_token(const char *key)
{
	char mac[48];
	return mac_of(key, mac) ? NULL : xasprintf("%s.%s", key, mac);
}

char *
unsubscribe_key(const char *token)
{
	const char *dot = token ? strrchr(token, '.') : NULL;
	char mac[48], *key;

	if (!dot || dot == token)
		return NULL;
	key = xasprintf("%.*s", (int)(dot - token), token);
	if (mac_of(key, mac) || strlen(mac) != strlen(dot + 1) ||
	    CRYPTO_memcmp(mac, dot + 1, strlen(mac)) != 0) {
		free(key);
		return NULL;
	}
	return key;
}

/* RFC 8058: a POST of "List-Unsubscribe=One-Click" to the URL of the
 * message's List-Unsubscribe header, whose t= is the token. */
static const char *
one_click(const struct hook_request *r)
{
	const char *q = r->query, *t = NULL;
	char *key;

	if (!config_get("SEQ_UNSUBSCRIBE_SECRET"))
		return "SEQ_UNSUBSCRIBE_SECRET is not configured";
	for (const char *p = q; p && *p; p += strcspn(p, "&"), p += *p == '&')
		if (!strncmp(p, "t=", 2))
			t = p + 2;
	if (!t)
		return "no t= token in the query";
	char *token = xasprintf("%.*s", (int)strcspn(t, "&"), t);
	key = unsubscribe_key(token);
	free(token);
	if (!key)
		return "the token does not match";
	free(key);
	if (r->len < 26 || memcmp(r->body, "List-Unsubscribe=One-Click", 26) != 0)
		return "the body is not List-Unsubscribe=One-Click";
	return NULL;
}

const char *
hook_verify(const struct hook_request *r)
{
	if (strcmp(r->provider, "unsubscribe") == 0)
		return one_click(r);
	if (strcmp(r->provider, "sendgrid") == 0)
		return sendgrid(r);
	if (strcmp(r->provider, "telnyx") == 0)
		return telnyx(r);
	return basic(r);
}
