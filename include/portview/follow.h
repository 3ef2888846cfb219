/*
 * Refreshes that follow the kernel's changes instead of dumping every
 * socket again: the change log's BPF programs (src/bpf/changes.bpf.c)
 * say which TCP sockets opened, changed state, closed and moved data; a refresh asks the kernel
 * again (exact lookups, with tcp_info) for the connections named, and dumps only what the log does
 * not follow (the listeners, UDP and bound, inactive TCP sockets; the connecting ones when one was
 * not answered at once).  A full dump starts it, follows any loss of the log, and comes back every
 * PV_FOLLOW_RESYNC_MS.
 *
 * What a followed list can miss until the next full dump: request sockets
 * (SYN_RECV, a handshake not yet completed), which the log does not see.
 */
#ifndef PORTVIEW_FOLLOW_H
#define PORTVIEW_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portview/query.h"
#include "portview/snapshot.h"
#include "portview/sock.h"

#define PV_FOLLOW_RESYNC_MS 10000u

struct pv_follow;

/*
 * Load and attach the programs for the network namespace portview is in
 * now.  Returns 0, or a negative errno (no BPF in this build, or not
 * allowed: -EOPNOTSUPP, -EPERM...), and then refreshes dump in full.
 */
int pv_follow_open(struct pv_follow **out);
void pv_follow_close(struct pv_follow *f);

/*
 * Whether a snapshot of what q selects, keeping keeps, can be followed:
 * TCP asked for, and nothing kept but tcp_info (PV_KEEP_INFO; PV_KEEP_BIG_PAGES
 * only says where records live).
 */
bool pv_follow_can(const struct pv_query *q, unsigned keeps);

/*
 * An older snapshot's list, no longer needed: its memory kept for the next
 * take's output (old is left empty).
 */
void pv_follow_recycle(struct pv_follow *f, struct pv_socklist *old);

/*
 * A socket (its cookie; 0: none) asked for again at each take whatever the
 * log says: one whose whole tcp_info is shown (--top's details).
 */
void pv_follow_fresh(struct pv_follow *f, uint64_t cookie);

/* What one take did, for PORTVIEW_DEBUG and the bench. */
struct pv_follow_report {
	bool full;	  /* a full dump (first, a loss, or the time to resync) */
	const char *why;  /* of the full dump: "first", "lost", "busy", "resync" */
	size_t changes;	  /* the log's records applied */
	size_t looked_up; /* sockets asked for again (they moved data, or are new) */
	size_t followed;  /* sockets in the followed list */
	bool walked;	  /* the bind hash walked (its bound, inactive sockets) */
};

/*
 * A snapshot as pv_snapshot_take's (same arguments, the same sorted list
 * into out), from the log when it can.
 */
int pv_follow_take(struct pv_follow *f, struct pv_snapshotter *s, const struct pv_query *q,
		   const struct pv_netns_facts *ns, const struct pv_dump_policy *policy,
		   unsigned keeps, struct pv_socklist *out, struct pv_snapshot_report *rep,
		   struct pv_follow_report *frep);

#endif
