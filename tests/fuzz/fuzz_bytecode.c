/*
 * pv_bc_compile() on arbitrary port clauses.
 *
 * Input encoding (reads past the end give zeros):
 *   byte        number of clauses: 1 + b % 3
 *   per clause:
 *     byte      sides: b % 8 == 0 gives 0 (a clause nothing satisfies),
 *               else 1 + b % 3 (SRC, DST, ANY)
 *     byte      ranges: b % (PV_MAX_RANGES + 1)
 *     byte      port mode: bit 0 set: ports are one byte, scaled into
 *               a small window (base = next u16), so ranges overlap and
 *               touch; else ports are big-endian u16s
 *     per range two ports; swapped when lo > hi
 *   the rest    (sport, dport) pairs, big-endian u16s, to run
 *
 * Each clause set is compiled with and without use_eq, into an empty buffer
 * and after existing bytes.  Every program must pass the kernel's audit
 * (bc_check.h), hold no EQ op without use_eq, and, run the way the kernel
 * runs it, select exactly what pv_port_clauses_match selects: for ports at
 * and around every range bound on each side (against a few ports on the
 * other side), for pseudo-random pairs, and for the pairs in the input.
 * An empty program (every clause always true) means no filter: everything
 * must match.  A clause with more than PV_MAX_RANGES ranges is -EINVAL.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bc_check.h"
#include "fuzz_util.h"
#include "portview/buf.h"
#include "portview/bytecode.h"

#define MAX_BOUNDS 128

struct prog {
	const uint8_t *p;
	size_t n;
};

static void check_pair(const struct pv_port_clause *c, size_t nc, const struct prog *pr,
		       uint16_t sport, uint16_t dport, bool use_eq)
{
	bool want = pv_port_clauses_match(c, nc, sport, dport);
	bool got;
	if (pr->n == 0) {
		got = true; /* no program: nothing filtered in the kernel */
	} else {
		bool ok;
		got = bcc_run(pr->p, pr->n, sport, dport, &ok);
		FUZZ_CHECK(ok, "run went wrong at sport %u dport %u (use_eq %d)", sport, dport,
			   use_eq);
	}
	FUZZ_CHECK(got == want, "sport %u dport %u: kernel %s, user space %s (use_eq %d)", sport,
		   dport, got ? "passes" : "drops", want ? "passes" : "drops", use_eq);
}

static size_t add_port(uint16_t *v, size_t n, size_t max, uint8_t *seen, long port)
{
	if (port < 0 || port > UINT16_MAX || n == max || (seen[port / 8] & (1u << port % 8)))
		return n;
	seen[port / 8] |= (uint8_t)(1u << port % 8);
	v[n++] = (uint16_t)port;
	return n;
}

static void check_program(const struct pv_port_clause *c, size_t nc, const uint8_t *p, size_t n,
			  bool use_eq, const uint8_t *pairs, size_t npairs, uint64_t seed)
{
	struct prog pr = {p, n};
	if (n) {
		struct bcc_verdict v = bcc_audit(p, n);
		FUZZ_CHECK(v.why == NULL, "kernel audit fails (use_eq %d, %zu bytes): %s at %zu",
			   use_eq, n, v.why, v.pos);
		if (!use_eq)
			FUZZ_CHECK(!bcc_has_eq(p, n), "EQ op without use_eq");
	}

	/* Bounds and their neighbours, each once. */
	static uint16_t ports[3 * PV_MAX_RANGES * 4 + 4];
	static uint8_t seen[65536 / 8];
	memset(seen, 0, sizeof(seen));
	size_t np = 0, max = sizeof(ports) / sizeof(ports[0]);
	np = add_port(ports, np, max, seen, 0);
	np = add_port(ports, np, max, seen, 1);
	np = add_port(ports, np, max, seen, UINT16_MAX - 1);
	np = add_port(ports, np, max, seen, UINT16_MAX);
	for (size_t i = 0; i < nc; i++) {
		for (size_t r = 0; r < c[i].nranges && r < PV_MAX_RANGES; r++) {
			long lo = c[i].ranges[r].lo, hi = c[i].ranges[r].hi;
			np = add_port(ports, np, max, seen, lo - 1);
			np = add_port(ports, np, max, seen, lo);
			np = add_port(ports, np, max, seen, hi);
			np = add_port(ports, np, max, seen, hi + 1);
		}
	}
	/*
	 * Each against another bound and against anything, on both sides; at
	 * most MAX_BOUNDS of them (chosen at random) to keep runs fast.
	 */
	uint64_t rs = seed;
	for (size_t i = 0; i < np && i < MAX_BOUNDS; i++) {
		size_t j = i + (size_t)(fuzz_rand(&rs) % (np - i));
		uint16_t t = ports[i];
		ports[i] = ports[j];
		ports[j] = t;
	}
	if (np > MAX_BOUNDS)
		np = MAX_BOUNDS;
	for (size_t i = 0; i < np; i++) {
		uint64_t x = fuzz_rand(&rs);
		uint16_t other[2] = {ports[x % np], (uint16_t)(x >> 32)};
		for (size_t k = 0; k < 2; k++) {
			check_pair(c, nc, &pr, ports[i], other[k], use_eq);
			check_pair(c, nc, &pr, other[k], ports[i], use_eq);
		}
	}
	/* Pseudo-random pairs of bounds, and of anything. */
	for (int i = 0; i < 64; i++) {
		uint64_t x = fuzz_rand(&rs);
		check_pair(c, nc, &pr, ports[x % np], ports[(x >> 20) % np], use_eq);
		check_pair(c, nc, &pr, (uint16_t)(x >> 32), (uint16_t)(x >> 48), use_eq);
	}
	/* The input's own pairs. */
	for (size_t i = 0; i + 4 <= npairs && i < 4 * 256; i += 4)
		check_pair(c, nc, &pr, (uint16_t)(pairs[i] << 8 | pairs[i + 1]),
			   (uint16_t)(pairs[i + 2] << 8 | pairs[i + 3]), use_eq);
}

