/*
 * Service names: the compiled-in IANA table (tools/gen-services.py makes it
 * from data/iana-services.tsv), overlaid by /etc/services.
 *
 * Both sources are arrays sorted by (port, proto), so lookups by port are
 * binary searches.  The IANA rows hold offsets into one text; a loaded
 * registry makes entries of them a group at a time, as lookups reach them
 * (a listing of a busy host reaches a few dozen of some 90 groups).  Lookups by name binary-search
 * an index of pointers sorted by name (case-insensitive, ties in array order); aliases have no
 * index of their own and are found by a scan of the entries, which is cheap for the once-per-run
 * lookups by name a user asks for.
 */
#include "portview/services.h"
#include "portview/buf.h"
#include "portview/util.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Limits on /etc/services.  Only a regular file is read (so a FIFO or a
 * device cannot block or flood us).  Of a file bigger than MAX_FILE, the
 * whole lines within its first MAX_FILE bytes are used and the rest is
 * ignored.  A line longer than MAX_LINE bytes is skipped, whatever it holds.
 */
#define MAX_FILE ((size_t)4 << 20)
#define MAX_LINE 1024

/* The sort key of an entry: port, then protocol number. */
static uint32_t key_of(uint16_t port, uint8_t proto)
{
	return (uint32_t)port << 8 | proto;
}

/* The key of entry i of an /etc/services array, or of IANA row i. */
static uint32_t entry_key(const void *arr, size_t i)
{
	const struct pv_service *e = (const struct pv_service *)arr + i;
	return key_of(e->port, e->proto);
}

static uint32_t row_key(const void *arr, size_t i)
{
	const struct pv_iana_row *r = (const struct pv_iana_row *)arr + i;
	return key_of(r->port, r->proto);
}

/* The index of the first of n items of arr whose key is key or more. */
static size_t lower_bound(const void *arr, size_t n, uint32_t (*key_at)(const void *, size_t),
			  uint32_t key)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (key_at(arr, mid) < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The items of arr for port and proto (any protocol when proto is 0): [*lo, *hi). */
static void key_range(const void *arr, size_t n, uint32_t (*key_at)(const void *, size_t),
		      uint16_t port, uint8_t proto, size_t *lo, size_t *hi)
{
	uint32_t first = key_of(port, proto);
	uint32_t last = key_of(port, proto ? proto : UINT8_MAX);
	*lo = lower_bound(arr, n, key_at, first);
	*hi = lower_bound(arr, n, key_at, last + 1);
}

/* The entries of arr (an /etc/services array) for port and proto. */
static void port_range(const struct pv_service *arr, size_t n, uint16_t port, uint8_t proto,
		       size_t *lo, size_t *hi)
{
	key_range(arr, n, entry_key, port, proto, lo, hi);
}

/* The IANA rows for port and proto. */
static void row_range(uint16_t port, uint8_t proto, size_t *lo, size_t *hi)
{
	key_range(pv_iana_rows, pv_iana_count, row_key, port, proto, lo, hi);
}

static int cmp_by_name(const void *a, const void *b)
{
	const struct pv_service *x = *(const struct pv_service *const *)a;
	const struct pv_service *y = *(const struct pv_service *const *)b;
	int c = strcasecmp(x->name, y->name);
	if (c)
		return c;
	/* Both point into the same array: keep its order. */
	return (x > y) - (x < y);
}

static const struct pv_service **name_index(const struct pv_service *arr, size_t n)
{
	const struct pv_service **idx = xreallocarray(NULL, n, sizeof(*idx));
	for (size_t i = 0; i < n; i++)
		idx[i] = &arr[i];
	if (n > 1)
		qsort(idx, n, sizeof(*idx), cmp_by_name);
	return idx;
}

static int cmp_by_port(const void *a, const void *b)
{
	const struct pv_service *x = a;
	const struct pv_service *y = b;
	uint32_t kx = key_of(x->port, x->proto);
	uint32_t ky = key_of(y->port, y->proto);
	if (kx != ky)
		return kx < ky ? -1 : 1;
	/* Names point into the file text in line order: the first line comes first. */
	return (x->name > y->name) - (x->name < y->name);
}

/*
 * Read the regular file at path, or its first MAX_FILE bytes of whole lines.
 * Returns a malloc'ed, NUL-terminated buffer and its length (without the NUL),
 * or NULL when the file cannot be read or holds nothing.
 */
static char *read_text(const char *path, size_t *lenp)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return NULL;
	}
	size_t cap = 4096;
	if (st.st_size >= (off_t)MAX_FILE)
		cap = MAX_FILE + 1;
	else if (st.st_size >= (off_t)cap)
		cap = (size_t)st.st_size + 1;
	char *buf = xmalloc(cap);
	size_t len = 0;
	for (;;) {
		if (len == cap) {
			if (cap > MAX_FILE)
				break;
			cap = cap > MAX_FILE / 2 ? MAX_FILE + 1 : cap * 2;
			buf = xrealloc(buf, cap);
		}
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			close(fd);
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (len > MAX_FILE) {
		const char *nl = memrchr(buf, '\n', MAX_FILE);
		len = nl ? (size_t)(nl - buf) + 1 : 0;
	}
	if (len == 0) {
		free(buf);
		return NULL;
	}
	/* Here len < cap: every read that filled the buffer was followed by another. */
	buf[len] = '\0';
	if (cap - len > 4096)
		buf = xrealloc(buf, len + 1);
	*lenp = len;
	return buf;
}

