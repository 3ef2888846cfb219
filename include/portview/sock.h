/*
 * The socket record and the list that owns the records: what the kernel
 * said of each socket, nothing more (what later stages add lives in the
 * view, view.h).
 */
#ifndef PORTVIEW_SOCK_H
#define PORTVIEW_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

struct pv_endpoint {
	uint8_t addr[16]; /* network order; IPv4 uses the first 4 bytes */
	uint16_t port;	  /* host order */
};

/*
 * A TCP socket's internals as the kernel's struct tcp_info gives them
 * (INET_DIAG_INFO), in its units, kept only when asked for (-i).  The
 * kernel's struct grew over the years: have says which fields this one
 * sent (a kernel older than a field sends a shorter struct).
 */
enum {
	PV_TI_BASE = 1,	    /* rtt, rttvar, cwnd, mss, retransmits, last data sent/received */
	PV_TI_BYTES = 2,    /* bytes_acked, bytes_received (Linux 4.1) */
	PV_TI_SEGS = 4,	    /* segs_out, segs_in (4.2) */
	PV_TI_DELIVERY = 8, /* delivery_rate (4.9) */
	PV_TI_SENT = 16,    /* bytes_sent (4.19) */
};

struct pv_tcp_info {
	uint64_t bytes_sent;	 /* sent, retransmissions included */
	uint64_t bytes_acked;	 /* acknowledged by the peer */
	uint64_t bytes_received; /* received in order */
	uint64_t delivery_rate;	 /* bytes per second, the kernel's latest estimate */
	uint32_t rtt_us, rttvar_us;
	uint32_t snd_cwnd; /* segments */
	uint32_t snd_mss;
	uint32_t retrans;	/* retransmitted segments not yet acknowledged */
	uint32_t total_retrans; /* segments retransmitted over the connection's life */
	uint32_t segs_out, segs_in;
	uint32_t last_data_sent_ms, last_data_recv_ms; /* how long ago */
	uint8_t have;				       /* PV_TI_* bits; 0: none */
};

struct pv_sock {
	uint64_t cookie;
	uint8_t proto;	 /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t family;	 /* AF_INET or AF_INET6 */
	uint8_t state;	 /* kernel TCP_* state */
	uint8_t timer;	 /* idiag_timer: 0 off, 1 on, 2 keepalive, 3 timewait, 4 probe */
	uint8_t retrans; /* retransmissions (netstat -o's second number) */
	uint8_t probes;	 /* unanswered keepalive or zero-window probes (its third) */
	/* IPV6_V6ONLY: 1 set, 0 not (a wildcard then takes IPv4 too), -1 unknown */
	int8_t v6only;
	struct pv_endpoint local;
	struct pv_endpoint remote;
	uint32_t ifindex; /* the bound device (SO_BINDTODEVICE), or the scope; 0: none */
	uint32_t expires;
	uint32_t rqueue;
	uint32_t wqueue;
	uint32_t uid;
	uint32_t inode;
	uint32_t netns;	 /* which namespace of a run's (--all-netns), 0 otherwise */
	uint64_t cgroup; /* the socket's cgroup (INET_DIAG_CGROUP_ID), 0: not known */
	/* TCP internals, when the list keeps them and the kernel sent them; else NULL */
	const struct pv_tcp_info *info;
};

/*
 * One socket as the list stores it: 32 bytes, so that 100,000 sockets take
 * 3.2 MB.  IPv6 addresses live beside the records (struct pv_v6), and so
 * do the addresses of the few IPv4 sockets that have an interface (bound
 * to a device: PV_REC_SIDE); fields only some outputs show live in the
 * parallel array `more`, and TCP internals in `info`, each kept only when
 * asked for.  Read a record through pv_socklist_get().
 */
struct pv_rec {
	uint64_t cookie;
	uint32_t laddr; /* IPv4: the address, network order; IPv6 or PV_REC_SIDE: index into v6 */
	uint32_t raddr; /* IPv4: the address, network order; IPv6 or PV_REC_SIDE: 0 */
	uint16_t lport, rport;
	uint8_t proto;
	uint8_t family;
	uint8_t state;
	uint8_t flags; /* PV_REC_* */
	uint32_t inode;
	uint32_t uid;
};

/* pv_rec.flags */
#define PV_REC_V6ONLY_KNOWN 1u /* the kernel said whether IPV6_V6ONLY is set: */
#define PV_REC_V6ONLY	    2u /* ... it is */
#define PV_REC_SIDE	    4u /* IPv4 with an interface: addresses in v6[laddr] */

struct pv_rec_more {
	uint32_t rqueue, wqueue, expires;
	uint8_t timer, retrans, probes;
	uint32_t netns;
	uint64_t cgroup;
};

struct pv_v6 {
	uint8_t local[16], remote[16]; /* with PV_REC_SIDE, IPv4 in the first 4 bytes */
	uint32_t ifindex;
};

