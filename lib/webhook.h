/*
 * webhook: is a webhook request genuine?  Each provider signs differently:
 * SendGrid with ECDSA P-256 over timestamp and body, Telnyx with Ed25519
 * over "timestamp|body", Postmark (and the inbound parsers) with the HTTP
 * basic credentials configured for it.  Signed requests must also be
 * recent, against replays.  And the tokens of one-click unsubscribe links,
 * which seq-due makes and seq-hook checks.
 */
#ifndef SEQ_WEBHOOK_H
#define SEQ_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

struct hook_request {
	const char *provider;		/* from PATH_INFO, without the slash */
	const char *body;
	size_t len;
	const char *signature, *timestamp;	/* the provider's headers */
	const char *authorization;	/* the Authorization header */
	const char *query;		/* QUERY_STRING */
	const char *content_type;	/* CONTENT_TYPE */
	int page;			/* a GET or HEAD of /unsubscribe */
	int64_t now, tolerance;
};

/*
 * One-click unsubscribe (RFC 8058).  A token names a message and its lead
 * and channel, and says until when it may be used:
 * KEY.LEAD.CHANNEL.EXPIRES.MAC, where MAC is the first 18 bytes of
 * HMAC-SHA256 under SEQ_UNSUBSCRIBE_SECRET of all that comes before its
 * dot, in base64url without padding.  Every part is URL-safe, and the
 * key, which has dots of its own, is what is left once the others are
 * taken from the right.
 */
struct unsubscribe {
	char key[96];		/* the execution key */
	int64_t lead_id;
	const char *channel;	/* "email", "sms" or "voice" */
	int64_t expires;	/* the last second it may be used */
};

/* SEQ_UNSUBSCRIBE_TTL in seconds: 90 days unless set; -1 when it is not a
 * duration from 30 days to 10 years. */
int64_t unsubscribe_ttl(void);
/*
 * The link of a message sent at now: SEQ_UNSUBSCRIBE_URL with t=TOKEN
 * added, in *url, and the token in *token, both malloc'd.  0; 1 when
 * SEQ_UNSUBSCRIBE_URL or SEQ_UNSUBSCRIBE_SECRET is not set; -1 when what
 * is set cannot be used.  Unless 0, *why says why.
 */
int unsubscribe_link(const char *key, int64_t lead_id, const char *channel,
    int64_t now, char **url, char **token, const char **why);
/* <mailto:SEQ_UNSUBSCRIBE_MAILTO?subject=unsubscribe%20TOKEN>, malloc'd;
 * NULL when it is not set, or, with *why, not an address. */
char *unsubscribe_mailto(const char *token, const char **why);
/* The one t= of a query string, malloc'd; NULL when there is none, or
 * more than one. */
char *unsubscribe_token_of(const char *query);
/* NULL, with u filled, when token has the form of one; else why not.  The
 * MAC is not checked: for what seq-hook has checked already. */
const char *unsubscribe_parse(const char *token, struct unsubscribe *u);
/* NULL, with u filled, when token is one this secret made and it has not
 * expired at now; else why not.  The MAC is compared in constant time. */
const char *unsubscribe_check(const char *token, int64_t now,
    struct unsubscribe *u);

/* The providers seq-hook takes, and their spool names; NULL if unknown. */
const char *hook_provider(const char *path_info);
/* NULL when genuine, else why not (for the server's log, never the
 * client). */
const char *hook_verify(const struct hook_request *);

#endif
