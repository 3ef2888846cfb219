/* Display order and de-duplication of records. */
#include "records.h"
#include "portview/sort.h"
#include "portview/state.h"

#define T IPPROTO_TCP
#define U IPPROTO_UDP
#define E PV_TCP_ESTABLISHED
#define L PV_TCP_LISTEN

START_TEST(order_proto_family_local_foreign)
{
	struct pv_socklist l;
	pv_socklist_init(&l);
	/* Added in scrambled order; the array below is the expected order. */
	struct pv_sock want[] = {
	    mksock(T, AF_INET, "10.0.0.1", 22, "0.0.0.0", 0, L),
	    mksock(T, AF_INET, "10.0.0.1", 22, "10.0.0.9", 50000, E),
	    mksock(T, AF_INET, "10.0.0.1", 443, "9.9.9.9", 1, E),
	    mksock(T, AF_INET, "10.0.0.2", 80, "10.0.0.1", 5, E),
	    mksock(T, AF_INET, "127.0.0.1", 5354, "127.0.0.1", 49681, E),
	    mksock(T, AF_INET, "127.0.0.1", 49681, "127.0.0.1", 5354, E),
	    mksock(T, AF_INET6, "::1", 80, "::1", 40000, E),
	    mksock(T, AF_INET6, "::ffff:10.0.0.1", 80, "::ffff:10.0.0.3", 1, E),
	    mksock(U, AF_INET, "0.0.0.0", 53, "0.0.0.0", 0, PV_TCP_CLOSE),
	    mksock(U, AF_INET, "127.0.0.1", 9, "127.0.0.1", 53, E),
	    mksock(U, AF_INET6, "::", 5353, "::", 0, PV_TCP_CLOSE),
	};
	size_t n = sizeof(want) / sizeof(want[0]);
	static const size_t scramble[] = {10, 3, 7, 0, 9, 5, 1, 8, 2, 6, 4};
	for (size_t i = 0; i < n; i++)
		ck_assert(pv_socklist_add(&l, &want[scramble[i]]));
	pv_socklist_sort(&l);
	ck_assert_uint_eq(l.n, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(l.v[i].cookie == want[i].cookie, "row %zu out of order", i);
	pv_socklist_free(&l);
}
END_TEST

START_TEST(ports_compare_as_numbers)
{
	struct pv_sock a = mksock(T, AF_INET, "1.1.1.1", 9, "2.2.2.2", 1, E);
	struct pv_sock b = mksock(T, AF_INET, "1.1.1.1", 10, "2.2.2.2", 1, E);
	struct pv_sock c = mksock(T, AF_INET, "1.1.1.1", 256, "2.2.2.2", 1, E);
	struct pv_socklist l;
	pv_socklist_init(&l);
	pv_socklist_add(&l, &c);
	pv_socklist_add(&l, &a);
	pv_socklist_add(&l, &b);
	pv_socklist_sort(&l);
	ck_assert(l.v[0].cookie == a.cookie && l.v[1].cookie == b.cookie &&
		  l.v[2].cookie == c.cookie);
	pv_socklist_free(&l);
}
END_TEST

START_TEST(dedupe_keeps_reuseport_twins)
{
	struct pv_socklist l;
	pv_socklist_init(&l);
	/* SO_REUSEPORT: equal tuples, distinct sockets (cookies) */
	struct pv_sock a = mksock(T, AF_INET, "0.0.0.0", 80, "0.0.0.0", 0, L);
	struct pv_sock b = mksock(T, AF_INET, "0.0.0.0", 80, "0.0.0.0", 0, L);
	/* a repeat that changed state between two datagrams of the dump */
	struct pv_sock c = mksock(T, AF_INET6, "::1", 443, "::1", 40000, E);
	struct pv_sock c2 = c;
	c2.state = PV_TCP_CLOSE_WAIT;
	struct pv_sock d = mksock(T, AF_INET6, "::1", 443, "::1", 40000, PV_TCP_TIME_WAIT);
	ck_assert(pv_socklist_add(&l, &a));
	ck_assert(pv_socklist_add(&l, &c));
	ck_assert(pv_socklist_add(&l, &b));
	ck_assert(pv_socklist_add(&l, &a));
	ck_assert(pv_socklist_add(&l, &d));
	ck_assert(pv_socklist_add(&l, &c2));
	/* many records, each twice */
	for (int i = 0; i < 5000; i++) {
		struct pv_sock s = mksock(U, AF_INET, "127.0.0.1", (uint16_t)i, "0.0.0.0", 0, 7);
		ck_assert(pv_socklist_add(&l, &s));
		ck_assert(pv_socklist_add(&l, &s));
	}
	pv_socklist_sort(&l);
	ck_assert_uint_eq(pv_socklist_dedupe(&l), 5002);
	ck_assert_uint_eq(l.n, 5004);
	/* a and b, then the IPv6 connection once and its TIME_WAIT namesake */
	ck_assert(l.v[0].cookie == a.cookie && l.v[1].cookie == b.cookie);
	ck_assert(l.v[2].cookie == c.cookie && l.v[3].cookie == d.cookie);
	for (size_t i = 4; i < l.n; i++)
		ck_assert_uint_eq(l.v[i].lport, i - 4);
	pv_socklist_free(&l);
}
END_TEST

/* The introsort against a plain insertion sort, on many equal keys too. */
START_TEST(sort_matches_reference_order)
{
	struct pv_socklist l;
	pv_socklist_init(&l);
	uint32_t x = 12345;
	enum { N = 3000 };
	struct pv_sock *ref = calloc(N, sizeof(*ref));
	ck_assert_ptr_nonnull(ref);
	for (int i = 0; i < N; i++) {
		x = x * 1103515245u + 12345u;
		char addr[32];
		snprintf(addr, sizeof(addr), "10.0.%u.%u", (x >> 8) % 3, (x >> 12) % 4);
		bool v6 = (x >> 20) % 5 == 0;
		/* foreign addresses that differ in the first, middle and last bytes */
		static const char *const foreign6[] = {
		    "::2", "::1", "2001:db8::2", "2001:db8::1:0", "fe80::2", "::ffff:10.1.0.1"};
		ref[i] =
		    v6 ? mksock(T, AF_INET6, (x >> 3) % 2 ? "::1" : "fe80::1", (uint16_t)(x % 7),
				foreign6[(x >> 5) % 6], (uint16_t)(80 + (x >> 9) % 3), E)
		       : mksock((x >> 24) % 2 ? T : U, AF_INET, addr, (uint16_t)((x >> 16) % 5),
				"10.1.0.1", (uint16_t)(x % 3), (uint8_t)(1 + (x >> 28) % 11));
		ref[i].expires = (uint32_t)i + 1;
		/* some bound to a device: IPv4 ones then keep their addresses aside */
		if ((x >> 6) % 4 == 0)
			ref[i].ifindex = 1 + (x >> 14) % 3;
		pv_socklist_add(&l, &ref[i]);
	}
	for (int i = 1; i < N; i++)
		for (int j = i; j > 0 && ref_cmp(&ref[j - 1], &ref[j]) > 0; j--) {
			struct pv_sock t = ref[j];
			ref[j] = ref[j - 1];
			ref[j - 1] = t;
		}
	pv_socklist_sort(&l);
	for (int i = 0; i < N; i++) {
		struct pv_sock got;
		pv_socklist_get(&l, (size_t)i, &got);
		ck_assert_msg(got.cookie == ref[i].cookie, "row %d out of order", i);
		ck_assert_msg(got.ifindex == ref[i].ifindex &&
				  got.local.port == ref[i].local.port &&
				  memcmp(got.local.addr, ref[i].local.addr, 16) == 0 &&
				  memcmp(got.remote.addr, ref[i].remote.addr, 16) == 0,
			      "row %d: another socket's addresses or interface", i);
		ck_assert_uint_eq(l.more[i].expires, ref[i].expires);
	}
	free(ref);
	pv_socklist_free(&l);
}
END_TEST

/*
 * IPv6 records that share the local address and port and differ in the
 * foreign address (in its first, middle or last bytes) or only in the
 * foreign port, added scrambled.
 */
static const struct {
	const char *local;
	uint16_t lport;
	const char *foreign;
	uint16_t rport;
} v6rows[] = {
    /* default order: local address, local port, foreign address, foreign port */
    {"2001:db8::1", 80, "fe80::ffff", 1}, /* the lower local port wins */
    {"2001:db8::1", 443, "::1", 9},
    {"2001:db8::1", 443, "::ffff:10.0.0.1", 1},
    {"2001:db8::1", 443, "2001:db8::2", 80},
    {"2001:db8::1", 443, "2001:db8::2", 81},
    {"2001:db8::1", 443, "2001:db8::1:0", 1}, /* above ::2: bytes 12-13 */
    {"2001:db8::1", 443, "fe80::1", 1},
    {"2001:db8::1", 443, "ff02::1", 1},
    {"2001:db8::2", 1, "::", 0}, /* the higher local address last */
};
#define NV6 (sizeof(v6rows) / sizeof(v6rows[0]))

static void fill_v6(struct pv_socklist *l, struct pv_sock *socks)
{
	static const size_t scramble[NV6] = {5, 8, 0, 3, 7, 1, 4, 6, 2};
	for (size_t i = 0; i < NV6; i++)
		socks[i] = mksock(T, AF_INET6, v6rows[i].local, v6rows[i].lport, v6rows[i].foreign,
				  v6rows[i].rport, v6rows[i].rport ? E : L);
	pv_socklist_init(l);
	for (size_t i = 0; i < NV6; i++)
		ck_assert(pv_socklist_add(l, &socks[scramble[i]]));
}

/* Row i of l against socks[order[i]], by cookie, saying which is where. */
static void check_order(const struct pv_socklist *l, const struct pv_sock *socks,
			const size_t *order)
{
	ck_assert_uint_eq(l->n, NV6);
	for (size_t i = 0; i < NV6; i++) {
		struct pv_sock got;
		pv_socklist_get(l, i, &got);
		if (got.cookie == socks[order[i]].cookie)
			continue;
		char ga[INET6_ADDRSTRLEN], gf[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, got.local.addr, ga, sizeof(ga));
		inet_ntop(AF_INET6, got.remote.addr, gf, sizeof(gf));
		ck_abort_msg("row %zu is [%s]:%u -> [%s]:%u, want [%s]:%u -> [%s]:%u", i, ga,
			     got.local.port, gf, got.remote.port, v6rows[order[i]].local,
			     v6rows[order[i]].lport, v6rows[order[i]].foreign,
			     v6rows[order[i]].rport);
	}
}

static void sort_by(struct pv_socklist *l, enum pv_sort_key key, bool reverse)
{
	struct pv_order order = {.keys = {key}, .reverse = {reverse}, .n = 1};
	pv_socklist_sort_by(l, &order, NULL, NULL);
}

START_TEST(ipv6_foreign_addresses_order)
{
	struct pv_socklist l;
	struct pv_sock socks[NV6];
	fill_v6(&l, socks);
	pv_socklist_sort(&l);
	static const size_t by_default[NV6] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
	check_order(&l, socks, by_default);

	/* --sort foreign: the foreign address and port alone, then the default */
	static const size_t by_foreign[NV6] = {8, 1, 2, 3, 4, 5, 6, 0, 7};
	sort_by(&l, PV_SORT_FOREIGN, false);
	check_order(&l, socks, by_foreign);
	static const size_t by_foreign_reversed[NV6] = {7, 0, 6, 5, 4, 3, 2, 1, 8};
	sort_by(&l, PV_SORT_FOREIGN, true);
	check_order(&l, socks, by_foreign_reversed);
	/* --sort local: the local address and port, then the default */
	sort_by(&l, PV_SORT_LOCAL, false);
	check_order(&l, socks, by_default);
	pv_socklist_free(&l);
}
END_TEST

/*
 * Two sorted lists, each with IPv6 records, merged as the dump threads'
 * lists are: every record keeps its own addresses (the second list's
 * IPv6 addresses move into the first one's side table), in display order.
 */
START_TEST(merge_keeps_both_sides_addresses)
{
	struct pv_sock socks[NV6];
	struct pv_socklist all, into, from;
	fill_v6(&all, socks);
	pv_socklist_sort(&all);
	pv_socklist_init(&into);
	pv_socklist_init(&from);
	/* rows 0, 2, 4, ... into one list, the others into the second */
	for (size_t i = 0; i < NV6; i++)
		ck_assert(pv_socklist_add(i % 2 ? &from : &into, &socks[i]));
	struct pv_sock v4 = mksock(T, AF_INET, "10.0.0.1", 22, "10.0.0.9", 50000, E);
	ck_assert(pv_socklist_add(&from, &v4));
	pv_socklist_sort(&into);
	pv_socklist_sort(&from);
	ck_assert_uint_gt(into.n6, 0);
	ck_assert_uint_gt(from.n6, 0);
	pv_socklist_merge(&into, &from);
	ck_assert_uint_eq(into.n, NV6 + 1);
	struct pv_sock got;
	pv_socklist_get(&into, 0, &got);
	ck_assert(got.cookie == v4.cookie && got.local.port == 22);
	for (size_t i = 0; i < NV6; i++) {
		struct pv_sock want;
		pv_socklist_get(&into, i + 1, &got);
		pv_socklist_get(&all, i, &want);
		ck_assert_msg(
		    got.cookie == want.cookie && !memcmp(got.local.addr, want.local.addr, 16) &&
			!memcmp(got.remote.addr, want.remote.addr, 16) &&
			got.local.port == want.local.port && got.remote.port == want.remote.port,
		    "merged row %zu is not sorted row %zu of the whole", i + 1, i);
	}
	pv_socklist_free(&into);
	pv_socklist_free(&all);
}
END_TEST

/*
 * A large list sorted on two threads (one partition, then its two sides
 * side by side) is the list one thread sorts, record for record, with
 * its addresses, interfaces and side fields: random records with many
 * equal tuples (the pivot's equals fall on both sides), IPv6 and
 * device-bound ones among them.
 */
/* n pseudo-random records, of both families and protocols, some on a device. */
static void add_random(struct pv_socklist *l, size_t n, uint32_t seed)
{
	uint32_t x = seed;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		char addr[32];
		snprintf(addr, sizeof(addr), "10.%u.%u.%u", (x >> 8) % 3, (x >> 12) % 16,
			 (x >> 4) % 4);
		bool v6 = (x >> 20) % 7 == 0;
		struct pv_sock s =
		    v6 ? mksock(T, AF_INET6, (x >> 3) % 2 ? "::1" : "2001:db8::1",
				(uint16_t)(x % 50), "fe80::2", (uint16_t)(80 + (x >> 9) % 3), E)
		       : mksock((x >> 24) % 2 ? T : U, AF_INET, addr, (uint16_t)((x >> 16) % 40),
				"10.1.0.1", (uint16_t)(x % 3), (uint8_t)(1 + (x >> 28) % 11));
		s.expires = (uint32_t)i + 1; /* which it was, where queues are kept */
		if ((x >> 6) % 9 == 0)
			s.ifindex = 1 + (x >> 14) % 3;
		pv_socklist_add(l, &s);
	}
}

