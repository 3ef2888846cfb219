/*
 * The listing again every interval.  One snapshotter per place (its
 * netlink sockets) serves every snapshot of the run.  On a terminal the
 * display is drawn on the live screen (top_watch.c: ncurses, keys between
 * refreshes), which puts the terminal back as it found it and prints the
 * last refresh on it; what portview writes on standard error meanwhile
 * is kept aside until then.  In a pipe each refresh is written in full
 * after its time; with --json, one NDJSON line.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "modes.h"
#include "refresh.h"
#include "top.h"
#include "portview/render.h"
#include "portview/watch.h"

/* The next moment of a schedule every ms, or now when the run has fallen behind. */
static void schedule(struct timespec *next, uint32_t ms)
{
	struct timespec now;
	pv_add_ms(next, ms);
	pv_now_mono(&now);
	if (pv_before(next, &now))
		*next = now;
}

/* The screen for an interval run on a terminal; NULL: each refresh printed in full. */
static struct top_watch *open_screen(const struct pv_request *req)
{
	struct top_watch *scr = top_watch_open(req);
	if (!scr)
		pv_warn("cannot draw on this terminal (TERM=%s): each refresh printed in full",
			getenv("TERM") ? getenv("TERM") : "");
	return scr;
}

int pv_mode_watch(const struct pv_request *req, const struct pv_services *svc, struct pv_places *P)
{
	bool tty = !req->json && isatty(STDOUT_FILENO);
	int status = pv_open_snapshotters(P);
	if (status != EXIT_OK)
		return status;
	int sigfd = pv_signals_open(tty);
	if (sigfd < 0) {
		pv_err_errno(sigfd, "cannot wait for signals");
		return EXIT_RUNTIME;
	}
	struct pv_snap slots[2], *prev = NULL, *cur = &slots[0];
	pv_snap_init(&slots[0]);
	pv_snap_init(&slots[1]);
	struct pv_buf out;
	pv_buf_init(&out);
	struct pv_watch_row *rows = NULL;
	struct pv_watch_header h;
	struct pv_frame f;
	struct top_watch *scr = NULL;
	/* in a pipe: the last table's rows, copied where they did not change */
	struct pv_table_memo *memo = pv_table_memo_new();
	bool gone = false;
	unsigned timeout = req->interval_ms / 2 < PV_RESOLVE_TIMEOUT_MS ? req->interval_ms / 2
									: PV_RESOLVE_TIMEOUT_MS;
	struct timespec next;
	pv_now_mono(&next);
	for (uint64_t taken = 0;;) {
		status = pv_snap_take(req, P, svc, taken > 0, req->info, prev, cur);
		if (status != EXIT_OK)
			break;
		if (!req->table.numeric && !req->json)
			pv_view_resolve_names(&cur->view, timeout);
		if (tty && !scr && !(scr = open_screen(req)))
			tty = false;
		free(rows);
		size_t n;
		h = (struct pv_watch_header){.when = cur->when,
					     .interval_ms = req->interval_ms,
					     .first = !prev,
					     .clock = tty,
					     .rates = req->info};
		/* each row's place in the snapshot before, by cookie: for the marks and the memo */
		uint32_t *match =
		    cur->match ? NULL : pv_watch_match(prev ? &prev->l : NULL, &cur->l);
		const uint32_t *in_prev = cur->match ? cur->match : match;
		rows = pv_watch_compare_matched(prev ? &prev->l : NULL, &cur->l, in_prev, &n,
						&h.counts);
		for (size_t i = 0; cur->rates && i < cur->l.n; i++) {
			h.sent += cur->rates[i].sent;
			h.received += cur->rates[i].received;
		}
		f = (struct pv_frame){
		    .cur = &cur->view, .prev = prev ? &prev->view : NULL, .rows = rows, .n = n};
		if (req->json) {
			pv_render_frame_json(&out, &h, &f);
		} else if (scr) {
			top_watch_show(scr, &h, &f);
		} else {
			/* in full, as a netstat that repeats: each snapshot after its time */
			pv_render_watch_header(&out, &h);
			pv_render_table_again(&out, &cur->view, &req->table, memo, in_prev);
			if (req->debug)
				pv_warn("debug: table: %zu of %zu rows copied from the refresh "
					"before",
					pv_table_memo_reused(memo), cur->l.n);
		}
		free(match);
		if ((status = pv_write_out(&out, &gone)) != EXIT_OK || gone)
			break;
		if (req->count && ++taken >= req->count)
			break;
		taken = taken ? taken : 1; /* no --count: only whether one was taken matters */
		schedule(&next, scr ? top_watch_interval(scr) : req->interval_ms);
		enum pv_wake w =
		    scr ? top_watch_wait(scr, sigfd, &next) : pv_wait_until(sigfd, -1, &next);
		if (w == PV_WAKE_STOP)
			break;
		/* this snapshot becomes the one before; the older one's place takes the next */
		struct pv_snap *old = prev ? prev : &slots[1];
		if (prev) {
			/* its list's memory for the next one's (follow.h) */
			pv_follow_recycle(cur->follow, &prev->l);
			pv_snap_free(prev);
		}
		prev = cur;
		cur = old;
	}
	if (scr)
		top_watch_close(scr);
	free(rows);
	pv_table_memo_free(memo);
	pv_snap_free(&slots[0]);
	pv_snap_free(&slots[1]);
	pv_buf_free(&out);
	close(sigfd);
	return status;
}
