/* Port classes, the ephemeral range and its reserved ports. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "records.h"
#include "portview/ports.h"
#include "portview/state.h"
#include "portview/util.h"

START_TEST(class_boundaries)
{
	ck_assert_int_eq(pv_port_class(0), PV_CLASS_WELL_KNOWN);
	ck_assert_int_eq(pv_port_class(1023), PV_CLASS_WELL_KNOWN);
	ck_assert_int_eq(pv_port_class(1024), PV_CLASS_REGISTERED);
	ck_assert_int_eq(pv_port_class(49151), PV_CLASS_REGISTERED);
	ck_assert_int_eq(pv_port_class(49152), PV_CLASS_DYNAMIC);
	ck_assert_int_eq(pv_port_class(65535), PV_CLASS_DYNAMIC);
	ck_assert_str_eq(pv_port_class_name(PV_CLASS_WELL_KNOWN), "well-known");
	ck_assert_str_eq(pv_port_class_name(PV_CLASS_REGISTERED), "registered");
	ck_assert_str_eq(pv_port_class_name(PV_CLASS_DYNAMIC), "dynamic");
	ck_assert_str_eq(pv_port_class_name(PV_CLASS_NONE), "-");
}
END_TEST

START_TEST(sysctl_range_format)
{
	uint16_t lo, hi;
	ck_assert_int_eq(pv_parse_port_range_sysctl("32768\t60999\n", &lo, &hi), 0);
	ck_assert_uint_eq(lo, 32768);
	ck_assert_uint_eq(hi, 60999);
	ck_assert_int_eq(pv_parse_port_range_sysctl("50000 50000", &lo, &hi), 0);
	ck_assert_uint_eq(hi, 50000);
	ck_assert_int_eq(pv_parse_port_range_sysctl("", &lo, &hi), -EINVAL);
	ck_assert_int_eq(pv_parse_port_range_sysctl("32768", &lo, &hi), -EINVAL);
	ck_assert_int_eq(pv_parse_port_range_sysctl("60999 32768", &lo, &hi), -EINVAL);
	ck_assert_int_eq(pv_parse_port_range_sysctl("1 70000", &lo, &hi), -EINVAL);
	ck_assert_int_eq(pv_parse_port_range_sysctl("1 2 3", &lo, &hi), -EINVAL);
	ck_assert_int_eq(pv_parse_port_range_sysctl("a b", &lo, &hi), -EINVAL);
}
END_TEST

static bool bit(const struct pv_portset *b, unsigned port)
{
	return pv_portset_has(b, (uint16_t)port);
}

START_TEST(reserved_port_lists)
{
	struct pv_portset *b = pv_portset_new();
	ck_assert_int_eq(pv_parse_port_list("\n", b), 0);
	for (unsigned p = 0; p < 65536; p++)
		ck_assert(!bit(b, p));
	ck_assert_int_eq(pv_parse_port_list("8080,50010-50012,65535\n", b), 0);
	ck_assert(bit(b, 8080));
	ck_assert(!bit(b, 8081));
	ck_assert(!bit(b, 50009));
	ck_assert(bit(b, 50010) && bit(b, 50011) && bit(b, 50012));
	ck_assert(!bit(b, 50013));
	ck_assert(bit(b, 65535));
	ck_assert_int_eq(pv_parse_port_list("5-3", b), -EINVAL);
	ck_assert_int_eq(pv_parse_port_list("1,,2", b), -EINVAL);
	ck_assert_int_eq(pv_parse_port_list("70000", b), -EINVAL);
	ck_assert_int_eq(pv_parse_port_list("1;2", b), -EINVAL);
	free(b);
}
END_TEST

static char dir[200];

/* A fresh sysctl directory (tests may share a process). */
static void make_dir(void)
{
	ck_assert_int_lt(snprintf(dir, sizeof(dir), "%s", scratch_dir("sysctl")), (int)sizeof(dir));
}

static void remove_dir(void)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/ip_local_port_range", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/ip_local_reserved_ports", dir);
	unlink(p);
	ck_assert_int_eq(rmdir(dir), 0);
}

static void put(const char *name, const char *text)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

START_TEST(ephemeral_from_sysctl_files)
{
	make_dir();
	put("ip_local_port_range", "50000\t50999\n");
	put("ip_local_reserved_ports", "50010-50012,8080\n");
	struct pv_ephemeral e;
	pv_ephemeral_load(&e, dir);
	ck_assert(e.known);
	ck_assert_uint_eq(e.lo, 50000);
	ck_assert_uint_eq(e.hi, 50999);
	ck_assert_uint_eq(e.nreserved, 3); /* 8080 lies outside the range */
	ck_assert(!pv_port_is_ephemeral(&e, 49999));
	ck_assert(pv_port_is_ephemeral(&e, 50000));
	ck_assert(pv_port_is_ephemeral(&e, 50009));
	ck_assert(!pv_port_is_ephemeral(&e, 50010));
	ck_assert(pv_port_is_reserved(&e, 50011));
	ck_assert(pv_port_is_ephemeral(&e, 50999));
	ck_assert(!pv_port_is_ephemeral(&e, 51000));
	pv_ephemeral_free(&e);

	/* unreadable or garbage: nothing is ephemeral, no error */
	put("ip_local_port_range", "garbage");
	pv_ephemeral_load(&e, dir);
	ck_assert(!e.known);
	ck_assert(!pv_port_is_ephemeral(&e, 50000));
	pv_ephemeral_free(&e);
	pv_ephemeral_load(&e, "/nonexistent");
	ck_assert(!e.known);
	ck_assert_ptr_null(e.reserved);
	pv_ephemeral_free(&e);
	remove_dir();
}
END_TEST

