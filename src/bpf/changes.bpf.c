// SPDX-License-Identifier: GPL-2.0-only
/*
 * The change log of the TCP sockets (follow.c's): which sockets a
 * sock_diag dump would now say something new of, written to a ring buffer
 * as struct pv_ch_rec, so that a refresh asks the kernel again for those
 * alone (exact lookups) instead of dumping every socket.  Built into a
 * light skeleton, as owners.bpf.c.  Tracepoints only: this kernel has no
 * BPF trampolines (fentry), and a tracepoint's place is a kernel promise.
 *
 * Where each change is seen:
 * - sock:inet_sock_set_state (BTF-typed): every change of state of a full
 *   socket: opened, changed, ended (the change to CLOSE, after which a
 *   TIME_WAIT socket may hold its place and cookie: user space asks).  The
 *   change to SYN_SENT comes before connect() picks the local port: user
 *   space dumps the connecting sockets when one is not answered at once;
 * - sock:sock_send_length and sock:sock_recv_length: a TCP socket that
 *   moved data, told once per refresh (user space moves `generation` on
 *   at each), so that user space asks for its tcp_info (its rates).
 * - cgroup/bind4, cgroup/bind6 and cgroup/sock_release, attached by user
 *   space to the root of the cgroup hierarchy (every task's sockets): a
 *   bind() of a TCP socket, and the close of a bound, inactive one, so that
 *   user space walks the kernel's bind hash (a dump of the bound, inactive
 *   sockets) only after a bind, not at every refresh.  They allow every
 *   call: they only tell.  The change to CLOSE of a socket whose process
 *   holds it and that keeps its port (bind()'s lock) may leave it bound:
 *   its record says so.
 * Not seen: request sockets (SYN_RECV before the handshake completes),
 * accept() (a socket's inode), the end of a TIME_WAIT socket: user space
 * dumps, asks again or waits (follow.c).
 */
#include <stdbool.h>

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "portview/change_records.h"

#include "sock_types.h"

/* include/net/tcp_states.h: TCP_CLOSE */
#define TCP_CLOSE_STATE 7

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PV_CH_RING_SIZE);
} changes SEC(".maps");

/* The refresh in which each socket last moved data (its cookie's generation). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u64);
} moved_in SEC(".maps");

/* Set by user space after the load, before the attach. */
__u64 only_netns = 0;	     /* 0: every namespace; else its inode */
__u64 only_netns_cookie = 0; /* the same namespace's cookie (SO_NETNS_COOKIE); 0: every one */
/* Moved on by user space at each refresh. */
__u64 generation = 0;

/* Records that did not fit: user space then dumps in full. */
__u64 lost = 0;

static bool ours(struct sock *sk)
{
	__u16 family = sk->__sk_common.skc_family;
	if (sk->sk_protocol != IPPROTO_TCP || (family != AF_INET && family != AF_INET6))
		return false;
	return !only_netns || sk->__sk_common.skc_net.net->ns.inum == only_netns;
}

