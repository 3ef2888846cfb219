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

struct pv_socklist {
	struct pv_sock *v;
	size_t n;
	size_t cap;
	/* Open-addressed set of cookies already stored, for de-duplication. */
	uint64_t *seen;
	size_t seen_cap;
};

void pv_socklist_init(struct pv_socklist *l);
void pv_socklist_free(struct pv_socklist *l);
/*
 * Append a copy of s unless a socket with the same cookie is already in the
 * list (a dump may repeat a socket when the hash bucket it resumes from
 * changed).  Returns true if it was added.
 */
bool pv_socklist_add(struct pv_socklist *l, const struct pv_sock *s);
/*
 * Add the records of extra (a second walk of the kernel's table) that the
 * first walk, records from index `from` of l, did not have: a socket is
 * new only if no record there has its protocol, family, addresses and
 * ports.  Between the walks a connection may have closed and another
 * taken its addresses (a new cookie), which would otherwise be listed as
 * a second row; listeners are exempt, as SO_REUSEPORT listeners share
 * their addresses.
 */
void pv_socklist_add_missing(struct pv_socklist *l, size_t from, const struct pv_socklist *extra);

/* Whether a record with this (non-zero) cookie was added. */
bool pv_socklist_has_cookie(const struct pv_socklist *l, uint64_t cookie);
/*
 * No more records will be added: drop the cookie set (a megabyte at 100,000
 * sockets).  Adding after this would no longer drop duplicates.
 */
void pv_socklist_done_adding(struct pv_socklist *l);
/* Make room for more records at once (exactly, not by doubling). */
void pv_socklist_reserve(struct pv_socklist *l, size_t more);
/* Drop the records for which keep() is false, preserving order. */
void pv_socklist_filter(struct pv_socklist *l, bool (*keep)(const struct pv_sock *, const void *),
			const void *arg);

/* The display order: protocol, family, local address and port, foreign. */
int pv_sock_cmp(const struct pv_sock *a, const struct pv_sock *b);
void pv_socklist_sort(struct pv_socklist *l);

bool pv_addr_is_v4mapped(const uint8_t addr[16]);

#endif
