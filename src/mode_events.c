/*
 * --events: a line per socket opened, changed or closed.  Two sources:
 * - BPF (lifecycle.h), when it loads: every change of state of every TCP
 *   socket as it happens, read from the program's ring buffer and made
 *   into rows (lifecycle_batch.c); its losses counted, reported, then a
 *   dump at once.  UDP still comes from sock_diag, as below.
 * - sock_diag: a socket on the destroy groups tells of each close at
 *   once, matched by cookie to the last dump (one no dump saw is told with
 *   the message's addresses, owner unknown); a dump every --interval
 *   tells of the rest.  When the kernel drops close events (ENOBUFS), a
 *   lost event, then a dump at once.
 * PORTVIEW_EVENTS=diag forces the second, =bpf the first (or an error).
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "modes.h"
#include "refresh.h"
#include "portview/lifecycle.h"
#include "portview/owners_bpf.h"
#include "portview/render.h"
#include "portview/sock_diag.h"
#include "portview/state.h"
#include "portview/util.h"
#include "portview/watch.h"

/* Records moved out of the ring buffer per read. */
#define LC_READ 1024

struct events {
	const struct pv_request *req;
	struct pv_snapshotter *s;
	struct pv_buf out;
	struct pv_event_opts o;
	uint64_t n;	       /* events written */
	bool done;	       /* --count reached */
	uint32_t tw_states;    /* the states a TIME_WAIT socket can show that the query selects */
	struct pv_snap *known; /* the last dump */
	struct pv_idmap at;    /* where each cookie of known is */
	struct pv_idmap gone;  /* the cookies the last comparison of dumps said closed */
	uint8_t *reported;     /* per record of known: its close was said */
	/* the BPF source, or NULL */
	struct pv_lifecycle *lc;
	struct pv_lc_batch batch;
	struct pv_lc_ctx ctx;
	uint32_t *listeners;  /* known's TCP listeners */
	uint64_t lost;	      /* the ring buffer's losses reported so far */
	bool resync_tcp;      /* some were lost: the next dump tells TCP's changes too */
	struct pv_idmap seen; /* the cookies the BPF source told of since the last dump */
	int64_t mono_to_real; /* CLOCK_REALTIME less CLOCK_MONOTONIC, ns */
	struct pv_lc_rec *recs;
	const struct pv_services *svc;
	/*
	 * What the dumps ask: the request, or with the BPF source a copy whose
	 * states leave out TCP's short ones (TIME_WAIT, FIN_WAIT_2...): a storm
	 * of connections piles up thousands, which the source tells of anyway;
	 * the listeners (for the owners of accepted connections) are asked too.
	 */
	const struct pv_request *dump_req;
	struct pv_request narrowed;
};

static void event_out(struct events *ev, struct pv_event *e)
{
	if (ev->done)
		return;
	if (!e->life)
		clock_gettime(CLOCK_REALTIME, &e->when);
	if (ev->req->json)
		pv_render_event_json(&ev->out, e);
	else
		pv_render_event(&ev->out, e, &ev->o);
	if (e->kind != PV_EVENT_LOST && ++ev->n == ev->req->count)
		ev->done = true;
}

/* known is a new dump: index it. */
static void know(struct events *ev, struct pv_snap *known)
{
	ev->known = known;
	pv_idmap_free(&ev->at);
	pv_idmap_init(&ev->at, known->l.n);
	for (size_t i = 0; i < known->l.n; i++)
		pv_idmap_put(&ev->at, known->l.v[i].cookie, (uint32_t)i);
	free(ev->reported);
	ev->reported = xcalloc(known->l.n + 1, 1);
	if (ev->lc) {
		free(ev->listeners);
		ev->listeners = pv_lc_listeners(&known->l, &ev->ctx.known.nlisteners);
		ev->ctx.known = (struct pv_lc_known){.view = &known->view,
						     .at = &ev->at,
						     .listeners = ev->listeners,
						     .nlisteners = ev->ctx.known.nlisteners};
	}
}

