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
	int64_t now, tolerance;
};

/* The providers seq-hook takes, and their spool names; NULL if unknown. */
const char *hook_provider(const char *path_info);
/* NULL when genuine, else why not (for the server's log, never the
 * client). */
const char *hook_verify(const struct hook_request *);

#endif