START_TEST(two_threads_sort_as_one)
{
	enum { N = PV_SORT_PARALLEL_FROM * 2 + 7 };
	struct pv_socklist one, two;
	pv_socklist_init(&one);
	pv_socklist_init(&two);
	add_random(&one, N, 777);
	for (size_t i = 0; i < N; i++) {
		struct pv_sock s;
		pv_socklist_get(&one, i, &s);
		pv_socklist_add(&two, &s);
	}
	pv_socklist_sort(&one);
	pv_socklist_sort_on(&two, 2);
	for (size_t i = 0; i < N; i++) {
		struct pv_sock a, b;
		pv_socklist_get(&one, i, &a);
		pv_socklist_get(&two, i, &b);
		ck_assert_msg(a.cookie == b.cookie && a.ifindex == b.ifindex &&
				  a.local.port == b.local.port && a.state == b.state &&
				  memcmp(a.local.addr, b.local.addr, 16) == 0 &&
				  memcmp(a.remote.addr, b.remote.addr, 16) == 0 &&
				  one.more[i].expires == two.more[i].expires,
			      "row %zu: not the row one thread sorts there", i);
	}
	pv_socklist_free(&one);
	pv_socklist_free(&two);
}
END_TEST

static bool keep_tcp(const struct pv_sock *s, const void *arg)
{
	(void)arg;
	return s->proto == IPPROTO_TCP;
}

