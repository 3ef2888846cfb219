/*
 * The runs that go on: the listing again every interval, and the event
 * stream.  One snapshotter (its netlink sockets) serves every snapshot of
 * a run.  SIGINT, SIGTERM and SIGHUP end a run with status 0: they are
 * blocked and read from a signalfd between snapshots, so that a snapshot
 * is never cut short.  On a terminal the interval display draws on the
 * alternate screen, one write per refresh, and puts the terminal back as
 * it found it, the last refresh printed on its normal screen (also while
 * stopped by Ctrl-Z); what it writes on standard error meanwhile is kept
 * aside until then.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "run.h"
#include "portview/render.h"
#include "portview/sock_diag.h"
#include "portview/sort.h"
#include "portview/state.h"
#include "portview/util.h"
#include "portview/watch.h"

/* ---- time ---------------------------------------------------------------------------------- */

static void now_mono(struct timespec *t)
{
	clock_gettime(CLOCK_MONOTONIC, t);
}

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void add_ms(struct timespec *t, uint32_t ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static bool before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* The next moment of a schedule every ms, or now when the run has fallen behind. */
static void schedule(struct timespec *next, uint32_t ms)
{
	struct timespec now;
	add_ms(next, ms);
	now_mono(&now);
	if (before(next, &now))
		*next = now;
}

/* ---- signals ------------------------------------------------------------------------------- */

enum wake { WAKE_TIME, WAKE_STOP, WAKE_SUSPEND, WAKE_RESIZE, WAKE_INPUT };

/*
 * Block the signals that end a run (and, on a terminal, SIGWINCH and
 * SIGTSTP) and read them from a descriptor.  Threads started later (the
 * /proc walk's) inherit the mask.  Returns the descriptor, or a negative
 * errno.
 */
static int signals_open(bool terminal)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (terminal) {
		sigaddset(&set, SIGWINCH);
		sigaddset(&set, SIGTSTP);
	}
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/*
 * Wait until deadline (CLOCK_MONOTONIC), a signal, or input on fd (-1:
 * none), whichever comes first; a signal that ends the run wins.
 */
static enum wake wait_until(int sigfd, int fd, const struct timespec *deadline)
{
	for (;;) {
		struct timespec now, left = {0, 0};
		now_mono(&now);
		if (before(&now, deadline)) {
			left.tv_sec = deadline->tv_sec - now.tv_sec;
			left.tv_nsec = deadline->tv_nsec - now.tv_nsec;
			if (left.tv_nsec < 0) {
				left.tv_sec--;
				left.tv_nsec += 1000000000L;
			}
		}
		struct pollfd p[2] = {{.fd = sigfd, .events = POLLIN},
				      {.fd = fd, .events = POLLIN}};
		int n = ppoll(p, fd >= 0 ? 2 : 1, &left, NULL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return WAKE_STOP; /* cannot wait: end the run rather than spin */
		if (n == 0)
			return WAKE_TIME;
		if (p[0].revents) {
			struct signalfd_siginfo si;
			bool stop = false, suspend = false, resize = false;
			while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGWINCH)
					resize = true;
				else if (si.ssi_signo == SIGTSTP)
					suspend = true;
				else
					stop = true;
			}
			if (stop)
				return WAKE_STOP;
			if (suspend)
				return WAKE_SUSPEND;
			if (resize)
				return WAKE_RESIZE;
		}
		if (fd >= 0 && p[1].revents)
			return WAKE_INPUT;
	}
}

/* ---- snapshots ----------------------------------------------------------------------------- */

struct snap {
	struct pv_socklist l;
	struct pv_view view;
	bool has_view;
	struct pv_rate *rates; /* -i in an interval: per record of l */
	struct timespec at;    /* when it was taken: CLOCK_MONOTONIC */
	struct timespec when;  /* and CLOCK_REALTIME */
};

static void snap_init(struct snap *s)
{
	memset(s, 0, sizeof(*s));
	pv_socklist_init(&s->l);
}

static void snap_free(struct snap *s)
{
	if (s->has_view)
		pv_view_free(&s->view);
	free(s->rates);
	pv_socklist_free(&s->l);
	snap_init(s);
}

/*
 * Take a snapshot into snap: the view, ordered by --sort; with rates,
 * each TCP connection's since prev (may be NULL).  Returns an exit status.
 */
