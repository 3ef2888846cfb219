/*
 * The lifecycle program's records made into rows of a view, so that the
 * event lines and NDJSON of the BPF source are drawn by the same code as
 * the dumps' (render_watch.c, render_json.c).
 */
#include "portview/lifecycle.h"
#include "portview/buf.h"
#include "portview/state.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pv_lc_batch_init(struct pv_lc_batch *b)
{
	memset(b, 0, sizeof(*b));
	pv_socklist_init(&b->l);
}

static void drop_rows(struct pv_lc_batch *b)
{
	if (b->has_view)
		pv_view_free(&b->view);
	b->has_view = false;
	pv_socklist_free(&b->l);
	pv_socklist_init(&b->l);
	b->part.nfds = b->part.nprocs = 0;
}

void pv_lc_batch_free(struct pv_lc_batch *b)
{
	drop_rows(b);
	pv_socklist_free(&b->l);
	free(b->ev);
	free(b->part.fds);
	free(b->part.procs);
	free(b->ns);
	free(b->labels);
	free(b->lst);
	memset(b, 0, sizeof(*b));
}

uint32_t *pv_lc_listeners(const struct pv_socklist *l, size_t *n)
{
	uint32_t *out = xreallocarray(NULL, l->n ? l->n : 1, sizeof(*out));
	*n = 0;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].proto == IPPROTO_TCP && l->v[i].state == PV_TCP_LISTEN)
			out[(*n)++] = (uint32_t)i;
	return out;
}

/*
 * The view's namespaces: the places, then those met since.  The labels
 * live in their own array, so the pointers into it are made anew each time.
 */
static void set_places(struct pv_lc_batch *b, const struct pv_lc_ctx *c)
{
	size_t n = c->nplaces + b->nlabels;
	if (n > b->capns) {
		b->capns = n * 2;
		b->ns = xreallocarray(b->ns, b->capns, sizeof(*b->ns));
	}
	memcpy(b->ns, c->places, c->nplaces * sizeof(*b->ns));
	for (size_t i = 0; i < b->nlabels; i++) {
		struct pv_view_netns *v = &b->ns[c->nplaces + i];
		unsigned long long ino = 0;
		sscanf(b->labels[i], "net:[%llu]", &ino);
		*v = (struct pv_view_netns){
		    .label = b->labels[i], .ino = ino, .ephemeral = c->places[0].ephemeral};
	}
	b->nns = n;
}

/* The index of namespace ino among the view's, or -1: not followed. */
static long place_of(struct pv_lc_batch *b, const struct pv_lc_ctx *c, uint64_t ino)
{
	for (size_t i = 0; i < b->nns; i++)
		if (b->ns[i].ino == ino)
			return (long)i;
	if (!c->all)
		return -1;
	b->labels = xreallocarray(b->labels, b->nlabels + 1, sizeof(*b->labels));
	snprintf(b->labels[b->nlabels++], sizeof(*b->labels), "net:[%llu]",
		 (unsigned long long)ino);
	set_places(b, c);
	return (long)b->nns - 1;
}

static uint32_t add_process(struct pv_scan_part *p, int32_t pid, const char *comm, size_t len)
{
	if (p->nprocs == p->capprocs) {
		p->capprocs = p->capprocs ? p->capprocs * 2 : 64;
		p->procs = xreallocarray(p->procs, p->capprocs, sizeof(*p->procs));
	}
	struct pv_process *pr = &p->procs[p->nprocs];
	memset(pr, 0, sizeof(*pr));
	pr->pid = pid;
	pr->comm_len = (uint32_t)(len < PV_COMM_MAX ? len : PV_COMM_MAX);
	memcpy(pr->comm, comm, pr->comm_len);
	return (uint32_t)p->nprocs++;
}

static void add_owner(struct pv_scan_part *p, int32_t pid, int32_t fd, uint32_t proc,
		      uint32_t inode)
{
	if (p->nfds == p->capfds) {
		p->capfds = p->capfds ? p->capfds * 2 : 64;
		p->fds = xreallocarray(p->fds, p->capfds, sizeof(*p->fds));
	}
	p->fds[p->nfds++] = (struct pv_owner){pid, fd, proc, inode};
}

