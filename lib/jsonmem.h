/*
 * jsonmem: where jansson keeps the records the NDJSON loop parses.
 *
 * seq-send and seq-log hold a batch of parsed records until it commits: a
 * thousand records of some forty blocks each, more than malloc keeps at
 * hand, so that malloc and free took a tenth of their CPU.  While carving is
 * on, jansson's blocks are carved from 256 KiB chunks instead, and a chunk
 * is reused once every block in it is freed.  Blocks jansson allocates at
 * any other time come from malloc as before.
 */
#ifndef SEQ_JSONMEM_H
#define SEQ_JSONMEM_H

void jsonmem_carve(int on);

#endif
