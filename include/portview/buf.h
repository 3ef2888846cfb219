/* Growable byte buffer and allocation helpers. */
#ifndef PORTVIEW_BUF_H
#define PORTVIEW_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/*
 * Allocation failure is handled in one place: the x-functions print a
 * message and exit with status 1.  This is the only exit outside main(),
 * because out-of-memory has no useful recovery in a listing tool.
 */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t n, size_t size);
/* n zeroed bytes on an align boundary (a power of two), freed by free() */
void *xzalloc_aligned(size_t align, size_t n);
/*
 * The pages of [p, p + n) made present for writing in one system call
 * (MADV_POPULATE_WRITE, Linux 5.14), before a loop fills them: where each
 * page's first touch is a fault of its own, that costs far more (measured
 * in a VM: 12 us a fault, against 0.7 us a page populated).  Nothing
 * where the kernel lacks it; never an error.
 */
void pv_populate(void *p, size_t n);
/*
 * An array that may grow large, resized to n elements of size bytes (p
 * NULL: a new one; its elements are not cleared).  With huge, from 256 KB
 * on it has a mapping of its own, at a 2 MB boundary and advised
 * MADV_HUGEPAGE: the kernel then backs it with 2 MB pages, one fault each
 * instead of 512 (measured in a VM: an 8.8 MB array populated in 1.2 ms
 * against 15 ms), of which the last may be partly used.  Without, it stays
 * on the heap (or in the mapping it has).  Only pv_big_realloc and
 * pv_big_free take such an array.
 */
void *pv_big_realloc(void *p, size_t n, size_t size, bool huge);
void pv_big_free(void *p);

struct pv_buf {
	char *data;
	size_t len;
	size_t cap;
	/*
	 * A sink: when fd >= 0, the buffer writes itself out there whenever it
	 * holds PV_BUF_FLUSH bytes, so a large table never sits in memory whole.
	 * The first write error is kept in err (later output is dropped).
	 */
	int fd;
	int err;
};

#define PV_BUF_FLUSH (64u * 1024u)

void pv_buf_init(struct pv_buf *b);
/* A buffer that flushes to fd as it fills (see struct pv_buf). */
void pv_buf_init_sink(struct pv_buf *b, int fd);
/* Write out what a sink holds; returns 0 or the first write error. */
int pv_buf_flush(struct pv_buf *b);
void pv_buf_free(struct pv_buf *b);
/* Make room for at least n more bytes; returns the tail. */
/* Room for n more bytes (a sink written out first when full): where they go. */
char *pv_buf_grow(struct pv_buf *b, size_t n);
/*
 * The calls below run for every cell of a table (a million at 100,000
 * rows): their common case, room already there, is inline.
 */
static inline char *pv_buf_reserve(struct pv_buf *b, size_t n)
{
	if (__builtin_expect(
		b->data && b->cap - b->len >= n && (b->fd < 0 || b->len < PV_BUF_FLUSH), 1))
		return b->data + b->len;
	return pv_buf_grow(b, n);
}

static inline void pv_buf_add(struct pv_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	memcpy(pv_buf_reserve(b, n), p, n);
	b->len += n;
}

static inline void pv_buf_putc(struct pv_buf *b, char c)
{
	*pv_buf_reserve(b, 1) = c;
	b->len++;
}

static inline void pv_buf_pad(struct pv_buf *b, char c, size_t n)
{
	if (n == 0)
		return;
	memset(pv_buf_reserve(b, n), c, n);
	b->len += n;
}

void pv_buf_puts(struct pv_buf *b, const char *s);
__attribute__((format(printf, 2, 3))) void pv_buf_printf(struct pv_buf *b, const char *fmt, ...);

/*
 * Write the whole buffer to fd.  Returns 0, or a negative errno
 * (-EPIPE when the reader has gone away).
 */
int pv_buf_write(const struct pv_buf *b, int fd);

#endif
