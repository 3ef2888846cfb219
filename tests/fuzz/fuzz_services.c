/*
 * pv_services_load() on an arbitrary /etc/services file, then lookups.
 *
 * The input is the file (written to a memfd, opened by its /proc/self/fd
 * path; a temporary file where that does not work).  An input starting with
 * "#BIG\n" is instead placed at the end of a 4 MiB file of comment lines so
 * that the MAX_FILE cut (whole lines within the first 4 MiB) falls inside
 * it.
 *
 * A model of the documented format (services.c, services.h) parses the same
 * bytes: lines split at '\n'; a line longer than 1024 bytes or holding a NUL
 * is skipped; '#' starts a comment; outside the comment only blanks
 * (space, \t, \r, \v, \f) and printable ASCII are allowed; words: name,
 * port/proto (decimal 0-65535, proto tcp/udp/sctp/dccp in lower case),
 * aliases.  Checks:
 *   - the loaded entries are the model's, sorted by (port, proto), equal
 *     keys in line order, field by field;
 *   - lookups by port and by name (of names and aliases in the file, and
 *     their upper-case spelling) give the file's entries first, in
 *     (port, proto) order, then exactly what the bare IANA registry gives;
 *   - a smaller max stores a prefix and returns the same count;
 *   - pv_services_free releases everything (LeakSanitizer).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "portview/services.h"

#define MAX_FILE ((size_t)4 << 20)
#define MAX_LINE 1024
#define MAX_OUT	 256

static const char big_magic[] = "#BIG\n";

static struct pv_services bare; /* the IANA registry alone */
static int file_fd = -1;
static char file_path[64];
static uint8_t *filler; /* MAX_FILE bytes of comment lines */

/* ---- the model ----------------------------------------------------------- */

struct ref_entry {
	char *name;
	char *aliases;
	uint16_t port;
	uint8_t proto;
	size_t line; /* line order, for ties */
};

struct ref {
	struct ref_entry *v;
	size_t n, cap;
};

static bool blank(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool parse_pp(const uint8_t *w, size_t n, uint16_t *port, uint8_t *proto)
{
	static const struct {
		const char *name;
		uint8_t num;
	} protos[] = {
	    {"tcp", 6}, {"udp", 17}, {"sctp", PV_IPPROTO_SCTP}, {"dccp", PV_IPPROTO_DCCP}};
	size_t i = 0;
	unsigned long v = 0;
	while (i < n && w[i] >= '0' && w[i] <= '9') {
		v = v * 10 + (w[i] - '0');
		if (v > 65535)
			return false;
		i++;
	}
	if (i == 0 || i == n || w[i] != '/')
		return false;
	i++;
	for (size_t k = 0; k < sizeof(protos) / sizeof(protos[0]); k++) {
		if (strlen(protos[k].name) == n - i && memcmp(protos[k].name, w + i, n - i) == 0) {
			*port = (uint16_t)v;
			*proto = protos[k].num;
			return true;
		}
	}
	return false;
}

static void ref_line(struct ref *r, const uint8_t *line, size_t len, size_t lineno)
{
	if (len > MAX_LINE || memchr(line, 0, len))
		return;
	const uint8_t *hash = memchr(line, '#', len);
	if (hash)
		len = (size_t)(hash - line);
	for (size_t i = 0; i < len; i++)
		if (!blank(line[i]) && !(line[i] >= 0x21 && line[i] <= 0x7e))
			return;

	/* words */
	size_t ws[MAX_LINE], wl[MAX_LINE], nw = 0;
	for (size_t i = 0; i < len;) {
		while (i < len && blank(line[i]))
			i++;
		if (i == len)
			break;
		ws[nw] = i;
		while (i < len && !blank(line[i]))
			i++;
		wl[nw] = i - ws[nw];
		nw++;
	}
	struct ref_entry e = {.line = lineno};
	if (nw < 2 || !parse_pp(line + ws[1], wl[1], &e.port, &e.proto))
		return;
	e.name = strndup((const char *)line + ws[0], wl[0]);
	size_t alen = 0;
	for (size_t k = 2; k < nw; k++)
		alen += wl[k] + 1;
	e.aliases = calloc(1, alen + 1);
	FUZZ_CHECK(e.name && e.aliases, "out of memory");
	for (size_t k = 2; k < nw; k++) {
		if (k > 2)
			strcat(e.aliases, " ");
		strncat(e.aliases, (const char *)line + ws[k], wl[k]);
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->v = realloc(r->v, r->cap * sizeof(*r->v));
		FUZZ_CHECK(r->v != NULL, "out of memory");
	}
	r->v[r->n++] = e;
}

static int ref_cmp(const void *a, const void *b)
{
	const struct ref_entry *x = a, *y = b;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static void ref_build(struct ref *r, const uint8_t *text, size_t len)
{
	memset(r, 0, sizeof(*r));
	if (len > MAX_FILE) {
		const uint8_t *nl = memrchr(text, '\n', MAX_FILE);
		len = nl ? (size_t)(nl - text) + 1 : 0;
	}
	size_t lineno = 0;
	for (size_t p = 0; p < len; lineno++) {
		const uint8_t *nl = memchr(text + p, '\n', len - p);
		size_t l = nl ? (size_t)(nl - (text + p)) : len - p;
		ref_line(r, text + p, l, lineno);
		p += l + 1;
	}
	if (r->n > 1)
		qsort(r->v, r->n, sizeof(*r->v), ref_cmp);
}

static void ref_free(struct ref *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].name);
		free(r->v[i].aliases);
	}
	free(r->v);
}