static int take_snap(const struct pv_request *req, const struct places *P,
		     const struct pv_services *svc, bool quiet, bool rates, const struct snap *prev,
		     struct snap *snap)
{
	now_mono(&snap->at);
	clock_gettime(CLOCK_REALTIME, &snap->when);
	int status = pv_gather(req, &req->query, svc, P, quiet, &snap->l, &snap->view);
	snap->has_view = true;
	if (status != EXIT_OK)
		return status;
	const struct pv_socklist *before = prev ? &prev->l : NULL;
	double seconds = prev ? seconds_between(&prev->at, &snap->at) : 0;
	size_t n = snap->l.n;
	if (rates) {
		snap->rates = xcalloc(n + 1, sizeof(*snap->rates));
		pv_watch_rates(before, &snap->l, seconds, snap->rates);
		snap->view.rates = snap->rates;
	}
	if (req->order.n) {
		/* the rate key moves with the records; the rates are then worked out again */
		uint64_t *key = NULL;
		if (snap->rates) {
			key = xcalloc(n + 1, sizeof(*key));
			for (size_t i = 0; i < n; i++)
				key[i] = snap->rates[i].known
					     ? snap->rates[i].sent + snap->rates[i].received + 1
					     : 0;
		}
		pv_socklist_sort_by(&snap->l, &req->order,
				    snap->view.has_owners ? &snap->view.owners : NULL, key);
		free(key);
		if (snap->rates)
			pv_watch_rates(before, &snap->l, seconds, snap->rates);
	}
	return EXIT_OK;
}

/* ---- the interval display ------------------------------------------------------------------ */

/* The terminal's size: its own, else COLUMNS (as cli.c read it) and 24 rows. */
static void screen_size(const struct pv_request *req, unsigned *width, unsigned *height)
{
	struct winsize ws;
	bool known = ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0;
	*width = known && ws.ws_col ? ws.ws_col : req->table.width ? req->table.width : 80;
	*height = known && ws.ws_row ? ws.ws_row : 24;
}

/*
 * A refresh as the terminal shows it: the header line, a blank line, the
 * table fitted to width with what changed marked, cut to height lines
 * with a last line saying how many rows did not fit.
 */
static void compose(const struct pv_request *req, const struct pv_watch_header *h,
		    const struct pv_frame *f, struct pv_buf *text)
{
	unsigned width, height;
	screen_size(req, &width, &height);
	text->len = 0;
	pv_render_watch_header(text, h);
	pv_buf_putc(text, '\n');
	struct pv_table_opts o = req->table;
	o.width = req->table.wide ? 0 : width;
	o.no_title = true;
	o.changes = true;
	pv_render_frame(text, f, &o);
	size_t lines = 0, cut = 0;
	for (size_t i = 0; i < text->len; i++) {
		if (text->data[i] != '\n')
			continue;
		if (++lines == (height > 2 ? height - 1 : 1))
			cut = i + 1;
	}
	if (lines > height && cut) {
		text->len = cut;
		pv_buf_printf(text, "  ... %zu more\n", lines - (height > 2 ? height - 1 : 1));
	}
}

/* Draw text over the previous refresh: each line cleared to its end, one write. */
static void draw(struct pv_buf *out, const struct pv_buf *text, bool first)
{
	if (first) /* the alternate screen, no cursor, no line wrap */
		pv_buf_puts(out, "\033[?1049h\033[?25l\033[?7l");
	pv_buf_puts(out, "\033[H");
	for (size_t i = 0; i < text->len; i++) {
		if (text->data[i] != '\n') {
			pv_buf_putc(out, text->data[i]);
			continue;
		}
		pv_buf_puts(out, "\033[K");
		if (i + 1 < text->len) /* a newline on the last row would scroll */
			pv_buf_putc(out, '\n');
	}
	pv_buf_puts(out, "\033[J");
}

/* The terminal as it was, and the last refresh on its normal screen. */
static void leave(struct pv_buf *out, const struct pv_buf *text)
{
	pv_buf_puts(out, "\033[?7h\033[?25h\033[?1049l");
	pv_buf_add(out, text->data, text->len);
}

/*
 * While the display is on the alternate screen, what portview writes on
 * standard error (a failure, PORTVIEW_DEBUG's lines) would scramble the
 * display and vanish with it: it is kept aside, and written out once the
 * terminal is back.
 */
