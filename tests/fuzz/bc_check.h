/*
 * An independent model of how the kernel treats an INET_DIAG_REQ_BYTECODE
 * program (net/ipv4/inet_diag.c), for checking what pv_bc_compile emits.
 *
 *   bcc_audit()  the rules of inet_diag_bc_audit(), valid_hostcond(),
 *                valid_devcond() and valid_cc()
 *   bcc_run()    inet_diag_bc_run() for the port comparisons
 *   bcc_run_sock()  the same with addresses: S_COND and D_COND too
 *   bcc_run_dev()   the same for a socket bound to a device: DEV_COND
 *
 * Both work on the bytes only (no pointer casts, so no alignment
 * assumptions) and never read outside [prog, prog + size).
 *
 * The auditor is stricter than the kernel in one way: it accepts only the
 * op codes portview may emit (port comparisons, S_COND and D_COND,
 * DEV_COND, JMP, NOP).  The kernel also knows AUTO and the others; an
 * emitted program holding one of those would be a portview bug even when
 * the kernel takes it.
 */
#ifndef PORTVIEW_FUZZ_BC_CHECK_H
#define PORTVIEW_FUZZ_BC_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <linux/inet_diag.h>

#define BCC_OP	 4 /* sizeof(struct inet_diag_bc_op) */
#define BCC_COND 8 /* sizeof(struct inet_diag_hostcond): family, prefix_len, port */

_Static_assert(sizeof(struct inet_diag_bc_op) == BCC_OP, "inet_diag_bc_op is 4 bytes");

/* One op: code (u8), yes (u8), no (u16, host order). */
struct bcc_op {
	unsigned code, yes, no;
};

static inline struct bcc_op bcc_op_at(const uint8_t *prog, size_t pos)
{
	struct inet_diag_bc_op raw;
	memcpy(&raw, prog + pos, sizeof(raw));
	return (struct bcc_op){raw.code, raw.yes, raw.no};
}

static inline bool bcc_is_port_cmp(unsigned code)
{
	return code == INET_DIAG_BC_S_GE || code == INET_DIAG_BC_S_LE ||
	       code == INET_DIAG_BC_D_GE || code == INET_DIAG_BC_D_LE ||
	       code == INET_DIAG_BC_S_EQ || code == INET_DIAG_BC_D_EQ;
}

/* Why a program failed the audit; NULL when it passed. */
struct bcc_verdict {
	const char *why;
	size_t pos; /* byte offset of the offending op */
};

/*
 * valid_cc(): starting at the beginning and following only `yes`, is there
 * an op boundary with exactly `remain` bytes left?  (remain == 0 is the end.)
 */
static inline bool bcc_on_yes_walk(const uint8_t *prog, size_t size, long remain)
{
	long len = (long)size;
	size_t pos = 0;

	while (len >= 0) {
		if (remain > len)
			return false;
		if (remain == len)
			return true;
		/* len > remain >= 0: an op starts here, inside the program?  */
		if (pos + BCC_OP > size)
			return false;
		struct bcc_op op = bcc_op_at(prog, pos);
		if (op.yes < BCC_OP || op.yes % BCC_OP)
			return false;
		len -= op.yes;
		pos += op.yes;
	}
	return false;
}

/*
 * inet_diag_bc_audit() for the attribute payload prog[0, size).  The
 * attribute's nla_len (size + 4) must also fit in 16 bits.
 */
