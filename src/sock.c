#include "portview/sock.h"
#include "portview/buf.h"
#include "portview/state.h"
#include "portview/util.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

void pv_socklist_init(struct pv_socklist *l)
{
	memset(l, 0, sizeof(*l));
	l->keep_more = true;
}

void pv_socklist_free(struct pv_socklist *l)
{
	free(l->v);
	free(l->more);
	free(l->v6);
	pv_socklist_init(l);
}

bool pv_socklist_add(struct pv_socklist *l, const struct pv_sock *s)
{
	if (l->n == l->cap) {
		/* realloc of a large block moves pages (mremap), it does not copy */
		l->cap = l->cap ? l->cap * 2 : 256;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
		if (l->keep_more)
			l->more = xreallocarray(l->more, l->cap, sizeof(*l->more));
	}
	struct pv_rec *r = &l->v[l->n];
	memset(r, 0, sizeof(*r));
	r->cookie = s->cookie;
	r->lport = s->local.port;
	r->rport = s->remote.port;
	r->proto = s->proto;
	r->family = s->family;
	r->state = s->state;
	r->inode = s->inode;
	r->uid = s->uid;
	if (s->family == AF_INET6) {
		if (l->n6 == l->cap6) {
			l->cap6 = l->cap6 ? l->cap6 * 2 : 64;
			l->v6 = xreallocarray(l->v6, l->cap6, sizeof(*l->v6));
		}
		struct pv_v6 *a = &l->v6[l->n6];
		memcpy(a->local, s->local.addr, 16);
		memcpy(a->remote, s->remote.addr, 16);
		a->ifindex = s->ifindex;
		r->laddr = (uint32_t)l->n6++;
	} else {
		memcpy(&r->laddr, s->local.addr, 4);
		memcpy(&r->raddr, s->remote.addr, 4);
	}
	if (l->keep_more)
		l->more[l->n] = (struct pv_rec_more){.rqueue = s->rqueue,
						     .wqueue = s->wqueue,
						     .expires = s->expires,
						     .ifindex = s->ifindex,
						     .timer = s->timer,
						     .retrans = s->retrans};
	l->n++;
	return true;
}

void pv_socklist_get(const struct pv_socklist *l, size_t i, struct pv_sock *out)
{
	const struct pv_rec *r = &l->v[i];
	memset(out, 0, sizeof(*out));
	out->cookie = r->cookie;
	out->proto = r->proto;
	out->family = r->family;
	out->state = r->state;
	out->local.port = r->lport;
	out->remote.port = r->rport;
	out->inode = r->inode;
	out->uid = r->uid;
	if (r->family == AF_INET6) {
		const struct pv_v6 *a = &l->v6[r->laddr];
		memcpy(out->local.addr, a->local, 16);
		memcpy(out->remote.addr, a->remote, 16);
		out->ifindex = a->ifindex;
	} else {
		memcpy(out->local.addr, &r->laddr, 4);
		memcpy(out->remote.addr, &r->raddr, 4);
	}
	if (l->more) {
		const struct pv_rec_more *m = &l->more[i];
		out->rqueue = m->rqueue;
		out->wqueue = m->wqueue;
		out->expires = m->expires;
		out->ifindex = m->ifindex;
		out->timer = m->timer;
		out->retrans = m->retrans;
	}
}

struct pv_socklist_mark pv_socklist_mark(const struct pv_socklist *l)
{
	return (struct pv_socklist_mark){l->n, l->n6};
}

void pv_socklist_rollback(struct pv_socklist *l, struct pv_socklist_mark m)
{
	if (m.n < l->n)
		l->n = m.n;
	if (m.n6 < l->n6)
		l->n6 = m.n6;
}

static size_t cookie_hash(uint64_t c, size_t mask)
{
	return (size_t)pv_hash64(c) & mask;
}