/* The listener of the dump that an accepted connection s came from, or -1. */
static long listener_of(const struct pv_lc_known *k, const struct pv_sock *s)
{
	const struct pv_socklist *l = k->view->l;
	for (size_t i = 0; i < k->nlisteners; i++) {
		struct pv_sock ls;
		pv_socklist_get(l, k->listeners[i], &ls);
		if (ls.netns != s->netns || ls.local.port != s->local.port)
			continue;
		size_t alen = ls.family == AF_INET ? 4 : 16;
		static const uint8_t any[16];
		if (memcmp(ls.local.addr, any, alen) == 0 ||
		    (ls.family == s->family && memcmp(ls.local.addr, s->local.addr, alen) == 0))
			return (long)k->listeners[i];
	}
	return -1;
}

/* Keep the listeners the records open, forget those they close. */
static void follow_listeners(struct pv_lc_batch *b, const struct pv_lc_rec *r)
{
	if (r->kind == PV_LC_OPENED && r->newstate == PV_TCP_LISTEN && r->pid > 0) {
		if (b->nlst == b->caplst) {
			b->caplst = b->caplst ? b->caplst * 2 : 16;
			b->lst = xreallocarray(b->lst, b->caplst, sizeof(*b->lst));
		}
		struct pv_lc_listener *l = &b->lst[b->nlst++];
		*l = (struct pv_lc_listener){.cookie = r->cookie,
					     .netns = r->netns,
					     .family = r->family,
					     .port = r->sport,
					     .pid = r->pid};
		memcpy(l->addr, r->saddr, sizeof(l->addr));
		memcpy(l->comm, r->comm, sizeof(l->comm));
	} else if (r->kind == PV_LC_CLOSED && r->oldstate == PV_TCP_LISTEN) {
		for (size_t i = 0; i < b->nlst; i++)
			if (b->lst[i].cookie == r->cookie) {
				b->lst[i] = b->lst[--b->nlst];
				break;
			}
	}
}

/* A listener the records opened that accepted r's connection, or NULL. */
static const struct pv_lc_listener *seen_listener(const struct pv_lc_batch *b,
						  const struct pv_lc_rec *r)
{
	static const uint8_t any[16];
	for (size_t i = b->nlst; i-- > 0;) {
		const struct pv_lc_listener *l = &b->lst[i];
		size_t alen = l->family == AF_INET ? 4 : 16;
		if (l->netns == r->netns && l->port == r->sport &&
		    (memcmp(l->addr, any, alen) == 0 ||
		     (l->family == r->family && memcmp(l->addr, r->saddr, alen) == 0)))
			return l;
	}
	return NULL;
}

/* Copy row i's owners in the dump's view as the owners of inode. */
static void copy_owners(struct pv_scan_part *p, const struct pv_view *v, size_t i, uint32_t inode)
{
	struct pv_row r;
	pv_view_row(v, i, &r);
	if (!v->has_owners)
		return;
	for (uint32_t k = 0; k < r.owner_count; k++) {
		const struct pv_owner *o = &v->owners.owners[r.owner_first + k];
		const struct pv_process *pr = &v->owners.procs[o->proc];
		add_owner(p, o->pid, o->fd, add_process(p, pr->pid, pr->comm, pr->comm_len), inode);
	}
}

/*
 * Name the owners of row `key` (its inode in the view), from fd of the
 * part; returns where they start in part.fds.
 */
