/*
 * The summary of one snapshot: counts, the busiest programs and listening
 * ports, and the ephemeral port pressure per destination (summary.h).
 */
#include "i18n.h"
#include "portview/summary.h"
#include "portview/buf.h"
#include "portview/state.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

const char *pv_summary_state_name(uint8_t proto, uint8_t state)
{
	if (proto == IPPROTO_UDP && state == PV_TCP_CLOSE)
		return "UNCONN";
	return pv_state_display(proto, state);
}

enum pv_pressure_level pv_pressure_level(const struct pv_pressure_group *g)
{
	uint64_t used = (uint64_t)g->in_use * 100;
	if (!g->available) /* every port reserved: none left at all */
		return g->in_use ? PV_PRESSURE_CRITICAL : PV_PRESSURE_OK;
	if (used >= (uint64_t)PV_PRESSURE_CRITICAL_PCT * g->available)
		return PV_PRESSURE_CRITICAL;
	if (used >= (uint64_t)PV_PRESSURE_WARNING_PCT * g->available)
		return PV_PRESSURE_WARNING;
	return PV_PRESSURE_OK;
}

const char *pv_pressure_level_name(enum pv_pressure_level l)
{
	switch (l) {
	case PV_PRESSURE_CRITICAL:
		return N_("critical");
	case PV_PRESSURE_WARNING:
		return N_("warning");
	default:
		return N_("ok");
	}
}

double pv_pressure_ratio(const struct pv_pressure_group *g)
{
	return g->available ? (double)g->in_use / g->available : 0.0;
}

bool pv_pressure_over(const struct pv_pressure_group *g, unsigned pct)
{
	return (uint64_t)g->in_use * 100 > (uint64_t)pct * g->available;
}

const struct pv_pressure_group *pv_summary_over(const struct pv_summary *s, unsigned pct)
{
	/* Sorted by pressure: the first is the most pressed. */
	for (size_t i = 0; i < s->ngroups; i++)
		if (pv_pressure_over(&s->groups[i], pct))
			return &s->groups[i];
	return NULL;
}

bool pv_parse_percent(const char *s, unsigned *pct, struct pv_why *why)
{
	size_t n = strlen(s);
	uint64_t v;
	if (n > 1 && s[n - 1] == '%')
		n--;
	int err = pv_parse_uint(s, n, 100, &v);
	if (err) {
		*why = (struct pv_why){.why = err == -ERANGE
						  ? N_("percentage out of range (0-100)")
						  : N_("not a whole number of percent (0-100)")};
		return false;
	}
	*pct = (unsigned)v;
	return true;
}

static int cmp_u(uint64_t a, uint64_t b)
{
	return (a > b) - (a < b);
}

/* ---- pressure groups ------------------------------------------------------------------ */

/* One connection from an ephemeral port, keyed by its destination. */
struct conn {
	uint8_t laddr[16], raddr[16];
	uint16_t rport;
	uint8_t proto, family;
	uint16_t lport;
	bool time_wait;
};

static int conn_key_cmp(const struct conn *a, const struct conn *b)
{
	int c;
	if ((c = cmp_u(a->proto, b->proto)) || (c = cmp_u(a->family, b->family)) ||
	    (c = memcmp(a->laddr, b->laddr, 16)) || (c = memcmp(a->raddr, b->raddr, 16)))
		return c;
	return cmp_u(a->rport, b->rport);
}

static int conn_cmp(const void *x, const void *y)
{
	const struct conn *a = x, *b = y;
	int c = conn_key_cmp(a, b);
	return c ? c : cmp_u(a->lport, b->lport);
}

/* The most pressed first; then the most ports used; then the destination. */
static int group_cmp(const void *x, const void *y)
{
	const struct pv_pressure_group *a = x, *b = y;
	int c = cmp_u((uint64_t)b->in_use * a->available, (uint64_t)a->in_use * b->available);
	if (c || (c = cmp_u(b->in_use, a->in_use)) || (c = cmp_u(a->proto, b->proto)) ||
	    (c = cmp_u(a->family, b->family)) || (c = memcmp(a->laddr, b->laddr, 16)) ||
	    (c = memcmp(a->raddr, b->raddr, 16)))
		return c;
	return cmp_u(a->rport, b->rport);
}

