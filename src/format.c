#include "portview/format.h"
#include "portview/util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <wchar.h>

void pv_ifcache_init(struct pv_ifcache *c)
{
	c->n = 0;
	c->numeric = false;
}

const char *pv_ifcache_name(struct pv_ifcache *c, uint32_t ifindex, char tmp[IF_NAMESIZE])
{
	if (c) {
		for (unsigned i = 0; i < c->n; i++)
			if (c->index[i] == ifindex)
				return c->name[i];
	}
	char name[IF_NAMESIZE];
	if (c && c->numeric) {
		snprintf(tmp, IF_NAMESIZE, "%u", ifindex);
		return tmp;
	}
	if (!if_indextoname(ifindex, name))
		snprintf(name, sizeof(name), "%u", ifindex);
	if (c && c->n < ARRAY_SIZE(c->index)) {
		c->index[c->n] = ifindex;
		memcpy(c->name[c->n], name, sizeof(name));
		return c->name[c->n++];
	}
	memcpy(tmp, name, sizeof(name));
	return tmp;
}

static int is_link_local6(const uint8_t a[16])
{
	/* fe80::/10 unicast, ff02::/16 multicast */
	return (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || (a[0] == 0xff && (a[1] & 0x0f) == 0x02);
}

bool pv_endpoint_is_scoped(uint8_t family, const struct pv_endpoint *ep)
{
	return family == AF_INET6 && is_link_local6(ep->addr);
}

/* pv_format_si's decimal prefixes */
static const char si_prefix[] = "kMGTPE";

/* "00" to "99": two digits of a number at a time */
static const char two_digits[] = "00010203040506070809101112131415161718192021222324252627282930313"
				 "23334353637383940414243444546474849"
				 "50515253545556575859606162636465666768697071727374757677787980818"
				 "28384858687888990919293949596979899";

size_t pv_uint_width(uint32_t v)
{
	static const uint32_t tens[] = {1,	10,	 100,	   1000,      10000,
					100000, 1000000, 10000000, 100000000, 1000000000};
	/*
	 * The digits from the bit length: 1233 / 4096 is just over log10(2),
	 * so t is the count of digits or one less (v | 1: 0 is one digit,
	 * and no power of ten is odd but 1).
	 */
	uint32_t x = v | 1;
	unsigned t = (unsigned)(32 - __builtin_clz(x)) * 1233 >> 12;
	return t + 1 - (x < tens[t]);
}

size_t pv_format_uint(char *out, uint32_t v)
{
	size_t n = pv_uint_width(v);
	char *p = out + n;
	while (v >= 100) {
		uint32_t r = v % 100;
		v /= 100;
		p -= 2;
		memcpy(p, &two_digits[2 * r], 2);
	}
	if (v >= 10)
		memcpy(p - 2, &two_digits[2 * v], 2);
	else
		p[-1] = (char)('0' + v);
	return n;
}

/*
 * v at or above 10,000 scaled for its prefix: v / 1000^(*u + 1), the
 * prefix whose value, rounded to three digits, stays below 1000.
 */
static double si_scale(uint64_t v, size_t *u)
{
	double d = (double)v / 1000;
	for (*u = 0; d >= 999.5 && *u + 1 < sizeof(si_prefix) - 1; (*u)++)
		d /= 1000;
	return d;
}

/*
 * d, below 999.5, with dec (0 to 2) decimals as printf's "%.*f" writes it,
 * then the prefix.  printf rounds d's exact value; d times 10^dec is within
 * a few parts in 10^16 of it, so it rounds the same way unless its fraction
 * is about one half, where printf itself decides (a busy host's -i table
 * has four such numbers a row: printf for all took some 200 ns each).
 */
static size_t si_fixed(char *out, double d, int dec, char prefix)
{
	static const uint32_t ten[] = {1, 10, 100};
	double x = d * ten[dec];
	uint32_t q = (uint32_t)x; /* below 1000 */
	double frac = x - q;
	if (frac > 0.4999 && frac < 0.5001)
		return (size_t)snprintf(out, PV_SI_MAX, "%.*f%c", dec, d, prefix);
	q += frac > 0.5;
	char *p = out + pv_format_uint(out, q / ten[dec]);
	if (dec == 2) {
		*p++ = '.';
		memcpy(p, &two_digits[2 * (q % 100)], 2);
		p += 2;
	} else if (dec == 1) {
		*p++ = '.';
		*p++ = (char)('0' + q % 10);
	}
	*p++ = prefix;
	*p = '\0';
	return (size_t)(p - out);
}

size_t pv_format_si(char *out, uint64_t v)
{
	if (v < 10000) { /* most rates: an idle 0 */
		size_t n = pv_format_uint(out, (uint32_t)v);
		out[n] = '\0';
		return n;
	}
	size_t u;
	double d = si_scale(v, &u);
	return si_fixed(out, d, d < 9.995 ? 2 : d < 99.95 ? 1 : 0, si_prefix[u]);
}

size_t pv_si_width(uint64_t v)
{
	if (v < 10000)
		return pv_uint_width((uint32_t)v);
	size_t u;
	double d = si_scale(v, &u);
	/* 1.23k, 12.3k, 123k: below 999.5 always (2^64 is 18.4E) */
	return d < 99.95 ? 5 : d < 999.5 ? 4 : SIZE_MAX;
}

size_t pv_format_time(char *out, const struct timespec *t, bool utc, bool ms)
{
	struct tm tm;
	time_t sec = t->tv_sec;
	if (!(utc ? gmtime_r(&sec, &tm) : localtime_r(&sec, &tm))) {
		out[0] = '\0';
		return 0;
	}
	size_t n = strftime(out, PV_TIME_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
	if (ms)
		n += (size_t)snprintf(out + n, PV_TIME_MAX - n, ".%03ld", t->tv_nsec / 1000000);
	if (utc) {
		out[n++] = 'Z';
		out[n] = '\0';
		return n;
	}
	/* strftime's %z is +0100; RFC 3339 wants +01:00 */
	char z[8];
	if (strftime(z, sizeof(z), "%z", &tm) != 5) {
		out[n] = '\0';
		return n;
	}
	n += (size_t)snprintf(out + n, PV_TIME_MAX - n, "%.3s:%.2s", z, z + 3);
	return n;
}

size_t pv_format_endpoint(char *out, uint8_t family, const struct pv_endpoint *ep, uint32_t ifindex,
			  struct pv_ifcache *ifc)
{
	char addr[INET6_ADDRSTRLEN];
	int n;

	if (family == AF_INET) {
		/* the hot path of a large listing: no printf */
		size_t len = 0;
		for (int i = 0; i < 4; i++) {
			len += pv_format_uint(out + len, ep->addr[i]);
			out[len++] = i < 3 ? '.' : ':';
		}
		len += pv_format_uint(out + len, ep->port);
		out[len] = '\0';
		return len;
	} else {
		inet_ntop(AF_INET6, ep->addr, addr, sizeof(addr));
		if (ifindex && is_link_local6(ep->addr)) {
			char tmp[IF_NAMESIZE];
			n = snprintf(out, PV_ENDPOINT_MAX, "[%s%%%s]:%u", addr,
				     pv_ifcache_name(ifc, ifindex, tmp), ep->port);
		} else {
			n = snprintf(out, PV_ENDPOINT_MAX, "[%s]:%u", addr, ep->port);
		}
	}
	return n < 0 ? 0 : (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, UTF-16 surrogates, beyond Unicode */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	/* C1 control characters are as dangerous as C0 ones */
	if (cp >= 0x80 && cp <= 0x9f)
		return 0;
	return len;
}

size_t pv_escape_text_max(struct pv_buf *out, const char *s, size_t n, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, used = 0;

	while (i < n) {
		unsigned char c = p[i];
		size_t len = utf8_seq(p + i, n - i);
		size_t step = c == '\\' ? 2 : (len == 0 || c < 0x20 || c == 0x7f) ? 4 : len;
		if (used + step > max)
			break;
		used += step;
		if (c == '\\') {
			pv_buf_add(out, "\\\\", 2);
			i++;
		} else if (len == 0 || c < 0x20 || c == 0x7f) {
			char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
			pv_buf_add(out, e, 4);
			i++;
		} else {
			pv_buf_add(out, p + i, len);
			i += len;
		}
	}
	return i;
}

void pv_escape_text(struct pv_buf *out, const char *s, size_t n)
{
	pv_escape_text_max(out, s, n, SIZE_MAX);
}

void pv_json_string(struct pv_buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	pv_buf_putc(out, '"');
	while (i < n) {
		unsigned char c = p[i];
		size_t len = utf8_seq(p + i, n - i);
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			pv_buf_add(out, e, 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			pv_buf_add(out, e, 6);
			i++;
		} else if (len == 0 && c == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 &&
			   p[i + 1] <= 0x9f) {
			/* a C1 control character, valid UTF-8 but escaped */
			char e[6] = {'\\', 'u', '0', '0', hex[p[i + 1] >> 4], hex[p[i + 1] & 15]};
			pv_buf_add(out, e, 6);
			i += 2;
		} else if (len == 0) {
			pv_buf_puts(out, "\\ufffd");
			i++;
		} else {
			pv_buf_add(out, p + i, len);
			i += len;
		}
	}
	pv_buf_putc(out, '"');
}

void pv_metrics_label(struct pv_buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	pv_buf_putc(out, '"');
	while (i < n) {
		unsigned char c = p[i];
		size_t len = utf8_seq(p + i, n - i);
		if (c == '\\' || c == '"') {
			char e[2] = {'\\', (char)c};
			pv_buf_add(out, e, 2);
			i++;
		} else if (c == '\n') {
			pv_buf_add(out, "\\n", 2);
			i++;
		} else if (c < 0x20 || c == 0x7f || len == 0) {
			/* U+FFFD for what is not text: invalid UTF-8, controls, C1 */
			bool c1 = c == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f;
			pv_buf_add(out, "\xef\xbf\xbd", 3);
			i += c1 ? 2 : 1;
		} else {
			pv_buf_add(out, p + i, len);
			i += len;
		}
	}
	pv_buf_putc(out, '"');
}

/*
 * Where the locale cannot say (C, POSIX: wcwidth is -1 beyond ASCII),
 * the terminal is still most likely UTF-8 and shows what the escaping
 * let through: East Asian wide and fullwidth characters take two
 * columns, combining marks none.
 */
static int fallback_width(uint32_t cp)
{
	static const uint32_t zero[][2] = {{0x0300, 0x036f}, {0x1ab0, 0x1aff}, {0x1dc0, 0x1dff},
					   {0x200b, 0x200f}, {0x20d0, 0x20ff}, {0xfe00, 0xfe0f},
					   {0xfe20, 0xfe2f}};
	static const uint32_t wide[][2] = {
	    {0x1100, 0x115f},	{0x2e80, 0x303e},   {0x3041, 0x33ff}, {0x3400, 0x4dbf},
	    {0x4e00, 0x9fff},	{0xa000, 0xa4cf},   {0xac00, 0xd7a3}, {0xf900, 0xfaff},
	    {0xfe30, 0xfe4f},	{0xff00, 0xff60},   {0xffe0, 0xffe6}, {0x1f300, 0x1f64f},
	    {0x1f900, 0x1f9ff}, {0x20000, 0x3fffd},
	};
	for (size_t i = 0; i < ARRAY_SIZE(zero); i++)
		if (cp >= zero[i][0] && cp <= zero[i][1])
			return 0;
	for (size_t i = 0; i < ARRAY_SIZE(wide); i++)
		if (cp >= wide[i][0] && cp <= wide[i][1])
			return 2;
	return 1;
}

/* The code point of the valid sequence of len bytes at p. */
static uint32_t utf8_cp(const unsigned char *p, size_t len)
{
	static const unsigned char lead_mask[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
	uint32_t cp = p[0] & lead_mask[len];
	for (size_t i = 1; i < len; i++)
		cp = cp << 6 | (p[i] & 0x3f);
	return cp;
}

/* Columns of the character at p (its length in *len), never negative. */
static size_t char_width(const unsigned char *p, size_t n, size_t *len)
{
	if (p[0] < 0x80) {
		*len = 1;
		return 1;
	}
	*len = utf8_seq(p, n);
	if (*len <= 1) {
		*len = 1; /* ASCII, or a byte that does not decode: escaped, so shown as one */
		return 1;
	}
	uint32_t cp = utf8_cp(p, *len);
	int w = wcwidth((wchar_t)cp);
	return (size_t)(w >= 0 ? w : fallback_width(cp));
}

size_t pv_char_width(const char *s, size_t n, size_t *len)
{
	return char_width((const unsigned char *)s, n, len);
}

size_t pv_text_width(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0, i = 0;
	while (i < n && p[i] < 0x80) /* ASCII, nearly every cell: a column a byte */
		i++;
	w = i;
	while (i < n) {
		size_t len;
		w += char_width(p + i, n - i, &len);
		i += len;
	}
	return w;
}
