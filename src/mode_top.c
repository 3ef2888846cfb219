/*
 * --top: the live screen.  The terminal is top_term.c's (ncurses, put
 * back as it was, also on a crash); snapshots are taken on a thread of their own, so
 * that keys are answered at once while one is being taken (the screen
 * only ever reads the frame it has, top.h); signals come from
 * refresh.c's signalfd (SIGINT, SIGTERM, SIGHUP end the run, SIGWINCH
 * redraws, SIGTSTP suspends).  What portview writes on standard error
 * meanwhile is kept aside and written once the terminal is back.
 *
 * The '/' filter is read by the command line's own parser
 * (pv_cli_parse_filter) into a query, and the run goes on with a copy of
 * the request holding that query: the one place a request is copied.
 */
#include <curses.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "modes.h"
#include "refresh.h"
#include "i18n.h"
#include "top.h"
#if __has_include("portview/destroy.h")
#include "portview/destroy.h"
#define HAVE_DESTROY 1
#endif

/* ---- the refresh thread ---- */

struct worker {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool job, quit; /* under mu */
	int done;	/* an eventfd: a job has finished */
	/* a job's inputs, set while it is idle */
	const struct pv_request *req;
	const struct pv_services *svc;
	struct pv_places *P;
	struct top_build b;
	bool reset;		     /* start afresh: nothing before (a new filter) */
	const struct top_frame *old; /* the screen's frame: read only, by both */
	/* its own */
	struct pv_snap slots[2], *prev, *cur;
	uint64_t taken;
	/* a job's outputs */
	struct top_frame out;
	int status;
};

static void run_job(struct worker *w)
{
	bool fresh = w->reset;
	if (fresh && w->prev) {
		pv_snap_free(w->prev);
		w->prev = NULL;
	}
	w->reset = false;
	/* the older snapshot's list: its memory for the next one's (follow.h) */
	if (w->prev) {
		pv_follow_recycle(w->prev->follow, &w->cur->l);
		pv_follow_fresh(w->prev->follow, w->b.detail_key);
	}
	pv_snap_free(w->cur);
	top_frame_clear(&w->out);
	w->status = pv_snap_take(w->req, w->P, w->svc, w->taken++ > 0, true, w->prev, w->cur);
	if (w->status != EXIT_OK)
		return;
	if (w->b.names)
		pv_view_resolve_names(&w->cur->view, PV_RESOLVE_TIMEOUT_MS / 2);
	top_frame_build(&w->out, &w->b, w->cur, w->prev, fresh ? NULL : w->old);
	/* this snapshot becomes the one before; the older one's place takes the next */
	struct pv_snap *older = w->prev ? w->prev : &w->slots[w->cur == &w->slots[0]];
	w->prev = w->cur;
	w->cur = older;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->job && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->quit)
			break;
		pthread_mutex_unlock(&w->mu);
		run_job(w);
		pthread_mutex_lock(&w->mu);
		w->job = false; /* before the screen hears of it: it may hand over the next */
		uint64_t one = 1;
		if (write(w->done, &one, sizeof(one)) < 0)
			w->status = EXIT_RUNTIME;
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void worker_go(struct worker *w)
{
	pthread_mutex_lock(&w->mu);
	w->job = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static int worker_start(struct worker *w)
{
	w->done = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->done < 0)
		return -errno;
	pv_snap_init(&w->slots[0]);
	pv_snap_init(&w->slots[1]);
	w->cur = &w->slots[0];
	top_frame_init(&w->out);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	int err = pthread_create(&w->thread, NULL, worker_main, w);
	if (err) {
		close(w->done);
		return -err;
	}
	return 0;
}

static void worker_stop(struct worker *w)
{
	pthread_mutex_lock(&w->mu);
	w->quit = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pv_snap_free(&w->slots[0]);
	pv_snap_free(&w->slots[1]);
	top_frame_free(&w->out);
	close(w->done);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
}

/* ---- the run ---- */

struct top_run {
	const struct pv_request *req;
	struct pv_request filtered; /* req with the '/' filter's query */
	bool has_filter;
	struct pv_places *P;
	struct top_state st;
	struct top_frame frames[2], *frame;
	struct worker w;
	bool busy;
	struct timespec next;
	uint64_t refreshes;
};