static void compile_and_check(const struct pv_port_clause *c, size_t nc, bool use_eq,
			      const uint8_t *pairs, size_t npairs, uint64_t seed)
{
	struct pv_buf b;
	fuzz_buf_init(&b);
	int r = pv_bc_compile(c, nc, NULL, 0, use_eq, &b);
	/* 3 clauses of 64 ranges on both sides are far below the 16-bit limits. */
	FUZZ_CHECK(r == 0, "pv_bc_compile returned %d", r);
	check_program(c, nc, (const uint8_t *)b.data, b.len, use_eq, pairs, npairs, seed);

	/* Appended after other bytes: the same program. */
	struct pv_buf a;
	fuzz_buf_init(&a);
	pv_buf_add(&a, "pre!", 4);
	r = pv_bc_compile(c, nc, NULL, 0, use_eq, &a);
	FUZZ_CHECK(r == 0, "pv_bc_compile (appending) returned %d", r);
	FUZZ_CHECK(a.len == 4 + b.len && memcmp(a.data, "pre!", 4) == 0 &&
		       (b.len == 0 || memcmp(a.data + 4, b.data, b.len) == 0),
		   "appending gives another program");

	/* A device test in front: the same filter on that device, nothing on another. */
	uint32_t dev = 1 + (uint32_t)(seed % 4096);
	struct pv_buf d;
	fuzz_buf_init(&d);
	pv_buf_add(&d, b.data, b.len);
	r = pv_bc_prepend_dev(&d, dev);
	FUZZ_CHECK(r == 0, "pv_bc_prepend_dev returned %d", r);
	struct bcc_verdict v = bcc_audit((const uint8_t *)d.data, d.len);
	FUZZ_CHECK(v.why == NULL, "kernel audit fails with the device test: %s at %zu", v.why,
		   v.pos);
	uint64_t rs = seed ^ 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < 64; i++) {
		uint64_t x = fuzz_rand(&rs);
		uint16_t sport = (uint16_t)x, dport = (uint16_t)(x >> 16);
		if (i < (int)(npairs / 4))
			sport = (uint16_t)(pairs[4 * i] << 8 | pairs[4 * i + 1]),
			dport = (uint16_t)(pairs[4 * i + 2] << 8 | pairs[4 * i + 3]);
		bool ok, ok2;
		bool on = bcc_run_dev((const uint8_t *)d.data, d.len, sport, dport, dev, &ok);
		bool off = bcc_run_dev((const uint8_t *)d.data, d.len, sport, dport,
				       dev + 1 + (x >> 48), &ok2);
		FUZZ_CHECK(ok && ok2, "run with the device test went wrong");
		FUZZ_CHECK(on == pv_port_clauses_match(c, nc, sport, dport) && !off,
			   "device %u: sport %u dport %u: on it %d, on another %d", dev, sport,
			   dport, on, off);
	}
	pv_buf_free(&d);
	pv_buf_free(&a);
	pv_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pv_port_clause c[3];
	struct fuzz_in in = {data, size};
	memset(c, 0, sizeof(c));

	size_t nc = 1 + fuzz_u8(&in) % 3;
	for (size_t i = 0; i < nc; i++) {
		uint8_t sides = fuzz_u8(&in);
		c[i].sides = sides % 8 == 0 ? 0 : (uint8_t)(1 + sides % 3);
		size_t nr = fuzz_u8(&in) % (PV_MAX_RANGES + 1);
		uint8_t mode = fuzz_u8(&in);
		uint16_t base = 0;
		if (mode & 1)
			base = fuzz_u16(&in);
		for (size_t r = 0; r < nr; r++) {
			uint32_t lo, hi;
			if (mode & 1) {
				lo = base + fuzz_u8(&in) / 4u;
				hi = base + fuzz_u8(&in) / 4u;
				if (lo > UINT16_MAX)
					lo = UINT16_MAX;
				if (hi > UINT16_MAX)
					hi = UINT16_MAX;
			} else {
				lo = fuzz_u16(&in);
				hi = fuzz_u16(&in);
			}
			if (lo > hi) {
				uint32_t t = lo;
				lo = hi;
				hi = t;
			}
			c[i].ranges[r] = (struct pv_port_range){(uint16_t)lo, (uint16_t)hi};
		}
		c[i].nranges = nr;
	}
	uint64_t seed = fuzz_seed_of(data, size);

	compile_and_check(c, nc, true, in.p, fuzz_left(&in), seed);
	compile_and_check(c, nc, false, in.p, fuzz_left(&in), seed);

	/* Too many ranges: refused, nothing emitted. */
	struct pv_port_clause saved = c[0];
	c[0].nranges = PV_MAX_RANGES + 1 + (seed & 0xff);
	struct pv_buf b;
	fuzz_buf_init(&b);
	int r = pv_bc_compile(c, nc, NULL, 0, seed & 1, &b);
	FUZZ_CHECK(r == -EINVAL, "%zu ranges: pv_bc_compile returned %d", c[0].nranges, r);
	FUZZ_CHECK(b.len == 0, "%zu ranges: %zu bytes emitted", c[0].nranges, b.len);
	pv_buf_free(&b);
	c[0] = saved;
	return 0;
}
