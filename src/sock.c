#include "portview/sock.h"
#include "portview/buf.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

void pv_socklist_init(struct pv_socklist *l)
{
	memset(l, 0, sizeof(*l));
}

void pv_socklist_free(struct pv_socklist *l)
{
	free(l->v);
	free(l->seen);
	pv_socklist_init(l);
}

static size_t cookie_hash(uint64_t c, size_t mask)
{
	c ^= c >> 33;
	c *= 0xff51afd7ed558ccdULL;
	c ^= c >> 33;
	return (size_t)c & mask;
}

/* Cookie 0 never comes from the kernel; it marks an empty slot. */
static bool seen_insert(uint64_t *set, size_t cap, uint64_t cookie)
{
	size_t mask = cap - 1;
	for (size_t i = cookie_hash(cookie, mask);; i = (i + 1) & mask) {
		if (set[i] == cookie)
			return false;
		if (set[i] == 0) {
			set[i] = cookie;
			return true;
		}
	}
}

static void seen_grow(struct pv_socklist *l)
{
	size_t cap = l->seen_cap ? l->seen_cap * 2 : 1024;
	uint64_t *set = xcalloc(cap, sizeof(*set));
	for (size_t i = 0; i < l->seen_cap; i++)
		if (l->seen[i])
			seen_insert(set, cap, l->seen[i]);
	free(l->seen);
	l->seen = set;
	l->seen_cap = cap;
}

static uint64_t tuple_hash(const struct pv_sock *s)
{
	uint64_t h = 1469598103934665603ULL ^ ((uint64_t)s->proto << 8 | s->family);
	const uint8_t *parts[2] = {s->local.addr, s->remote.addr};
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < 16; i++)
			h = (h ^ parts[k][i]) * 1099511628211ULL;
	h = (h ^ s->local.port) * 1099511628211ULL;
	h = (h ^ s->remote.port) * 1099511628211ULL;
	return h;
}

static bool same_tuple(const struct pv_sock *a, const struct pv_sock *b)
{
	return a->proto == b->proto && a->family == b->family && a->local.port == b->local.port &&
	       a->remote.port == b->remote.port && memcmp(a->local.addr, b->local.addr, 16) == 0 &&
	       memcmp(a->remote.addr, b->remote.addr, 16) == 0;
}

void pv_socklist_add_missing(struct pv_socklist *l, size_t from, const struct pv_socklist *extra)
{
	if (extra->n == 0)
		return;
	size_t n = l->n - from, cap = 64;
	while (cap < n * 2)
		cap *= 2;
	uint32_t *slot = xcalloc(cap, sizeof(*slot)); /* index + 1; 0: empty */
	for (size_t i = from; i < l->n; i++) {
		size_t j = (size_t)tuple_hash(&l->v[i]) & (cap - 1);
		while (slot[j])
			j = (j + 1) & (cap - 1);
		slot[j] = (uint32_t)(i + 1);
	}
	size_t end = l->n;
	for (size_t k = 0; k < extra->n; k++) {
		const struct pv_sock *e = &extra->v[k];
		bool seen = false;
		if (e->state != 10 /* TCP_LISTEN */) {
			size_t j = (size_t)tuple_hash(e) & (cap - 1);
			for (; slot[j] && !seen; j = (j + 1) & (cap - 1))
				seen = slot[j] - 1 < end && same_tuple(&l->v[slot[j] - 1], e);
		}
		if (!seen)
			pv_socklist_add(l, e);
	}
	free(slot);
}

bool pv_socklist_has_cookie(const struct pv_socklist *l, uint64_t cookie)
{
	if (cookie == 0 || cookie == ~(uint64_t)0 || !l->seen_cap)
		return false;
	size_t mask = l->seen_cap - 1;
	for (size_t i = cookie_hash(cookie, mask);; i = (i + 1) & mask) {
		if (l->seen[i] == cookie)
			return true;
		if (l->seen[i] == 0)
			return false;
	}
}

void pv_socklist_done_adding(struct pv_socklist *l)
{
	free(l->seen);
	l->seen = NULL;
	l->seen_cap = 0;
}

void pv_socklist_reserve(struct pv_socklist *l, size_t more)
{
	if (l->cap - l->n < more) {
		l->cap = l->n + more;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	while ((l->n + more) * 4 > l->seen_cap * 3)
		seen_grow(l);
}

bool pv_socklist_add(struct pv_socklist *l, const struct pv_sock *s)
{
	if (s->cookie != 0) {
		/* Keep the load factor at or under three quarters. */
		if ((l->n + 1) * 4 > l->seen_cap * 3)
			seen_grow(l);
		if (!seen_insert(l->seen, l->seen_cap, s->cookie))
			return false;
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = *s;
	return true;
}

void pv_socklist_filter(struct pv_socklist *l, bool (*keep)(const struct pv_sock *, const void *),
			const void *arg)
{
	size_t j = 0;
	for (size_t i = 0; i < l->n; i++)
		if (keep(&l->v[i], arg))
			l->v[j++] = l->v[i];
	l->n = j;
}

bool pv_addr_is_v4mapped(const uint8_t addr[16])
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	return memcmp(addr, prefix, sizeof(prefix)) == 0;
}

static int cmp_u(unsigned a, unsigned b)
{
	return (a > b) - (a < b);
}

static int cmp_endpoint(const struct pv_endpoint *a, const struct pv_endpoint *b)
{
	int c = memcmp(a->addr, b->addr, sizeof(a->addr));
	if (c)
		return c;
	return cmp_u(a->port, b->port);
}

int pv_sock_cmp(const struct pv_sock *a, const struct pv_sock *b)
{
	int c;
	/* TCP (6) sorts before UDP (17) by number. */
	if ((c = cmp_u(a->proto, b->proto)))
		return c;
	if ((c = cmp_u(a->family, b->family)))
		return c;
	if ((c = cmp_endpoint(&a->local, &b->local)))
		return c;
	if ((c = cmp_endpoint(&a->remote, &b->remote)))
		return c;
	if ((c = cmp_u(a->state, b->state)))
		return c;
	/* Equal tuples (SO_REUSEPORT): keep the order stable across runs. */
	return (a->cookie > b->cookie) - (a->cookie < b->cookie);
}

static int qsort_cmp(const void *a, const void *b)
{
	return pv_sock_cmp(a, b);
}

void pv_socklist_sort(struct pv_socklist *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), qsort_cmp);
}