static inline struct bcc_verdict bcc_audit(const uint8_t *prog, size_t size)
{
	if (size < BCC_OP)
		return (struct bcc_verdict){"shorter than one op", 0};
	if (size + 4 > UINT16_MAX)
		return (struct bcc_verdict){"attribute longer than nla_len can say", 0};

	long len = (long)size;
	size_t pos = 0;
	while (len > 0) {
		/*
		 * The kernel reads the op even when fewer than 4 bytes are
		 * left (it relies on nla padding); here that is an error.
		 */
		if (len < BCC_OP)
			return (struct bcc_verdict){"partial op at the end", pos};
		struct bcc_op op = bcc_op_at(prog, pos);
		long min_len = BCC_OP;

		if (bcc_is_port_cmp(op.code)) {
			/* valid_port_comparison(): the port rides in a second op */
			min_len += BCC_OP;
			if (len < min_len)
				return (struct bcc_verdict){"port op without its port", pos};
		} else if (op.code == INET_DIAG_BC_S_COND || op.code == INET_DIAG_BC_D_COND) {
			/* valid_hostcond(): the condition, then its address */
			min_len += BCC_COND;
			if (len < min_len)
				return (struct bcc_verdict){"cond op without its hostcond", pos};
			uint8_t family = prog[pos + BCC_OP], prefix = prog[pos + BCC_OP + 1];
			long addr_len = family == 2 /* AF_INET */     ? 4
					: family == 10 /* AF_INET6 */ ? 16
					: family == 0		      ? 0
								      : -1;
			if (addr_len < 0)
				return (struct bcc_verdict){"hostcond of an unknown family", pos};
			min_len += addr_len;
			if (len < min_len)
				return (struct bcc_verdict){"hostcond without its address", pos};
			if (prefix > 8 * addr_len)
				return (struct bcc_verdict){"prefix longer than the address", pos};
		} else if (op.code == INET_DIAG_BC_DEV_COND) {
			/* valid_devcond(): a u32 interface index follows the op */
			min_len += 4;
			if (len < min_len)
				return (struct bcc_verdict){"device op without its index", pos};
		} else if (op.code != INET_DIAG_BC_JMP && op.code != INET_DIAG_BC_NOP) {
			return (struct bcc_verdict){"op code portview never emits", pos};
		}

		if (op.code != INET_DIAG_BC_NOP) {
			if ((long)op.no < min_len)
				return (struct bcc_verdict){"no below the op's length", pos};
			if ((long)op.no > len + 4)
				return (struct bcc_verdict){"no beyond end + 4", pos};
			if (op.no & 3)
				return (struct bcc_verdict){"no not a multiple of 4", pos};
			if ((long)op.no < len && !bcc_on_yes_walk(prog, size, len - (long)op.no))
				return (struct bcc_verdict){"no lands off the yes-walk", pos};
		}
		if ((long)op.yes < min_len)
			return (struct bcc_verdict){"yes below the op's length", pos};
		if ((long)op.yes > len + 4)
			return (struct bcc_verdict){"yes beyond end + 4", pos};
		if (op.yes & 3)
			return (struct bcc_verdict){"yes not a multiple of 4", pos};
		pos += op.yes;
		len -= op.yes;
	}
	if (len != 0)
		return (struct bcc_verdict){"yes-walk does not end exactly at the end", pos};
	return (struct bcc_verdict){NULL, 0};
}

/* The first bits bits of a and b agree (bitstring_match()). */
static inline bool bcc_bits_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	for (unsigned i = 0; i < bits; i++) {
		unsigned byte = i / 8, mask = 0x80u >> (i % 8);
		if ((a[byte] & mask) != (b[byte] & mask))
			return false;
	}
	return true;
}

/* S_COND / D_COND on one address of a socket of this family. */
static inline bool bcc_cond(const uint8_t *prog, size_t pos, uint8_t family, const uint8_t *addr)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	int32_t port;
	uint8_t cfam = prog[pos + BCC_OP], prefix = prog[pos + BCC_OP + 1];
	const uint8_t *caddr = prog + pos + BCC_OP + BCC_COND;
	memcpy(&port, prog + pos + BCC_OP + 4, 4);
	if (port != -1)
		return false; /* portview always asks for any port */
	if (cfam != 0 && cfam != family) {
		/* an IPv4 condition holds for the IPv4 address of a v4-mapped one */
		return family == 10 && cfam == 2 && memcmp(addr, mapped, 12) == 0 &&
		       bcc_bits_match(addr + 12, caddr, prefix);
	}
	return prefix == 0 || bcc_bits_match(addr, caddr, prefix);
}

