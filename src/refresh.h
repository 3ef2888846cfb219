/*
 * What the runs that go on share (the interval display, --events): the
 * clock, the signals that end them read from a signalfd, and a snapshot
 * kept with its view between refreshes.
 */
#ifndef PORTVIEW_REFRESH_H
#define PORTVIEW_REFRESH_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "program.h"

void pv_now_mono(struct timespec *t);
/* t plus ms milliseconds. */
void pv_add_ms(struct timespec *t, uint32_t ms);
/* Whether a is before b. */
bool pv_before(const struct timespec *a, const struct timespec *b);

enum pv_wake { PV_WAKE_TIME, PV_WAKE_STOP, PV_WAKE_SUSPEND, PV_WAKE_RESIZE, PV_WAKE_INPUT };

/*
 * Block the signals that end a run (and, on a terminal, SIGWINCH and
 * SIGTSTP) and read them from a descriptor.  Threads started later (the
 * /proc walk's) inherit the mask.  Returns the descriptor, or a negative
 * errno.
 */
int pv_signals_open(bool terminal);
/*
 * Wait until deadline (CLOCK_MONOTONIC), a signal, or input on fd (-1:
 * none), whichever comes first; a signal that ends the run wins.
 */
enum pv_wake pv_wait_until(int sigfd, int fd, const struct timespec *deadline);

/* A snapshot kept between refreshes. */
struct pv_snap {
	struct pv_socklist l;
	struct pv_view view;
	bool has_view;
	struct pv_rate *rates; /* -i in an interval: per record of l */
	uint32_t *match;       /* with rates: l's records in prev's l (pv_watch_match) */
	struct timespec at;    /* when it was taken: CLOCK_MONOTONIC */
	struct timespec when;  /* and CLOCK_REALTIME */
	/*
	 * What the run keeps from one snapshot to the next (the owner scan's
	 * loaded iterator): held by the newest snapshot, handed on by
	 * pv_snap_take from prev, freed with the snapshot that holds it.
	 */
	struct pv_scan_keep *keep;
	/*
	 * --top's change log (follow.h), handed on the same way; follow_tried:
	 * it was opened, or could not be (then every refresh dumps in full).
	 */
	struct pv_follow *follow;
	bool follow_tried;
};

void pv_snap_init(struct pv_snap *s);
void pv_snap_free(struct pv_snap *s);
/*
 * Take a snapshot into snap: the view, ordered by --sort; with rates,
 * each TCP connection's since prev (may be NULL), whose kept state
 * snap takes over.  Returns an exit status.
 */
int pv_snap_take(const struct pv_request *req, const struct pv_places *P,
		 const struct pv_services *svc, bool quiet, bool rates, struct pv_snap *prev,
		 struct pv_snap *snap);

#endif
