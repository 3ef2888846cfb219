#include "portview/buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void oom(void)
{
	static const char msg[] = "portview: out of memory\n";
	ssize_t r = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)r;
	_exit(1);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xzalloc_aligned(size_t align, size_t n)
{
	size_t size = (n + align - 1) / align * align;
	void *p = aligned_alloc(align, size ? size : align);
	if (!p)
		oom();
	memset(p, 0, size);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xreallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		oom();
	return xrealloc(p, n * size);
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

void pv_populate(void *p, size_t n)
{
	long page = sysconf(_SC_PAGESIZE);
	if (page <= 0)
		page = 4096;
	if (!p || !n)
		return;
	/* whole pages: the partly covered ones at the ends too */
	uintptr_t start = (uintptr_t)p & ~((uintptr_t)page - 1);
	uintptr_t end = ((uintptr_t)p + n + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
	(void)madvise((void *)start, end - start, MADV_POPULATE_WRITE);
}

/*
 * A large array's header, before its elements: how large its mapping is
 * (0: the array came from malloc) and how many bytes it holds.  Its size
 * keeps the elements aligned as malloc's would be.
 */
struct big {
	size_t mapped;
	size_t bytes;
} __attribute__((aligned(16)));

#define HUGE_PAGE ((size_t)2 << 20)
/*
 * From this size on, a mapping: what is on the heap is copied over and was
 * faulted in 4 KB at a time, so the move comes early, for a part of a 2 MB
 * page left unused.
 */
#define BIG_FROM ((size_t)256 << 10)

/* len bytes (a multiple of HUGE_PAGE) mapped at a HUGE_PAGE boundary, advised to be huge pages */
static void *map_huge(size_t len)
{
	size_t over = len + HUGE_PAGE;
	char *p = mmap(NULL, over, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		oom();
	/* Linux 6.7 on aligns such mappings itself; before, the slack does */
	char *a = (char *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	if (a + len < p + over)
		munmap(a + len, (size_t)(p + over - (a + len)));
	/* where the kernel has no transparent huge pages, small pages it is */
	(void)madvise(a, len, MADV_HUGEPAGE);
	return a;
}

void *pv_big_realloc(void *p, size_t n, size_t size, bool huge)
{
	if (size && n > (SIZE_MAX - HUGE_PAGE - sizeof(struct big)) / size)
		oom();
	size_t bytes = n * size, need = sizeof(struct big) + bytes;
	struct big *h = p ? (struct big *)p - 1 : NULL;
	if (h && h->mapped >= need) {
		h->bytes = bytes;
		return p;
	}
	if ((need < BIG_FROM || !huge) && (!h || !h->mapped)) {
		h = xrealloc(h, need);
		*h = (struct big){0, bytes};
		return h + 1;
	}
	size_t len = (need + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	struct big *to = map_huge(len);
	if (h && h->mapped) {
		/* the pages move over (huge ones whole: both ends are aligned) */
		if (mremap(h, h->mapped, len, MREMAP_MAYMOVE | MREMAP_FIXED, to) == MAP_FAILED)
			oom();
	} else if (h) {
		memcpy(to + 1, h + 1, h->bytes < bytes ? h->bytes : bytes);
		free(h);
	}
	*to = (struct big){len, bytes};
	return to + 1;
}

void pv_big_free(void *p)
{
	if (!p)
		return;
	struct big *h = (struct big *)p - 1;
	if (h->mapped)
		munmap(h, h->mapped);
	else
		free(h);
}

void pv_buf_init(struct pv_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->fd = -1;
	b->err = 0;
}

void pv_buf_init_sink(struct pv_buf *b, int fd)
{
	pv_buf_init(b);
	b->fd = fd;
}

int pv_buf_flush(struct pv_buf *b)
{
	if (b->fd >= 0 && !b->err)
		b->err = pv_buf_write(b, b->fd);
	b->len = 0;
	return b->err;
}

void pv_buf_free(struct pv_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *pv_buf_grow(struct pv_buf *b, size_t n)
{
	if (b->fd >= 0 && b->len >= PV_BUF_FLUSH)
		pv_buf_flush(b);
	/* (a buffer that never held anything has no storage to point into) */
	if (!b->data || b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap - b->len < n) {
			if (cap > SIZE_MAX / 2)
				oom();
			cap *= 2;
		}
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	return b->data + b->len;
}

void pv_buf_puts(struct pv_buf *b, const char *s)
{
	pv_buf_add(b, s, strlen(s));
}

void pv_buf_printf(struct pv_buf *b, const char *fmt, ...)
{
	/* Most output is short: format once into room reserved up front. */
	va_list ap;
	char *tail = pv_buf_reserve(b, 64);
	size_t room = b->cap - b->len;
	va_start(ap, fmt);
	int n = vsnprintf(tail, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= room) {
		tail = pv_buf_reserve(b, (size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(tail, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

int pv_buf_write(const struct pv_buf *b, int fd)
{
	size_t off = 0;
	while (off < b->len) {
		size_t chunk = b->len - off;
		if (chunk > (1u << 20))
			chunk = 1u << 20;
		ssize_t w = write(fd, b->data + off, chunk);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)w;
	}
	return 0;
}
