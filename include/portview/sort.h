/*
 * The order of rows: the display order (protocol, family, local address
 * and port, foreign address and port), or a user's --sort key with the
 * display order breaking ties; and the removal of repeats, which the
 * display order puts side by side.
 */
#ifndef PORTVIEW_SORT_H
#define PORTVIEW_SORT_H

#include <stdbool.h>

#include "portview/owners.h"
#include "portview/sock.h"
#include "portview/util.h"

enum pv_sort_key {
	PV_SORT_DEFAULT = 0, /* the display order */
	PV_SORT_PROTO,
	PV_SORT_LOCAL,
	PV_SORT_FOREIGN,
	PV_SORT_STATE,
	PV_SORT_PID,
	PV_SORT_PROGRAM,
	PV_SORT_PORT,
	PV_SORT_RATE, /* bytes per second over the last interval, the fastest first */
};

/* --sort: up to four keys, each with its direction; none: the display order. */
#define PV_SORT_KEYS 4
struct pv_order {
	enum pv_sort_key keys[PV_SORT_KEYS];
	bool reverse[PV_SORT_KEYS];
	size_t n;
};

/*
 * Parse a --sort list of KEYs: proto, local, foreign, state, pid, program,
 * port, rate, any case, each with a leading '-' to reverse it,
 * comma-separated.  Returns false with why filled.
 */
bool pv_parse_sort_keys(const char *list, struct pv_order *order, struct pv_why *why);
/* Whether the order needs the owners (pid, program). */
bool pv_order_needs_owners(const struct pv_order *order);
/* Whether the order needs the rates (rate). */
bool pv_order_needs_rates(const struct pv_order *order);

/*
 * The display order: protocol (TCP first), family, local address and
 * port, foreign address and port, state, then the cookie, so that equal
 * tuples (SO_REUSEPORT) keep one order from run to run.
 */
/* Sort in display order, in place (an introsort: no memory beyond the records). */
void pv_socklist_sort(struct pv_socklist *l);
/*
 * The same on up to threads threads (2 are used): from
 * PV_SORT_PARALLEL_FROM records, one partition on the calling thread, then
 * its two sides sorted side by side.
 */
void pv_socklist_sort_on(struct pv_socklist *l, unsigned threads);
#define PV_SORT_PARALLEL_FROM 20000
/*
 * A list sorted while it grows: a walk's parse, on a thread of its own
 * that mostly waits for the kernel's next datagram, sorts each chunk of
 * records as it is complete and merges it, a slice at a time, into the
 * run before it; the sort after the walk then has nothing (or a few
 * records) left to do (the list's sorted).  Only for a list that starts
 * empty and keeps no parallel arrays (queues, tcp_info).
 */
struct pv_sort_grow {
	struct pv_socklist *l; /* NULL: not sorting */
	size_t sorted;	       /* [0, sorted) in display order */
	struct pv_rec *buf;    /* the chunk being merged in */
	size_t nbuf;	       /* its records not yet placed */
	size_t i, k;	       /* the merge: run records [0, i) left, next slot k - 1 */
	size_t end;	       /* the chunk's end: sorted, once merged */
};
/* Start on l, if it qualifies (else g does nothing). */
void pv_sort_grow_start(struct pv_sort_grow *g, struct pv_socklist *l);
/* One slice of work (a chunk sorted, or some records merged); false: none to do. */
bool pv_sort_grow_step(struct pv_sort_grow *g);
/*
 * The walk is over: the rest sorted and merged in (where little is left;
 * else the list's usual sort does it) and the list's sorted set.
 */
void pv_sort_grow_finish(struct pv_sort_grow *g);
/* Its memory freed (after finish, or where the parse never ran). */
void pv_sort_grow_free(struct pv_sort_grow *g);

/*
 * Drop repeats of a socket (same cookie) from a list sorted in display
 * order: a dump may report a socket twice when the hash bucket it resumed
 * in gained a socket, and the repeat has the same addresses and ports, so
 * it sits among the records with those.  Returns how many were dropped.
 */
size_t pv_socklist_dedupe(struct pv_socklist *l);

/* Whether record i sits in display order beside its neighbours. */
bool pv_socklist_in_order(const struct pv_socklist *l, size_t i);

/*
 * Merge from, sorted in display order, into into, sorted the same way and
 * keeping the same parallel arrays (sock.h): into becomes the sorted whole
 * of both, in the order one sort of the two together gives, and from is
 * freed.  One pass from the end; no memory beyond into's growth.  (A
 * snapshot's dumps are sorted each on its own thread, then merged.)
 */
void pv_socklist_merge(struct pv_socklist *into, struct pv_socklist *from);

/*
 * Sort by a user's keys, ties broken by the display order in the last
 * key's direction (so that "-port" turns the whole order around).  owners
 * may be NULL (pid and program then sort as unknown, after every known
 * one).  rate, for the rate key, holds a number per record (bytes per
 * second plus one; 0: unknown, sorted after every known one) and is
 * reordered with the records; it may be NULL (every rate unknown).
 */
void pv_socklist_sort_by(struct pv_socklist *l, const struct pv_order *order,
			 const struct pv_owner_table *owners, uint64_t *rate);

#endif
