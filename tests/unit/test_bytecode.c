/*
 * Port filters as inet_diag bytecode: every program must pass the kernel's
 * audit and, run the way the kernel runs it, select what the plain C filter
 * selects.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>
#include <stdint.h>

#include <linux/inet_diag.h>

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif
#include "helpers.h"
#include "portview/buf.h"
#include "portview/bytecode.h"

#define OP_LEN 4

/*
 * The kernel's rules and run are modelled once, in the fuzzers' header
 * (tests/fuzz/bc_check.h: inet_diag_bc_audit, valid_cc, inet_diag_bc_run
 * for the ops portview emits); these wrap it for check.
 */
#include "../fuzz/bc_check.h"

static int audit(const void *data, size_t size)
{
	return bcc_audit(data, size).why ? -EINVAL : 0;
}

static bool run(const void *data, size_t size, uint16_t sport, uint16_t dport)
{
	bool ok;
	bool pass = bcc_run(data, size, sport, dport, &ok);
	/* (check records every assertion it passes: ask only on failure) */
	if (!ok)
		ck_abort_msg("run: the program went wrong");
	return pass;
}

static bool has_eq_op(const struct pv_buf *b)
{
	return bcc_has_eq((const uint8_t *)b->data, b->len);
}

/* "22,80,1000-2000" on the given sides. */
static struct pv_port_clause mk(uint8_t sides, const char *spec)
{
	struct pv_port_clause c = {.sides = sides};
	const char *p = spec;

	while (*p) {
		char *end;
		unsigned long lo = strtoul(p, &end, 10), hi = lo;
		if (*end == '-')
			hi = strtoul(end + 1, &end, 10);
		ck_assert_msg(lo <= hi && hi <= UINT16_MAX, "bad spec '%s'", spec);
		ck_assert_uint_lt(c.nranges, PV_MAX_RANGES);
		c.ranges[c.nranges++] = (struct pv_port_range){(uint16_t)lo, (uint16_t)hi};
		p = *end == ',' ? end + 1 : end;
	}
	return c;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

/* Ports where the verdict can change: every bound, its neighbours, the extremes. */
static size_t interesting_ports(const struct pv_port_clause *c, size_t n, uint16_t *out)
{
	size_t k = 0;
	static const uint16_t fixed[] = {0, 1, 2, 1023, 1024, 32768, 65533, 65534, 65535};

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		out[k++] = fixed[i];
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < c[i].nranges; j++) {
			uint16_t b[2] = {c[i].ranges[j].lo, c[i].ranges[j].hi};
			for (int e = 0; e < 2; e++) {
				out[k++] = b[e];
				if (b[e] > 0)
					out[k++] = (uint16_t)(b[e] - 1);
				if (b[e] < UINT16_MAX)
					out[k++] = (uint16_t)(b[e] + 1);
			}
		}
	}
	for (int i = 0; i < 16; i++)
		out[k++] = (uint16_t)rnd(65536);
	return k;
}

#define MAX_POINTS (9 + 3 * PV_MAX_RANGES * 6 + 16)

static void check_pair(const struct pv_buf *b, const struct pv_port_clause *c, size_t n,
		       uint16_t sport, uint16_t dport)
{
	bool want = pv_port_clauses_match(c, n, sport, dport);
	bool got = b->len ? run(b->data, b->len, sport, dport) : true;
	if (got != want)
		ck_abort_msg("sport %u dport %u: bytecode says %d, C says %d (%zu clauses)", sport,
			     dport, got, want, n);
}

