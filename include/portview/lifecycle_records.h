/*
 * The records the lifecycle program (src/bpf/lifecycle.bpf.c) writes into
 * its ring buffer, one per event: the layout both sides compile.
 */
#ifndef PORTVIEW_LIFECYCLE_RECORDS_H
#define PORTVIEW_LIFECYCLE_RECORDS_H

#include <linux/types.h>

#define PV_LC_COMM 16 /* TASK_COMM_LEN */
/* The ring buffer's size: about 60,000 records, half a second of a storm */
#define PV_LC_RING_SIZE (8u << 20)

/* The program's filter: at most this many port clauses, ANDed (struct pv_query's) */
#define PV_LC_CLAUSES	  3
#define PV_LC_SIDE_LOCAL  1u /* a clause's sides: the local port, */
#define PV_LC_SIDE_REMOTE 2u /* the remote one */

/* pv_lc_rec.kind */
enum {
	PV_LC_OPENED = 1,	  /* listening, or a connection established */
	PV_LC_CHANGED = 2,	  /* any other change of state but to CLOSE */
	PV_LC_CLOSED = 3,	  /* the change to CLOSE: the socket's end */
	PV_LC_RESET_SENT = 4,	  /* tcp:tcp_send_reset */
	PV_LC_RESET_RECEIVED = 5, /* tcp:tcp_receive_reset */
	PV_LC_RETRANSMIT = 6,	  /* tcp:tcp_retransmit_skb */
};

/* pv_lc_rec.flags */
#define PV_LC_F_STARTED 1u  /* the open was seen: duration_ns is known */
#define PV_LC_F_ACTIVE	2u  /* opened by connect(): pid and comm are the connecting task's */
#define PV_LC_F_PASSIVE 4u  /* accepted: the owners are the listener's */
#define PV_LC_F_BYTES	8u  /* the byte counts were read (a full socket) */
#define PV_LC_F_TASK	16u /* pid and comm are the task's that made the change (listen()) */

struct pv_lc_rec {
	__u64 ts_ns;	      /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 cookie;	      /* the socket's cookie, as sock_diag gives it */
	__u64 netns;	      /* the inode of its network namespace */
	__u64 duration_ns;    /* CLOSED with PV_LC_F_STARTED: since it opened */
	__u64 bytes_sent;     /* CLOSED: data bytes sent, retransmissions included */
	__u64 bytes_acked;    /* CLOSED: bytes the peer acknowledged (SYN and FIN count one) */
	__u64 bytes_received; /* CLOSED: data bytes received in order (the FIN left out) */
	__s32 pid;	      /* in the reader's PID namespace; 0: not known */
	__u32 reason;	      /* RESET_SENT: enum sk_rst_reason; RETRANSMIT: the error */
	__u8 kind;	      /* PV_LC_* */
	__u8 family;	      /* AF_INET or AF_INET6 */
	__u8 oldstate, newstate;
	__u16 sport, dport; /* host order */
	__u8 flags;	    /* PV_LC_F_* */
	__u8 pad[3];
	__u8 saddr[16], daddr[16]; /* network order; IPv4 in the first 4 bytes */
	char comm[PV_LC_COMM];
	__u32 uid; /* the socket's owner (sk_uid) */
	__u32 pad2;
};

#endif
