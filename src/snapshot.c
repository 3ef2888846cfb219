/*
 * A snapshot: one round of kernel dumps, each made sure of, merged into
 * one list.  The policy of making sure (hashwalk.h):
 *
 *   one datagram, short buckets          nothing to do
 *   short buckets, TCP, checkable        the boundary records looked up;
 *                                        a checked walk again where one
 *                                        has gone (at most three)
 *   long buckets, or not checkable       a second walk in slices
 *   (UDP, a filter, some states)
 *
 * A second walk keeps only what the first did not report (by cookie), and
 * of that, nothing whose addresses and ports the first listed.
 */
#include "portview/snapshot.h"
#include "portview/buf.h"
#include "portview/bytecode.h"
#include "portview/parallel.h"
#include "portview/sock_diag.h"
#include "portview/sort.h"
#include "portview/state.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* The netlink sockets one thread's dumps go out on. */
struct lane {
	struct mnl_socket *nl;	   /* the dumps */
	struct mnl_socket *lookup; /* the boundary checks' exact lookups */
};

struct pv_snapshotter {
	struct lane lanes[PV_DUMP_THREADS_MAX];
	unsigned nlanes;	      /* opened so far: the first at once, the others when needed */
	bool (*lent_done)(void *arg); /* pv_snapshotter_lend's */
	void *lent_arg;
};

void pv_snapshotter_lend(struct pv_snapshotter *s, bool (*done)(void *arg), void *arg)
{
	s->lent_done = done;
	s->lent_arg = done ? arg : NULL;
}

static int open_lane(struct lane *lane)
{
	int err = pv_diag_open(&lane->nl);
	if (!err)
		err = pv_diag_open(&lane->lookup);
	if (err) {
		pv_diag_close(lane->nl);
		*lane = (struct lane){NULL, NULL};
	}
	return err;
}

/*
 * Lanes up to n, opened in the namespace the caller is in (a snapshot is
 * taken where its snapshotter was opened).  Returns how many are open.
 */
static unsigned open_lanes(struct pv_snapshotter *s, unsigned n)
{
	while (s->nlanes < n && open_lane(&s->lanes[s->nlanes]) == 0)
		s->nlanes++;
	return s->nlanes < n ? s->nlanes : n;
}

int pv_snapshotter_open(struct pv_snapshotter **out)
{
	struct pv_snapshotter *s = xcalloc(1, sizeof(*s));
	int err = open_lane(&s->lanes[0]);
	if (err) {
		free(s);
		return err;
	}
	s->nlanes = 1;
	*out = s;
	return 0;
}

void pv_snapshotter_close(struct pv_snapshotter *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < PV_DUMP_THREADS_MAX; i++) {
		pv_diag_close(s->lanes[i].nl);
		pv_diag_close(s->lanes[i].lookup);
	}
	free(s);
}

void pv_netns_facts_load(struct pv_netns_facts *f, const char *sysctl_dir, const char *proc_root)
{
	pv_ephemeral_load(&f->ephemeral, sysctl_dir);
	pv_hash_geometry_load(&f->geometry, sysctl_dir, proc_root);
}

void pv_netns_facts_free(struct pv_netns_facts *f)
{
	pv_ephemeral_free(&f->ephemeral);
	memset(f, 0, sizeof(*f));
}

/* ---- merging a second walk ---------------------------------------------- */

/* The states a TCP socket in the kernel's established hash can be in. */
#define EHASH_STATES                                                                               \
	(PV_STATES_ALL &                                                                           \
	 ~(PV_SF(PV_TCP_LISTEN) | PV_SF(PV_TCP_CLOSE) | PV_SF(PV_TCP_BOUND_INACTIVE)))
#define BOUND PV_SF(PV_TCP_BOUND_INACTIVE)
/* What a TCP request split off the established hash's walk asks for (plan). */
#define SIDE (PV_SF(PV_TCP_LISTEN) | BOUND)

static size_t count_in(const struct pv_socklist *l, size_t from, uint32_t states);

/* The cookies of records from..l->n in states (sized for those alone). */
static void cookies_of(struct pv_idset *c, const struct pv_socklist *l, size_t from,
		       uint32_t states)
{
	pv_idset_init(c, count_in(l, from, states));
	for (size_t k = from; k < l->n; k++)
		if ((states >> l->v[k].state) & 1)
			pv_idset_add(c, l->v[k].cookie);
}

static uint64_t tuple_hash(const struct pv_sock *s)
{
	uint64_t h = pv_hash_bytes(s->local.addr, 16, (uint64_t)s->proto << 8 | s->family);
	h = pv_hash_bytes(s->remote.addr, 16, h);
	return pv_hash64(h ^ ((uint64_t)s->local.port << 16 | s->remote.port));
}

/* The same addresses and ports, on the same device (two devices: two sockets). */
static bool same_tuple(const struct pv_sock *a, const struct pv_sock *b)
{
	return a->proto == b->proto && a->family == b->family && a->ifindex == b->ifindex &&
	       a->local.port == b->local.port && a->remote.port == b->remote.port &&
	       memcmp(a->local.addr, b->local.addr, 16) == 0 &&
	       memcmp(a->remote.addr, b->remote.addr, 16) == 0;
}

