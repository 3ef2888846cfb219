/*
 * What the runs that go on share (refresh.h).  SIGINT, SIGTERM and
 * SIGHUP end a run with status 0: they are blocked and read from a
 * signalfd between snapshots, so that a snapshot is never cut short.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "refresh.h"
#include "portview/sort.h"
#include "portview/watch.h"

/* ---- time ---------------------------------------------------------------------------------- */

void pv_now_mono(struct timespec *t)
{
	clock_gettime(CLOCK_MONOTONIC, t);
}

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

void pv_add_ms(struct timespec *t, uint32_t ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

bool pv_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* ---- signals ------------------------------------------------------------------------------- */

int pv_signals_open(bool terminal)
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

/* The signals read from sigfd: the one that matters most; PV_WAKE_TIME for none. */
static enum pv_wake read_signals(int sigfd)
{
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
	return stop	 ? PV_WAKE_STOP
	       : suspend ? PV_WAKE_SUSPEND
	       : resize	 ? PV_WAKE_RESIZE
			 : PV_WAKE_TIME;
}

enum pv_wake pv_wait_until(int sigfd, int fd, const struct timespec *deadline)
{
	for (;;) {
		struct timespec now, left = {0, 0};
		pv_now_mono(&now);
		if (pv_before(&now, deadline)) {
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
			return PV_WAKE_STOP; /* cannot wait: end the run rather than spin */
		if (n == 0)
			return PV_WAKE_TIME;
		if (p[0].revents) {
			enum pv_wake w = read_signals(sigfd);
			if (w != PV_WAKE_TIME)
				return w;
		}
		if (fd >= 0 && p[1].revents)
			return PV_WAKE_INPUT;
	}
}

/* ---- snapshots ----------------------------------------------------------------------------- */

void pv_snap_init(struct pv_snap *s)
{
	memset(s, 0, sizeof(*s));
	pv_socklist_init(&s->l);
}

void pv_snap_free(struct pv_snap *s)
{
	if (s->has_view)
		pv_view_free(&s->view);
	free(s->rates);
	free(s->match);
	pv_socklist_free(&s->l);
	if (s->keep) {
		pv_scan_keep_free(s->keep);
		free(s->keep);
	}
	pv_follow_close(s->follow);
	pv_snap_init(s);
}

int pv_snap_take(const struct pv_request *req, const struct pv_places *P,
		 const struct pv_services *svc, bool quiet, bool rates, struct pv_snap *prev,
		 struct pv_snap *snap)
{
	pv_now_mono(&snap->at);
	clock_gettime(CLOCK_REALTIME, &snap->when);
	if (!snap->keep && prev && prev->keep) {
		snap->keep = prev->keep;
		prev->keep = NULL;
	} else if (!snap->keep) {
		snap->keep = xcalloc(1, sizeof(*snap->keep));
	}
	struct pv_gather_opts o;
	pv_gather_opts_of(req, &req->query, &o);
	o.keep = snap->keep;
	if (prev && prev->follow_tried) {
		snap->follow = prev->follow;
		snap->follow_tried = true;
		prev->follow = NULL;
	} else if (!snap->follow_tried && req->follow && !P->multi &&
		   pv_follow_can(&req->query, o.keeps)) {
		snap->follow_tried = true;
		int err = pv_follow_open(&snap->follow);
		if (err && req->debug)
			pv_warn("debug: follow: the change log cannot load (%s): every refresh "
				"dumps in full",
				strerror(-err));
	}
	o.follow = snap->follow;
	int status = pv_take_with(req, &o, svc, P, quiet, &snap->l, &snap->view);
	snap->has_view = true;
	if (status != EXIT_OK)
		return status;
	const struct pv_socklist *before = prev ? &prev->l : NULL;
	double seconds = prev ? seconds_between(&prev->at, &snap->at) : 0;
	size_t n = snap->l.n;
	if (rates) {
		snap->rates = xcalloc(n + 1, sizeof(*snap->rates));
		snap->match = pv_watch_match(before, &snap->l);
		pv_watch_rates_matched(before, &snap->l, snap->match, seconds, snap->rates);
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
		if (snap->rates) {
			free(snap->match);
			snap->match = pv_watch_match(before, &snap->l);
			pv_watch_rates_matched(before, &snap->l, snap->match, seconds, snap->rates);
		}
	}
	return EXIT_OK;
}