/*
 * Reserved ports on both ends of the range, and on both sides just
 * outside it: nreserved counts lo..hi inclusive, and the ends are not
 * ephemeral while the ports next to them are.
 */
START_TEST(reserved_ports_at_the_range_ends)
{
	make_dir();
	put("ip_local_port_range", "50000 50999\n");
	put("ip_local_reserved_ports", "8080,49999-50000,50500,50999-51000\n");
	struct pv_ephemeral e;
	pv_ephemeral_load(&e, dir);
	ck_assert(e.known);
	ck_assert_uint_eq(e.lo, 50000);
	ck_assert_uint_eq(e.hi, 50999);
	/* 50000, 50500, 50999; not 8080, 49999 or 51000 */
	ck_assert_uint_eq(e.nreserved, 3);
	ck_assert(pv_port_is_reserved(&e, 49999));
	ck_assert(!pv_port_is_ephemeral(&e, 49999));
	ck_assert(pv_port_is_reserved(&e, 50000));
	ck_assert(!pv_port_is_ephemeral(&e, 50000));
	ck_assert(!pv_port_is_reserved(&e, 50001));
	ck_assert(pv_port_is_ephemeral(&e, 50001));
	ck_assert(!pv_port_is_ephemeral(&e, 50500));
	ck_assert(pv_port_is_ephemeral(&e, 50998));
	ck_assert(pv_port_is_reserved(&e, 50999));
	ck_assert(!pv_port_is_ephemeral(&e, 50999));
	ck_assert(!pv_port_is_ephemeral(&e, 51000));
	pv_ephemeral_free(&e);

	/* one port, reserved; then a range that ends at 65535 */
	put("ip_local_port_range", "50999 50999\n");
	pv_ephemeral_load(&e, dir);
	ck_assert_uint_eq(e.nreserved, 1);
	ck_assert(!pv_port_is_ephemeral(&e, 50999));
	pv_ephemeral_free(&e);
	put("ip_local_port_range", "65530\t65535\n");
	put("ip_local_reserved_ports", "65530,65535\n");
	pv_ephemeral_load(&e, dir);
	ck_assert_uint_eq(e.nreserved, 2);
	ck_assert(!pv_port_is_ephemeral(&e, 65530));
	ck_assert(pv_port_is_ephemeral(&e, 65531));
	ck_assert(pv_port_is_ephemeral(&e, 65534));
	ck_assert(!pv_port_is_ephemeral(&e, 65535));
	pv_ephemeral_free(&e);

	/* an unreadable reserved list counts as none */
	put("ip_local_reserved_ports", "1;2\n");
	pv_ephemeral_load(&e, dir);
	ck_assert(e.known);
	ck_assert_uint_eq(e.nreserved, 0);
	ck_assert_ptr_null(e.reserved);
	ck_assert(pv_port_is_ephemeral(&e, 65535));
	pv_ephemeral_free(&e);
	remove_dir();
}
END_TEST

START_TEST(ports_in_use_counts_distinct_local_ports)
{
	struct pv_socklist l;
	pv_socklist_init(&l);
	struct pv_sock s;
	s = mksock(IPPROTO_TCP, AF_INET, "127.0.0.1", 50001, "127.0.0.1", 80, PV_TCP_ESTABLISHED);
	pv_socklist_add(&l, &s);
	/* same local port, another connection and another family: one port */
	s = mksock(IPPROTO_TCP, AF_INET, "127.0.0.1", 50001, "127.0.0.1", 81, PV_TCP_ESTABLISHED);
	pv_socklist_add(&l, &s);
	s = mksock(IPPROTO_TCP, AF_INET6, "::1", 50001, "::1", 81, PV_TCP_TIME_WAIT);
	pv_socklist_add(&l, &s);
	s = mksock(IPPROTO_TCP, AF_INET, "127.0.0.1", 50010, "127.0.0.1", 80, PV_TCP_ESTABLISHED);
	pv_socklist_add(&l, &s);
	s = mksock(IPPROTO_TCP, AF_INET, "127.0.0.1", 40000, "127.0.0.1", 80, PV_TCP_ESTABLISHED);
	pv_socklist_add(&l, &s);
	s = mksock(IPPROTO_UDP, AF_INET, "127.0.0.1", 50002, "0.0.0.0", 0, PV_TCP_CLOSE);
	pv_socklist_add(&l, &s);

	struct pv_portset reserved = {{0}};
	pv_portset_add(&reserved, 50010);
	struct pv_ephemeral e = {.known = true, .lo = 50000, .hi = 50999, .reserved = &reserved};
	ck_assert_uint_eq(pv_ports_in_use(&l, IPPROTO_TCP, 50000, 50999, NULL), 2);
	ck_assert_uint_eq(pv_ports_in_use(&l, IPPROTO_TCP, 50000, 50999, &e), 1);
	ck_assert_uint_eq(pv_ports_in_use(&l, IPPROTO_UDP, 50000, 50999, &e), 1);
	ck_assert_uint_eq(pv_ports_in_use(&l, IPPROTO_TCP, 0, 65535, NULL), 3);
	pv_socklist_free(&l);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ports");
	TCase *tc = tcase_create("ports");
	tcase_add_test(tc, class_boundaries);
	tcase_add_test(tc, sysctl_range_format);
	tcase_add_test(tc, reserved_port_lists);
	tcase_add_test(tc, ephemeral_from_sysctl_files);
	tcase_add_test(tc, reserved_ports_at_the_range_ends);
	tcase_add_test(tc, ports_in_use_counts_distinct_local_ports);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
