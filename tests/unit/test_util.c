/* util.c's cookie map and parser of seconds. */
#include <errno.h>

#include "helpers.h"
#include "portview/parallel.h"
#include "portview/util.h"

#include <pthread.h>
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

int main(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("util");
	tcase_add_test(tc, idmap_maps_every_cookie);
	tcase_add_test(tc, parallel_runs_each_worker_once);
	tcase_add_test(tc, cpus_free_counts_a_busy_thread);
	tcase_add_test(tc, seconds_accepted);
	tcase_add_test(tc, seconds_refused);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
