#include "portview/hashmap.h"
#include "portview/buf.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/*
 * A table of this size or more is put on huge pages where the kernel
 * gives them for the asking (transparent_hugepage=madvise): lookups land
 * at random, and 12-byte entries for 100k sockets (3 MiB) would otherwise
 * cost a page fault per 4 KiB and a TLB miss per lookup.
 */
#define HUGE_PAGE (2u << 20)

static size_t entry_size(const struct pv_hashmap *m)
{
	return m->narrow ? sizeof(struct pv_hashmap_entry32) : sizeof(struct pv_hashmap_entry);
}

static void *new_entries(size_t cap, size_t each)
{
	size_t size = cap * each;
	void *p;
	if (size < HUGE_PAGE || posix_memalign(&p, HUGE_PAGE, size) != 0)
		return xcalloc(cap, each);
	madvise(p, size, MADV_HUGEPAGE); /* a hint: without it, small pages */
	memset(p, 0, size);
	return p;
}

static void init(struct pv_hashmap *m, size_t expected, bool narrow)
{
	memset(m, 0, sizeof(*m));
	m->narrow = narrow;
	m->cap = 64;
	while (m->cap * 3 < expected * 4)
		m->cap *= 2;
	m->e = new_entries(m->cap, entry_size(m));
}

void pv_hashmap_init(struct pv_hashmap *m, size_t expected)
{
	init(m, expected, false);
}

void pv_hashmap_init32(struct pv_hashmap *m, size_t expected)
{
	init(m, expected, true);
}

void pv_hashmap_free(struct pv_hashmap *m)
{
	free(m->e);
	memset(m, 0, sizeof(*m));
}

/* Where key is in the table, or the empty entry where it would go. */
static size_t find(const struct pv_hashmap *m, uint64_t key)
{
	size_t mask = m->cap - 1, i = (size_t)pv_hash64(key) & mask;
	if (m->narrow) {
		while (m->e32[i].key && m->e32[i].key != key)
			i = (i + 1) & mask;
	} else {
		while (m->e[i].key && m->e[i].key != key)
			i = (i + 1) & mask;
	}
	return i;
}

static uint64_t key_at(const struct pv_hashmap *m, size_t i)
{
	return m->narrow ? m->e32[i].key : m->e[i].key;
}

static uint32_t *val_at(const struct pv_hashmap *m, size_t i)
{
	return m->narrow ? &m->e32[i].val : &m->e[i].val;
}

static void set_at(struct pv_hashmap *m, size_t i, uint64_t key, uint32_t val)
{
	if (m->narrow)
		m->e32[i] = (struct pv_hashmap_entry32){(uint32_t)key, val};
	else
		m->e[i] = (struct pv_hashmap_entry){key, val};
}

static void grow(struct pv_hashmap *m)
{
	struct pv_hashmap old = *m;
	m->cap = m->cap ? m->cap * 2 : 64; /* 0: a map never made, zeroed */
	m->e = new_entries(m->cap, entry_size(m));
	for (size_t j = 0; j < old.cap; j++) {
		uint64_t key = key_at(&old, j);
		if (key)
			set_at(m, find(m, key), key, *val_at(&old, j));
	}
	free(old.e);
}

uint32_t *pv_hashmap_put(struct pv_hashmap *m, uint64_t key, bool *added)
{
	if (key == 0) {
		if (added)
			*added = !m->has_zero;
		if (!m->has_zero) {
			m->has_zero = true;
			m->zero_val = 0;
			m->n++;
		}
		return &m->zero_val;
	}
	if (m->narrow && key > UINT32_MAX)
		return NULL;
	if ((m->n + 1) * 4 > m->cap * 3)
		grow(m);
	size_t i = find(m, key);
	bool is_new = key_at(m, i) == 0;
	if (is_new) {
		set_at(m, i, key, 0);
		m->n++;
	}
	if (added)
		*added = is_new;
	return val_at(m, i);
}

bool pv_hashmap_next(const struct pv_hashmap *m, size_t *pos, uint64_t *key, uint32_t *val)
{
	for (; *pos < m->cap; (*pos)++) {
		if (key_at(m, *pos)) {
			*key = key_at(m, *pos);
			*val = *val_at(m, *pos);
			(*pos)++;
			return true;
		}
	}
	if (*pos == m->cap && m->has_zero) {
		(*pos)++;
		*key = 0;
		*val = m->zero_val;
		return true;
	}
	return false;
}
