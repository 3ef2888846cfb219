/*
 * Two snapshots compared (watch.c): what is new, changed and gone, matched
 * by cookie, the rows of a display that shows a gone socket where it was,
 * and the rates from tcp_info counters.
 */
#include "records.h"
#include "portview/sort.h"
#include "portview/state.h"
#include "portview/watch.h"

/* A connection on port lport with this cookie and state, into l. */
static void add(struct pv_socklist *l, uint16_t lport, uint64_t cookie, uint8_t state)
{
	struct pv_sock s =
	    mksock(IPPROTO_TCP, AF_INET, "127.0.0.1", lport, "127.0.0.1", 5000, state);
	s.cookie = cookie;
	pv_socklist_add(l, &s);
}

/* One expected row: the record's local port (to name it), change, old state. */
struct want {
	uint16_t lport;
	uint8_t change;
	uint8_t old_state;
};

static void check_rows(const struct pv_socklist *prev, const struct pv_socklist *cur,
		       const struct want *want, size_t nwant, struct pv_watch_counts *counts)
{
	size_t n, n2;
	struct pv_watch_row *rows = pv_watch_compare(prev, cur, &n, counts);
	/* the same from a matching made beforehand (as a refresh shares it with the rates) */
	uint32_t *match = pv_watch_match(prev, cur);
	struct pv_watch_counts c2;
	struct pv_watch_row *rows2 = pv_watch_compare_matched(prev, cur, match, &n2, &c2);
	ck_assert_uint_eq(n2, n);
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(rows2[i].index, rows[i].index);
		ck_assert_uint_eq(rows2[i].change, rows[i].change);
		ck_assert_uint_eq(rows2[i].old_state, rows[i].old_state);
	}
	ck_assert_uint_eq(c2.total, counts->total);
	ck_assert_uint_eq(c2.opened, counts->opened);
	ck_assert_uint_eq(c2.changed, counts->changed);
	ck_assert_uint_eq(c2.closed, counts->closed);
	free(rows2);
	free(match);
	ck_assert_uint_eq(n, nwant);
	for (size_t i = 0; i < n; i++) {
		const struct pv_socklist *l = rows[i].change == PV_CHANGE_CLOSED ? prev : cur;
		ck_assert_uint_lt(rows[i].index, l->n);
		ck_assert_msg(l->v[rows[i].index].lport == want[i].lport,
			      "row %zu is port %u, want %u", i, l->v[rows[i].index].lport,
			      want[i].lport);
		ck_assert_uint_eq(rows[i].change, want[i].change);
		if (want[i].change == PV_CHANGE_STATE)
			ck_assert_uint_eq(rows[i].old_state, want[i].old_state);
	}
	free(rows);
}

START_TEST(new_changed_and_closed_in_place)
{
	struct pv_socklist prev, cur;
	pv_socklist_init(&prev);
	pv_socklist_init(&cur);
	add(&prev, 1001, 11, PV_TCP_ESTABLISHED); /* stays */
	add(&prev, 1002, 12, PV_TCP_ESTABLISHED); /* goes: after 1001 */
	add(&prev, 1003, 13, PV_TCP_LISTEN);	  /* stays */
	add(&prev, 1004, 14, PV_TCP_ESTABLISHED); /* changes */
	add(&prev, 1005, 15, PV_TCP_ESTABLISHED); /* goes: after 1004 */
	add(&prev, 1006, 16, PV_TCP_ESTABLISHED); /* goes: after 1004 too, in prev's order */

	add(&cur, 1000, 10, PV_TCP_SYN_SENT); /* new */
	add(&cur, 1001, 11, PV_TCP_ESTABLISHED);
	add(&cur, 1003, 13, PV_TCP_LISTEN);
	add(&cur, 1004, 14, PV_TCP_CLOSE_WAIT);
	/* the same addresses as a gone one, another cookie: a new socket, not the old one */
	add(&cur, 1002, 99, PV_TCP_ESTABLISHED);

	static const struct want want[] = {
	    {1000, PV_CHANGE_NEW, 0},
	    {1001, PV_CHANGE_NONE, 0},
	    {1002, PV_CHANGE_CLOSED, 0},
	    {1003, PV_CHANGE_NONE, 0},
	    {1004, PV_CHANGE_STATE, PV_TCP_ESTABLISHED},
	    {1005, PV_CHANGE_CLOSED, 0},
	    {1006, PV_CHANGE_CLOSED, 0},
	    {1002, PV_CHANGE_NEW, 0},
	};
	struct pv_watch_counts c;
	check_rows(&prev, &cur, want, sizeof(want) / sizeof(want[0]), &c);
	ck_assert_uint_eq(c.total, 5);
	ck_assert_uint_eq(c.opened, 2);
	ck_assert_uint_eq(c.changed, 1);
	ck_assert_uint_eq(c.closed, 3);
	/* per record of cur: 1 + its index in prev, 0 when new */
	uint32_t *match = pv_watch_match(&prev, &cur);
	static const uint32_t in_prev[] = {0, 1, 3, 4, 0};
	ck_assert_mem_eq(match, in_prev, sizeof(in_prev));
	free(match);
	ck_assert_ptr_null(pv_watch_match(NULL, &cur));
	pv_socklist_free(&prev);
	pv_socklist_free(&cur);
}
END_TEST

