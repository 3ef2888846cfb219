/*
 * A BPF ring buffer (BPF_MAP_TYPE_RINGBUF) read without libbpf: its two
 * mappings as the kernel lays them out, and records of one size copied
 * out in the order they were reserved.  The lifecycle program's and the
 * change log's.
 */
#ifndef PORTVIEW_RINGBUF_H
#define PORTVIEW_RINGBUF_H

#include <stddef.h>
#include <stdint.h>

struct pv_ringbuf {
	size_t page, size;	  /* size: the data's, a power of two */
	uint64_t *consumer;	  /* the consumer's page: ours to write */
	const uint64_t *producer; /* the producer's page, then the data twice over */
	const unsigned char *data;
};

/* Map the ring buffer map fd of size bytes of data.  Returns 0 or a negative errno. */
int pv_ringbuf_map(struct pv_ringbuf *rb, int fd, size_t size);
void pv_ringbuf_unmap(struct pv_ringbuf *rb);
/*
 * Copy up to max records of rec_size bytes into recs (records of another
 * size, and discarded ones, are skipped): how many.
 */
size_t pv_ringbuf_read(struct pv_ringbuf *rb, void *recs, size_t rec_size, size_t max);

#endif
