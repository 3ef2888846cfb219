/* What a listing selects: port specs and classes as users type them, the
 * states asked of the kernel, and the check in user space. */
#include <net/if.h>

#include "records.h"
#include "portview/query.h"
#include "portview/state.h"

static struct pv_services svc;

static void setup(void)
{
	pv_services_load(&svc, NULL);
}

static void teardown(void)
{
	pv_services_free(&svc);
}

/* Parse spec into a fresh clause; the reason, or NULL when it parsed. */
static const char *spec(const char *s, struct pv_port_clause *c, struct pv_why *why)
{
	memset(c, 0, sizeof(*c));
	memset(why, 0, sizeof(*why));
	return pv_parse_port_spec(s, &svc, c, why) ? NULL : why->why;
}

START_TEST(numbers_ranges_names_lists)
{
	struct pv_port_clause c;
	struct pv_why w;
	ck_assert_ptr_null(spec("8080", &c, &w));
	ck_assert_uint_eq(c.nranges, 1);
	ck_assert_uint_eq(c.ranges[0].lo, 8080);
	ck_assert_uint_eq(c.ranges[0].hi, 8080);
	ck_assert_ptr_null(spec("0-1023", &c, &w));
	ck_assert_uint_eq(c.ranges[0].lo, 0);
	ck_assert_uint_eq(c.ranges[0].hi, 1023);
	ck_assert_ptr_null(spec("65535", &c, &w));
	ck_assert_ptr_null(spec("https", &c, &w));
	ck_assert_uint_eq(c.nranges, 1);
	ck_assert_uint_eq(c.ranges[0].lo, 443);
	ck_assert_ptr_null(spec("22,https,8000-8100", &c, &w));
	ck_assert_uint_eq(c.nranges, 3);
	ck_assert_uint_eq(c.ranges[2].lo, 8000);
	ck_assert_uint_eq(c.ranges[2].hi, 8100);
}
END_TEST

START_TEST(bad_specs_say_why_and_name_the_item)
{
	static const char range[] = "port out of range (0-65535)";
	static const char junk[] = "not a port, range N-M or service name";
	struct pv_port_clause c;
	struct pv_why w;
	ck_assert_str_eq(spec("70000", &c, &w), range);
	ck_assert_str_eq(spec("99999999999999999999", &c, &w), range);
	ck_assert_str_eq(spec("", &c, &w), "empty port");
	ck_assert_uint_eq(w.len, 0);
	ck_assert_str_eq(spec("-1", &c, &w), junk);
	ck_assert_str_eq(spec("+80", &c, &w), junk);
	ck_assert_str_eq(spec("80x", &c, &w), junk);
	ck_assert_str_eq(spec("80-", &c, &w), junk);
	ck_assert_str_eq(spec("80-90-100", &c, &w), junk);
	ck_assert_str_eq(spec("90-80", &c, &w), "range start is above its end");
	ck_assert_str_eq(spec("no-such-service", &c, &w), "unknown service name");
	const char *list = "22,bogus,80";
	ck_assert_str_eq(spec(list, &c, &w), "unknown service name");
	ck_assert_ptr_eq(w.item, list + 3);
	ck_assert_uint_eq(w.len, 5);
	ck_assert_str_eq(spec("22,,80", &c, &w), "empty item in the list");
	ck_assert_uint_eq(w.len, 0);
	/* 64 ranges fit one option, the 65th does not */
	char many[65 * 6 + 1] = "";
	for (int i = 0; i < 65; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s%d", i ? "," : "",
			 1000 + i);
	ck_assert_str_eq(spec(many, &c, &w), "too many ports and ranges (at most 64 per option)");
	ck_assert_uint_eq(c.nranges, 64);
	ck_assert_ptr_eq(w.item, many + strlen(many) - 4);
}
END_TEST

START_TEST(clauses_and_the_user_space_check)
{
	struct pv_query q = {0};
	struct pv_why w;
	struct pv_ephemeral e = {0};
	q.clauses[0].sides = PV_SIDE_ANY;
	ck_assert(pv_parse_port_spec("80,443", &svc, &q.clauses[0], &w));
	q.clauses[1].sides = PV_SIDE_DST;
	ck_assert(pv_parse_port_spec("5000-5010", &svc, &q.clauses[1], &w));
	q.nclauses = 2;

	struct pv_sock s = mksock(IPPROTO_TCP, AF_INET, "1.1.1.1", 443, "2.2.2.2", 5005, 1);
	ck_assert(pv_query_needs_check(&q));
	ck_assert(pv_query_keep(&q, &e, &s));
	s.remote.port = 5011;
	ck_assert(!pv_query_keep(&q, &e, &s));
	s = mksock(IPPROTO_TCP, AF_INET, "1.1.1.1", 5001, "2.2.2.2", 80, 1);
	ck_assert(!pv_query_keep(&q, &e, &s)); /* dport 80 is not in 5000-5010 */
}
END_TEST