/* Compile, audit, and compare the bytecode with the C filter on many port pairs. */
static void check_filter(const struct pv_port_clause *c, size_t n, bool use_eq)
{
	static uint16_t pts[MAX_POINTS];
	struct pv_buf b;

	ck_assert_uint_le(n, 3);
	pv_buf_init(&b);
	ck_assert_int_eq(pv_bc_compile(c, n, NULL, 0, use_eq, &b), 0);
	if (n == 0)
		ck_assert_uint_eq(b.len, 0);
	if (b.len) {
		int err = audit(b.data, b.len);
		ck_assert_msg(err == 0, "audit rejects a %zu-byte program", b.len);
		if (!use_eq)
			ck_assert(!has_eq_op(&b));
	}

	size_t k = interesting_ports(c, n, pts);
	if (k * k <= 40000) {
		for (size_t i = 0; i < k; i++)
			for (size_t j = 0; j < k; j++)
				check_pair(&b, c, n, pts[i], pts[j]);
	} else {
		for (size_t i = 0; i < k; i++) {
			check_pair(&b, c, n, pts[i], pts[i]);
			check_pair(&b, c, n, pts[i], pts[rnd((uint32_t)k)]);
			check_pair(&b, c, n, pts[rnd((uint32_t)k)], pts[i]);
			check_pair(&b, c, n, pts[i], (uint16_t)rnd(65536));
			check_pair(&b, c, n, (uint16_t)rnd(65536), pts[i]);
		}
	}
	for (int i = 0; i < 500; i++)
		check_pair(&b, c, n, (uint16_t)rnd(65536), (uint16_t)rnd(65536));
	pv_buf_free(&b);
}

static void check_both(const struct pv_port_clause *c, size_t n)
{
	check_filter(c, n, true);
	check_filter(c, n, false);
}

/* Expect exactly these ops (host byte order, as the kernel reads them). */
static void expect_prog(const struct pv_port_clause *c, size_t n, bool use_eq,
			const struct inet_diag_bc_op *ops, size_t nops)
{
	struct pv_buf b;
	pv_buf_init(&b);
	ck_assert_int_eq(pv_bc_compile(c, n, NULL, 0, use_eq, &b), 0);
	ck_assert_uint_eq(b.len, nops * sizeof(*ops));
	for (size_t i = 0; i < nops; i++) {
		struct bcc_op got = bcc_op_at((const uint8_t *)b.data, i * OP_LEN);
		ck_assert_msg(got.code == ops[i].code && got.yes == ops[i].yes &&
				  got.no == ops[i].no,
			      "op %zu: got {%u, %u, %u}, want {%u, %u, %u}", i, got.code, got.yes,
			      got.no, ops[i].code, ops[i].yes, ops[i].no);
	}
	ck_assert_int_eq(audit(b.data, b.len), 0);
	pv_buf_free(&b);
}

START_TEST(sport_eq_exact_bytes)
{
	struct pv_port_clause c = mk(PV_SIDE_SRC, "8080");
	struct pv_buf b;
	pv_buf_init(&b);
	ck_assert_int_eq(pv_bc_compile(&c, 1, NULL, 0, true, &b), 0);
	/* S_EQ, yes 8 (next op = end: pass), no 12 (end + 4: reject); then the port. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	static const uint8_t want[] = {11, 8, 12, 0, 0, 0, 0x90, 0x1f};
#else
	static const uint8_t want[] = {11, 8, 0, 12, 0, 0, 0x1f, 0x90};
#endif
	ck_assert_uint_eq(b.len, sizeof(want));
	ck_assert_mem_eq(b.data, want, sizeof(want));
	ck_assert_int_eq(audit(b.data, b.len), 0);
	ck_assert(run(b.data, b.len, 8080, 0));
	ck_assert(!run(b.data, b.len, 8081, 8080));
	pv_buf_free(&b);
}
END_TEST

START_TEST(sport_without_eq_uses_ge_le)
{
	struct pv_port_clause c = mk(PV_SIDE_SRC, "8080");
	const struct inet_diag_bc_op want[] = {
	    {INET_DIAG_BC_S_GE, 8, 20},
	    {0, 0, 8080},
	    {INET_DIAG_BC_S_LE, 8, 12},
	    {0, 0, 8080},
	};
	expect_prog(&c, 1, false, want, 4);
}
END_TEST

START_TEST(any_side_is_an_or)
{
	/* src 80 -> JMP to the end; else dst 80, which rejects when false. */
	struct pv_port_clause c = mk(PV_SIDE_ANY, "80");
	const struct inet_diag_bc_op want[] = {
	    {INET_DIAG_BC_S_EQ, 8, 12}, {0, 0, 80}, {INET_DIAG_BC_JMP, 4, 12},
	    {INET_DIAG_BC_D_EQ, 8, 12}, {0, 0, 80},
	};
	expect_prog(&c, 1, true, want, 5);
}
END_TEST

