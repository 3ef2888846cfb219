/* State names: what users may type and what the table shows. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "portview/state.h"

static uint32_t parse_ok(const char *list)
{
	uint32_t mask = 0;
	struct pv_why why;
	ck_assert_msg(pv_state_parse_list(list, &mask, &why), "'%s' rejected", list);
	return mask;
}

START_TEST(spellings_of_each_state)
{
	ck_assert_uint_eq(parse_ok("ESTABLISHED"), PV_SF(PV_TCP_ESTABLISHED));
	ck_assert_uint_eq(parse_ok("estab"), PV_SF(PV_TCP_ESTABLISHED));
	ck_assert_uint_eq(parse_ok("Syn-Sent"), PV_SF(PV_TCP_SYN_SENT));
	ck_assert_uint_eq(parse_ok("SYN_RECV"), PV_SF(PV_TCP_SYN_RECV));
	ck_assert_uint_eq(parse_ok("syn_received"), PV_SF(PV_TCP_SYN_RECV));
	ck_assert_uint_eq(parse_ok("FIN_WAIT1"), PV_SF(PV_TCP_FIN_WAIT1));
	ck_assert_uint_eq(parse_ok("fin-wait-1"), PV_SF(PV_TCP_FIN_WAIT1));
	ck_assert_uint_eq(parse_ok("FIN_WAIT_2"), PV_SF(PV_TCP_FIN_WAIT2));
	ck_assert_uint_eq(parse_ok("fin-wait2"), PV_SF(PV_TCP_FIN_WAIT2));
	ck_assert_uint_eq(parse_ok("TIME_WAIT"), PV_SF(PV_TCP_TIME_WAIT));
	ck_assert_uint_eq(parse_ok("time-wait"), PV_SF(PV_TCP_TIME_WAIT));
	ck_assert_uint_eq(parse_ok("CLOSE"), PV_SF(PV_TCP_CLOSE));
	ck_assert_uint_eq(parse_ok("closed"), PV_SF(PV_TCP_CLOSE));
	ck_assert_uint_eq(parse_ok("UNCONN"), PV_SF(PV_TCP_CLOSE));
	ck_assert_uint_eq(parse_ok("CLOSE_WAIT"), PV_SF(PV_TCP_CLOSE_WAIT));
	ck_assert_uint_eq(parse_ok("last-ack"), PV_SF(PV_TCP_LAST_ACK));
	ck_assert_uint_eq(parse_ok("LISTEN"), PV_SF(PV_TCP_LISTEN));
	ck_assert_uint_eq(parse_ok("Listening"), PV_SF(PV_TCP_LISTEN));
	ck_assert_uint_eq(parse_ok("closing"), PV_SF(PV_TCP_CLOSING));
	ck_assert_uint_eq(parse_ok("bound"), PV_SF(PV_TCP_BOUND_INACTIVE));
	ck_assert_uint_eq(parse_ok("Bound-Inactive"), PV_SF(PV_TCP_BOUND_INACTIVE));
	ck_assert_uint_eq(parse_ok("bound_inactive"), PV_SF(PV_TCP_BOUND_INACTIVE));
}
END_TEST

START_TEST(groups_follow_ss)
{
	/* every state but NEW_SYN_RECV, which SYN_RECV asks for: bits 1-11 and 13 */
	uint32_t all = 0x2ffe;
	uint32_t listen_close =
	    PV_SF(PV_TCP_LISTEN) | PV_SF(PV_TCP_CLOSE) | PV_SF(PV_TCP_BOUND_INACTIVE);
	uint32_t bucket = PV_SF(PV_TCP_SYN_RECV) | PV_SF(PV_TCP_TIME_WAIT);
	ck_assert_uint_eq(parse_ok("all"), all);
	ck_assert_uint_eq(parse_ok("connected"), all & ~listen_close);
	ck_assert_uint_eq(parse_ok("synchronized"), all & ~listen_close & ~PV_SF(PV_TCP_SYN_SENT));
	ck_assert_uint_eq(parse_ok("bucket"), bucket);
	ck_assert_uint_eq(parse_ok("BIG"), all & ~bucket);
}
END_TEST

START_TEST(lists_and_repeats_accumulate)
{
	ck_assert_uint_eq(parse_ok("estab,listen"),
			  PV_SF(PV_TCP_ESTABLISHED) | PV_SF(PV_TCP_LISTEN));
	uint32_t mask = 0;
	struct pv_why why;
	ck_assert(pv_state_parse_list("estab", &mask, &why));
	ck_assert(pv_state_parse_list("time-wait", &mask, &why));
	ck_assert_uint_eq(mask, PV_SF(PV_TCP_ESTABLISHED) | PV_SF(PV_TCP_TIME_WAIT));
}
END_TEST

