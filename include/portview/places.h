/*
 * The places of a run, and the gather.  A place is a network namespace
 * whose sockets are listed: the one portview runs in, -N's (entered for
 * the whole run), or each of --all-netns's (entered for as long as its
 * dumps take), with what a snapshot reads of it and, for a run of many
 * snapshots, a snapshotter opened inside it.  The gather is the pipeline
 * itself: a snapshot per place, the owner scan beside the dumps, the
 * owners joined into a view and --pid/--command applied.  Entering and
 * leaving a namespace is done here alone.  Nothing here prints: what the
 * program should say comes back in a report.
 */
#ifndef PORTVIEW_PLACES_H
#define PORTVIEW_PLACES_H

#include <stdbool.h>
#include <stddef.h>

#include "portview/follow.h"
#include "portview/netns.h"
#include "portview/owners.h"
#include "portview/query.h"
#include "portview/services.h"
#include "portview/snapshot.h"
#include "portview/sock.h"
#include "portview/view.h"

struct pv_place {
	struct pv_netns ns; /* fd -1, or own: no entering */
	struct pv_netns_facts facts;
	char label[PV_NETNS_NAME_MAX + 24];
	/* kept for a run of many snapshots, opened in the namespace; NULL: one per dump */
	struct pv_snapshotter *snap;
};

struct pv_places {
	struct pv_place *v;
	size_t n;
	struct pv_view_netns *vn; /* the views' picture of v */
	bool multi;		  /* --all-netns */
	int saved;		  /* -N entered for the run: the way back; -1 none */
};

/* Which places a run has. */
struct pv_places_opts {
	const char *proc_root;	      /* "/proc" */
	const char *sysctl_dir;	      /* "/proc/sys/net/ipv4" */
	const char *run_netns;	      /* "/run/netns" */
	bool all;		      /* every namespace (--all-netns) */
	const struct pv_netns *netns; /* -N's, opened; NULL or fd -1: portview's own */
};

/*
 * The places o names, each with its facts loaded inside it.  -N's
 * namespace is entered for the whole run (pv_places_free comes back).
 * Namespaces of --all-netns that are gone meanwhile are left out quietly;
 * those that may not be entered too, with *refused set.  Returns 0, or
 * the -errno of entering -N's namespace (P is then empty, to be freed
 * still).
 */
int pv_places_open(struct pv_places *P, const struct pv_places_opts *o, bool *refused);
/* Close the places' snapshotters and namespaces, and leave -N's. */
void pv_places_free(struct pv_places *P);
/* Place i alone, as a run of one place sees it (it is P's: not to be freed). */
struct pv_places pv_places_one(const struct pv_places *P, size_t i);

/* What failed in a place, and where. */
enum pv_place_step {
	PV_STEP_NONE,
	PV_STEP_ENTER, /* entering its namespace */
	PV_STEP_LEAVE, /* coming back to portview's: nothing else can be trusted */
	PV_STEP_OPEN,  /* opening a snapshotter (its netlink sockets) */
	PV_STEP_DUMP,  /* a dump: the place's snapshot report says which */
	PV_STEP_SCAN,  /* starting the owner scan (place is 0) */
};

struct pv_place_failure {
	enum pv_place_step step;
	size_t place;
	int err; /* a negative errno */
};

/*
 * A snapshotter for each place, opened in its namespace and kept until the
 * places are freed: a run of many snapshots reuses its netlink sockets.
 * Returns 0, or a negative errno with *fail saying where.
 */
int pv_places_open_snapshotters(struct pv_places *P, struct pv_place_failure *fail);

/* What a gather takes. */
struct pv_gather_opts {
	const struct pv_query *query;
	const struct pv_dump_policy *dump;
	/* PV_KEEP_* for a run of one place; several places always keep PV_KEEP_MORE */
	unsigned keeps;
	bool owners;		     /* join the owners (the query's --pid, --command too) */
	enum pv_owner_source source; /* which owner scan */
	const char *proc_root;	     /* where the scan reads, and the units */
	bool units;		     /* the rows name their owner's unit */
	struct pv_scan_keep *keep;   /* a refreshing run's, kept between scans; or NULL */
	/* a refreshing run's change log (one place only): the snapshot follows it; or NULL */
	struct pv_follow *follow;
};

/* What a gather found to say: the program words it. */
struct pv_gather_report {
	struct pv_snapshot_report *snaps; /* per place whose dumps ran, in order */
	size_t nsnaps;
	struct pv_place_failure fail; /* the first failure, step PV_STEP_NONE if none */
	bool scanned;		      /* the owner scan ran: scan says how */
	struct pv_scan_report scan;
	int scan_err;	/* the scan failed when finishing: a negative errno, or 0 */
	uint8_t unseen; /* owners that could not be seen (PV_UNSEEN_*) */
	bool followed;	/* the snapshot came through the change log: follow says how */
	struct pv_follow_report follow;
};
void pv_gather_report_free(struct pv_gather_report *r);

/*
 * A snapshot of o->query in the places P, made into a view of l: each
 * place's records marked with its index, with the owners when o->owners
 * (and --pid and --command applied), and the tcp_info with PV_KEEP_INFO.
 * Returns 0 or the negative errno of the first failure (rep says where);
 * the view and the report are to be freed either way.
 */
int pv_gather(const struct pv_places *P, const struct pv_gather_opts *o,
	      const struct pv_services *svc, struct pv_socklist *l, struct pv_view *view,
	      struct pv_gather_report *rep);

#endif