/*
 * Whether a record takes part in the check of addresses: not listeners nor
 * bound, inactive sockets, which may share their addresses.
 */
static bool tuple_checked(const struct pv_rec *r, uint32_t states)
{
	return r->state != PV_TCP_LISTEN && !(r->proto == IPPROTO_TCP && (BOUND >> r->state) & 1) &&
	       ((states >> r->state) & 1);
}

/*
 * Add the records of extra (a second walk) that the first walk, records
 * from index `from` of l, did not have: a socket is new only if no record
 * there has its protocol, family, addresses and ports.  Between the walks
 * a connection may have closed and another taken its addresses (a new
 * cookie), which would otherwise be listed as a second row; listeners are
 * exempt, as SO_REUSEPORT listeners share their addresses.  Only records
 * in states (the second walk's) count.  Frees extra.
 */
static void merge_walk(struct pv_socklist *l, size_t from, uint32_t states,
		       struct pv_socklist *extra)
{
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
		if (tuple_checked(&extra->v[k], states)) {
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
	pv_socklist_free(extra);
}

/* ---- one dump and its second walks -------------------------------------- */

/* What a dump needs besides its query. */
struct dump_ctx {
	const struct lane *lane;
	const struct pv_netns_facts *ns;
	const struct pv_dump_policy *policy;
	const struct pv_port_clause *clauses; /* the port filter, with --class's */
	size_t nclauses;
	const struct pv_addr_clause *addrs; /* the address filter */
	size_t naddrs;
	uint32_t dev;		 /* --dev: the interface index, or 0 */
	struct pv_buf *bytecode; /* the filter compiled */
	bool use_eq;		 /* the kernel takes the EQ ops */
	bool use_dev;		 /* the kernel takes the device test (INET_DIAG_BC_DEV_COND) */
};

/* Compile port clauses and, where asked for and taken, the device test, into out. */
static int compile(const struct dump_ctx *c, const struct pv_port_clause *clauses, size_t n,
		   bool use_eq, struct pv_buf *out)
{
	int err = n || c->naddrs ? pv_bc_compile(clauses, n, c->addrs, c->naddrs, use_eq, out) : 0;
	if (!err && c->dev && c->use_dev)
		err = pv_bc_prepend_dev(out, c->dev);
	return err;
}

/*
 * Whether every socket a walk counts to find its resume point is also one
 * it reports, so that its datagram boundaries can be checked from the
 * records around them (sock_diag.h): TCP in both families, no filter
 * program, and all the established hash's states or none of them.  (UDP
 * is walked per family, and a family's walk counts the other's sockets.)
 */
static bool boundaries_checkable(const struct pv_diag_query *q)
{
	uint32_t ehash = q->states & EHASH_STATES;
	return q->proto == IPPROTO_TCP && q->family == AF_UNSPEC && !q->bytecode_len &&
	       (ehash == 0 || ehash == EHASH_STATES);
}

/* Records from..l->n in states. */
static size_t count_in(const struct pv_socklist *l, size_t from, uint32_t states)
{
	size_t n = 0;
	for (size_t i = from; i < l->n; i++)
		n += (states >> l->v[i].state) & 1;
	return n;
}

/*
 * How many established-hash records a walk must look up before each
 * boundary, given about n sockets in the hash (0: the hash is crowded, no
 * number will do).  A walk that asks for no established state has no
 * established-hash boundaries.
 */
static unsigned tail_for(const struct dump_ctx *c, uint32_t states, size_t n)
{
	if (!(states & EHASH_STATES))
		return PV_DIAG_TAIL_MAX;
	return pv_hashwalk_tail(c->ns->geometry.buckets, n);
}

/* A walk's records in states, as its parse counted them (count_in's, without reading them). */
static size_t kept_in(const struct pv_diag_stats *st, uint32_t states)
{
	size_t n = 0;
	for (size_t i = 0; i < PV_DIAG_STATES; i++)
		n += (states >> i) & 1 ? st->kept[i] : 0;
	return n;
}

static void add_stats(struct pv_dump_report *r, const struct pv_diag_stats *st)
{
	r->datagrams += st->datagrams;
	r->bytes += st->bytes;
}

/*
 * A second walk for what the first may have skipped, keeping only the
 * records it did not report; states narrows the walk.  With tails, the
 * walk checks its own boundaries.  Returns 0 or a negative errno.
 */
static int walk_again(struct dump_ctx *c, const struct pv_diag_query *q, uint32_t states,
		      struct pv_socklist *l, size_t before, struct pv_dump_report *r,
		      struct pv_diag_tails *tails)
{
	struct pv_diag_query again = *q;
	struct pv_diag_stats more;
	struct pv_idset known;
	struct pv_socklist extra;
	again.states = states;
	cookies_of(&known, l, before, states);
	pv_socklist_init(&extra);
	extra.keep_more = l->keep_more;
	extra.keep_info = l->keep_info;
	int err = pv_diag_dump(c->lane->nl, &again, &known, &extra, &more, tails);
	if (!err)
		merge_walk(l, before, states, &extra);
	else
		pv_socklist_free(&extra);
	pv_idset_free(&known);
	add_stats(r, &more);
	r->walks_again++;
	return err;
}

/*
 * Slices a sliced walk may take.  Each slice costs the kernel a walk of
 * the whole hash (about 0.1 us a socket), against about 1.3 us a socket
 * for a walk that fills every record: past some 20 slices the slices cost
 * more than two more whole walks, which shrink the odds of a miss instead
 * of ruling it out.  Up to 64 (some 10,000 records) the certainty is
 * worth the price.
 */
#define MAX_SLICES 64
/* Records planned per slice: a datagram holds about 250 (hashwalk.h). */
#define PER_SLICE 150

/* A slice's filter: the user's clauses ANDed with the rectangle's. */
static size_t slice_clauses(const struct dump_ctx *c, const struct pv_port_rect *r,
			    struct pv_port_clause *out)
{
	size_t n = 0;
	for (size_t i = 0; i < c->nclauses; i++)
		out[n++] = c->clauses[i];
	if (r->slo != 0 || r->shi != 65535)
		out[n++] = (struct pv_port_clause){
		    .sides = PV_SIDE_SRC, .nranges = 1, .ranges = {{r->slo, r->shi}}};
	if (r->dlo != 0 || r->dhi != 65535)
		out[n++] = (struct pv_port_clause){
		    .sides = PV_SIDE_DST, .nranges = 1, .ranges = {{r->dlo, r->dhi}}};
	return n;
}

/*
 * Walk the hash again in slices that each come back in one datagram, with
 * few sockets per bucket, so that no slice's walk ever pauses inside a
 * bucket (hashwalk.h): port rectangles planned from the records the first
 * walk found, each ANDed with the user's port filter.  A slice that comes
 * back larger is split and walked again.  Sets *too_many, and walks
 * nothing, when it would take more than MAX_SLICES.  Returns 0 or a
 * negative errno.
 */
static int walk_sliced(struct dump_ctx *c, const struct pv_diag_query *q, uint32_t states,
		       struct pv_socklist *l, size_t before, struct pv_dump_report *r,
		       bool *too_many)
{
	size_t n = count_in(l, before, states);
	struct pv_port_pair *pairs = xreallocarray(NULL, n ? n : 1, sizeof(*pairs));
	size_t k = 0;
	for (size_t i = before; i < l->n; i++)
		if ((states >> l->v[i].state) & 1)
			pairs[k++] = (struct pv_port_pair){l->v[i].lport, l->v[i].rport};
	size_t nrects = pv_hashwalk_plan(pairs, n, PER_SLICE, NULL, 0);
	*too_many = nrects > MAX_SLICES;
	if (*too_many) {
		free(pairs);
		return 0;
	}
	/* a stack of rectangles to walk: each split adds one */
	size_t cap = nrects + 64;
	struct pv_port_rect *stack = xreallocarray(NULL, cap, sizeof(*stack));
	size_t top = pv_hashwalk_plan(pairs, n, PER_SLICE, stack, nrects);
	free(pairs);

	struct pv_idset known;
	struct pv_socklist extra;
	struct pv_buf bc;
	cookies_of(&known, l, before, states);
	pv_socklist_init(&extra);
	extra.keep_more = l->keep_more;
	extra.keep_info = l->keep_info;
	pv_buf_init(&bc);
	int err = 0;
	while (top > 0 && !err) {
		struct pv_port_rect rect = stack[--top];
		struct pv_port_clause clauses[8];
		size_t nc = slice_clauses(c, &rect, clauses);
		bc.len = 0;
		if (compile(c, clauses, nc, c->use_eq, &bc) < 0) {
			err = -E2BIG;
			break;
		}
		struct pv_diag_query slice = *q;
		slice.states = states;
		slice.bytecode = bc.len ? bc.data : NULL;
		slice.bytecode_len = bc.len;
		struct pv_diag_stats more;
		struct pv_diag_tails tails = {0};
		struct pv_socklist_mark mark = pv_socklist_mark(&extra);
		err = pv_diag_dump(c->lane->nl, &slice, &known, &extra, &more, &tails);
		if (err == -EINVAL && c->use_eq && bc.len) {
			/* a kernel without the EQ ops: the same slice with GE and LE */
			c->use_eq = false;
			stack[top++] = rect;
			err = 0;
			continue;
		}
		r->slices++;
		add_stats(r, &more);
		if (err || tails.boundaries == 0)
			continue;
		/* More than one datagram: it may have skipped; walk it in halves. */
		struct pv_port_rect a, b;
		if (pv_port_rect_split(&rect, &a, &b)) {
			pv_socklist_rollback(&extra, mark);
			if (top + 2 > cap) {
				cap *= 2;
				stack = xreallocarray(stack, cap, sizeof(*stack));
			}
			stack[top++] = b;
			stack[top++] = a;
			r->split++;
		} else {
			r->incomplete = true; /* one port pair, too many sockets */
		}
	}
	if (!err)
		merge_walk(l, before, states, &extra);
	else
		pv_socklist_free(&extra);
	pv_buf_free(&bc);
	pv_idset_free(&known);
	free(stack);
	return err;
}

static int port_cmp(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
	return (x > y) - (x < y);
}

/*
 * Whether the walk of the bind hash may have paused inside a bucket: it
 * does after every 16 sockets it reports from one, and the sockets bound
 * to one address and port share a bucket (a bucket may also hold other
 * ports, which this cannot see).
 */
static bool bound_may_pause(const struct pv_socklist *l, size_t before)
{
	size_t n = count_in(l, before, BOUND);
	if (n <= PV_HASHWALK_CHUNK)
		return false;
	uint16_t *ports = xreallocarray(NULL, n, sizeof(*ports));
	size_t k = 0;
	for (size_t i = before; i < l->n; i++)
		if ((BOUND >> l->v[i].state) & 1)
			ports[k++] = l->v[i].lport;
	/* sort, then count runs */
	qsort(ports, k, sizeof(*ports), port_cmp);
	bool pauses = false;
	for (size_t i = 0, run = 1; i + 1 < k && !pauses; i++) {
		run = ports[i + 1] == ports[i] ? run + 1 : 1;
		pauses = run > PV_HASHWALK_CHUNK;
	}
	free(ports);
	return pauses;
}

/*
 * Make sure of the bind hash's walk, which no lookup can check: walk the
 * bound, inactive sockets again in slices, or, where one port holds more
 * than a walk reports from a bucket in one go (slices cannot split a
 * port), twice more.  Sets r->bound.
 */
static int walk_bound_again(struct dump_ctx *c, const struct pv_diag_query *q, bool pauses,
			    struct pv_socklist *l, size_t before, struct pv_dump_report *r)
{
	bool too_many = false;
	int err = 0;
	if (!pauses) {
		r->bound = "sliced";
		err = walk_sliced(c, q, BOUND, l, before, r, &too_many);
	}
	if (!err && (pauses || too_many)) {
		r->bound = "unverified";
		for (int i = 0; i < 2 && !err; i++)
			err = walk_again(c, q, BOUND, l, before, r, NULL);
	}
	return err;
}

/* Make sure of a first walk whose outcome tails and r tell (see the top). */
static int make_sure(struct dump_ctx *c, const struct pv_diag_query *q,
		     const struct pv_diag_tails *tails, const struct pv_diag_stats *st,
		     struct pv_socklist *l, size_t before, struct pv_dump_report *r)
{
	bool too_many;
	int err = 0;
	/*
	 * The established hash's records, and how long its buckets may be with
	 * that many: a walk that may have paused inside a bucket of more than
	 * 16 sockets, or whose boundaries were checked with too few records,
	 * cannot be vouched for by its check.
	 */
	size_t ehash = kept_in(st, EHASH_STATES);
	size_t sockets = c->ns->geometry.sockets;
	r->needed = tail_for(c, q->states, ehash > sockets ? ehash : sockets);
	bool pauses = r->needed == 0 && q->proto == IPPROTO_TCP;
	/* Bound, inactive sockets come from the bind hash, walked in a walk of its own. */
	bool asks_bound = q->proto == IPPROTO_TCP && (q->states & BOUND);
	bool bound_pauses = asks_bound && bound_may_pause(l, before);
	bool bound = asks_bound && (tails->bound_boundary || bound_pauses);
	r->bound = asks_bound ? "uncut" : "-";
	if (c->policy->check == PV_DUMP_ONCE || (tails->boundaries == 0 && !pauses && !bound)) {
		if (asks_bound && c->policy->check == PV_DUMP_ONCE)
			r->bound = "unchecked";
		return 0;
	}

