#include "portview/sock.h"
#include "portview/buf.h"

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
	pv_big_free(l->v);
	free(l->more);
	pv_big_free(l->info);
	pv_big_free(l->info_at);
	free(l->v6);
	pv_socklist_init(l);
}

/*
 * Records whose room is made present at a time (pv_populate), in each
 * array: a large walk's lists fault a page at a time otherwise.
 */
#define POPULATE_AHEAD 512u

static void populate_ahead(struct pv_socklist *l)
{
	size_t n = l->cap - l->n < POPULATE_AHEAD ? l->cap - l->n : POPULATE_AHEAD;
	pv_populate(&l->v[l->n], n * sizeof(*l->v));
	if (l->keep_more)
		pv_populate(&l->more[l->n], n * sizeof(*l->more));
	if (l->keep_info) {
		pv_populate(&l->info_at[l->n], n * sizeof(*l->info_at));
		size_t k = l->capinfo - l->ninfo < n ? l->capinfo - l->ninfo : n;
		pv_populate(&l->info[l->ninfo], k * sizeof(*l->info));
	}
}

/* Room for the tcp_info of records up to cap, beside those of records dropped before. */
static void reserve_info(struct pv_socklist *l, size_t cap)
{
	size_t need = l->ninfo + (cap > l->n ? cap - l->n : 0);
	if (!l->keep_info || need <= l->capinfo)
		return;
	l->capinfo = need;
	l->info = pv_big_realloc(l->info, need, sizeof(*l->info), true);
}

void pv_socklist_reserve(struct pv_socklist *l, size_t cap)
{
	reserve_info(l, cap);
	if (cap <= l->cap)
		return;
	/* realloc of a large block moves pages (mremap), it does not copy */
	l->cap = cap;
	/*
	 * big_pages from 2 MB of records on: a list of 10,000 on a 2 MB page
	 * would hold 1.7 MB more than it uses (-ano's peak at 10k went over
	 * ss -tuanp's).
	 */
	bool big = l->big_pages && cap * sizeof(*l->v) >= ((size_t)2 << 20);
	l->v = pv_big_realloc(l->v, cap, sizeof(*l->v), l->keep_info || big);
	if (l->keep_more)
		l->more = xreallocarray(l->more, cap, sizeof(*l->more));
	if (l->keep_info)
		l->info_at = pv_big_realloc(l->info_at, cap, sizeof(*l->info_at), false);
}

void pv_socklist_keep_info(struct pv_socklist *l)
{
	if (l->keep_info)
		return;
	l->keep_info = true;
	l->ninfo = l->capinfo = l->n;
	l->info = pv_big_realloc(NULL, l->n, sizeof(*l->info), true);
	memset(l->info, 0, l->n * sizeof(*l->info));
	l->info_at = pv_big_realloc(NULL, l->cap, sizeof(*l->info_at), false);
	for (size_t i = 0; i < l->n; i++)
		l->info_at[i] = (uint32_t)i;
}

void pv_socklist_copy(struct pv_socklist *to, const struct pv_socklist *from)
{
	to->keep_more = from->keep_more;
	to->keep_info = from->keep_info;
	to->big_pages = from->big_pages;
	to->n = to->n6 = to->ninfo = 0; /* what to held is not kept */
	pv_socklist_reserve(to, from->n ? from->n : 1);
	reserve_info(to, from->ninfo); /* the tcp_info of records from dropped too */
	if (from->n6 > to->cap6) {
		to->v6 = xreallocarray(to->v6, from->n6, sizeof(*to->v6));
		to->cap6 = from->n6;
	}
	to->n = from->n;
	to->n6 = from->n6;
	to->ninfo = from->keep_info ? from->ninfo : 0;
	to->sorted = from->sorted;
	if (from->n) { /* an empty list may have no arrays at all */
		memcpy(to->v, from->v, from->n * sizeof(*from->v));
		if (from->keep_more)
			memcpy(to->more, from->more, from->n * sizeof(*from->more));
		if (from->keep_info) {
			memcpy(to->info_at, from->info_at, from->n * sizeof(*from->info_at));
			memcpy(to->info, from->info, from->ninfo * sizeof(*from->info));
		}
	}
	if (from->n6)
		memcpy(to->v6, from->v6, from->n6 * sizeof(*from->v6));
}

