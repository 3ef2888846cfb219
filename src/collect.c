/* A run's kernel dumps: one per protocol (and family where needed). */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "portview/buf.h"
#include "portview/bytecode.h"
#include "portview/hashwalk.h"
#include "portview/sock_diag.h"
#include "portview/state.h"
#include "portview/util.h"

/* internal: the both-families TCP request failed, use one per family */
enum { EXIT_RETRY_PER_FAMILY = -2 };

/* The states a TCP socket in the kernel's established hash can be in. */
#define EHASH_STATES (PV_STATES_ALL & ~(PV_SF(PV_TCP_LISTEN) | PV_SF(PV_TCP_CLOSE)))

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
static unsigned tail_for(const struct context *ctx, uint32_t states, size_t n)
{
	if (!(states & EHASH_STATES))
		return PV_DIAG_TAIL_MAX;
	return pv_hashwalk_tail(ctx->geometry.buckets, n);
}

/* A second walk's records, kept only where the first walk lacked them. */
static void merge_walk(struct pv_socklist *l, size_t before, uint32_t states,
		       struct pv_socklist *extra)
{
	pv_socklist_add_missing(l, before, states, extra);
	pv_socklist_free(extra);
}

/*
 * A second walk for what the first may have skipped, keeping only the
 * records it did not report; states narrows the walk.  With tails, the
 * walk checks its own boundaries.  Returns 0 or a negative errno.
 */