/* The same records, in the same order, as one sort of them gives. */
static void assert_sorted_as_one(const struct pv_socklist *l)
{
	struct pv_socklist ref;
	pv_socklist_init(&ref);
	ref.keep_more = false;
	for (size_t i = 0; i < l->n; i++) {
		struct pv_sock s;
		pv_socklist_get(l, i, &s);
		pv_socklist_add(&ref, &s);
	}
	pv_socklist_sort(&ref);
	for (size_t i = 0; i < l->n; i++) {
		struct pv_sock a, b;
		pv_socklist_get(&ref, i, &a);
		pv_socklist_get(l, i, &b);
		ck_assert_msg(a.cookie == b.cookie && a.ifindex == b.ifindex &&
				  memcmp(a.local.addr, b.local.addr, 16) == 0 &&
				  memcmp(a.remote.addr, b.remote.addr, 16) == 0,
			      "row %zu of %zu: not the row one sort puts there", i, l->n);
	}
	pv_socklist_free(&ref);
}

/* Sorted on two threads, then the same as one sort gives; the list freed. */
static void sort_on_two_as_one(struct pv_socklist *l)
{
	pv_socklist_sort_on(l, 2);
	assert_sorted_as_one(l);
	pv_socklist_free(l);
}

/*
 * A walk's records sorted between its datagrams (pv_sort_grow): 250 at a
 * time, a few steps after each, then the rest at its end; the sort after
 * the walk then leaves them as they are, or merges in the few added
 * later (a second walk's).  A parse with no time to sort leaves it all to
 * that sort.
 */