	bool listeners = tails->listener_boundary && (q->states & PV_SF(PV_TCP_LISTEN));
	if (c->policy->check == PV_DUMP_TWICE) {
		r->second = "all";
		if (asks_bound)
			r->bound = "twice";
		return walk_again(c, q, q->states, l, before, r, NULL);
	}
	if (tails->check && !pauses && r->needed <= r->tail) {
		if (r->gone != 0) {
			/*
			 * A connection before a boundary went away meanwhile.  The
			 * hash is not crowded, so a walk again whose own check
			 * passes is complete; under heavy churn it may take another.
			 */
			struct pv_diag_tails t2 = {
			    .check = true, .tail_len = r->tail, .lookup = c->lane->lookup};
			bool vouched = false;
			do {
				err = walk_again(c, q, q->states, l, before, r, &t2);
				r->checked += t2.checked;
				vouched = t2.boundaries == 0 || t2.gone == 0;
			} while (!err && !vouched && r->walks_again < 3);
			r->second = vouched ? "all" : "unverified";
		} else {
			r->second = listeners ? "listeners" : "none";
		}
		/*
		 * The connections' boundaries are vouched for, but not the
		 * listeners' (an exact lookup of an SO_REUSEPORT listener may
		 * answer with another of its group): walk them again in slices.
		 */
		if (!err && listeners)
			err = walk_sliced(c, q, PV_SF(PV_TCP_LISTEN), l, before, r, &too_many);
		/* Nor the bind hash's, which no lookup finds. */
		if (!err && bound)
			err = walk_bound_again(c, q, bound_pauses, l, before, r);
		return err;
	}
	/* Crowded or unchecked: walk the whole selection in slices. */
	r->second = "sliced";
	if (asks_bound)
		r->bound = "sliced";
	err = walk_sliced(c, q, q->states, l, before, r, &too_many);
	if (!err && too_many) {
		/* Too many slices: two more whole walks, each a second chance. */
		r->second = "unverified";
		if (asks_bound)
			r->bound = "unverified";
		for (int i = 0; i < 2 && !err; i++)
			err = walk_again(c, q, q->states, l, before, r, NULL);
	} else if (!err && bound_pauses) {
		/* Slices cannot split a port whose bound sockets pause the walk. */
		err = walk_bound_again(c, q, true, l, before, r);
	}
	return err;
}

/*
 * Whether a walk asking for some of the established hash's states, states,
 * should ask for all of them and drop the rest afterwards.  Asked as it is,
 * it cannot be checked (boundaries_checkable): past one datagram it is
 * walked again, in slices or, past some 10,000 records, twice more.  Asked
 * for all, it is one walk, checked, that also fills the sockets it then
 * drops.  sockstat gives the two counts that decide it: the sockets in
 * TIME_WAIT, and the rest, most of them ESTABLISHED on any busy host.
 * Widened when the part asked for is at least the part left out (measured
 * at 98,000 connections, --state established: 395 ms in three walks, 120
 * in one; --state time-wait, with none, stays one quick walk).
 */
static bool worth_widening(const struct pv_hash_geometry *g, uint32_t states)
{
	uint64_t in = 0, out = 0, tw = g->timewait, full = g->sockets - g->timewait;
	*((states >> PV_TCP_TIME_WAIT) & 1 ? &in : &out) += tw;
	*((states >> PV_TCP_ESTABLISHED) & 1 ? &in : &out) += full;
	return in > 0 && in >= out;
}

/*
 * One kernel dump, parsed into l as it arrives, then made sure of.  A
 * filter program the kernel refuses (EINVAL) is compiled again without the
 * EQ ops, then dropped (user space filters anyway).  Returns 0 or a
 * negative errno.
 */
static int dump_one(struct dump_ctx *c, struct pv_diag_query *q, struct pv_socklist *l,
		    struct pv_dump_report *r)
{
	size_t before = l->n;
	int err;
	/* Before the walk, only the namespace's own count says how full the hash is. */
	size_t sockets = c->ns->geometry.sockets;
	unsigned tail = tail_for(c, q->states, sockets ? sockets : SIZE_MAX / 2);
	struct pv_diag_tails tails = {0};
	struct pv_diag_stats stats;

