/*
 * The order of rows.  One comparison of endpoints serves the display
 * order and the local and foreign --sort keys; the sort is an introsort
 * written once per comparison, so that the display order's is inlined.
 */
#include "i18n.h"
#include "portview/sort.h"
#include "portview/parallel.h"
#include "portview/buf.h"
#include "portview/state.h"

#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static const struct {
	const char *name;
	enum pv_sort_key key;
} sort_keys[] = {
    {"proto", PV_SORT_PROTO}, {"local", PV_SORT_LOCAL}, {"foreign", PV_SORT_FOREIGN},
    {"state", PV_SORT_STATE}, {"pid", PV_SORT_PID},	{"program", PV_SORT_PROGRAM},
    {"port", PV_SORT_PORT},   {"rate", PV_SORT_RATE},
};

bool pv_parse_sort_keys(const char *list, struct pv_order *order, struct pv_why *why)
{
	static const char valid[] = "proto, local, foreign, state, pid, program, port, rate; a "
				    "comma list; a leading - reverses a key";
	struct pv_split it = pv_split_start(list, ',');
	const char *item;
	size_t n;
	struct pv_order o = {.n = 0};
	while (pv_split_next(&it, &item, &n)) {
		bool reverse = n && item[0] == '-';
		size_t k = ARRAY_SIZE(sort_keys);
		for (size_t i = 0; i < ARRAY_SIZE(sort_keys); i++)
			if (strlen(sort_keys[i].name) == n - reverse &&
			    strncasecmp(item + reverse, sort_keys[i].name, n - reverse) == 0)
				k = i;
		const char *bad = k == ARRAY_SIZE(sort_keys)
				      ? (n ? N_("unknown sort key") : N_("empty sort key"))
				  : o.n == PV_SORT_KEYS ? N_("too many sort keys (at most 4)")
							: NULL;
		if (bad) {
			*why = (struct pv_why){
			    .why = bad,
			    .item = item,
			    .len = n,
			    .valid = k == ARRAY_SIZE(sort_keys) ? valid : NULL,
			    .suggest = pv_nearest(item + reverse, n - reverse, sort_keys,
						  ARRAY_SIZE(sort_keys), sizeof(sort_keys[0]))};
			return false;
		}
		o.keys[o.n] = sort_keys[k].key;
		o.reverse[o.n++] = reverse;
	}
	*order = o;
	return true;
}

bool pv_order_needs_owners(const struct pv_order *order)
{
	for (size_t i = 0; i < order->n; i++)
		if (order->keys[i] == PV_SORT_PID || order->keys[i] == PV_SORT_PROGRAM)
			return true;
	return false;
}

bool pv_order_needs_rates(const struct pv_order *order)
{
	for (size_t i = 0; i < order->n; i++)
		if (order->keys[i] == PV_SORT_RATE)
			return true;
	return false;
}

static inline int cmp_u(uint64_t a, uint64_t b)
{
	return (a > b) - (a < b);
}

/*
 * Family, then address, then port of one side of two records.  IPv4
 * addresses are stored in network order: compared as numbers.
 */
static inline int endpoint_cmp(const struct pv_socklist *l, const struct pv_rec *a,
			       const struct pv_rec *b, bool local)
{
	int c;
	if ((c = cmp_u(a->family, b->family)))
		return c;
	if (a->family == AF_INET6) {
		const struct pv_v6 *x = &l->v6[a->laddr], *y = &l->v6[b->laddr];
		c = local ? memcmp(x->local, y->local, 16) : memcmp(x->remote, y->remote, 16);
		if (c)
			return c;
	} else if ((c = cmp_u(ntohl(pv_rec_addr4(l, a, local)),
			      ntohl(pv_rec_addr4(l, b, local))))) {
		return c;
	}
	return local ? cmp_u(a->lport, b->lport) : cmp_u(a->rport, b->rport);
}

/*
 * The display order up to the ports.  Two IPv4 records, most of a busy
 * host, compare as two 64-bit keys.
 */
static inline int tuple_cmp(const struct pv_socklist *l, const struct pv_rec *a,
			    const struct pv_rec *b)
{
	int c;
	if (a->family == AF_INET && b->family == AF_INET &&
	    !((a->flags | b->flags) & PV_REC_SIDE)) {
		uint64_t x = (uint64_t)a->proto << 56 | (uint64_t)ntohl(a->laddr) << 16 | a->lport;
		uint64_t y = (uint64_t)b->proto << 56 | (uint64_t)ntohl(b->laddr) << 16 | b->lport;
		if (x != y)
			return x < y ? -1 : 1;
		return cmp_u((uint64_t)ntohl(a->raddr) << 16 | a->rport,
			     (uint64_t)ntohl(b->raddr) << 16 | b->rport);
	}
	/* TCP (6) sorts before UDP (17) by number. */
	if ((c = cmp_u(a->proto, b->proto)))
		return c;
	if ((c = endpoint_cmp(l, a, b, true)))
		return c;
	return endpoint_cmp(l, a, b, false);
}