/*
 * inet_diag_bc_run() for a socket of this family with these ports (host
 * order) and addresses (16 bytes each, network order, IPv4 in the first
 * 4), bound to interface ifindex (0: none).  Only for programs bcc_audit()
 * passed; *ok is cleared if the run still goes wrong (reads outside the
 * program, takes no step, runs too long).
 */
static inline bool bcc_run_full(const uint8_t *prog, size_t size, uint16_t sport, uint16_t dport,
				uint8_t family, const uint8_t *saddr, const uint8_t *daddr,
				uint32_t ifindex, bool *ok)
{
	long len = (long)size;
	size_t pos = 0, steps = 0;

	*ok = true;
	while (len > 0) {
		if (pos + BCC_OP > size || ++steps > size) {
			*ok = false;
			return false;
		}
		struct bcc_op op = bcc_op_at(prog, pos);
		unsigned port = 0;
		bool yes;

		if (bcc_is_port_cmp(op.code)) {
			if (pos + 2 * BCC_OP > size) {
				*ok = false;
				return false;
			}
			port = bcc_op_at(prog, pos + BCC_OP).no;
		}
		switch (op.code) {
		case INET_DIAG_BC_S_COND:
		case INET_DIAG_BC_D_COND:
			if (pos + BCC_OP + BCC_COND > size) {
				*ok = false;
				return false;
			}
			yes = bcc_cond(prog, pos, family,
				       op.code == INET_DIAG_BC_S_COND ? saddr : daddr);
			break;
		case INET_DIAG_BC_NOP:
			yes = true;
			break;
		case INET_DIAG_BC_JMP:
			yes = false;
			break;
		case INET_DIAG_BC_S_GE:
			yes = sport >= port;
			break;
		case INET_DIAG_BC_S_LE:
			yes = sport <= port;
			break;
		case INET_DIAG_BC_S_EQ:
			yes = sport == port;
			break;
		case INET_DIAG_BC_D_GE:
			yes = dport >= port;
			break;
		case INET_DIAG_BC_D_LE:
			yes = dport <= port;
			break;
		case INET_DIAG_BC_D_EQ:
			yes = dport == port;
			break;
		case INET_DIAG_BC_DEV_COND: {
			uint32_t dev;
			if (pos + BCC_OP + sizeof(dev) > size) {
				*ok = false;
				return false;
			}
			memcpy(&dev, prog + pos + BCC_OP, sizeof(dev));
			yes = dev == ifindex;
			break;
		}
		default:
			*ok = false;
			return false;
		}
		unsigned step = yes ? op.yes : op.no;
		if (step == 0) {
			*ok = false;
			return false;
		}
		len -= (long)step;
		pos += step;
	}
	return len == 0;
}

/* bcc_run_full() for a socket on no device. */
static inline bool bcc_run_sock(const uint8_t *prog, size_t size, uint16_t sport, uint16_t dport,
				uint8_t family, const uint8_t *saddr, const uint8_t *daddr,
				bool *ok)
{
	return bcc_run_full(prog, size, sport, dport, family, saddr, daddr, 0, ok);
}

/* ... for an IPv4 socket whose addresses do not matter, on device ifindex. */
static inline bool bcc_run_dev(const uint8_t *prog, size_t size, uint16_t sport, uint16_t dport,
			       uint32_t ifindex, bool *ok)
{
	static const uint8_t zero[16];
	return bcc_run_full(prog, size, sport, dport, 2, zero, zero, ifindex, ok);
}

/* ... for a socket whose addresses and device do not matter. */
static inline bool bcc_run(const uint8_t *prog, size_t size, uint16_t sport, uint16_t dport,
			   bool *ok)
{
	return bcc_run_dev(prog, size, sport, dport, 0, ok);
}

/* Whether the program holds an EQ op on its yes-walk. */
static inline bool bcc_has_eq(const uint8_t *prog, size_t size)
{
	for (size_t pos = 0; pos + BCC_OP <= size;) {
		struct bcc_op op = bcc_op_at(prog, pos);
		if (op.code == INET_DIAG_BC_S_EQ || op.code == INET_DIAG_BC_D_EQ)
			return true;
		if (op.yes == 0)
			break;
		pos += op.yes;
	}
	return false;
}

#endif
