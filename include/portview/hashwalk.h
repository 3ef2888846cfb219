/*
 * What a walk of the kernel's socket hash can miss, and how to walk it so
 * that nothing is missed.
 *
 * A sock_diag dump walks the TCP established hash bucket by bucket.  It
 * stops in the middle of a bucket in two places: when a datagram is full
 * (it resumes at the next read) and, in a bucket with more than 16
 * sockets, every 16 sockets (it drops the bucket's lock to fill them).
 * Either way it resumes by skipping as many sockets of the bucket as it
 * had passed, so a socket removed from that part of the bucket meanwhile
 * makes it skip one that stays.
 *
 * - A bucket of at most 16 sockets is walked in one hold of its lock, so
 *   only datagram boundaries can skip, and every socket before the resume
 *   point is among the last records of the datagram: looking those up
 *   again tells whether one has gone (sock_diag.h, pv_diag_tails).
 * - In a crowded hash (long buckets) the 16-socket pauses cannot be seen
 *   from user space.  A walk filtered so that it returns one datagram and
 *   a few sockets per bucket never pauses, so the hash is walked again in
 *   such slices: port rectangles planned from the records of the first
 *   walk (pv_hashwalk_plan).
 *
 * The crowding is judged from the number of buckets
 * (net.ipv4.tcp_ehash_entries, per network namespace since Linux 6.1) and
 * the number of sockets, assuming the kernel's keyed hash spreads them
 * like a Poisson distribution.
 */
#ifndef PORTVIEW_HASHWALK_H
#define PORTVIEW_HASHWALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The kernel drops a bucket's lock after this many sockets. */
#define PV_HASHWALK_CHUNK 16u

/* The network namespace's TCP established hash. */
struct pv_hash_geometry {
	uint32_t buckets;  /* 0: unknown (kernels before 6.1) */
	uint32_t sockets;  /* hashed TCP sockets (in use + TIME_WAIT); 0: unknown */
	uint32_t timewait; /* of them, in TIME_WAIT */
};

/*
 * Read the bucket count from sysctl_dir/tcp_ehash_entries (negative when
 * the namespace shares the host's hash: its size all the same) and the
 * socket count from proc_root/net/sockstat.  What cannot be read stays 0.
 */
void pv_hash_geometry_load(struct pv_hash_geometry *g, const char *sysctl_dir,
			   const char *proc_root);

/*
 * How many records before a datagram boundary must be looked up so that,
 * with n sockets over the buckets, a longer stretch of one bucket before
 * the boundary is unlikely (below one chance in a million per walk).
 * Returns 0 when even PV_DIAG_TAIL_MAX records would not do: the hash is
 * crowded, and some buckets are likely longer than PV_HASHWALK_CHUNK.
 * An unknown bucket count (0) counts as a large hash.
 */
unsigned pv_hashwalk_tail(uint32_t buckets, size_t n);

/* A rectangle of ports: local in [slo, shi], foreign in [dlo, dhi]. */
struct pv_port_rect {
	uint16_t slo, shi, dlo, dhi;
};

/* A (local port, foreign port) pair of a record, to plan slices from. */
struct pv_port_pair {
	uint16_t sport, dport;
};

/*
 * Cut the port plane into rectangles that each hold at most per_slice of
 * the given pairs (sorted in place), except where more than per_slice
 * records share one (local, foreign) port pair.  The rectangles cover
 * every pair of ports exactly once, so every socket, seen before or not,
 * falls into exactly one.  Returns how many there are (at least 1), and
 * stores at most max of them.
 */
size_t pv_hashwalk_plan(struct pv_port_pair *pairs, size_t n, size_t per_slice,
			struct pv_port_rect *out, size_t max);

/*
 * Split a rectangle in two halves (by local port when it spans more than
 * one, else by foreign port).  Returns false when it is a single point.
 */
bool pv_port_rect_split(const struct pv_port_rect *r, struct pv_port_rect *a,
			struct pv_port_rect *b);

#endif