static inline int display_cmp(const struct pv_socklist *l, const struct pv_rec *a,
			      const struct pv_rec *b)
{
	int c = tuple_cmp(l, a, b);
	if (c)
		return c;
	/* the same addresses on two devices (SO_BINDTODEVICE) */
	if ((c = cmp_u(pv_rec_ifindex(l, a), pv_rec_ifindex(l, b))))
		return c;
	if ((c = cmp_u(a->state, b->state)))
		return c;
	return cmp_u(a->cookie, b->cookie);
}

struct sorter {
	struct pv_socklist *l;
	const struct pv_order *order;
	const struct pv_owner_table *owners;
	uint64_t *rate; /* per record, moved with them; may be NULL */
};

static int by_key(const struct sorter *s, size_t i, size_t j);

static inline void swap_rows(const struct sorter *s, size_t i, size_t j)
{
	pv_socklist_swap(s->l, i, j);
	if (s->rate) {
		uint64_t t = s->rate[i];
		s->rate[i] = s->rate[j];
		s->rate[j] = t;
	}
}

#define DEFINE_SORT(NAME, CMP, SWAP)                                                               \
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
			SWAP(s, lo + root, lo + child);                                            \
			root = child;                                                              \
		}                                                                                  \
	}                                                                                          \
	static inline size_t NAME##_med3(const struct sorter *s, size_t a, size_t b, size_t c)     \
	{                                                                                          \
		return CMP(s, a, b) < 0 ? (CMP(s, b, c) < 0   ? b                                  \
					   : CMP(s, a, c) < 0 ? c                                  \
							      : a)                                 \
					: (CMP(s, b, c) > 0   ? b                                  \
					   : CMP(s, a, c) > 0 ? c                                  \
							      : a);                                \
	}                                                                                          \
	/* [lo, hi), more than 16 rows, around a pivot: [lo, j) <= pivot at j <= (j, hi) */        \
	static inline size_t NAME##_split(const struct sorter *s, size_t lo, size_t hi)            \
	{                                                                                          \
		size_t mid = lo + (hi - lo) / 2;                                                   \
		if (hi - lo > 1024) {                                                              \
			/* the median of three medians: a sorted run at the start skews one */     \
			size_t e = (hi - lo) / 8;                                                  \
			size_t m =                                                                 \
			    NAME##_med3(s, NAME##_med3(s, lo, lo + e, lo + 2 * e),                 \
					NAME##_med3(s, mid - e, mid, mid + e),                     \
					NAME##_med3(s, hi - 1 - 2 * e, hi - 1 - e, hi - 1));       \
			SWAP(s, lo, m);                                                            \
		} else {                                                                           \
			if (CMP(s, mid, lo) < 0)                                                   \
				SWAP(s, mid, lo);                                                  \
			if (CMP(s, hi - 1, lo) < 0)                                                \
				SWAP(s, hi - 1, lo);                                               \
			if (CMP(s, hi - 1, mid) < 0)                                               \
				SWAP(s, hi - 1, mid);                                              \
			SWAP(s, lo, mid);                                                          \
		}                                                                                  \
		/* the pivot waits at lo; Hoare partition of (lo, hi) */                           \
		size_t i = lo, j = hi;                                                             \
		for (;;) {                                                                         \
			do                                                                         \
				i++;                                                               \
			while (i < hi && CMP(s, i, lo) < 0);                                       \
			do                                                                         \
				j--;                                                               \
			while (CMP(s, j, lo) > 0);                                                 \
			if (i >= j)                                                                \
				break;                                                             \
			SWAP(s, i, j);                                                             \
		}                                                                                  \
		SWAP(s, lo, j);                                                                    \
		return j;                                                                          \
	}                                                                                          \
	static void NAME(const struct sorter *s, size_t lo, size_t hi, unsigned depth)             \
	{                                                                                          \
		while (hi - lo > 16) {                                                             \
			if (depth-- == 0) {                                                        \
				size_t n = hi - lo;                                                \
				for (size_t i = n / 2; i-- > 0;)                                   \
					NAME##_sift(s, lo, i, n);                                  \
				for (size_t end = n; end-- > 1;) {                                 \
					SWAP(s, lo, lo + end);                                     \
					NAME##_sift(s, lo, 0, end);                                \
				}                                                                  \
				return;                                                            \
			}                                                                          \
			size_t j = NAME##_split(s, lo, hi);                                        \
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
				SWAP(s, j - 1, j);                                                 \
	}

#define CMP_KEY(s, i, j)     by_key((s), (i), (j))
#define CMP_DISPLAY(s, i, j) display_cmp((s)->l, &(s)->l->v[i], &(s)->l->v[j])
/* The display order never has a rate to move along: its swaps stay bare. */
#define SWAP_RECS(s, i, j) pv_socklist_swap((s)->l, (i), (j))
DEFINE_SORT(sort_key, CMP_KEY, swap_rows)
DEFINE_SORT(sort_display, CMP_DISPLAY, SWAP_RECS)

static unsigned depth_limit(size_t n)
{
	unsigned depth = 0;
	for (; n; n >>= 1)
		depth += 2;
	return depth;
}

void pv_socklist_sort(struct pv_socklist *l)
{
	struct sorter s = {.l = l};
	if (l->n > 1)
		sort_display(&s, 0, l->n, depth_limit(l->n));
	l->sorted = l->n;
}

/* ---- a list sorted while it grows (a walk's parse) ---- */

/*
 * Records sorted at a time, then merged into the run before them: 4096
 * records are some 0.2 ms to sort and 128 KiB of room for the merge; the
 * merges move about n * n / (2 * GROW_CHUNK) records over a walk of n.
 */
#define GROW_CHUNK 4096
/* Records a step of a merge moves, between two looks for the next datagram. */
#define GROW_MOVES 8192
/* Records not yet sorted past which the parse gives up: it has no time to sort. */
#define GROW_BEHIND (4 * GROW_CHUNK)

void pv_sort_grow_start(struct pv_sort_grow *g, struct pv_socklist *l)
{
	*g = (struct pv_sort_grow){0};
	if (l->n == 0 && !l->keep_more && !l->keep_info)
		g->l = l;
}

/* Records [sorted, end) sorted in place and copied out, to be merged into [0, sorted). */
static void take_chunk(struct pv_sort_grow *g, size_t end)
{
	struct pv_socklist *l = g->l;
	struct sorter s = {.l = l};
	size_t n = end - g->sorted;
	if (n > 1)
		sort_display(&s, g->sorted, end, depth_limit(n));
	if (!g->buf)
		g->buf = xreallocarray(NULL, GROW_CHUNK, sizeof(*g->buf));
	memcpy(g->buf, &l->v[g->sorted], n * sizeof(*g->buf));
	g->nbuf = n;
	g->i = g->sorted;
	g->k = g->end = end;
}

/* Up to moves records of the merge placed, from the end: ties to the run before. */
static void merge_some(struct pv_sort_grow *g, size_t moves)
{
	struct pv_socklist *l = g->l;
	for (; g->nbuf > 0 && moves > 0; moves--) {
		if (g->i > 0 && display_cmp(l, &l->v[g->i - 1], &g->buf[g->nbuf - 1]) > 0)
			l->v[--g->k] = l->v[--g->i];
		else
			l->v[--g->k] = g->buf[--g->nbuf];
	}
	if (g->nbuf == 0)
		g->sorted = g->end;
}

bool pv_sort_grow_step(struct pv_sort_grow *g)
{
	if (!g->l)
		return false;
	if (!g->nbuf && g->l->n - g->sorted > GROW_BEHIND) {
		/*
		 * Too far behind to catch up (a relayed walk's helper, joining
		 * late): stop here, and leave the list to the sort after the
		 * walk, which a sorted run at its start would only hinder (the
		 * run's first record, a pivot candidate, is its smallest).
		 */
		g->l = NULL;
		return false;
	}
	if (g->nbuf) {
		merge_some(g, GROW_MOVES);
		return true;
	}
	if (g->l->n - g->sorted < GROW_CHUNK)
		return false;
	take_chunk(g, g->sorted + GROW_CHUNK);
	return true;
}

void pv_sort_grow_finish(struct pv_sort_grow *g)
{
	if (!g->l)
		return; /* not sorting, or given up: the list's sorted stays 0 */
	struct pv_socklist *l = g->l;
	merge_some(g, SIZE_MAX);
	/* Behind by much (a parse that had no time): the usual sort, on two threads. */
	if (l->n - g->sorted > 2 * GROW_CHUNK) {
		l->sorted = 0;
		return;
	}
	while (l->n > g->sorted) {
		take_chunk(g, l->n - g->sorted > GROW_CHUNK ? g->sorted + GROW_CHUNK : l->n);
		merge_some(g, SIZE_MAX);
	}
	l->sorted = l->n;
}

void pv_sort_grow_free(struct pv_sort_grow *g)
{
	free(g->buf);
	*g = (struct pv_sort_grow){0};
}

/* A list's two sides of a pivot, each sorted by the next worker free. */
struct sides {
	const struct sorter *s;
	size_t lo[2], hi[2];
	unsigned depth;
	unsigned next; /* the next side to take (atomic) */
};

static void sort_side(void *arg, unsigned w)
{
	(void)w;
	struct sides *d = arg;
	for (unsigned k; (k = __atomic_fetch_add(&d->next, 1, __ATOMIC_RELAXED)) < 2;)
		sort_display(d->s, d->lo[k], d->hi[k], d->depth);
}

/* The most records after a sorted run that are sorted and merged in (as a grown list's chunk). */
#define TAIL_MERGE_MAX GROW_CHUNK

void pv_socklist_sort_on(struct pv_socklist *l, unsigned threads)
{
	size_t run = l->sorted < l->n ? l->sorted : l->n, tail = l->n - run;
	if (tail == 0)
		return; /* in order already (a walk sorted as it went: pv_sort_grow) */
	if (run && tail <= TAIL_MERGE_MAX && !l->more && !l->info) {
		/* a walk sorted as it went, then a few more records: theirs merged in */
		struct pv_sort_grow g = {.l = l, .sorted = run};
		take_chunk(&g, l->n);
		merge_some(&g, SIZE_MAX);
		pv_sort_grow_free(&g);
		l->sorted = l->n;
		return;
	}
	l->sorted = l->n;
	if (threads < 2 || l->n < PV_SORT_PARALLEL_FROM) {
		pv_socklist_sort(l);
		return;
	}
	/* one partition here, then its two sides side by side: no merge after */
	struct sorter s = {.l = l};
	size_t j = sort_display_split(&s, 0, l->n);
	struct sides d = {&s, {0, j + 1}, {j, l->n}, depth_limit(l->n) - 1, 0};
	pv_parallel_run(2, sort_side, &d);
}

size_t pv_socklist_dedupe(struct pv_socklist *l)
{
	size_t j = 0, run = 0; /* run: where the kept records of this tuple start */
	for (size_t i = 0; i < l->n; i++) {
		if (j == 0 || tuple_cmp(l, &l->v[run], &l->v[i]) != 0)
			run = j;
		bool repeat = false;
		for (size_t k = run; k < j && !repeat && l->v[i].cookie; k++)
			repeat = l->v[k].cookie == l->v[i].cookie;
		if (!repeat)
			pv_socklist_move(l, j++, i);
	}
	size_t dropped = l->n - j;
	l->sorted = l->sorted == l->n ? j : 0;
	l->n = j;
	return dropped;
}

/* Room in l for n records in all, in each array it keeps. */
/* The IPv6 side table of from appended to into's; from's records point into it then. */
static void take_v6(struct pv_socklist *into, struct pv_socklist *from)
{
	if (!from->n6)
		return;
	if (into->n6 + from->n6 > into->cap6) {
		into->cap6 = into->n6 + from->n6;
		into->v6 = xreallocarray(into->v6, into->cap6, sizeof(*into->v6));
	}
	memcpy(&into->v6[into->n6], from->v6, from->n6 * sizeof(*from->v6));
	for (size_t i = 0; i < from->n; i++)
		if (from->v[i].family == AF_INET6 || (from->v[i].flags & PV_REC_SIDE))
			from->v[i].laddr += (uint32_t)into->n6;
	into->n6 += from->n6;
}

/* Record i of from placed at k of into. */
static void put_from(struct pv_socklist *into, size_t k, const struct pv_socklist *from, size_t i)
{
	into->v[k] = from->v[i];
	if (into->more)
		into->more[k] = from->more[i];
	if (into->info) {
		into->info[into->ninfo] = from->info[from->info_at[i]];
		into->info_at[k] = (uint32_t)into->ninfo++;
	}
}

bool pv_socklist_in_order(const struct pv_socklist *l, size_t i)
{
	return (i == 0 || display_cmp(l, &l->v[i - 1], &l->v[i]) <= 0) &&
	       (i + 1 >= l->n || display_cmp(l, &l->v[i], &l->v[i + 1]) <= 0);
}

void pv_socklist_merge(struct pv_socklist *into, struct pv_socklist *from)
{
	if (!into->n) {
		/* nothing to merge with: take from's arrays as they are */
		struct pv_socklist t = *into;
		*into = *from;
		*from = t;
		pv_socklist_free(from);
		return;
	}
	size_t m = into->n, j = from->n, k = into->n + from->n;
	bool both = into->sorted == m && from->sorted == j;
	pv_socklist_reserve(into, k);
	take_v6(into, from);
	/* From the end: the larger of the two last records goes last; ties to into's, first. */
	size_t i = m;
	while (j > 0) {
		if (i > 0 && display_cmp(into, &into->v[i - 1], &from->v[j - 1]) > 0)
			pv_socklist_move(into, --k, --i);
		else
			put_from(into, --k, from, --j);
	}
	into->n = m + from->n;
	into->sorted = both ? into->n : 0;
	pv_socklist_free(from);
}

/* The first owner of a record, or NULL. */
static const struct pv_owner *first_owner(const struct pv_rec *r, const struct pv_owner_table *t)
{
	uint32_t first, count;
	if (!t)
		return NULL;
	pv_owners_lookup(t, r->inode, &first, &count);
	return count ? &t->owners[first] : NULL;
}

static int cmp_program(const struct pv_owner *a, const struct pv_owner *b,
		       const struct pv_owner_table *t)
{
	if (!a || !b)
		return cmp_u(!a, !b); /* unknown owners last */
	const struct pv_process *pa = &t->procs[a->proc];
	const struct pv_process *pb = &t->procs[b->proc];
	size_t n = pa->comm_len < pb->comm_len ? pa->comm_len : pb->comm_len;
	int c = memcmp(pa->comm, pb->comm, n);
	return c ? c : cmp_u(pa->comm_len, pb->comm_len);
}

/* One key's comparison, ascending (the rate's: the fastest first); records i and j. */
static int key_cmp(const struct sorter *s, enum pv_sort_key key, size_t i, size_t j)
{
	const struct pv_rec *a = &s->l->v[i], *b = &s->l->v[j];
	switch (key) {
	case PV_SORT_PROTO:
		return cmp_u(a->proto, b->proto);
	case PV_SORT_LOCAL:
		return endpoint_cmp(s->l, a, b, true);
	case PV_SORT_FOREIGN:
		return endpoint_cmp(s->l, a, b, false);
	case PV_SORT_STATE:
		return strcmp(pv_state_display(a->proto, a->state),
			      pv_state_display(b->proto, b->state));
	case PV_SORT_PID: {
		const struct pv_owner *x = first_owner(a, s->owners);
		const struct pv_owner *y = first_owner(b, s->owners);
		return cmp_u(x ? (uint64_t)x->pid : UINT64_MAX, y ? (uint64_t)y->pid : UINT64_MAX);
	}
	case PV_SORT_PROGRAM:
		return cmp_program(first_owner(a, s->owners), first_owner(b, s->owners), s->owners);
	case PV_SORT_PORT:
		return cmp_u(a->lport, b->lport);
	case PV_SORT_RATE:
		return s->rate ? cmp_u(s->rate[j], s->rate[i]) : 0;
	case PV_SORT_DEFAULT:
		break;
	}
	return 0;
}

static int by_key(const struct sorter *s, size_t i, size_t j)
{
	const struct pv_order *o = s->order;
	for (size_t k = 0; k < o->n; k++) {
		int c = key_cmp(s, o->keys[k], i, j);
		if (c)
			return o->reverse[k] ? -c : c;
	}
	int c = display_cmp(s->l, &s->l->v[i], &s->l->v[j]);
	return o->n && o->reverse[o->n - 1] ? -c : c;
}

void pv_socklist_sort_by(struct pv_socklist *l, const struct pv_order *order,
			 const struct pv_owner_table *owners, uint64_t *rate)
{
	l->sorted = 0; /* a user's order, not the display order */
	if (order->n == 0) {
		/* the display order: by key, as no key breaks a tie the same way */
		static const struct pv_order none = {.n = 0};
		struct sorter s = {l, &none, owners, rate};
		if (l->n > 1)
			sort_key(&s, 0, l->n, depth_limit(l->n));
		return;
	}
	struct sorter s = {l, order, owners, rate};
	if (l->n > 1)
		sort_key(&s, 0, l->n, depth_limit(l->n));
}