/* An IPv4-mapped IPv6 address as the IPv4 address it stands for. */
static uint8_t unmap(uint8_t family, uint8_t addr[16])
{
	if (family != AF_INET6 || !pv_addr_is_v4mapped(addr))
		return family;
	memmove(addr, addr + 12, 4);
	memset(addr + 4, 0, 12);
	return AF_INET;
}

/* A local port the kernel hands out for connections: not a server's port. */
static bool is_listener(const struct pv_sock *s)
{
	return s->state == PV_TCP_LISTEN || (s->proto == IPPROTO_UDP && s->state == PV_TCP_CLOSE);
}

static bool is_connection(const struct pv_sock *s)
{
	return !is_listener(s) && s->remote.port != 0;
}

static void build_groups(struct pv_summary *s, const struct pv_socklist *l,
			 const struct pv_ephemeral *eph, struct pv_portset *const listening[2])
{
	struct conn *v = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < l->n; i++) {
		struct pv_sock k;
		pv_socklist_get(l, i, &k);
		if (!is_connection(&k) || !pv_port_is_ephemeral(eph, k.local.port) ||
		    pv_portset_has(listening[k.proto == IPPROTO_UDP], k.local.port))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		struct conn *c = &v[n++];
		memset(c, 0, sizeof(*c));
		memcpy(c->laddr, k.local.addr, 16);
		memcpy(c->raddr, k.remote.addr, 16);
		c->family = unmap(k.family, c->laddr);
		unmap(k.family, c->raddr);
		c->proto = k.proto;
		c->rport = k.remote.port;
		c->lport = k.local.port;
		c->time_wait = k.state == PV_TCP_TIME_WAIT;
	}
	if (n)
		qsort(v, n, sizeof(*v), conn_cmp);

	size_t ngroups = 0;
	for (size_t i = 0; i < n; i++)
		ngroups += i == 0 || conn_key_cmp(&v[i - 1], &v[i]) != 0;
	s->groups = ngroups ? xcalloc(ngroups, sizeof(*s->groups)) : NULL;
	struct pv_pressure_group *g = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct conn *c = &v[i];
		bool new_group = i == 0 || conn_key_cmp(&v[i - 1], c) != 0;
		if (new_group) {
			g = &s->groups[s->ngroups++];
			g->proto = c->proto;
			g->family = c->family;
			memcpy(g->laddr, c->laddr, 16);
			memcpy(g->raddr, c->raddr, 16);
			g->rport = c->rport;
			g->available = s->available;
		}
		/* UDP sockets can share a local port toward one destination. */
		if (new_group || v[i - 1].lport != c->lport) {
			g->in_use++;
			g->time_wait += c->time_wait;
		}
	}
	free(v);
	if (s->ngroups)
		qsort(s->groups, s->ngroups, sizeof(*s->groups), group_cmp);
}

/* ---- programs ------------------------------------------------------------------------- */

struct holding {
	const struct pv_process *proc;
	size_t sock;
	int32_t pid;
};

static int comm_cmp(const struct pv_process *a, const struct pv_process *b)
{
	size_t n = a->comm_len < b->comm_len ? a->comm_len : b->comm_len;
	int c = memcmp(a->comm, b->comm, n);
	return c ? c : cmp_u(a->comm_len, b->comm_len);
}

static int holding_cmp(const void *x, const void *y)
{
	const struct holding *a = x, *b = y;
	int c = comm_cmp(a->proc, b->proc);
	if (c || (c = cmp_u(a->sock, b->sock)))
		return c;
	return cmp_u((uint32_t)a->pid, (uint32_t)b->pid);
}

static int int32_cmp(const void *x, const void *y)
{
	int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
	return (a > b) - (a < b);
}

