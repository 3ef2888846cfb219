/*
 * The parsers behind portview's options and sysctl reads, on arbitrary text.
 *
 * The input is split at '\n' into fields.  Each field, as a C string (cut at
 * its first NUL, as a command-line argument would be), goes to
 *   pv_state_parse_list, pv_parse_class_list, pv_parse_port_spec (against the
 *   compiled-in registry, loaded once), pv_parse_port_list,
 *   pv_parse_port_range_sysctl, pv_parse_dev (--dev), pv_parse_percent
 *   (--fail-on-pressure), pv_parse_seconds (an interval),
 * and, with its NULs, to pv_escape_text and pv_metrics_label; so does the
 * whole input.
 *
 * Checks:
 *   - return values are the documented ones; bad and badlen name one
 *     comma-separated item of the string;
 *   - masks only gain bits, and only known ones; a list that parses gives
 *     the OR of its items parsed one at a time; case does not matter;
 *   - port specs give at most PV_MAX_RANGES distinct ranges with lo <= hi,
 *     the ranges of numeric items are what the digits say, and the clause
 *     compiles to bytecode that passes the kernel's audit (bc_check.h);
 *   - the bitmap and range parsers agree with small reference parsers;
 *   - pv_escape_text output has no byte below 0x20 or 0x7f, is valid UTF-8
 *     with no C1 control, and unescapes back to the input exactly;
 *   - pv_parse_percent agrees with a reference (digits, one optional '%',
 *     at most 100), and pv_parse_seconds with one (digits, at most three
 *     decimals, 0.1 to 86400);
 *   - pv_metrics_label output is one quoted label value: valid UTF-8 without
 *     control characters, '"' and '\\' only escaped, and it unescapes back
 *     to the input wherever the input was text.
 */
#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bc_check.h"
#include "fuzz_util.h"
#include "portview/buf.h"
#include "portview/bytecode.h"
#include "portview/query.h"
#include "portview/format.h"
#include "portview/ports.h"
#include "portview/util.h"
#include "portview/services.h"
#include "portview/state.h"
#include "portview/summary.h"

static struct pv_services svc;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	pv_services_load(&svc, NULL);
	return 0;
}

/* bad and badlen must name one item of list: after its start or a comma, up to a comma or the end.
 */
static void check_bad_item(const char *list, const char *bad, size_t badlen, const char *what)
{
	size_t len = strlen(list);
	FUZZ_CHECK(bad >= list && bad <= list + len, "%s: bad points outside the string", what);
	size_t off = (size_t)(bad - list);
	FUZZ_CHECK(badlen <= len - off, "%s: badlen %zu runs past the end", what, badlen);
	FUZZ_CHECK(off == 0 || list[off - 1] == ',', "%s: bad item does not start an item", what);
	FUZZ_CHECK(memchr(bad, ',', badlen) == NULL, "%s: bad item spans a comma", what);
	FUZZ_CHECK(bad[badlen] == ',' || bad[badlen] == '\0', "%s: bad item is cut short", what);
}