static bool is_sep(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_graph(char c)
{
	return (unsigned char)c >= 0x21 && (unsigned char)c <= 0x7e;
}

/* The next word of line[*pos, len): its offset and length.  False at the end. */
static bool next_word(const char *line, size_t len, size_t *pos, size_t *start, size_t *wlen)
{
	size_t i = *pos;
	while (i < len && is_sep(line[i]))
		i++;
	if (i == len)
		return false;
	*start = i;
	while (i < len && !is_sep(line[i]))
		i++;
	*wlen = i - *start;
	*pos = i;
	return true;
}

/* "port/proto": port decimal 0-65535, proto one of protos[] (lower case, as glibc wants). */
static bool parse_port_proto(const char *s, size_t n, uint16_t *port, uint8_t *proto)
{
	const char *slash = memchr(s, '/', n);
	uint64_t v;
	if (!slash || pv_parse_uint(s, (size_t)(slash - s), UINT16_MAX, &v) < 0)
		return false;
	const char *name = slash + 1;
	if (pv_proto_parse(name, n - (size_t)(name - s), false, proto) < 0)
		return false;
	*port = (uint16_t)v;
	return true;
}

/*
 * Parse one line of /etc/services, "name port/proto [alias...] [# comment]",
 * given without its newline; line[len] must be writable.  Returns false for
 * blank, comment and malformed lines: too long, holding a NUL, a word with a
 * byte outside printable ASCII, a bad port or an unknown protocol.  Otherwise
 * fills e, NUL-terminating the name and rewriting the aliases in place as one
 * space-separated string.
 */
static bool parse_line(char *line, size_t len, struct pv_service *e)
{
	if (len > MAX_LINE || memchr(line, '\0', len))
		return false;
	const char *hash = memchr(line, '#', len);
	if (hash)
		len = (size_t)(hash - line);
	for (size_t i = 0; i < len; i++) {
		if (!is_sep(line[i]) && !is_graph(line[i]))
			return false;
	}
	size_t pos = 0, name, name_len, pp, pp_len;
	if (!next_word(line, len, &pos, &name, &name_len) ||
	    !next_word(line, len, &pos, &pp, &pp_len) ||
	    !parse_port_proto(line + pp, pp_len, &e->port, &e->proto))
		return false;

	line[name + name_len] = '\0'; /* a separator: the port follows */
	e->name = line + name;
	e->aliases = "";
	e->description = "";
	e->source = PV_SRC_ETC;
	/* The aliases move left over the separators; line[len] takes the NUL. */
	char *w = NULL;
	size_t a, alen;
	while (next_word(line, len, &pos, &a, &alen)) {
		if (w) {
			*w++ = ' ';
		} else {
			w = line + a;
			e->aliases = w;
		}
		memmove(w, line + a, alen);
		w += alen;
	}
	if (w)
		*w = '\0';
	return true;
}

static void load_etc(struct pv_services *s, const char *path)
{
	size_t len;
	char *text = read_text(path, &len);
	if (!text)
		return;
	struct pv_service *v = NULL;
	size_t n = 0, cap = 0;
	for (char *p = text, *end = text + len; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct pv_service e;
		if (parse_line(p, l, &e)) {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				v = xreallocarray(v, cap, sizeof(*v));
			}
			v[n++] = e;
		}
		p += l + 1;
	}
	if (n == 0) {
		free(text);
		return;
	}
	qsort(v, n, sizeof(*v), cmp_by_port);
	s->etc = xreallocarray(v, n, sizeof(*v));
	s->netc = n;
	s->etc_text = text;
}