static size_t name_owners(struct pv_lc_batch *b, const struct pv_lc_ctx *c,
			  const struct pv_lc_rec *r, const struct pv_sock *s, uint32_t key,
			  uint32_t *dump_inode)
{
	size_t first = b->part.nfds;
	const struct pv_lc_known *k = &c->known;
	uint32_t row;
	bool known = k->view && pv_idmap_get(k->at, r->cookie, &row);
	*dump_inode = known ? k->view->l->v[row].inode : 0;
	if (r->pid > 0 && (r->flags & (PV_LC_F_ACTIVE | PV_LC_F_TASK))) {
		uint32_t proc =
		    add_process(&b->part, r->pid, r->comm, strnlen(r->comm, PV_LC_COMM));
		add_owner(&b->part, r->pid, -1, proc, key);
	} else if (known) {
		copy_owners(&b->part, k->view, row, key);
	} else if (r->flags & PV_LC_F_PASSIVE) {
		long lst = k->view ? listener_of(k, s) : -1;
		const struct pv_lc_listener *seen;
		if (lst >= 0) {
			copy_owners(&b->part, k->view, (size_t)lst, key);
		} else if ((seen = seen_listener(b, r)) != NULL) {
			uint32_t proc = add_process(&b->part, seen->pid, seen->comm,
						    strnlen(seen->comm, PV_LC_COMM));
			add_owner(&b->part, seen->pid, -1, proc, key);
		}
	}
	return first;
}

/* Whether the owners from part.fds[first..] pass --pid and --command. */
static bool owners_match(const struct pv_lc_batch *b, const struct pv_query *q, size_t first)
{
	for (size_t i = first; i < b->part.nfds; i++) {
		const struct pv_process *pr = &b->part.procs[b->part.fds[i].proc];
		if (pv_query_owner_matches(q, pr->pid, pr->comm, pr->comm_len))
			return true;
	}
	return false;
}

/* The socket a record speaks of, as a dump would have said it. */
static void record_sock(const struct pv_lc_rec *r, struct pv_sock *s)
{
	memset(s, 0, sizeof(*s));
	s->cookie = r->cookie;
	s->proto = IPPROTO_TCP;
	s->family = r->family;
	s->state = r->kind == PV_LC_CLOSED ? r->oldstate : r->newstate;
	s->v6only = -1;
	s->uid = r->uid;
	memcpy(s->local.addr, r->saddr, sizeof(s->local.addr));
	memcpy(s->remote.addr, r->daddr, sizeof(s->remote.addr));
	s->local.port = r->sport;
	s->remote.port = r->dport;
}

void pv_lc_batch_build(struct pv_lc_batch *b, const struct pv_lc_ctx *c,
		       const struct pv_lc_rec *recs, size_t n)
{
	drop_rows(b);
	if (b->nns < c->nplaces)
		set_places(b, c);
	uint32_t states = pv_query_proto_states(c->q, IPPROTO_TCP);
	bool by_owner = pv_query_by_owner(c->q);
	for (size_t i = 0; i < n; i++) {
		const struct pv_lc_rec *r = &recs[i];
		follow_listeners(b, r);
		struct pv_sock s;
		record_sock(r, &s);
		long place = place_of(b, c, r->netns);
		if (place < 0 || !(states & PV_SF(s.state)) ||
		    !pv_query_wants_family(c->q, s.family) ||
		    !pv_query_keep(c->q, b->ns[place].ephemeral, &s))
			continue;
		s.netns = (uint32_t)place;
		/* the owner table is keyed by inode: each row its own key */
		uint32_t key = (uint32_t)b->l.n + 1, inode;
		size_t first = name_owners(b, c, r, &s, key, &inode);
		if (by_owner && !owners_match(b, c->q, first)) {
			b->part.nfds = first;
			continue;
		}
		s.inode = key;
		if (b->l.n == b->cap) {
			b->cap = b->cap ? b->cap * 2 : 256;
			b->ev = xreallocarray(b->ev, b->cap, sizeof(*b->ev));
		}
		b->ev[b->l.n] = (struct pv_lc_event){.rec = *r, .inode = inode};
		pv_socklist_add(&b->l, &s);
	}
	pv_view_init(&b->view, &b->l, c->svc, c->places[0].ephemeral);
	pv_view_set_netns(&b->view, b->ns, b->nns);
	pv_view_join_owners(&b->view, &b->part, 1);
	b->has_view = true;
}
