/*
 * webhook: see webhook.h.  Keys and credentials come from the
 * configuration (config.h); a provider whose key is not configured is
 * refused, never let through unchecked.
 */
#include "webhook.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/x509.h>
#include <stddef.h>
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

/*
 * How long a link works: CAN-SPAM wants an opt-out link to keep working for
 * 30 days after its message is sent, so no less may be set; a message is
 * read long after that too, so the default is longer.
 */
#define TTL_DEFAULT (90 * 86400)
#define TTL_MIN (30 * 86400)
#define TTL_MAX ((int64_t)3650 * 86400)
#define TOKEN_MAX 200
#define MAC_CHARS 24

int64_t
unsubscribe_ttl(void)
{
	const char *v = config_get("SEQ_UNSUBSCRIBE_TTL");
	int64_t d;

	if (!v)
		return TTL_DEFAULT;
	if (parse_duration(v, &d) != 0 || d < TTL_MIN || d > TTL_MAX)
		return -1;
	return d;
}

/* The MAC of data, base64url without padding, in out (at least
 * MAC_CHARS + 1); NULL, or why there is none. */
static const char *
mac_of(const char *data, size_t len, char *out)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *secret = config_get("SEQ_UNSUBSCRIBE_SECRET");
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, o = 0;

	if (!secret)
		return "SEQ_UNSUBSCRIBE_SECRET is not configured";
	/* a short secret would make tokens guessable */
	if (strlen(secret) < 16)
		return "SEQ_UNSUBSCRIBE_SECRET is shorter than 16 characters";
	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    (const unsigned char *)data, len, md, &n))
		return "HMAC-SHA256 failed";
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
	return NULL;
}

/* A whole number above 0 written as one, with no sign or leading zero. */
static int
number(const char *s, size_t n, int64_t *v)
{
	int64_t x = 0;

	if (n == 0 || n > 18 || *s == '0')
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (s[i] - '0');
	}
	*v = x;
	return 0;
}

static int
url_safe(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_.", s[i]))
			return 0;
	return n > 0;
}

const char *
unsubscribe_parse(const char *token, struct unsubscribe *u)
{
	static const char *const channels[] = { "email", "sms", "voice" };
	static const char *const malformed =
	    "the token is not KEY.LEAD.CHANNEL.EXPIRES.MAC";
	const char *dot[4], *p;
	size_t n = token ? strlen(token) : 0;

	if (n == 0 || n > TOKEN_MAX || !url_safe(token, n))
		return malformed;
	/* the parts after the key, from the right: MAC, EXPIRES, CHANNEL,
	 * LEAD; the key's own dots are left of them all */
	p = token + n;
	for (int i = 0; i < 4; i++) {
		while (p > token && p[-1] != '.')
			p--;
		if (p == token)
			return malformed;
		dot[i] = --p;
	}
	if (strlen(dot[0] + 1) != MAC_CHARS ||
	    number(dot[1] + 1, (size_t)(dot[0] - dot[1] - 1), &u->expires) ||
	    number(dot[3] + 1, (size_t)(dot[2] - dot[3] - 1), &u->lead_id) ||
	    dot[3] == token || dot[3] - token >= (ptrdiff_t)sizeof u->key ||
	    token[0] == '.' || dot[3][-1] == '.')
		return malformed;
	u->channel = NULL;
	for (size_t i = 0; i < sizeof channels / sizeof *channels; i++)
		if ((size_t)(dot[1] - dot[2] - 1) == strlen(channels[i]) &&
		    !strncmp(dot[2] + 1, channels[i], strlen(channels[i])))
			u->channel = channels[i];
	if (!u->channel)
		return malformed;
	snprintf(u->key, sizeof u->key, "%.*s", (int)(dot[3] - token), token);
	return NULL;
}

const char *
unsubscribe_check(const char *token, int64_t now, struct unsubscribe *u)
{
	static char expired[64];
	const char *why, *dot;
	char mac[MAC_CHARS + 1], at[32];

	if ((why = unsubscribe_parse(token, u)))
		return why;
	dot = strrchr(token, '.');
	if ((why = mac_of(token, (size_t)(dot - token), mac)))
		return why;
	if (CRYPTO_memcmp(mac, dot + 1, MAC_CHARS) != 0)
		return "the token does not match";
	if (now > u->expires) {
		snprintf(expired, sizeof expired, "the token expired at %s",
		    format_time(u->expires, at));
		return expired;
	}
	return NULL;
}

/* What RFC 2369 and RFC 8058 need of the base URL: HTTPS, and nothing
 * that would end the header's <...>, split its list or hide t= in a
 * fragment. */
static const char *
url_unusable(const char *url)
{
	if (strncasecmp(url, "https://", 8) != 0 || !url[8] || url[8] == '/')
		return "SEQ_UNSUBSCRIBE_URL is not an https:// URL (RFC 8058 "
		    "asks for HTTPS)";
	for (const char *p = url; *p; p++)
		if (*p <= ' ' || *p >= 127 || strchr("<>\",#\\", *p))
			return "SEQ_UNSUBSCRIBE_URL has a space, a control or "
			    "non-ASCII character, or one of < > \" , # \\";
	return NULL;
}

