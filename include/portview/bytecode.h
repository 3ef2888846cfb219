/* Port filters compiled to inet_diag bytecode, run by the kernel. */
#ifndef PORTVIEW_BYTECODE_H
#define PORTVIEW_BYTECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portview/buf.h"

enum pv_port_side {
	PV_SIDE_SRC = 1, /* local port */
	PV_SIDE_DST = 2, /* foreign port */
	PV_SIDE_ANY = 3, /* either */
};

struct pv_port_range {
	uint16_t lo, hi; /* inclusive, lo <= hi */
};

/*
 * One clause: true when, for a side in sides, the socket's port on that side
 * lies in one of the ranges.  A filter is the AND of its clauses.
 */
#define PV_MAX_RANGES 64
struct pv_port_clause {
	uint8_t sides;
	size_t nranges;
	struct pv_port_range ranges[PV_MAX_RANGES];
};

/*
 * An address or network: the first len bits of addr (network order; IPv4
 * uses the first 4 bytes).  An IPv4 prefix also matches IPv4-mapped IPv6
 * addresses, as the kernel's S_COND/D_COND do.
 */
struct pv_prefix {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t len;	/* 0-32 or 0-128 */
	uint8_t addr[16];
};

/*
 * An address clause: true when the socket's address on side (PV_SIDE_SRC
 * or PV_SIDE_DST) lies in one of the prefixes.
 */
#define PV_MAX_PREFIXES 32
struct pv_addr_clause {
	uint8_t side;
	size_t n;
	struct pv_prefix v[PV_MAX_PREFIXES];
};

/*
 * Compile the AND of the port clauses and the address clauses into an
 * INET_DIAG_REQ_BYTECODE program appended to out (nothing when there is no
 * clause).  use_eq allows the S_EQ/D_EQ ops for single ports; without it
 * ranges of one port use GE+LE, for kernels that lack the EQ ops.
 * Addresses use the S_COND/D_COND ops with any port.  Every program
 * satisfies the kernel's audit (inet_diag_bc_audit).  Returns 0, or
 * -E2BIG when the program would not fit the 16-bit jump offsets, or
 * -EINVAL for a clause out of bounds.
 */
int pv_bc_compile(const struct pv_port_clause *clauses, size_t n,
		  const struct pv_addr_clause *addrs, size_t naddrs, bool use_eq,
		  struct pv_buf *out);

/*
 * Put a test of the socket's bound device (INET_DIAG_BC_DEV_COND: the
 * interface index SO_BINDTODEVICE set, or a link-local address's scope)
 * in front of the program in prog, which may be empty: the socket must
 * be on ifindex, and then pass the rest.  Returns 0, or -E2BIG when the
 * program would not fit.
 */
int pv_bc_prepend_dev(struct pv_buf *prog, uint32_t ifindex);

/* The same filter in user space, for what was not or could not be pushed down. */
bool pv_port_clauses_match(const struct pv_port_clause *clauses, size_t n, uint16_t sport,
			   uint16_t dport);
/* The address clauses in user space: family of the socket, its addresses. */
bool pv_addr_clauses_match(const struct pv_addr_clause *clauses, size_t n, uint8_t family,
			   const uint8_t saddr[16], const uint8_t daddr[16]);

#endif
