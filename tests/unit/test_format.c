/* Address formatting and escaping of untrusted text. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <string.h>
#include <time.h>

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

/* Bytes as C would write them, for failure messages: what was emitted is visible. */
static const char *visible(const char *s, size_t n)
{
	static char out[2048];
	size_t k = 0;
	for (size_t i = 0; i < n && k + 5 < sizeof(out); i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\')
			k += (size_t)snprintf(out + k, sizeof(out) - k, "\\\\");
		else if (c > 0x20 && c < 0x7f)
			out[k++] = (char)c;
		else
			k += (size_t)snprintf(out + k, sizeof(out) - k, "\\x%02x", c);
	}
	out[k] = '\0';
	return out;
}

typedef void (*escaper)(struct pv_buf *, const char *, size_t);

/* Run f over s, n into b (cleared first); returns the text, NUL-terminated. */
static const char *run(escaper f, struct pv_buf *b, const char *s, size_t n)
{
	b->len = 0;
	f(b, s, n);
	pv_buf_putc(b, '\0');
	b->len--;
	return b->data;
}

/* An input (its bytes, literal NULs included) and the exact output. */
struct esc_case {
	const char *in;
	size_t n;
	const char *want;
};
/* clang-format off */
#define CASE(in, want) {in, sizeof(in) - 1, want}
/* clang-format on */

static void check_table(escaper f, const char *name, const struct esc_case *t, size_t n)
{
	struct pv_buf b;
	pv_buf_init(&b);
	for (size_t i = 0; i < n; i++) {
		const char *got = run(f, &b, t[i].in, t[i].n);
		if (strcmp(got, t[i].want) != 0 || b.len != strlen(t[i].want)) {
			char in[512], want[512];
			snprintf(in, sizeof(in), "%s", visible(t[i].in, t[i].n));
			snprintf(want, sizeof(want), "%s", visible(t[i].want, strlen(t[i].want)));
			ck_abort_msg("case %zu: %s(\"%s\") gave %s, want %s", i, name, in,
				     visible(b.data, b.len), want);
		}
	}
	pv_buf_free(&b);
}

static const struct esc_case text_cases[] = {
    CASE("", ""),
    CASE("sshd", "sshd"),
    CASE(" ~", " ~"),
    CASE("\"quoted\"", "\"quoted\""), /* quotes cannot drive a terminal */
    CASE("back\\slash", "back\\\\slash"),
    CASE("\\x41", "\\\\x41"), /* cannot pass for an escape */
    CASE("\x1b[31mred", "\\x1b[31mred"),
    CASE("a\nb\tc\r", "a\\x0ab\\x09c\\x0d"),
    CASE("nul\0x", "nul\\x00x"),
    CASE("\x1f", "\\x1f"),
    CASE("del\x7f", "del\\x7f"),
    /* C1 controls: valid UTF-8 (U+0080..U+009F), escaped byte by byte */
    CASE("\xc2\x80", "\\xc2\\x80"),
    CASE("\xc2\x9b", "\\xc2\\x9b"),
    CASE("\xc2\x9f", "\\xc2\\x9f"),
    CASE("\xc2\xa0", "\xc2\xa0"), /* U+00A0, the first after C1 */
    /* valid UTF-8 passes */
    CASE("caf\xc3\xa9", "caf\xc3\xa9"),
    CASE("\xdf\xbf", "\xdf\xbf"),
    CASE("\xe0\xa0\x80", "\xe0\xa0\x80"),
    CASE("\xe2\x82\xac", "\xe2\x82\xac"),
    CASE("\xed\x9f\xbf", "\xed\x9f\xbf"),
    CASE("\xee\x80\x80", "\xee\x80\x80"),
    CASE("\xef\xbf\xbd", "\xef\xbf\xbd"),
    CASE("\xf0\x90\x80\x80", "\xf0\x90\x80\x80"),
    CASE("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"),
    CASE("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"),
    /* invalid UTF-8: every byte that is not part of a valid sequence */
    CASE("\x80", "\\x80"),
    CASE("a\xbf!", "a\\xbf!"),
    CASE("\xff\xfe", "\\xff\\xfe"),
    CASE("\xc3", "\\xc3"),
    CASE("\xc3(", "\\xc3("),
    CASE("\xe2\x82", "\\xe2\\x82"),
    CASE("\xe2\x82x", "\\xe2\\x82x"),
    CASE("\xf0\x9f\x98", "\\xf0\\x9f\\x98"),
    CASE("\xc0\xaf", "\\xc0\\xaf"),		      /* overlong '/' */
    CASE("\xc1\xbf", "\\xc1\\xbf"),		      /* overlong U+007F */
    CASE("\xe0\x80\xaf", "\\xe0\\x80\\xaf"),	      /* overlong, 3 bytes */
    CASE("\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf"), /* overlong, 4 bytes */
    CASE("\xed\xa0\x80", "\\xed\\xa0\\x80"),	      /* surrogate U+D800 */
    CASE("\xed\xbf\xbf", "\\xed\\xbf\\xbf"),	      /* surrogate U+DFFF */
    CASE("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"), /* U+110000 */
    CASE("\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80"),
    /* the length bounds the sequence, whatever follows in memory */
    {"\xc3\xa9", 1, "\\xc3"},
    {"\xe2\x82\xac", 2, "\\xe2\\x82"},
};

