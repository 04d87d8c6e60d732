/*
 * batch: see batch.h.  The transaction opens with the first record of a
 * batch, so an empty batch costs nothing.
 */
#include "batch.h"
#include "ndjson.h"

void
batch_begin(struct batch *b)
{
	if (!b->open) {
		db_begin(b->db);
		b->open = 1;
	}
}

void
batch_flush(struct batch *b)
{
	if (b->open) {
		db_commit(b->db);
		b->open = 0;
	}
	emit(&b->out);
}