START_TEST(open_bounds_are_dropped)
{
	/* sport 22 AND dport >= 1024: no LE 65535 test. */
	struct pv_port_clause c[2] = {mk(PV_SIDE_SRC, "22"), mk(PV_SIDE_DST, "1024-65535")};
	const struct inet_diag_bc_op want[] = {
	    {INET_DIAG_BC_S_EQ, 8, 20},
	    {0, 0, 22},
	    {INET_DIAG_BC_D_GE, 8, 12},
	    {0, 0, 1024},
	};
	expect_prog(c, 2, true, want, 4);

	/* dport 0-1023 OR 8080: LE only, then GE+LE. */
	struct pv_port_clause d = mk(PV_SIDE_DST, "0-1023,8080");
	const struct inet_diag_bc_op want2[] = {
	    {INET_DIAG_BC_D_LE, 8, 12},
	    {0, 0, 1023},
	    {INET_DIAG_BC_JMP, 4, 20},
	    {INET_DIAG_BC_D_GE, 8, 20},
	    {0, 0, 8080},
	    {INET_DIAG_BC_D_LE, 8, 12},
	    {0, 0, 8080},
	};
	expect_prog(&d, 1, false, want2, 7);
}
END_TEST

START_TEST(two_ranges_two_clauses)
{
	/* (sport 1000-2000 OR sport 3000) AND dport 443, offsets worked out by hand. */
	struct pv_port_clause c[2] = {mk(PV_SIDE_SRC, "1000-2000,3000"), mk(PV_SIDE_DST, "443")};
	const struct inet_diag_bc_op want[] = {
	    /* 0 */ {INET_DIAG_BC_S_GE, 8, 20}, /* -> 20, the next atom */
	    /* 4 */ {0, 0, 1000},
	    /* 8 */ {INET_DIAG_BC_S_LE, 8, 12}, /* -> 20 */
	    /* 12 */ {0, 0, 2000},
	    /* 16 */ {INET_DIAG_BC_JMP, 4, 12},	 /* -> 28, the second clause */
	    /* 20 */ {INET_DIAG_BC_S_EQ, 8, 20}, /* -> 40 = end + 4 */
	    /* 24 */ {0, 0, 3000},
	    /* 28 */ {INET_DIAG_BC_D_EQ, 8, 12}, /* -> 40 */
	    /* 32 */ {0, 0, 443},
	    /* 36 = end */
	};
	expect_prog(c, 2, true, want, 9);
}
END_TEST

START_TEST(empty_and_trivial_filters)
{
	struct pv_buf b;
	pv_buf_init(&b);
	pv_buf_puts(&b, "hdr!");

	/* No clauses: nothing appended, what was there is kept. */
	ck_assert_int_eq(pv_bc_compile(NULL, 0, NULL, 0, true, &b), 0);
	ck_assert_uint_eq(b.len, 4);

	/* A full range holds for every socket, on any side. */
	struct pv_port_clause all[3] = {mk(PV_SIDE_SRC, "0-65535"), mk(PV_SIDE_DST, "5,0-65535"),
					mk(PV_SIDE_ANY, "0-65535")};
	ck_assert_int_eq(pv_bc_compile(all, 3, NULL, 0, true, &b), 0);
	ck_assert_uint_eq(b.len, 4);
	check_both(all, 3);
	/* into a buffer that never held anything (found by fuzzing) */
	struct pv_buf fresh;
	pv_buf_init(&fresh);
	ck_assert_int_eq(pv_bc_compile(all, 3, NULL, 0, true, &fresh), 0);
	ck_assert_uint_eq(fresh.len, 0);
	pv_buf_free(&fresh);

	/* ... so only the other clause is compiled, appended after the header. */
	struct pv_port_clause mixed[2] = {mk(PV_SIDE_ANY, "0-65535"), mk(PV_SIDE_SRC, "8080")};
	ck_assert_int_eq(pv_bc_compile(mixed, 2, NULL, 0, true, &b), 0);
	ck_assert_uint_eq(b.len, 12);
	ck_assert_mem_eq(b.data, "hdr!", 4);
	ck_assert_int_eq(audit(b.data + 4, 8), 0);
	ck_assert(run(b.data + 4, 8, 8080, 1));
	ck_assert(!run(b.data + 4, 8, 1, 8080));
	pv_buf_free(&b);
}
END_TEST