START_TEST(classes)
{
	uint8_t mask = 0;
	struct pv_why w;
	ck_assert(pv_parse_class_list("well-known,Ephemeral", &mask, &w));
	ck_assert_uint_eq(mask, (1u << PV_CLASS_WELL_KNOWN) | PV_CLASS_EPHEMERAL_BIT);
	ck_assert(!pv_parse_class_list("registered,bogus", &mask, &w));
	ck_assert_uint_eq(w.len, 5);
	ck_assert_str_eq(w.why, "unknown class");
	ck_assert_str_eq(w.valid, "well-known, registered, dynamic, ephemeral");
	ck_assert(!pv_parse_class_list("", &mask, &w));
	ck_assert_str_eq(w.why, "empty class name");

	struct pv_query q = {.classes = PV_CLASS_EPHEMERAL_BIT | (1u << PV_CLASS_WELL_KNOWN)};
	struct pv_portset reserved = {{0}};
	pv_portset_add(&reserved, 50002);
	struct pv_ephemeral e = {.known = true, .lo = 50000, .hi = 50999, .reserved = &reserved};
	struct pv_port_clause c;
	ck_assert(pv_query_class_clause(&q, &e, &c));
	ck_assert_uint_eq(c.sides, PV_SIDE_SRC);
	ck_assert_uint_eq(c.nranges, 2);
	ck_assert_uint_eq(c.ranges[1].lo, 50000);
	ck_assert_uint_eq(c.ranges[1].hi, 50999);

	struct pv_sock s = mksock(IPPROTO_TCP, AF_INET, "1.1.1.1", 50001, "2.2.2.2", 80, 1);
	ck_assert(pv_query_keep(&q, &e, &s)); /* ephemeral */
	s.local.port = 50002;		      /* reserved: not ephemeral */
	ck_assert(!pv_query_keep(&q, &e, &s));
	s.local.port = 51000; /* dynamic, outside the range */
	ck_assert(!pv_query_keep(&q, &e, &s));
	s.local.port = 443; /* well-known */
	ck_assert(pv_query_keep(&q, &e, &s));
	s.local.port = 0; /* no port, no class */
	ck_assert(!pv_query_keep(&q, &e, &s));

	/* unknown ephemeral range: nothing to push down, user space decides */
	q.classes = PV_CLASS_EPHEMERAL_BIT;
	e.known = false;
	ck_assert(!pv_query_class_clause(&q, &e, &c));
}
END_TEST

START_TEST(ipv4_keeps_v4_mapped)
{
	struct pv_query q = {.ipv4 = true};
	struct pv_ephemeral e = {0};
	struct pv_sock v4 = mksock(IPPROTO_TCP, AF_INET, "127.0.0.1", 1, "127.0.0.1", 2, 1);
	struct pv_sock mapped =
	    mksock(IPPROTO_TCP, AF_INET6, "::ffff:127.0.0.1", 1, "::ffff:127.0.0.1", 2, 1);
	struct pv_sock v6 = mksock(IPPROTO_TCP, AF_INET6, "::1", 1, "::1", 2, 1);
	ck_assert(pv_query_needs_check(&q));
	ck_assert(pv_query_keep(&q, &e, &v4));
	ck_assert(pv_query_keep(&q, &e, &mapped));
	ck_assert(!pv_query_keep(&q, &e, &v6));
	ck_assert(pv_query_wants_family(&q, AF_INET6));
	q.ipv6 = true;
	ck_assert(!pv_query_needs_check(&q));
	q.ipv4 = false;
	ck_assert(!pv_query_wants_family(&q, AF_INET));
}
END_TEST

