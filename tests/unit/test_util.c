/* util.c's cookie map and parser of seconds; buf.c's large arrays. */
#include <errno.h>

#include "helpers.h"
#include "portview/buf.h"
#include "portview/parallel.h"
#include "portview/sock.h"
#include "portview/util.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <stdatomic.h>

/* Many cookies through several growths: each maps to its value, others to nothing. */
START_TEST(idmap_maps_every_cookie)
{
	struct pv_idmap m;
	pv_idmap_init(&m, 4);
	for (uint64_t i = 1; i <= 5000; i++)
		pv_idmap_put(&m, i * 0x9e3779b97f4a7c15ull, (uint32_t)(i * 3));
	ck_assert_uint_eq(m.map.n, 5000);
	for (uint64_t i = 1; i <= 5000; i++) {
		uint32_t v = 0;
		ck_assert(pv_idmap_get(&m, i * 0x9e3779b97f4a7c15ull, &v));
		ck_assert_uint_eq(v, i * 3);
		ck_assert(!pv_idmap_get(&m, i * 0x9e3779b97f4a7c15ull + 1, &v));
	}
	/* a cookie put again takes the new value and is counted once */
	pv_idmap_put(&m, 0x9e3779b97f4a7c15ull, 7);
	uint32_t v;
	ck_assert(pv_idmap_get(&m, 0x9e3779b97f4a7c15ull, &v));
	ck_assert_uint_eq(v, 7);
	ck_assert_uint_eq(m.map.n, 5000);
	/* 0 is no cookie (INET_DIAG_NOCOOKIE): never mapped */
	pv_idmap_put(&m, 0, 1);
	ck_assert(!pv_idmap_get(&m, 0, &v));
	pv_idmap_free(&m);
	ck_assert(!pv_idmap_get(&m, 1, &v));
}
END_TEST

START_TEST(seconds_accepted)
{
	static const struct {
		const char *text;
		uint32_t ms;
	} ok[] = {
	    {"5", 5000},   {"0.1", 100},	{".1", 100},
	    {"0.5", 500},  {"1.25", 1250},	{"2.000", 2000},
	    {"007", 7000}, {"86400", 86400000}, {"86400.000", 86400000},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint32_t ms = 0;
		struct pv_why why = {0};
		ck_assert_msg(pv_parse_seconds(ok[i].text, &ms, &why), "%s refused: %s", ok[i].text,
			      why.why);
		ck_assert_uint_eq(ms, ok[i].ms);
	}
}
END_TEST

START_TEST(seconds_refused)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
	    {"", "not a number of seconds (such as 5 or 0.5)"},
	    {".", "not a number of seconds (such as 5 or 0.5)"},
	    {"5.", "not a number of seconds (such as 5 or 0.5)"},
	    {"-1", "not a number of seconds (such as 5 or 0.5)"},
	    {"+1", "not a number of seconds (such as 5 or 0.5)"},
	    {"1e3", "not a number of seconds (such as 5 or 0.5)"},
	    {"1.2.3", "not a number of seconds (such as 5 or 0.5)"},
	    {" 5", "not a number of seconds (such as 5 or 0.5)"},
	    {"5s", "not a number of seconds (such as 5 or 0.5)"},
	    {"0.0001", "more than 3 decimals (milliseconds are the finest)"},
	    {"0", "shorter than 0.1 seconds"},
	    {"0.099", "shorter than 0.1 seconds"},
	    {"86400.001", "longer than a day (86400 seconds)"},
	    {"99999999999999999999999", "longer than a day (86400 seconds)"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t ms = 12345;
		struct pv_why why = {0};
		ck_assert_msg(!pv_parse_seconds(bad[i].text, &ms, &why), "'%s' accepted",
			      bad[i].text);
		ck_assert_str_eq(why.why, bad[i].why);
		ck_assert_uint_eq(ms, 12345); /* untouched */
	}
}
END_TEST

