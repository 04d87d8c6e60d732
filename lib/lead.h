/*
 * lead: one person to reach.  Owns normalisation (email: trimmed, domain
 * lower-cased; phone: E.164), the badge vocabulary and the quality score, and
 * the upsert rule: by external_id when the record has one, else by email.
 *
 * Badges: valid-email invalid-email role-address disposable-domain
 * valid-phone invalid-phone no-contact missing-name no-timezone
 * invalid-timezone duplicate.  quality starts at 100 and loses the weight of
 * each bad badge (lead_badge_weight), never below 0.
 */
#ifndef SEQ_LEAD_H
#define SEQ_LEAD_H

#include <jansson.h>
#include <stdint.h>

#include "db.h"

enum lead_field {
	LF_EXTERNAL_ID, LF_EMAIL, LF_PHONE, LF_FIRST_NAME, LF_LAST_NAME,
	LF_COMPANY, LF_TITLE, LF_TIMEZONE, LF_COUNT
};
extern const char *const lead_field_names[LF_COUNT];

struct lead {
	int64_t id;
	char *f[LF_COUNT];	/* NULL when unknown */
	json_t *attributes;	/* object, owned */
	json_t *badges;		/* array of strings, owned */
	json_t *duplicate_of;	/* array of lead ids, owned */
	int quality;
	int64_t created_at, updated_at;
};

/* Both return a malloc'd normal form, or NULL if the input is not valid. */
char *normalise_email(const char *);
char *normalise_phone(const char *, const char *region);
int region_known(const char *region);

/* The lead a record names by "id" (or "lead_id"), "external_id" or
 * "email", in that order; 0, with the reason in why, if none. */
int64_t lead_ref(struct db *, const json_t *rec, char *why, size_t size);
/* The regions whose country calling code begins an E.164 number, in *out;
 * how many (0: a code the table does not know; +1 is both US and CA). */
int phone_regions(const char *e164, const char **out, int max);

int lead_badge_weight(const char *badge);

/*
 * Reads and checks one input record and upserts it; 0 and the stored lead
 * in *out, or -1 with *why set to a static or malloc'd (*why_owned) reason.
 */
int lead_put(struct db *, json_t *rec, const char *region, int64_t now,
    struct lead *out, char **why);
/* 0 when found. */
int lead_load(struct db *, int64_t id, struct lead *);
/* Writes a lead as it is (new when its id is 0), sealed under k when k is
 * not NULL; -1 when its external_id is another lead's. */
struct keys;
int lead_store(struct db *, struct lead *, const struct keys *k);
/* Fills the personal fields and attributes of l (whose id is set) from the
 * sealed value of its row; exits if it does not open. */
void lead_unseal(struct db *, struct lead *, const void *sealed, size_t len);
json_t *lead_json(const struct lead *);
void lead_free(struct lead *);

/* The newest consent state of a lead for a channel: 1 opted out, else 0. */
int lead_opted_out(struct db *, int64_t lead_id, const char *channel);

#endif
