/*
 * jsonmem: where jansson keeps the records the NDJSON loop parses.
 *
 * seq-send and seq-log hold a batch of parsed records until it commits: a
 * thousand records of some forty blocks each, more than malloc keeps at
 * hand, so that malloc and free took a tenth of their CPU.  While carving is
 * on, jansson's blocks are carved from 256 KiB chunks instead, and a chunk
 * is reused once every block in it is freed.  Blocks jansson allocates at
 * any other time come from malloc as before.
 *
 * So a part of a parsed record must not be kept past its batch: one small
 * value would keep its whole chunk.  Copy it (json_deep_copy, which runs
 * with carving off).  The sanitizer build checks that none is left when
 * the loop ends.
 */
#ifndef SEQ_JSONMEM_H
#define SEQ_JSONMEM_H

#include <stddef.h>

void jsonmem_carve(int on);
/* Carved blocks not yet freed. */
size_t jsonmem_live(void);

#endif
