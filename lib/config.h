/*
 * config: the names that choose adapters, senders, providers' URLs and
 * their secrets.  Each is read from the environment, else from the
 * configuration file (--config or $SEQ_CONFIG), which must be a regular
 * file of mode 0600 or stricter when it exists.
 */
#ifndef SEQ_CONFIG_H
#define SEQ_CONFIG_H

#include <stddef.h>

/* Reads path (NULL: $SEQ_CONFIG, else none).  Exits EXIT_CONFIG when the
 * file is readable or writable by others, or has a line it does not know. */
void config_load(const char *prog, const char *path);
/* The value of a known name, or NULL when unset or empty. */
const char *config_get(const char *name);
/* A copy of s with every configured secret replaced by "****", so that no
 * message, result or log line carries one. */
char *config_scrub(const char *s);
void config_free(void);
/* One of the space- or comma-separated senders in list, chosen by the
 * recipient; NULL when the list is empty. */
const char *pick_sender(const char *list, const char *to, char *buf,
    size_t size);

#endif
