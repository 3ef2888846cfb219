#include "portview/bytecode.h"

#include <errno.h>
#include <string.h>

#include <linux/inet_diag.h>

/*
 * Program layout.
 *
 * The kernel audit (inet_diag_bc_audit) walks the program along `yes` from
 * the start: that walk must end exactly at the end, and every `no` must land
 * on an op of the walk, on the end (accept) or 4 bytes past it (reject).  So
 * every op here steps by `yes` to the op right after it, and all branching
 * is done through `no`:
 *
 *   filter  = clause clause ...       AND: a clause that holds falls through
 *                                     to the next one, the last into the end
 *   clause  = atom ... atom last      OR over (range, side) pairs
 *   atom    = test [test] JMP         a test that fails goes (by `no`) to the
 *                                     next atom; all passing reach the JMP,
 *                                     whose `no` goes to the end of the clause
 *   last    = test [test]             a failing test rejects, passing ones
 *                                     fall through out of the clause
 *
 * A test is a port op (8 bytes: the op, then an op whose `no` holds the port
 * in host order): EQ for a single port when allowed, else GE and/or LE, with
 * a bound that cannot fail (GE 0, LE 65535) left out.
 */

#define OP_LEN	    ((int)sizeof(struct inet_diag_bc_op))
#define PORT_OP_LEN (2 * OP_LEN)
/*
 * A reject jump goes 4 bytes past the end and has to fit a 16-bit `no`; the
 * same bound keeps the attribute (4-byte header included) within its 16-bit
 * nla_len.
 */
#define PROG_MAX (UINT16_MAX - OP_LEN)

enum clause_kind {
	CLAUSE_TRUE,  /* holds for every socket: compiles to nothing */
	CLAUSE_FALSE, /* holds for none: the whole filter rejects */
	CLAUSE_TESTS,
};

struct test {
	uint8_t code;
	uint16_t port;
};

static const uint8_t side_bits[] = {PV_SIDE_SRC, PV_SIDE_DST};

static size_t clause_nranges(const struct pv_port_clause *c)
{
	return c->nranges < PV_MAX_RANGES ? c->nranges : PV_MAX_RANGES;
}

static bool range_is_full(const struct pv_port_range *r)
{
	return r->lo == 0 && r->hi == UINT16_MAX;
}

static enum clause_kind clause_kind(const struct pv_port_clause *c)
{
	if (!(c->sides & PV_SIDE_ANY) || c->nranges == 0)
		return CLAUSE_FALSE;
	for (size_t i = 0; i < c->nranges; i++)
		if (range_is_full(&c->ranges[i]))
			return CLAUSE_TRUE;
	return CLAUSE_TESTS;
}

/* The tests of one (range, side) pair, 1 or 2 of them for a range that is not full. */
static size_t atom_tests(uint8_t side, const struct pv_port_range *r, bool use_eq, struct test t[2])
{
	bool src = side == PV_SIDE_SRC;
	size_t n = 0;

	if (use_eq && r->lo == r->hi) {
		t[n++] = (struct test){src ? INET_DIAG_BC_S_EQ : INET_DIAG_BC_D_EQ, r->lo};
		return n;
	}
	if (r->lo > 0)
		t[n++] = (struct test){src ? INET_DIAG_BC_S_GE : INET_DIAG_BC_D_GE, r->lo};
	if (r->hi < UINT16_MAX)
		t[n++] = (struct test){src ? INET_DIAG_BC_S_LE : INET_DIAG_BC_D_LE, r->hi};
	return n;
}

/* Bytes of a CLAUSE_TESTS clause; at most 64 * 2 * (2 * 8 + 4) = 2560. */
static size_t clause_size(const struct pv_port_clause *c, bool use_eq)
{
	size_t size = 0, natoms = 0;
	struct test t[2];

	for (size_t i = 0; i < c->nranges; i++) {
		for (size_t s = 0; s < sizeof(side_bits); s++) {
			if (!(c->sides & side_bits[s]))
				continue;
			size += atom_tests(side_bits[s], &c->ranges[i], use_eq, t) * PORT_OP_LEN;
			natoms++;
		}
	}
	return size + (natoms - 1) * OP_LEN;
}

static void put_op(struct pv_buf *out, uint8_t code, uint8_t yes, size_t no)
{
	struct inet_diag_bc_op op = {.code = code, .yes = yes, .no = (uint16_t)no};
	pv_buf_add(out, &op, sizeof(op));
}