/* Cookie 0 never comes from the kernel; it marks an empty slot. */
void pv_cookies_of(struct pv_cookies *c, const struct pv_socklist *l, size_t from, uint32_t states)
{
	size_t n = 0;
	for (size_t k = from; k < l->n; k++)
		n += (states >> l->v[k].state) & 1;
	c->cap = 64;
	while (c->cap < n * 2)
		c->cap *= 2;
	c->v = xcalloc(c->cap, sizeof(*c->v));
	size_t mask = c->cap - 1;
	for (size_t k = from; k < l->n; k++) {
		uint64_t cookie = l->v[k].cookie;
		if (cookie == 0 || !((states >> l->v[k].state) & 1))
			continue;
		size_t i = cookie_hash(cookie, mask);
		while (c->v[i] && c->v[i] != cookie)
			i = (i + 1) & mask;
		c->v[i] = cookie;
	}
}

bool pv_cookies_has(const struct pv_cookies *c, uint64_t cookie)
{
	if (cookie == 0 || !c->cap)
		return false;
	size_t mask = c->cap - 1;
	for (size_t i = cookie_hash(cookie, mask);; i = (i + 1) & mask) {
		if (c->v[i] == cookie)
			return true;
		if (c->v[i] == 0)
			return false;
	}
}

void pv_cookies_free(struct pv_cookies *c)
{
	free(c->v);
	memset(c, 0, sizeof(*c));
}

static uint64_t tuple_hash(const struct pv_sock *s)
{
	uint64_t h = pv_hash_bytes(s->local.addr, 16, (uint64_t)s->proto << 8 | s->family);
	h = pv_hash_bytes(s->remote.addr, 16, h);
	return pv_hash64(h ^ ((uint64_t)s->local.port << 16 | s->remote.port));
}

static bool same_tuple(const struct pv_sock *a, const struct pv_sock *b)
{
	return a->proto == b->proto && a->family == b->family && a->local.port == b->local.port &&
	       a->remote.port == b->remote.port && memcmp(a->local.addr, b->local.addr, 16) == 0 &&
	       memcmp(a->remote.addr, b->remote.addr, 16) == 0;
}

/* Whether a record takes part in add_missing's check of addresses. */
static bool tuple_checked(const struct pv_rec *r, uint32_t states)
{
	return r->state != PV_TCP_LISTEN && ((states >> r->state) & 1);
}

void pv_socklist_add_missing(struct pv_socklist *l, size_t from, uint32_t states,
			     const struct pv_socklist *extra)
{
	if (extra->n == 0)
		return;
	size_t n = 0, cap = 64;
	for (size_t i = from; i < l->n; i++)
		n += tuple_checked(&l->v[i], states);
	while (cap < n * 2)
		cap *= 2;
	uint32_t *slot = xcalloc(cap, sizeof(*slot)); /* index + 1; 0: empty */
	struct pv_sock s, e;
	for (size_t i = from; i < l->n; i++) {
		if (!tuple_checked(&l->v[i], states))
			continue;
		pv_socklist_get(l, i, &s);
		size_t j = (size_t)tuple_hash(&s) & (cap - 1);
		while (slot[j])
			j = (j + 1) & (cap - 1);
		slot[j] = (uint32_t)(i + 1);
	}
	size_t end = l->n;
	for (size_t k = 0; k < extra->n; k++) {
		pv_socklist_get(extra, k, &e);
		bool seen = false;
		if (e.state != PV_TCP_LISTEN) {
			size_t j = (size_t)tuple_hash(&e) & (cap - 1);
			for (; slot[j] && !seen; j = (j + 1) & (cap - 1)) {
				if (slot[j] - 1 >= end)
					continue;
				pv_socklist_get(l, slot[j] - 1, &s);
				seen = same_tuple(&s, &e);
			}
		}
		if (!seen)
			pv_socklist_add(l, &e);
	}
	free(slot);
}

static void move_rec(struct pv_socklist *l, size_t to, size_t from)
{
	l->v[to] = l->v[from];
	if (l->more)
		l->more[to] = l->more[from];
}