START_TEST(clauses_that_never_hold)
{
	struct pv_port_clause none = {.sides = PV_SIDE_ANY, .nranges = 0};
	struct pv_port_clause nosides = mk(0, "80");
	const struct inet_diag_bc_op reject[] = {{INET_DIAG_BC_JMP, 4, 8}};

	expect_prog(&none, 1, true, reject, 1);
	expect_prog(&nosides, 1, false, reject, 1);
	struct pv_port_clause c[3] = {mk(PV_SIDE_SRC, "80"), mk(PV_SIDE_ANY, "0-65535"), none};
	expect_prog(c, 3, true, reject, 1);
	check_both(c, 3);
	check_both(&nosides, 1);
}
END_TEST

START_TEST(too_many_ranges_is_einval)
{
	struct pv_port_clause c = mk(PV_SIDE_SRC, "80");
	c.nranges = PV_MAX_RANGES + 1;
	struct pv_buf b;
	pv_buf_init(&b);
	ck_assert_int_eq(pv_bc_compile(&c, 1, NULL, 0, true, &b), -EINVAL);
	ck_assert_uint_eq(b.len, 0);
	pv_buf_free(&b);
}
END_TEST

/* n copies of one clause; their AND is the clause itself. */
static void check_size_limit(const char *spec, bool use_eq, size_t fits, size_t bytes)
{
	struct pv_port_clause *c = xcalloc(fits + 1, sizeof(*c));
	for (size_t i = 0; i <= fits; i++)
		c[i] = mk(PV_SIDE_SRC, spec);

	struct pv_buf b;
	pv_buf_init(&b);
	ck_assert_int_eq(pv_bc_compile(c, fits, NULL, 0, use_eq, &b), 0);
	ck_assert_uint_eq(b.len, fits * bytes);
	ck_assert_uint_le(b.len + 4, UINT16_MAX);
	ck_assert_int_eq(audit(b.data, b.len), 0);
	for (int i = 0; i < 50; i++) {
		uint16_t s = i < 3 ? (uint16_t)(8079 + i) : (uint16_t)rnd(65536);
		check_pair(&b, c, fits, s, (uint16_t)rnd(65536));
	}

	size_t len = b.len;
	ck_assert_int_eq(pv_bc_compile(c, fits + 1, NULL, 0, use_eq, &b), -E2BIG);
	ck_assert_uint_eq(b.len, len);
	pv_buf_free(&b);
	free(c);
}

START_TEST(offsets_must_fit_16_bits)
{
	/* 8191 * 8 = 65528 bytes: the reject jump from the start is 65532. */
	check_size_limit("8080", true, 8191, 8);
	check_size_limit("8080", false, 4095, 16);
	check_size_limit("8000-8100", true, 4095, 16);
}
END_TEST

START_TEST(fixed_filters_match_c)
{
	static const struct {
		uint8_t sides;
		const char *spec;
	} one[] = {
	    {PV_SIDE_SRC, "8080"},	  {PV_SIDE_DST, "443"},
	    {PV_SIDE_ANY, "22"},	  {PV_SIDE_SRC, "0"},
	    {PV_SIDE_DST, "0"},		  {PV_SIDE_ANY, "0"},
	    {PV_SIDE_SRC, "65535"},	  {PV_SIDE_ANY, "65535"},
	    {PV_SIDE_SRC, "0-1023"},	  {PV_SIDE_DST, "1024-65535"},
	    {PV_SIDE_ANY, "1-65534"},	  {PV_SIDE_SRC, "0-0"},
	    {PV_SIDE_DST, "65535-65535"}, {PV_SIDE_ANY, "0-1,65534-65535"},
	    {PV_SIDE_ANY, "22,80,443"},	  {PV_SIDE_SRC, "1000-2000,3000,65535"},
	    {PV_SIDE_DST, "80,80,79-81"}, {PV_SIDE_ANY, "0-65535"},
	    {PV_SIDE_SRC, "1,0-65535,7"},
	};
	size_t n1 = sizeof(one) / sizeof(one[0]);

	for (size_t i = 0; i < n1; i++) {
		struct pv_port_clause c = mk(one[i].sides, one[i].spec);
		check_both(&c, 1);
	}
	/* Every pair and triple of the list above, ANDed. */
	for (size_t i = 0; i < n1; i++) {
		for (size_t j = 0; j < n1; j++) {
			struct pv_port_clause c[3] = {mk(one[i].sides, one[i].spec),
						      mk(one[j].sides, one[j].spec)};
			check_both(c, 2);
			c[2] = mk(one[(i + j) % n1].sides, one[(i + j) % n1].spec);
			check_both(c, 3);
		}
	}
}
END_TEST