static bool word_in(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		const char *sp = strchr(p, ' ');
		size_t l = sp ? (size_t)(sp - p) : strlen(p);
		if (l == n && strncasecmp(p, name, n) == 0)
			return true;
		if (!sp)
			break;
		p = sp + 1;
	}
	return false;
}

/* ---- setup --------------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	pv_services_load(&bare, NULL);

	/* The compiled-in table is sorted by (port, proto), one row per key. */
	size_t n;
	const struct pv_service *iana = pv_services_iana(&bare, &n);
	for (size_t i = 1; i < n; i++) {
		const struct pv_service *a = &iana[i - 1], *b = &iana[i];
		FUZZ_CHECK(a->port < b->port || (a->port == b->port && a->proto < b->proto),
			   "the IANA table not sorted at %zu", i);
	}

	file_fd = memfd_create("services", MFD_CLOEXEC);
	if (file_fd >= 0) {
		snprintf(file_path, sizeof(file_path), "/proc/self/fd/%d", file_fd);
		int probe = open(file_path, O_RDONLY | O_CLOEXEC);
		if (probe >= 0) {
			close(probe);
		} else {
			close(file_fd);
			file_fd = -1;
		}
	}
	if (file_fd < 0) {
		const char *tmp = getenv("TMPDIR");
		snprintf(file_path, sizeof(file_path), "%s/pv-fuzz-services-XXXXXX",
			 tmp && strlen(tmp) < 30 ? tmp : "/tmp");
		file_fd = mkstemp(file_path);
		FUZZ_CHECK(file_fd >= 0, "cannot make a temporary file: %s", strerror(errno));
	}

	filler = malloc(MAX_FILE);
	FUZZ_CHECK(filler != NULL, "out of memory");
	for (size_t i = 0; i < MAX_FILE; i++)
		filler[i] = i % 1000 == 999 ? '\n' : i % 1000 == 0 ? '#' : ' ';
	return 0;
}

static void write_all(const uint8_t *p, size_t n, off_t off)
{
	while (n) {
		ssize_t w = pwrite(file_fd, p, n, off);
		if (w < 0 && errno == EINTR)
			continue;
		FUZZ_CHECK(w > 0, "write: %s", strerror(errno));
		p += w;
		n -= (size_t)w;
		off += w;
	}
}

/* ---- checks -------------------------------------------------------------- */

static void check_entries(const struct pv_services *s, const struct ref *r)
{
	FUZZ_CHECK(s->netc == r->n, "%zu entries loaded, the format gives %zu", s->netc, r->n);
	for (size_t i = 0; i < r->n; i++) {
		const struct pv_service *e = &s->etc[i];
		const struct ref_entry *w = &r->v[i];
		FUZZ_CHECK(e->port == w->port && e->proto == w->proto,
			   "entry %zu is %u/%u, want %u/%u", i, e->port, e->proto, w->port,
			   w->proto);
		FUZZ_CHECK(strcmp(e->name, w->name) == 0, "entry %zu name '%s', want '%s'", i,
			   e->name, w->name);
		FUZZ_CHECK(strcmp(e->aliases, w->aliases) == 0, "entry %zu aliases '%s', want '%s'",
			   i, e->aliases, w->aliases);
		FUZZ_CHECK(e->description && e->description[0] == '\0', "entry %zu description", i);
		FUZZ_CHECK(e->source == PV_SRC_ETC, "entry %zu source %u", i, e->source);
	}
}

/*
 * Entry a of s and entry b of the bare registry are the same IANA row:
 * each registry makes its own entries of the rows (services.h).
 */
static bool same_row(const struct pv_services *s, const struct pv_service *a,
		     const struct pv_service *b)
{
	size_t n = pv_iana_count;
	return a >= s->iana && a < s->iana + n && b >= bare.iana && b < bare.iana + n &&
	       a - s->iana == b - bare.iana;
}

