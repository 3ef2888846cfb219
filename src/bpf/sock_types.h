/*
 * The kernel's socket structures as the BPF programs read them (changes
 * and lifecycle): only the fields read, relocated by the kernel at load
 * (CO-RE), so a field one program never reads costs it nothing.
 */
#ifndef PORTVIEW_BPF_SOCK_TYPES_H
#define PORTVIEW_BPF_SOCK_TYPES_H

#define AF_INET	    2
#define AF_INET6    10
#define IPPROTO_TCP 6

struct ns_common {
	unsigned int inum;
} __attribute__((preserve_access_index));

struct net {
	struct ns_common ns;
} __attribute__((preserve_access_index));

typedef struct {
	struct net *net;
} possible_net_t;

struct in6_addr {
	__u8 s6_addr[16];
};

struct sock_common {
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__be16 skc_dport;
	__u16 skc_num;
	unsigned short skc_family;
	volatile unsigned char skc_state;
	unsigned char skc_ipv6only : 1;
	int skc_bound_dev_if;
	possible_net_t skc_net;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
} __attribute__((preserve_access_index));

typedef struct {
	__u32 val;
} kuid_t;

struct socket;

struct sock {
	struct sock_common __sk_common;
	kuid_t sk_uid;
	__u8 sk_shutdown;
	__u16 sk_protocol;
	__u8 sk_userlocks;
	unsigned long sk_ino;
	struct socket *sk_socket;
} __attribute__((preserve_access_index));

struct inet_sock {
	__be16 inet_sport;
} __attribute__((preserve_access_index));

struct inode {
	unsigned long i_ino;
} __attribute__((preserve_access_index));

struct socket {
	int state;
} __attribute__((preserve_access_index));

/* A socket's inode sits right after it (include/net/sock.h's SOCK_INODE). */
struct socket_alloc {
	struct socket socket;
	struct inode vfs_inode;
} __attribute__((preserve_access_index));

#endif