/* -4 keeps an IPv6 wildcard that takes IPv4 (IPV6_V6ONLY off), no other. */
START_TEST(ipv4_keeps_dual_stack_wildcards)
{
	struct pv_query q = {.ipv4 = true};
	struct pv_ephemeral e = {0};
	struct pv_sock dual = mksock(IPPROTO_TCP, AF_INET6, "::", 8080, "::", 0, PV_TCP_LISTEN);
	struct pv_sock only = dual, unknown = dual, loop = dual;
	dual.v6only = 0;
	only.v6only = 1;
	ck_assert(pv_sock_is_dual_stack(&dual));
	ck_assert(!pv_sock_is_dual_stack(&only));
	ck_assert(!pv_sock_is_dual_stack(&unknown));
	ck_assert(pv_query_keep(&q, &e, &dual));
	ck_assert(!pv_query_keep(&q, &e, &only));
	ck_assert(!pv_query_keep(&q, &e, &unknown));
	/* a specific IPv6 address takes no IPv4, whatever the option */
	ck_assert_int_eq(inet_pton(AF_INET6, "::1", loop.local.addr), 1);
	loop.v6only = 0;
	ck_assert(!pv_sock_is_dual_stack(&loop));
	ck_assert(!pv_query_keep(&q, &e, &loop));
	/* -6 keeps them all */
	q = (struct pv_query){.ipv6 = true};
	ck_assert(pv_query_keep(&q, &e, &dual) && pv_query_keep(&q, &e, &only));
}
END_TEST

/* --dev: a name (lo always exists) or an index; the check compares the interface. */
START_TEST(device_names_indexes_and_the_check)
{
	struct pv_why why;
	uint32_t dev = 99;
	ck_assert(pv_parse_dev("lo", &dev, &why));
	ck_assert_uint_eq(dev, if_nametoindex("lo"));
	ck_assert(pv_parse_dev("4242", &dev, &why));
	ck_assert_uint_eq(dev, 4242);
	ck_assert(!pv_parse_dev("no-such-if", &dev, &why));
	ck_assert_str_eq(why.why, "no such interface");
	ck_assert(!pv_parse_dev("a-name-longer-than-ifnamsiz", &dev, &why));
	ck_assert(!pv_parse_dev("", &dev, &why));
	ck_assert_str_eq(why.why, "empty interface name");
	ck_assert(!pv_parse_dev("0", &dev, &why));
	ck_assert_str_eq(why.why, "not an interface index (1 or more)");
	ck_assert(!pv_parse_dev("99999999999", &dev, &why));

	struct pv_query q = {.dev = 3};
	struct pv_ephemeral e = {0};
	struct pv_sock s = mksock(IPPROTO_UDP, AF_INET, "0.0.0.0", 67, "0.0.0.0", 0, PV_TCP_CLOSE);
	ck_assert(pv_query_needs_check(&q));
	ck_assert(!pv_query_keep(&q, &e, &s));
	s.ifindex = 3;
	ck_assert(pv_query_keep(&q, &e, &s));
	s.ifindex = 4;
	ck_assert(!pv_query_keep(&q, &e, &s));
}
END_TEST

START_TEST(states_per_protocol)
{
	uint32_t listen_close = PV_SF(PV_TCP_LISTEN) | PV_SF(PV_TCP_CLOSE);
	struct pv_query q = {.states = listen_close, .tcp_listen_only = true};
	/* TCP gets no CLOSE: it would make the kernel walk every connection */
	ck_assert_uint_eq(pv_query_proto_states(&q, IPPROTO_TCP), PV_SF(PV_TCP_LISTEN));
	ck_assert_uint_eq(pv_query_proto_states(&q, IPPROTO_UDP), listen_close);
	q.tcp_listen_only = false;
	ck_assert_uint_eq(pv_query_proto_states(&q, IPPROTO_TCP), listen_close);
	ck_assert(pv_query_wants_proto(&q, IPPROTO_UDP));
	q.tcp = true;
	ck_assert(!pv_query_wants_proto(&q, IPPROTO_UDP));
	ck_assert(pv_query_wants_proto(&q, IPPROTO_TCP));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("query");
	TCase *tc = tcase_create("query");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, numbers_ranges_names_lists);
	tcase_add_test(tc, bad_specs_say_why_and_name_the_item);
	tcase_add_test(tc, clauses_and_the_user_space_check);
	tcase_add_test(tc, classes);
	tcase_add_test(tc, ipv4_keeps_v4_mapped);
	tcase_add_test(tc, ipv4_keeps_dual_stack_wildcards);
	tcase_add_test(tc, states_per_protocol);
	tcase_add_test(tc, device_names_indexes_and_the_check);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
