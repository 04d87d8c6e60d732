/*
 * keys: the secret keys of a database's personal data, kept in a file of
 * their own (SEQ_KEY_FILE) and never in the database: a copy of seq.db
 * alone reveals nothing a key protects.
 *
 * The file holds two 32-byte keys in hex, one per line, as seq-init
 * --key-file writes it:
 *
 *	index=<64 hex digits>
 *	encryption=<64 hex digits>
 *
 * The index key makes blind indexes (HMAC-SHA256 of a normalised address
 * or number), by which a value can be looked up without being stored.  The
 * file must be of mode 0600 or stricter; anything else is refused.
 */
#ifndef SEQ_KEYS_H
#define SEQ_KEYS_H

#include <stddef.h>

struct keys {
	unsigned char index[32], encryption[32];
};

/* The keys of SEQ_KEY_FILE, read once; NULL when it is not set.  Exits with
 * EXIT_CONFIG if the file is unreadable, too open or malformed. */
const struct keys *keys_get(void);

/* The keys of the file at path, with the same checks; exits on failure. */
void keys_read(const char *path, struct keys *);

/* Writes a new key file at path (mode 0600); refuses to replace one.  0, or
 * -1 with errno. */
int keys_create(const char *path);

/* The blind index of a normalised value: 64 hex digits and a NUL. */
void blind_index(const struct keys *, const char *value, char out[65]);

#endif
