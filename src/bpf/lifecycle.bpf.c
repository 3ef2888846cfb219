// SPDX-License-Identifier: GPL-2.0-only
/*
 * TCP lifecycles from inside the kernel: every change of state of every
 * TCP socket (sock:inet_sock_set_state, BTF-typed so the program gets the
 * socket itself), the resets sent and received, and retransmissions,
 * written to a ring buffer as struct pv_lc_rec (lifecycle.c reads it).
 * Built into a light skeleton, as owners.bpf.c.
 *
 * Whose process an event names: the change to SYN_SENT runs in the task
 * that called connect(), and the change to LISTEN in the one that called
 * listen(): their pid and comm are taken then and kept per socket (keyed
 * by its address) until its close.  A passive open runs in softirq, where
 * the current task is whoever was interrupted: it is marked passive and
 * user space names the listener's owners.
 *
 * The kernel structures are written out with only the fields read and
 * relocated by the kernel at load (CO-RE).  The tracepoints are BTF-typed,
 * so the socket's own fields are read directly (plain loads the verifier
 * checks against the kernel's types) rather than by bpf_probe_read_kernel,
 * a helper call each; only the fields of the larger structures a socket
 * is part of (inet_sock, tcp_sock) still go through it.
 *
 * Measured and dropped: the start kept in the socket's own storage
 * (BPF_MAP_TYPE_SK_STORAGE) instead of the LRU hash: in a loopback
 * storm the kernel's storage lookups and memory accounting took twice
 * the hash's time (perf, bench/events-cost).
 */
#include <stdbool.h>

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "portview/lifecycle_records.h"

#include "sock_types.h"

#define RCV_SHUTDOWN 1

enum {
	TCP_ESTABLISHED = 1,
	TCP_SYN_SENT = 2,
	TCP_SYN_RECV = 3,
	TCP_TIME_WAIT = 6,
	TCP_CLOSE = 7,
	TCP_LISTEN = 10,
	TCP_NEW_SYN_RECV = 12,
};

struct tcp_sock {
	__u64 bytes_sent;
	__u64 bytes_received;
	__u64 bytes_acked;
} __attribute__((preserve_access_index));

char LICENSE[] SEC("license") = "GPL";

/* What is remembered of a socket from its open to its close. */
struct started {
	__u64 ts_ns;
	__s32 pid;
	__u8 flags; /* PV_LC_F_ACTIVE, _PASSIVE, _TASK */
	char comm[PV_LC_COMM];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct started);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PV_LC_RING_SIZE);
} events SEC(".maps");

/* Set by user space after the load, before the attach. */
__u64 only_netns = 0;		    /* 0: every namespace; else its inode */
__u64 pidns_dev = 0, pidns_ino = 0; /* the reader's PID namespace: pids as it sees them */

/* Records that did not fit in the ring buffer: user space reports them. */
__u64 lost = 0;

/*
 * The listing's own filter, where it is cheap here (set by user space
 * before the attach; filtering 0: every record is written).  A record
 * user space would drop is not written at all: the ring, the wake-ups
 * and the reading are spent on what is shown.  The states (the one a
 * row shows: the new state, or the last before a close) and the port
 * clauses, ANDed, each a bitmap of the ports it accepts on its sides.
 * User space checks every record again (lifecycle_batch.c).
 */
__u32 filtering = 0;
__u32 want_states = 0;
__u32 nclauses = 0;
__u8 clause_sides[PV_LC_CLAUSES];
__u8 port_bits[PV_LC_CLAUSES][65536 / 8]; /* each laid out as user space's struct pv_portset */

static __s32 current_pid(void)
{
	struct bpf_pidns_info ns = {};
	if (pidns_ino == 0)
		return (__s32)(bpf_get_current_pid_tgid() >> 32);
	if (bpf_get_ns_current_pid_tgid(pidns_dev, pidns_ino, &ns, sizeof(ns)))
		return 0;
	return (__s32)ns.tgid;
}

static bool port_in(__u32 clause, __u16 port)
{
	return port_bits[clause][port >> 3] & (1u << (port & 7));
}

