/*
 * The records the change log's programs (src/bpf/changes.bpf.c) write
 * into their ring buffer, one per change of state of a TCP socket: the
 * layout both sides compile.  A record names the socket (cookie,
 * addresses, ports) so that user space can ask the kernel for it again,
 * which says what a dump would now say of it.
 */
#ifndef PORTVIEW_CHANGE_RECORDS_H
#define PORTVIEW_CHANGE_RECORDS_H

#include <linux/types.h>

/* The ring buffer's size: about 120,000 records (72 bytes each with its header) */
#define PV_CH_RING_SIZE (8u << 20)

/* pv_ch_rec.flags */
#define PV_CH_F_V6ONLY_KNOWN 1u /* an IPv6 socket: whether IPV6_V6ONLY is set */
#define PV_CH_F_V6ONLY	     2u
/* a change to CLOSE of a socket its process holds and that keeps its port: it may stay bound */
#define PV_CH_F_KEEPS_PORT 4u
/* not a change of state: bind() was called on the socket (its port may not be chosen yet) */
#define PV_CH_F_BIND 8u
/* not a change of state: the socket, bound and inactive, was closed (its cookie alone) */
#define PV_CH_F_RELEASED 16u

struct pv_ch_rec {
	__u64 cookie; /* the socket's cookie, as sock_diag gives it */
	__u8 family;  /* AF_INET or AF_INET6 */
	/*
	 * the kernel's TCP_*: the change (TCP_CLOSE: the socket's end); both 0:
	 * it moved data, or flags say PV_CH_F_BIND or PV_CH_F_RELEASED
	 */
	__u8 oldstate, state;
	__u8 flags;	    /* PV_CH_F_* */
	__u16 sport, dport; /* host order; sport 0: not chosen yet (SYN_SENT) */
	__u32 ifindex;	    /* the device it is bound to; 0: none */
	__u32 inode;	    /* its socket's inode at the change; 0: none */
	__u32 uid;
	__u8 saddr[16], daddr[16]; /* network order; IPv4 in the first 4 bytes */
};

#endif