/* The '/' filter typed: read by the options' parser; its error in the status line. */
static void apply_filter(struct top_run *t)
{
	struct top_state *st = &t->st;
	st->filter_changed = false;
	if (!st->filter_next[0]) {
		t->has_filter = false;
		st->filter[0] = '\0';
		top_say(st, false, "every socket");
	} else {
		struct pv_request parsed;
		char err[256];
		if (!pv_cli_parse_filter(st->filter_next, &parsed, err, sizeof(err))) {
			top_say(st, true, "%s", err);
			return;
		}
		t->filtered = *t->req;
		t->filtered.query = parsed.query;
		t->has_filter = true;
		memcpy(st->filter, st->filter_next, sizeof(st->filter));
		top_say(st, false, "filter: %s", st->filter);
	}
	t->w.reset = true;
	pv_now_mono(&t->next);
}

/* k and K answered y: close the socket, or signal its process; the result in the status line. */
static void act(struct top_run *t)
{
	struct top_state *st = &t->st;
	const struct top_row *r = &st->target;
	int a = st->act;
	st->act = 0;
	if (a == 'T' || a == '9') {
		int sig = a == '9' ? SIGKILL : SIGTERM;
		if (kill(r->pid, sig) == 0)
			top_say(st, false, "sent %s to %d/%s", a == '9' ? "SIGKILL" : "SIGTERM",
				(int)r->pid, st->target_text[2]);
		else
			top_say(st, true, "%d/%s: %s", (int)r->pid, st->target_text[2],
				errno == EPERM ? _("no permission") : strerror(errno));
		return;
	}
#ifdef HAVE_DESTROY
	size_t place = r->s.netns < t->P->n ? r->s.netns : 0;
	const struct pv_netns *ns = &t->P->v[place].ns;
	int err = pv_destroy(&r->s, ns->own || t->P->n == 1 ? -1 : ns->fd);
	if (err == 0)
		top_say(st, false, "closed %s -> %s", st->target_text[0], st->target_text[1]);
	else
		top_say(st, true, "%s -> %s: %s", st->target_text[0], st->target_text[1],
			pv_destroy_strerror(err));
#else
	top_say(st, true, "closing is not built into this portview (no SOCK_DESTROY)");
#endif
	pv_now_mono(&t->next); /* show it gone at once */
}

/* Hand the thread its next snapshot. */
static void start_refresh(struct top_run *t)
{
	struct worker *w = &t->w;
	w->req = t->has_filter ? &t->filtered : t->req;
	w->b = (struct top_build){.names = t->st.names,
				  .units = t->st.units,
				  .highlight_ms = t->st.highlight_ms,
				  .detail_key = t->st.details ? t->st.sel_key[TOP_SOCKETS] : 0,
				  .proc_root = t->req->proc_root,
				  .svc = w->svc};
	memcpy(w->b.sort, t->st.sort, sizeof(w->b.sort));
	memcpy(w->b.reverse, t->st.reverse, sizeof(w->b.reverse));
	w->old = t->frame;
	t->busy = true;
	worker_go(w);
	t->next = (struct timespec){0};
	pv_now_mono(&t->next);
	pv_add_ms(&t->next, t->st.interval_ms);
}

/* The thread's frame becomes the screen's.  Returns an exit status or PV_GO_ON. */
static int take_frame(struct top_run *t)
{
	uint64_t n;
	if (read(t->w.done, &n, sizeof(n)) < 0)
		return PV_GO_ON;
	t->busy = false;
	if (t->w.status != EXIT_OK)
		return t->w.status;
	struct top_frame *next = t->frame == &t->frames[0] ? &t->frames[1] : &t->frames[0];
	struct top_frame spare = *next; /* shown two refreshes ago: nothing reads it now */
	*next = t->w.out;		/* the thread's buffers move over */
	t->w.out = spare;		/* and the spare's go back for its next build */
	next->gen = ++t->refreshes;
	t->frame = next;
	top_sort(&t->st, t->frame);
	if (t->req->count && t->refreshes >= t->req->count)
		return EXIT_OK;
	return PV_GO_ON;
}

static void keys(struct top_run *t)
{
	int ch;
	while ((ch = getch()) != ERR) {
		top_key(&t->st, t->frame, ch);
		if (t->st.act)
			act(t);
		if (t->st.refresh_now) {
			t->st.refresh_now = false;
			pv_now_mono(&t->next);
		}
	}
}

