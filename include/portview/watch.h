/*
 * What changed between two snapshots of one selection, socket by socket,
 * matched by the kernel's cookie (never by address: a port can be freed
 * and taken again between two snapshots): which sockets are new, which
 * changed state, which have gone; how fast each TCP connection moved
 * data meanwhile.  The interval display and the event stream are both
 * built on it.
 */
#ifndef PORTVIEW_WATCH_H
#define PORTVIEW_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include "portview/sock.h"
#include "portview/view.h"

enum pv_change {
	PV_CHANGE_NONE = 0,
	PV_CHANGE_NEW,	  /* not in the snapshot before */
	PV_CHANGE_STATE,  /* in both, in another state */
	PV_CHANGE_CLOSED, /* in the snapshot before, not in this one */
};

/* One row of a comparison: a record and what became of it. */
struct pv_watch_row {
	uint32_t index;	   /* the record: of the current list, or of the one before when CLOSED */
	uint8_t change;	   /* enum pv_change */
	uint8_t old_state; /* PV_CHANGE_STATE: the state before */
};

struct pv_watch_counts {
	size_t total; /* records of the current list */
	size_t opened, changed, closed;
};

/*
 * Compare cur with prev (NULL: nothing before, nothing marked): every
 * record of cur in its order, marked NEW or STATE where it is so; and
 * every record of prev that cur lacks, marked CLOSED, placed right after
 * the row of the nearest record before it in prev's order that cur still
 * has (first when there is none), so that a display shows it where it
 * was.  Records without a cookie cannot be matched: never new, never
 * closed.  Returns the rows (free() them), *n their number; counts says
 * how many of each.
 */
struct pv_watch_row *pv_watch_compare(const struct pv_socklist *prev, const struct pv_socklist *cur,
				      size_t *n, struct pv_watch_counts *counts);

/*
 * The rates of cur's TCP connections since prev, taken seconds earlier:
 * for each record of cur, out[i] is how many bytes per second its
 * tcp_info counters say the peer acknowledged and this end received in
 * between; known only for connections in both with the byte counters in
 * both (both lists keep_info).
 */
void pv_watch_rates(const struct pv_socklist *prev, const struct pv_socklist *cur, double seconds,
		    struct pv_rate *out);

/*
 * The matching both of the above make, by cookie, made once for both: per
 * record of cur, 1 + the index of the record of prev with its cookie, 0
 * for none (new, or no cookie).  NULL when prev is NULL; free() it.  The
 * _matched forms take it (match NULL: they make their own, as above);
 * it holds until either list is reordered.
 */
uint32_t *pv_watch_match(const struct pv_socklist *prev, const struct pv_socklist *cur);
struct pv_watch_row *pv_watch_compare_matched(const struct pv_socklist *prev,
					      const struct pv_socklist *cur, const uint32_t *match,
					      size_t *n, struct pv_watch_counts *counts);
void pv_watch_rates_matched(const struct pv_socklist *prev, const struct pv_socklist *cur,
			    const uint32_t *match, double seconds, struct pv_rate *out);

#endif
