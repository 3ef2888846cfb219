#include "portview/bytecode.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/inet_diag.h>
#include <sys/socket.h>

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
#define COND_LEN    ((int)sizeof(struct inet_diag_hostcond))
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

/*
 * A test: a port op (8 bytes: the op, then an op whose `no` holds the port
 * in host order), or, with a prefix, an address op (S_COND/D_COND and a
 * hostcond with its address: 16 bytes for IPv4, 28 for IPv6).
 */
struct test {
	uint8_t code;
	uint16_t port;
	const struct pv_prefix *prefix;
};

static size_t test_len(const struct test *t)
{
	if (!t->prefix)
		return PORT_OP_LEN;
	return OP_LEN + COND_LEN + (t->prefix->family == AF_INET ? 4 : 16);
}

/* A port clause or an address clause, seen alike. */
struct clause {
	const struct pv_port_clause *ports;
	const struct pv_addr_clause *addrs;
};

static const uint8_t side_bits[] = {PV_SIDE_SRC, PV_SIDE_DST};

static size_t nsides(uint8_t sides)
{
	return (size_t) !!(sides & PV_SIDE_SRC) + !!(sides & PV_SIDE_DST);
}

static bool range_is_full(const struct pv_port_range *r)
{
	return r->lo == 0 && r->hi == UINT16_MAX;
}

static bool prefix_valid(const struct pv_prefix *p)
{
	return (p->family == AF_INET && p->len <= 32) || (p->family == AF_INET6 && p->len <= 128);
}

static enum clause_kind clause_kind(const struct clause *c)
{
	if (c->addrs)
		return c->addrs->n ? CLAUSE_TESTS : CLAUSE_FALSE;
	if (!(c->ports->sides & PV_SIDE_ANY) || c->ports->nranges == 0)
		return CLAUSE_FALSE;
	for (size_t i = 0; i < c->ports->nranges; i++)
		if (range_is_full(&c->ports->ranges[i]))
			return CLAUSE_TRUE;
	return CLAUSE_TESTS;
}

/* A clause is an OR of atoms: (range, side) pairs, or prefixes. */
static size_t natoms(const struct clause *c)
{
	if (c->addrs)
		return c->addrs->n;
	return c->ports->nranges * nsides(c->ports->sides);
}

/*
 * The tests of atom k, 1 or 2 of them for a port range that is not full,
 * 1 for a prefix.  Ports: range k / nsides, on the (k % nsides)th side.
 */
static size_t atom_tests(const struct clause *c, size_t k, bool use_eq, struct test t[2])
{
	if (c->addrs) {
		bool src = c->addrs->side == PV_SIDE_SRC;
		t[0] = (struct test){src ? INET_DIAG_BC_S_COND : INET_DIAG_BC_D_COND, 0,
				     &c->addrs->v[k]};
		return 1;
	}
	size_t ns = nsides(c->ports->sides);
	const struct pv_port_range *r = &c->ports->ranges[k / ns];
	uint8_t side = side_bits[0];
	for (size_t s = 0, seen = 0; s < sizeof(side_bits); s++)
		if ((c->ports->sides & side_bits[s]) && seen++ == k % ns)
			side = side_bits[s];
	bool src = side == PV_SIDE_SRC;
	size_t n = 0;

	if (use_eq && r->lo == r->hi) {
		t[n++] = (struct test){src ? INET_DIAG_BC_S_EQ : INET_DIAG_BC_D_EQ, r->lo, NULL};
		return n;
	}
	if (r->lo > 0)
		t[n++] = (struct test){src ? INET_DIAG_BC_S_GE : INET_DIAG_BC_D_GE, r->lo, NULL};
	if (r->hi < UINT16_MAX)
		t[n++] = (struct test){src ? INET_DIAG_BC_S_LE : INET_DIAG_BC_D_LE, r->hi, NULL};
	return n;
}

static size_t atom_len(const struct clause *c, size_t k, bool use_eq)
{
	struct test t[2];
	size_t n = atom_tests(c, k, use_eq, t), len = 0;
	for (size_t i = 0; i < n; i++)
		len += test_len(&t[i]);
	return len;
}

/* Bytes of a CLAUSE_TESTS clause: its atoms, a JMP after each but the last. */
static size_t clause_size(const struct clause *c, bool use_eq)
{
	size_t size = 0, n = natoms(c);
	for (size_t k = 0; k < n; k++)
		size += atom_len(c, k, use_eq);
	return size + (n - 1) * OP_LEN;
}

static void put_op(struct pv_buf *out, uint8_t code, size_t yes, size_t no)
{
	struct inet_diag_bc_op op = {.code = code, .yes = (uint8_t)yes, .no = (uint16_t)no};
	pv_buf_add(out, &op, sizeof(op));
}