static struct pv_port_clause max_clause(uint8_t sides, int variant)
{
	struct pv_port_clause c = {.sides = sides, .nranges = PV_MAX_RANGES};
	for (size_t i = 0; i < PV_MAX_RANGES; i++) {
		uint16_t lo = (uint16_t)(i * 1000 + (size_t)variant * 7);
		uint16_t hi = (i + variant) % 3 == 0 ? lo : (uint16_t)(lo + 10 * i);
		if (i == 0)
			lo = 0;
		if (i == PV_MAX_RANGES - 1)
			hi = UINT16_MAX;
		c.ranges[i] = (struct pv_port_range){lo, hi};
	}
	return c;
}

START_TEST(max_ranges_match_c)
{
	static const uint8_t sides[] = {PV_SIDE_SRC, PV_SIDE_DST, PV_SIDE_ANY};
	for (size_t s = 0; s < 3; s++) {
		struct pv_port_clause c[3] = {max_clause(sides[s], 0), max_clause(PV_SIDE_ANY, 1),
					      max_clause(sides[(s + 1) % 3], 2)};
		check_both(c, 1);
		check_both(c, 2);
		check_both(c, 3);
	}
	/* 64 single ports on both sides: the largest clause with EQ. */
	struct pv_port_clause c = {.sides = PV_SIDE_ANY, .nranges = PV_MAX_RANGES};
	for (size_t i = 0; i < PV_MAX_RANGES; i++) {
		uint16_t p = (uint16_t)(i * 1024 + 1);
		c.ranges[i] = (struct pv_port_range){p, p};
	}
	check_both(&c, 1);
}
END_TEST

static struct pv_port_range random_range(void)
{
	uint16_t a = (uint16_t)rnd(65536), b = (uint16_t)rnd(65536);
	static const uint16_t edge[] = {0, 1, 2, 65533, 65534, 65535};

	switch (rnd(8)) {
	case 0:
	case 1:
		return (struct pv_port_range){a, a};
	case 2:
		a = edge[rnd(6)];
		return (struct pv_port_range){a, a};
	case 3:
		return (struct pv_port_range){0, a};
	case 4:
		return (struct pv_port_range){a, UINT16_MAX};
	case 5:
		if (rnd(10) == 0)
			return (struct pv_port_range){0, UINT16_MAX};
		return (struct pv_port_range){a, (uint16_t)(a + rnd(65536u - a))};
	default:
		return a <= b ? (struct pv_port_range){a, b} : (struct pv_port_range){b, a};
	}
}

START_TEST(random_filters_match_c)
{
	for (int iter = 0; iter < 600; iter++) {
		struct pv_port_clause c[3];
		size_t n = 1 + rnd(3);
		for (size_t i = 0; i < n; i++) {
			c[i] = (struct pv_port_clause){.sides = (uint8_t)(1 + rnd(3))};
			c[i].nranges = rnd(20) == 0 ? PV_MAX_RANGES : 1 + rnd(6);
			for (size_t j = 0; j < c[i].nranges; j++)
				c[i].ranges[j] = random_range();
		}
		check_both(c, n);
	}
}
END_TEST

/*
 * --dev: a device test in front of any port program (or alone), which the
 * audit takes: on the device the port filter decides, on any other the
 * socket is dropped.
 */