/* The file's entries, then the bare registry's, for port (proto 0: any). */
static void check_port(const struct pv_services *s, const struct ref *r, uint16_t port,
		       uint8_t proto)
{
	static const struct pv_service *got[MAX_OUT], *iana[MAX_OUT], *few[2];
	size_t n = pv_services_all_by_port(s, port, proto, got, MAX_OUT);
	size_t ni = pv_services_all_by_port(&bare, port, proto, iana, MAX_OUT);
	size_t k = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (r->v[i].port != port || (proto && r->v[i].proto != proto))
			continue;
		FUZZ_CHECK(k < n && got[k] == &s->etc[i],
			   "by port %u/%u: result %zu is not entry %zu", port, proto, k, i);
		k++;
	}
	FUZZ_CHECK(n == k + ni, "by port %u/%u: %zu results, want %zu + %zu", port, proto, n, k,
		   ni);
	for (size_t i = 0; i < ni && k + i < MAX_OUT; i++)
		FUZZ_CHECK(same_row(s, got[k + i], iana[i]),
			   "by port %u/%u: IANA result %zu differs", port, proto, i);

	size_t nf = pv_services_all_by_port(s, port, proto, few, 1);
	FUZZ_CHECK(nf == n && (n == 0 || few[0] == got[0]), "by port with max 1");

	/* The one name shown: the first of those. */
	const struct pv_service *first = pv_services_by_port(s, port, proto);
	FUZZ_CHECK(first == (n ? got[0] : NULL), "pv_services_by_port %u/%u", port, proto);
}

static void check_name(const struct pv_services *s, const struct ref *r, const char *name)
{
	static const struct pv_service *got[MAX_OUT], *iana[MAX_OUT], *few[2];
	size_t n = pv_services_all_by_name(s, name, got, MAX_OUT);
	size_t ni = pv_services_all_by_name(&bare, name, iana, MAX_OUT);
	size_t k = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (strcasecmp(r->v[i].name, name) != 0 && !word_in(r->v[i].aliases, name))
			continue;
		FUZZ_CHECK(k < n && (k >= MAX_OUT || got[k] == &s->etc[i]),
			   "by name '%s': result %zu is not entry %zu", name, k, i);
		k++;
	}
	FUZZ_CHECK(n == k + ni, "by name '%s': %zu results, want %zu + %zu", name, n, k, ni);
	for (size_t i = 0; i < ni && k + i < MAX_OUT; i++)
		FUZZ_CHECK(same_row(s, got[k + i], iana[i]),
			   "by name '%s': IANA result %zu differs", name, i);

	size_t nf = pv_services_all_by_name(s, name, few, 2);
	FUZZ_CHECK(nf == n, "by name '%s' with max 2: %zu, not %zu", name, nf, n);
	for (size_t i = 0; i < nf && i < 2; i++)
		FUZZ_CHECK(few[i] == got[i], "by name '%s' with max 2: result %zu", name, i);
}

static void check_name_and_upper(const struct pv_services *s, const struct ref *r, const char *name)
{
	char buf[MAX_LINE + 1];
	check_name(s, r, name);
	size_t n = strlen(name);
	for (size_t i = 0; i <= n; i++)
		buf[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 'a' + 'A' : name[i]);
	check_name(s, r, buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 64 * 1024)
		return 0;
	bool big =
	    size >= sizeof(big_magic) - 1 && memcmp(data, big_magic, sizeof(big_magic) - 1) == 0;
	size_t pad = big ? MAX_FILE - size / 2 : 0;

	FUZZ_CHECK(ftruncate(file_fd, 0) == 0, "ftruncate: %s", strerror(errno));
	if (pad)
		write_all(filler, pad, 0);
	write_all(data, size, (off_t)pad);

	uint8_t *text = malloc(pad + size + 1);
	FUZZ_CHECK(text != NULL, "out of memory");
	memcpy(text, filler, pad);
	memcpy(text + pad, data, size);
	struct ref r;
	ref_build(&r, text, pad + size);
	free(text);

	struct pv_services s;
	pv_services_load(&s, file_path);
	check_entries(&s, &r);

	/*
	 * Ports and names of a few of the file's entries (each lookup by name
	 * scans the IANA table's aliases, so not many), and some fixed ones.
	 */
	size_t step = r.n > 4 ? r.n / 4 : 1;
	for (size_t i = 0; i < r.n; i += step) {
		check_port(&s, &r, r.v[i].port, r.v[i].proto);
		check_port(&s, &r, r.v[i].port, 0);
		if (i == 0)
			check_name_and_upper(&s, &r, r.v[i].name);
		else
			check_name(&s, &r, r.v[i].name);
		char *a = r.v[i].aliases;
		if (a[0]) {
			char *sp = strchr(a, ' ');
			char first[MAX_LINE + 1];
			size_t l = sp ? (size_t)(sp - a) : strlen(a);
			memcpy(first, a, l);
			first[l] = '\0';
			if (i == 0)
				check_name_and_upper(&s, &r, first);
			else
				check_name(&s, &r, first);
		}
	}
	static const uint16_t ports[] = {0, 22, 80, 443, 65535};
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		check_port(&s, &r, ports[i], 0);
		check_port(&s, &r, ports[i], 6);
	}
	check_name(&s, &r, "http");
	check_name(&s, &r, "");

	pv_services_free(&s);
	FUZZ_CHECK(s.etc == NULL && s.netc == 0 && s.etc_text == NULL && s.iana_by_name == NULL &&
		       s.etc_by_name == NULL,
		   "pv_services_free left pointers behind");
	ref_free(&r);
	return 0;
}
