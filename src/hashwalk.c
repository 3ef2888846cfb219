#include "portview/hashwalk.h"
#include "portview/sock_diag.h"
#include "portview/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Read a small /proc file into buf (NUL-terminated); false if it cannot be. */
static bool read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return true;
}

/* The number after " name " in a sockstat line, or false. */
static bool sockstat_field(const char *line, const char *name, uint64_t *v)
{
	char key[16];
	snprintf(key, sizeof(key), " %s ", name);
	const char *p = strstr(line, key);
	if (!p)
		return false;
	p += strlen(key);
	return pv_parse_uint(p, pv_digits(p, strlen(p)), UINT32_MAX, v) == 0;
}

void pv_hash_geometry_load(struct pv_hash_geometry *g, const char *sysctl_dir,
			   const char *proc_root)
{
	char path[4096], text[1024];
	uint64_t v, tw;
	memset(g, 0, sizeof(*g));

	/* negative when the namespace shares the host's hash */
	snprintf(path, sizeof(path), "%s/tcp_ehash_entries", sysctl_dir);
	if (read_text(path, text, sizeof(text))) {
		const char *p = text + (text[0] == '-');
		if (pv_parse_uint(p, strcspn(p, "\n"), UINT32_MAX, &v) == 0)
			g->buckets = (uint32_t)v;
	}

	/* "TCP: inuse 12 orphan 0 tw 3 alloc 15 mem 1", for this namespace */
	snprintf(path, sizeof(path), "%s/net/sockstat", proc_root);
	if (read_text(path, text, sizeof(text))) {
		char *tcp = strstr(text, "\nTCP: ");
		char *eol = tcp ? strchr(tcp + 1, '\n') : NULL;
		if (eol)
			*eol = '\0';
		if (tcp && sockstat_field(tcp, "inuse", &v) && sockstat_field(tcp, "tw", &tw)) {
			g->sockets = (uint32_t)(v + tw > UINT32_MAX ? UINT32_MAX : v + tw);
			g->timewait = (uint32_t)(tw < g->sockets ? tw : g->sockets);
		}
	}
}

/* e^-x for 0 <= x <= 60, without libm (which would cost the process 0.4 MiB). */
static double exp_neg(double x)
{
	int halvings = 0;
	while (x > 0.5) {
		x /= 2;
		halvings++;
	}
	double sum = 1, term = 1;
	for (int i = 1; i < 20; i++) {
		term *= -x / i;
		sum += term;
	}
	while (halvings--)
		sum *= sum;
	return sum;
}

/*
 * How many of the buckets are expected to hold at least c sockets, with
 * n sockets spread over them at random (a Poisson distribution of mean
 * n / buckets per bucket).
 */
static double buckets_with_at_least(double buckets, double n, unsigned c)
{
	double mean = n / buckets;
	if (mean <= 0)
		return 0;
	if (c <= mean || mean > 50)
		return buckets / 2; /* at least half of them: the median is near the mean */
	/* P(X >= c): the terms e^-mean mean^i / i! from i = c on */
	double term = exp_neg(mean), sum = 0;
	for (unsigned i = 1; i <= c; i++)
		term *= mean / i;
	for (unsigned i = c; i < c + 10000 && term > sum * 1e-12; i++) {
		sum += term;
		term *= mean / (i + 1);
	}
	return buckets * (sum < 1 ? sum : 1);
}

/* Below this many expected buckets, a bucket that long is taken not to exist. */
#define NEGLIGIBLE 1e-6

unsigned pv_hashwalk_tail(uint32_t buckets, size_t n)
{
	/* Kernels without tcp_ehash_entries size the one shared hash by memory. */
	double b = buckets ? buckets : 65536;
	/* A bucket longer than the chunk pauses the walk where no check can see. */
	if (buckets_with_at_least(b, (double)n, PV_HASHWALK_CHUNK + 1) > NEGLIGIBLE)
		return 0;
	/*
	 * A boundary after k records of a bucket can only skip a socket if the
	 * bucket has one more: k + 2 sockets in all hide a skip from a check of
	 * k records.
	 */
	for (unsigned k = 1; k < PV_DIAG_TAIL_MAX; k++)
		if (buckets_with_at_least(b, (double)n, k + 2) <= NEGLIGIBLE)
			return k;
	return PV_DIAG_TAIL_MAX;
}

static int pair_cmp(const void *a, const void *b)
{
	const struct pv_port_pair *x = a, *y = b;
	if (x->sport != y->sport)
		return x->sport < y->sport ? -1 : 1;
	return (x->dport > y->dport) - (x->dport < y->dport);
}

static void put(struct pv_port_rect *out, size_t max, size_t *n, struct pv_port_rect r)
{
	if (*n < max)
		out[*n] = r;
	(*n)++;
}

size_t pv_hashwalk_plan(struct pv_port_pair *pairs, size_t n, size_t per_slice,
			struct pv_port_rect *out, size_t max)
{
	size_t count = 0;
	uint32_t slo = 0;   /* where the pending rectangle's local ports start */
	size_t pending = 0; /* pairs in it so far */

	if (per_slice == 0)
		per_slice = 1;
	if (n > 1)
		qsort(pairs, n, sizeof(*pairs), pair_cmp);
	for (size_t i = 0; i < n;) {
		uint16_t s = pairs[i].sport;
		size_t j = i;
		while (j < n && pairs[j].sport == s)
			j++;
		size_t group = j - i;
		if (group > per_slice) {
			/* One local port with many sockets: cut it by foreign port. */
			if (pending) {
				put(out, max, &count,
				    (struct pv_port_rect){(uint16_t)slo, (uint16_t)(s - 1), 0,
							  65535});
				slo = s;
			}
			uint32_t dlo = 0;
			for (size_t k = i; k < j;) {
				size_t end = k + per_slice < j ? k + per_slice : j;
				/* never split one foreign port between two rectangles */
				while (end < j && pairs[end].dport == pairs[end - 1].dport)
					end++;
				uint32_t dhi = end == j ? 65535 : pairs[end - 1].dport;
				put(out, max, &count,
				    (struct pv_port_rect){(uint16_t)slo, s, (uint16_t)dlo,
							  (uint16_t)dhi});
				dlo = dhi + 1;
				k = end;
			}
			slo = (uint32_t)s + 1;
			pending = 0;
		} else {
			if (pending && pending + group > per_slice) {
				put(out, max, &count,
				    (struct pv_port_rect){(uint16_t)slo, (uint16_t)(s - 1), 0,
							  65535});
				slo = s;
				pending = 0;
			}
			pending += group;
		}
		i = j;
	}
	if (slo <= 65535)
		put(out, max, &count, (struct pv_port_rect){(uint16_t)slo, 65535, 0, 65535});
	return count;
}

bool pv_port_rect_split(const struct pv_port_rect *r, struct pv_port_rect *a,
			struct pv_port_rect *b)
{
	*a = *b = *r;
	if (r->slo < r->shi) {
		uint16_t mid = (uint16_t)(r->slo + (r->shi - r->slo) / 2);
		a->shi = mid;
		b->slo = (uint16_t)(mid + 1);
		return true;
	}
	if (r->dlo < r->dhi) {
		uint16_t mid = (uint16_t)(r->dlo + (r->dhi - r->dlo) / 2);
		a->dhi = mid;
		b->dlo = (uint16_t)(mid + 1);
		return true;
	}
	return false;
}
