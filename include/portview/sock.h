/* The socket record and the list that owns the records. */
#ifndef PORTVIEW_SOCK_H
#define PORTVIEW_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pv_service;

struct pv_endpoint {
	uint8_t addr[16]; /* network order; IPv4 uses the first 4 bytes */
	uint16_t port;	  /* host order */
};

struct pv_sock {
	uint64_t cookie;
	uint8_t proto;	/* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t state;	/* kernel TCP_* state */
	uint8_t timer;
	uint8_t retrans;
	struct pv_endpoint local;
	struct pv_endpoint remote;
	uint32_t ifindex;
	uint32_t expires;
	uint32_t rqueue;
	uint32_t wqueue;
	uint32_t uid;
	uint32_t inode;
	/* Owners, as a range of the owner table (see owners.h). */
	uint32_t owner_first;
	uint32_t owner_count;
	/* What the ports mean (annotate.h); NULL service: none known. */
	const struct pv_service *local_service;
	const struct pv_service *remote_service;
	uint8_t local_class; /* enum pv_port_class */
	uint8_t remote_class;
	bool local_ephemeral;
	bool ephemeral_unknown; /* the host's range could not be read */
	bool remote_in_range;	/* foreign port inside the host's ephemeral range */
	/* Host names (resolve.h); NULL: show the address. */
	const char *local_host;
	const char *remote_host;
};

/*
 * One socket as the list stores it: 32 bytes, so that 100,000 sockets take
 * 3.2 MB.  IPv6 addresses live beside the records (struct pv_v6); fields
 * only some outputs show live in the parallel array `more`, kept only when
 * asked for.  Read a record through pv_socklist_get().
 */
struct pv_rec {
	uint64_t cookie;
	uint32_t laddr; /* IPv4: the address, network order; IPv6: index into v6 */
	uint32_t raddr; /* IPv4: the address, network order; IPv6: 0 */
	uint16_t lport, rport;
	uint8_t proto;
	uint8_t family;
	uint8_t state;
	uint8_t pad;
	uint32_t inode;
	uint32_t uid;
};

struct pv_rec_more {
	uint32_t rqueue, wqueue, expires, ifindex;
	uint8_t timer, retrans;
};

struct pv_v6 {
	uint8_t local[16], remote[16];
	uint32_t ifindex;
};

struct pv_socklist {
	struct pv_rec *v;
	size_t n, cap;
	/* Parallel to v while keep_more (the default) is set. */
	struct pv_rec_more *more;
	bool keep_more;
	struct pv_v6 *v6;
	size_t n6, cap6;
};

void pv_socklist_init(struct pv_socklist *l);
void pv_socklist_free(struct pv_socklist *l);
/* Append a copy of s (its addresses, ports and kernel fields). */
bool pv_socklist_add(struct pv_socklist *l, const struct pv_sock *s);
/*
 * Record i as a view: addresses, ports and kernel fields; the annotations,
 * owners and host names are left empty (see view.h).
 */
void pv_socklist_get(const struct pv_socklist *l, size_t i, struct pv_sock *out);

/* A point to go back to: drop every record added after it. */
struct pv_socklist_mark {
	size_t n, n6;
};
struct pv_socklist_mark pv_socklist_mark(const struct pv_socklist *l);
void pv_socklist_rollback(struct pv_socklist *l, struct pv_socklist_mark m);

/* A set of cookies (a second walk keeps only what the first did not have). */
struct pv_cookies {
	uint64_t *v;
	size_t cap;
};
/* The cookies of records from..l->n in states (a mask of 1 << state). */
void pv_cookies_of(struct pv_cookies *c, const struct pv_socklist *l, size_t from, uint32_t states);
bool pv_cookies_has(const struct pv_cookies *c, uint64_t cookie);
void pv_cookies_free(struct pv_cookies *c);

/*
 * Add the records of extra (a second walk of the kernel's table) that the
 * first walk, records from index `from` of l, did not have: a socket is
 * new only if no record there has its protocol, family, addresses and
 * ports.  Between the walks a connection may have closed and another
 * taken its addresses (a new cookie), which would otherwise be listed as
 * a second row; listeners are exempt, as SO_REUSEPORT listeners share
 * their addresses.  Only records in states (the second walk's) count.
 */
void pv_socklist_add_missing(struct pv_socklist *l, size_t from, uint32_t states,
			     const struct pv_socklist *extra);

/* Drop the records for which keep() is false, preserving order. */
void pv_socklist_filter(struct pv_socklist *l, bool (*keep)(const struct pv_sock *, const void *),
			const void *arg);

/* The display order: protocol, family, local address and port, foreign. */
int pv_sock_cmp(const struct pv_sock *a, const struct pv_sock *b);
/* The same order on stored records. */
int pv_rec_cmp(const struct pv_socklist *l, const struct pv_rec *a, const struct pv_rec *b);
/* Sort in place, in display order. */
void pv_socklist_sort(struct pv_socklist *l);
/*
 * Sort in place with cmp (an introsort: no memory beyond the records),
 * moving the `more` fields along.
 */
typedef int (*pv_rec_cmp_fn)(const struct pv_socklist *l, const struct pv_rec *a,
			     const struct pv_rec *b, const void *ctx);
void pv_socklist_sort_with(struct pv_socklist *l, pv_rec_cmp_fn cmp, const void *ctx);
/*
 * Drop repeats of a socket (same cookie) from a list sorted in display
 * order: a dump may report a socket twice when the hash bucket it resumed
 * from gained a socket, and the repeat has the same addresses and ports,
 * so it sits among the records with those.  Returns how many were dropped.
 */
size_t pv_socklist_dedupe(struct pv_socklist *l);

bool pv_addr_is_v4mapped(const uint8_t addr[16]);

#endif