/* Each worker of pv_parallel_run runs once, with its own index. */
static void count_worker(void *arg, unsigned w)
{
	atomic_int *seen = arg;
	atomic_fetch_add(&seen[w], 1);
}

START_TEST(parallel_runs_each_worker_once)
{
	for (unsigned n = 1; n <= 4; n++) {
		atomic_int seen[4];
		for (int i = 0; i < 4; i++)
			atomic_init(&seen[i], 0);
		ck_assert_uint_eq(pv_parallel_run(n, count_worker, seen), n);
		for (unsigned i = 0; i < 4; i++)
			ck_assert_int_eq(atomic_load(&seen[i]), i < n ? 1 : 0);
	}
}
END_TEST

/*
 * A thread that keeps a CPU busy is a CPU taken, at every look: with one
 * spinning, pv_cpus_free() leaves it out (whatever else runs can only
 * take more).
 */
static void *spin_until(void *arg)
{
	atomic_bool *stop = arg;
	while (!atomic_load(stop))
		;
	return NULL;
}

START_TEST(cpus_free_counts_a_busy_thread)
{
	unsigned online = pv_cpus_online();
	ck_assert_uint_ge(online, 1);
	ck_assert_uint_le(pv_cpus_free(), online);
	atomic_bool stop;
	atomic_init(&stop, false);
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, spin_until, &stop), 0);
	/* let it get a CPU */
	const struct timespec nap = {0, 20000000};
	nanosleep(&nap, NULL);
	unsigned free_now = pv_cpus_free();
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	ck_assert_uint_le(free_now, online > 1 ? online - 1 : 1);
	ck_assert_uint_ge(free_now, 1);
}
END_TEST

/* A large array through heap sizes, mappings, a larger mapping and back down: nothing lost. */
START_TEST(big_arrays_keep_their_elements)
{
	static const size_t sizes[] = {1,	100,  60000,   250000, 700000,
				       3000000, 1000, 2000000, 2500000};
	uint32_t *a = NULL;
	size_t have = 0;
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k];
		a = pv_big_realloc(a, n, sizeof(*a), true);
		size_t keep = have < n ? have : n;
		for (size_t i = 0; i < keep; i++)
			if (a[i] != (uint32_t)(i * 2654435761u))
				ck_abort_msg("growth %zu to %zu elements: element %zu is %u", k, n,
					     i, a[i]);
		for (size_t i = keep; i < n; i++)
			a[i] = (uint32_t)(i * 2654435761u);
		have = n;
	}
	pv_big_free(a);
	pv_big_free(NULL);
}
END_TEST

/*
 * The mapping of /proc/self/smaps that holds address p: its start, and its
 * THPeligible line (-1: the kernel has none).  False when none holds p.
 */
static bool mapping_of(const void *p, uintptr_t *start, int *eligible)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	ck_assert_ptr_nonnull(f);
	char line[512];
	bool in = false, found = false;
	*eligible = -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		int e;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			if (found)
				break;
			in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
			if (in) {
				found = true;
				*start = lo;
			}
		} else if (in && sscanf(line, "THPeligible: %d", &e) == 1) {
			*eligible = e;
		}
	}
	fclose(f);
	return found;
}

/* The transparent huge pages' mode: "always", "madvise", "never" (or "" when unknown). */
static void thp_mode(char *mode, size_t size)
{
	char line[128] = "";
	mode[0] = 0;
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	if (!f)
		return;
	if (fgets(line, sizeof(line), f)) {
		char *a = strchr(line, '['), *b = a ? strchr(a, ']') : NULL;
		if (b && (size_t)(b - a) <= size) {
			memcpy(mode, a + 1, (size_t)(b - a - 1));
			mode[b - a - 1] = 0;
		}
	}
	fclose(f);
}