	/* Some of the established hash's states: all of them, where that is worth it. */
	uint32_t wanted = q->states;
	struct pv_diag_query wide = *q;
	wide.states |= EHASH_STATES;
	wide.bytecode_len = c->bytecode->len;
	if (wanted != wide.states && c->policy->check == PV_DUMP_CHECK &&
	    boundaries_checkable(&wide) && worth_widening(&c->ns->geometry, wanted))
		q->states = wide.states;
	*r = (struct pv_dump_report){.proto = q->proto,
				     .family = q->family,
				     .buckets = c->ns->geometry.buckets,
				     .tail = tail,
				     .second = "none",
				     .bound = "-"};
	for (;;) {
		q->bytecode = c->bytecode->len ? c->bytecode->data : NULL;
		q->bytecode_len = c->bytecode->len;
		tails = (struct pv_diag_tails){.check = c->policy->check == PV_DUMP_CHECK &&
							boundaries_checkable(q) && tail > 0,
					       .tail_len = tail,
					       .lookup = c->lane->lookup};
		err = pv_diag_dump(c->lane->nl, q, NULL, l, &stats, &tails);
		if (!c->bytecode->len || err != -EINVAL)
			break;
		c->bytecode->len = 0;
		if (c->use_eq) {
			c->use_eq = false;
			if (compile(c, c->clauses, c->nclauses, false, c->bytecode) < 0)
				c->bytecode->len = 0;
		} else {
			c->use_dev = false; /* no program at all: user space filters */
		}
	}
	r->states = q->states;
	r->program_len = q->bytecode_len;
	add_stats(r, &stats);
	r->first = kept_in(&stats, wanted); /* of a walk widened, what was asked for */
	r->checked = tails.checked;
	r->gone = tails.gone;
	if (!err)
		err = make_sure(c, q, &tails, &stats, l, before, r);
	if (q->states != wanted) {
		pv_socklist_keep_states(l, before, wanted);
		q->states = wanted;
	}
	r->sockets = l->n - before;
	r->err = err;
	return err;
}

/* Whether an error means the kernel cannot list the protocol at all. */
static bool protocol_missing(int err)
{
	return err == -ENOENT || err == -EOPNOTSUPP || err == -EPROTONOSUPPORT;
}

struct keep_arg {
	const struct pv_query *q;
	const struct pv_ephemeral *eph;
};

static bool keep(const struct pv_sock *s, const void *arg)
{
	const struct keep_arg *k = arg;
	return pv_query_keep(k->q, k->eph, s);
}

/*
 * One request of a snapshot and what it did: a protocol, states and one
 * family, or, for TCP, AF_UNSPEC (both in one walk), asked per family
 * where the kernel refuses that.
 */
struct job {
	struct pv_diag_query q;
	bool v4, v6; /* AF_UNSPEC's fallback */
	struct pv_dump_report reps[2];
	size_t nreps;
	int err;
};

#define MAX_JOBS 6

/*
 * The requests of a snapshot, the longest first.  With split (dumps on
 * several threads), TCP's listeners and bound, inactive sockets are asked
 * for apart: the kernel then walks its listening and bind hashes (and the
 * listeners' slices go out) on one thread while another walks the
 * established hash, the longest walk; with pipe, that walk is parsed on a
 * thread of its own (pv_diag_query.piped).  Each request stays checkable
 * (boundaries_checkable: it asks for all of the established hash's states
 * or none).  Returns how many.
 */
static size_t plan(const struct pv_query *q, const struct pv_dump_policy *policy, bool info,
		   bool split, bool pipe, struct pv_diag_relay *relay, struct job *jobs)
{
	static const uint8_t protos[] = {IPPROTO_TCP, IPPROTO_UDP};
	bool v4 = pv_query_wants_family(q, AF_INET);
	bool v6 = pv_query_wants_family(q, AF_INET6);
	size_t n = 0;
	for (size_t p = 0; p < ARRAY_SIZE(protos); p++) {
		if (!pv_query_wants_proto(q, protos[p]))
			continue;
		uint32_t states = pv_query_proto_states(q, protos[p]);
		uint32_t groups[2] = {states, 0};
		bool tcp = protos[p] == IPPROTO_TCP;
		if (tcp && split && (states & SIDE) && (states & ~SIDE)) {
			groups[0] = states & ~SIDE;
			groups[1] = states & SIDE;
		}
		for (size_t g = 0; g < 2 && groups[g]; g++) {
			struct pv_diag_query dq = {
			    .proto = protos[p],
			    .states = groups[g],
			    /*
			     * tcp_info (the timer's retransmissions and probes both, and
			     * what -i shows) makes each message some 3 times larger:
			     * asked for only where it is shown.
			     */
			    .ext = info && tcp ? 1u << (INET_DIAG_INFO - 1) : 0,
			    /*
			     * The established hash's walk, the longest, is read on
			     * one thread and parsed (and made sure of) on another.
			     */
			    .piped = pipe && tcp && g == 0 && groups[1],
			    /* or parsed here until a thread done with its requests joins */
			    .relay = !pipe && tcp && g == 0 && groups[1] ? relay : NULL,
			};
			uint8_t families[2];
			size_t nf = 0;
			if (v4 && v6 && tcp && !policy->per_family) {
				families[nf++] = AF_UNSPEC; /* one walk for both (sock_diag.h) */
			} else {
				if (v4)
					families[nf++] = AF_INET;
				if (v6)
					families[nf++] = AF_INET6;
			}
			for (size_t f = 0; f < nf; f++) {
				jobs[n] = (struct job){.q = dq, .v4 = v4, .v6 = v6};
				jobs[n++].q.family = families[f];
			}
		}
	}
	return n;
}

/*
 * One request, into l, with AF_UNSPEC's fallback: a kernel without
 * TCPDIAG_GETSOCK is asked once per family.  A protocol the kernel cannot
 * list is skipped (its report says why).  Returns 0 or a negative errno.
 */
static int run_job(struct dump_ctx *c, struct job *j, struct pv_socklist *l)
{
	uint8_t families[3] = {j->q.family};
	size_t nf = 1;
	if (j->q.family == AF_UNSPEC) {
		if (j->v4)
			families[nf++] = AF_INET;
		if (j->v6)
			families[nf++] = AF_INET6;
	}
	int err = 0;
	for (size_t f = 0; f < nf && !err; f++) {
		size_t before = l->n;
		struct pv_diag_query q = j->q;
		q.family = families[f];
		struct pv_dump_report *r = &j->reps[j->nreps++];
		err = dump_one(c, &q, l, r);
		if (q.family == AF_UNSPEC && err && l->n == before) {
			/* no TCPDIAG_GETSOCK here: ask per family */
			j->nreps--;
			err = 0;
			continue;
		}
		if (protocol_missing(err))
			err = 0; /* skipped: the report says why */
		if (q.family == AF_UNSPEC)
			break; /* both families done */
	}
	return err;
}

/* The requests of one snapshot, taken by its workers in turn. */
struct dumps {
	const struct dump_ctx *base; /* each worker's dump_ctx, but for its lane and program */
	const struct pv_snapshotter *s;
	struct job *jobs;
	size_t njobs;
	size_t next; /* the next job to take (atomic) */
	unsigned workers;
	unsigned late; /* workers from this one on wait for the lent thread (pv_snapshotter_lend) */
	struct pv_diag_relay relay; /* the established hash's walk, where not piped */
	struct pv_socklist lists[PV_DUMP_THREADS_MAX]; /* each worker's records */
};

/*
 * A late worker: until the lent thread is done, only watching whether
 * requests are left (each a millisecond or more of the kernel's walk).
 * Returns whether it may take them.
 */
static bool wait_lent(struct dumps *d)
{
	const struct timespec nap = {0, 500000};
	while (!d->s->lent_done(d->s->lent_arg)) {
		if (__atomic_load_n(&d->next, __ATOMIC_RELAXED) >= d->njobs &&
		    !pv_diag_relay_open(&d->relay))
			return false;
		nanosleep(&nap, NULL);
	}
	return true;
}

/*
 * A worker: requests taken in turn on its own lane, into its own list,
 * then, beside the others, that list sorted (dump_all merges them).
 */
static void dump_worker(void *arg, unsigned w)
{
	struct dumps *d = arg;
	struct pv_buf bytecode;
	pv_buf_init(&bytecode);
	struct dump_ctx c = *d->base;
	c.lane = &d->s->lanes[w];
	c.bytecode = &bytecode;
	if (compile(&c, c.clauses, c.nclauses, true, &bytecode) < 0)
		bytecode.len = 0; /* too big for the kernel: user space filters */
	bool may = w < d->late || wait_lent(d);
	while (may) {
		size_t k = __atomic_fetch_add(&d->next, 1, __ATOMIC_RELAXED);
		if (k >= d->njobs)
			break;
		d->jobs[k].err = run_job(&c, &d->jobs[k], &d->lists[w]);
	}
	/* No request left: the rest of a walk still going on parsed here. */
	if (may)
		pv_diag_relay_help(&d->relay);
	pv_buf_free(&bytecode);
	/*
	 * A large list (the established hash's, the last done) is sorted on two
	 * threads where there are two CPUs: a short job, whose second side the
	 * first thread takes itself if the other has not begun.
	 */
	struct pv_socklist *l = &d->lists[w];
	unsigned sorters = d->base->policy->threads ? d->base->policy->threads : pv_cpus_online();
	pv_socklist_sort_on(l, sorters);
}

/*
 * Run the jobs on the workers, then merge their sorted lists into out
 * (its keep_* set): the order one sort of all the records gives.  The
 * reports go to rep in the jobs' order.  Returns the first failed job's
 * error, or 0.
 */
static int dump_all(struct dumps *d, struct pv_socklist *out, struct pv_snapshot_report *rep)
{
	for (unsigned w = 0; w < d->workers; w++) {
		pv_socklist_init(&d->lists[w]);
		d->lists[w].keep_more = out->keep_more;
		d->lists[w].keep_info = out->keep_info;
		d->lists[w].big_pages = out->big_pages;
	}
	rep->threads = pv_parallel_run(d->workers, dump_worker, d);
	int err = 0;
	for (size_t k = 0; k < d->njobs; k++) {
		for (size_t i = 0; i < d->jobs[k].nreps; i++)
			rep->dumps[rep->ndumps++] = d->jobs[k].reps[i];
		if (d->jobs[k].err && !err) {
			err = d->jobs[k].err;
			rep->failed_proto = d->jobs[k].q.proto;
		}
	}
	/* The largest list takes the others in: the least to move. */
	unsigned big = 0;
	for (unsigned w = 1; w < d->workers; w++)
		if (d->lists[w].n > d->lists[big].n)
			big = w;
	pv_socklist_free(out);
	*out = d->lists[big];
	pv_socklist_init(&d->lists[big]);
	for (unsigned w = 0; w < d->workers; w++)
		pv_socklist_merge(out, &d->lists[w]);
	return err;
}

/* The TCP sockets (/proc/net/sockstat) from which the dumps go out on threads by default. */
#define PARALLEL_FROM 30000

/* How many threads a snapshot's dumps may use: PORTVIEW_DUMP_THREADS, or the CPUs. */
static unsigned threads_for(const struct pv_dump_policy *policy)
{
	unsigned n = policy->threads ? policy->threads : pv_cpus_online();
	return n < PV_DUMP_THREADS_MAX ? n : PV_DUMP_THREADS_MAX;
}

/*
 * How many of them now: all that PORTVIEW_DUMP_THREADS asks for, else no
 * more than there are CPUs free (a busy host, or the owner scan's thread
 * beside the dumps, leaves fewer: a dump thread waiting for a CPU delays
 * the whole snapshot, measured as up to twice the wall time).
 */
static unsigned threads_now(const struct pv_dump_policy *policy, unsigned most,
			    const struct pv_netns_facts *ns)
{
	if (policy->threads)
		return most;
	/*
	 * Nor for a small namespace: a thread costs its stack and heap (some
	 * 0.3 MiB of peak RSS) and a millisecond, more than the walks it takes
	 * over save below some tens of thousands of sockets (measured at 1k
	 * and 10k: slower, and above ss's peak RSS).
	 */
	if (ns->geometry.sockets < PARALLEL_FROM)
		return 1;
	unsigned n = pv_cpus_free();
	return n < most ? n : most;
}

int pv_snapshot_take(struct pv_snapshotter *s, const struct pv_query *q,
		     const struct pv_netns_facts *ns, const struct pv_dump_policy *policy,
		     unsigned keeps, struct pv_socklist *out, struct pv_snapshot_report *rep)
{
	memset(rep, 0, sizeof(*rep));
	pv_socklist_free(out);
	/* Queues, timers and the interface: only -e and JSON show them; tcp_info only -i. */
	out->keep_more = keeps & PV_KEEP_MORE;
	out->keep_info = keeps & PV_KEEP_INFO;
	out->big_pages = keeps & PV_KEEP_BIG_PAGES;

	/* The port filter and the --class range, for this namespace. */
	struct pv_port_clause clauses[4];
	size_t n = 0;
	for (size_t i = 0; i < q->nclauses; i++)
		clauses[n++] = q->clauses[i];
	if (pv_query_class_clause(q, &ns->ephemeral, &clauses[n]))
		n++;
	/*
	 * Single ports use the exact-match ops where the kernel has them
	 * (Linux 4.17 and later); dump_one falls back for older kernels.
	 * Each worker compiles its own program (dump_worker).
	 */
	struct dump_ctx c = {.ns = ns,
			     .policy = policy,
			     .clauses = clauses,
			     .nclauses = n,
			     .addrs = q->addrs,
			     .naddrs = q->naddrs,
			     .dev = q->dev,
			     .use_eq = true,
			     .use_dev = true};
	unsigned most = threads_for(policy), threads = threads_now(policy, most, ns);
	struct job jobs[MAX_JOBS];
	bool info = keeps & (PV_KEEP_INFO | PV_KEEP_PROBES);
	struct dumps d = {.base = &c, .s = s, .jobs = jobs};
	/*
	 * Lanes for as many threads as the query could use, whatever the load
	 * now, so that the snapshotter's sockets stay the same from one
	 * snapshot to the next; a thread per request at most.
	 */
	size_t could = plan(q, policy, info, most > 1, false, NULL, jobs);
	unsigned lanes = open_lanes(s, could < most ? (unsigned)could : most);
	/*
	 * A thread lent (the owner scan's, beside the dumps), counted busy
	 * now: one worker more, waiting for it, where a CPU more would be used.
	 */
	unsigned late = s->lent_done && !policy->threads && threads < most &&
			ns->geometry.sockets >= PARALLEL_FROM;
	/*
	 * The established hash's walk parsed on a thread of its own where a CPU
	 * is free for it now; not beside a lent thread, whose CPU is busy.
	 */
	pv_diag_relay_init(&d.relay);
	d.njobs = plan(q, policy, info, threads + late > 1 && lanes > 1, threads > 1 && lanes > 1,
		       &d.relay, jobs);
	d.workers = d.njobs < threads + late ? (unsigned)d.njobs : threads + late;
	if (d.workers > lanes)
		d.workers = lanes;
	if (d.workers == 0)
		d.workers = 1;
	d.late = late ? threads : d.workers;
	for (size_t k = 0; k < d.njobs && d.workers < 2; k++)
		jobs[k].q.relay = NULL; /* no thread to join */
	int err = dump_all(&d, out, rep);
	pv_diag_relay_destroy(&d.relay);
	if (err)
		return err;

	/* Repeats sit next to each other in display order. */
	rep->repeats = pv_socklist_dedupe(out);
	if (pv_query_needs_check(q)) {
		struct keep_arg k = {q, &ns->ephemeral};
		pv_socklist_filter(out, keep, &k);
	}
	return 0;
}

int pv_snapshot_lookup_state(struct pv_snapshotter *s, const struct pv_sock *sock, uint8_t *state)
{
	return pv_diag_lookup_state(s->lanes[0].lookup, sock, state);
}

long pv_snapshot_lookup_many(struct pv_snapshotter *s, const struct pv_diag_id *ids, size_t n,
			     bool info, struct pv_socklist *out)
{
	return pv_diag_lookup_many(s->lanes[0].lookup, IPPROTO_TCP, ids, n, info, out);
}

int pv_snapshot_still_held(struct pv_snapshotter *s, const struct pv_sock *sock)
{
	struct mnl_socket *own = NULL;
	if (!s) {
		int err = pv_diag_open(&own);
		if (err)
			return err;
	}
	uint8_t state;
	uint32_t inode = 0;
	int err = pv_diag_lookup(s ? s->lanes[0].lookup : own, sock, &state, &inode);
	if (own)
		pv_diag_close(own);
	if (err == -ENOENT)
		return 0;
	return err ? err : inode != 0 && inode == sock->inode;
}