/*
 * Emit a CLAUSE_TESTS clause that starts at byte pos of a program of size
 * bytes.  Returns the position after it.
 */
static size_t emit_clause(const struct pv_port_clause *c, bool use_eq, size_t pos, size_t size,
			  struct pv_buf *out)
{
	size_t end = pos + clause_size(c, use_eq);
	size_t reject = size + OP_LEN;
	size_t natoms = 0, atom = 0;
	struct test t[2];

	for (size_t s = 0; s < sizeof(side_bits); s++)
		if (c->sides & side_bits[s])
			natoms += c->nranges;

	for (size_t i = 0; i < c->nranges; i++) {
		for (size_t s = 0; s < sizeof(side_bits); s++) {
			if (!(c->sides & side_bits[s]))
				continue;
			bool last = ++atom == natoms;
			size_t n = atom_tests(side_bits[s], &c->ranges[i], use_eq, t);
			size_t fail = last ? reject : pos + n * PORT_OP_LEN + OP_LEN;
			for (size_t k = 0; k < n; k++) {
				put_op(out, t[k].code, PORT_OP_LEN, fail - pos);
				put_op(out, 0, 0, t[k].port);
				pos += PORT_OP_LEN;
			}
			if (!last) {
				put_op(out, INET_DIAG_BC_JMP, OP_LEN, end - pos);
				pos += OP_LEN;
			}
		}
	}
	return pos;
}

int pv_bc_compile(const struct pv_port_clause *clauses, size_t n, bool use_eq, struct pv_buf *out)
{
	bool never = false;
	size_t size = 0;

	for (size_t i = 0; i < n; i++) {
		if (clauses[i].nranges > PV_MAX_RANGES)
			return -EINVAL;
		if (clause_kind(&clauses[i]) == CLAUSE_FALSE)
			never = true;
	}
	if (never) {
		/* One jump 4 bytes past the end: nothing passes. */
		put_op(out, INET_DIAG_BC_JMP, OP_LEN, 2 * OP_LEN);
		return 0;
	}

	for (size_t i = 0; i < n; i++) {
		if (clause_kind(&clauses[i]) != CLAUSE_TESTS)
			continue;
		size += clause_size(&clauses[i], use_eq);
		if (size > PROG_MAX)
			return -E2BIG;
	}

	if (size == 0)
		return 0; /* every clause always true: no program at all */
	pv_buf_reserve(out, size);
	size_t pos = 0;
	for (size_t i = 0; i < n; i++)
		if (clause_kind(&clauses[i]) == CLAUSE_TESTS)
			pos = emit_clause(&clauses[i], use_eq, pos, size, out);
	return 0;
}

/* The device test: the op, then the interface index (host order) right after it. */
#define DEV_OP_LEN (OP_LEN + (int)sizeof(uint32_t))

int pv_bc_prepend_dev(struct pv_buf *prog, uint32_t ifindex)
{
	size_t size = prog->len + DEV_OP_LEN;
	if (size > PROG_MAX)
		return -E2BIG;
	pv_buf_reserve(prog, DEV_OP_LEN);
	memmove(prog->data + DEV_OP_LEN, prog->data, prog->len);
	/*
	 * Jumps are relative, so the program after the test is unchanged: a
	 * socket on another device jumps 4 bytes past the new end (reject).
	 */
	struct inet_diag_bc_op op = {
	    .code = INET_DIAG_BC_DEV_COND, .yes = DEV_OP_LEN, .no = (uint16_t)(size + OP_LEN)};
	memcpy(prog->data, &op, sizeof(op));
	memcpy(prog->data + OP_LEN, &ifindex, sizeof(ifindex));
	prog->len = size;
	return 0;
}

static bool clause_match(const struct pv_port_clause *c, uint16_t sport, uint16_t dport)
{
	size_t n = clause_nranges(c);

	for (size_t i = 0; i < n; i++) {
		const struct pv_port_range *r = &c->ranges[i];
		if ((c->sides & PV_SIDE_SRC) && r->lo <= sport && sport <= r->hi)
			return true;
		if ((c->sides & PV_SIDE_DST) && r->lo <= dport && dport <= r->hi)
			return true;
	}
	return false;
}

bool pv_port_clauses_match(const struct pv_port_clause *clauses, size_t n, uint16_t sport,
			   uint16_t dport)
{
	for (size_t i = 0; i < n; i++)
		if (!clause_match(&clauses[i], sport, dport))
			return false;
	return true;
}