struct pv_socklist {
	struct pv_rec *v; /* a pv_big_realloc array: on 2 MB pages when large and keep_info */
	size_t n, cap;
	/* Parallel to v while keep_more (the default) is set. */
	struct pv_rec_more *more;
	bool keep_more;
	/*
	 * While keep_info is set (off by default: -i asks for it): record i's
	 * tcp_info is info[info_at[i]] (pv_socklist_info).  The records' moves
	 * (a sort, a merge, repeats dropped) move their 4-byte info_at, not
	 * the 80-byte tcp_info, which stays where it was added (measured at
	 * 100,000 records: the sort 2.7 ms faster).  info holds ninfo of
	 * capinfo, a pv_big_realloc array on 2 MB pages once large, as v is then.
	 */
	struct pv_tcp_info *info;
	uint32_t *info_at;
	size_t ninfo, capinfo;
	bool keep_info;
	/*
	 * v on 2 MB pages from 2 MB of records (65,536) on: 100,000 records
	 * in fresh 4 KiB pages are some 780 first touches at 7 us each on
	 * this VM; in 2 MB pages, two.  Up to 2 MB more peak RSS.
	 */
	bool big_pages;
	struct pv_v6 *v6;
	size_t n6, cap6;
	/*
	 * Records [0, sorted) are known to be in display order (sort.h): a
	 * walk's parse sorts as it goes (pv_sort_grow), and the sort after
	 * it (pv_socklist_sort_on) then has only the rest to do.  Whatever
	 * reorders records keeps it true or lowers it.
	 */
	size_t sorted;
};

void pv_socklist_init(struct pv_socklist *l);
void pv_socklist_free(struct pv_socklist *l);
/*
 * Room for cap records in each array the list keeps (never less than it
 * has): the one place that says how each is allocated (tcp_info, and the
 * records of a list that keeps it, on 2 MB pages: pv_big_realloc).
 */
void pv_socklist_reserve(struct pv_socklist *l, size_t cap);
/*
 * from's records and arrays copied into to, whose memory is reused where
 * it has room (what it held is dropped; it keeps what from keeps).
 */
void pv_socklist_copy(struct pv_socklist *to, const struct pv_socklist *from);
/* Keep tcp_info from now on (keep_info), each record so far with none. */
void pv_socklist_keep_info(struct pv_socklist *l);
/* Append a copy of s (its addresses, ports and kernel fields). */
bool pv_socklist_add(struct pv_socklist *l, const struct pv_sock *s);
/* Record i, unpacked. */
void pv_socklist_get(const struct pv_socklist *l, size_t i, struct pv_sock *out);

/* A record's IPv4 address (network order), local or foreign. */
static inline uint32_t pv_rec_addr4(const struct pv_socklist *l, const struct pv_rec *r, bool local)
{
	uint32_t a;
	if (!(r->flags & PV_REC_SIDE))
		return local ? r->laddr : r->raddr;
	memcpy(&a, local ? l->v6[r->laddr].local : l->v6[r->laddr].remote, sizeof(a));
	return a;
}

/* A record's interface index (0: none). */
static inline uint32_t pv_rec_ifindex(const struct pv_socklist *l, const struct pv_rec *r)
{
	return r->family == AF_INET6 || (r->flags & PV_REC_SIDE) ? l->v6[r->laddr].ifindex : 0;
}

/* Record i's tcp_info, where the list keeps it (its have 0 where the kernel sent none), else NULL.
 */
static inline const struct pv_tcp_info *pv_socklist_info(const struct pv_socklist *l, size_t i)
{
	return l->info ? &l->info[l->info_at[i]] : NULL;
}

/* A point to go back to: drop every record added after it. */
struct pv_socklist_mark {
	size_t n, n6, ninfo;
};
struct pv_socklist_mark pv_socklist_mark(const struct pv_socklist *l);
void pv_socklist_rollback(struct pv_socklist *l, struct pv_socklist_mark m);

/* Record `from` copied over record `to`, with its parallel arrays: the
 * store alone knows which it keeps (the sort and repeat removal call these). */
static inline void pv_socklist_move(struct pv_socklist *l, size_t to, size_t from)
{
	l->v[to] = l->v[from];
	if (l->more)
		l->more[to] = l->more[from];
	if (l->info)
		l->info_at[to] = l->info_at[from];
}

/* Records i and j exchanged, with their parallel arrays. */
static inline void pv_socklist_swap(struct pv_socklist *l, size_t i, size_t j)
{
	struct pv_rec r = l->v[i];
	l->v[i] = l->v[j];
	l->v[j] = r;
	if (l->more) {
		struct pv_rec_more m = l->more[i];
		l->more[i] = l->more[j];
		l->more[j] = m;
	}
	if (l->info) {
		uint32_t t = l->info_at[i];
		l->info_at[i] = l->info_at[j];
		l->info_at[j] = t;
	}
}

/*
 * Drop the records from index `from` on whose state is not in states (a
 * mask of 1 << state), preserving order.
 */
void pv_socklist_keep_states(struct pv_socklist *l, size_t from, uint32_t states);

/* Drop the records for which keep() is false, preserving order. */
void pv_socklist_filter(struct pv_socklist *l, bool (*keep)(const struct pv_sock *, const void *),
			const void *arg);

bool pv_addr_is_v4mapped(const uint8_t addr[16]);
/* The IPv6 wildcard address, ::. */
bool pv_addr_is_any6(const uint8_t addr[16]);
/*
 * An IPv6 socket bound to :: with IPV6_V6ONLY off: it takes IPv4 traffic
 * as well (a "dual-stack" listener or unconnected socket).
 */
bool pv_sock_is_dual_stack(const struct pv_sock *s);

#endif