static char *upper_dup(const char *s)
{
	char *u = strdup(s);
	FUZZ_CHECK(u != NULL, "out of memory");
	for (char *p = u; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return u;
}

typedef int (*list_parser)(const char *, void *, const char **, size_t *);

/* The parsers' why, as the item at fault and -EINVAL (0 when parsed). */
static int as_code(bool ok, const struct pv_why *w, const char **bad, size_t *badlen)
{
	if (ok)
		return 0;
	FUZZ_CHECK(w->why && w->why[0], "a refusal without a reason");
	*bad = w->item;
	*badlen = w->len;
	return -EINVAL;
}

static int state_parse(const char *s, void *mask, const char **bad, size_t *badlen)
{
	struct pv_why w;
	return as_code(pv_state_parse_list(s, mask, &w), &w, bad, badlen);
}

static int class_parse(const char *s, void *mask, const char **bad, size_t *badlen)
{
	uint8_t m = (uint8_t) * (uint32_t *)mask;
	struct pv_why w;
	int r = as_code(pv_parse_class_list(s, &m, &w), &w, bad, badlen);
	*(uint32_t *)mask = m;
	return r;
}

/* A list of names: documented returns, OR of items, case-insensitive. */
static void check_name_list(const char *s, list_parser parse, uint32_t known, uint32_t start,
			    const char *what)
{
	uint32_t mask = start;
	const char *bad = NULL;
	size_t badlen = 0;
	int r = parse(s, &mask, &bad, &badlen);
	FUZZ_CHECK(r == 0 || r == -EINVAL, "%s returned %d", what, r);
	FUZZ_CHECK((mask & start) == start, "%s cleared bits", what);
	FUZZ_CHECK((mask & ~start & ~known) == 0, "%s set unknown bits %#x", what,
		   mask & ~start & ~known);
	if (r != 0) {
		check_bad_item(s, bad, badlen, what);
		return;
	}

	/* Item by item. */
	uint32_t items = start;
	for (const char *p = s;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		char *item = strndup(p, n);
		FUZZ_CHECK(item != NULL, "out of memory");
		uint32_t m = 0;
		const char *b;
		size_t bl;
		FUZZ_CHECK(parse(item, &m, &b, &bl) == 0, "%s: item '%s' of a good list fails",
			   what, item);
		FUZZ_CHECK(m != 0, "%s: item '%s' selects nothing", what, item);
		items |= m;
		free(item);
		if (!comma)
			break;
		p = comma + 1;
	}
	FUZZ_CHECK(items == mask, "%s: list gives %#x, its items %#x", what, mask, items);

	char *u = upper_dup(s);
	uint32_t um = start;
	FUZZ_CHECK(parse(u, &um, &bad, &badlen) == 0 && um == mask, "%s: upper case differs", what);
	free(u);
}

/* A numeric port spec item ("N" or "N-M", digits only): its range, or false. */
static bool ref_numeric_item(const char *p, size_t n, struct pv_port_range *r)
{
	unsigned long v[2] = {0, 0};
	size_t k = 0, digits = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '-' && k == 0 && digits) {
			k = 1;
			digits = 0;
		} else if (p[i] >= '0' && p[i] <= '9') {
			v[k] = v[k] * 10 + (unsigned long)(p[i] - '0');
			if (v[k] > 65535)
				return false;
			digits++;
		} else {
			return false;
		}
	}
	if (!digits)
		return false;
	if (k == 0)
		v[1] = v[0];
	if (v[0] > v[1])
		return false;
	*r = (struct pv_port_range){(uint16_t)v[0], (uint16_t)v[1]};
	return true;
}

static bool clause_has(const struct pv_port_clause *c, struct pv_port_range r)
{
	for (size_t i = 0; i < c->nranges; i++)
		if (c->ranges[i].lo == r.lo && c->ranges[i].hi == r.hi)
			return true;
	return false;
}

static void check_compiles(const struct pv_port_clause *c)
{
	for (int eq = 0; eq < 2; eq++) {
		struct pv_buf b;
		fuzz_buf_init(&b);
		int r = pv_bc_compile(c, 1, NULL, 0, eq, &b);
		FUZZ_CHECK(r == 0, "pv_bc_compile of a parsed spec returned %d", r);
		if (b.len) {
			struct bcc_verdict v = bcc_audit((const uint8_t *)b.data, b.len);
			FUZZ_CHECK(v.why == NULL,
				   "parsed spec compiles to a program the kernel "
				   "refuses: %s at %zu",
				   v.why, v.pos);
		}
		pv_buf_free(&b);
	}
}

