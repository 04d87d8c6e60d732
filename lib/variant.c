/*
 * variant: see variant.h.
 */
#include "variant.h"

#include <string.h>

/* splitmix64's finaliser: consecutive ids come out as unrelated bits. */
static uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* FNV-1a: the step's id as a number, so that an enrollment's picks at two
 * steps are independent of each other. */
static uint64_t
hash_id(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

int
variant_pick(int64_t enrollment, const struct step *s)
{
	uint64_t x = mix64((uint64_t)enrollment ^ mix64(hash_id(s->id)));
	/* the bias of a 64-bit value modulo at most 500 is below 1e-16 */
	int at = (int)(x % (uint64_t)s->weight_sum);
	for (int i = 0; i < s->nvariants; i++) {
		if (at < s->variants[i].weight)
			return i;
		at -= s->variants[i].weight;
	}
	return s->nvariants - 1;
}

const struct variant *
variant_of(int64_t enrollment, const struct step *s)
{
	if (s->nvariants == 0)
		return NULL;
	return &s->variants[variant_pick(enrollment, s)];
}

const struct step *
variant_apply(const struct step *s, const struct variant *v, struct step *view)
{
	*view = *s;
	if (v->subject)
		view->subject = v->subject;
	if (v->text)
		view->text = v->text;
	if (v->html)
		view->html = v->html;
	if (v->say)
		view->say = v->say;
	return view;
}