static int walk_again(struct mnl_socket *nl, const struct pv_diag_query *q, uint32_t states,
		      struct pv_socklist *l, size_t before, struct pv_diag_stats *stats,
		      struct pv_diag_tails *tails)
{
	struct pv_diag_query again = *q;
	struct pv_diag_stats more;
	struct pv_cookies known;
	struct pv_socklist extra;
	again.states = states;
	pv_cookies_of(&known, l, before, states);
	pv_socklist_init(&extra);
	extra.keep_more = l->keep_more;
	int err = pv_diag_dump(nl, &again, &known, &extra, &more, tails);
	if (!err)
		merge_walk(l, before, states, &extra);
	else
		pv_socklist_free(&extra);
	pv_cookies_free(&known);
	stats->datagrams += more.datagrams;
	stats->bytes += more.bytes;
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

struct sliced {
	size_t slices; /* dumps made */
	size_t split;  /* slices that came back in more than one datagram */
	bool complete; /* every slice came in one datagram */
	bool too_many; /* not tried: it would take more than MAX_SLICES */
};

/*
 * Walk the hash again in slices that each come back in one datagram, with
 * few sockets per bucket, so that no slice's walk ever pauses inside a
 * bucket (hashwalk.h): port rectangles planned from the records the first
 * walk found, each ANDed with the user's port filter.  A slice that comes
 * back larger is split and walked again.  Returns 0 or a negative errno.
 */
static int walk_sliced(struct mnl_socket *nl, const struct pv_diag_query *q, uint32_t states,
		       const struct selection *sel, bool *use_eq, struct pv_socklist *l,
		       size_t before, struct pv_diag_stats *stats, struct sliced *out)
{
	*out = (struct sliced){.complete = true};
	size_t n = count_in(l, before, states);
	struct pv_port_pair *pairs = xreallocarray(NULL, n ? n : 1, sizeof(*pairs));
	size_t k = 0;
	for (size_t i = before; i < l->n; i++)
		if ((states >> l->v[i].state) & 1)
			pairs[k++] = (struct pv_port_pair){l->v[i].lport, l->v[i].rport};
	size_t nrects = pv_hashwalk_plan(pairs, n, PER_SLICE, NULL, 0);
	if (nrects > MAX_SLICES) {
		free(pairs);
		out->too_many = true;
		out->complete = false;
		return 0;
	}
	/* a stack of rectangles to walk: each split adds one */
	size_t cap = nrects + 64;
	struct pv_port_rect *stack = xreallocarray(NULL, cap, sizeof(*stack));
	size_t top = pv_hashwalk_plan(pairs, n, PER_SLICE, stack, nrects);
	free(pairs);

	struct pv_cookies known;
	struct pv_socklist extra;
	struct pv_buf bc;
	pv_cookies_of(&known, l, before, states);
	pv_socklist_init(&extra);
	extra.keep_more = l->keep_more;
	pv_buf_init(&bc);
	int err = 0;
	while (top > 0 && !err) {
		struct pv_port_rect r = stack[--top];
		struct pv_port_clause clauses[8];
		size_t nc = 0;
		for (size_t i = 0; i < sel->nclauses && nc < 6; i++)
			clauses[nc++] = sel->clauses[i];
		if (r.slo != 0 || r.shi != 65535)
			clauses[nc++] = (struct pv_port_clause){
			    .sides = PV_SIDE_SRC, .nranges = 1, .ranges = {{r.slo, r.shi}}};
		if (r.dlo != 0 || r.dhi != 65535)
			clauses[nc++] = (struct pv_port_clause){
			    .sides = PV_SIDE_DST, .nranges = 1, .ranges = {{r.dlo, r.dhi}}};
		bc.len = 0;
		if (pv_bc_compile(clauses, nc, *use_eq, &bc) < 0) {
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
		err = pv_diag_dump(nl, &slice, &known, &extra, &more, &tails);
		if (err == -EINVAL && *use_eq && bc.len) {
			/* a kernel without the EQ ops: the same slice with GE and LE */
			*use_eq = false;
			stack[top++] = r;
			err = 0;
			continue;
		}
		out->slices++;
		stats->datagrams += more.datagrams;
		stats->bytes += more.bytes;
		if (err || tails.boundaries == 0)
			continue;
		/* More than one datagram: it may have skipped; walk it in halves. */
		struct pv_port_rect a, b;
		if (pv_port_rect_split(&r, &a, &b)) {
			pv_socklist_rollback(&extra, mark);
			if (top + 2 > cap) {
				cap *= 2;
				stack = xreallocarray(stack, cap, sizeof(*stack));
			}
			stack[top++] = b;
			stack[top++] = a;
			out->split++;
		} else {
			out->complete = false; /* one port pair, too many sockets */
		}
	}
	if (!err)
		merge_walk(l, before, states, &extra);
	else
		pv_socklist_free(&extra);
	pv_buf_free(&bc);
	pv_cookies_free(&known);
	free(stack);
	return err;
}

/*
 * One kernel dump, parsed into l as it arrives, then made sure of
 * (hashwalk.h).  A filter program the kernel refuses (EINVAL) is compiled
 * again without the EQ ops, then dropped (user space filters anyway).
 * Returns an exit status.
 */
static int dump_one(struct mnl_socket *nl, const struct context *ctx, struct pv_diag_query *q,
		    const struct selection *sel, struct pv_buf *bytecode, bool *use_eq,
		    struct pv_socklist *l, uint8_t *warned)
{
	static const char *const fam[] = {[AF_UNSPEC] = "", [AF_INET] = "v4", [AF_INET6] = "v6"};
	struct pv_diag_stats stats;
	struct pv_diag_tails tails = {0};
	size_t before = l->n;
	int err;
	/* Before the walk, only the namespace's own count says how full the hash is. */
	unsigned tail =
	    tail_for(ctx, q->states, ctx->geometry.sockets ? ctx->geometry.sockets : SIZE_MAX / 2);

	for (;;) {
		q->bytecode = bytecode->len ? bytecode->data : NULL;
		q->bytecode_len = bytecode->len;
		tails.check = ctx->dump == PV_DUMP_CHECK && boundaries_checkable(q) && tail > 0;
		tails.tail_len = tail;
		err = pv_diag_dump(nl, q, NULL, l, &stats, &tails);
		if (!bytecode->len || err != -EINVAL)
			break;
		bytecode->len = 0;
		if (*use_eq) {
			*use_eq = false;
			if (pv_bc_compile(sel->clauses, sel->nclauses, false, bytecode) < 0)
				bytecode->len = 0;
		}
	}

	if (err && q->family == AF_UNSPEC && l->n == before)
		return EXIT_RETRY_PER_FAMILY; /* no TCPDIAG_GETSOCK here: ask per family */
	size_t first = l->n - before;
	/*
	 * The established hash's records, and how long its buckets may be with
	 * that many: a walk that may have paused inside a bucket of more than
	 * 16 sockets, or whose boundaries were checked with too few records,
	 * cannot be vouched for by its check.
	 */
	size_t ehash = count_in(l, before, EHASH_STATES);
	unsigned needed =
	    tail_for(ctx, q->states, ehash > ctx->geometry.sockets ? ehash : ctx->geometry.sockets);
	bool pauses = needed == 0 && q->proto == IPPROTO_TCP;
	const char *second = "none";
	size_t checked = tails.checked;
	long gone = tails.gone;
	size_t again_walks = 0;
	struct sliced sl = {0};
	if (!err && ctx->dump != PV_DUMP_ONCE && (tails.boundaries > 0 || pauses)) {
		bool vouched = tails.check && !pauses && needed <= tail && gone == 0;
		bool listeners = tails.listener_boundary && (q->states & PV_SF(PV_TCP_LISTEN));
		if (ctx->dump == PV_DUMP_TWICE) {
			err = walk_again(nl, q, q->states, l, before, &stats, NULL);
			second = "all";
		} else if (vouched) {
			/*
			 * The connections' boundaries are vouched for, but not the
			 * listeners' (an exact lookup of an SO_REUSEPORT listener may
			 * answer with another of its group): walk them again in
			 * slices that each come in one datagram.
			 */
			if (listeners) {
				err = walk_sliced(nl, q, PV_SF(PV_TCP_LISTEN), sel, use_eq, l,
						  before, &stats, &sl);
				second = "listeners";
			}
		} else if (tails.check && !pauses) {
			/*
			 * A connection before a boundary went away meanwhile.  The
			 * hash is not crowded, so a walk again whose own check passes
			 * is complete; under heavy churn it may take another.
			 */
			struct pv_diag_tails t2 = {.check = true, .tail_len = tail};
			do {
				err = walk_again(nl, q, q->states, l, before, &stats, &t2);
				again_walks++;
				checked += t2.checked;
				vouched = t2.boundaries == 0 || t2.gone == 0;
				pv_diag_tails_free(&t2);
			} while (!err && !vouched && again_walks < 3);
			second = vouched ? "all" : "unverified";
			if (!err && listeners) {
				err = walk_sliced(nl, q, PV_SF(PV_TCP_LISTEN), sel, use_eq, l,
						  before, &stats, &sl);
			}
		} else {
			/* Crowded or unchecked: walk the whole selection in slices. */
			err = walk_sliced(nl, q, q->states, sel, use_eq, l, before, &stats, &sl);
			second = "sliced";
			if (!err && sl.too_many) {
				/* Too many slices: two more whole walks, each a second chance. */
				for (int i = 0; i < 2 && !err; i++, again_walks++)
					err = walk_again(nl, q, q->states, l, before, &stats, NULL);
				second = "unverified";
			}
		}
	}
	pv_diag_tails_free(&tails);
	if (ctx->debug)
		fprintf(stderr,
			"portview: debug: %s%s dump: %zu sockets in %zu datagrams (%zu bytes), "
			"states 0x%x, filter program %zu bytes, hash buckets %u, tail %u of %u "
			"needed, walks again %zu, slices %zu (%zu split%s), boundary records "
			"checked %zu (%ld gone), second pass %s, %zu more\n",
			pv_proto_name(q->proto), fam[q->family], l->n - before, stats.datagrams,
			stats.bytes, q->states, q->bytecode_len, ctx->geometry.buckets, tail,
			needed, again_walks, sl.slices, sl.split,
			sl.slices && !sl.complete ? ", incomplete" : "", checked, gone, second,
			l->n - before - first);
	if (err == -ENOENT || err == -EOPNOTSUPP || err == -EPROTONOSUPPORT) {
		/* The protocol's diag module is missing: show what we can. */
		uint8_t bit = q->proto == IPPROTO_TCP ? 1 : 2;
		if (!(*warned & bit))
			fprintf(stderr,
				"portview: warning: the kernel cannot list %s sockets (%s); "
				"skipped\n",
				pv_proto_name(q->proto), strerror(-err));
		*warned |= bit;
	} else if (err) {
		fprintf(stderr, "portview: %s socket dump failed: %s\n", pv_proto_name(q->proto),
			err == -EBADMSG ? "malformed reply from the kernel" : strerror(-err));
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

int app_collect(const struct pv_options *o, const struct context *ctx, const struct selection *sel,
		struct pv_socklist *l)
{
	static const uint8_t protos[] = {IPPROTO_TCP, IPPROTO_UDP};
	struct mnl_socket *nl;
	int err = pv_diag_open(&nl);
	if (err) {
		fprintf(stderr, "portview: cannot open a netlink sock_diag socket: %s\n",
			strerror(-err));
		return EXIT_RUNTIME;
	}

	/*
	 * Single ports use the exact-match ops where the kernel has them
	 * (Linux 4.17 and later); see dump_one for older kernels.
	 */
	struct pv_buf bytecode;
	pv_buf_init(&bytecode);
	bool use_eq = true;
	if (sel->nclauses && pv_bc_compile(sel->clauses, sel->nclauses, true, &bytecode) < 0)
		bytecode.len = 0; /* too big for the kernel: user space filters */

	int status = EXIT_OK;
	uint8_t warned = 0;
	for (size_t p = 0; p < 2 && status == EXIT_OK; p++) {
		if (!pv_filter_want_proto(o, protos[p]))
			continue;
		struct pv_diag_query q = {
		    .proto = protos[p],
		    .states = pv_filter_proto_states(o, sel->states, protos[p]),
		};
		bool v4 = pv_filter_want_family(o, AF_INET);
		bool v6 = pv_filter_want_family(o, AF_INET6);
		if (v4 && v6 && protos[p] == IPPROTO_TCP && !ctx->per_family) {
			/* One walk of the TCP hash for both families (see sock_diag.h). */
			q.family = AF_UNSPEC;
			status = dump_one(nl, ctx, &q, sel, &bytecode, &use_eq, l, &warned);
			if (status != EXIT_RETRY_PER_FAMILY)
				continue;
			status = EXIT_OK;
		}
		if (v4) {
			q.family = AF_INET;
			status = dump_one(nl, ctx, &q, sel, &bytecode, &use_eq, l, &warned);
		}
		if (v6 && status == EXIT_OK) {
			q.family = AF_INET6;
			status = dump_one(nl, ctx, &q, sel, &bytecode, &use_eq, l, &warned);
		}
	}
	pv_diag_close(nl);
	pv_buf_free(&bytecode);
	return status;
}
