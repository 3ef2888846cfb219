/*
 * The program's runs, shared by main.c (one listing, --ranges, --lookup,
 * -s) and watch_run.c (an interval, --events).  Program side: these
 * print diagnostics; the library never does.
 */
#ifndef PORTVIEW_RUN_H
#define PORTVIEW_RUN_H

#include <stdbool.h>

#include "cli.h"
#include "portview/buf.h"
#include "portview/netns.h"
#include "portview/snapshot.h"
#include "portview/view.h"

/* The whole name resolution of a listing is bounded by this. */
#define PV_RESOLVE_TIMEOUT_MS 1000

/*
 * Where the sockets are listed: the namespace portview runs in (or -N's,
 * entered for the whole run), or each of --all-netns's, entered for as
 * long as its dumps take.
 */
struct place {
	struct pv_netns ns; /* fd -1, or own: no entering */
	struct pv_netns_facts facts;
	char label[PV_NETNS_NAME_MAX + 24];
	/* kept for a run of many snapshots, opened in the namespace; NULL: one per dump */
	struct pv_snapshotter *snap;
};

struct places {
	struct place *v;
	size_t n;
	struct pv_view_netns *vn; /* the views' picture of v */
	bool multi;		  /* --all-netns */
};

/* Open a snapshotter, saying why it could not be.  Returns an exit status. */
int pv_open_snapshotter(struct pv_snapshotter **s);

/*
 * A snapshotter for each place, opened in its namespace and kept until the
 * places are freed: a run of many snapshots reuses its netlink sockets.
 * Returns an exit status.
 */
int pv_places_open_snapshotters(struct places *P);

/*
 * A snapshot of q in the places P, made into a view of l, with the owners
 * when the listing wants them (and --pid and --command applied), and the
 * tcp_info with -i.  quiet: no note about owners that could not be seen
 * and no warning about a protocol the kernel cannot list (a run that
 * takes many snapshots says so once).  Returns an exit status; the view
 * is to be freed either way.
 */
int pv_gather(const struct pv_request *req, const struct pv_query *q, const struct pv_services *svc,
	      const struct places *P, bool quiet, struct pv_socklist *l, struct pv_view *view);

/*
 * Write what is left of the output (a sink has written the rest) and
 * empty it.  A reader that went away (| head) is not an error; gone (may
 * be NULL) is then set, for a run that would write more.  Returns an exit
 * status.
 */
int pv_write_out(struct pv_buf *out, bool *gone);

/* The listing again every interval (PV_MODE_WATCH). */
int pv_run_watch(const struct pv_request *req, const struct pv_services *svc, struct places *P);
/* --events (PV_MODE_EVENTS), in the one namespace of P. */
int pv_run_events(const struct pv_request *req, const struct pv_services *svc, struct places *P);

#endif
