/*
 * One hash map for the library's lookups by number: 64-bit keys (socket
 * cookies, thread group ids) to 32-bit values (an index, a slot), open
 * addressing with linear probing, at most three quarters full.  Every key
 * is valid, 0 too (kept beside the table, since 0 marks an empty entry).
 * A map made with pv_hashmap_init32 holds keys below 2^32 (socket inodes)
 * in 8-byte entries instead of 12: at 100k sockets the owner table is
 * 2 MiB, not 3.
 */
#ifndef PORTVIEW_HASHMAP_H
#define PORTVIEW_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Mix the bits of an integer key for a hash table (a bijection). */
static inline uint64_t pv_hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

struct pv_hashmap_entry {
	uint64_t key; /* 0: empty */
	uint32_t val;
} __attribute__((packed, aligned(4))); /* 12 bytes: at 100k keys the table is 1.5 MiB, not 4 */

struct pv_hashmap_entry32 {
	uint32_t key; /* 0: empty */
	uint32_t val;
};

struct pv_hashmap {
	union {
		struct pv_hashmap_entry *e;	/* !narrow */
		struct pv_hashmap_entry32 *e32; /* narrow */
	};
	size_t cap; /* a power of two; 0 before init and after free */
	size_t n;   /* keys held, 0 included */
	bool narrow;
	bool has_zero;
	uint32_t zero_val;
};

/* An empty map with room for about expected keys before it grows. */
void pv_hashmap_init(struct pv_hashmap *m, size_t expected);
/* The same for keys below 2^32 only (a wider key is never found or added). */
void pv_hashmap_init32(struct pv_hashmap *m, size_t expected);
void pv_hashmap_free(struct pv_hashmap *m);
/*
 * The value of key, added with the value 0 when absent (*added, if not
 * NULL, says which).  The pointer holds until the next pv_hashmap_put.
 * NULL only for a key of 2^32 or more in a narrow map.
 */
uint32_t *pv_hashmap_put(struct pv_hashmap *m, uint64_t key, bool *added);
/*
 * The entries in the table's order: start with *pos = 0; false at the end
 * (key 0 comes last).
 */
bool pv_hashmap_next(const struct pv_hashmap *m, size_t *pos, uint64_t *key, uint32_t *val);

/* Whether key is in the map, and its value.  Inline: the joins call it per record. */
static inline bool pv_hashmap_get(const struct pv_hashmap *m, uint64_t key, uint32_t *val)
{
	if (key == 0) {
		if (m->has_zero)
			*val = m->zero_val;
		return m->has_zero;
	}
	if (!m->cap || (m->narrow && key > UINT32_MAX))
		return false;
	size_t mask = m->cap - 1;
	if (m->narrow) {
		for (size_t i = (size_t)pv_hash64(key) & mask;; i = (i + 1) & mask) {
			if (m->e32[i].key == key) {
				*val = m->e32[i].val;
				return true;
			}
			if (m->e32[i].key == 0)
				return false;
		}
	}
	for (size_t i = (size_t)pv_hash64(key) & mask;; i = (i + 1) & mask) {
		if (m->e[i].key == key) {
			*val = m->e[i].val;
			return true;
		}
		if (m->e[i].key == 0)
			return false;
	}
}

#endif
