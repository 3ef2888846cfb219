/* A run's kernel dumps: one per protocol (and family where needed). */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "portview/buf.h"
#include "portview/bytecode.h"
#include "portview/sock_diag.h"
#include "portview/state.h"

/* internal: the both-families TCP request failed, use one per family */
enum { EXIT_RETRY_PER_FAMILY = -2 };

static const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_TCP ? "TCP" : "UDP";
}

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

/*
 * A second walk for what the first may have skipped, keeping only the
 * records it did not report; states narrows the walk.  Returns 0 or a
 * negative errno.
 */
static int walk_again(struct mnl_socket *nl, const struct pv_diag_query *q, uint32_t states,
		      struct pv_socklist *l, size_t before, struct pv_diag_stats *stats)
{
	struct pv_diag_query again = *q;
	struct pv_diag_stats more;
	struct pv_cookies known;
	struct pv_socklist extra;
	again.states = states;
	pv_cookies_of(&known, l, before, states);
	pv_socklist_init(&extra);
	extra.keep_more = l->keep_more;
	int err = pv_diag_dump(nl, &again, &known, &extra, &more, NULL);
	if (!err)
		pv_socklist_add_missing(l, before, states, &extra);
	pv_socklist_free(&extra);
	pv_cookies_free(&known);
	stats->datagrams += more.datagrams;
	stats->bytes += more.bytes;
	return err;
}

/*
 * One kernel dump, parsed into l as it arrives.  A filter program the
 * kernel refuses (EINVAL) is compiled again without the EQ ops, then
 * dropped (user space filters anyway).  Returns an exit status.
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

	for (;;) {
		q->bytecode = bytecode->len ? bytecode->data : NULL;
		q->bytecode_len = bytecode->len;
		tails.check = !ctx->single_pass && !ctx->always_twice && boundaries_checkable(q);
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
	 * A dump whose records came in one datagram never resumed, so it
	 * skipped nothing.  Otherwise the dump looked up the connections
	 * before each boundary as it went: if none had gone, the walk skipped
	 * nothing either (sock_diag.h).  Listeners are few and may share a
	 * bucket by the dozen (SO_REUSEPORT), so a boundary among them is
	 * settled by walking the listeners again.  Where the boundaries could
	 * not be checked, or something had gone, walk again.
	 */
	const char *second = "none";
	size_t checked = tails.checked;
	long gone = tails.gone;
	if (!err && !ctx->single_pass && tails.boundaries > 0) {
		bool again = true;
		if (tails.check) {
			if (tails.listener_boundary && (q->states & PV_SF(PV_TCP_LISTEN))) {
				err = walk_again(nl, q, PV_SF(PV_TCP_LISTEN), l, before, &stats);
				second = "listeners";
			}
			again = gone != 0;
		}
		if (again && !err) {
			err = walk_again(nl, q, q->states, l, before, &stats);
			second = "all";
		}
	}
	pv_diag_tails_free(&tails);
	if (ctx->debug)
		fprintf(stderr,
			"portview: debug: %s%s dump: %zu sockets in %zu datagrams (%zu bytes), "
			"states 0x%x, filter program %zu bytes, boundary records checked %zu "
			"(%ld gone), second pass %s, %zu more\n",
			proto_name(q->proto), fam[q->family], l->n - before, stats.datagrams,
			stats.bytes, q->states, q->bytecode_len, checked, gone, second,
			l->n - before - first);
	if (err == -ENOENT || err == -EOPNOTSUPP || err == -EPROTONOSUPPORT) {
		/* The protocol's diag module is missing: show what we can. */
		uint8_t bit = q->proto == IPPROTO_TCP ? 1 : 2;
		if (!(*warned & bit))
			fprintf(stderr,
				"portview: warning: the kernel cannot list %s sockets (%s); "
				"skipped\n",
				proto_name(q->proto), strerror(-err));
		*warned |= bit;
	} else if (err) {
		fprintf(stderr, "portview: %s socket dump failed: %s\n", proto_name(q->proto),
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
