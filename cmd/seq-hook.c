/*
 * seq-hook: a CGI program (RFC 3875) that takes one provider webhook,
 * checks that it is genuine, and drops it whole into the spool for
 * seq-event.  It never opens the database: a busy or locked database
 * never costs a webhook, and a webhook is answered as soon as it is on
 * disk.  It also shows the page of an email's unsubscribe link, whose
 * button makes the one-click POST.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "jsonw.h"
#include "spool.h"
#include "util.h"
#include "webhook.h"

static const char *provider = "-";
static int head_only;		/* a HEAD: the answer without its body */

/* The answer to the web server, with note after the status in its body;
 * the reason, if any, goes to its error log and not to the caller. */
static int
answer_note(const char *status, const char *extra, const char *why,
    const char *note)
{
	const char *addr = getenv("REMOTE_ADDR");
	if (why)
		fprintf(stderr, "seq-hook: %s: %s: %s (from %s)\n", provider,
		    status, why, addr ? addr : "?");
	printf("Status: %s\r\n%sContent-Type: text/plain\r\n\r\n", status,
	    extra ? extra : "");
	if (!head_only)
		printf("%s\n%s", status, note ? note : "");
	fflush(stdout);
	return 0;
}

static int
answer(const char *status, const char *extra, const char *why)
{
	return answer_note(status, extra, why, NULL);
}

/*
 * The pages of an unsubscribe link opened in a browser.  Nothing in them
 * runs or is fetched from elsewhere, and the policy says so to the
 * browser; the token in the URL goes to no other site.  The form has no
 * action, so a browser posts it to the page's own URL, t= and all, with
 * the body List-Unsubscribe=One-Click: the one-click POST itself.
 */