/* The most sockets first, then by name. */
static int program_cmp(const struct pv_summary_program *a, const struct pv_summary_program *b)
{
	int c = cmp_u(b->sockets, a->sockets);
	if (c)
		return c;
	size_t n = a->comm_len < b->comm_len ? a->comm_len : b->comm_len;
	c = memcmp(a->comm, b->comm, n);
	return c ? c : cmp_u(a->comm_len, b->comm_len);
}

/* Keep p among the top programs if it belongs there (insertion in order). */
static void offer_program(struct pv_summary *s, const struct pv_summary_program *p,
			  const struct holding *h, size_t nh)
{
	size_t at = s->nprograms;
	while (at > 0 && program_cmp(p, &s->programs[at - 1]) < 0)
		at--;
	if (at == PV_SUMMARY_TOP)
		return;
	if (s->nprograms == PV_SUMMARY_TOP)
		free(s->programs[--s->nprograms].pids);
	memmove(&s->programs[at + 1], &s->programs[at],
		(s->nprograms - at) * sizeof(s->programs[0]));
	s->nprograms++;
	struct pv_summary_program *q = &s->programs[at];
	*q = *p;
	q->pids = xreallocarray(NULL, nh, sizeof(*q->pids));
	q->npids = 0;
	for (size_t i = 0; i < nh; i++)
		q->pids[q->npids++] = h[i].pid;
	qsort(q->pids, q->npids, sizeof(*q->pids), int32_cmp);
	size_t k = 0;
	for (size_t i = 0; i < q->npids; i++)
		if (k == 0 || q->pids[k - 1] != q->pids[i])
			q->pids[k++] = q->pids[i];
	q->npids = k;
}

static void build_programs(struct pv_summary *s, const struct pv_view *v)
{
	const struct pv_socklist *l = v->l;
	const struct pv_owner_table *t = &v->owners;
	struct holding *h = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < l->n; i++) {
		uint32_t first, count;
		pv_owners_lookup(t, l->v[i].inode, &first, &count);
		if (count == 0)
			s->unowned++;
		for (uint32_t j = 0; j < count; j++) {
			const struct pv_owner *o = &t->owners[first + j];
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				h = xreallocarray(h, cap, sizeof(*h));
			}
			h[n++] = (struct holding){&t->procs[o->proc], i, o->pid};
		}
	}
	if (n)
		qsort(h, n, sizeof(*h), holding_cmp);
	for (size_t i = 0; i < n;) {
		size_t end = i + 1;
		struct pv_summary_program p = {.sockets = 1};
		while (end < n && comm_cmp(h[end].proc, h[i].proc) == 0) {
			p.sockets += h[end].sock != h[end - 1].sock;
			end++;
		}
		p.comm_len = h[i].proc->comm_len;
		memcpy(p.comm, h[i].proc->comm, p.comm_len);
		s->programs_total++;
		offer_program(s, &p, h + i, end - i);
		i = end;
	}
	free(h);
}

/* ---- listening ports ------------------------------------------------------------------ */

static int port_cmp(const struct pv_summary_port *a, const struct pv_summary_port *b)
{
	int c = cmp_u(b->connections, a->connections);
	if (c || (c = cmp_u(a->proto, b->proto)))
		return c;
	return cmp_u(a->port, b->port);
}

/* The first listener on the port that has an owner gives the port its program. */
static void port_listener(struct pv_summary_port *p, const struct pv_view *v)
{
	const struct pv_socklist *l = v->l;
	if (!v->has_owners)
		return;
	for (size_t i = 0; i < l->n; i++) {
		const struct pv_rec *r = &l->v[i];
		struct pv_sock k = {.proto = r->proto, .state = r->state};
		uint32_t first, count;
		if (r->proto != p->proto || r->lport != p->port || !is_listener(&k))
			continue;
		pv_owners_lookup(&v->owners, r->inode, &first, &count);
		if (count) {
			const struct pv_owner *o = &v->owners.owners[first];
			const struct pv_process *pr = &v->owners.procs[o->proc];
			p->pid = o->pid;
			p->comm_len = pr->comm_len;
			memcpy(p->comm, pr->comm, pr->comm_len);
			return;
		}
	}
}

