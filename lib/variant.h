/*
 * variant: which A/B variant of a message step an enrollment gets.  The
 * choice is a function of the enrollment's id and the step's id alone, so
 * every run, every retry and every replica of the database makes the same
 * one, with no state to keep; over many enrollments the variants come in
 * the proportions of their weights.
 */
#ifndef SEQ_VARIANT_H
#define SEQ_VARIANT_H

#include <stdint.h>

#include "seqdef.h"

/* The index of the variant of s that enrollment gets; s must have some. */
int variant_pick(int64_t enrollment, const struct step *s);

/* The variant of s for enrollment, or NULL when s has none. */
const struct variant *variant_of(int64_t enrollment, const struct step *s);

/* s as variant v shows it: v's subject, text, html and say where it sets
 * them, s's where it leaves them out; kept in *view, which is returned. */
const struct step *variant_apply(const struct step *s, const struct variant *v,
    struct step *view);

#endif
