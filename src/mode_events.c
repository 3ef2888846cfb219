/*
 * --events: a line per socket opened, changed or closed.  A socket on the
 * sock_diag destroy groups tells of each close at once, matched by cookie
 * to the last dump; a dump every --interval tells of the rest.  When the
 * kernel drops close events (ENOBUFS), a lost event, then a dump at once.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <unistd.h>

#include "modes.h"
#include "refresh.h"
#include "portview/render.h"
#include "portview/sock_diag.h"
#include "portview/state.h"
#include "portview/util.h"
#include "portview/watch.h"

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
	uint8_t *reported;     /* per record of known: its close was said */
};

static void event_out(struct events *ev, struct pv_event *e)
{
	if (ev->done)
		return;
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
}

/*
 * The kernel freed socket d.  If the last dump knew it: closed; unless
 * the connection goes on as a TIME_WAIT socket (the same cookie: TIME_WAIT,
 * or FIN_WAIT_2 when its owner had closed it) that the query still
 * selects, which is a change of state, or none.
 */
static void on_freed(struct events *ev, const struct pv_sock *d)
{
	struct pv_rec *r;
	uint32_t k;
	if (!pv_idmap_get(&ev->at, d->cookie, &k) || ev->reported[k])
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

/* What a new dump, cur, says changed since the last (ev->known). */
static void compare_dumps(struct events *ev, struct pv_snap *cur)
{
	size_t n;
	struct pv_watch_counts counts;
	struct pv_watch_row *rows = pv_watch_compare(&ev->known->l, &cur->l, &n, &counts);
	for (size_t i = 0; i < n; i++) {
		const struct pv_watch_row *w = &rows[i];
		struct pv_event e = {.v = &cur->view, .index = w->index, .old_state = w->old_state};
		if (w->change == PV_CHANGE_NEW) {
			e.kind = PV_EVENT_OPENED;
		} else if (w->change == PV_CHANGE_STATE) {
			e.kind = PV_EVENT_CHANGED;
		} else if (w->change == PV_CHANGE_CLOSED && !ev->reported[w->index]) {
			e.kind = PV_EVENT_CLOSED;
			e.v = &ev->known->view;
		} else {
			continue;
		}
		event_out(ev, &e);
	}
	free(rows);
}

int pv_mode_events(const struct pv_request *req, const struct pv_services *svc, struct pv_places *P)
{
	struct events ev = {
	    .req = req,
	    .o = {.plain = req->table.plain, .info = req->info},
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
	ev.s = P->v[0].snap; /* one namespace (cli.c refuses --all-netns) */
	/* subscribed before the first dump, so that no close after it is missed */
	int err = pv_diag_open_destroyed(&freed_nl);
	if (err) {
		pv_err_errno(err, "cannot subscribe to the kernel's socket close events");
		return EXIT_RUNTIME;
	}
	int sigfd = pv_signals_open(false);
	if (sigfd < 0) {
		pv_err_errno(sigfd, "cannot wait for signals");
		pv_diag_close(freed_nl);
		return EXIT_RUNTIME;
	}
	struct pv_snap slots[2];
	pv_snap_init(&slots[0]);
	pv_snap_init(&slots[1]);
	pv_buf_init(&ev.out);
	struct pv_socklist freed;
	pv_socklist_init(&freed);
	bool gone = false;
	struct timespec next;

	status = pv_snap_take(req, P, svc, false, false, NULL, &slots[0]);
	if (status == EXIT_OK) {
		know(&ev, &slots[0]);
		if (!req->json && !req->table.no_header)
			pv_render_event_header(&ev.out, &ev.o);
		status = pv_write_out(&ev.out, &gone);
		pv_now_mono(&next);
		pv_add_ms(&next, req->interval_ms);
	}
	while (status == EXIT_OK && !gone && !ev.done) {
		enum pv_wake w = pv_wait_until(sigfd, pv_diag_fd(freed_nl), &next);
		if (w == PV_WAKE_STOP)
			break;
		bool resync = false;
		if (w == PV_WAKE_INPUT) {
			pv_socklist_free(&freed);
			freed.keep_info = req->info;
			err = pv_diag_read_destroyed(freed_nl, &freed);
			for (size_t i = 0; i < freed.n; i++) {
				struct pv_sock d;
				pv_socklist_get(&freed, i, &d);
				on_freed(&ev, &d);
			}
			if (err == -ENOBUFS) {
				struct pv_event e = {.kind = PV_EVENT_LOST};
				event_out(&ev, &e);
				resync = true;
			} else if (err) {
				pv_err_errno(err, "cannot read socket close events");
				status = EXIT_RUNTIME;
				break;
			}
		}
		if ((w == PV_WAKE_TIME || resync) && !ev.done) {
			struct pv_snap *cur = ev.known == &slots[0] ? &slots[1] : &slots[0];
			status = pv_snap_take(req, P, svc, true, false, NULL, cur);
			if (status != EXIT_OK)
				break;
			compare_dumps(&ev, cur);
			pv_snap_free(ev.known);
			know(&ev, cur);
			pv_now_mono(&next);
			pv_add_ms(&next, req->interval_ms);
		}
		status = pv_write_out(&ev.out, &gone);
	}
	if (status == EXIT_OK && !gone)
		status = pv_write_out(&ev.out, &gone);
	pv_socklist_free(&freed);
	pv_idmap_free(&ev.at);
	free(ev.reported);
	pv_snap_free(&slots[0]);
	pv_snap_free(&slots[1]);
	pv_buf_free(&ev.out);
	close(sigfd);
	pv_diag_close(freed_nl);
	return status;
}