static void check_port_spec(const char *s, uint8_t sides)
{
	struct pv_port_clause c;
	memset(&c, 0, sizeof(c));
	c.sides = sides;
	static const char *const reasons[] = {"port out of range (0-65535)",
					      "range start is above its end",
					      "unknown service name",
					      "too many ports and ranges (at most 64 per option)",
					      "not a port, range N-M or service name",
					      "empty port",
					      "empty item in the list"};
	struct pv_why w = {0};
	bool ok = pv_parse_port_spec(s, &svc, &c, &w);
	const char *bad = w.item;
	size_t badlen = w.len;
	bool known = ok;
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]) && !ok; i++)
		known |= strcmp(w.why, reasons[i]) == 0;
	FUZZ_CHECK(known, "pv_parse_port_spec: undocumented reason '%s'", w.why);
	int r = ok ? 0 : strcmp(w.why, reasons[3]) == 0 ? -E2BIG : -EINVAL;
	FUZZ_CHECK(c.sides == sides, "pv_parse_port_spec changed sides");
	FUZZ_CHECK(c.nranges <= PV_MAX_RANGES, "%zu ranges", c.nranges);
	for (size_t i = 0; i < c.nranges; i++) {
		FUZZ_CHECK(c.ranges[i].lo <= c.ranges[i].hi, "range %zu: %u-%u", i, c.ranges[i].lo,
			   c.ranges[i].hi);
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(c.ranges[i].lo != c.ranges[j].lo ||
				       c.ranges[i].hi != c.ranges[j].hi,
				   "ranges %zu and %zu are the same", j, i);
	}
	if (r != 0) {
		check_bad_item(s, bad, badlen, "pv_parse_port_spec");
		FUZZ_CHECK(r != -E2BIG || c.nranges == PV_MAX_RANGES, "E2BIG with %zu ranges",
			   c.nranges);
		return;
	}
	/* Every numeric item is in the clause as written. */
	for (const char *p = s;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		struct pv_port_range want;
		if (n && p[0] >= '0' && p[0] <= '9') {
			FUZZ_CHECK(ref_numeric_item(p, n, &want), "numeric item '%.*s' accepted",
				   (int)n, p);
			FUZZ_CHECK(clause_has(&c, want), "item '%.*s' missing from the clause",
				   (int)n, p);
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	check_compiles(&c);
}

/* The kernel's ip_local_reserved_ports format, parsed independently. */
static int ref_bitmap(const char *s, uint8_t *bm)
{
	size_t i = strspn(s, " \n");
	if (s[i] == '\0')
		return 0;
	for (;;) {
		unsigned long v[2];
		for (int k = 0; k < 2; k++) {
			if (!isdigit((unsigned char)s[i]))
				return -EINVAL;
			v[k] = 0;
			while (isdigit((unsigned char)s[i])) {
				v[k] = v[k] * 10 + (unsigned long)(s[i++] - '0');
				if (v[k] > 65535)
					return -EINVAL;
			}
			if (k == 0) {
				v[1] = v[0];
				if (s[i] != '-')
					break;
				i++;
			}
		}
		if (v[1] < v[0])
			return -EINVAL;
		for (unsigned long p = v[0]; p <= v[1]; p++)
			bm[p / 8] |= (uint8_t)(1u << (p % 8));
		if (s[i] == ',') {
			i++;
			continue;
		}
		i += strspn(s + i, " \n");
		return s[i] == '\0' ? 0 : -EINVAL;
	}
}

static void check_bitmap(const char *s)
{
	static struct pv_portset got;
	static uint8_t want[8192];
	memset(&got, 0, sizeof(got));
	memset(want, 0, sizeof(want));
	int r = pv_parse_port_list(s, &got);
	int w = ref_bitmap(s, want);
	FUZZ_CHECK(r == w, "pv_parse_port_list returned %d, reference %d", r, w);
	if (r == 0)
		FUZZ_CHECK(memcmp(got.bits, want, sizeof(want)) == 0, "bitmaps differ");
}

/* "lo<ws>hi" with optional blanks around and a trailing newline, lo <= hi. */
static int ref_range(const char *s, unsigned long *lo, unsigned long *hi)
{
	size_t i = strspn(s, " \t");
	unsigned long v[2];
	for (int k = 0; k < 2; k++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		v[k] = 0;
		while (isdigit((unsigned char)s[i])) {
			v[k] = v[k] * 10 + (unsigned long)(s[i++] - '0');
			if (v[k] > 65535)
				return -EINVAL;
		}
		size_t ws = strspn(s + i, k == 0 ? " \t" : " \t\n");
		if (k == 0 && ws == 0)
			return -EINVAL;
		i += ws;
	}
	if (s[i] != '\0' || v[0] > v[1])
		return -EINVAL;
	*lo = v[0];
	*hi = v[1];
	return 0;
}

static void check_range(const char *s)
{
	uint16_t lo = 0, hi = 0;
	unsigned long wlo = 0, whi = 0;
	int r = pv_parse_port_range_sysctl(s, &lo, &hi);
	int w = ref_range(s, &wlo, &whi);
	FUZZ_CHECK(r == w, "pv_parse_port_range_sysctl returned %d, reference %d", r, w);
	if (r == 0)
		FUZZ_CHECK(lo == wlo && hi == whi, "range %u-%u, reference %lu-%lu", lo, hi, wlo,
			   whi);
}

/* Length of the UTF-8 sequence at s if well formed and not a control, else 0. */
static size_t utf8_ok(const uint8_t *s, size_t n, uint32_t *cpp)
{
	uint8_t c = s[0];
	size_t len;
	uint32_t cp, min;
	if (c < 0x80) {
		*cpp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		len = 2, cp = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3, cp = c & 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4, cp = c & 0x07, min = 0x10000;
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
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cpp = cp;
	return len;
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void check_escape(const uint8_t *s, size_t n)
{
	struct pv_buf b;
	fuzz_buf_init(&b);
	pv_buf_puts(&b, "x"); /* appends: what was there stays */
	pv_escape_text(&b, (const char *)s, n);
	FUZZ_CHECK(b.len >= 1 && b.data[0] == 'x', "pv_escape_text clobbered the buffer");
	const uint8_t *o = (const uint8_t *)b.data + 1;
	size_t on = b.len - 1;

	/* Safe for a terminal: printable ASCII or valid UTF-8 without C1 controls. */
	for (size_t i = 0; i < on;) {
		uint32_t cp;
		size_t l = utf8_ok(o + i, on - i, &cp);
		FUZZ_CHECK(l != 0, "output byte %zu (%#x) is not valid UTF-8", i, o[i]);
		FUZZ_CHECK(cp >= 0x20 && cp != 0x7f && !(cp >= 0x80 && cp <= 0x9f),
			   "output holds control U+%04X at %zu", cp, i);
		i += l;
	}

	/* Unescape: \\ and \xNN, everything else literal; must give the input. */
	uint8_t *u = malloc(on + 1);
	FUZZ_CHECK(u != NULL, "out of memory");
	size_t un = 0;
	for (size_t i = 0; i < on;) {
		if (o[i] != '\\') {
			u[un++] = o[i++];
			continue;
		}
		FUZZ_CHECK(i + 1 < on, "lone backslash at the end of the output");
		if (o[i + 1] == '\\') {
			u[un++] = '\\';
			i += 2;
			continue;
		}
		FUZZ_CHECK(o[i + 1] == 'x' && i + 3 < on && hexval(o[i + 2]) >= 0 &&
			       hexval(o[i + 3]) >= 0,
			   "bad escape at output byte %zu", i);
		u[un++] = (uint8_t)(hexval(o[i + 2]) << 4 | hexval(o[i + 3]));
		i += 4;
	}
	FUZZ_CHECK(un == n && memcmp(u, s, n) == 0, "escaped text does not unescape to the input");
	free(u);

	/* Text that needs no escaping passes unchanged. */
	bool clean = true;
	for (size_t i = 0; i < n && clean;) {
		uint32_t cp;
		size_t l = utf8_ok(s + i, n - i, &cp);
		if (l == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == '\\')
			clean = false;
		i += l ? l : 1;
	}
	if (clean)
		FUZZ_CHECK(on == n && memcmp(o, s, n) == 0, "clean text was changed");
	pv_buf_free(&b);
}

/* --fail-on-pressure's PCT against a reference parser. */
static void check_percent(const char *s)
{
	size_t n = strlen(s);
	if (n > 1 && s[n - 1] == '%')
		n--;
	bool digits = n > 0;
	for (size_t i = 0; i < n; i++)
		digits &= s[i] >= '0' && s[i] <= '9';
	size_t z = 0;
	while (digits && z + 1 < n && s[z] == '0')
		z++;
	long want = digits && n - z <= 3 ? strtol(s + z, NULL, 10) : -1;
	if (want > 100)
		want = -1;
	unsigned pct = 12345;
	struct pv_why w = {0};
	bool ok = pv_parse_percent(s, &pct, &w);
	FUZZ_CHECK(ok == (want >= 0), "pv_parse_percent('%s') %s", s, ok ? "accepted" : "refused");
	if (ok)
		FUZZ_CHECK((long)pct == want, "pv_parse_percent('%s') gave %u", s, pct);
	else
		FUZZ_CHECK(w.why && w.why[0] && pct == 12345,
			   "pv_parse_percent('%s'): no reason, or *pct written", s);
}

/*
 * An interval (SECONDS, --interval) against a reference: digits, then at
 * most one '.' and one to three digits, at least one digit in all, from
 * 100 to 86,400,000 milliseconds; refused with a reason and *ms untouched.
 */
static void check_seconds(const char *s)
{
	size_t n = strlen(s), i = 0, whole = 0, frac = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++, whole++;
	bool dot = i < n && s[i] == '.';
	if (dot)
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			frac++;
	long long want = -1;
	if (i == n && whole + frac > 0 && (!dot || frac > 0) && frac <= 3) {
		size_t z = 0;
		while (z + 1 < whole && s[z] == '0')
			z++;
		if (whole - z <= 6) {
			long long ms = 0;
			for (size_t k = z; k < whole; k++)
				ms = ms * 10 + (s[k] - '0');
			ms *= 1000;
			long long scale = 100;
			for (size_t k = 0; k < frac; k++, scale /= 10)
				ms += (s[whole + 1 + k] - '0') * scale;
			want = ms >= 100 && ms <= 86400000 ? ms : -1;
		}
	}
	uint32_t ms = 12345;
	struct pv_why w = {0};
	bool ok = pv_parse_seconds(s, &ms, &w);
	FUZZ_CHECK(ok == (want >= 0), "pv_parse_seconds('%s') %s", s, ok ? "accepted" : "refused");
	if (ok)
		FUZZ_CHECK(ms == want, "pv_parse_seconds('%s') gave %u ms", s, ms);
	else
		FUZZ_CHECK(w.why && w.why[0] && ms == 12345,
			   "pv_parse_seconds('%s'): no reason, or *ms written", s);
}

/* A label value of the Prometheus and OpenMetrics text formats. */
static void check_metrics_label(const uint8_t *s, size_t n)
{
	struct pv_buf b;
	fuzz_buf_init(&b);
	pv_metrics_label(&b, (const char *)s, n);
	const uint8_t *o = (const uint8_t *)b.data;
	size_t on = b.len;
	FUZZ_CHECK(on >= 2 && o[0] == '"' && o[on - 1] == '"', "label value not quoted");
	/* Unescape, checking the text between the quotes on the way. */
	uint8_t *u = malloc(on + 1);
	FUZZ_CHECK(u != NULL, "out of memory");
	size_t un = 0;
	for (size_t i = 1; i + 1 < on;) {
		uint32_t cp;
		size_t l = utf8_ok(o + i, on - 1 - i, &cp);
		FUZZ_CHECK(l != 0, "label byte %zu (%#x) is not valid UTF-8", i, o[i]);
		FUZZ_CHECK(cp >= 0x20 && cp != 0x7f && !(cp >= 0x80 && cp <= 0x9f),
			   "label holds control U+%04X at %zu", cp, i);
		FUZZ_CHECK(cp != '"', "unescaped quote at label byte %zu", i);
		if (cp == '\\') {
			FUZZ_CHECK(i + 2 < on &&
				       (o[i + 1] == '\\' || o[i + 1] == '"' || o[i + 1] == 'n'),
				   "bad escape at label byte %zu", i);
			u[un++] = o[i + 1] == 'n' ? '\n' : o[i + 1];
			i += 2;
			continue;
		}
		memcpy(u + un, o + i, l);
		un += l;
		i += l;
	}
	/* Text (valid UTF-8, no control but newline) comes back as it was. */
	bool text = true;
	for (size_t i = 0; i < n && text;) {
		uint32_t cp;
		size_t l = utf8_ok(s + i, n - i, &cp);
		text =
		    l && (cp == '\n' || (cp >= 0x20 && cp != 0x7f && !(cp >= 0x80 && cp <= 0x9f)));
		i += l ? l : 1;
	}
	if (text)
		FUZZ_CHECK(un == n && memcmp(u, s, n) == 0,
			   "text did not come back from its label value");
	else
		FUZZ_CHECK(memmem(u, un, "\xef\xbf\xbd", 3) != NULL,
			   "bytes that are not text left no U+FFFD");
	free(u);
	pv_buf_free(&b);
}

/* --dev: an index of 1 or more as the digits say, or a name the kernel knows. */
static void check_dev(const char *s)
{
	uint32_t idx = 0;
	struct pv_why w = {0};
	if (pv_parse_dev(s, &idx, &w)) {
		FUZZ_CHECK(idx >= 1, "--dev %s: index 0 accepted", s);
		bool digits = s[0] != '\0';
		for (const char *p = s; *p && digits; p++)
			digits = *p >= '0' && *p <= '9';
		FUZZ_CHECK(digits ? strtoull(s, NULL, 10) == idx : if_nametoindex(s) == idx,
			   "--dev %s: index %u is not the one named", s, idx);
	} else {
		FUZZ_CHECK(w.why && (strcmp(w.why, "no such interface") == 0 ||
				     strcmp(w.why, "empty interface name") == 0 ||
				     strcmp(w.why, "not an interface index (1 or more)") == 0),
			   "--dev %s: undocumented refusal", s);
	}
}

#define STATE_KNOWN PV_STATES_ALL
#define CLASS_KNOWN                                                                                \
	((1u << PV_CLASS_WELL_KNOWN) | (1u << PV_CLASS_REGISTERED) | (1u << PV_CLASS_DYNAMIC) |    \
	 PV_CLASS_EPHEMERAL_BIT)

static void check_field(const uint8_t *p, size_t n, size_t index)
{
	char *s = strndup((const char *)p, n); /* stops at a NUL, as argv would */
	FUZZ_CHECK(s != NULL, "out of memory");
	check_name_list(s, state_parse, STATE_KNOWN, index & 1 ? PV_SF(PV_TCP_LISTEN) : 0,
			"pv_state_parse_list");
	check_name_list(s, class_parse, CLASS_KNOWN, index & 1 ? PV_CLASS_EPHEMERAL_BIT : 0,
			"pv_parse_class_list");
	check_port_spec(s, (uint8_t)(index % 3 + 1));
	check_bitmap(s);
	check_range(s);
	check_escape(p, n);
	check_percent(s);
	check_seconds(s);
	check_metrics_label(p, n);
	check_dev(s);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0; /* nothing here gets more interesting with length */
	size_t index = 0;
	for (size_t start = 0; start <= size; index++) {
		const uint8_t *nl = memchr(data + start, '\n', size - start);
		size_t end = nl ? (size_t)(nl - data) : size;
		check_field(data + start, end - start, index);
		start = end + 1;
	}
	/* Whole, newlines included, for the sysctl parsers' line ends. */
	char *whole = strndup((const char *)data, size);
	FUZZ_CHECK(whole != NULL, "out of memory");
	check_bitmap(whole);
	check_range(whole);
	free(whole);
	check_escape(data, size);
	check_metrics_label(data, size);
	return 0;
}