/*
 * A gone record with no surviving record before it comes first; and where
 * the order changed (a --sort by rate), it follows its predecessor wherever
 * that is now.
 */
START_TEST(closed_rows_follow_their_predecessor)
{
	struct pv_socklist prev, cur;
	pv_socklist_init(&prev);
	pv_socklist_init(&cur);
	add(&prev, 2001, 21, PV_TCP_ESTABLISHED); /* goes: first, nothing before it */
	add(&prev, 2002, 22, PV_TCP_ESTABLISHED);
	add(&prev, 2003, 23, PV_TCP_ESTABLISHED); /* goes: after 2002 */
	add(&prev, 2004, 24, PV_TCP_ESTABLISHED);
	add(&cur, 2004, 24, PV_TCP_ESTABLISHED);
	add(&cur, 2002, 22, PV_TCP_ESTABLISHED);
	static const struct want want[] = {
	    {2001, PV_CHANGE_CLOSED, 0},
	    {2004, PV_CHANGE_NONE, 0},
	    {2002, PV_CHANGE_NONE, 0},
	    {2003, PV_CHANGE_CLOSED, 0},
	};
	struct pv_watch_counts c;
	check_rows(&prev, &cur, want, 4, &c);
	ck_assert_uint_eq(c.closed, 2);
	ck_assert_uint_eq(c.opened + c.changed, 0);
	pv_socklist_free(&prev);
	pv_socklist_free(&cur);
}
END_TEST

/* Nothing before: nothing marked.  Every record gone: every one closed. */
START_TEST(first_and_empty)
{
	struct pv_socklist prev, cur;
	pv_socklist_init(&prev);
	pv_socklist_init(&cur);
	add(&cur, 3001, 31, PV_TCP_ESTABLISHED);
	add(&cur, 3002, 32, PV_TCP_LISTEN);
	static const struct want first[] = {{3001, PV_CHANGE_NONE, 0}, {3002, PV_CHANGE_NONE, 0}};
	struct pv_watch_counts c;
	check_rows(NULL, &cur, first, 2, &c);
	ck_assert_uint_eq(c.total, 2);
	ck_assert_uint_eq(c.opened + c.changed + c.closed, 0);

	static const struct want gone[] = {{3001, PV_CHANGE_CLOSED, 0},
					   {3002, PV_CHANGE_CLOSED, 0}};
	check_rows(&cur, &prev, gone, 2, &c);
	ck_assert_uint_eq(c.total, 0);
	ck_assert_uint_eq(c.closed, 2);
	pv_socklist_free(&prev);
	pv_socklist_free(&cur);
}
END_TEST

/* Records without a cookie cannot be matched: never new, never closed. */
START_TEST(no_cookie_no_change)
{
	struct pv_socklist prev, cur;
	pv_socklist_init(&prev);
	pv_socklist_init(&cur);
	add(&prev, 4001, 0, PV_TCP_ESTABLISHED);
	add(&cur, 4002, 0, PV_TCP_ESTABLISHED);
	static const struct want want[] = {{4002, PV_CHANGE_NONE, 0}};
	struct pv_watch_counts c;
	check_rows(&prev, &cur, want, 1, &c);
	ck_assert_uint_eq(c.opened + c.changed + c.closed, 0);
	pv_socklist_free(&prev);
	pv_socklist_free(&cur);
}
END_TEST

static void add_info(struct pv_socklist *l, uint16_t lport, uint64_t cookie, uint8_t have,
		     uint64_t acked, uint64_t received)
{
	struct pv_sock s =
	    mksock(IPPROTO_TCP, AF_INET, "127.0.0.1", lport, "127.0.0.1", 5000, PV_TCP_ESTABLISHED);
	struct pv_tcp_info t = {
	    .have = have, .bytes_acked = acked, .bytes_received = received, .bytes_sent = 1};
	s.cookie = cookie;
	s.info = have ? &t : NULL;
	pv_socklist_add(l, &s);
}