/* Whether user space would keep a record of this kind, states and ports. */
static bool wanted(__u8 kind, int oldstate, int newstate, __u16 sport, __u16 dport)
{
	if (!filtering)
		return true;
	/* user space follows the listeners, to name the owners of what they accept */
	if ((kind == PV_LC_OPENED && newstate == TCP_LISTEN) ||
	    (kind == PV_LC_CLOSED && oldstate == TCP_LISTEN))
		return true;
	int state = kind == PV_LC_CLOSED ? oldstate : newstate;
	if (!(want_states & (1u << (state & 31))))
		return false;
	for (__u32 i = 0; i < PV_LC_CLAUSES; i++) {
		if (i >= nclauses)
			break;
		__u8 sides = clause_sides[i];
		if (!((sides & PV_LC_SIDE_LOCAL) && port_in(i, sport)) &&
		    !((sides & PV_LC_SIDE_REMOTE) && port_in(i, dport)))
			return false;
	}
	return true;
}

/*
 * A record for sk in the given states, its addresses filled in; NULL when
 * not wanted or no room.
 */
static struct pv_lc_rec *begin(struct sock *sk, __u8 kind, int oldstate, int newstate)
{
	__u16 family = sk->__sk_common.skc_family;
	if (family != AF_INET && family != AF_INET6)
		return NULL;
	__u64 netns = sk->__sk_common.skc_net.net->ns.inum;
	if (only_netns && netns != only_netns)
		return NULL;
	/*
	 * A reset may be sent from a TIME_WAIT or request socket: no full
	 * sock behind its sock_common, so neither inet_sport nor sk_uid
	 * (sock_diag gives such sockets uid 0 too); its skc_num holds.
	 */
	__u8 st = sk->__sk_common.skc_state;
	bool full = st != TCP_TIME_WAIT && st != TCP_NEW_SYN_RECV;
	/* not skc_num for a full socket: the port may be given back before its CLOSE */
	__u16 sport = full ? __builtin_bswap16(BPF_CORE_READ((struct inet_sock *)sk, inet_sport))
			   : sk->__sk_common.skc_num;
	__u16 dport = __builtin_bswap16(sk->__sk_common.skc_dport);
	if (!wanted(kind, oldstate, newstate, sport, dport))
		return NULL;
	struct pv_lc_rec *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		__sync_fetch_and_add(&lost, 1);
		return NULL;
	}
	__builtin_memset(r, 0, sizeof(*r));
	r->ts_ns = bpf_ktime_get_ns();
	r->cookie = bpf_get_socket_cookie(sk);
	r->netns = netns;
	r->kind = kind;
	r->family = (__u8)family;
	r->uid = full ? sk->sk_uid.val : 0;
	r->oldstate = (__u8)oldstate;
	r->newstate = (__u8)newstate;
	r->sport = sport;
	r->dport = dport;
	struct sock_common *c = &sk->__sk_common;
	if (family == AF_INET) {
		__builtin_memcpy(r->saddr, &c->skc_rcv_saddr, 4);
		__builtin_memcpy(r->daddr, &c->skc_daddr, 4);
	} else {
		__builtin_memcpy(r->saddr, c->skc_v6_rcv_saddr.s6_addr, 16);
		__builtin_memcpy(r->daddr, c->skc_v6_daddr.s6_addr, 16);
	}
	return r;
}

/* The socket's byte counts at its close, as tcplife reads them. */
static void read_bytes(struct sock *sk, struct pv_lc_rec *r)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	r->bytes_sent = BPF_CORE_READ(tp, bytes_sent);
	r->bytes_acked = BPF_CORE_READ(tp, bytes_acked);
	r->bytes_received = BPF_CORE_READ(tp, bytes_received);
	/* a FIN received moved rcv_nxt by one, which the count follows */
	if ((BPF_CORE_READ(sk, sk_shutdown) & RCV_SHUTDOWN) && r->bytes_received)
		r->bytes_received--;
	r->flags |= PV_LC_F_BYTES;
}

