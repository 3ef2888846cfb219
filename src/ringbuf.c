#include "portview/ringbuf.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int pv_ringbuf_map(struct pv_ringbuf *rb, int fd, size_t size)
{
	memset(rb, 0, sizeof(*rb));
	rb->page = (size_t)sysconf(_SC_PAGESIZE);
	rb->size = size;
	void *c = mmap(NULL, rb->page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (c == MAP_FAILED)
		return -errno;
	rb->consumer = c;
	/* the data is mapped twice in a row, so a record never wraps */
	void *p = mmap(NULL, rb->page + 2 * size, PROT_READ, MAP_SHARED, fd, (off_t)rb->page);
	if (p == MAP_FAILED) {
		int err = -errno;
		pv_ringbuf_unmap(rb);
		return err;
	}
	rb->producer = p;
	rb->data = (const unsigned char *)p + rb->page;
	return 0;
}

void pv_ringbuf_unmap(struct pv_ringbuf *rb)
{
	if (rb->consumer)
		munmap(rb->consumer, rb->page);
	if (rb->producer)
		munmap((void *)rb->producer, rb->page + 2 * rb->size);
	memset(rb, 0, sizeof(*rb));
}

/* A record's header in the ring: its length with two flags, and a page offset. */
#define RING_BUSY    (1u << 31)
#define RING_DISCARD (1u << 30)
#define RING_HDR     8u

size_t pv_ringbuf_read(struct pv_ringbuf *rb, void *recs, size_t rec_size, size_t max)
{
	uint64_t cons = __atomic_load_n(rb->consumer, __ATOMIC_ACQUIRE);
	uint64_t prod = __atomic_load_n(rb->producer, __ATOMIC_ACQUIRE);
	size_t n = 0;
	while (cons < prod && n < max) {
		const unsigned char *at = rb->data + (cons & (rb->size - 1));
		uint32_t len = __atomic_load_n((const uint32_t *)at, __ATOMIC_ACQUIRE);
		if (len & RING_BUSY)
			break; /* reserved, not yet submitted: the next read takes it */
		uint32_t size = len & ~(RING_BUSY | RING_DISCARD);
		if (!(len & RING_DISCARD) && size == rec_size)
			memcpy((unsigned char *)recs + n++ * rec_size, at + RING_HDR, rec_size);
		cons += (size + RING_HDR + 7) & ~7u;
		__atomic_store_n(rb->consumer, cons, __ATOMIC_RELEASE);
	}
	return n;
}