/* One test at pos; fail: where a failing test goes. */
static void put_test(struct pv_buf *out, const struct test *t, size_t pos, size_t fail)
{
	size_t len = test_len(t);
	put_op(out, t->code, len, fail - pos);
	if (!t->prefix) {
		put_op(out, 0, 0, t->port);
		return;
	}
	/* any port (-1), the prefix, its address */
	struct inet_diag_hostcond hc;
	memset(&hc, 0, sizeof(hc)); /* no stack bytes in the padding */
	hc.family = t->prefix->family;
	hc.prefix_len = t->prefix->len;
	hc.port = -1;
	pv_buf_add(out, &hc, sizeof(hc));
	pv_buf_add(out, t->prefix->addr, t->prefix->family == AF_INET ? 4 : 16);
}

/*
 * Emit a CLAUSE_TESTS clause that starts at byte pos of a program of size
 * bytes.  Returns the position after it.
 */
static size_t emit_clause(const struct clause *c, bool use_eq, size_t pos, size_t size,
			  struct pv_buf *out)
{
	size_t end = pos + clause_size(c, use_eq);
	size_t reject = size + OP_LEN;
	size_t n = natoms(c);
	struct test t[2];

	for (size_t k = 0; k < n; k++) {
		bool last = k + 1 == n;
		size_t nt = atom_tests(c, k, use_eq, t);
		size_t fail = last ? reject : pos + atom_len(c, k, use_eq) + OP_LEN;
		for (size_t i = 0; i < nt; i++) {
			put_test(out, &t[i], pos, fail);
			pos += test_len(&t[i]);
		}
		if (!last) {
			put_op(out, INET_DIAG_BC_JMP, OP_LEN, end - pos);
			pos += OP_LEN;
		}
	}
	return pos;
}

int pv_bc_compile(const struct pv_port_clause *clauses, size_t n,
		  const struct pv_addr_clause *addrs, size_t naddrs, bool use_eq,
		  struct pv_buf *out)
{
	bool never = false;
	size_t size = 0, nall = 0;

	for (size_t i = 0; i < n; i++)
		if (clauses[i].nranges > PV_MAX_RANGES)
			return -EINVAL;
	for (size_t i = 0; i < naddrs; i++) {
		if (addrs[i].n > PV_MAX_PREFIXES ||
		    (addrs[i].side != PV_SIDE_SRC && addrs[i].side != PV_SIDE_DST))
			return -EINVAL;
		for (size_t k = 0; k < addrs[i].n; k++)
			if (!prefix_valid(&addrs[i].v[k]))
				return -EINVAL;
	}
	struct clause *all = xreallocarray(NULL, n + naddrs + 1, sizeof(*all));
	for (size_t i = 0; i < n; i++)
		all[nall++] = (struct clause){.ports = &clauses[i]};
	for (size_t i = 0; i < naddrs; i++)
		all[nall++] = (struct clause){.addrs = &addrs[i]};
	int ret = 0;
	for (size_t i = 0; i < nall; i++)
		if (clause_kind(&all[i]) == CLAUSE_FALSE)
			never = true;
	if (never) {
		/* One jump 4 bytes past the end: nothing passes. */
		put_op(out, INET_DIAG_BC_JMP, OP_LEN, 2 * OP_LEN);
		goto out;
	}

	for (size_t i = 0; i < nall && size <= PROG_MAX; i++)
		if (clause_kind(&all[i]) == CLAUSE_TESTS)
			size += clause_size(&all[i], use_eq);
	if (size > PROG_MAX) {
		ret = -E2BIG;
		goto out;
	}

	/* With size 0 every clause always holds: no program at all. */
	if (size)
		pv_buf_reserve(out, size);
	size_t pos = 0;
	for (size_t i = 0; i < nall && size; i++)
		if (clause_kind(&all[i]) == CLAUSE_TESTS)
			pos = emit_clause(&all[i], use_eq, pos, size, out);
out:
	free(all);
	return ret;
}

static size_t clause_nranges(const struct pv_port_clause *c)
{
	return c->nranges < PV_MAX_RANGES ? c->nranges : PV_MAX_RANGES;
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

/* The first bits of a and b agree (network order bytes). */
static bool bits_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;
	if (memcmp(a, b, bytes) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

/* The kernel's S_COND/D_COND on one address (inet_diag_bc_run). */
static bool prefix_match(const struct pv_prefix *p, uint8_t family, const uint8_t addr[16])
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (p->family != family) {
		/* an IPv4 prefix matches the IPv4 address of a v4-mapped one */
		return family == AF_INET6 && p->family == AF_INET &&
		       memcmp(addr, mapped, 12) == 0 && bits_match(addr + 12, p->addr, p->len);
	}
	return bits_match(addr, p->addr, p->len);
}

bool pv_addr_clauses_match(const struct pv_addr_clause *clauses, size_t n, uint8_t family,
			   const uint8_t saddr[16], const uint8_t daddr[16])
{
	for (size_t i = 0; i < n; i++) {
		const struct pv_addr_clause *c = &clauses[i];
		bool any = false;
		for (size_t k = 0; k < c->n && k < PV_MAX_PREFIXES && !any; k++)
			any =
			    prefix_match(&c->v[k], family, c->side == PV_SIDE_SRC ? saddr : daddr);
		if (!any)
			return false;
	}
	return true;
}