/* How long to wait: until the next refresh is due, or for the thread. */
static int wait_ms(const struct top_run *t)
{
	if (t->busy || t->st.paused)
		return -1;
	struct timespec now;
	pv_now_mono(&now);
	if (!pv_before(&now, &t->next))
		return 0;
	long ms = (t->next.tv_sec - now.tv_sec) * 1000 + (t->next.tv_nsec - now.tv_nsec) / 1000000;
	return ms < 1 ? 1 : (int)ms;
}

/* A signal: PV_GO_ON, or the exit status that ends the run. */
static int on_signal(struct top_run *t, int sigfd)
{
	struct timespec now;
	pv_now_mono(&now);
	enum pv_wake w = pv_wait_until(sigfd, -1, &now);
	if (w == PV_WAKE_STOP)
		return EXIT_OK;
	if (w == PV_WAKE_SUSPEND)
		top_term_suspend();
	if (w == PV_WAKE_RESIZE || w == PV_WAKE_SUSPEND) {
		top_term_resized();
		memset(t->st.width, 0, sizeof(t->st.width));
		memset(t->st.measured, 0, sizeof(t->st.measured));
	}
	return PV_GO_ON;
}

static int loop(struct top_run *t, int sigfd)
{
	int status = PV_GO_ON;
	while (status == PV_GO_ON && !t->st.quit) {
		if (!t->busy && t->st.filter_changed)
			apply_filter(t);
		if (!t->busy && !t->st.paused && wait_ms(t) == 0)
			start_refresh(t);
		top_draw(&t->st, t->frame);
		struct pollfd p[3] = {{.fd = sigfd, .events = POLLIN},
				      {.fd = STDIN_FILENO, .events = POLLIN},
				      {.fd = t->w.done, .events = POLLIN}};
		int n = poll(p, 3, wait_ms(t));
		if (n < 0 && errno != EINTR)
			return EXIT_RUNTIME;
		if (n <= 0)
			continue;
		if (p[0].revents)
			status = on_signal(t, sigfd);
		if (p[1].revents & (POLLHUP | POLLERR))
			return EXIT_OK; /* the terminal has gone */
		if (p[1].revents)
			keys(t);
		if (p[2].revents && status == PV_GO_ON)
			status = take_frame(t);
	}
	return status == PV_GO_ON ? EXIT_OK : status;
}

int pv_mode_top(const struct pv_request *req, const struct pv_services *svc, struct pv_places *P)
{
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		pv_err("--top needs a terminal; in a pipe, try portview -ano -i 1");
		return EXIT_USAGE;
	}
	int status = pv_open_snapshotters(P);
	if (status != EXIT_OK)
		return status;
	int sigfd = pv_signals_open(true);
	if (sigfd < 0) {
		pv_err_errno(sigfd, "cannot wait for signals");
		return EXIT_RUNTIME;
	}
	struct top_run *t = xcalloc(1, sizeof(*t));
	t->req = req;
	t->P = P;
	top_state_init(&t->st, !req->table.numeric, req->table.unit, req->interval_ms,
		       req->highlight_ms, req->by_process);
	top_frame_init(&t->frames[0]);
	top_frame_init(&t->frames[1]);
	t->frame = &t->frames[0];
	t->w.svc = svc;
	t->w.P = P;
	pv_now_mono(&t->next);
	int err = worker_start(&t->w);
	struct screen *scr = err ? NULL : top_term_open();
	if (err || !scr) {
		if (err)
			pv_err_errno(err, "cannot start the refresh thread");
		else
			pv_err("cannot draw on this terminal (TERM=%s)",
			       getenv("TERM") ? getenv("TERM") : "");
		status = EXIT_RUNTIME;
	} else {
		t->st.color = req->table.color;
		top_screen_colors(&t->st);
		struct pv_aside aside;
		pv_aside_start(&aside);
		status = loop(t, sigfd);
		top_term_close(scr);
		pv_aside_end(&aside);
	}
	if (!err)
		worker_stop(&t->w);
	top_frame_free(&t->frames[0]);
	top_frame_free(&t->frames[1]);
	top_state_free(&t->st);
	free(t);
	close(sigfd);
	return status;
}
