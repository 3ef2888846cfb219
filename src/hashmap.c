#include "portview/hashmap.h"
#include "portview/buf.h"

#include <stdlib.h>
#include <string.h>

void pv_hashmap_init(struct pv_hashmap *m, size_t expected)
{
	memset(m, 0, sizeof(*m));
	m->cap = 64;
	while (m->cap < expected * 2)
		m->cap *= 2;
	m->e = xcalloc(m->cap, sizeof(*m->e));
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
	struct pv_hashmap_entry *e = xcalloc(cap, sizeof(*e));
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
	if ((m->n + 1) * 2 > m->cap)
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
