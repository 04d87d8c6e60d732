/*
 * jsonmem: see jsonmem.h.
 *
 * A carved block is found by the chunk whose bytes hold it, so that any
 * other block (one json_dumps returns, which callers free with free) stays
 * a plain malloc block.  A chunk counts its live blocks; it is reused when
 * the count falls to zero, and never before.  A header before each carved
 * block holds its size.  In the sanitizer build the header and every byte
 * not in a live block are poisoned, so that reading a freed record, or
 * past the end of a block into the next, is caught as with malloc's blocks.
 */
#include "jsonmem.h"

#include <jansson.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define ALIGN alignof(max_align_t)
#define CHUNK_BYTES (256 * 1024)
/* Larger blocks (a long line's html, say) come from malloc: a chunk then
 * wastes at most an eighth at its end, and any carved block fits a new
 * chunk. */
#define LARGEST_CARVED (CHUNK_BYTES / 8)
#define SPARE_CHUNKS 4

struct chunk {
	size_t live;
	size_t top;
	alignas(max_align_t) unsigned char data[CHUNK_BYTES];
};

struct header {
	alignas(max_align_t) size_t size;
};

/* Chunks holding live blocks, the current one last. */
static struct chunk **chunks, *spare[SPARE_CHUNKS];
static size_t nchunks, chunks_cap, live_blocks;
static int nspare, carving;

static size_t
span(size_t n)
{
	return sizeof(struct header) + ((n + ALIGN - 1) & ~(ALIGN - 1));
}

static struct chunk *
chunk_new(void)
{
	struct chunk *c = nspare ? spare[--nspare] : xmalloc(sizeof *c);
	c->live = 0;
	c->top = 0;
	POISON(c->data, sizeof c->data);
	if (nchunks == chunks_cap) {
		chunks_cap = chunks_cap ? 2 * chunks_cap : 8;
		chunks = xrealloc(chunks, chunks_cap * sizeof *chunks);
	}
	chunks[nchunks++] = c;
	return c;
}

static void
chunk_retire(size_t i)
{
	struct chunk *c = chunks[i];
	/* in order, so that the current chunk stays last */
	memmove(chunks + i, chunks + i + 1, (--nchunks - i) * sizeof *chunks);
	if (nspare < SPARE_CHUNKS)
		spare[nspare++] = c;
	else {
		UNPOISON(c->data, sizeof c->data);
		free(c);
	}
}

static void *
jsonmem_malloc(size_t n)
{
	size_t need = span(n);
	struct chunk *c = nchunks ? chunks[nchunks - 1] : NULL;
	struct header *h;

	if (!carving || need > LARGEST_CARVED)
		return malloc(n);
	if (!c || c->top + need > sizeof c->data) {
		if (c && !c->live)
			c->top = 0;
		else
			c = chunk_new();
	}
	h = (struct header *)(c->data + c->top);
	UNPOISON(h, sizeof *h);
	h->size = n;
	POISON(h, sizeof *h);
	UNPOISON(h + 1, n);
	c->top += need;
	c->live++;
	live_blocks++;
	return h + 1;
}

static void
jsonmem_free(void *p)
{
	uintptr_t b = (uintptr_t)p;
	size_t i = nchunks;

	if (!p)
		return;
	while (i-- > 0) {
		uintptr_t d = (uintptr_t)chunks[i]->data;
		if (b > d && b < d + CHUNK_BYTES)
			break;
	}
	if (i == (size_t)-1) {
		free(p);
		return;
	}
	struct chunk *c = chunks[i];
	struct header *h = (struct header *)p - 1;
	UNPOISON(h, sizeof *h);
	POISON(h, span(h->size));
	live_blocks--;
	if (--c->live)
		return;
	if (i == nchunks - 1) {
		c->top = 0;
		POISON(c->data, sizeof c->data);
	} else
		chunk_retire(i);
}

/* Installed at the first carving: a block jansson handed out before then
 * came from malloc, and jsonmem_free gives it back to free. */
void
jsonmem_carve(int on)
{
	static int installed;
	if (!installed) {
		json_set_alloc_funcs(jsonmem_malloc, jsonmem_free);
		installed = 1;
	}
	carving = on;
}

size_t
jsonmem_live(void)
{
	return live_blocks;
}