/*
 * A freed socket no dump saw (opened and closed between two): a close
 * with the kernel's message's addresses, owner unknown, when the query
 * selects it.  The message's TCP state is CLOSE whatever it was: a socket
 * with no foreign port was a listener, or one disconnected (then said
 * closed by the dump that no longer listed it, as those in gone).
 */
static void on_freed_unknown(struct events *ev, const struct pv_view *fv, size_t i,
			     const struct pv_sock *d)
{
	const struct pv_query *q = &ev->req->query;
	uint32_t k;
	uint32_t states = pv_query_proto_states(q, d->proto);
	if (pv_query_by_owner(q) || !pv_query_wants_family(q, d->family) || !states ||
	    !pv_query_keep(q, ev->known->view.ephemeral, d))
		return;
	if (pv_idmap_get(&ev->gone, d->cookie, &k))
		return;
	if (d->proto == IPPROTO_TCP && !(states & PV_SF(PV_TCP_LISTEN)) && d->remote.port == 0)
		return;
	if (d->proto != IPPROTO_TCP && !(states & PV_SF(d->state)))
		return;
	struct pv_event e = {.kind = PV_EVENT_CLOSED, .v = fv, .index = i, .info = d->info};
	event_out(ev, &e);
}

/*
 * The kernel freed socket d.  If the last dump knew it: closed; unless
 * the connection goes on as a TIME_WAIT socket (the same cookie: TIME_WAIT,
 * or FIN_WAIT_2 when its owner had closed it) that the query still
 * selects, which is a change of state, or none.
 */
static void on_freed(struct events *ev, const struct pv_view *fv, size_t i, const struct pv_sock *d)
{
	struct pv_rec *r;
	uint32_t k;
	if (ev->lc && d->proto == IPPROTO_TCP)
		return; /* the BPF source tells of it */
	if (!pv_idmap_get(&ev->at, d->cookie, &k)) {
		on_freed_unknown(ev, fv, i, d);
		return;
	}
	if (ev->reported[k])
		return;
	r = &ev->known->l.v[k];
	/* a TIME_WAIT socket sends nothing: this was the connection before it */
	if (r->state == PV_TCP_TIME_WAIT)
		return;
	if (d->proto == IPPROTO_TCP && ev->tw_states) {
		/*
		 * Asked by the addresses the dump saw (a reset makes the kernel
		 * forget the foreign port before the socket is freed) and the bound
		 * device the message gives.
		 */
		struct pv_sock was;
		uint8_t state;
		pv_socklist_get(&ev->known->l, k, &was);
		was.ifindex = d->ifindex;
		if (pv_snapshot_lookup_state(ev->s, &was, &state) == 0 &&
		    (ev->tw_states & PV_SF(state))) {
			if (state == r->state)
				return;
			struct pv_event e = {.kind = PV_EVENT_CHANGED,
					     .v = &ev->known->view,
					     .index = k,
					     .old_state = r->state};
			r->state = state; /* what the kernel just said */
			event_out(ev, &e);
			return;
		}
	}
	ev->reported[k] = 1;
	struct pv_event e = {
	    .kind = PV_EVENT_CLOSED, .v = &ev->known->view, .index = k, .info = d->info};
	event_out(ev, &e);
}

/*
 * With the BPF source, whether a TCP row of a comparison of dumps is an
 * event: only after a loss (tcp), and only for a socket the source told
 * nothing of since the last dump, and not a TIME_WAIT opening (the source
 * said the connection's close).
 */
static bool tcp_wanted(const struct events *ev, const struct pv_socklist *l,
		       const struct pv_watch_row *w, bool tcp)
{
	uint32_t k;
	const struct pv_rec *r = &l->v[w->index];
	if (!tcp || pv_idmap_get(&ev->seen, r->cookie, &k) ||
	    !(pv_query_proto_states(&ev->req->query, IPPROTO_TCP) & PV_SF(r->state)))
		return false;
	return !(w->change == PV_CHANGE_NEW && r->state == PV_TCP_TIME_WAIT);
}

