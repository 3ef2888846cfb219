/* hashmap.c: the one map from 64-bit (or 32-bit) keys to 32-bit values. */
#include "helpers.h"
#include "portview/hashmap.h"

/*
 * Each test runs twice (check's loop tests, _i): on a map of 64-bit keys
 * and on a narrow one (pv_hashmap_init32, keys below 2^32).
 */
static void init(struct pv_hashmap *m, int narrow)
{
	if (narrow)
		pv_hashmap_init32(m, 1);
	else
		pv_hashmap_init(m, 1);
}

/*
 * Keys spread over the whole range (64 bits, or 32 for a narrow map),
 * none 0, all odd: key + 1 is never a key.
 */
static uint64_t key_in(bool narrow, uint64_t i)
{
	if (narrow)
		return (uint64_t)(((uint32_t)i * 0x9e3779b1u) & 0x7fffffffu) * 2 + 1;
	return i * 0x9e3779b97f4a7c15ull | 1;
}

static uint64_t entry_key(const struct pv_hashmap *m, size_t i)
{
	return m->narrow ? m->e32[i].key : m->e[i].key;
}

static void put(struct pv_hashmap *m, uint64_t key, uint32_t val, bool want_added)
{
	bool added;
	uint32_t *v = pv_hashmap_put(m, key, &added);
	ck_assert_msg(added == want_added, "key %llx: added %d", (unsigned long long)key, added);
	*v = val;
}

/* Many keys through several growths: each keeps its value, others are absent. */
START_TEST(grows_and_keeps_every_key)
{
	struct pv_hashmap m;
	init(&m, _i);
	size_t cap0 = m.cap;
	for (uint64_t i = 1; i <= 20000; i++)
		put(&m, key_in(_i, i), (uint32_t)(i * 3), true);
	ck_assert_uint_eq(m.n, 20000);
	ck_assert_uint_ge(m.cap, cap0 * 256);  /* it grew eight times or more */
	ck_assert_uint_ge(m.cap * 3, m.n * 4); /* at most three quarters full */
	for (uint64_t i = 1; i <= 20000; i++) {
		uint32_t v = 0;
		if (!pv_hashmap_get(&m, key_in(_i, i), &v) || v != i * 3)
			ck_abort_msg("key #%llu lost or wrong (%u)", (unsigned long long)i, v);
		ck_assert(!pv_hashmap_get(&m, key_in(_i, i) + 1, &v));
	}
	/* a key put again is found, not added, and keeps its value */
	bool added;
	uint32_t *v = pv_hashmap_put(&m, key_in(_i, 7), &added);
	ck_assert(!added);
	ck_assert_uint_eq(*v, 21);
	ck_assert_uint_eq(m.n, 20000);
	pv_hashmap_free(&m);
	uint32_t x;
	ck_assert(!pv_hashmap_get(&m, key_in(_i, 1), &x));
}
END_TEST

/*
 * Keys that all hash to the last entry of a new map: their probes run
 * into each other and wrap around to the start of the table.
 */
START_TEST(collisions_probe_and_wrap)
{
	struct pv_hashmap m;
	init(&m, _i);
	size_t mask = m.cap - 1;
	uint64_t keys[12], other = 0;
	size_t n = 0;
	for (uint64_t k = 1; n < 12 || !other; k++) {
		if ((pv_hash64(k) & mask) != mask)
			continue;
		if (n < 12)
			keys[n++] = k;
		else
			other = k;
	}
	for (size_t i = 0; i < n; i++)
		put(&m, keys[i], (uint32_t)i + 100, true);
	ck_assert_uint_eq(m.cap, mask + 1); /* no growth: the collisions stay */
	ck_assert_uint_eq(entry_key(&m, mask), keys[0]);
	ck_assert_uint_eq(entry_key(&m, 0), keys[1]); /* wrapped */
	for (size_t i = 0; i < n; i++) {
		uint32_t v;
		ck_assert(pv_hashmap_get(&m, keys[i], &v));
		ck_assert_uint_eq(v, i + 100);
	}
	uint32_t v;
	ck_assert(!pv_hashmap_get(&m, other, &v)); /* the probe ends at a gap */
	pv_hashmap_free(&m);
}
END_TEST

/* 0 is a key like any other, though it marks empty entries in the table. */
START_TEST(key_zero_is_a_key)
{
	struct pv_hashmap m;
	init(&m, _i);
	uint32_t v;
	ck_assert(!pv_hashmap_get(&m, 0, &v));
	put(&m, 0, 42, true);
	put(&m, 5, 6, true);
	ck_assert(pv_hashmap_get(&m, 0, &v));
	ck_assert_uint_eq(v, 42);
	put(&m, 0, 43, false);
	ck_assert(pv_hashmap_get(&m, 0, &v));
	ck_assert_uint_eq(v, 43);
	ck_assert_uint_eq(m.n, 2);
	for (uint64_t i = 1; i <= 1000; i++) /* through growths */
		put(&m, key_in(_i, i), 1, true);
	ck_assert(pv_hashmap_get(&m, 0, &v));
	ck_assert_uint_eq(v, 43);
	pv_hashmap_free(&m);
	ck_assert(!pv_hashmap_get(&m, 0, &v));
}
END_TEST

/* The walk over the entries gives each key once, with its value, 0 included. */
START_TEST(next_visits_each_key_once)
{
	struct pv_hashmap m;
	init(&m, _i);
	enum { N = 3000 };
	static bool seen[N + 1];
	for (uint32_t i = 0; i <= N; i++)
		put(&m, i, i * 2 + 1, true);
	size_t pos = 0, count = 0;
	uint64_t key;
	uint32_t val;
	while (pv_hashmap_next(&m, &pos, &key, &val)) {
		ck_assert_uint_le(key, N);
		ck_assert(!seen[key]);
		ck_assert_uint_eq(val, key * 2 + 1);
		seen[key] = true;
		count++;
	}
	ck_assert_uint_eq(count, N + 1);
	ck_assert(!pv_hashmap_next(&m, &pos, &key, &val)); /* and stays at the end */
	pv_hashmap_free(&m);
}
END_TEST

/* A narrow map: 8-byte entries, and a key of 2^32 or more is never in it. */
START_TEST(narrow_map_is_narrow)
{
	struct pv_hashmap m;
	pv_hashmap_init32(&m, 100000);
	ck_assert_uint_eq(sizeof(*m.e32), 8);
	ck_assert_uint_eq(m.cap, 262144); /* 2 MiB of entries for 100k inodes */
	uint32_t v;
	ck_assert_ptr_null(pv_hashmap_put(&m, 1ull << 32, NULL));
	ck_assert_ptr_nonnull(pv_hashmap_put(&m, UINT32_MAX, NULL));
	ck_assert(pv_hashmap_get(&m, UINT32_MAX, &v));
	ck_assert(!pv_hashmap_get(&m, (1ull << 32) | 5, &v));
	ck_assert(!pv_hashmap_get(&m, 1ull << 32, &v));
	ck_assert_uint_eq(m.n, 1);
	pv_hashmap_free(&m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hashmap");
	TCase *tc = tcase_create("hashmap");
	tcase_add_loop_test(tc, grows_and_keeps_every_key, 0, 2);
	tcase_add_loop_test(tc, collisions_probe_and_wrap, 0, 2);
	tcase_add_loop_test(tc, key_zero_is_a_key, 0, 2);
	tcase_add_loop_test(tc, next_visits_each_key_once, 0, 2);
	tcase_add_test(tc, narrow_map_is_narrow);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
