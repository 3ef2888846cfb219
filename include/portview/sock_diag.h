/* The kernel's socket list over NETLINK_SOCK_DIAG (inet_diag). */
#ifndef PORTVIEW_SOCK_DIAG_H
#define PORTVIEW_SOCK_DIAG_H

#include <linux/inet_diag.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portview/buf.h"
#include "portview/sock.h"
#include "portview/util.h"

struct mnl_socket;

/*
 * The kernel fills each dump datagram up to the reader's buffer size, capped
 * at 32 KiB; a larger buffer gains nothing, a smaller one costs datagrams.
 */
#define PV_DIAG_RCVBUF (32u * 1024u)

/* At most this many records before a boundary can be looked up again. */
#define PV_DIAG_TAIL_MAX 15u

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
	uint8_t ext;	      /* idiag_ext: 1 << (INET_DIAG_INFO - 1) for tcp_info (-e, -i, JSON) */
	const void *bytecode; /* INET_DIAG_REQ_BYTECODE program, or NULL */
	size_t bytecode_len;
	/*
	 * Parsed on a second thread (pv_diag_dump): this one only reads, the
	 * kernel filling the next datagram inside each read, while the other
	 * parses the datagrams read and looks their boundaries up.
	 */
	bool piped;
	/*
	 * Or, where no thread is free for that now, parsed here until a thread
	 * free later joins (pv_diag_relay_help), then handed over as piped's
	 * is: the rest of the walk read here and parsed there.  May be NULL.
	 */
	struct pv_diag_relay *relay;
};

/*
 * Where a walk that takes a helper is announced, for the threads of one
 * snapshot: at most one such walk at a time.
 */
struct pv_diag_relay {
	pthread_mutex_t mu;
	struct pv_diag_pipe *open; /* the walk going on that takes a helper, or NULL */
};

void pv_diag_relay_init(struct pv_diag_relay *r);
void pv_diag_relay_destroy(struct pv_diag_relay *r);
/* Whether a walk going on would take a helper now. */
bool pv_diag_relay_open(struct pv_diag_relay *r);
/*
 * Parse the rest of the walk announced on r, if one is (the calling thread
 * has nothing else to do).  Returns when that walk's datagrams are all
 * parsed: whether it helped.
 */
bool pv_diag_relay_help(struct pv_diag_relay *r);

/* The states a record may be kept in (pv_diag_state's), counted apart. */
#define PV_DIAG_STATES 16

/* What one dump cost, for PORTVIEW_DEBUG; and what it kept. */
struct pv_diag_stats {
	size_t datagrams;
	size_t bytes;
	/*
	 * The records the dump added to its list, by state: what a pass over
	 * them would count, without the pass (3 MB of records read back
	 * cold at 100k sockets: 1-3 ms).
	 */
	size_t kept[PV_DIAG_STATES];
};

/* Open and bind a sock_diag socket.  Returns 0 or a negative errno. */
int pv_diag_open(struct mnl_socket **out);
void pv_diag_close(struct mnl_socket *nl);

/*
 * The parse of one dump's replies, datagram by datagram, each walked once:
 * records are appended to out as they come (their repeats are dropped
 * later, sort.h), the end and the errors noted.
 */
struct pv_diag_parse {
	/*
	 * The protocol of the records; 0: each message says (its
	 * INET_DIAG_PROTOCOL attribute, which the kernel's destroy messages
	 * carry), and a message that does not, or names another protocol than
	 * TCP or UDP, is skipped.
	 */
	uint8_t proto;
	struct pv_socklist *out;
	const struct pv_idset *known; /* cookies to leave out (a second walk's); may be NULL */
	/*
	 * 0, the error the kernel reported (in NLMSG_DONE or NLMSG_ERROR),
	 * -EINTR for a dump the kernel marked interrupted, or -EBADMSG for
	 * malformed bytes.  Records stop being kept at the first.
	 */
	int err;
	bool ended; /* NLMSG_DONE, an NLMSG_ERROR, or bytes that cannot be read on */
	/*
	 * Of the latest datagram: how many records, the offsets of the last
	 * ones, and the kernel's state of the first.
	 */
	size_t records;
	size_t last[PV_DIAG_TAIL_MAX];
	size_t kept[PV_DIAG_STATES]; /* records added to out, by state */
	uint8_t first_state;
};

/*
 * The state a record keeps for the kernel's idiag_state: the same number,
 * but for TCP sockets the kernel lists from its bind hash (state CLOSE),
 * which are PV_TCP_BOUND_INACTIVE.
 */
uint8_t pv_diag_state(uint8_t proto, uint8_t kernel_state);

void pv_diag_parse_init(struct pv_diag_parse *p, uint8_t proto, struct pv_socklist *out,
			const struct pv_idset *known);
/*
 * Records are appended to out with their TCP internals when out keeps
 * them (keep_info) and the message carries an INET_DIAG_INFO attribute:
 * the fields of the kernel's struct tcp_info that its length covers.
 */
/*
 * Parse one datagram (or any run of netlink messages, such as a recorded
 * dump), 4-byte aligned.  Returns true while the dump goes on, false once
 * it has ended; then p->err says how.  A dump whose bytes stop before
 * NLMSG_DONE has not ended: pv_diag_parse_result() says -EBADMSG.
 */