START_TEST(grown_list_sorts_as_one)
{
	static const struct {
		size_t n, steps, more;
	} cases[] = {{5 * 4096 + 123, 3, 0}, {5 * 4096 + 123, 1, 0}, {4096, 2, 0},
		     {20000, 3, 300},	     {12000, 0, 0},	     {3000, 0, 17},
		     {30000, 3, 9000}};
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		struct pv_socklist l;
		pv_socklist_init(&l);
		l.keep_more = false;
		struct pv_sort_grow g;
		pv_sort_grow_start(&g, &l);
		for (size_t done = 0; done < cases[c].n; done += 250) {
			add_random(&l, done + 250 < cases[c].n ? 250 : cases[c].n - done,
				   (uint32_t)(done * 31 + c));
			for (size_t k = 0; k < cases[c].steps; k++)
				pv_sort_grow_step(&g);
		}
		pv_sort_grow_finish(&g);
		pv_sort_grow_free(&g);
		/* sorted as it grew, unless the parse fell behind by more than two chunks */
		if (cases[c].steps)
			ck_assert_uint_eq(l.sorted, l.n);
		add_random(&l, cases[c].more, 99);
		pv_socklist_sort_on(&l, 2);
		ck_assert_uint_eq(l.sorted, l.n);
		assert_sorted_as_one(&l);
		pv_socklist_free(&l);
	}
}
END_TEST

