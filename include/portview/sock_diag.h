/* The kernel's socket list over NETLINK_SOCK_DIAG (inet_diag). */
#ifndef PORTVIEW_SOCK_DIAG_H
#define PORTVIEW_SOCK_DIAG_H

#include <linux/inet_diag.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portview/buf.h"
#include "portview/sock.h"

struct mnl_socket;
struct pv_diag_tails;
struct pv_cookies;

/*
 * The kernel fills each dump datagram up to the reader's buffer size, capped
 * at 32 KiB; a larger buffer gains nothing, a smaller one costs datagrams.
 */
#define PV_DIAG_RCVBUF (32u * 1024u)

struct pv_diag_query {
	/*
	 * AF_INET or AF_INET6; or, for TCP, AF_UNSPEC: both families in one walk
	 * of the kernel's TCP hash, through the older TCPDIAG_GETSOCK request
	 * (the kernel serves it with sdiag_family AF_UNSPEC; SOCK_DIAG_BY_FAMILY
	 * has no handler for AF_UNSPEC).  Replies are the same inet_diag_msg.
	 */
	uint8_t family;
	uint8_t proto;	      /* IPPROTO_TCP or IPPROTO_UDP */
	uint32_t states;      /* bitmask of 1 << TCP_* */
	const void *bytecode; /* INET_DIAG_REQ_BYTECODE program, or NULL */
	size_t bytecode_len;
};

/* What one dump cost, for PORTVIEW_DEBUG. */
struct pv_diag_stats {
	size_t datagrams;
	size_t bytes;
};

/* Open and bind a sock_diag socket.  Returns 0 or a negative errno. */
int pv_diag_open(struct mnl_socket **out);
void pv_diag_close(struct mnl_socket *nl);

/*
 * Send one dump request and parse each reply datagram into out as it
 * arrives, until the kernel's NLMSG_DONE or NLMSG_ERROR.  (Parsing a
 * datagram takes microseconds next to the kernel's filling it, and holding
 * the raw dump would cost more memory than the records.)  Records whose
 * cookie is in known (may be NULL) are left out: a second walk keeps only
 * what the first did not report.  tails (may be NULL) notes the records
 * before each datagram boundary, see below.  A dump the kernel marks as
 * interrupted is restarted a few times, its records dropped first.
 * Returns 0, a negative errno for a transport failure, the error the
 * kernel reported (in NLMSG_DONE or NLMSG_ERROR), or -EBADMSG for a
 * malformed reply.
 */
int pv_diag_dump(struct mnl_socket *nl, const struct pv_diag_query *q,
		 const struct pv_cookies *known, struct pv_socklist *out,
		 struct pv_diag_stats *stats, struct pv_diag_tails *tails);

/*
 * A dump's datagram boundaries, and whether the walk may have skipped a
 * socket at one.  The kernel resumes a dump at a (hash bucket, position)
 * pair; a socket removed from that bucket, before that position, between
 * two datagrams shifts the bucket and the walk skips the socket after the
 * boundary.  Every socket before the position in that bucket ended the
 * previous datagram, so if none of the last few records of each datagram
 * has gone, nothing was skipped.
 *
 * With check set, the last tail_len connections (not listeners) of each
 * datagram, at most PV_DIAG_TAIL_MAX, are looked up as soon as the
 * datagram is known to be a boundary (hashwalk.h says how many are needed):
 * the kernel fills the next datagram when the previous one is read, so a
 * removal that could shift the walk has happened by then, and asking at
 * once leaves little time for unrelated closes to look like one.
 * Listeners are not looked up (an exact lookup of an SO_REUSEPORT listener
 * may answer with another of its group); listener_boundary says a
 * datagram ended with one.
 */
#define PV_DIAG_TAIL_MAX 15u
struct pv_diag_id {
	struct inet_diag_sockid id;
	uint8_t family;
	uint8_t state;
};
struct pv_diag_tails {
	bool check;		   /* in: look the boundary records up */
	size_t tail_len;	   /* in: how many records before each boundary */
	size_t boundaries;	   /* datagrams that records followed */
	bool listener_boundary;	   /* some datagram ended with a listener */
	size_t checked;		   /* records looked up */
	long gone;		   /* how many had gone, or a negative errno */
	struct mnl_socket *lookup; /* the lookups' own socket, opened on first use */
};
/* Close the lookup socket and clear everything but check and tail_len. */
void pv_diag_tails_free(struct pv_diag_tails *t);

/* The identity of a parsed record, to ask the kernel for it again. */
void pv_diag_id_of(const struct pv_sock *s, struct pv_diag_id *out);
/*
 * Ask the kernel for each socket in ids again (exact lookups, by address,
 * port and cookie, in batches, over a netlink socket of its own).  Returns
 * how many are gone (the kernel has no socket with that address and
 * cookie), or a negative errno when a lookup failed otherwise, so that
 * nothing can be concluded.
 */
long pv_diag_count_gone(uint8_t proto, const struct pv_diag_id *ids, size_t n);

/*
 * The error of a reply that is an NLMSG_ERROR (the request was refused, for
 * example -EINVAL for a filter program the kernel does not understand), or 0.
 */
int pv_diag_reply_error(const void *raw, size_t len);

/*
 * Parse the raw bytes of one dump (a sequence of netlink messages ending in
 * NLMSG_DONE) into records of protocol proto, appended to out in order
 * (repeats are dropped later, by pv_socklist_dedupe).  A pure function of
 * its input.  Returns 0,
 * the negative errno the kernel reported (in NLMSG_DONE or NLMSG_ERROR),
 * -EINTR for an interrupted dump, or -EBADMSG when the bytes are malformed
 * or end before NLMSG_DONE.
 */
int pv_diag_parse(const void *raw, size_t len, uint8_t proto, struct pv_socklist *out);

#endif