START_TEST(device_test_in_front)
{
	struct pv_buf b;
	pv_buf_init(&b);
	ck_assert_int_eq(pv_bc_prepend_dev(&b, 7), 0);
	/* alone: the op (yes past it, no 4 past the end) and the index */
	const struct inet_diag_bc_op op = {INET_DIAG_BC_DEV_COND, 8, 12};
	uint32_t idx = 7;
	ck_assert_uint_eq(b.len, 8);
	ck_assert_mem_eq(b.data, &op, 4);
	ck_assert_mem_eq(b.data + 4, &idx, 4);
	ck_assert_int_eq(audit(b.data, b.len), 0);
	bool ok;
	ck_assert(bcc_run_dev((const uint8_t *)b.data, b.len, 1, 2, 7, &ok) && ok);
	ck_assert(!bcc_run_dev((const uint8_t *)b.data, b.len, 1, 2, 8, &ok) && ok);
	ck_assert(!bcc_run_dev((const uint8_t *)b.data, b.len, 1, 2, 0, &ok) && ok);
	pv_buf_free(&b);

	for (int iter = 0; iter < 300; iter++) {
		struct pv_port_clause c[3];
		size_t n = 1 + rnd(3);
		for (size_t i = 0; i < n; i++) {
			c[i] = (struct pv_port_clause){.sides = (uint8_t)(1 + rnd(3))};
			c[i].nranges = 1 + rnd(6);
			for (size_t j = 0; j < c[i].nranges; j++)
				c[i].ranges[j] = random_range();
		}
		bool use_eq = rnd(2);
		uint32_t dev = 1 + rnd(100);
		pv_buf_init(&b);
		ck_assert_int_eq(pv_bc_compile(c, n, NULL, 0, use_eq, &b), 0);
		ck_assert_int_eq(pv_bc_prepend_dev(&b, dev), 0);
		ck_assert_int_eq(audit(b.data, b.len), 0);
		for (int k = 0; k < 50; k++) {
			uint16_t sport = (uint16_t)rnd(65536), dport = (uint16_t)rnd(65536);
			bool want = pv_port_clauses_match(c, n, sport, dport);
			bool on =
			    bcc_run_dev((const uint8_t *)b.data, b.len, sport, dport, dev, &ok);
			ck_assert(ok);
			bool off =
			    bcc_run_dev((const uint8_t *)b.data, b.len, sport, dport, dev + 1, &ok);
			ck_assert(ok);
			if (on != want || off)
				ck_abort_msg("device %u, ports %u %u: on %d (want %d), off %d", dev,
					     sport, dport, on, want, off);
		}
		pv_buf_free(&b);
	}
}
END_TEST

