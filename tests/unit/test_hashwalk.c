/* How a walk of the kernel's hash is made sure of: crowding and slices. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "portview/hashwalk.h"
#include "portview/sock_diag.h"

START_TEST(tail_lengths)
{
	/*
	 * This host's hash with the benchmark's 100,000 sockets: a mean of
	 * 0.38 a bucket; a bucket of 11 is expected in fewer than one walk in
	 * a million, so 9 records before each boundary are enough.
	 */
	ck_assert_uint_eq(pv_hashwalk_tail(262144, 100000), 9);
	/* a few sockets: one record */
	ck_assert_uint_eq(pv_hashwalk_tail(262144, 10), 1);
	ck_assert_uint_eq(pv_hashwalk_tail(262144, 0), 1);
	/* more sockets need more records, never more than the maximum */
	unsigned last = 1;
	for (size_t n = 1000; n <= 1000000; n += 1000) {
		unsigned k = pv_hashwalk_tail(262144, n);
		if (k == 0)
			break;
		ck_assert_uint_ge(k, last);
		ck_assert_uint_le(k, PV_DIAG_TAIL_MAX);
		last = k;
	}
	/* a container's hash of 128 or 1,024 buckets with 4,000 sockets: crowded */
	ck_assert_uint_eq(pv_hashwalk_tail(128, 4000), 0);
	ck_assert_uint_eq(pv_hashwalk_tail(1024, 4000), 0);
	/* ... and with 10 sockets, not */
	ck_assert_uint_gt(pv_hashwalk_tail(128, 10), 0);
	/* a mean far above 16 a bucket */
	ck_assert_uint_eq(pv_hashwalk_tail(128, 1000000), 0);
	/* an unknown bucket count counts as 65,536 */
	ck_assert_uint_eq(pv_hashwalk_tail(0, 50000), pv_hashwalk_tail(65536, 50000));
}
END_TEST

/* Every (sport, dport) lies in exactly one rectangle. */
static void assert_tiling(const struct pv_port_rect *r, size_t n)
{
	for (unsigned s = 0; s < 65536; s++) {
		/* the rectangles holding s must cover 0-65535 in dport once */
		uint32_t covered = 0;
		for (uint32_t d = 0; d < 65536;) {
			size_t hit = n;
			for (size_t i = 0; i < n; i++)
				if (r[i].slo <= s && s <= r[i].shi && r[i].dlo == d)
					hit = i;
			ck_assert_msg(hit < n, "sport %u: no rectangle starts at dport %u", s, d);
			covered += (uint32_t)r[hit].dhi - d + 1;
			d = (uint32_t)r[hit].dhi + 1;
		}
		ck_assert_uint_eq(covered, 65536);
	}
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_le(r[i].slo, r[i].shi);
		ck_assert_uint_le(r[i].dlo, r[i].dhi);
	}
}

static size_t count_in(const struct pv_port_pair *p, size_t n, const struct pv_port_rect *r)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += r->slo <= p[i].sport && p[i].sport <= r->shi && r->dlo <= p[i].dport &&
		     p[i].dport <= r->dhi;
	return k;
}

START_TEST(plan_nothing)
{
	struct pv_port_rect r[4];
	ck_assert_uint_eq(pv_hashwalk_plan(NULL, 0, 150, r, 4), 1);
	ck_assert_uint_eq(r[0].slo, 0);
	ck_assert_uint_eq(r[0].shi, 65535);
	ck_assert_uint_eq(r[0].dlo, 0);
	ck_assert_uint_eq(r[0].dhi, 65535);
}
END_TEST

START_TEST(plan_spread_and_heavy)
{
	/*
	 * The shape of a server host: 1,000 accepted connections on local port
	 * 8000 (foreign ports spread), 1,000 client ends with ephemeral local
	 * ports towards 8000, and 50 listeners.
	 */
	enum { N = 2050 };
	struct pv_port_pair *p = malloc(N * sizeof(*p)), *copy = malloc(N * sizeof(*p));
	size_t n = 0;
	for (unsigned i = 0; i < 1000; i++)
		p[n++] = (struct pv_port_pair){8000, (uint16_t)(33000 + i * 7)};
	for (unsigned i = 0; i < 1000; i++)
		p[n++] = (struct pv_port_pair){(uint16_t)(33000 + i * 7), 8000};
	for (unsigned i = 0; i < 50; i++)
		p[n++] = (struct pv_port_pair){(uint16_t)(10000 + i), 0};
	memcpy(copy, p, sizeof(*p) * N);

	size_t total = pv_hashwalk_plan(p, n, 150, NULL, 0);
	struct pv_port_rect *r = malloc(total * sizeof(*r));
	ck_assert_uint_eq(pv_hashwalk_plan(p, n, 150, r, total), total);
	/* 1,000 on port 8000 need 7 rectangles, the other 1,050 at least 7 */
	ck_assert_uint_ge(total, 14);
	ck_assert_uint_le(total, 16);
	size_t heavy = 0, sum = 0;
	for (size_t i = 0; i < total; i++) {
		size_t k = count_in(copy, N, &r[i]);
		ck_assert_msg(k <= 150, "rectangle %zu holds %zu", i, k);
		sum += k;
		heavy += r[i].slo <= 8000 && 8000 <= r[i].shi && (r[i].dlo || r[i].dhi != 65535);
	}
	ck_assert_uint_eq(sum, N);
	ck_assert_uint_eq(heavy, 7);
	assert_tiling(r, total);
	free(r);
	free(p);
	free(copy);
}
END_TEST

