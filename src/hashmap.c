#include "portview/hashmap.h"
#include "portview/buf.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/*
 * A table of this size or more is put on huge pages where the kernel
 * gives them for the asking (transparent_hugepage=madvise): lookups land
 * at random, and 16-byte entries for 100k sockets (4 MiB) would otherwise
 * cost a page fault per 4 KiB and a TLB miss per lookup.
 */
#define HUGE_PAGE (2u << 20)

static struct pv_hashmap_entry *new_entries(size_t cap)
{
	size_t size = cap * sizeof(struct pv_hashmap_entry);
	void *p;
	if (size < HUGE_PAGE || posix_memalign(&p, HUGE_PAGE, size) != 0)
		return xcalloc(cap, sizeof(struct pv_hashmap_entry));
	madvise(p, size, MADV_HUGEPAGE); /* a hint: without it, small pages */
	memset(p, 0, size);
	return p;
}

void pv_hashmap_init(struct pv_hashmap *m, size_t expected)
{
	memset(m, 0, sizeof(*m));
	m->cap = 64;
	while (m->cap * 3 < expected * 4)
		m->cap *= 2;
	m->e = new_entries(m->cap);
}

void pv_hashmap_free(struct pv_hashmap *m)
{
	free(m->e);
	memset(m, 0, sizeof(*m));
}

/* Where key is in e, or the empty entry where it would go. */
static size_t find(const struct pv_hashmap_entry *e, size_t cap, uint64_t key)
{
	size_t mask = cap - 1, i = (size_t)pv_hash64(key) & mask;
	while (e[i].key && e[i].key != key)
		i = (i + 1) & mask;
	return i;
}

static void grow(struct pv_hashmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	struct pv_hashmap_entry *e = new_entries(cap);
	for (size_t j = 0; j < m->cap; j++)
		if (m->e[j].key)
			e[find(e, cap, m->e[j].key)] = m->e[j];
	free(m->e);
	m->e = e;
	m->cap = cap;
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
	if ((m->n + 1) * 4 > m->cap * 3)
		grow(m);
	size_t i = find(m->e, m->cap, key);
	bool is_new = m->e[i].key == 0;
	if (is_new) {
		m->e[i] = (struct pv_hashmap_entry){key, 0};
		m->n++;
	}
	if (added)
		*added = is_new;
	return &m->e[i].val;
}

bool pv_hashmap_next(const struct pv_hashmap *m, size_t *pos, uint64_t *key, uint32_t *val)
{
	for (; *pos < m->cap; (*pos)++) {
		if (m->e[*pos].key) {
			*key = m->e[*pos].key;
			*val = m->e[*pos].val;
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