/* The record of a change of sk's state (both 0: it moved data). */
static void tell(struct sock *sk, int oldstate, int newstate)
{
	struct pv_ch_rec *r = bpf_ringbuf_reserve(&changes, sizeof(*r), 0);
	if (!r) {
		__sync_fetch_and_add(&lost, 1);
		return;
	}
	struct sock_common *c = &sk->__sk_common;
	__builtin_memset(r, 0, sizeof(*r));
	__u16 family = c->skc_family;
	r->cookie = bpf_get_socket_cookie(sk);
	r->family = (__u8)family;
	r->oldstate = (__u8)oldstate;
	r->state = (__u8)newstate;
	/* at the change to CLOSE the port may already be given back: the socket's own copy */
	r->sport = c->skc_num
		       ? c->skc_num
		       : __builtin_bswap16(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	r->dport = __builtin_bswap16(c->skc_dport);
	r->ifindex = (__u32)c->skc_bound_dev_if;
	r->uid = sk->sk_uid.val;
	if (bpf_core_field_exists(sk->sk_ino)) {
		r->inode = (__u32)sk->sk_ino; /* kept in the socket since Linux 6.16 */
	} else {
		struct socket_alloc *sa = (struct socket_alloc *)BPF_CORE_READ(sk, sk_socket);
		if (sa)
			r->inode = (__u32)BPF_CORE_READ(sa, vfs_inode.i_ino);
	}
	/* include/net/sock.h: SOCK_BINDPORT_LOCK; tcp_set_state() gives the port back without it */
	if (newstate == TCP_CLOSE_STATE && (sk->sk_userlocks & 8) && sk->sk_socket)
		r->flags |= PV_CH_F_KEEPS_PORT;
	if (family == AF_INET6) {
		r->flags |= PV_CH_F_V6ONLY_KNOWN;
		if (BPF_CORE_READ_BITFIELD(c, skc_ipv6only))
			r->flags |= PV_CH_F_V6ONLY;
	}
	if (family == AF_INET) {
		__builtin_memcpy(r->saddr, &c->skc_rcv_saddr, 4);
		__builtin_memcpy(r->daddr, &c->skc_daddr, 4);
	} else {
		__builtin_memcpy(r->saddr, c->skc_v6_rcv_saddr.s6_addr, 16);
		__builtin_memcpy(r->daddr, c->skc_v6_daddr.s6_addr, 16);
	}
	bpf_ringbuf_submit(r, 0);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(pv_ch_state, struct sock *sk, int oldstate, int newstate)
{
	if (sk && ours(sk))
		tell(sk, oldstate, newstate);
	return 0;
}

static void moved(struct sock *sk, int ret)
{
	if (ret <= 0 || !sk || !ours(sk))
		return;
	__u64 cookie = bpf_get_socket_cookie(sk), now = generation;
	__u64 *last = bpf_map_lookup_elem(&moved_in, &cookie);
	if (last && *last == now)
		return; /* told already in this refresh */
	bpf_map_update_elem(&moved_in, &cookie, &now, BPF_ANY);
	tell(sk, 0, 0);
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(pv_ch_sent, struct sock *sk, int ret, int flags)
{
	moved(sk, ret);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(pv_ch_received, struct sock *sk, int ret, int flags)
{
	moved(sk, ret);
	return 0;
}

/* A record that names a socket by its cookie alone, with flags (a bind, a close). */
static void tell_cookie(__u64 cookie, __u8 family, __u8 flags, __u16 port)
{
	struct pv_ch_rec *r = bpf_ringbuf_reserve(&changes, sizeof(*r), 0);
	if (!r) {
		__sync_fetch_and_add(&lost, 1);
		return;
	}
	__builtin_memset(r, 0, sizeof(*r));
	r->cookie = cookie;
	r->family = family;
	r->flags = flags;
	r->sport = port;
	bpf_ringbuf_submit(r, 0);
}

static int bound(struct bpf_sock_addr *ctx, __u8 family)
{
	if (ctx->protocol == IPPROTO_TCP &&
	    (!only_netns_cookie || bpf_get_netns_cookie(ctx) == only_netns_cookie))
		tell_cookie(bpf_get_socket_cookie(ctx), family, PV_CH_F_BIND,
			    __builtin_bswap16((__u16)ctx->user_port));
	return 1; /* allowed: the call goes on as if nothing were attached */
}

SEC("cgroup/bind4")
int pv_ch_bind4(struct bpf_sock_addr *ctx)
{
	return bound(ctx, AF_INET);
}

SEC("cgroup/bind6")
int pv_ch_bind6(struct bpf_sock_addr *ctx)
{
	return bound(ctx, AF_INET6);
}

/*
 * The close of a socket's file: told of a TCP socket in CLOSE, as a bound,
 * inactive one is (this hook may not read the port: unbound ones are told
 * too).
 */
SEC("cgroup/sock_release")
int pv_ch_release(struct bpf_sock *ctx)
{
	if (ctx->protocol == IPPROTO_TCP && ctx->state == TCP_CLOSE_STATE &&
	    (!only_netns_cookie || bpf_get_netns_cookie(ctx) == only_netns_cookie))
		tell_cookie(bpf_get_socket_cookie(ctx), (__u8)ctx->family, PV_CH_F_RELEASED, 0);
	return 1;
}
