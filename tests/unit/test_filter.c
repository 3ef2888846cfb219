/* Port specs and classes as users type them, and the user-space filter. */
#include <errno.h>

#include "records.h"
#include "portview/filter.h"
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

static int spec(const char *s, struct pv_port_clause *c, const char **bad, size_t *badlen)
{
	memset(c, 0, sizeof(*c));
	*bad = NULL;
	*badlen = 0;
	return pv_parse_port_spec(s, &svc, c, bad, badlen);
}

START_TEST(numbers_ranges_names_lists)
{
	struct pv_port_clause c;
	const char *bad;
	size_t badlen;
	ck_assert_int_eq(spec("8080", &c, &bad, &badlen), 0);
	ck_assert_uint_eq(c.nranges, 1);
	ck_assert_uint_eq(c.ranges[0].lo, 8080);
	ck_assert_uint_eq(c.ranges[0].hi, 8080);
	ck_assert_int_eq(spec("0-1023", &c, &bad, &badlen), 0);
	ck_assert_uint_eq(c.ranges[0].lo, 0);
	ck_assert_uint_eq(c.ranges[0].hi, 1023);
	ck_assert_int_eq(spec("65535", &c, &bad, &badlen), 0);
	ck_assert_int_eq(spec("https", &c, &bad, &badlen), 0);
	ck_assert_uint_eq(c.nranges, 1);
	ck_assert_uint_eq(c.ranges[0].lo, 443);
	ck_assert_int_eq(spec("22,https,8000-8100", &c, &bad, &badlen), 0);
	ck_assert_uint_eq(c.nranges, 3);
	ck_assert_uint_eq(c.ranges[2].lo, 8000);
	ck_assert_uint_eq(c.ranges[2].hi, 8100);
}
END_TEST

START_TEST(bad_specs_name_the_item)
{
	struct pv_port_clause c;
	const char *bad;
	size_t badlen;
	ck_assert_int_eq(spec("70000", &c, &bad, &badlen), -ERANGE);
	ck_assert_int_eq(spec("99999999999999999999", &c, &bad, &badlen), -ERANGE);
	ck_assert_int_eq(spec("", &c, &bad, &badlen), -EINVAL);
	ck_assert_uint_eq(badlen, 0);
	ck_assert_int_eq(spec("-1", &c, &bad, &badlen), -EINVAL);
	ck_assert_int_eq(spec("+80", &c, &bad, &badlen), -EINVAL);
	ck_assert_int_eq(spec("80x", &c, &bad, &badlen), -EINVAL);
	ck_assert_int_eq(spec("80-", &c, &bad, &badlen), -EINVAL);
	ck_assert_int_eq(spec("80-90-100", &c, &bad, &badlen), -EINVAL);
	ck_assert_int_eq(spec("90-80", &c, &bad, &badlen), -EDOM);
	ck_assert_int_eq(spec("no-such-service", &c, &bad, &badlen), -ENOENT);
	const char *list = "22,bogus,80";
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(pv_parse_port_spec(list, &svc, &c, &bad, &badlen), -ENOENT);
	ck_assert_ptr_eq(bad, list + 3);
	ck_assert_uint_eq(badlen, 5);
	ck_assert_int_eq(spec("22,,80", &c, &bad, &badlen), -EINVAL);
	ck_assert_uint_eq(badlen, 0);
}
END_TEST

START_TEST(repeated_options_or_different_options_and)
{
	struct pv_options o;
	pv_options_init(&o);
	o.port_args[o.nport_args++] = (struct pv_port_arg){"--port", "80", PV_SIDE_ANY};
	o.port_args[o.nport_args++] = (struct pv_port_arg){"--dport", "5000-5010", PV_SIDE_DST};
	o.port_args[o.nport_args++] = (struct pv_port_arg){"--port", "443", PV_SIDE_ANY};
	size_t bad_arg;
	const char *bad;
	size_t badlen;
	ck_assert_int_eq(pv_filter_compile_ports(&o, &svc, &bad_arg, &bad, &badlen), 0);
	ck_assert_uint_eq(o.nclauses, 2);
	ck_assert_uint_eq(o.clauses[0].sides, PV_SIDE_ANY);
	ck_assert_uint_eq(o.clauses[0].nranges, 2);
	ck_assert_uint_eq(o.clauses[1].sides, PV_SIDE_DST);

	struct pv_sock s = mksock(IPPROTO_TCP, AF_INET, "1.1.1.1", 443, "2.2.2.2", 5005, 1);
	ck_assert(pv_filter_needs_pass(&o));
	ck_assert(pv_filter_keep(&s, &o));
	s.remote.port = 5011;
	ck_assert(!pv_filter_keep(&s, &o));
	s = mksock(IPPROTO_TCP, AF_INET, "1.1.1.1", 5001, "2.2.2.2", 80, 1);
	ck_assert(!pv_filter_keep(&s, &o)); /* dport 80 is not in 5000-5010 */

	o.port_args[o.nport_args++] = (struct pv_port_arg){"--sport", "1,2,x", PV_SIDE_SRC};
	ck_assert_int_eq(pv_filter_compile_ports(&o, &svc, &bad_arg, &bad, &badlen), -ENOENT);
	ck_assert_uint_eq(bad_arg, 3);
	ck_assert_uint_eq(badlen, 1);
}
END_TEST

START_TEST(classes)
{
	uint8_t mask = 0;
	const char *bad;
	size_t badlen;
	ck_assert_int_eq(pv_parse_class_list("well-known,Ephemeral", &mask, &bad, &badlen), 0);
	ck_assert_uint_eq(mask, (1u << PV_CLASS_WELL_KNOWN) | PV_CLASS_EPHEMERAL_BIT);
	ck_assert_int_eq(pv_parse_class_list("registered,bogus", &mask, &bad, &badlen), -EINVAL);
	ck_assert_uint_eq(badlen, 5);
	ck_assert_int_eq(pv_parse_class_list("", &mask, &bad, &badlen), -EINVAL);

	struct pv_options o;
	pv_options_init(&o);
	o.classes = PV_CLASS_EPHEMERAL_BIT | (1u << PV_CLASS_WELL_KNOWN);
	struct pv_ephemeral e = {.known = true, .lo = 50000, .hi = 50999};
	struct pv_port_clause c;
	ck_assert(pv_filter_class_clause(&o, &e, &c));
	ck_assert_uint_eq(c.sides, PV_SIDE_SRC);
	ck_assert_uint_eq(c.nranges, 2);
	ck_assert_uint_eq(c.ranges[1].lo, 50000);

	struct pv_sock s = mksock(IPPROTO_TCP, AF_INET, "1.1.1.1", 50001, "2.2.2.2", 80, 1);
	s.local_class = PV_CLASS_DYNAMIC;
	s.local_ephemeral = true;
	ck_assert(pv_filter_keep(&s, &o));
	s.local_ephemeral = false; /* e.g. a reserved port */
	ck_assert(!pv_filter_keep(&s, &o));
	s.local_class = PV_CLASS_WELL_KNOWN;
	ck_assert(pv_filter_keep(&s, &o));

	/* unknown ephemeral range: nothing to push down, user space decides */
	o.classes = PV_CLASS_EPHEMERAL_BIT;
	e.known = false;
	ck_assert(!pv_filter_class_clause(&o, &e, &c));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("filter");
	TCase *tc = tcase_create("filter");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, numbers_ranges_names_lists);
	tcase_add_test(tc, bad_specs_name_the_item);
	tcase_add_test(tc, repeated_options_or_different_options_and);
	tcase_add_test(tc, classes);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
