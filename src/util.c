#include "i18n.h"
#include "portview/util.h"
#include "portview/buf.h"

#include <errno.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

size_t pv_digits(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

int pv_parse_uint(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	bool over = false;
	if (n == 0 || pv_digits(s, n) != n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (d > max || v > (max - d) / 10)
			over = true; /* keep going: "12x" is -EINVAL even when long */
		else
			v = v * 10 + d;
	}
	if (over)
		return -ERANGE;
	*out = v;
	return 0;
}

int pv_parse_uint_str(const char *s, uint64_t max, uint64_t *out)
{
	return pv_parse_uint(s, strlen(s), max, out);
}

struct pv_split pv_split_start(const char *list, char sep)
{
	return (struct pv_split){.p = list, .sep = sep};
}

bool pv_split_next(struct pv_split *it, const char **item, size_t *len)
{
	if (!it->p)
		return false;
	const char *end = strchr(it->p, it->sep);
	*item = it->p;
	*len = end ? (size_t)(end - it->p) : strlen(it->p);
	it->p = end ? end + 1 : NULL;
	return true;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

unsigned pv_edit_distance(const char *a, size_t an, const char *b, size_t bn, unsigned limit)
{
	/* optimal string alignment, three rows; longer words cannot be near */
	enum { MAX = 64 };
	unsigned rows[3][MAX + 1];
	if (an > MAX || bn > MAX)
		return limit + 1;
	if ((an > bn ? an - bn : bn - an) > limit)
		return limit + 1;
	/*
	 * The letters that one word has and the other lacks bound the distance
	 * from below (a transposition keeps them): most candidates of a search
	 * over thousands of names stop here.  Letters share 32 bins, which only
	 * lowers the bound.
	 */
	int bins[32] = {0};
	for (size_t i = 0; i < an; i++)
		bins[lower(a[i]) & 31]++;
	for (size_t j = 0; j < bn; j++)
		bins[lower(b[j]) & 31]--;
	unsigned more = 0, fewer = 0;
	for (size_t k = 0; k < 32; k++) {
		if (bins[k] > 0)
			more += (unsigned)bins[k];
		else
			fewer += (unsigned)-bins[k];
	}
	if ((more > fewer ? more : fewer) > limit)
		return limit + 1;
	unsigned *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
	for (size_t j = 0; j <= bn; j++)
		prev[j] = (unsigned)j;
	for (size_t i = 1; i <= an; i++) {
		cur[0] = (unsigned)i;
		unsigned best = cur[0];
		for (size_t j = 1; j <= bn; j++) {
			unsigned cost = lower(a[i - 1]) != lower(b[j - 1]);
			unsigned d = prev[j] + 1;
			if (cur[j - 1] + 1 < d)
				d = cur[j - 1] + 1;
			if (prev[j - 1] + cost < d)
				d = prev[j - 1] + cost;
			if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
			    lower(a[i - 2]) == lower(b[j - 1]) && prev2[j - 2] + 1 < d)
				d = prev2[j - 2] + 1;
			cur[j] = d;
			if (d < best)
				best = d;
		}
		if (best > limit)
			return limit + 1;
		unsigned *t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[bn] < limit + 1 ? prev[bn] : limit + 1;
}

const char *pv_nearest(const char *word, size_t len, const void *cands, size_t n, size_t stride)
{
	/* ties go to a candidate that starts like the word: htp is http, not ftp */
	unsigned limit = len <= 4 ? 1 : 2, best = 2 * (limit + 1);
	const char *found = NULL;
	if (len == 0)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const char *c;
		memcpy(&c, (const char *)cands + i * stride, sizeof(c));
		if (!c)
			continue;
		unsigned d = pv_edit_distance(word, len, c, strlen(c), limit);
		unsigned score = 2 * d + (lower(c[0]) != lower(word[0]));
		if (d > 0 && d <= limit && score < best) {
			best = score;
			found = c;
		}
	}
	return found;
}

struct pv_portset *pv_portset_new(void)
{
	return xcalloc(1, sizeof(struct pv_portset));
}

void pv_idset_init(struct pv_idset *s, size_t expected)
{
	s->cap = 64;
	while (s->cap < expected * 2)
		s->cap *= 2;
	s->v = xcalloc(s->cap, sizeof(*s->v));
	s->n = 0;
}

static void idset_put(uint64_t *v, size_t cap, uint64_t id)
{
	size_t mask = cap - 1;
	size_t i = (size_t)pv_hash64(id) & mask;
	while (v[i] && v[i] != id)
		i = (i + 1) & mask;
	v[i] = id;
}

void pv_idset_add(struct pv_idset *s, uint64_t id)
{
	if (id == 0 || pv_idset_has(s, id))
		return;
	if ((s->n + 1) * 2 > s->cap) {
		size_t cap = s->cap * 2;
		uint64_t *v = xcalloc(cap, sizeof(*v));
		for (size_t i = 0; i < s->cap; i++)
			if (s->v[i])
				idset_put(v, cap, s->v[i]);
		free(s->v);
		s->v = v;
		s->cap = cap;
	}
	idset_put(s->v, s->cap, id);
	s->n++;
}

bool pv_idset_has(const struct pv_idset *s, uint64_t id)
{
	if (id == 0 || !s->cap)
		return false;
	size_t mask = s->cap - 1;
	for (size_t i = (size_t)pv_hash64(id) & mask;; i = (i + 1) & mask) {
		if (s->v[i] == id)
			return true;
		if (s->v[i] == 0)
			return false;
	}
}

void pv_idset_free(struct pv_idset *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

void pv_idmap_init(struct pv_idmap *m, size_t expected)
{
	pv_hashmap_init(&m->map, expected);
}

void pv_idmap_put(struct pv_idmap *m, uint64_t id, uint32_t val)
{
	if (id != 0)
		*pv_hashmap_put(&m->map, id, NULL) = val;
}

bool pv_idmap_get(const struct pv_idmap *m, uint64_t id, uint32_t *val)
{
	return id != 0 && pv_hashmap_get(&m->map, id, val);
}

void pv_idmap_free(struct pv_idmap *m)
{
	pv_hashmap_free(&m->map);
}

bool pv_parse_seconds(const char *s, uint32_t *ms, struct pv_why *why)
{
	size_t n = strlen(s), dot = strcspn(s, ".");
	size_t whole = pv_digits(s, dot), frac = dot < n ? n - dot - 1 : 0;
	uint64_t sec = 0, part = 0;
	/* digits, then at most one '.' and digits; at least one digit in all */
	if (whole != dot || (dot < n && pv_digits(s + dot + 1, frac) != frac) ||
	    (dot < n && frac == 0) || n == 0 || (whole == 0 && frac == 0)) {
		*why = (struct pv_why){.why = N_("not a number of seconds (such as 5 or 0.5)")};
		return false;
	}
	if (frac > 3) {
		*why = (struct pv_why){
		    .why = N_("more than 3 decimals (milliseconds are the finest)")};
		return false;
	}
	if (pv_parse_uint(s, whole, 86400, &sec) == -ERANGE) {
		*why = (struct pv_why){.why = N_("longer than a day (86400 seconds)")};
		return false;
	}
	for (size_t i = 0; i < 3; i++)
		part = part * 10 + (i < frac ? (uint64_t)(s[dot + 1 + i] - '0') : 0);
	uint64_t v = sec * 1000 + part;
	if (v > 86400000) {
		*why = (struct pv_why){.why = N_("longer than a day (86400 seconds)")};
		return false;
	}
	if (v < 100) {
		*why = (struct pv_why){.why = N_("shorter than 0.1 seconds")};
		return false;
	}
	*ms = (uint32_t)v;
	return true;
}

uint64_t pv_hash_bytes(const void *p, size_t n, uint64_t seed)
{
	const uint8_t *b = p;
	uint64_t h = 1469598103934665603ULL ^ seed;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return pv_hash64(h);
}

static const struct {
	uint8_t proto;
	const char *name, *lname;
} protos[] = {
    {IPPROTO_TCP, "TCP", "tcp"},
    {IPPROTO_UDP, "UDP", "udp"},
    {PV_IPPROTO_SCTP, "SCTP", "sctp"},
    {PV_IPPROTO_DCCP, "DCCP", "dccp"},
};

const char *pv_proto_name(uint8_t proto)
{
	for (size_t i = 0; i < ARRAY_SIZE(protos); i++)
		if (protos[i].proto == proto)
			return protos[i].name;
	return "?";
}

const char *pv_proto_lname(uint8_t proto)
{
	for (size_t i = 0; i < ARRAY_SIZE(protos); i++)
		if (protos[i].proto == proto)
			return protos[i].lname;
	return "?";
}

int pv_proto_parse(const char *s, size_t n, bool ignore_case, uint8_t *proto)
{
	for (size_t i = 0; i < ARRAY_SIZE(protos); i++) {
		const char *name = protos[i].lname;
		if (strlen(name) != n)
			continue;
		if (ignore_case ? strncasecmp(name, s, n) == 0 : memcmp(name, s, n) == 0) {
			*proto = protos[i].proto;
			return 0;
		}
	}
	return -EINVAL;
}
