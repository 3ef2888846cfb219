/* Address formatting and escaping of untrusted text. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "helpers.h"
#include "portview/format.h"

static struct pv_endpoint ep(int af, const char *addr, uint16_t port)
{
	struct pv_endpoint e;
	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(inet_pton(af, addr, e.addr), 1);
	e.port = port;
	return e;
}

static const char *fmt(int af, const char *addr, uint16_t port, uint32_t ifindex)
{
	static char out[PV_ENDPOINT_MAX];
	struct pv_endpoint e = ep(af, addr, port);
	size_t n = pv_format_endpoint(out, (uint8_t)af, &e, ifindex, NULL);
	ck_assert_uint_eq(n, strlen(out));
	return out;
}

START_TEST(ipv4)
{
	ck_assert_str_eq(fmt(AF_INET, "127.0.0.1", 5354, 0), "127.0.0.1:5354");
	ck_assert_str_eq(fmt(AF_INET, "0.0.0.0", 0, 0), "0.0.0.0:0");
	ck_assert_str_eq(fmt(AF_INET, "255.255.255.255", 65535, 3), "255.255.255.255:65535");
}
END_TEST

START_TEST(ipv6_bracketed)
{
	ck_assert_str_eq(fmt(AF_INET6, "::1", 5173, 0), "[::1]:5173");
	ck_assert_str_eq(fmt(AF_INET6, "::", 0, 0), "[::]:0");
	ck_assert_str_eq(fmt(AF_INET6, "2001:db8::1", 443, 2), "[2001:db8::1]:443");
	ck_assert_str_eq(fmt(AF_INET6, "::ffff:10.0.0.1", 80, 0), "[::ffff:10.0.0.1]:80");
}
END_TEST

START_TEST(link_local_scope)
{
	/* Index 1 is the loopback device in every network namespace. */
	ck_assert_str_eq(fmt(AF_INET6, "fe80::1", 22, 1), "[fe80::1%lo]:22");
	ck_assert_str_eq(fmt(AF_INET6, "fe80::1", 22, 0), "[fe80::1]:22");
	/* No such interface: its number. */
	ck_assert_str_eq(fmt(AF_INET6, "fe80::1", 22, 99999), "[fe80::1%99999]:22");
	/* The longest form still fits. */
	const char *s =
	    fmt(AF_INET6, "fe80:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535, 4000000000u);
	ck_assert_str_eq(s, "[fe80:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4000000000]:65535");
}
END_TEST

START_TEST(ifcache_reuses_names)
{
	struct pv_ifcache c;
	pv_ifcache_init(&c);
	char tmp[IF_NAMESIZE];
	ck_assert_str_eq(pv_ifcache_name(&c, 1, tmp), "lo");
	ck_assert_str_eq(pv_ifcache_name(&c, 1, tmp), "lo");
	ck_assert_uint_eq(c.n, 1);
}
END_TEST

static const char *esc(const char *s, size_t n)
{
	static char out[256];
	struct pv_buf b;
	pv_buf_init(&b);
	pv_escape_text(&b, s, n);
	ck_assert_uint_lt(b.len, sizeof(out));
	memcpy(out, b.data, b.len);
	out[b.len] = '\0';
	pv_buf_free(&b);
	return out;
}

START_TEST(escaping)
{
	ck_assert_str_eq(esc("sshd", 4), "sshd");
	ck_assert_str_eq(esc("\x1b[31mred", 8), "\\x1b[31mred");
	ck_assert_str_eq(esc("a\nb\tc", 5), "a\\x0ab\\x09c");
	ck_assert_str_eq(esc("del\x7f", 4), "del\\x7f");
	ck_assert_str_eq(esc("back\\slash", 10), "back\\\\slash");
	ck_assert_str_eq(esc("nul\0x", 5), "nul\\x00x");
	/* valid UTF-8 passes, invalid bytes are escaped one by one */
	ck_assert_str_eq(esc("caf\xc3\xa9", 5), "caf\xc3\xa9");
	ck_assert_str_eq(esc("\xe2\x82\xac", 3), "\xe2\x82\xac");
	ck_assert_str_eq(esc("\xff\xfe", 2), "\\xff\\xfe");
	ck_assert_str_eq(esc("\xc3", 1), "\\xc3");
	ck_assert_str_eq(esc("\xc0\xaf", 2), "\\xc0\\xaf");		      /* overlong */
	ck_assert_str_eq(esc("\xed\xa0\x80", 3), "\\xed\\xa0\\x80");	      /* surrogate */
	ck_assert_str_eq(esc("\xc2\x9b", 2), "\\xc2\\x9b");		      /* C1 CSI */
	ck_assert_str_eq(esc("\xf4\x90\x80\x80", 4), "\\xf4\\x90\\x80\\x80"); /* > U+10FFFF */
}
END_TEST

START_TEST(width_counts_code_points)
{
	ck_assert_uint_eq(pv_text_width("abc", 3), 3);
	ck_assert_uint_eq(pv_text_width("caf\xc3\xa9", 5), 4);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("format");
	TCase *tc = tcase_create("format");
	tcase_add_test(tc, ipv4);
	tcase_add_test(tc, ipv6_bracketed);
	tcase_add_test(tc, link_local_scope);
	tcase_add_test(tc, ifcache_reuses_names);
	tcase_add_test(tc, escaping);
	tcase_add_test(tc, width_counts_code_points);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