void pv_services_load(struct pv_services *s, const char *etc_path)
{
	memset(s, 0, sizeof(*s));
	if (etc_path)
		load_etc(s, etc_path);
	/*
	 * Made here, not on first use, so that lookups from several threads
	 * only read and write whole cache words.
	 */
	s->any_entry = pv_portset_new();
	for (size_t i = 0; i < s->netc; i++)
		pv_portset_add(s->any_entry, s->etc[i].port);
	for (size_t w = 0; w < ARRAY_SIZE(pv_iana_ports); w++)
		for (uint64_t bits = pv_iana_ports[w]; bits; bits &= bits - 1)
			pv_portset_add(s->any_entry,
				       (uint16_t)(w * 64 + (size_t)__builtin_ctzll(bits)));
	s->port_cache = xcalloc(PV_PORT_CACHE, sizeof(*s->port_cache));
	/* untouched until made: calloc's large blocks are fresh zero pages */
	s->iana = xcalloc(pv_iana_count, sizeof(*s->iana));
	s->iana_ready = xcalloc((pv_iana_count + PV_IANA_GROUP - 1) / PV_IANA_GROUP, 1);
	pthread_mutex_init(&s->iana_mu, NULL);
}

/*
 * The by-name indexes are built on first use: most runs never look up a
 * name, and sorting 11,500 names costs more than the rest of a small
 * listing.  They are caches, so the const lookups fill them.
 */
static struct pv_services *cache_of(const struct pv_services *s)
{
	return (struct pv_services *)s;
}

/*
 * IANA row i as an entry: its group made on first use, under the lock
 * (threads format a large table's rows side by side); NULL when s was not
 * loaded.
 */
