/*
 * What the program's modes share: the places of a run and the gather,
 * each with the words for what went wrong (msg.h), and the last write of
 * the output.  Program side: these print diagnostics; the library never
 * does.
 */
#ifndef PORTVIEW_PROGRAM_H
#define PORTVIEW_PROGRAM_H

#include <stdbool.h>

#include "cli.h"
#include "msg.h"
#include "portview/buf.h"
#include "portview/places.h"
#include "portview/view.h"

/* The whole name resolution of a listing is bounded by this. */
#define PV_RESOLVE_TIMEOUT_MS 1000

/*
 * The places of the run (places.h), saying which could not be entered.
 * Returns PV_GO_ON, or the exit status to end with; P is to be freed
 * either way.
 */
int pv_places_start(const struct pv_request *req, struct pv_places *P);

/* A snapshotter kept per place, saying why one could not be.  Returns an exit status. */
int pv_open_snapshotters(struct pv_places *P);

/*
 * The gather (places.h) of q in the places P into a view of l, with the
 * owners when the listing wants them and the tcp_info with -i, then what
 * it found said: PORTVIEW_DEBUG's lines, failures, and unless quiet the
 * protocols the kernel cannot list and the owners that could not be seen
 * (a run that takes many snapshots says so once).  Returns an exit
 * status; the view is to be freed either way.
 */
int pv_take(const struct pv_request *req, const struct pv_query *q, const struct pv_services *svc,
	    const struct pv_places *P, bool quiet, struct pv_socklist *l, struct pv_view *view);
/* The gather's options pv_take uses for q. */
void pv_gather_opts_of(const struct pv_request *req, const struct pv_query *q,
		       struct pv_gather_opts *o);
/* The same with the gather's options given (--ranges asks for less). */
int pv_take_with(const struct pv_request *req, const struct pv_gather_opts *o,
		 const struct pv_services *svc, const struct pv_places *P, bool quiet,
		 struct pv_socklist *l, struct pv_view *view);

/*
 * Write what is left of the output (a sink has written the rest) and
 * empty it.  A reader that went away (| head) is not an error; gone (may
 * be NULL) is then set, for a run that would write more.  Returns an exit
 * status.
 */
int pv_write_out(struct pv_buf *out, bool *gone);

/* --all-netns with --ranges or -s, text: which namespace the next table is of. */
void pv_place_heading(struct pv_buf *out, const struct pv_place *p);
/* ... and JSON: each namespace's document as {"netns": ..., KEY: ...}. */
void pv_place_json_open(struct pv_buf *out, const struct pv_places *P, size_t i, const char *key);

#endif