/*
 * A walk interrupted and walked again (the list rolled back to before it):
 * what the first walk sorted says nothing of the second's records.  And a
 * filtered list keeps its order, an unsorted one stays unsorted.
 */
START_TEST(rollback_and_filter_keep_sorted_true)
{
	struct pv_socklist l;
	pv_socklist_init(&l);
	l.keep_more = false;
	struct pv_sort_grow g;
	pv_sort_grow_start(&g, &l);
	add_random(&l, 6000, 3);
	pv_sort_grow_finish(&g);
	pv_sort_grow_free(&g);
	ck_assert_uint_eq(l.sorted, 6000);
	struct pv_socklist_mark none = {0, 0, 0};
	pv_socklist_rollback(&l, none);
	add_random(&l, 5000, 4);
	pv_socklist_sort_on(&l, 2);
	assert_sorted_as_one(&l);

	/* sorted, then filtered: still sorted; then records added: sorted again */
	pv_socklist_filter(&l, keep_tcp, NULL);
	ck_assert_uint_eq(l.sorted, l.n);
	add_random(&l, 100, 5);
	sort_on_two_as_one(&l);

	/* never sorted, then filtered: still to be sorted */
	pv_socklist_init(&l);
	l.keep_more = false;
	add_random(&l, 3000, 6);
	pv_socklist_filter(&l, keep_tcp, NULL);
	ck_assert_uint_eq(l.sorted, 0);
	sort_on_two_as_one(&l);
}
END_TEST

