/*
 * smtp: any mail server, through libcurl's SMTP.  The message is a whole
 * RFC 5322 message: Date, the Message-ID the job names (seq-due makes it of
 * the execution key, so a reply or bounce names it, and a later step can
 * answer it), MIME multipart/alternative when there is HTML, bodies in
 * quoted-printable so no line exceeds the limit, and headers outside ASCII
 * as RFC 2047 encoded words.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "adapter.h"

struct smtp {
	struct adapter a;
	const char *url, *user, *password, *from;
};

static const char *
sender(struct adapter *a, const struct job *j, char *buf, size_t size)
{
	(void)buf;
	(void)size;
	return j->from ? j->from : ((struct smtp *)a)->from;
}

/* Quoted-printable (RFC 2045 6.7): lines of at most 76 characters, line
 * breaks as CRLF, and what is not printable ASCII encoded. */
static void
quoted_printable(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char t[3];
		size_t n = 1;
		int at_eol = s[1] == '\0' || s[1] == '\n' ||
		    (s[1] == '\r' && s[2] == '\n');
		if (c == '\r' && s[1] == '\n')
			continue;
		if (c == '\n') {
			buf_add(b, "\r\n", 2);
			col = 0;
			continue;
		}
		t[0] = (char)c;
		if (c == '=' || (c < 32 && c != '\t') || c >= 127 ||
		    ((c == ' ' || c == '\t') && at_eol)) {
			t[0] = '=';
			t[1] = hex[c >> 4];
			t[2] = hex[c & 15];
			n = 3;
		}
		if (col + n > 75) {
			buf_add(b, "=\r\n", 3);
			col = 0;
		}
		buf_add(b, t, n);
		col += n;
	}
}

/* A header value: as is when it is short printable ASCII, else RFC 2047
 * encoded words, one a line, never splitting a character. */
static void
header_value(struct buf *b, const char *s)
{
	size_t n = strlen(s);
	/* "=?" in plain text would read as the start of an encoded word */
	int plain = n < 900 && !strstr(s, "=?");

	for (size_t i = 0; plain && i < n; i++)
		if ((unsigned char)s[i] < 32 || (unsigned char)s[i] > 126)
			plain = 0;
	if (plain) {
		buf_add(b, s, n);
		return;
	}
	/* 36 octets are 48 of base64, a word of 60: with a header name
	 * of up to 14 characters each line stays within RFC 2047's 76 */
	for (size_t i = 0; i < n;) {
		size_t m = n - i < 36 ? n - i : 36;
		while (i + m < n && ((unsigned char)s[i + m] & 0xc0) == 0x80)
			m--;
		if (i)
			buf_add(b, "\r\n ", 3);
		buf_adds(b, "=?UTF-8?B?");
		buf_base64(b, s + i, m);
		buf_adds(b, "?=");
		i += m;
	}
}

static void
header(struct buf *b, const char *name, const char *value)
{
	buf_adds(b, name);
	buf_adds(b, ": ");
	header_value(b, value);
	buf_add(b, "\r\n", 2);
}

/* "Name <addr>": an encoded word may stand for the name, never for the
 * address, and an ASCII name with specials (a comma would split it into
 * two addresses) goes out as a quoted string. */
static void
address_header(struct buf *b, const char *hname, const char *name,
    int has_name, const char *addr)
{
	buf_adds(b, hname);
	buf_adds(b, ": ");
	if (has_name && *name) {
		int ascii = 1, specials = 0;
		for (const char *p = name; *p; p++) {
			unsigned char c = (unsigned char)*p;
			if (c < 32 || c > 126)
				ascii = 0;
			else if (strchr("()<>[]:;@\\,.\"", c))
				specials = 1;
		}
		if (!ascii)
			header_value(b, name);
		else if (specials) {
			buf_addc(b, '"');
			for (const char *p = name; *p; p++) {
				if (*p == '"' || *p == '\\')
					buf_addc(b, '\\');
				buf_addc(b, *p);
			}
			buf_addc(b, '"');
		} else
			buf_adds(b, name);
		buf_adds(b, " <");
		buf_adds(b, addr);
		buf_addc(b, '>');
	} else
		buf_adds(b, addr);
	buf_add(b, "\r\n", 2);
}