struct aside {
	int saved; /* the real standard error; -1: not kept aside */
	int fd;
};

static void aside_start(struct aside *a)
{
	a->fd = memfd_create("portview-stderr", MFD_CLOEXEC);
	a->saved = a->fd >= 0 ? dup(STDERR_FILENO) : -1;
	if (a->saved < 0 || dup2(a->fd, STDERR_FILENO) < 0) {
		if (a->saved >= 0)
			close(a->saved);
		if (a->fd >= 0)
			close(a->fd);
		a->saved = a->fd = -1;
	}
}

static void aside_end(struct aside *a)
{
	if (a->saved < 0)
		return;
	dup2(a->saved, STDERR_FILENO);
	close(a->saved);
	char buf[4096];
	ssize_t n;
	lseek(a->fd, 0, SEEK_SET);
	while ((n = read(a->fd, buf, sizeof(buf))) > 0)
		if (write(STDERR_FILENO, buf, (size_t)n) != n)
			break;
	close(a->fd);
	a->saved = a->fd = -1;
}

int pv_run_watch(const struct pv_request *req, const struct pv_services *svc, struct places *P)
{
	bool tty = !req->json && isatty(STDOUT_FILENO);
	int status = pv_places_open_snapshotters(P);
	if (status != EXIT_OK)
		return status;
	int sigfd = signals_open(tty);
	if (sigfd < 0) {
		fprintf(stderr, "portview: cannot wait for signals: %s\n", strerror(-sigfd));
		return EXIT_RUNTIME;
	}
	struct snap slots[2], *prev = NULL, *cur = &slots[0];
	snap_init(&slots[0]);
	snap_init(&slots[1]);
	struct pv_buf out, text;
	pv_buf_init(&out);
	pv_buf_init(&text);
	struct pv_watch_row *rows = NULL;
	struct pv_watch_header h;
	struct pv_frame f;
	bool drawn = false, gone = false;
	struct aside aside = {-1, -1};
	unsigned timeout = req->interval_ms / 2 < PV_RESOLVE_TIMEOUT_MS ? req->interval_ms / 2
									: PV_RESOLVE_TIMEOUT_MS;
	struct timespec next;
	now_mono(&next);
	for (uint64_t taken = 0;;) {
		status = take_snap(req, P, svc, taken > 0, req->info, prev, cur);
		if (status != EXIT_OK)
			break;
		if (!req->table.numeric && !req->json)
			pv_view_resolve_names(&cur->view, timeout);
		free(rows);
		size_t n;
		h = (struct pv_watch_header){.when = cur->when,
					     .interval_ms = req->interval_ms,
					     .first = !prev,
					     .clock = tty,
					     .rates = req->info};
		rows = pv_watch_compare(prev ? &prev->l : NULL, &cur->l, &n, &h.counts);
		for (size_t i = 0; cur->rates && i < cur->l.n; i++) {
			h.sent += cur->rates[i].sent;
			h.received += cur->rates[i].received;
		}
		f = (struct pv_frame){
		    .cur = &cur->view, .prev = prev ? &prev->view : NULL, .rows = rows, .n = n};
		if (req->json) {
			pv_render_frame_json(&out, &h, &f);
		} else if (tty) {
			compose(req, &h, &f, &text);
			draw(&out, &text, !drawn);
			if (!drawn)
				aside_start(&aside);
			drawn = true;
		} else {
			/* in full, as a netstat that repeats: each snapshot after its time */
			pv_render_watch_header(&out, &h);
			pv_render_table(&out, &cur->view, &req->table);
		}
		if ((status = pv_write_out(&out, &gone)) != EXIT_OK || gone)
			break;
		if (req->count && ++taken >= req->count)
			break;
		taken = taken ? taken : 1; /* no --count: only whether one was taken matters */
		schedule(&next, req->interval_ms);
		enum wake w;
		while (((w = wait_until(sigfd, -1, &next)) == WAKE_RESIZE || w == WAKE_SUSPEND) &&
		       drawn) {
			if (w == WAKE_SUSPEND) {
				/* Ctrl-Z: the terminal as it was, stop, then draw again */
				leave(&out, &text);
				pv_write_out(&out, &gone);
				aside_end(&aside);
				kill(getpid(), SIGSTOP);
				aside_start(&aside);
			}
			compose(req, &h, &f, &text);
			draw(&out, &text, w == WAKE_SUSPEND);
			if ((status = pv_write_out(&out, &gone)) != EXIT_OK || gone)
				break;
		}
		if (w == WAKE_STOP || status != EXIT_OK || gone)
			break;
		/* this snapshot becomes the one before; the older one's place takes the next */
		struct snap *old = prev ? prev : &slots[1];
		if (prev)
			snap_free(prev);
		prev = cur;
		cur = old;
	}
	if (drawn) {
		leave(&out, &text);
		pv_write_out(&out, NULL);
		aside_end(&aside);
	}
	free(rows);
	snap_free(&slots[0]);
	snap_free(&slots[1]);
	pv_buf_free(&out);
	pv_buf_free(&text);
	close(sigfd);
	return status;
}