/*
 * A walk narrowed to the states asked for (snapshot.c, a walk widened to
 * all of the established hash's): the records before `from` untouched,
 * the others kept in order if in states, and what was sorted still known.
 */
START_TEST(keep_states_narrows_in_order)
{
	const uint32_t want = 1u << E | 1u << 7; /* ESTABLISHED, CLOSE */
	for (int round = 0; round < 4; round++) {
		struct pv_socklist l, ref;
		pv_socklist_init(&l);
		pv_socklist_init(&ref);
		/* sorted: none, a part before from, a part past it, all */
		static const size_t sorted_at[] = {0, 700, 2600, 5000}, from = 1000;
		struct pv_socklist head;
		pv_socklist_init(&head);
		add_random(&head, 5000, 11 + (uint32_t)round);
		head.n = sorted_at[round];
		pv_socklist_sort(&head);
		head.n = 5000;
		for (size_t i = 0; i < head.n; i++) {
			struct pv_sock s;
			pv_socklist_get(&head, i, &s);
			pv_socklist_add(&l, &s);
		}
		pv_socklist_free(&head);
		l.sorted = sorted_at[round];
		size_t kept_sorted = sorted_at[round] <= from ? sorted_at[round] : from;
		for (size_t i = 0; i < l.n; i++) {
			struct pv_sock s;
			pv_socklist_get(&l, i, &s);
			if (i < from || (want >> s.state) & 1) {
				pv_socklist_add(&ref, &s);
				kept_sorted += i >= from && i < sorted_at[round];
			}
		}
		pv_socklist_keep_states(&l, from, want);
		ck_assert_uint_eq(l.n, ref.n);
		ck_assert_uint_lt(ref.n, 4500); /* some were dropped */
		ck_assert_uint_eq(l.sorted, kept_sorted);
		for (size_t i = 0; i < l.n; i++) {
			struct pv_sock a, b;
			pv_socklist_get(&l, i, &a);
			pv_socklist_get(&ref, i, &b);
			ck_assert_uint_eq(a.expires, b.expires); /* the same record */
			ck_assert_uint_eq(a.state, b.state);
			ck_assert_uint_eq(a.local.port, b.local.port);
		}
		sort_on_two_as_one(&l);
		pv_socklist_free(&ref);
	}
}
END_TEST