/*
 * What a new dump, cur, says changed since the last (ev->known); with the
 * BPF source, TCP's only after a loss (tcp).
 */
static void compare_dumps(struct events *ev, struct pv_snap *cur, bool tcp)
{
	size_t n;
	struct pv_watch_counts counts;
	struct pv_watch_row *rows = pv_watch_compare(&ev->known->l, &cur->l, &n, &counts);
	pv_idmap_free(&ev->gone);
	pv_idmap_init(&ev->gone, counts.closed);
	for (size_t i = 0; i < n; i++) {
		const struct pv_watch_row *w = &rows[i];
		const struct pv_socklist *l =
		    w->change == PV_CHANGE_CLOSED ? &ev->known->l : &cur->l;
		if (ev->lc && l->v[w->index].proto == IPPROTO_TCP && !tcp_wanted(ev, l, w, tcp))
			continue;
		struct pv_event e = {.v = &cur->view, .index = w->index, .old_state = w->old_state};
		if (w->change == PV_CHANGE_NEW) {
			e.kind = PV_EVENT_OPENED;
		} else if (w->change == PV_CHANGE_STATE) {
			e.kind = PV_EVENT_CHANGED;
		} else if (w->change == PV_CHANGE_CLOSED && !ev->reported[w->index]) {
			pv_idmap_put(&ev->gone, l->v[w->index].cookie, 0);
			e.kind = PV_EVENT_CLOSED;
			e.v = &ev->known->view;
		} else {
			continue;
		}
		event_out(ev, &e);
	}
	free(rows);
}

/* A read's rows, each an event. */
static void batch_out(struct events *ev)
{
	const struct pv_lc_batch *b = &ev->batch;
	for (size_t i = 0; i < b->l.n && !ev->done; i++) {
		const struct pv_lc_rec *r = &b->ev[i].rec;
		struct pv_event_life life = {
		    .started = (r->flags & PV_LC_F_STARTED) != 0,
		    .duration_ns = r->duration_ns,
		    .bytes = (r->flags & PV_LC_F_BYTES) != 0,
		    .sent = r->bytes_sent,
		    .received = r->bytes_received,
		    .inode = b->ev[i].inode,
		    .reset_sent = r->kind == PV_LC_RESET_SENT,
		    .reason = r->kind == PV_LC_RESET_SENT ? pv_lc_reset_reason(r->reason) : NULL,
		};
		static const enum pv_event_kind kinds[] = {
		    [PV_LC_OPENED] = PV_EVENT_OPENED,
		    [PV_LC_CHANGED] = PV_EVENT_CHANGED,
		    [PV_LC_CLOSED] = PV_EVENT_CLOSED,
		    [PV_LC_RESET_SENT] = PV_EVENT_RESET,
		    [PV_LC_RESET_RECEIVED] = PV_EVENT_RESET,
		    [PV_LC_RETRANSMIT] = PV_EVENT_RETRANSMIT,
		};
		if (r->kind < PV_LC_OPENED || r->kind > PV_LC_RETRANSMIT)
			continue;
		struct pv_event e = {.kind = kinds[r->kind],
				     .v = &b->view,
				     .index = i,
				     .old_state = r->oldstate,
				     .life = &life};
		pv_idmap_put(&ev->seen, r->cookie, 0);
		int64_t t = (int64_t)r->ts_ns + ev->mono_to_real;
		e.when.tv_sec = (time_t)(t / 1000000000);
		e.when.tv_nsec = (long)(t % 1000000000);
		event_out(ev, &e);
	}
}

/*
 * The BPF source's records waiting (a read's worth), as events.  Returns whether some were
 * lost since the last call (said as a lost event: a dump follows).
 */