static void build_ports(struct pv_summary *s, const struct pv_view *v,
			struct pv_portset *const listening[2])
{
	const struct pv_socklist *l = v->l;
	/* Connections per port of each protocol, for the ports listened on. */
	uint32_t *count[2] = {NULL, NULL};
	for (size_t i = 0; i < l->n; i++) {
		const struct pv_rec *r = &l->v[i];
		int p = r->proto == IPPROTO_UDP;
		struct pv_sock k = {.proto = r->proto, .state = r->state};
		k.remote.port = r->rport;
		if (!is_connection(&k) || !pv_portset_has(listening[p], r->lport))
			continue;
		if (!count[p])
			count[p] = xcalloc(65536, sizeof(uint32_t));
		count[p][r->lport]++;
	}
	for (int p = 0; p < 2; p++) {
		for (uint32_t port = 0; count[p] && port < 65536; port++) {
			if (!count[p][port])
				continue;
			struct pv_summary_port e = {.proto = p ? IPPROTO_UDP : IPPROTO_TCP,
						    .port = (uint16_t)port,
						    .connections = count[p][port]};
			s->ports_total++;
			size_t at = s->nports;
			while (at > 0 && port_cmp(&e, &s->ports[at - 1]) < 0)
				at--;
			if (at == PV_SUMMARY_TOP)
				continue;
			if (s->nports == PV_SUMMARY_TOP)
				s->nports--;
			memmove(&s->ports[at + 1], &s->ports[at],
				(s->nports - at) * sizeof(s->ports[0]));
			s->ports[at] = e;
			s->nports++;
		}
		free(count[p]);
	}
	for (size_t i = 0; i < s->nports; i++) {
		struct pv_summary_port *p = &s->ports[i];
		if (v->services)
			p->service = pv_services_by_port(v->services, p->port, p->proto);
		port_listener(p, v);
	}
}

/* ---- the whole ------------------------------------------------------------------------ */

void pv_summary_build(struct pv_summary *s, const struct pv_view *v)
{
	const struct pv_socklist *l = v->l;
	const struct pv_ephemeral *eph = v->ephemeral;
	memset(s, 0, sizeof(*s));
	s->total = l->n;
	if (eph && eph->known) {
		s->range_known = true;
		s->lo = eph->lo;
		s->hi = eph->hi;
		s->reserved = (uint32_t)eph->nreserved;
		s->available = (uint32_t)(eph->hi - eph->lo + 1) - s->reserved;
	}

	struct pv_portset *listening[2] = {pv_portset_new(), pv_portset_new()};
	for (size_t i = 0; i < l->n; i++) {
		const struct pv_rec *r = &l->v[i];
		int p = r->proto == IPPROTO_UDP;
		uint8_t state = r->state == PV_TCP_NEW_SYN_RECV ? PV_TCP_SYN_RECV : r->state;
		s->sockets[p][r->family == AF_INET6][state < PV_SUMMARY_STATES ? state : 0]++;
		s->classes[pv_port_class(r->lport)]++;
		s->ephemeral += eph && pv_port_is_ephemeral(eph, r->lport);
		struct pv_sock k = {.proto = r->proto, .state = r->state};
		if (is_listener(&k))
			pv_portset_add(listening[p], r->lport);
	}
	if (s->range_known)
		build_groups(s, l, eph, listening);
	if (v->has_owners) {
		s->owners_known = true;
		s->owners_partial = v->owners.unseen != 0;
		build_programs(s, v);
	}
	build_ports(s, v, listening);
	free(listening[0]);
	free(listening[1]);
}

void pv_summary_free(struct pv_summary *s)
{
	for (size_t i = 0; i < s->nprograms; i++)
		free(s->programs[i].pids);
	free(s->groups);
	memset(s, 0, sizeof(*s));
}