int
unsubscribe_link(const char *key, int64_t lead_id, const char *channel,
    int64_t now, char **url, char **token, const char **why)
{
	const char *base = config_get("SEQ_UNSUBSCRIBE_URL");
	char mac[MAC_CHARS + 1], *data;
	size_t n;
	int64_t ttl;

	*url = *token = NULL;
	if (!base) {
		*why = "SEQ_UNSUBSCRIBE_URL is not configured";
		return 1;
	}
	if (!config_get("SEQ_UNSUBSCRIBE_SECRET")) {
		*why = "SEQ_UNSUBSCRIBE_SECRET is not configured";
		return 1;
	}
	if ((*why = url_unusable(base)))
		return -1;
	if ((ttl = unsubscribe_ttl()) < 0) {
		*why = "SEQ_UNSUBSCRIBE_TTL is not a duration from 30d to "
		    "3650d, like 90d";
		return -1;
	}
	data = xasprintf("%s.%lld.%s.%lld", key, (long long)lead_id, channel,
	    (long long)(now + ttl));
	if ((*why = mac_of(data, strlen(data), mac))) {
		free(data);
		return -1;
	}
	*token = xasprintf("%s.%s", data, mac);
	free(data);
	n = strlen(base);
	*url = xasprintf("%s%st=%s", base, base[n - 1] == '?' ||
	    base[n - 1] == '&' ? "" : strchr(base, '?') ? "&" : "?", *token);
	return 0;
}

char *
unsubscribe_mailto(const char *token, const char **why)
{
	const char *addr = config_get("SEQ_UNSUBSCRIBE_MAILTO"), *at;
	struct buf b = { 0 };

	*why = NULL;
	if (!addr)
		return NULL;
	at = strchr(addr, '@');
	if (!at || at == addr || !at[1] || strchr(at + 1, '@') ||
	    strspn(at + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789.-") != strlen(at + 1)) {
		*why = "SEQ_UNSUBSCRIBE_MAILTO is not an address like "
		    "unsubscribe@example.com (its domain in ASCII)";
		return NULL;
	}
	for (const char *p = addr; p < at; p++)
		if (*p <= ' ' || *p >= 127 || strchr("<>\"(),:;[\\]", *p)) {
			*why = "SEQ_UNSUBSCRIBE_MAILTO has a character that an "
			    "address's local part may not hold unquoted";
			return NULL;
		}
	/* RFC 6068: what is not unreserved in the address is percent-encoded */
	buf_adds(&b, "<mailto:");
	for (const char *p = addr; p < at; p++) {
		char hex[4];
		if (isalnum((unsigned char)*p) || strchr("-._~", *p))
			buf_addc(&b, *p);
		else {
			snprintf(hex, sizeof hex, "%%%02X", (unsigned char)*p);
			buf_adds(&b, hex);
		}
	}
	buf_adds(&b, at);
	buf_adds(&b, "?subject=unsubscribe%20");
	buf_adds(&b, token);
	buf_adds(&b, ">");
	buf_addc(&b, '\0');
	return b.p;
}

char *
unsubscribe_token_of(const char *query)
{
	const char *t = NULL;

	for (const char *p = query; p && *p; p += strcspn(p, "&"), p += *p == '&')
		if (!strncmp(p, "t=", 2)) {
			if (t)
				return NULL;
			t = p + 2;
		}
	return t ? xasprintf("%.*s", (int)strcspn(t, "&"), t) : NULL;
}

/*
 * RFC 8058's body: the pair List-Unsubscribe=One-Click, which the receiver
 * should send as multipart/form-data and may send URL-encoded, as a
 * browser sends a form.
 */
static int
one_click_body(const struct hook_request *r)
{
	static const char pair[] = "List-Unsubscribe=One-Click";
	const char *ct = r->content_type, *b, *p, *end = r->body + r->len;
	char *delim;
	size_t n, dlen;
	int found = 0;

	if (ct && !strncasecmp(ct, "multipart/form-data", 19) &&
	    (b = strstr(ct, "boundary="))) {
		b += 9;
		b += *b == '"';
		if ((n = strcspn(b, "\"; ")) == 0 || n > 70)
			return 0;
		delim = xasprintf("\r\n--%.*s", (int)n, b);
		dlen = strlen(delim);
		/* the first delimiter may open the body, with no CRLF before */
		p = r->body;
		if (r->len >= dlen - 2 && !memcmp(p, delim + 2, dlen - 2))
			p += dlen - 2;
		else if ((p = memmem(p, r->len, delim, dlen)))
			p += dlen;
		while (p && !found && end - p >= 2 && memcmp(p, "--", 2)) {
			const char *hend = memmem(p, (size_t)(end - p),
			    "\r\n\r\n", 4), *next;
			if (!hend || !(next = memmem(hend, (size_t)(end - hend),
			    delim, dlen)))
				break;
			found = memmem(p, (size_t)(hend - p),
			    "name=\"List-Unsubscribe\"", 23) &&
			    next - hend - 4 == 9 && !memcmp(hend + 4, "One-Click", 9);
			p = next + dlen;
		}
		free(delim);
		return found;
	}
	n = r->len;
	while (n && (r->body[n - 1] == '\n' || r->body[n - 1] == '\r'))
		n--;
	for (p = r->body; p < r->body + n; p++) {
		size_t len = strcspn(p, "&");
		if (p + len > r->body + n)
			len = (size_t)(r->body + n - p);
		if (len == sizeof pair - 1 && !memcmp(p, pair, len))
			return 1;
		p += len;
	}
	return 0;
}

/* The POST to the URL of a message's List-Unsubscribe, and the GET of the
 * page that makes it: a token this secret made, unexpired. */
static const char *
one_click(const struct hook_request *r)
{
	struct unsubscribe u;
	const char *why;
	char *token;

	if (!config_get("SEQ_UNSUBSCRIBE_SECRET"))
		return "SEQ_UNSUBSCRIBE_SECRET is not configured";
	if (!(token = unsubscribe_token_of(r->query)))
		return "no t= token, or more than one, in the query";
	why = unsubscribe_check(token, r->now, &u);
	free(token);
	if (why)
		return why;
	if (!r->page && !one_click_body(r))
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
