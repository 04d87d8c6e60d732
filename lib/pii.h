/*
 * pii: personal data at rest (schema 004-sealed.sql says what is stored
 * where).  A plain database keeps addresses and names as they are; a sealed
 * one keeps them encrypted with the encryption key of SEQ_KEY_FILE and looks
 * them up by blind index under its index key.  The meta table holds a check
 * value of the keys, so a wrong key file is refused rather than read as
 * garbage, and the old file of a rotation reads nothing.
 */
#ifndef SEQ_PII_H
#define SEQ_PII_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "keys.h"

/* The keys of a sealed database, checked against it; NULL for a plain one.
 * Exits with EXIT_CONFIG when the database is sealed and SEQ_KEY_FILE is
 * unset or holds other keys. */
const struct keys *pii_keys(struct db *);

/* Exits with EXIT_CONFIG if the database was sealed, or sealed under other
 * keys, since pii_keys first looked: a command that waited for the lock
 * while seq-init --rotate-key ran must not write under the old keys.
 * db_begin and db_begin_read call it for DB_PERSONAL connections. */
void pii_recheck(struct db *);

/* The form in which an address is stored in and looked up by leads.email,
 * leads.phone and suppressions.address: the address itself in a plain
 * database, its blind index in a sealed one.  malloc'd; NULL for NULL. */
char *pii_lookup(struct db *, const char *address);
/* The same under given keys (NULL: plain). */
char *pii_lookup_with(const struct keys *, const char *address);

/* Sealed form of n bytes: 24-byte nonce, ciphertext and tag, bound to the
 * additional data ad (a row's identity).  *len gets its length. */
unsigned char *pii_seal(const struct keys *, const void *plain, size_t n,
    const char *ad, size_t *len);
/* The plain bytes, NUL-terminated, or NULL if the value was not sealed by
 * these keys for this ad. */
char *pii_open(const struct keys *, const void *sealed, size_t len,
    const char *ad);

/* text with every occurrence of address, in any case, replaced by
 * "<address>"; malloc'd; NULL for NULL text.  Providers' words (a bounce
 * reason, an error) quote addresses, and a sealed database keeps none. */
char *pii_redact(const char *text, const char *address);
/* The same over every string of a JSON value, in place. */
void pii_redact_json(json_t *, const char *address);

/* The additional data of a lead row and of a job row. */
void pii_lead_ad(int64_t id, char out[32]);
void pii_job_ad(int64_t execution_id, char out[32]);

/* The keys' check value (32 hex digits and a NUL), as the meta table holds
 * it. */
void pii_check_value(const struct keys *, char out[33]);

/* A claimed job's text as stored (a BLOB, sealed) at column col of st; NULL
 * for SQL NULL.  malloc'd. */
char *pii_job_text(struct db *, void *st, int col, int64_t execution_id);

#endif