bool pv_socklist_add(struct pv_socklist *l, const struct pv_sock *s)
{
	if (l->n == l->cap)
		pv_socklist_reserve(l, l->cap ? l->cap * 2 : 256);
	if (l->n % POPULATE_AHEAD == 0)
		populate_ahead(l);
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
	if (s->v6only >= 0)
		r->flags |= PV_REC_V6ONLY_KNOWN | (s->v6only ? PV_REC_V6ONLY : 0);
	if (s->family == AF_INET6 || s->ifindex) {
		if (l->n6 == l->cap6) {
			l->cap6 = l->cap6 ? l->cap6 * 2 : 64;
			l->v6 = xreallocarray(l->v6, l->cap6, sizeof(*l->v6));
		}
		struct pv_v6 *a = &l->v6[l->n6];
		memcpy(a->local, s->local.addr, 16);
		memcpy(a->remote, s->remote.addr, 16);
		a->ifindex = s->ifindex;
		r->laddr = (uint32_t)l->n6++;
		if (s->family == AF_INET)
			r->flags |= PV_REC_SIDE;
	} else {
		memcpy(&r->laddr, s->local.addr, 4);
		memcpy(&r->raddr, s->remote.addr, 4);
	}
	if (l->keep_more)
		l->more[l->n] = (struct pv_rec_more){.rqueue = s->rqueue,
						     .wqueue = s->wqueue,
						     .expires = s->expires,
						     .timer = s->timer,
						     .retrans = s->retrans,
						     .probes = s->probes,
						     .netns = s->netns,
						     .cgroup = s->cgroup};
	if (l->keep_info) {
		if (l->ninfo == l->capinfo)
			reserve_info(l, l->cap); /* records dropped before left theirs */
		if (s->info)
			l->info[l->ninfo] = *s->info;
		else
			memset(&l->info[l->ninfo], 0, sizeof(l->info[l->ninfo]));
		l->info_at[l->n] = (uint32_t)l->ninfo++;
	}
	l->n++;
	return true;
}

/* Records ahead whose tcp_info pv_socklist_get asks of memory (some 100 ns away each). */
#define INFO_AHEAD 8

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
	out->v6only = !(r->flags & PV_REC_V6ONLY_KNOWN) ? -1 : (r->flags & PV_REC_V6ONLY) ? 1 : 0;
	if (r->family == AF_INET6 || (r->flags & PV_REC_SIDE)) {
		const struct pv_v6 *a = &l->v6[r->laddr];
		size_t len = r->family == AF_INET6 ? 16 : 4;
		memcpy(out->local.addr, a->local, len);
		memcpy(out->remote.addr, a->remote, len);
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
		out->timer = m->timer;
		out->retrans = m->retrans;
		out->probes = m->probes;
		out->netns = m->netns;
		out->cgroup = m->cgroup;
	}
	if (!l->info)
		return;
	/*
	 * Records in display order are read one after another (the table's
	 * passes), their tcp_info in the order the walk found them: the one
	 * a few records on is asked of memory now.
	 */
	if (i + INFO_AHEAD < l->n) {
		const char *ahead = (const char *)&l->info[l->info_at[i + INFO_AHEAD]];
		__builtin_prefetch(ahead);
		__builtin_prefetch(ahead + sizeof(struct pv_tcp_info) - 1);
	}
	const struct pv_tcp_info *info = &l->info[l->info_at[i]];
	if (info->have)
		out->info = info;
}

struct pv_socklist_mark pv_socklist_mark(const struct pv_socklist *l)
{
	return (struct pv_socklist_mark){l->n, l->n6, l->ninfo};
}

void pv_socklist_rollback(struct pv_socklist *l, struct pv_socklist_mark m)
{
	if (m.n < l->n)
		l->n = m.n;
	if (l->sorted > l->n)
		l->sorted = l->n;
	if (m.n6 < l->n6)
		l->n6 = m.n6;
	if (m.ninfo < l->ninfo)
		l->ninfo = m.ninfo;
}

void pv_socklist_keep_states(struct pv_socklist *l, size_t from, uint32_t states)
{
	size_t j = from, sorted = l->sorted;
	for (size_t i = from; i < l->n; i++) {
		if (i == l->sorted)
			sorted = j; /* the records kept before it were in order */
		if ((states >> l->v[i].state) & 1)
			pv_socklist_move(l, j++, i);
	}
	if (l->sorted >= l->n)
		sorted = j;
	l->sorted = sorted;
	l->n = j;
}

void pv_socklist_filter(struct pv_socklist *l, bool (*keep)(const struct pv_sock *, const void *),
			const void *arg)
{
	size_t j = 0;
	struct pv_sock s;
	for (size_t i = 0; i < l->n; i++) {
		pv_socklist_get(l, i, &s);
		if (keep(&s, arg))
			pv_socklist_move(l, j++, i);
	}
	/* what was in order still is; the rest is not known */
	l->sorted = l->sorted == l->n ? j : 0;
	l->n = j;
}

bool pv_addr_is_any6(const uint8_t addr[16])
{
	static const uint8_t any[16];
	return memcmp(addr, any, sizeof(any)) == 0;
}

bool pv_sock_is_dual_stack(const struct pv_sock *s)
{
	return s->family == AF_INET6 && s->v6only == 0 && pv_addr_is_any6(s->local.addr);
}

bool pv_addr_is_v4mapped(const uint8_t addr[16])
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	return memcmp(addr, prefix, sizeof(prefix)) == 0;
}