START_TEST(auditor_rejects_bad_programs)
{
	/* Sanity of the test's own auditor: each of these breaks one kernel rule. */
	static const struct {
		const char *why;
		struct inet_diag_bc_op ops[4];
		size_t nops;
	} bad[] = {
	    {"unknown code", {{99, 4, 8}}, 1},
	    {"address condition (not emitted)", {{INET_DIAG_BC_S_COND, 4, 8}}, 1},
	    {"yes shorter than a port op", {{INET_DIAG_BC_S_EQ, 4, 12}, {0, 0, 80}}, 2},
	    {"no shorter than a port op", {{INET_DIAG_BC_S_EQ, 8, 4}, {0, 0, 80}}, 2},
	    {"no past end + 4", {{INET_DIAG_BC_S_EQ, 8, 16}, {0, 0, 80}}, 2},
	    {"no not a multiple of 4", {{INET_DIAG_BC_S_EQ, 8, 10}, {0, 0, 80}}, 2},
	    {"port op cut short", {{INET_DIAG_BC_S_EQ, 8, 8}}, 1},
	    {"yes-walk overshoots the end", {{INET_DIAG_BC_JMP, 8, 8}}, 1},
	    {"jump into a port op's data",
	     {{INET_DIAG_BC_JMP, 4, 8}, {INET_DIAG_BC_S_EQ, 8, 12}, {0, 0, 80}},
	     3},
	    {"JMP with yes 0", {{INET_DIAG_BC_JMP, 0, 8}}, 1},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(audit(bad[i].ops, bad[i].nops * OP_LEN) == -EINVAL, "accepted: %s",
			      bad[i].why);
	ck_assert_int_eq(audit(NULL, 0), -EINVAL);

	/* And a few good ones it must take: a NOP, a jump to the end, a skip forward. */
	const struct inet_diag_bc_op nop[] = {{INET_DIAG_BC_NOP, 4, 0}};
	const struct inet_diag_bc_op to_end[] = {{INET_DIAG_BC_JMP, 4, 4}};
	const struct inet_diag_bc_op skip[] = {{INET_DIAG_BC_JMP, 4, 12},
					       {INET_DIAG_BC_S_EQ, 8, 8},
					       {0, 0, 80},
					       {INET_DIAG_BC_NOP, 4, 0}};
	ck_assert_int_eq(audit(nop, sizeof(nop)), 0);
	ck_assert_int_eq(audit(to_end, sizeof(to_end)), 0);
	ck_assert_int_eq(audit(skip, sizeof(skip)), 0);
	ck_assert(run(nop, sizeof(nop), 1, 2));
	ck_assert(run(to_end, sizeof(to_end), 1, 2));
	ck_assert(run(skip, sizeof(skip), 81, 2));
}
END_TEST

/* ---- addresses: S_COND and D_COND ---------------------------------------- */

static struct pv_prefix pfx(const char *text)
{
	struct pv_prefix p;
	char addr[64];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	memcpy(addr, text, n);
	addr[n] = '\0';
	memset(&p, 0, sizeof(p));
	p.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	ck_assert_int_eq(inet_pton(p.family, addr, p.addr), 1);
	p.len = slash ? (uint8_t)atoi(slash + 1) : (p.family == AF_INET ? 32 : 128);
	return p;
}

/* 10.0.0.0/8 on the foreign side: one D_COND op, its hostcond, 4 address bytes. */
START_TEST(dst_cond_exact_bytes)
{
	struct pv_addr_clause a = {.side = PV_SIDE_DST, .n = 1, .v = {pfx("10.0.0.0/8")}};
	struct pv_buf b;
	pv_buf_init(&b);
	ck_assert_int_eq(pv_bc_compile(NULL, 0, &a, 1, true, &b), 0);
	static const uint8_t want[16] = {INET_DIAG_BC_D_COND,
					 16,
					 20,
					 0, /* op: yes 16, no 20 (reject) */
					 2,
					 8,
					 0,
					 0, /* AF_INET, /8, padding */
					 0xff,
					 0xff,
					 0xff,
					 0xff, /* any port (-1) */
					 10,
					 0,
					 0,
					 0};
	ck_assert_uint_eq(b.len, sizeof(want));
	ck_assert_mem_eq(b.data, want, sizeof(want));
	ck_assert_int_eq(audit(b.data, b.len), 0);
	pv_buf_free(&b);
}
END_TEST

static bool run_sock(const struct pv_buf *b, uint16_t sport, uint8_t family, const uint8_t *saddr,
		     const uint8_t *daddr)
{
	bool ok;
	bool pass =
	    bcc_run_sock((const uint8_t *)b->data, b->len, sport, 2, family, saddr, daddr, &ok);
	if (!ok)
		ck_abort_msg("run: the program went wrong");
	return pass;
}

/*
 * Source in 10.0.0.0/8 or 192.168.1.0/24 or 2001:db8::/32, and foreign
 * side not nothing: on sockets of both families, v4-mapped ones included,
 * the program and the C filter agree, and a few are what the man page says.
 */
START_TEST(addresses_match_c)
{
	struct pv_addr_clause a[2] = {
	    {.side = PV_SIDE_SRC,
	     .n = 3,
	     .v = {pfx("10.0.0.0/8"), pfx("192.168.1.0/24"), pfx("2001:db8::/32")}},
	    {.side = PV_SIDE_DST, .n = 2, .v = {pfx("0.0.0.0/0"), pfx("::/0")}},
	};
	struct pv_port_clause port = mk(PV_SIDE_ANY, "443");
	static const char *const addrs4[] = {"10.1.2.3",    "11.0.0.1", "192.168.1.200",
					     "192.168.2.1", "0.0.0.0",	"127.0.0.1"};
	static const char *const addrs6[] = {"2001:db8::1",	"2001:db9::1", "::ffff:10.9.9.9",
					     "::ffff:11.0.0.1", "::1",	       "fe80::1"};
	for (int with_port = 0; with_port < 2; with_port++) {
		struct pv_buf b;
		pv_buf_init(&b);
		ck_assert_int_eq(pv_bc_compile(&port, (size_t)with_port, a, 2, with_port, &b), 0);
		ck_assert_int_eq(audit(b.data, b.len), 0);
		for (int fam = 0; fam < 2; fam++) {
			const char *const *list = fam ? addrs6 : addrs4;
			uint8_t family = fam ? AF_INET6 : AF_INET;
			for (size_t i = 0; i < 6; i++)
				for (size_t j = 0; j < 6; j++) {
					uint8_t sa[16] = {0}, da[16] = {0};
					ck_assert_int_eq(inet_pton(family, list[i], sa), 1);
					ck_assert_int_eq(inet_pton(family, list[j], da), 1);
					for (uint16_t sport = 442; sport <= 443; sport++) {
						bool want =
						    pv_addr_clauses_match(a, 2, family, sa, da) &&
						    (!with_port ||
						     pv_port_clauses_match(&port, 1, sport, 2));
						bool got = run_sock(&b, sport, family, sa, da);
						if (got != want)
							ck_abort_msg(
							    "%s:%u -> %s: bytecode %d, C %d",
							    list[i], sport, list[j], got, want);
					}
				}
		}
		pv_buf_free(&b);
	}
	/* what the man page promises, through the C filter */
	uint8_t sa[16] = {0}, da[16] = {0};
	inet_pton(AF_INET6, "::ffff:10.9.9.9", sa);
	ck_assert(pv_addr_clauses_match(a, 1, AF_INET6, sa, da)); /* v4-mapped in 10/8 */
	inet_pton(AF_INET6, "::ffff:11.0.0.1", sa);
	ck_assert(!pv_addr_clauses_match(a, 1, AF_INET6, sa, da));
	inet_pton(AF_INET, "192.168.1.255", sa);
	ck_assert(pv_addr_clauses_match(a, 1, AF_INET, sa, da));
	inet_pton(AF_INET, "192.168.0.255", sa);
	ck_assert(!pv_addr_clauses_match(a, 1, AF_INET, sa, da));
}
END_TEST

START_TEST(bad_address_clauses_are_einval)
{
	struct pv_addr_clause a = {.side = PV_SIDE_ANY, .n = 1, .v = {pfx("10.0.0.0/8")}};
	struct pv_buf b;
	pv_buf_init(&b);
	ck_assert_int_eq(pv_bc_compile(NULL, 0, &a, 1, true, &b), -EINVAL);
	a.side = PV_SIDE_SRC;
	a.v[0].len = 33;
	ck_assert_int_eq(pv_bc_compile(NULL, 0, &a, 1, true, &b), -EINVAL);
	ck_assert_uint_eq(b.len, 0);
	pv_buf_free(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bytecode");
	TCase *exact = tcase_create("exact");
	tcase_add_test(exact, sport_eq_exact_bytes);
	tcase_add_test(exact, sport_without_eq_uses_ge_le);
	tcase_add_test(exact, any_side_is_an_or);
	tcase_add_test(exact, open_bounds_are_dropped);
	tcase_add_test(exact, two_ranges_two_clauses);
	tcase_add_test(exact, empty_and_trivial_filters);
	tcase_add_test(exact, clauses_that_never_hold);
	tcase_add_test(exact, too_many_ranges_is_einval);
	tcase_add_test(exact, auditor_rejects_bad_programs);
	tcase_add_test(exact, dst_cond_exact_bytes);
	tcase_add_test(exact, addresses_match_c);
	tcase_add_test(exact, bad_address_clauses_are_einval);
	suite_add_tcase(s, exact);

	TCase *equiv = tcase_create("equivalence");
	tcase_set_timeout(equiv, 60);
	tcase_add_test(equiv, offsets_must_fit_16_bits);
	tcase_add_test(equiv, fixed_filters_match_c);
	tcase_add_test(equiv, max_ranges_match_c);
	tcase_add_test(equiv, random_filters_match_c);
	tcase_add_test(equiv, device_test_in_front);
	suite_add_tcase(s, equiv);
	return run_suite(s);
}
