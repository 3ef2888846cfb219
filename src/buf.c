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
