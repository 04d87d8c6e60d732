/*
 * jsonmem: see jsonmem.h.
 *
 * A carved block is found by the chunk whose bytes hold it, so that any
 * other block (one json_dumps returns, which callers free with free) stays
 * a plain malloc block.  A chunk counts its live blocks; it is reused when
 * the count falls to zero, and never before, so a block kept past its batch
 * keeps its chunk and nothing else.  A 16-byte header before each carved
 * block holds its size, for the sanitizer build to poison it when freed.
 */
#include "jsonmem.h"

#include <jansson.h>
#include <stdalign.h>
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

#define CHUNK_BYTES (256 * 1024)
/* A larger block (a long line's html, say) comes from malloc, so that no
 * chunk is ever larger than CHUNK_BYTES. */
#define LARGEST_CARVED (CHUNK_BYTES / 8)
#define SPARE_CHUNKS 4

struct chunk {
	size_t live;
	size_t top;
	alignas(16) unsigned char data[CHUNK_BYTES];
};

struct header {
	size_t size;
	size_t pad;
};

/* Chunks holding live blocks, the current one last. */
static struct chunk **chunks, *spare[SPARE_CHUNKS];
static size_t nchunks, chunks_cap;
static int nspare, carving;

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
	size_t need = sizeof(struct header) + ((n + 15) & ~(size_t)15);
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
	UNPOISON(h, need);
	c->top += need;
	c->live++;
	h->size = n;
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
	POISON(h, sizeof *h + h->size);
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