static bool on_records(struct events *ev)
{
	/* one read at a time, written out before the next: memory bounded by a read's */
	size_t n = pv_lifecycle_read(ev->lc, ev->recs, LC_READ);
	if (n) {
		pv_lc_batch_build(&ev->batch, &ev->ctx, ev->recs, n);
		batch_out(ev);
	}
	/*
	 * A few records: let more gather before the next wake-up, which would
	 * otherwise come for each (a wake-up, a read and a write per change
	 * cost more than the change's line).  A line comes at most 2 ms late.
	 */
	if (n && n < LC_READ / 8) {
		struct timespec pause = {0, 2000000};
		nanosleep(&pause, NULL);
	}
	uint64_t lost = pv_lifecycle_lost(ev->lc);
	if (lost == ev->lost)
		return false;
	struct pv_event e = {.kind = PV_EVENT_LOST, .lost = lost - ev->lost, .lost_bpf = true};
	ev->lost = lost;
	event_out(ev, &e);
	return true;
}

/* PORTVIEW_EVENTS: bpf, diag or empty (either, BPF first). */
static int events_source(const char **want)
{
	const char *v = getenv("PORTVIEW_EVENTS");
	*want = v && v[0] ? v : NULL;
	if (*want && strcmp(v, "bpf") != 0 && strcmp(v, "diag") != 0) {
		pv_err("PORTVIEW_EVENTS=%s: not a source of events (valid: bpf, diag)", v);
		return EXIT_USAGE;
	}
	return PV_GO_ON;
}

/*
 * Load the BPF source when TCP is asked for and it can be (or must be:
 * PORTVIEW_EVENTS=bpf).  Returns PV_GO_ON, with ev->lc NULL for sock_diag
 * alone, or an exit status.
 */
static int open_lifecycle(struct events *ev, const struct pv_places *P)
{
	const char *want;
	int status = events_source(&want);
	if (status != PV_GO_ON)
		return status;
	bool forced = want && strcmp(want, "bpf") == 0;
	if ((want && !forced) || !pv_query_wants_proto(&ev->req->query, IPPROTO_TCP))
		return PV_GO_ON;
	if (!forced && !pv_bpf_capable())
		return PV_GO_ON;
	struct pv_lifecycle_opts o = {.only_netns = P->multi ? 0 : P->vn[0].ino,
				      .q = &ev->req->query};
	struct stat st;
	if (stat("/proc/self/ns/pid", &st) == 0) {
		o.pidns_dev = st.st_dev;
		o.pidns_ino = st.st_ino;
	}
	int err = pv_lifecycle_open(&ev->lc, &o);
	if (err) {
		ev->lc = NULL;
		if (forced) {
			pv_err_errno(err,
				     "PORTVIEW_EVENTS=bpf: cannot load the BPF lifecycle source");
			return EXIT_RUNTIME;
		}
		return PV_GO_ON;
	}
	struct timespec mono, real;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	ev->mono_to_real = ((int64_t)real.tv_sec - mono.tv_sec) * 1000000000 +
			   ((int64_t)real.tv_nsec - mono.tv_nsec);
	ev->recs = xreallocarray(NULL, LC_READ, sizeof(*ev->recs));
	ev->narrowed = *ev->req;
	ev->narrowed.query.states =
	    (ev->req->query.states & (PV_SF(PV_TCP_ESTABLISHED) | PV_SF(PV_TCP_CLOSE))) |
	    PV_SF(PV_TCP_LISTEN);
	ev->dump_req = &ev->narrowed;
	pv_lc_batch_init(&ev->batch);
	ev->ctx = (struct pv_lc_ctx){.q = &ev->req->query,
				     .svc = ev->svc,
				     .places = P->vn,
				     .nplaces = P->n,
				     .all = P->multi};
	return PV_GO_ON;
}

/* With the BPF source, TCP's closes are its: the destroy groups' only UDP's. */
static void leave_tcp_groups(struct mnl_socket *nl)
{
	int fd = pv_diag_fd(nl);
	int groups[] = {SKNLGRP_INET_TCP_DESTROY, SKNLGRP_INET6_TCP_DESTROY};
	for (size_t i = 0; i < ARRAY_SIZE(groups); i++)
		setsockopt(fd, SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, &groups[i], sizeof(groups[i]));
}