void pv_socklist_filter(struct pv_socklist *l, bool (*keep)(const struct pv_sock *, const void *),
			const void *arg)
{
	size_t j = 0;
	struct pv_sock s;
	for (size_t i = 0; i < l->n; i++) {
		pv_socklist_get(l, i, &s);
		if (keep(&s, arg))
			move_rec(l, j++, i);
	}
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

/* The same order as pv_sock_cmp up to the ports, on records. */
static int rec_tuple_cmp(const struct pv_socklist *l, const struct pv_rec *a,
			 const struct pv_rec *b)
{
	int c;
	if ((c = cmp_u(a->proto, b->proto)))
		return c;
	if ((c = cmp_u(a->family, b->family)))
		return c;
	if (a->family == AF_INET6) {
		const struct pv_v6 *x = &l->v6[a->laddr], *y = &l->v6[b->laddr];
		if ((c = memcmp(x->local, y->local, 16)))
			return c;
		if ((c = cmp_u(a->lport, b->lport)))
			return c;
		if ((c = memcmp(x->remote, y->remote, 16)))
			return c;
		return cmp_u(a->rport, b->rport);
	}
	/* network order: compare as big-endian numbers */
	if ((c = cmp_u(ntohl(a->laddr), ntohl(b->laddr))))
		return c;
	if ((c = cmp_u(a->lport, b->lport)))
		return c;
	if ((c = cmp_u(ntohl(a->raddr), ntohl(b->raddr))))
		return c;
	return cmp_u(a->rport, b->rport);
}

int pv_rec_cmp(const struct pv_socklist *l, const struct pv_rec *a, const struct pv_rec *b)
{
	int c = rec_tuple_cmp(l, a, b);
	if (c)
		return c;
	if ((c = cmp_u(a->state, b->state)))
		return c;
	return (a->cookie > b->cookie) - (a->cookie < b->cookie);
}

static void swap_rec(struct pv_socklist *l, size_t i, size_t j)
{
	struct pv_rec t = l->v[i];
	l->v[i] = l->v[j];
	l->v[j] = t;
	if (l->more) {
		struct pv_rec_more m = l->more[i];
		l->more[i] = l->more[j];
		l->more[j] = m;
	}
}

struct sorter {
	struct pv_socklist *l;
	pv_rec_cmp_fn cmp;
	const void *ctx;
};

/*
 * The display order between two IPv4 records as two 64-bit keys (protocol,
 * local address and port; foreign address, port and state), then the
 * cookie; anything else goes the long way.
 */
static inline int fast_cmp(const struct pv_socklist *l, const struct pv_rec *a,
			   const struct pv_rec *b)
{
	if (a->family != AF_INET || b->family != AF_INET)
		return pv_rec_cmp(l, a, b);
	uint64_t x = (uint64_t)a->proto << 56 | (uint64_t)ntohl(a->laddr) << 16 | a->lport;
	uint64_t y = (uint64_t)b->proto << 56 | (uint64_t)ntohl(b->laddr) << 16 | b->lport;
	if (x != y)
		return x < y ? -1 : 1;
	x = (uint64_t)ntohl(a->raddr) << 24 | (uint64_t)a->rport << 8 | a->state;
	y = (uint64_t)ntohl(b->raddr) << 24 | (uint64_t)b->rport << 8 | b->state;
	if (x != y)
		return x < y ? -1 : 1;
	return (a->cookie > b->cookie) - (a->cookie < b->cookie);
}

/*
 * An introsort on [lo, hi): quicksort with the median of three as pivot,
 * recursing into the smaller side, heapsort past a depth limit (n log n
 * whatever the input), insertion sort for short ranges.  Written once per
 * comparison so that the default order's is inlined.
 */
#define DEFINE_SORT(NAME, CMP)                                                                     \
	static void NAME##_sift(const struct sorter *s, size_t lo, size_t root, size_t n)          \
	{                                                                                          \
		for (;;) {                                                                         \
			size_t child = 2 * root + 1;                                               \
			if (child >= n)                                                            \
				return;                                                            \
			if (child + 1 < n && CMP(s, lo + child, lo + child + 1) < 0)               \
				child++;                                                           \
			if (CMP(s, lo + root, lo + child) >= 0)                                    \
				return;                                                            \
			swap_rec(s->l, lo + root, lo + child);                                     \
			root = child;                                                              \
		}                                                                                  \
	}                                                                                          \
	static void NAME(const struct sorter *s, size_t lo, size_t hi, unsigned depth)             \
	{                                                                                          \
		while (hi - lo > 16) {                                                             \
			if (depth-- == 0) {                                                        \
				size_t n = hi - lo;                                                \
				for (size_t i = n / 2; i-- > 0;)                                   \
					NAME##_sift(s, lo, i, n);                                  \
				for (size_t end = n; end-- > 1;) {                                 \
					swap_rec(s->l, lo, lo + end);                              \
					NAME##_sift(s, lo, 0, end);                                \
				}                                                                  \
				return;                                                            \
			}                                                                          \
			size_t mid = lo + (hi - lo) / 2;                                           \
			if (CMP(s, mid, lo) < 0)                                                   \
				swap_rec(s->l, mid, lo);                                           \
			if (CMP(s, hi - 1, lo) < 0)                                                \
				swap_rec(s->l, hi - 1, lo);                                        \
			if (CMP(s, hi - 1, mid) < 0)                                               \
				swap_rec(s->l, hi - 1, mid);                                       \
			/* the pivot waits at lo; Hoare partition of (lo, hi) */                   \
			swap_rec(s->l, lo, mid);                                                   \
			size_t i = lo, j = hi;                                                     \
			for (;;) {                                                                 \
				do                                                                 \
					i++;                                                       \
				while (i < hi && CMP(s, i, lo) < 0);                               \
				do                                                                 \
					j--;                                                       \
				while (CMP(s, j, lo) > 0);                                         \
				if (i >= j)                                                        \
					break;                                                     \
				swap_rec(s->l, i, j);                                              \
			}                                                                          \
			swap_rec(s->l, lo, j);                                                     \
			/* [lo, j) <= pivot at j <= (j, hi) */                                     \
			if (j - lo < hi - j - 1) {                                                 \
				NAME(s, lo, j, depth);                                             \
				lo = j + 1;                                                        \
			} else {                                                                   \
				NAME(s, j + 1, hi, depth);                                         \
				hi = j;                                                            \
			}                                                                          \
		}                                                                                  \
		for (size_t i = lo + 1; i < hi; i++)                                               \
			for (size_t j = i; j > lo && CMP(s, j - 1, j) > 0; j--)                    \
				swap_rec(s->l, j - 1, j);                                          \
	}

#define CMP_WITH(s, i, j)    ((s)->cmp((s)->l, &(s)->l->v[i], &(s)->l->v[j], (s)->ctx))
#define CMP_DEFAULT(s, i, j) fast_cmp((s)->l, &(s)->l->v[i], &(s)->l->v[j])
DEFINE_SORT(sort_with, CMP_WITH)
DEFINE_SORT(sort_default, CMP_DEFAULT)

static unsigned depth_limit(size_t n)
{
	unsigned depth = 0;
	for (; n; n >>= 1)
		depth += 2;
	return depth;
}

void pv_socklist_sort_with(struct pv_socklist *l, pv_rec_cmp_fn cmp, const void *ctx)
{
	struct sorter s = {l, cmp, ctx};
	if (l->n > 1)
		sort_with(&s, 0, l->n, depth_limit(l->n));
}

void pv_socklist_sort(struct pv_socklist *l)
{
	struct sorter s = {l, NULL, NULL};
	if (l->n > 1)
		sort_default(&s, 0, l->n, depth_limit(l->n));
}

size_t pv_socklist_dedupe(struct pv_socklist *l)
{
	size_t j = 0, run = 0; /* run: where the kept records of this tuple start */
	for (size_t i = 0; i < l->n; i++) {
		if (j == 0 || rec_tuple_cmp(l, &l->v[run], &l->v[i]) != 0)
			run = j;
		bool repeat = false;
		for (size_t k = run; k < j && !repeat && l->v[i].cookie; k++)
			repeat = l->v[k].cookie == l->v[i].cookie;
		if (!repeat)
			move_rec(l, j++, i);
	}
	size_t dropped = l->n - j;
	l->n = j;
	return dropped;
}
