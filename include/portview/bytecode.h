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
 * Compile the AND of the clauses into an INET_DIAG_REQ_BYTECODE program
 * appended to out (nothing when n is 0).  use_eq allows the S_EQ/D_EQ ops
 * for single ports; without it ranges of one port use GE+LE, for kernels
 * that lack the EQ ops.  Every program satisfies the kernel's audit
 * (inet_diag_bc_audit).  Returns 0, or -E2BIG when the program would not fit
 * the 16-bit jump offsets.
 */
int pv_bc_compile(const struct pv_port_clause *clauses, size_t n, bool use_eq, struct pv_buf *out);

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

#endif