/* One descriptor to wait on for both sources' input. */
static int input_fd(struct events *ev, struct mnl_socket *nl)
{
	if (!ev->lc)
		return pv_diag_fd(nl);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return -errno;
	struct epoll_event e = {.events = EPOLLIN};
	if (epoll_ctl(ep, EPOLL_CTL_ADD, pv_diag_fd(nl), &e) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, pv_lifecycle_fd(ev->lc), &e) < 0) {
		int err = -errno;
		close(ep);
		return err;
	}
	return ep;
}

/* The destroy groups' messages waiting; false (with *status) on a failure. */
static bool read_freed(struct events *ev, struct mnl_socket *nl, struct pv_socklist *freed,
		       bool *resync, int *status)
{
	pv_socklist_free(freed);
	freed->keep_info = ev->req->info;
	int err = pv_diag_read_destroyed(nl, freed);
	/* a freed TCP socket's message says CLOSE (or BOUND): its last state is not known */
	for (size_t i = 0; i < freed->n; i++)
		if (freed->v[i].proto == IPPROTO_TCP &&
		    (freed->v[i].state == PV_TCP_CLOSE ||
		     freed->v[i].state == PV_TCP_BOUND_INACTIVE))
			freed->v[i].state = 0;
	struct pv_view fv;
	pv_view_init(&fv, freed, ev->svc, ev->known->view.ephemeral);
	for (size_t i = 0; i < freed->n; i++) {
		struct pv_sock d;
		pv_socklist_get(freed, i, &d);
		on_freed(ev, &fv, i, &d);
	}
	pv_view_free(&fv);
	if (err == -ENOBUFS) {
		struct pv_event e = {.kind = PV_EVENT_LOST};
		event_out(ev, &e);
		*resync = true;
	} else if (err && err != -EAGAIN) {
		pv_err_errno(err, "cannot read socket close events");
		*status = EXIT_RUNTIME;
		return false;
	}
	return true;
}

/* Until a signal, --count or a failure: each source's input, a dump every interval. */
static int events_loop(struct events *ev, const struct pv_places *P, int sigfd, int infd,
		       struct mnl_socket *freed_nl, struct pv_snap slots[2])
{
	const struct pv_request *req = ev->req;
	struct pv_socklist freed;
	pv_socklist_init(&freed);
	bool gone = false;
	struct timespec next;
	pv_now_mono(&next);
	pv_add_ms(&next, req->interval_ms);
	int status = EXIT_OK;
	while (status == EXIT_OK && !gone && !ev->done) {
		enum pv_wake w = pv_wait_until(sigfd, infd, &next);
		if (w == PV_WAKE_STOP)
			break;
		bool resync = false;
		/*
		 * Losses: the next regular dump tells what they hid (not one at
		 * once: under a storm, a dump, with its owner scan, would make more)
		 */
		if (w == PV_WAKE_INPUT && ev->lc && on_records(ev))
			ev->resync_tcp = true;
		if (w == PV_WAKE_INPUT && !read_freed(ev, freed_nl, &freed, &resync, &status))
			break;
		struct timespec now;
		pv_now_mono(&now);
		/* a steady stream of input never lets the wait time out */
		bool due = w == PV_WAKE_TIME || !pv_before(&now, &next);
		/* TCP alone from the BPF source: no dump is needed, but after a loss */
		if (due && !resync && ev->lc && !ev->resync_tcp &&
		    !pv_query_wants_proto(&req->query, IPPROTO_UDP)) {
			pv_idmap_free(&ev->seen);
			pv_idmap_init(&ev->seen, 0);
			pv_now_mono(&next);
			pv_add_ms(&next, req->interval_ms);
		} else if ((due || resync) && !ev->done) {
			struct pv_snap *cur = ev->known == &slots[0] ? &slots[1] : &slots[0];
			status = pv_snap_take(ev->dump_req, P, ev->svc, true, false, NULL, cur);
			if (status != EXIT_OK)
				break;
			compare_dumps(ev, cur, ev->resync_tcp);
			ev->resync_tcp = false;
			pv_idmap_free(&ev->seen);
			pv_idmap_init(&ev->seen, 0);
			pv_snap_free(ev->known);
			know(ev, cur);
			pv_now_mono(&next);
			pv_add_ms(&next, req->interval_ms);
		}
		status = pv_write_out(&ev->out, &gone);
	}
	if (status == EXIT_OK && !gone)
		status = pv_write_out(&ev->out, &gone);
	pv_socklist_free(&freed);
	return status;
}

