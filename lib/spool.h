/*
 * spool: the directory between seq-hook and seq-event, maildir-style.  A
 * webhook is written whole into tmp/, synced, and renamed into new/; so a
 * file in new/ is always complete, and a crash leaves at worst a stray
 * file in tmp/.  seq-event removes a file only after its events are
 * committed, and moves one it cannot read into quarantine/ with the reason
 * beside it.
 *
 * A spool file is one line of JSON written by seq-hook (provider,
 * received_at, content_type, query) and then the request body, byte for
 * byte.
 */
#ifndef SEQ_SPOOL_H
#define SEQ_SPOOL_H

#include <stddef.h>
#include <stdint.h>

/* Writes meta (one JSON line) and body into dir/new; 0, else -1 with
 * errno set. */
int spool_deposit(const char *dir, const char *provider, const char *meta,
    size_t meta_len, const char *body, size_t body_len);

struct spool_list {
	char **names;		/* in new/, oldest first */
	size_t n;
};
/* The files waiting in dir/new; exits EXIT_IO when it cannot be read. */
void spool_list(const char *dir, struct spool_list *);
void spool_list_free(struct spool_list *);
/* The whole of dir/new/name; NULL (errno set) when it is gone. */
char *spool_read(const char *dir, const char *name, size_t *len);
/* Removes dir/new/names[0..n); syncs the directory once. */
void spool_remove(const char *dir, char *const *names, size_t n);
/* Moves dir/new/name to dir/quarantine/name, with name.why beside it. */
void spool_quarantine(const char *dir, const char *name, const char *why);

#endif
