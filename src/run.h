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
#include "portview/snapshot.h"
#include "portview/view.h"

/* The whole name resolution of a listing is bounded by this. */
#define PV_RESOLVE_TIMEOUT_MS 1000

/* Open a snapshotter, saying why it could not be.  Returns an exit status. */
int pv_open_snapshotter(struct pv_snapshotter **s);

/*
 * A snapshot of q taken with s, made into a view of l, with the owners
 * when the listing wants them (and --pid and --command applied), and the
 * tcp_info with -i.  quiet: no note about owners that could not be seen
 * and no warning about a protocol the kernel cannot list (a run that
 * takes many snapshots says so once).  Returns an exit status; the view
 * is to be freed either way.
 */
int pv_gather(const struct pv_request *req, struct pv_snapshotter *s, const struct pv_query *q,
	      const struct pv_services *svc, const struct pv_netns_facts *ns, bool quiet,
	      struct pv_socklist *l, struct pv_view *view);

/*
 * Write what is left of the output (a sink has written the rest).  A
 * reader that went away (| head) is not an error.  Returns an exit status.
 */
int pv_write_out(struct pv_buf *out);

/* The listing again every interval (PV_MODE_WATCH). */
int pv_run_watch(const struct pv_request *req, const struct pv_services *svc,
		 const struct pv_netns_facts *ns);
/* --events (PV_MODE_EVENTS). */
int pv_run_events(const struct pv_request *req, const struct pv_services *svc,
		  const struct pv_netns_facts *ns);

#endif