/* Remember the start of sk's life, and, in the task that made it, who. */
static void remember(struct sock *sk, __u64 key, __u8 flags)
{
	struct started st = {.ts_ns = bpf_ktime_get_ns(), .flags = flags};
	if (flags & (PV_LC_F_ACTIVE | PV_LC_F_TASK)) {
		st.pid = current_pid();
		bpf_get_current_comm(st.comm, sizeof(st.comm));
	}
	bpf_map_update_elem(&starts, &key, &st, BPF_ANY);
}

static void copy_start(struct pv_lc_rec *r, const struct started *st)
{
	r->flags |= PV_LC_F_STARTED | st->flags;
	r->pid = st->pid;
	__builtin_memcpy(r->comm, st->comm, sizeof(r->comm));
}

SEC("tp_btf/inet_sock_set_state")
int pv_lc_state(__u64 *ctx)
{
	struct sock *sk = (struct sock *)ctx[0];
	int oldstate = (int)ctx[1], newstate = (int)ctx[2];
	if (!sk || sk->sk_protocol != IPPROTO_TCP)
		return 0;
	/*
	 * Another namespace's socket is none of ours: remembered, its start
	 * would take a place in the LRU map that one of ours may need (other
	 * namespaces' churn evicted our connecting task's pid).
	 */
	if (only_netns && sk->__sk_common.skc_net.net->ns.inum != only_netns)
		return 0;
	__u64 key = (__u64)sk;

	/* the addresses are not all set yet: the open is said when established */
	if (newstate == TCP_SYN_SENT) {
		remember(sk, key, PV_LC_F_ACTIVE);
		return 0;
	}
	if (newstate == TCP_SYN_RECV && oldstate == TCP_LISTEN) {
		remember(sk, key, PV_LC_F_PASSIVE);
		return 0;
	}
	if (newstate == TCP_LISTEN)
		remember(sk, key, PV_LC_F_TASK);

	__u8 kind = PV_LC_CHANGED;
	if (newstate == TCP_CLOSE)
		kind = PV_LC_CLOSED;
	else if (newstate == TCP_LISTEN || (newstate == TCP_ESTABLISHED &&
					    (oldstate == TCP_SYN_SENT || oldstate == TCP_SYN_RECV)))
		kind = PV_LC_OPENED;
	struct pv_lc_rec *r = begin(sk, kind, oldstate, newstate);
	struct started *st = bpf_map_lookup_elem(&starts, &key);
	if (!r) {
		if (st && kind == PV_LC_CLOSED)
			bpf_map_delete_elem(&starts, &key);
		return 0;
	}
	if (st) {
		copy_start(r, st);
		if (kind == PV_LC_CLOSED)
			r->duration_ns = r->ts_ns - st->ts_ns;
	}
	if (kind == PV_LC_CLOSED) {
		read_bytes(sk, r);
		if (st)
			bpf_map_delete_elem(&starts, &key);
	}
	bpf_ringbuf_submit(r, 0);
	return 0;
}

/* A reset, sent (sk may be a request or timewait socket, or none) or received. */
static int on_reset(struct sock *sk, __u8 kind, __u32 reason)
{
	if (!sk)
		return 0;
	int state = sk->__sk_common.skc_state;
	struct pv_lc_rec *r = begin(sk, kind, state, state);
	if (!r)
		return 0;
	__u64 key = (__u64)sk;
	struct started *st = bpf_map_lookup_elem(&starts, &key);
	if (st)
		copy_start(r, st);
	r->reason = reason;
	bpf_ringbuf_submit(r, 0);
	return 0;
}

SEC("tp_btf/tcp_send_reset")
int pv_lc_send_reset(__u64 *ctx)
{
	return on_reset((struct sock *)ctx[0], PV_LC_RESET_SENT, (__u32)ctx[2]);
}

SEC("tp_btf/tcp_receive_reset")
int pv_lc_receive_reset(__u64 *ctx)
{
	return on_reset((struct sock *)ctx[0], PV_LC_RESET_RECEIVED, 0);
}

SEC("tp_btf/tcp_retransmit_skb")
int pv_lc_retransmit(__u64 *ctx)
{
	return on_reset((struct sock *)ctx[0], PV_LC_RETRANSMIT, (__u32)(int)ctx[2]);
}