int pv_mode_events(const struct pv_request *req, const struct pv_services *svc, struct pv_places *P)
{
	struct events ev = {
	    .req = req,
	    .dump_req = req,
	    .svc = svc,
	    .o = {.plain = req->table.plain, .info = req->info, .netns = P->multi},
	    /* the TIME_WAIT that follows a connection has no owner: --pid drops it */
	    .tw_states = pv_query_by_owner(&req->query)
			     ? 0
			     : pv_query_proto_states(&req->query, IPPROTO_TCP) &
				   (PV_SF(PV_TCP_TIME_WAIT) | PV_SF(PV_TCP_FIN_WAIT2)),
	};
	struct mnl_socket *freed_nl = NULL;
	int status = pv_open_snapshotters(P);
	if (status != EXIT_OK)
		return status;
	ev.s = P->v[0].snap; /* the destroy groups are portview's namespace's */
	status = open_lifecycle(&ev, P);
	if (status != PV_GO_ON)
		return status;
	if (P->multi && !ev.lc) {
		pv_err("--events --all-netns needs the BPF source (CAP_BPF and CAP_PERFMON, or "
		       "CAP_SYS_ADMIN; not PORTVIEW_EVENTS=diag)");
		return EXIT_RUNTIME;
	}
	/* subscribed before the first dump, so that no close after it is missed */
	int err = pv_diag_open_destroyed(&freed_nl);
	if (err) {
		pv_err_errno(err, "cannot subscribe to the kernel's socket close events");
		pv_lifecycle_close(ev.lc);
		return EXIT_RUNTIME;
	}
	if (ev.lc)
		leave_tcp_groups(freed_nl);
	int sigfd = pv_signals_open(false);
	int infd = sigfd < 0 ? -1 : input_fd(&ev, freed_nl);
	if (sigfd < 0 || infd < 0) {
		pv_err_errno(sigfd < 0 ? sigfd : infd, "cannot wait for signals");
		if (sigfd >= 0)
			close(sigfd);
		pv_diag_close(freed_nl);
		pv_lifecycle_close(ev.lc);
		return EXIT_RUNTIME;
	}
	pv_idmap_init(&ev.gone, 0);
	pv_idmap_init(&ev.seen, 0);
	struct pv_snap slots[2];
	pv_snap_init(&slots[0]);
	pv_snap_init(&slots[1]);
	pv_buf_init(&ev.out);
	bool gone = false;

	status = pv_snap_take(ev.dump_req, P, svc, false, false, NULL, &slots[0]);
	if (status == EXIT_OK) {
		know(&ev, &slots[0]);
		if (!req->json && !req->table.no_header) {
			pv_render_event_source(&ev.out, ev.lc != NULL, req->interval_ms);
			pv_render_event_header(&ev.out, &ev.o);
		}
		status = pv_write_out(&ev.out, &gone);
	}
	if (status == EXIT_OK && !gone)
		status = events_loop(&ev, P, sigfd, infd, freed_nl, slots);
	pv_idmap_free(&ev.at);
	pv_idmap_free(&ev.gone);
	pv_idmap_free(&ev.seen);
	free(ev.reported);
	free(ev.listeners);
	free(ev.recs);
	if (ev.lc)
		pv_lc_batch_free(&ev.batch);
	pv_lifecycle_close(ev.lc);
	pv_snap_free(&slots[0]);
	pv_snap_free(&slots[1]);
	pv_buf_free(&ev.out);
	if (infd != pv_diag_fd(freed_nl))
		close(infd);
	close(sigfd);
	pv_diag_close(freed_nl);
	return status;
}
