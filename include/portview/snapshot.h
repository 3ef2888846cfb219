/*
 * A snapshot: the sockets a query selects, from one round of kernel dumps
 * (TCP, both families in one walk where the kernel allows, then UDP per
 * family), each made sure of (hashwalk.h), repeats dropped, the user-space
 * check applied, in display order.  The dumps go out side by side on up to
 * one thread per CPU (TCP's bound sockets then in a request of their own),
 * each thread with its own netlink sockets and records, sorted there and
 * merged.  A snapshotter keeps its netlink sockets, so one process can take
 * any number of snapshots; its first snapshot opens those of its threads,
 * and, as they stay in the namespace they were opened in, a snapshot is
 * taken in the snapshotter's namespace.
 */
#ifndef PORTVIEW_SNAPSHOT_H
#define PORTVIEW_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portview/hashwalk.h"
#include "portview/ports.h"
#include "portview/query.h"
#include "portview/sock.h"

/* How each dump is made sure of (PORTVIEW_DUMP). */
enum pv_dump_check {
	PV_DUMP_CHECK = 0, /* boundaries checked, walked again (in slices) where needed */
	PV_DUMP_ONCE,	   /* one walk, nothing checked */
	PV_DUMP_TWICE,	   /* always a second whole walk instead */
};

/* The most threads a snapshot's dumps go out on (there are at most 4 requests and a split). */
#define PV_DUMP_THREADS_MAX 4

struct pv_dump_policy {
	enum pv_dump_check check;
	bool per_family; /* TCP asked once per family, as UDP always is */
	/*
	 * Threads the dumps go out on (PORTVIEW_DUMP_THREADS), at most
	 * PV_DUMP_THREADS_MAX; 0: one per CPU free at the time (parallel.h).
	 * With one, the requests go out one after another, TCP's listeners
	 * and bound sockets in TCP's walk.
	 */
	unsigned threads;
};

/* What a snapshot reads of its network namespace. */
struct pv_netns_facts {
	struct pv_ephemeral ephemeral;	  /* annotations, --class, --ranges */
	struct pv_hash_geometry geometry; /* how crowded the TCP hash is */
};

void pv_netns_facts_load(struct pv_netns_facts *f, const char *sysctl_dir, const char *proc_root);
void pv_netns_facts_free(struct pv_netns_facts *f);

/* One kernel dump of a snapshot, for PORTVIEW_DEBUG and the warnings. */
struct pv_dump_report {
	uint8_t proto, family;
	int err;	    /* the kernel cannot list the protocol (-ENOENT...): skipped */
	size_t sockets;	    /* records kept from all of the dump's walks */
	size_t first;	    /* of them, from the first walk */
	size_t datagrams;   /* of every walk */
	size_t bytes;	    /* of every walk */
	uint32_t states;    /* the mask asked for */
	size_t program_len; /* the filter program's bytes */
	uint32_t buckets;   /* the TCP hash's, 0 when unknown */
	unsigned tail;	    /* records looked up before each boundary */
	unsigned needed;    /* ... that the crowding called for (0: crowded) */
	size_t walks_again; /* whole walks after the first */
	size_t slices;	    /* sliced walks */
	size_t split;	    /* slices split for coming back in more than one datagram */
	bool incomplete;    /* a slice could not be split enough */
	size_t checked;	    /* boundary records looked up */
	long gone;	    /* of them gone, or a negative errno */
	const char *second; /* "none", "listeners", "all", "sliced" or "unverified" */
	/*
	 * The bind hash's walk (bound, inactive TCP sockets): "-" (not asked
	 * for), "uncut", "sliced", "unverified", "twice" or "unchecked"
	 * (PORTVIEW_DUMP=once).
	 */
	const char *bound;
};

#define PV_SNAPSHOT_MAX_DUMPS 8

struct pv_snapshot_report {
	struct pv_dump_report dumps[PV_SNAPSHOT_MAX_DUMPS];
	size_t ndumps;
	size_t repeats;	  /* repeated sockets dropped */
	unsigned threads; /* the dumps went out on */
	/* The dump that failed, when pv_snapshot_take returns an error. */
	uint8_t failed_proto;
};

struct pv_snapshotter;
struct pv_diag_id; /* sock_diag.h */

/* Open the netlink sockets.  Returns 0 or a negative errno. */
int pv_snapshotter_open(struct pv_snapshotter **out);
void pv_snapshotter_close(struct pv_snapshotter *s);
/*
 * A thread of the caller's that is busy now (the owner scan) but will free
 * its CPU: while done(arg) says false, one more dump worker waits for it,
 * then takes the requests still left (none left: it gives up).  For the
 * snapshots that follow; NULL: none.
 */
void pv_snapshotter_lend(struct pv_snapshotter *s, bool (*done)(void *arg), void *arg);

/* What a snapshot keeps besides the records' core (sock.h). */
enum {
	PV_KEEP_MORE = 1, /* the queues, timers and interface (for -e and JSON) */
	PV_KEEP_INFO = 2, /* each TCP socket's tcp_info, asked of the kernel (-i) */
	/* the retransmissions and the probes both, from tcp_info (-e and JSON show them) */
	PV_KEEP_PROBES = 4,
	/*
	 * The records on 2 MB pages once large (sock.h's big_pages): filled
	 * faster, for up to 2 MB more peak RSS; for runs with owners, whose
	 * peak is the owner tables' and is held against ss -tuanp's.
	 */
	PV_KEEP_BIG_PAGES = 8,
};

/*
 * Take a snapshot of what q selects in the namespace ns describes (the
 * snapshotter's), into out (emptied first), keeping what the PV_KEEP_* bits
 * of keeps say.  A protocol the kernel cannot list is skipped (its report
 * says why).  Returns 0, or a negative errno when a dump failed
 * (rep->failed_proto says which).
 */
int pv_snapshot_take(struct pv_snapshotter *s, const struct pv_query *q,
		     const struct pv_netns_facts *ns, const struct pv_dump_policy *policy,
		     unsigned keeps, struct pv_socklist *out, struct pv_snapshot_report *rep);

/*
 * Ask the kernel again for one socket, by its addresses, ports and cookie
 * (sock_diag.h): 0 with *state its state now, -ENOENT when it has gone.
 */
int pv_snapshot_lookup_state(struct pv_snapshotter *s, const struct pv_sock *sock, uint8_t *state);

/*
 * Ask the kernel again for each TCP socket of ids (exact lookups, in
 * batches), each found parsed into out (with its tcp_info when info is
 * set): how many had gone, or a negative errno.
 */
long pv_snapshot_lookup_many(struct pv_snapshotter *s, const struct pv_diag_id *ids, size_t n,
			     bool info, struct pv_socklist *out);

/*
 * Whether a process still holds the socket an earlier snapshot saw: 1 when
 * the kernel still has it with the same inode, 0 when it has gone or its
 * process closed it (orphaned, inode 0), or a negative errno.  s NULL: a
 * sock_diag socket of its own, opened in the current network namespace.
 */
int pv_snapshot_still_held(struct pv_snapshotter *s, const struct pv_sock *sock);

#endif