START_TEST(plan_one_pair_many)
{
	/* 400 sockets on one (local, foreign) pair cannot be cut by port */
	enum { N = 400 };
	struct pv_port_pair p[N];
	for (unsigned i = 0; i < N; i++)
		p[i] = (struct pv_port_pair){443, 5000};
	struct pv_port_rect r[8];
	size_t n = pv_hashwalk_plan(p, N, 150, r, 8);
	ck_assert_uint_le(n, 8);
	assert_tiling(r, n);
	size_t big = 0;
	for (size_t i = 0; i < n; i++)
		if (count_in(p, N, &r[i]) == N)
			big++;
	ck_assert_uint_eq(big, 1);
}
END_TEST

START_TEST(plan_edges)
{
	/* ports at both ends of the range, heavy at 65535 and at 0 */
	enum { N = 700 };
	struct pv_port_pair p[N], copy[N];
	for (unsigned i = 0; i < 300; i++)
		p[i] = (struct pv_port_pair){65535, (uint16_t)i};
	for (unsigned i = 300; i < 600; i++)
		p[i] = (struct pv_port_pair){0, (uint16_t)(65535 - i)};
	for (unsigned i = 600; i < N; i++)
		p[i] = (struct pv_port_pair){(uint16_t)(i * 50), 80};
	memcpy(copy, p, sizeof(p));
	struct pv_port_rect r[32];
	size_t n = pv_hashwalk_plan(p, N, 100, r, 32);
	ck_assert_uint_le(n, 32);
	assert_tiling(r, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_uint_le(count_in(copy, N, &r[i]), 100);
}
END_TEST

START_TEST(rect_split)
{
	struct pv_port_rect a, b;
	struct pv_port_rect r = {100, 199, 0, 65535};
	ck_assert(pv_port_rect_split(&r, &a, &b));
	ck_assert_uint_eq(a.slo, 100);
	ck_assert_uint_eq(a.shi, 149);
	ck_assert_uint_eq(b.slo, 150);
	ck_assert_uint_eq(b.shi, 199);
	ck_assert_uint_eq(a.dhi, 65535);
	r = (struct pv_port_rect){80, 80, 0, 65535};
	ck_assert(pv_port_rect_split(&r, &a, &b));
	ck_assert_uint_eq(a.slo, 80);
	ck_assert_uint_eq(b.shi, 80);
	ck_assert_uint_eq(a.dhi, 32767);
	ck_assert_uint_eq(b.dlo, 32768);
	r = (struct pv_port_rect){80, 80, 5, 5};
	ck_assert(!pv_port_rect_split(&r, &a, &b));
}
END_TEST

static const char *fake_dir(const char *ehash, const char *sockstat)
{
	const char *dir = scratch_dir("hashwalk");
	char path[512];
	if (ehash) {
		snprintf(path, sizeof(path), "%s/tcp_ehash_entries", dir);
		FILE *f = fopen(path, "w");
		fputs(ehash, f);
		fclose(f);
	}
	if (sockstat) {
		snprintf(path, sizeof(path), "%s/net", dir);
		mkdir(path, 0755);
		snprintf(path, sizeof(path), "%s/net/sockstat", dir);
		FILE *f = fopen(path, "w");
		fputs(sockstat, f);
		fclose(f);
	}
	return dir;
}

START_TEST(geometry)
{
	struct pv_hash_geometry g;
	const char *d =
	    fake_dir("-262144\n", "sockets: used 9\nTCP: inuse 12 orphan 3 tw 30 alloc 15 "
				  "mem 1\nUDP: inuse 2 mem 0\n");
	pv_hash_geometry_load(&g, d, d);
	ck_assert_uint_eq(g.buckets, 262144);
	ck_assert_uint_eq(g.sockets, 42);
	ck_assert_uint_eq(g.timewait, 30);

	d = fake_dir("128\n", NULL);
	pv_hash_geometry_load(&g, d, d);
	ck_assert_uint_eq(g.buckets, 128);
	ck_assert_uint_eq(g.sockets, 0);
	ck_assert_uint_eq(g.timewait, 0);

	d = fake_dir("lots\n", "TCP: in use\n");
	pv_hash_geometry_load(&g, d, d);
	ck_assert_uint_eq(g.buckets, 0);
	ck_assert_uint_eq(g.sockets, 0);

	pv_hash_geometry_load(&g, "/nonexistent", "/nonexistent");
	ck_assert_uint_eq(g.buckets, 0);
	ck_assert_uint_eq(g.sockets, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hashwalk");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, tail_lengths);
	tcase_add_test(tc, plan_nothing);
	tcase_add_test(tc, plan_spread_and_heavy);
	tcase_add_test(tc, plan_one_pair_many);
	tcase_add_test(tc, plan_edges);
	tcase_add_test(tc, rect_split);
	tcase_add_test(tc, geometry);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