/* A large array is a mapping of its own at a 2 MB boundary, that may take huge pages. */
START_TEST(big_arrays_take_huge_pages)
{
	size_t n = (size_t)3 << 20;
	char *a = pv_big_realloc(NULL, n, 1, true);
	memset(a, 1, n);
	uintptr_t start = 0;
	int eligible;
	ck_assert(mapping_of(a, &start, &eligible));
	ck_assert_uint_eq(start % ((uintptr_t)2 << 20), 0);
	ck_assert_uint_le((uintptr_t)a - start, 64);
	char mode[16];
	thp_mode(mode, sizeof(mode));
	/* a kernel without THPeligible in smaps, or without huge pages: the mapping alone */
	if (eligible >= 0 && (!strcmp(mode, "madvise") || !strcmp(mode, "always")))
		ck_assert_int_eq(eligible, 1);
	/* grown, it moves to a new such mapping with all it held */
	a = pv_big_realloc(a, 3 * n, 1, true);
	ck_assert(mapping_of(a, &start, &eligible));
	ck_assert_uint_eq(start % ((uintptr_t)2 << 20), 0);
	for (size_t i = 0; i < n; i++)
		if (a[i] != 1)
			ck_abort_msg("byte %zu lost in the move", i);
	if (eligible >= 0 && (!strcmp(mode, "madvise") || !strcmp(mode, "always")))
		ck_assert_int_eq(eligible, 1);
	pv_big_free(a);
	/* without huge, a large one stays with malloc, not advised (-an's records: its RSS) */
	char *plain = pv_big_realloc(NULL, n, 1, false);
	memset(plain, 1, n);
	ck_assert(mapping_of(plain, &start, &eligible));
	if (eligible >= 0 && !strcmp(mode, "madvise"))
		ck_assert_int_eq(eligible, 0);
	pv_big_free(plain);
	/* a small one (under 256 KB) stays on malloc's heap: not a mapping of its own */
	char *small = pv_big_realloc(NULL, 1000, 1, true);
	ck_assert(mapping_of(small, &start, &eligible));
	ck_assert_uint_gt((uintptr_t)small - start, 64);
	pv_big_free(small);
}
END_TEST

/*
 * A list with big_pages (the owners' runs: PV_KEEP_BIG_PAGES) has its
 * records on a 2 MB-aligned mapping of their own once large, advised for
 * huge pages; one without keeps them on malloc's (-an's peak RSS).
 */
START_TEST(big_page_lists_map_their_records)
{
	char mode[16];
	thp_mode(mode, sizeof(mode));
	for (int big = 0; big < 3; big++) {
		/* big 2: 10,000 records (320 KB) with big_pages: not worth a 2 MB page */
		uint32_t n = big == 2 ? 10000 : 100000;
		struct pv_socklist l;
		pv_socklist_init(&l);
		l.keep_more = false;
		l.big_pages = big > 0;
		struct pv_sock s = {.proto = 6, .family = 2, .state = 1, .v6only = -1};
		for (uint32_t i = 0; i < n; i++) {
			s.cookie = i + 1;
			s.local.port = (uint16_t)i;
			pv_socklist_add(&l, &s);
		}
		uintptr_t start = 0;
		int eligible;
		ck_assert(mapping_of(l.v, &start, &eligible));
		if (big == 1) {
			ck_assert_uint_eq(start % ((uintptr_t)2 << 20), 0);
			ck_assert_uint_le((uintptr_t)l.v - start, 64);
		}
		if (eligible >= 0 && !strcmp(mode, "madvise"))
			ck_assert_int_eq(eligible, big == 1);
		ck_assert_uint_eq(l.v[n - 1].lport, (n - 1) % 65536);
		pv_socklist_free(&l);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("util");
	tcase_add_test(tc, idmap_maps_every_cookie);
	tcase_add_test(tc, parallel_runs_each_worker_once);
	tcase_add_test(tc, cpus_free_counts_a_busy_thread);
	tcase_add_test(tc, seconds_accepted);
	tcase_add_test(tc, seconds_refused);
	tcase_add_test(tc, big_arrays_keep_their_elements);
	tcase_add_test(tc, big_arrays_take_huge_pages);
	tcase_add_test(tc, big_page_lists_map_their_records);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