static void
part(struct buf *b, const char *boundary, const char *type, const char *text)
{
	buf_adds(b, "--");
	buf_adds(b, boundary);
	buf_adds(b, "\r\nContent-Type: ");
	buf_adds(b, type);
	buf_adds(b, "; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	quoted_printable(b, text);
	buf_add(b, "\r\n", 2);
}

static void
message(struct buf *b, const struct job *j, const char *from_name,
    int has_name, const char *from_addr, const char *message_id)
{
	char date[64], boundary[160];
	time_t now = time(NULL);
	struct tm tm;
	static const char *const day[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
		"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

	gmtime_r(&now, &tm);
	/* by hand: strftime's names follow the locale, RFC 5322's do not */
	snprintf(date, sizeof date, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    day[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
	header(b, "Date", date);
	address_header(b, "From", from_name, has_name, from_addr);
	header(b, "To", j->to);
	header(b, "Subject", j->subject);
	header(b, "Message-ID", message_id);
	if (j->headers) {
		const char *k;
		json_t *v;
		json_object_foreach(j->headers, k, v)
			if (strcasecmp(k, "Message-ID") != 0)
				header(b, k, json_string_value(v));
	}
	buf_adds(b, "MIME-Version: 1.0\r\n");
	if (!j->html || !*j->html) {
		buf_adds(b, "Content-Type: text/plain; charset=UTF-8\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
		quoted_printable(b, j->text);
		/* the message must end in CRLF; a soft line break keeps
		 * that CRLF out of the text when the text has no last one */
		if (b->len < 2 || memcmp(b->p + b->len - 2, "\r\n", 2) != 0)
			buf_add(b, "=\r\n", 3);
		return;
	}
	/* "=_" never occurs in quoted-printable, so the boundary cannot
	 * occur in a part */
	snprintf(boundary, sizeof boundary, "=_seq_%s", j->key);
	buf_adds(b, "Content-Type: multipart/alternative; boundary=\"");
	buf_adds(b, boundary);
	buf_adds(b, "\"\r\n\r\n");
	part(b, boundary, "text/plain", j->text);
	part(b, boundary, "text/html", j->html);
	buf_adds(b, "--");
	buf_adds(b, boundary);
	buf_adds(b, "--\r\n");
}

/* The Message-ID the job names in its headers, or NULL. */
static const char *
job_message_id(const struct job *j)
{
	const char *k;
	json_t *v;

	json_object_foreach(j->headers, k, v)
		if (strcasecmp(k, "Message-ID") == 0)
			return json_string_value(v);
	return NULL;
}

/* What goes between < and > in MAIL FROM, RCPT TO and the headers: a
 * space, a bracket or a control character there would end the command
 * or the header early, and a path is at most 256 octets with its
 * brackets (RFC 5321 4.5.3.1.3), so a longer one cannot be sent whole. */
static int
plain_address(const char *s)
{
	if (!strchr(s, '@') || strlen(s) > 254)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == '<' || *s == '>' ||
		    *s == 127)
			return 0;
	return 1;
}

static int
prepare(struct adapter *a, struct delivery *d, CURL *easy)
{
	struct smtp *s = (struct smtp *)a;
	const struct job *j = d->job;
	char addr[320], name[256], id[512], path[340];
	int has_name;
	const char *domain, *given;

	if (split_address(d->sender, addr, sizeof addr, name, sizeof name,
	    &has_name) != 0) {
		d->status = "failed";
		snprintf(d->error, sizeof d->error,
		    "smtp: the sender is not an address: %s", d->sender);
		return 0;
	}
	if (!plain_address(addr) || !plain_address(j->to)) {
		d->status = "failed";
		/* the sender is ours to name; the recipient is personal */
		snprintf(d->error, sizeof d->error,
		    "smtp: not a plain address: %s", plain_address(addr) ?
		    "the recipient" : addr);
		return 0;
	}
	domain = strchr(addr, '@') + 1;
	/* a job from before jobs named their Message-ID gets the same one */
	if ((given = job_message_id(j)))
		snprintf(id, sizeof id, "%s", given);
	else
		snprintf(id, sizeof id, "<%s@%s>", j->key, domain);
	message(&d->body, j, name, has_name, addr, id);
	snprintf(path, sizeof path, "<%s>", addr);
	d->url = xstrdup(s->url);
	curl_easy_setopt(easy, CURLOPT_URL, s->url);
	curl_easy_setopt(easy, CURLOPT_MAIL_FROM, path);
	snprintf(path, sizeof path, "<%s>", j->to);
	d->rcpt = curl_slist_append(NULL, path);
	curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, d->rcpt);
	curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(easy, CURLOPT_READFUNCTION, body_read);
	curl_easy_setopt(easy, CURLOPT_READDATA, d);
	curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)d->body.len);
	/* a password never crosses the network in the clear: with one,
	 * smtp:// must upgrade with STARTTLS or fail */
	curl_easy_setopt(easy, CURLOPT_USE_SSL, (long)(s->user ? CURLUSESSL_ALL :
	    CURLUSESSL_TRY));
	if (s->user) {
		curl_easy_setopt(easy, CURLOPT_USERNAME, s->user);
		curl_easy_setopt(easy, CURLOPT_PASSWORD, s->password ? s->password : "");
	}
	/* kept for the result: the provider id of an SMTP delivery */
	set_text(d->provider_id, sizeof d->provider_id, id);
	return 1;
}

/* The server's reply with the given code: libcurl hands every reply line
 * to the header callback, and after a refusal it still says QUIT, so the
 * last line is "221 Bye"; the last line that starts with the code is the
 * refusal's own. */
static void
last_reply(struct delivery *d, long code, char *out, size_t size)
{
	const char *p = d->reply_headers.p, *end = p + d->reply_headers.len;
	const char *line = NULL;
	size_t len = 0;
	char want[8];

	snprintf(want, sizeof want, "%03ld", code);
	while (p && p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *e = eol ? eol : end;
		size_t n = (size_t)(e - p);
		while (n && (p[n - 1] == '\r' || p[n - 1] == ' '))
			n--;
		if (n >= 3 && memcmp(p, want, 3) == 0 &&
		    (n == 3 || p[3] == ' ' || p[3] == '-')) {
			line = p;
			len = n;
		}
		p = eol ? eol + 1 : end;
	}
	snprintf(out, size, "%.*s", (int)len, line ? line : "");
}

/* The URL without its user and password, to name the server in an
 * error. */
static const char *
server(const char *url, char *buf, size_t size)
{
	const char *rest = strstr(url, "://") + 3;
	const char *at = strchr(rest, '@'), *slash = strchr(rest, '/');

	if (at && (!slash || at < slash))
		snprintf(buf, size, "%.*s%s", (int)(rest - url), url, at + 1);
	else
		snprintf(buf, size, "%s", url);
	return buf;
}

static void
answer(struct adapter *a, struct delivery *d, CURLcode cc, long code)
{
	char reply[400], why[512], host[256];

	d->http_status = (int)code;
	if (cc == CURLE_OK) {
		d->status = "sent";
		return;
	}
	d->provider_id[0] = '\0';
	last_reply(d, code, reply, sizeof reply);
	/* 5xx is the server's permanent no about this message; 4xx, no
	 * answer at all, and a refused login (530, 534, 535, 538: our
	 * configuration, not the recipient) may pass */
	d->status = code >= 500 && code < 600 && code != 530 && code != 534 &&
	    code != 535 && code != 538 ? "failed" : "retry";
	if (code >= 400 && *reply)
		snprintf(why, sizeof why, "SMTP %s", reply);
	else
		snprintf(why, sizeof why, "%s: %s", server(((struct smtp *)a)->url,
		    host, sizeof host), curl_easy_strerror(cc));
	set_text(d->error, sizeof d->error, why);
}

struct adapter *
smtp_adapter(void)
{
	struct smtp *s = xcalloc(1, sizeof *s);
	s->a.name = "smtp";
	s->a.network = 1;
	s->a.sender = sender;
	s->a.prepare = prepare;
	s->a.answer = answer;
	s->a.close = adapter_free;
	s->url = conf_need("smtp", "SEQ_SMTP_URL");
	if (strncmp(s->url, "smtp://", 7) != 0 && strncmp(s->url, "smtps://", 8) != 0)
		errx(EXIT_CONFIG, "SEQ_SMTP_URL must start with smtp:// or smtps://");
	/* credentials in the URL would be shown wherever the URL is, and
	 * would log in without the STARTTLS a SEQ_SMTP_USER requires */
	const char *host = strstr(s->url, "://") + 3;
	if (memchr(host, '@', strcspn(host, "/?#")))
		errx(EXIT_CONFIG, "SEQ_SMTP_URL must not hold a user or password; "
		    "set SEQ_SMTP_USER and SEQ_SMTP_PASSWORD");
	s->from = conf_need("smtp", "SEQ_EMAIL_FROM");
	s->user = conf_or("SEQ_SMTP_USER", NULL);
	s->password = conf_or("SEQ_SMTP_PASSWORD", NULL);
	return &s->a;
}