START_TEST(rates_from_counters)
{
	struct pv_socklist prev, cur;
	pv_socklist_init(&prev);
	pv_socklist_init(&cur);
	prev.keep_info = cur.keep_info = true;
	const uint8_t all = PV_TI_BASE | PV_TI_BYTES | PV_TI_SEGS;
	add_info(&prev, 1, 51, all, 1000, 500);
	add_info(&prev, 2, 52, PV_TI_BASE, 0, 0); /* a kernel without the byte counters */
	add_info(&prev, 3, 53, all, 9000, 9000);
	add_info(&prev, 4, 54, 0, 0, 0); /* no tcp_info (TIME_WAIT) */
	add_info(&prev, 6, 56, all, 100, 100);

	add_info(&cur, 5, 55, all, 777, 777);	 /* new: nothing to compare with */
	add_info(&cur, 1, 51, all, 3001, 4500);	 /* 2001 and 4000 bytes in 2 s */
	add_info(&cur, 2, 52, all, 5000, 5000);	 /* no counters before */
	add_info(&cur, 3, 53, all, 8000, 9000);	 /* a counter that went back: 0 */
	add_info(&cur, 4, 54, all, 100, 100);	 /* none before */
	add_info(&cur, 6, 56, PV_TI_BASE, 0, 0); /* none now */

	struct pv_rate r[6], r2[6];
	pv_watch_rates(&prev, &cur, 2.0, r);
	uint32_t *match = pv_watch_match(&prev, &cur);
	pv_watch_rates_matched(&prev, &cur, match, 2.0, r2);
	for (size_t i = 0; i < 6; i++) {
		ck_assert_int_eq(r2[i].known, r[i].known);
		ck_assert_uint_eq(r2[i].sent, r[i].sent);
		ck_assert_uint_eq(r2[i].received, r[i].received);
	}
	free(match);
	ck_assert(!r[0].known);
	ck_assert(r[1].known);
	ck_assert_uint_eq(r[1].sent, 1001); /* 1000.5, rounded */
	ck_assert_uint_eq(r[1].received, 2000);
	ck_assert(!r[2].known);
	ck_assert(r[3].known);
	ck_assert_uint_eq(r[3].sent, 0);
	ck_assert_uint_eq(r[3].received, 0);
	ck_assert(!r[4].known);
	ck_assert(!r[5].known);

	/* no snapshot before, or none kept tcp_info: nothing known */
	pv_watch_rates(NULL, &cur, 2.0, r);
	for (size_t i = 0; i < 6; i++)
		ck_assert(!r[i].known);
	pv_socklist_free(&prev);
	pv_socklist_init(&prev);
	add(&prev, 1, 51, PV_TCP_ESTABLISHED);
	pv_watch_rates(&prev, &cur, 2.0, r);
	for (size_t i = 0; i < 6; i++)
		ck_assert(!r[i].known);
	pv_socklist_free(&prev);
	pv_socklist_free(&cur);
}
END_TEST

/* A list's tcp_info moves with its records when sorted and filtered. */
START_TEST(info_moves_with_records)
{
	struct pv_socklist l;
	pv_socklist_init(&l);
	l.keep_info = true;
	add_info(&l, 9, 1, PV_TI_BASE | PV_TI_BYTES, 900, 9);
	add_info(&l, 7, 2, 0, 0, 0);
	add_info(&l, 8, 3, PV_TI_BASE | PV_TI_BYTES, 800, 8);
	struct pv_sock s;
	pv_socklist_get(&l, 1, &s);
	ck_assert_ptr_null(s.info);
	pv_socklist_sort(&l);
	for (size_t i = 0; i < l.n; i++) {
		pv_socklist_get(&l, i, &s);
		ck_assert_uint_eq(s.local.port, 7 + i);
		if (s.local.port == 7)
			ck_assert_ptr_null(s.info);
		else
			ck_assert_uint_eq(s.info->bytes_acked, s.local.port * 100u);
	}
	pv_socklist_free(&l);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("watch");
	TCase *tc = tcase_create("watch");
	tcase_add_test(tc, new_changed_and_closed_in_place);
	tcase_add_test(tc, closed_rows_follow_their_predecessor);
	tcase_add_test(tc, first_and_empty);
	tcase_add_test(tc, no_cookie_no_change);
	tcase_add_test(tc, rates_from_counters);
	tcase_add_test(tc, info_moves_with_records);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