START_TEST(escape_text_table)
{
	check_table(pv_escape_text, "pv_escape_text", text_cases,
		    sizeof(text_cases) / sizeof(text_cases[0]));
}
END_TEST

/*
 * JSON: '"' and '\\' escaped, every C0 control as \u00XX (the code has no
 * short forms such as \n), DEL and C1 as \u00XX too, each byte of invalid
 * UTF-8 as U+FFFD.  RFC 8259 allows raw DEL and C1, and so do JSON parsers,
 * so only exact text shows that they are escaped.
 */
static const struct esc_case json_cases[] = {
    CASE("", "\"\""),
    CASE("sshd", "\"sshd\""),
    CASE(" ~/", "\" ~/\""), /* the solidus needs no escape */
    CASE("\"", "\"\\\"\""),
    CASE("\\", "\"\\\\\""),
    CASE("a\"b\\c", "\"a\\\"b\\\\c\""),
    CASE("\\u0041", "\"\\\\u0041\""),
    CASE("\0", "\"\\u0000\""),
    CASE("\x01", "\"\\u0001\""),
    CASE("\b", "\"\\u0008\""),
    CASE("\t", "\"\\u0009\""),
    CASE("\n", "\"\\u000a\""),
    CASE("\f", "\"\\u000c\""),
    CASE("\r", "\"\\u000d\""),
    CASE("\x1b[2J", "\"\\u001b[2J\""),
    CASE("\x1f", "\"\\u001f\""),
    CASE("evil\nname", "\"evil\\u000aname\""),
    CASE("del\x7f", "\"del\\u007f\""),
    CASE("\x7f\x7f", "\"\\u007f\\u007f\""),
    /* C1 controls: one escape per character */
    CASE("\xc2\x80", "\"\\u0080\""),
    CASE("\xc2\x85", "\"\\u0085\""),
    CASE("\xc2\x9b[2J", "\"\\u009b[2J\""),
    CASE("\xc2\x9f", "\"\\u009f\""),
    CASE("a\xc2\x8a\xc2\x9f!", "\"a\\u008a\\u009f!\""),
    CASE("\xc2\xa0", "\"\xc2\xa0\""), /* U+00A0, the first after C1 */
    /* valid UTF-8 passes */
    CASE("caf\xc3\xa9", "\"caf\xc3\xa9\""),
    CASE("\xdf\xbf", "\"\xdf\xbf\""),
    CASE("\xe0\xa0\x80", "\"\xe0\xa0\x80\""),
    CASE("\xe2\x82\xac", "\"\xe2\x82\xac\""),
    CASE("\xed\x9f\xbf", "\"\xed\x9f\xbf\""),
    CASE("\xee\x80\x80", "\"\xee\x80\x80\""),
    CASE("\xef\xbf\xbd", "\"\xef\xbf\xbd\""),
    CASE("\xf0\x90\x80\x80", "\"\xf0\x90\x80\x80\""),
    CASE("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""),
    CASE("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""),
    /* invalid UTF-8: U+FFFD for every byte not in a valid sequence */
    CASE("\x80", "\"\\ufffd\""),
    CASE("a\xbf!", "\"a\\ufffd!\""),
    CASE("\xff\xfe", "\"\\ufffd\\ufffd\""),
    CASE("\xc2", "\"\\ufffd\""),
    CASE("\xc2"
	 "A",
	 "\"\\ufffdA\""),
    CASE("\xc3(", "\"\\ufffd(\""),
    CASE("\xe2\x82", "\"\\ufffd\\ufffd\""),
    CASE("\xe2\x82x", "\"\\ufffd\\ufffdx\""),
    CASE("\xf0\x9f\x98", "\"\\ufffd\\ufffd\\ufffd\""),
    CASE("\xc0\xaf", "\"\\ufffd\\ufffd\""),			  /* overlong '/' */
    CASE("\xc1\x9b", "\"\\ufffd\\ufffd\""),			  /* overlong '[' */
    CASE("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\""),		  /* overlong, 3 bytes */
    CASE("\xf0\x80\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""), /* overlong, 4 bytes */
    CASE("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""),		  /* surrogate U+D800 */
    CASE("\xed\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\""),		  /* surrogate U+DFFF */
    CASE("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""), /* U+110000 */
    CASE("\xf5\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""),
    /* the length bounds the sequence, whatever follows in memory */
    {"\xc2\x85", 1, "\"\\ufffd\""},
    {"\xc3\xa9", 1, "\"\\ufffd\""},
    {"\xe2\x82\xac", 2, "\"\\ufffd\\ufffd\""},
};

START_TEST(json_string_table)
{
	check_table(pv_json_string, "pv_json_string", json_cases,
		    sizeof(json_cases) / sizeof(json_cases[0]));
}
END_TEST

/* Every C0 control, one at a time and between letters. */
START_TEST(every_c0_control)
{
	struct pv_buf b;
	pv_buf_init(&b);
	for (unsigned c = 0; c < 0x20; c++) {
		char in[3] = {'a', (char)c, 'b'}, want[16];
		snprintf(want, sizeof(want), "\"a\\u%04xb\"", c);
		const char *got = run(pv_json_string, &b, in, 3);
		if (strcmp(got, want) != 0)
			ck_abort_msg("pv_json_string(a\\x%02xb) gave %s, want %s", c,
				     visible(b.data, b.len), want);
		snprintf(want, sizeof(want), "a\\x%02xb", c);
		got = run(pv_escape_text, &b, in, 3);
		if (strcmp(got, want) != 0)
			ck_abort_msg("pv_escape_text(a\\x%02xb) gave %s, want %s", c,
				     visible(b.data, b.len), want);
	}
	pv_buf_free(&b);
}
END_TEST

/* Append code point cp as UTF-8. */
static void put_utf8(struct pv_buf *b, uint32_t cp)
{
	if (cp < 0x80) {
		pv_buf_putc(b, (char)cp);
	} else if (cp < 0x800) {
		pv_buf_putc(b, (char)(0xc0 | cp >> 6));
		pv_buf_putc(b, (char)(0x80 | (cp & 0x3f)));
	} else {
		pv_buf_putc(b, (char)(0xe0 | cp >> 12));
		pv_buf_putc(b, (char)(0x80 | (cp >> 6 & 0x3f)));
		pv_buf_putc(b, (char)(0x80 | (cp & 0x3f)));
	}
}

/*
 * Length of the UTF-8 sequence at s that a JSON document may carry raw, or
 * 0: shortest form, no surrogate, at most U+10FFFF, and none of the
 * characters pv_json_string escapes (C0, '"', '\\', DEL, C1).  Written
 * apart from format.c's decoder on purpose.
 */
static size_t raw_ok(const unsigned char *s, size_t n)
{
	if (s[0] < 0x80)
		return s[0] >= 0x20 && s[0] != 0x7f && s[0] != '"' && s[0] != '\\';
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
	if (len == 0 || len > n || s[0] > 0xf4)
		return 0;
	uint32_t cp = s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	static const uint32_t min[] = {0, 0, 0xa0, 0x800, 0x10000};
	if (cp < min[len] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Check that j (n bytes) is one JSON string as pv_json_string must write
 * it, and decode it into out.  Returns NULL or what is wrong.
 */
static const char *json_decode(const char *j, size_t n, struct pv_buf *out)
{
	const unsigned char *p = (const unsigned char *)j;
	out->len = 0;
	if (n < 2 || p[0] != '"' || p[n - 1] != '"')
		return "not in quotes";
	for (size_t i = 1; i < n - 1;) {
		if (p[i] == '\\') {
			if (i + 1 >= n - 1)
				return "a lone backslash";
			char e = (char)p[i + 1];
			if (e == '"' || e == '\\') {
				pv_buf_putc(out, e);
				i += 2;
				continue;
			}
			if (e != 'u' || i + 6 > n - 1)
				return "an escape other than \\\", \\\\ and \\uXXXX";
			uint32_t cp = 0;
			for (int k = 0; k < 4; k++) {
				int h = hexval((char)p[i + 2 + k]);
				if (h < 0)
					return "a \\u escape without four lower-case hex digits";
				cp = cp << 4 | (uint32_t)h;
			}
			/* only what must be escaped is: controls, and U+FFFD */
			if (!(cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0xfffd))
				return "a \\u escape of a character that needs none";
			put_utf8(out, cp);
			i += 6;
			continue;
		}
		size_t len = raw_ok(p + i, n - 1 - i);
		if (len == 0)
			return "a raw byte that should have been escaped";
		pv_buf_add(out, p + i, len);
		i += len;
	}
	return NULL;
}

/* Undo pv_escape_text: "\\\\" and "\\xNN" back to bytes. */
static const char *text_decode(const char *t, size_t n, struct pv_buf *out)
{
	const unsigned char *p = (const unsigned char *)t;
	out->len = 0;
	for (size_t i = 0; i < n;) {
		if (p[i] == '\\') {
			if (i + 1 < n && p[i + 1] == '\\') {
				pv_buf_putc(out, '\\');
				i += 2;
				continue;
			}
			if (i + 3 >= n || p[i + 1] != 'x' || hexval((char)p[i + 2]) < 0 ||
			    hexval((char)p[i + 3]) < 0)
				return "a backslash not followed by \\ or xNN";
			pv_buf_putc(out,
				    (char)(hexval((char)p[i + 2]) << 4 | hexval((char)p[i + 3])));
			i += 4;
			continue;
		}
		/* raw: printable ASCII ('"' too) or valid UTF-8 that is not C1 */
		size_t len = p[i] == '"' ? 1 : raw_ok(p + i, n - i);
		if (len == 0)
			return "a raw control byte or invalid UTF-8";
		pv_buf_add(out, p + i, len);
		i += len;
	}
	return NULL;
}

/*
 * What the JSON text of in must decode to: '"', '\\', controls (C0, DEL,
 * C1) and valid UTF-8 as they are, U+FFFD for each other byte.
 */
static void json_model(const unsigned char *in, size_t n, struct pv_buf *out)
{
	out->len = 0;
	for (size_t i = 0; i < n;) {
		size_t len = raw_ok(in + i, n - i);
		if (in[i] < 0x20 || in[i] == 0x7f || in[i] == '"' || in[i] == '\\')
			len = 1;
		else if (in[i] == 0xc2 && i + 1 < n && in[i + 1] >= 0x80 && in[i + 1] <= 0x9f)
			len = 2;
		if (len)
			pv_buf_add(out, in + i, len);
		else
			pv_buf_puts(out, "\xef\xbf\xbd");
		i += len ? len : 1;
	}
}

/*
 * Every input of one and two bytes, and of three with a lead byte: the
 * JSON is a well-formed string with nothing raw that should be escaped,
 * and decodes to the input with U+FFFD for each byte of invalid UTF-8;
 * the terminal text has no raw control byte or invalid UTF-8 and decodes
 * to the input exactly.
 */
START_TEST(all_short_inputs_round_trip)
{
	struct pv_buf b, d, m;
	pv_buf_init(&b);
	pv_buf_init(&d);
	pv_buf_init(&m);
	for (unsigned x = 0; x < 256 + 65536 + 21 * 4096; x++) {
		unsigned char in[3];
		size_t n;
		if (x < 256) {
			in[0] = (unsigned char)x;
			n = 1;
		} else if (x < 256 + 65536) {
			in[0] = (unsigned char)((x - 256) >> 8);
			in[1] = (unsigned char)(x - 256);
			n = 2;
		} else {
			/* 0xe0..0xf4 leads with two bytes after, from 0x80..0xbf */
			unsigned y = x - 256 - 65536;
			in[0] = (unsigned char)(0xe0 + (y >> 12));
			in[1] = (unsigned char)(0x80 + (y >> 6 & 0x3f));
			in[2] = (unsigned char)(0x80 + (y & 0x3f));
			n = 3;
		}
		const char *s = (const char *)in;
		char shown[64];
		snprintf(shown, sizeof(shown), "%s", visible(s, n));

		run(pv_json_string, &b, s, n);
		const char *why = json_decode(b.data, b.len, &d);
		if (why)
			ck_abort_msg("pv_json_string(\"%s\") gave %s: %s", shown,
				     visible(b.data, b.len), why);
		json_model(in, n, &m);
		if (d.len != m.len || memcmp(d.data, m.data, m.len) != 0) {
			char want[64];
			snprintf(want, sizeof(want), "%s", visible(m.data, m.len));
			ck_abort_msg("pv_json_string(\"%s\") gave %s, which decodes to %s, "
				     "want %s",
				     shown, visible(b.data, b.len), visible(d.data, d.len), want);
		}

		run(pv_escape_text, &b, s, n);
		why = text_decode(b.data, b.len, &d);
		if (why)
			ck_abort_msg("pv_escape_text(\"%s\") gave %s: %s", shown,
				     visible(b.data, b.len), why);
		if (d.len != n || memcmp(d.data, in, n) != 0)
			ck_abort_msg("pv_escape_text(\"%s\") gave %s, which decodes to %s", shown,
				     visible(b.data, b.len), visible(d.data, d.len));
	}
	pv_buf_free(&b);
	pv_buf_free(&d);
	pv_buf_free(&m);
}
END_TEST

START_TEST(width_counts_code_points)
{
	ck_assert_uint_eq(pv_text_width("abc", 3), 3);
	ck_assert_uint_eq(pv_text_width("caf\xc3\xa9", 5), 4);
}
END_TEST

/*
 * Display columns in the C locale (the test's): a kana takes two, a
 * combining mark none, a byte that does not decode one.
 */
START_TEST(width_counts_display_columns)
{
	const char *server = "\xe3\x82\xb5\xe3\x83\xbc\xe3\x83\x90\xe3\x83\xbc"; /* サーバー */
	ck_assert_uint_eq(pv_text_width(server, strlen(server)), 8);
	ck_assert_uint_eq(pv_text_width("e\xcc\x81", 3), 1);
	ck_assert_uint_eq(pv_text_width("a\xff", 2), 2);
	/* one character at a time, as the live screen cuts a cell */
	size_t len;
	ck_assert_uint_eq(pv_char_width(server, strlen(server), &len), 2);
	ck_assert_uint_eq(len, 3);
	ck_assert_uint_eq(pv_char_width("\xff", 1, &len), 1);
	ck_assert_uint_eq(len, 1);
}
END_TEST

/* Short counts: exact below 10,000, then three significant digits. */
START_TEST(si_counts)
{
	static const struct {
		uint64_t v;
		const char *want;
	} cases[] = {
	    {0, "0"},
	    {9999, "9999"},
	    {10000, "10.0k"},
	    {12345, "12.3k"},
	    {99949, "99.9k"},
	    {99950, "100k"},
	    {999499, "999k"},
	    {999500, "1.00M"}, /* rounds up into the next prefix, not to "1000k" */
	    {1234567, "1.23M"},
	    {4328727272ull * 8, "34.6G"},
	    {1000000000000000000ull, "1.00E"},
	    {UINT64_MAX, "18.4E"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[PV_SI_MAX];
		size_t n = pv_format_si(out, cases[i].v);
		ck_assert_msg(strcmp(out, cases[i].want) == 0, "%llu: got %s, want %s",
			      (unsigned long long)cases[i].v, out, cases[i].want);
		ck_assert_uint_eq(n, strlen(cases[i].want));
	}
}
END_TEST

/* RFC 3339: UTC with Z, local time with its offset written +HH:MM. */
/*
 * A number written as printf's %u writes it: each power of ten and its
 * neighbours (where the digit count changes), every number below 200,000
 * (ports, PIDs, every pair of digits in every place), and the largest.
 */
START_TEST(uint_as_printf)
{
	char got[16], want[16];
	for (uint64_t v = 0; v <= UINT32_MAX; v = v < 200000 ? v + 1 : v * 3 + 7) {
		size_t n = pv_format_uint(got, (uint32_t)v);
		got[n] = '\0';
		snprintf(want, sizeof(want), "%u", (uint32_t)v);
		ck_assert_str_eq(got, want);
	}
	for (uint64_t p = 10; p <= 1000000000; p *= 10) {
		uint32_t around[] = {(uint32_t)(p - 1), (uint32_t)p, (uint32_t)(p + 1)};
		for (size_t i = 0; i < 3; i++) {
			size_t n = pv_format_uint(got, around[i]);
			got[n] = '\0';
			snprintf(want, sizeof(want), "%u", around[i]);
			ck_assert_str_eq(got, want);
		}
	}
	size_t n = pv_format_uint(got, UINT32_MAX);
	got[n] = '\0';
	ck_assert_str_eq(got, "4294967295");
}
END_TEST

/*
 * The widths the table measures without formatting (pv_uint_width,
 * pv_si_width) are the lengths the formatters write: every number to
 * 20,000, then ever larger ones, and each side of every power of ten
 * and of each prefix's rounding edges (9.995, 99.95, 999.5 of a prefix).
 */
/* pv_format_si as printf writes it: below 10,000 "%u", then three digits and a prefix. */
static void si_as_printf(uint64_t v, char *out, size_t size)
{
	if (v < 10000) {
		snprintf(out, size, "%u", (unsigned)v);
		return;
	}
	double d = (double)v / 1000;
	size_t u = 0;
	for (; d >= 999.5 && u < 5; u++)
		d /= 1000;
	snprintf(out, size, d < 9.995 ? "%.2f%c" : d < 99.95 ? "%.1f%c" : "%.0f%c", d, "kMGTPE"[u]);
}

/* (checked before asserting: each check assertion costs a write to the test's parent) */
static void si_width_is_length(uint64_t v)
{
	char out[PV_SI_MAX], text[32];
	size_t n = pv_format_si(out, v), w = pv_si_width(v);
	si_as_printf(v, text, sizeof(text));
	if (strcmp(out, text) != 0 || w != n)
		ck_abort_msg("%llu: pv_format_si \"%s\", printf \"%s\", pv_si_width %zu",
			     (unsigned long long)v, out, text, w);
	char digits[16], want[16];
	if (v <= UINT32_MAX) {
		/* printf's, as pv_format_uint writes its width's digits whatever it is */
		size_t len = (size_t)snprintf(want, sizeof(want), "%u", (unsigned)v);
		n = pv_format_uint(digits, (uint32_t)v);
		if (pv_uint_width((uint32_t)v) != len || n != len || memcmp(digits, want, len) != 0)
			ck_abort_msg("%llu: pv_uint_width %zu, pv_format_uint \"%.*s\"",
				     (unsigned long long)v, pv_uint_width((uint32_t)v), (int)n,
				     digits);
	}
}

START_TEST(widths_without_formatting)
{
	/*
	 * every count from 10.00k to 120.0k (each of their halves), then every
	 * seventh to a million (of 120k to 999k's halves, one in seven)
	 */
	for (uint64_t v = 10000; v < 1000000; v += v < 120000 ? 1 : 7)
		si_width_is_length(v);
	for (uint64_t v = 0; v < UINT64_MAX / 4; v = v < 20000 ? v + 1 : v * 3 / 2 + 7)
		si_width_is_length(v);
	si_width_is_length(UINT64_MAX);
	for (uint64_t p = 10; p <= UINT64_MAX / 10; p *= 10)
		for (uint64_t d = 0; d < 3; d++) {
			si_width_is_length(p - 1 + d);
			/* the rounding edges below each power: 9995, 99950, 999500 of it */
			si_width_is_length(p - p / 2000 - 1 + d);
			si_width_is_length(p - p / 20000 - 1 + d);
		}
}
END_TEST

START_TEST(rfc3339_times)
{
	char out[PV_TIME_MAX];
	struct timespec t = {.tv_sec = 1795599601, .tv_nsec = 234567891};
	ck_assert_uint_eq(pv_format_time(out, &t, true, true), 24);
	ck_assert_str_eq(out, "2026-11-25T09:40:01.234Z");
	pv_format_time(out, &t, true, false);
	ck_assert_str_eq(out, "2026-11-25T09:40:01Z");
	setenv("TZ", "UTC-05:30", 1); /* POSIX: five and a half hours east */
	tzset();
	pv_format_time(out, &t, false, true);
	ck_assert_str_eq(out, "2026-11-25T15:10:01.234+05:30");
	setenv("TZ", "UTC+03", 1);
	tzset();
	pv_format_time(out, &t, false, false);
	ck_assert_str_eq(out, "2026-11-25T06:40:01-03:00");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("format");
	TCase *tc = tcase_create("format");
	tcase_add_test(tc, ipv4);
	tcase_add_test(tc, uint_as_printf);
	tcase_add_test(tc, widths_without_formatting);
	tcase_add_test(tc, ipv6_bracketed);
	tcase_add_test(tc, link_local_scope);
	tcase_add_test(tc, ifcache_reuses_names);
	tcase_add_test(tc, escape_text_table);
	tcase_add_test(tc, json_string_table);
	tcase_add_test(tc, every_c0_control);
	tcase_add_test(tc, all_short_inputs_round_trip);
	tcase_add_test(tc, width_counts_code_points);
	tcase_add_test(tc, width_counts_display_columns);
	tcase_add_test(tc, si_counts);
	tcase_add_test(tc, rfc3339_times);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