/* ---- --events ------------------------------------------------------------------------------ */

struct events {
	const struct pv_request *req;
	struct pv_snapshotter *s;
	struct pv_buf out;
	struct pv_event_opts o;
	uint64_t n;	    /* events written */
	bool done;	    /* --count reached */
	uint32_t tw_states; /* the states a TIME_WAIT socket can show that the query selects */
	struct snap *known; /* the last dump */
	struct pv_idmap at; /* where each cookie of known is */
	uint8_t *reported;  /* per record of known: its close was said */
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
static void know(struct events *ev, struct snap *known)
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
static void compare_dumps(struct events *ev, struct snap *cur)
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

int pv_run_events(const struct pv_request *req, const struct pv_services *svc, struct places *P)
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
	int status = pv_places_open_snapshotters(P);
	if (status != EXIT_OK)
		return status;
	ev.s = P->v[0].snap; /* one namespace (cli.c refuses --all-netns) */
	/* subscribed before the first dump, so that no close after it is missed */
	int err = pv_diag_open_destroyed(&freed_nl);
	if (err) {
		fprintf(stderr,
			"portview: cannot subscribe to the kernel's socket close events: %s\n",
			strerror(-err));
		return EXIT_RUNTIME;
	}
	int sigfd = signals_open(false);
	if (sigfd < 0) {
		fprintf(stderr, "portview: cannot wait for signals: %s\n", strerror(-sigfd));
		pv_diag_close(freed_nl);
		return EXIT_RUNTIME;
	}
	struct snap slots[2];
	snap_init(&slots[0]);
	snap_init(&slots[1]);
	pv_buf_init(&ev.out);
	struct pv_socklist freed;
	pv_socklist_init(&freed);
	bool gone = false;
	struct timespec next;

	status = take_snap(req, P, svc, false, false, NULL, &slots[0]);
	if (status == EXIT_OK) {
		know(&ev, &slots[0]);
		if (!req->json && !req->table.no_header)
			pv_render_event_header(&ev.out, &ev.o);
		status = pv_write_out(&ev.out, &gone);
		now_mono(&next);
		add_ms(&next, req->interval_ms);
	}
	while (status == EXIT_OK && !gone && !ev.done) {
		enum wake w = wait_until(sigfd, pv_diag_fd(freed_nl), &next);
		if (w == WAKE_STOP)
			break;
		bool resync = false;
		if (w == WAKE_INPUT) {
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
				fprintf(stderr, "portview: cannot read socket close events: %s\n",
					strerror(-err));
				status = EXIT_RUNTIME;
				break;
			}
		}
		if ((w == WAKE_TIME || resync) && !ev.done) {
			struct snap *cur = ev.known == &slots[0] ? &slots[1] : &slots[0];
			status = take_snap(req, P, svc, true, false, NULL, cur);
			if (status != EXIT_OK)
				break;
			compare_dumps(&ev, cur);
			snap_free(ev.known);
			know(&ev, cur);
			now_mono(&next);
			add_ms(&next, req->interval_ms);
		}
		status = pv_write_out(&ev.out, &gone);
	}
	if (status == EXIT_OK && !gone)
		status = pv_write_out(&ev.out, &gone);
	pv_socklist_free(&freed);
	pv_idmap_free(&ev.at);
	free(ev.reported);
	snap_free(&slots[0]);
	snap_free(&slots[1]);
	pv_buf_free(&ev.out);
	close(sigfd);
	pv_diag_close(freed_nl);
	return status;
}
