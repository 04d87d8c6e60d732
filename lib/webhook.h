/*
 * webhook: is a webhook request genuine?  Each provider signs differently:
 * SendGrid with ECDSA P-256 over timestamp and body, Telnyx with Ed25519
 * over "timestamp|body", Postmark (and the inbound parsers) with the HTTP
 * basic credentials configured for it.  Signed requests must also be
 * recent, against replays.
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
	int64_t now, tolerance;
};

/* The one-click unsubscribe token of an execution key (RFC 8058): the key,
 * a dot and a MAC of it under SEQ_UNSUBSCRIBE_SECRET; NULL when no secret
 * is configured.  Malloc'd. */
char *unsubscribe_token(const char *key);
/* The key a token names, malloc'd, when its MAC is right; else NULL. */
char *unsubscribe_key(const char *token);

/* The providers seq-hook takes, and their spool names; NULL if unknown. */
const char *hook_provider(const char *path_info);
/* NULL when genuine, else why not (for the server's log, never the
 * client). */
const char *hook_verify(const struct hook_request *);

#endif