static const struct pv_service *iana_at(const struct pv_services *cs, size_t i)
{
	struct pv_services *s = cache_of(cs);
	if (!s->iana)
		return NULL;
	size_t g = i / PV_IANA_GROUP;
	if (!__atomic_load_n(&s->iana_ready[g], __ATOMIC_ACQUIRE)) {
		pthread_mutex_lock(&s->iana_mu);
		if (!__atomic_load_n(&s->iana_ready[g], __ATOMIC_RELAXED)) {
			size_t end = (g + 1) * PV_IANA_GROUP;
			for (size_t k = g * PV_IANA_GROUP; k < end && k < pv_iana_count; k++) {
				const struct pv_iana_row *r = &pv_iana_rows[k];
				s->iana[k] = (struct pv_service){pv_iana_text + r->name,
								 pv_iana_text + r->aliases,
								 pv_iana_text + r->description,
								 r->port,
								 r->proto,
								 PV_SRC_IANA};
			}
			__atomic_store_n(&s->iana_ready[g], 1, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&s->iana_mu);
	}
	return &s->iana[i];
}

const struct pv_service *pv_services_iana(const struct pv_services *s, size_t *n)
{
	*n = s->iana ? pv_iana_count : 0;
	for (size_t g = 0; g * PV_IANA_GROUP < *n; g++)
		iana_at(s, g * PV_IANA_GROUP);
	return s->iana;
}

void pv_services_free(struct pv_services *s)
{
	if (s->iana_ready)
		pthread_mutex_destroy(&s->iana_mu);
	free(s->iana);
	free(s->iana_ready);
	free(s->etc);
	free(s->etc_text);
	free(s->iana_by_name);
	free(s->etc_by_name);
	free(s->port_cache);
	free(s->any_entry);
	memset(s, 0, sizeof(*s));
}

/*
 * With proto 0, the first entry for the port in (port, proto) order, that is
 * tcp, udp, dccp, sctp.  Duplicate lines in /etc/services keep their order,
 * so the first one is found, as getservbyport() does.
 */
static const struct pv_service *by_port_uncached(const struct pv_services *s, uint16_t port,
						 uint8_t proto)
{
	size_t lo, hi;
	port_range(s->etc, s->netc, port, proto, &lo, &hi);
	if (lo < hi)
		return &s->etc[lo];
	row_range(port, proto, &lo, &hi);
	return lo < hi ? iana_at(s, lo) : NULL;
}

const struct pv_service *pv_services_etc_by_port(const struct pv_services *s, uint16_t port,
						 uint8_t proto)
{
	size_t lo, hi;
	port_range(s->etc, s->netc, port, proto, &lo, &hi);
	return lo < hi ? &s->etc[lo] : NULL;
}

const struct pv_service *pv_services_by_port(const struct pv_services *s, uint16_t port,
					     uint8_t proto)
{
	/*
	 * Most ports of a busy host are the kernel's picks, mostly with no
	 * entry at all: one bit says so.  Busy hosts repeat a few server ports:
	 * remember recent answers.
	 */
	if (!s->any_entry)
		return by_port_uncached(s, port, proto); /* not loaded: a zeroed struct */
	if (!pv_portset_has(s->any_entry, port))
		return NULL;
	uint64_t key = ((uint64_t)port << 8 | proto) + 1;
	uint64_t *e = &s->port_cache[pv_hash64(key) % PV_PORT_CACHE];
	uint64_t word = __atomic_load_n(e, __ATOMIC_RELAXED);
	if (word >> 32 != key) {
		const struct pv_service *svc = by_port_uncached(s, port, proto);
		/* (no pointer arithmetic on etc without entries: NULL + 0 is undefined) */
		bool etc = svc && s->netc && svc >= s->etc && svc < s->etc + s->netc;
		uint64_t at = !svc  ? 0
			      : etc ? 1 + (uint64_t)(svc - s->etc)
				    : 1 + s->netc + (uint64_t)(svc - s->iana);
		__atomic_store_n(e, key << 32 | at, __ATOMIC_RELAXED);
		return svc;
	}
	uint64_t at = word & UINT32_MAX;
	return at == 0 ? NULL : at <= s->netc ? &s->etc[at - 1] : iana_at(s, at - 1 - s->netc);
}

static void emit(const struct pv_service *e, const struct pv_service **out, size_t max,
		 size_t *count)
{
	if (*count < max)
		out[*count] = e;
	(*count)++;
}

size_t pv_services_all_by_port(const struct pv_services *s, uint16_t port, uint8_t proto,
			       const struct pv_service **out, size_t max)
{
	size_t count = 0, lo, hi;
	port_range(s->etc, s->netc, port, proto, &lo, &hi);
	for (size_t i = lo; i < hi; i++)
		emit(&s->etc[i], out, max, &count);
	row_range(port, proto, &lo, &hi);
	for (size_t i = lo; i < hi; i++)
		emit(iana_at(s, i), out, max, &count);
	return count;
}

/* Whether name is one of the space-separated words of aliases, ignoring case. */
static bool has_alias(const char *aliases, const char *name, size_t nlen)
{
	struct pv_split it = pv_split_start(aliases, ' ');
	const char *p;
	size_t l;
	while (pv_split_next(&it, &p, &l))
		if (l == nlen && strncasecmp(p, name, nlen) == 0)
			return true;
	return false;
}

/* From i on, the first entry of arr that has name as an alias but not as its name. */
static size_t next_alias_match(const struct pv_service *arr, size_t n, size_t i, const char *name,
			       size_t nlen)
{
	for (; i < n; i++) {
		if (arr[i].aliases[0] && has_alias(arr[i].aliases, name, nlen) &&
		    strcasecmp(arr[i].name, name) != 0)
			break;
	}
	return i;
}

/* Emit the entries of one source matching name, in array order. */
static void by_name_in(const struct pv_service *arr, size_t n, const struct pv_service *const *idx,
		       const char *name, const struct pv_service **out, size_t max, size_t *count)
{
	/* Those named name: a run of the index, in array order. */
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcasecmp(idx[mid]->name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t end = n;
	hi = lo;
	while (hi < end) {
		size_t mid = hi + (end - hi) / 2;
		if (strcasecmp(idx[mid]->name, name) <= 0)
			hi = mid + 1;
		else
			end = mid;
	}
	/* Merged with those that have it as an alias. */
	size_t nlen = strlen(name);
	size_t a = next_alias_match(arr, n, 0, name, nlen);
	while (lo < hi || a < n) {
		if (a == n || (lo < hi && idx[lo] < &arr[a])) {
			emit(idx[lo++], out, max, count);
		} else {
			emit(&arr[a], out, max, count);
			a = next_alias_match(arr, n, a + 1, name, nlen);
		}
	}
}

size_t pv_services_all_by_name(const struct pv_services *s, const char *name,
			       const struct pv_service **out, size_t max)
{
	size_t count = 0, n;
	struct pv_services *c = cache_of(s);
	const struct pv_service *iana = pv_services_iana(s, &n);
	if (!c->iana_by_name) {
		c->iana_by_name = name_index(iana, n);
		c->etc_by_name = s->netc ? name_index(s->etc, s->netc) : NULL;
	}
	by_name_in(s->etc, s->netc, s->etc_by_name, name, out, max, &count);
	by_name_in(iana, n, s->iana_by_name, name, out, max, &count);
	return count;
}

const char *pv_services_nearest(const struct pv_services *s, const char *name, size_t n)
{
	/* /etc/services first: its names are the ones people run */
	const char *hit =
	    s->netc ? pv_nearest(name, n, &s->etc[0].name, s->netc, sizeof(s->etc[0])) : NULL;
	size_t count;
	const struct pv_service *iana = pv_services_iana(s, &count);
	if (!hit && count)
		hit = pv_nearest(name, n, &iana[0].name, count, sizeof(iana[0]));
	return hit;
}