/* A list with queues (-e) is not sorted while it grows: its queues would stay behind. */
START_TEST(grow_leaves_lists_with_queues)
{
	struct pv_socklist l;
	pv_socklist_init(&l);
	struct pv_sort_grow g;
	pv_sort_grow_start(&g, &l);
	add_random(&l, 3 * 4096, 5);
	while (pv_sort_grow_step(&g))
		;
	pv_sort_grow_finish(&g);
	pv_sort_grow_free(&g);
	ck_assert_uint_eq(l.sorted, 0);
	sort_on_two_as_one(&l);
}
END_TEST

/*
 * A list with tcp_info (-i) sorted on one thread or two: each record's
 * tcp_info, and its absence, still with that record; the queues too.
 * Small and large lists, as each takes its own path.
 */
START_TEST(tcp_info_stays_with_its_record)
{
	static const size_t sizes[] = {40, PV_SORT_PARALLEL_FROM + 501};
	for (size_t z = 0; z < 2; z++) {
		for (unsigned threads = 1; threads <= 2; threads++) {
			struct pv_socklist l;
			pv_socklist_init(&l);
			l.keep_info = true;
			uint32_t x = 4242 + (uint32_t)z;
			for (size_t i = 0; i < sizes[z]; i++) {
				x = x * 1103515245u + 12345u;
				char addr[32];
				snprintf(addr, sizeof(addr), "10.0.%u.%u", (x >> 8) % 4,
					 (x >> 12) % 8);
				struct pv_sock s =
				    mksock(T, AF_INET, addr, (uint16_t)((x >> 16) % 30), "10.1.0.1",
					   (uint16_t)(x % 3), E);
				struct pv_tcp_info ti = {.have = PV_TI_BASE | PV_TI_SENT,
							 .rtt_us = (uint32_t)(s.cookie * 7),
							 .bytes_sent = s.cookie * 1000003u};
				s.expires = (uint32_t)s.cookie + 5;
				if ((x >> 5) % 4)
					s.info = &ti; /* a quarter without, as listeners are */
				pv_socklist_add(&l, &s);
			}
			pv_socklist_sort_on(&l, threads);
			for (size_t i = 0; i < l.n; i++) {
				struct pv_sock s;
				pv_socklist_get(&l, i, &s);
				if (i)
					ck_assert_msg(l.v[i - 1].lport <= l.v[i].lport ||
							  l.v[i - 1].laddr != l.v[i].laddr,
						      "row %zu: not sorted", i);
				ck_assert_msg(l.more[i].expires == s.cookie + 5,
					      "row %zu: another record's queues", i);
				if (!s.info)
					continue;
				ck_assert_msg(
				    s.info->rtt_us == s.cookie * 7 &&
					s.info->bytes_sent == s.cookie * 1000003u,
				    "%zu rows, %u threads, row %zu (cookie %llu): another "
				    "record's tcp_info (rtt %u)",
				    sizes[z], threads, i, (unsigned long long)s.cookie,
				    s.info->rtt_us);
			}
			size_t with = 0;
			for (size_t i = 0; i < l.n; i++)
				with += pv_socklist_info(&l, i)->have != 0;
			ck_assert_msg(with > l.n / 2 && with < l.n, "%zu of %zu rows with tcp_info",
				      with, l.n);
			pv_socklist_free(&l);
		}
	}
}
END_TEST

/* Each record's tcp_info by its cookie (info_list's): still its own? */
static void assert_own_info(const struct pv_socklist *l, const char *what)
{
	for (size_t i = 0; i < l->n; i++) {
		struct pv_sock s;
		pv_socklist_get(l, i, &s);
		ck_assert_msg(s.info && s.info->rtt_us == s.cookie * 7 &&
				  s.info->bytes_sent == s.cookie * 1000003u,
			      "%s: row %zu (cookie %llu): another record's tcp_info", what, i,
			      (unsigned long long)s.cookie);
	}
}