START_TEST(bad_items_are_named)
{
	uint32_t mask = 0;
	struct pv_why why = {.len = 99};
	const char *list = "estab,FOO,listen";
	ck_assert(!pv_state_parse_list(list, &mask, &why));
	ck_assert_ptr_eq(why.item, list + 6);
	ck_assert_uint_eq(why.len, 3);
	ck_assert_str_eq(why.why, "unknown state");
	ck_assert_ptr_null(why.hint);
	ck_assert_str_eq(why.valid, pv_state_names_text());
	ck_assert_ptr_null(why.suggest); /* nothing is near FOO */

	/* near misses: what they most likely meant, in the spelling to type */
	ck_assert(!pv_state_parse_list("ESTABLISHD", &mask, &why));
	ck_assert_str_eq(why.suggest, "established");
	ck_assert(!pv_state_parse_list("estab,time_wiat", &mask, &why));
	ck_assert_str_eq(why.suggest, "time-wait");
	ck_assert(!pv_state_parse_list("lisen", &mask, &why));
	ck_assert_str_eq(why.suggest, "listen");

	ck_assert(!pv_state_parse_list("", &mask, &why));
	ck_assert_uint_eq(why.len, 0);
	ck_assert_str_eq(why.why, "empty state name");
	ck_assert(!pv_state_parse_list("estab,", &mask, &why));
	ck_assert_uint_eq(why.len, 0);
	ck_assert_str_eq(why.why, "empty state name");
	ck_assert(!pv_state_parse_list("established2", &mask, &why));
	ck_assert(!pv_state_parse_list("estab listen", &mask, &why));
	/* A prefix of a name is not the name. */
	ck_assert(!pv_state_parse_list("est", &mask, &why));
	ck_assert_str_eq(why.why, "unknown state");
}
END_TEST

/* Every name the list of states offers is one --state takes. */
START_TEST(listed_names_parse)
{
	char text[512];
	snprintf(text, sizeof(text), "%s", pv_state_names_text());
	size_t n = 0;
	for (char *save, *w = strtok_r(text, " ,;:", &save); w; w = strtok_r(NULL, " ,;:", &save)) {
		if (strcmp(w, "groups") == 0)
			continue;
		uint32_t mask = 0;
		struct pv_why why;
		ck_assert_msg(pv_state_parse_list(w, &mask, &why), "%s does not parse", w);
		n++;
	}
	ck_assert_uint_eq(n, 17); /* 12 states, 5 groups */
}
END_TEST

START_TEST(windows_display_names)
{
	ck_assert_str_eq(pv_state_display(IPPROTO_TCP, PV_TCP_LISTEN), "LISTENING");
	ck_assert_str_eq(pv_state_display(IPPROTO_TCP, PV_TCP_SYN_RECV), "SYN_RECEIVED");
	ck_assert_str_eq(pv_state_display(IPPROTO_TCP, PV_TCP_NEW_SYN_RECV), "SYN_RECEIVED");
	ck_assert_str_eq(pv_state_display(IPPROTO_TCP, PV_TCP_FIN_WAIT1), "FIN_WAIT_1");
	ck_assert_str_eq(pv_state_display(IPPROTO_TCP, PV_TCP_FIN_WAIT2), "FIN_WAIT_2");
	ck_assert_str_eq(pv_state_display(IPPROTO_TCP, PV_TCP_CLOSE), "CLOSED");
	ck_assert_str_eq(pv_state_display(IPPROTO_TCP, PV_TCP_TIME_WAIT), "TIME_WAIT");
	ck_assert_str_eq(pv_state_display(IPPROTO_UDP, PV_TCP_CLOSE), "");
	ck_assert_str_eq(pv_state_display(IPPROTO_TCP, PV_TCP_BOUND_INACTIVE), "BOUND");
	ck_assert_str_eq(pv_state_display(IPPROTO_UDP, PV_TCP_ESTABLISHED), "ESTABLISHED");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("names");
	tcase_add_test(tc, spellings_of_each_state);
	tcase_add_test(tc, groups_follow_ss);
	tcase_add_test(tc, lists_and_repeats_accumulate);
	tcase_add_test(tc, bad_items_are_named);
	tcase_add_test(tc, listed_names_parse);
	tcase_add_test(tc, windows_display_names);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