static const char ask_page[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\">\n"
    "<head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width\">"
    "<title>Unsubscribe</title></head>\n"
    "<body>\n"
    "<form method=\"post\">\n"
    "<p>Stop receiving these emails?</p>\n"
    "<input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\n"
    "<button type=\"submit\">Unsubscribe</button>\n"
    "</form>\n"
    "</body>\n"
    "</html>\n";
static const char done_page[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\">\n"
    "<head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width\">"
    "<title>Unsubscribed</title></head>\n"
    "<body>\n"
    "<p>You are unsubscribed: no more of these emails will be sent to "
    "you.</p>\n"
    "</body>\n"
    "</html>\n";

static int
html(const char *body)
{
	printf("Status: 200 OK\r\n"
	    "Content-Type: text/html; charset=utf-8\r\n"
	    "Cache-Control: no-store\r\n"
	    "Referrer-Policy: no-referrer\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Content-Security-Policy: default-src 'none'; form-action 'self'; "
	    "frame-ancestors 'none'\r\n\r\n");
	if (!head_only)
		fputs(body, stdout);
	return fflush(stdout) ? EXIT_IO : 0;
}

/* A browser's POST from the page above says that it takes HTML, and is
 * shown that it worked; a mail client's one-click POST is answered 204. */
static int
wants_html(void)
{
	const char *accept = getenv("HTTP_ACCEPT");
	return accept && strstr(accept, "text/html");
}

/*
 * GET of an unsubscribe link: the page with the button, when the token is
 * good.  Nothing is spooled: mail scanners and link previewers follow
 * links, and only the POST is the person's own act (RFC 8058).
 */
static int
unsubscribe_page(struct hook_request *r)
{
	const char *why;

	r->page = 1;
	r->now = resolve_now(NULL);
	r->query = getenv("QUERY_STRING");
	if ((why = hook_verify(r)))
		return answer_note("401 Unauthorized", NULL, why,
		    "This unsubscribe link is not valid, or it has expired.\n");
	config_free();
	return html(ask_page);
}

static long long
setting(const char *name, long long def, long long min)
{
	const char *v = config_get(name);
	char *end;
	long long n;
	if (!v)
		return def;
	n = strtoll(v, &end, 10);
	return *end || end == v || n < min ? -1 : n;
}

int
main(int argc, char **argv)
{
	const char *method = getenv("REQUEST_METHOD"), *spool, *why, *cl;
	struct hook_request r = { 0 };
	long long max, tolerance, length;
	struct buf meta = { 0 };
	struct jsonw w;
	char *body, *end;
	size_t got = 0;
	int link, get;

	(void)argv;
	if (argc > 1 || !method) {
		fprintf(stderr, "usage: seq-hook, run by a web server as a CGI "
		    "program (see seq-hook(1))\n");
		return EXIT_USAGE;
	}
	config_load("seq-hook", NULL);
	/* a wrong method is judged before the path names a provider; an
	 * unsubscribe link is also opened in a browser */
	r.provider = hook_provider(getenv("PATH_INFO"));
	link = r.provider && !strcmp(r.provider, "unsubscribe");
	get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
	head_only = !strcmp(method, "HEAD");
	if (strcmp(method, "POST") != 0 && !(link && get))
		return answer("405 Method Not Allowed", link ?
		    "Allow: GET, HEAD, POST\r\n" : "Allow: POST\r\n", link ?
		    "only GET, HEAD and POST are taken" : "only POST is taken");
	if (!r.provider)
		return answer("404 Not Found", NULL, "no such provider path");
	provider = r.provider;
	if (get)
		return unsubscribe_page(&r);
	if (!(spool = config_get("SEQ_SPOOL")))
		return answer("500 Internal Server Error", NULL,
		    "SEQ_SPOOL is not configured");
	max = setting("SEQ_WEBHOOK_MAX_BYTES", 1 << 20, 1);
	tolerance = setting("SEQ_WEBHOOK_TOLERANCE", 300, 1);
	if (max < 0 || tolerance < 0)
		return answer("500 Internal Server Error", NULL,
		    "SEQ_WEBHOOK_MAX_BYTES or SEQ_WEBHOOK_TOLERANCE is not a "
		    "positive whole number");
	if (!(cl = getenv("CONTENT_LENGTH")) || !*cl)
		return answer("411 Length Required", NULL, "no Content-Length");
	length = strtoll(cl, &end, 10);
	if (*end || length < 0)
		return answer("400 Bad Request", NULL, "a bad Content-Length");
	/* refused before reading: a large body costs nothing */
	if (length > max)
		return answer("413 Content Too Large", NULL, "the body is larger "
		    "than SEQ_WEBHOOK_MAX_BYTES");
	body = xmalloc((size_t)length + 1);
	while (got < (size_t)length) {
		ssize_t n = read(0, body + got, (size_t)length - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != (size_t)length) {
		free(body);
		return answer("400 Bad Request", NULL, "the body is shorter than "
		    "its Content-Length");
	}
	body[got] = '\0';
	r.body = body;
	r.len = got;
	r.now = resolve_now(NULL);
	r.tolerance = tolerance;
	r.authorization = getenv("HTTP_AUTHORIZATION");
	r.query = getenv("QUERY_STRING");
	r.content_type = getenv("CONTENT_TYPE");
	if (strcmp(r.provider, "sendgrid") == 0) {
		r.signature = getenv("HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE");
		r.timestamp = getenv("HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP");
	} else if (strcmp(r.provider, "telnyx") == 0) {
		r.signature = getenv("HTTP_TELNYX_SIGNATURE_ED25519");
		r.timestamp = getenv("HTTP_TELNYX_TIMESTAMP");
	}
	if ((why = hook_verify(&r))) {
		free(body);
		/* a challenge only where credentials are the answer */
		int signed_hook = !strcmp(r.provider, "sendgrid") ||
		    !strcmp(r.provider, "telnyx") ||
		    !strcmp(r.provider, "unsubscribe");
		return answer("401 Unauthorized", signed_hook ? NULL :
		    "WWW-Authenticate: Basic realm=\"seqtools\"\r\n", why);
	}
	jw_open(&w, &meta);
	jw_str(&w, "provider", r.provider);
	jw_int(&w, "received_at", r.now);
	jw_str(&w, "content_type", getenv("CONTENT_TYPE"));
	jw_str(&w, "query", getenv("QUERY_STRING"));
	jw_close(&w);
	meta.len--;	/* jw_close's newline: spool_deposit adds its own */
	if (spool_deposit(spool, r.provider, meta.p, meta.len, body, got) != 0) {
		why = strerror(errno);
		free(body);
		buf_free(&meta);
		/* a 5xx makes the provider deliver it again later */
		return answer("503 Service Unavailable", NULL, why);
	}
	free(body);
	buf_free(&meta);
	config_free();
	if (link && wants_html())
		return html(done_page);
	printf("Status: 204 No Content\r\n\r\n");
	return fflush(stdout) ? EXIT_IO : 0;
}