/* n records from cookie first on, in states ESTABLISHED and TIME_WAIT, each with its tcp_info. */
static void info_list(struct pv_socklist *l, size_t n, uint64_t first)
{
	pv_socklist_init(l);
	l->keep_more = false;
	l->keep_info = true;
	for (size_t i = 0; i < n; i++) {
		uint64_t cookie = first + i;
		char addr[32];
		snprintf(addr, sizeof(addr), "10.0.%u.%u", (unsigned)(cookie * 7 % 5),
			 (unsigned)(cookie % 11));
		struct pv_sock s =
		    mksock(T, AF_INET, addr, (uint16_t)(cookie * 13 % 40), "10.1.0.1",
			   (uint16_t)(cookie % 3), cookie % 3 ? E : 6 /* TIME_WAIT */);
		s.cookie = cookie;
		struct pv_tcp_info ti = {.have = PV_TI_BASE | PV_TI_SENT,
					 .rtt_us = (uint32_t)(cookie * 7),
					 .bytes_sent = cookie * 1000003u};
		s.info = &ti;
		pv_socklist_add(l, &s);
	}
}

/*
 * The records' moves other than the sort's keep each tcp_info with its
 * record: states narrowed, two threads' lists merged, repeats dropped, a
 * walk rolled back and taken again (whose dropped tcp_info is not kept).
 */
START_TEST(tcp_info_moves_with_its_record)
{
	struct pv_socklist a, b;
	info_list(&a, 3000, 1);
	pv_socklist_sort(&a);
	pv_socklist_keep_states(&a, 100, 1u << E);
	ck_assert_uint_lt(a.n, 2500);
	assert_own_info(&a, "narrowed");

	info_list(&b, 700, 5001);
	pv_socklist_sort(&b);
	pv_socklist_merge(&a, &b);
	assert_own_info(&a, "merged");

	/* the same records again, sorted in: repeats of their cookies */
	info_list(&b, 50, 1);
	for (size_t i = 0; i < b.n; i++) {
		struct pv_sock s;
		pv_socklist_get(&b, i, &s);
		pv_socklist_add(&a, &s);
	}
	pv_socklist_free(&b);
	pv_socklist_sort(&a);
	size_t n = a.n;
	ck_assert_uint_gt(pv_socklist_dedupe(&a), 0);
	ck_assert_uint_lt(a.n, n);
	assert_own_info(&a, "repeats dropped");

	struct pv_socklist_mark m = pv_socklist_mark(&a);
	size_t ninfo = a.ninfo;
	info_list(&b, 300, 9001);
	for (int walk = 0; walk < 3; walk++) {
		pv_socklist_rollback(&a, m);
		for (size_t i = 0; i < b.n; i++) {
			struct pv_sock s;
			pv_socklist_get(&b, i, &s);
			pv_socklist_add(&a, &s);
		}
	}
	ck_assert_uint_eq(a.ninfo, ninfo + b.n);
	pv_socklist_free(&b);
	pv_socklist_sort(&a);
	assert_own_info(&a, "rolled back");
	pv_socklist_free(&a);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sort");
	TCase *tc = tcase_create("sort");
	tcase_add_test(tc, order_proto_family_local_foreign);
	tcase_add_test(tc, ports_compare_as_numbers);
	tcase_add_test(tc, dedupe_keeps_reuseport_twins);
	tcase_add_test(tc, sort_matches_reference_order);
	tcase_add_test(tc, ipv6_foreign_addresses_order);
	tcase_add_test(tc, merge_keeps_both_sides_addresses);
	tcase_add_test(tc, two_threads_sort_as_one);
	tcase_add_test(tc, tcp_info_stays_with_its_record);
	tcase_add_test(tc, grown_list_sorts_as_one);
	tcase_add_test(tc, grow_leaves_lists_with_queues);
	tcase_add_test(tc, rollback_and_filter_keep_sorted_true);
	tcase_add_test(tc, keep_states_narrows_in_order);
	tcase_add_test(tc, tcp_info_moves_with_its_record);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