bool pv_diag_parse_datagram(struct pv_diag_parse *p, const void *buf, size_t len);
/* The outcome of a parse fed its last bytes: 0 or a negative errno. */
int pv_diag_parse_result(const struct pv_diag_parse *p);

/*
 * A dump's datagram boundaries, and whether the walk may have skipped a
 * socket at one (hashwalk.h).  With check set, the last tail_len
 * connections (not listeners, not bound, inactive sockets) of each
 * datagram are looked up again on the socket lookup as soon as the
 * datagram is known to be a boundary: the kernel fills the next datagram
 * when the previous one is read, so a removal that could shift the walk
 * has happened by then, and asking at once leaves little time for
 * unrelated closes to look like one.  Listeners are not looked up (an
 * exact lookup of an SO_REUSEPORT listener may answer with another of its
 * group), nor are bound, inactive sockets (no lookup finds them):
 * listener_boundary and bound_boundary say where their walks may have
 * been cut.
 */
struct pv_diag_tails {
	bool check;		   /* in: look the boundary records up */
	size_t tail_len;	   /* in: how many records before each boundary */
	struct mnl_socket *lookup; /* in: the lookups' socket (with check) */
	size_t boundaries;	   /* datagrams that records followed, or full ones */
	bool listener_boundary;	   /* TCP: some datagram ended with a listener */
	bool bound_boundary;	   /* TCP: a boundary may have cut the bind hash's walk */
	size_t checked;		   /* records looked up */
	long gone;		   /* how many had gone, or a negative errno */
};

/*
 * Send one dump request and parse each reply datagram as it arrives, until
 * the kernel's NLMSG_DONE or NLMSG_ERROR.  (Parsing a datagram takes
 * microseconds next to the kernel's filling it, and holding the raw dump
 * would cost more memory than the records.)  Records whose cookie is in
 * known (may be NULL) are left out.  tails (may be NULL) notes and checks
 * the boundaries.  With q->piped the parse and the boundary checks run on
 * a thread of their own, on datagrams handed over in order (the records
 * and the checks are the same).  A dump the kernel marks as interrupted is
 * restarted a few times, its records dropped first.  Returns 0, a negative errno for a
 * transport failure, the error the kernel reported, or -EBADMSG for a
 * malformed reply.
 */
int pv_diag_dump(struct mnl_socket *nl, const struct pv_diag_query *q, const struct pv_idset *known,
		 struct pv_socklist *out, struct pv_diag_stats *stats, struct pv_diag_tails *tails);

/* A socket to ask the kernel for again: its identity as a dump reported it. */
struct pv_diag_id {
	struct inet_diag_sockid id;
	uint8_t family;
	uint8_t state;
};

/*
 * Ask the kernel for each socket in ids again (exact lookups, by address,
 * port and cookie, in batches) on nl.  Returns how many are gone (the
 * kernel has no socket with that address and cookie), or a negative errno
 * when a lookup failed otherwise, so that nothing can be concluded.
 */
long pv_diag_count_gone(struct mnl_socket *nl, uint8_t proto, const struct pv_diag_id *ids,
			size_t n);
/*
 * The same lookups, each socket found parsed into out (with its tcp_info
 * when info is set): how many were gone, or a negative errno.
 */
long pv_diag_lookup_many(struct mnl_socket *nl, uint8_t proto, const struct pv_diag_id *ids,
			 size_t n, bool info, struct pv_socklist *out);

/*
 * Ask the kernel on nl for one socket again, by its addresses, ports and
 * cookie, as a record s reported it.  Returns 0 with *state its state
 * now (a connection that went on as TIME_WAIT keeps its cookie), -ENOENT
 * when it has gone, or another negative errno.
 */
int pv_diag_lookup_state(struct mnl_socket *nl, const struct pv_sock *s, uint8_t *state);
/* The same, with *inode its inode now: 0 once no process holds it (orphaned). */
int pv_diag_lookup(struct mnl_socket *nl, const struct pv_sock *s, uint8_t *state, uint32_t *inode);
/*
 * The request that names s alone: its family, protocol, addresses, ports,
 * interface and cookie, every state (a lookup, or SOCK_DESTROY).
 */
void pv_diag_request_for(const struct pv_sock *s, struct inet_diag_req_v2 *r);

/*
 * A socket on the kernel's destroy groups, TCP and UDP in both families:
 * the kernel sends it a record of each socket of its network namespace
 * that it frees, with the socket's cookie, its last tcp_info, and uid and
 * inode 0.  Non-blocking.  Returns 0 or a negative errno.
 */
int pv_diag_open_destroyed(struct mnl_socket **out);
/* The descriptor to wait on. */
int pv_diag_fd(struct mnl_socket *nl);
/*
 * Append to out a record of each freed socket waiting on nl (out's
 * keep_info says whether with its tcp_info).  Returns 0 once none is
 * waiting; -ENOBUFS, once none is waiting, when the kernel dropped some
 * because the socket's buffer was full (what it kept is in out: the queue
 * is read to its end, since the kernel drops silently until it is empty);
 * or another negative errno.
 */
int pv_diag_read_destroyed(struct mnl_socket *nl, struct pv_socklist *out);

#endif
