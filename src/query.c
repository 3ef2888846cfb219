#include "i18n.h"
#include "portview/query.h"
#include "portview/state.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

uint32_t pv_query_proto_states(const struct pv_query *q, uint8_t proto)
{
	if (proto == IPPROTO_TCP && q->tcp_listen_only)
		return q->states & ~PV_SF(PV_TCP_CLOSE);
	return q->states;
}

bool pv_query_wants_proto(const struct pv_query *q, uint8_t proto)
{
	if (!q->tcp && !q->udp)
		return true;
	return proto == IPPROTO_TCP ? q->tcp : q->udp;
}

bool pv_query_wants_family(const struct pv_query *q, uint8_t family)
{
	if (!q->ipv4 && !q->ipv6)
		return true;
	if (family == AF_INET)
		return q->ipv4;
	return true; /* AF_INET6: wanted by -6, and by -4 for v4-mapped sockets */
}

static bool ipv4_only(const struct pv_query *q)
{
	return q->ipv4 && !q->ipv6;
}

bool pv_query_needs_check(const struct pv_query *q)
{
	return ipv4_only(q) || q->nclauses || q->classes || q->naddrs || q->no_loopback || q->dev;
}

bool pv_query_by_owner(const struct pv_query *q)
{
	return q->npids || q->nprograms;
}

/* lsof's -c: a prefix of the name, or a match of the expression anywhere in it. */
static bool command_matches(const struct pv_query *q, size_t i, const char *comm, size_t comm_len)
{
	if (q->program_re[i]) {
		char name[64];
		if (comm_len >= sizeof(name))
			comm_len = sizeof(name) - 1;
		memcpy(name, comm, comm_len);
		name[comm_len] = '\0';
		return regexec(q->program_re[i], name, 0, NULL, 0) == 0;
	}
	size_t n = strlen(q->programs[i]);
	return n <= comm_len && memcmp(q->programs[i], comm, n) == 0;
}

bool pv_query_owner_matches(const struct pv_query *q, int32_t pid, const char *comm,
			    size_t comm_len)
{
	bool pid_ok = !q->npids, prog_ok = !q->nprograms;
	for (size_t i = 0; i < q->npids && !pid_ok; i++)
		pid_ok = q->pids[i] == pid;
	for (size_t i = 0; i < q->nprograms && !prog_ok; i++)
		prog_ok = command_matches(q, i, comm, comm_len);
	return pid_ok && prog_ok;
}

/* 127.0.0.0/8, ::1, and 127.0.0.0/8 mapped into IPv6. */
static bool is_loopback(uint8_t family, const uint8_t addr[16])
{
	static const uint8_t v6_loop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	if (family == AF_INET)
		return addr[0] == 127;
	return memcmp(addr, v6_loop, 16) == 0 || (pv_addr_is_v4mapped(addr) && addr[12] == 127);
}

static bool class_matches(const struct pv_query *q, const struct pv_ephemeral *eph, uint16_t port)
{
	if (q->classes & (1u << pv_port_class(port)))
		return true;
	return (q->classes & PV_CLASS_EPHEMERAL_BIT) && pv_port_is_ephemeral(eph, port);
}

bool pv_query_keep(const struct pv_query *q, const struct pv_ephemeral *eph,
		   const struct pv_sock *s)
{
	if (s->family == AF_INET6 && ipv4_only(q) && !pv_addr_is_v4mapped(s->local.addr) &&
	    !pv_addr_is_v4mapped(s->remote.addr) && !pv_sock_is_dual_stack(s))
		return false;
	if (q->nclauses &&
	    !pv_port_clauses_match(q->clauses, q->nclauses, s->local.port, s->remote.port))
		return false;
	if (q->dev && s->ifindex != q->dev)
		return false;
	/* a socket without a local port has no class */
	if (q->classes && (!s->local.port || !class_matches(q, eph, s->local.port)))
		return false;
	if (q->naddrs &&
	    !pv_addr_clauses_match(q->addrs, q->naddrs, s->family, s->local.addr, s->remote.addr))
		return false;
	/* Either end: a connection to 127.0.0.1 from an address of ours too. */
	if (q->no_loopback &&
	    (is_loopback(s->family, s->local.addr) || is_loopback(s->family, s->remote.addr)))
		return false;
	return true;
}

/* Add a range unless the clause has it; false when the clause is full. */
static bool add_range(struct pv_port_clause *c, uint16_t lo, uint16_t hi)
{
	for (size_t i = 0; i < c->nranges; i++)
		if (c->ranges[i].lo == lo && c->ranges[i].hi == hi)
			return true;
	if (c->nranges == PV_MAX_RANGES)
		return false;
	c->ranges[c->nranges++] = (struct pv_port_range){lo, hi};
	return true;
}

static const char *const TOO_MANY = N_("too many ports and ranges (at most 64 per option)");

/* A decimal port number spanning exactly n bytes, or why not. */
static const char *parse_number(const char *s, size_t n, uint16_t *out)
{
	uint64_t v;
	int err = pv_parse_uint(s, n, 65535, &v);
	if (err)
		return err == -ERANGE ? N_("port out of range (0-65535)")
				      : N_("not a port, range N-M or service name");
	*out = (uint16_t)v;
	return NULL;
}

/* One item of a port spec; returns why it is bad, or NULL. */
static const char *parse_item(const char *item, size_t n, const struct pv_services *svc,
			      struct pv_port_clause *c, const char **suggest)
{
	if (item[0] >= '0' && item[0] <= '9') {
		const char *dash = memchr(item, '-', n);
		uint16_t lo, hi;
		const char *why = parse_number(item, dash ? (size_t)(dash - item) : n, &lo);
		if (why)
			return why;
		hi = lo;
		if (dash && (why = parse_number(dash + 1, n - (size_t)(dash + 1 - item), &hi)))
			return why;
		if (lo > hi)
			return N_("range start is above its end");
		return add_range(c, lo, hi) ? NULL : TOO_MANY;
	}

	/* A service name (they begin with a letter): its TCP and UDP ports. */
	if (!((item[0] >= 'a' && item[0] <= 'z') || (item[0] >= 'A' && item[0] <= 'Z')))
		return N_("not a port, range N-M or service name");
	char name[128];
	if (n >= sizeof(name))
		return N_("unknown service name");
	memcpy(name, item, n);
	name[n] = '\0';
	const struct pv_service *found[64];
	size_t total = pv_services_all_by_name(svc, name, found, ARRAY_SIZE(found));
	if (total > ARRAY_SIZE(found))
		total = ARRAY_SIZE(found);
	bool any = false;
	for (size_t i = 0; i < total; i++) {
		if (found[i]->proto != IPPROTO_TCP && found[i]->proto != IPPROTO_UDP)
			continue;
		if (!add_range(c, found[i]->port, found[i]->port))
			return TOO_MANY;
		any = true;
	}
	if (any)
		return NULL;
	*suggest = pv_services_nearest(svc, item, n);
	return N_("unknown service name");
}

bool pv_parse_port_spec(const char *spec, const struct pv_services *svc, struct pv_port_clause *c,
			struct pv_why *why)
{
	struct pv_split it = pv_split_start(spec, ',');
	const char *item;
	size_t n;
	while (pv_split_next(&it, &item, &n)) {
		const char *suggest = NULL;
		const char *bad = n	    ? parse_item(item, n, svc, c, &suggest)
				  : spec[0] ? N_("empty item in the list")
					    : N_("empty port");
		if (bad) {
			*why =
			    (struct pv_why){.why = bad, .item = item, .len = n, .suggest = suggest};
			return false;
		}
	}
	return true;
}

bool pv_parse_dev(const char *text, uint32_t *ifindex, struct pv_why *why)
{
	size_t n = strlen(text);
	uint64_t v;
	*why = (struct pv_why){.why = N_("no such interface")};
	if (n == 0) {
		why->why = N_("empty interface name");
		return false;
	}
	if (pv_parse_uint(text, n, UINT32_MAX, &v) == 0) {
		if (v == 0) {
			why->why = N_("not an interface index (1 or more)");
			return false;
		}
		*ifindex = (uint32_t)v; /* a device gone since keeps its index on its sockets */
		return true;
	}
	if (n >= IF_NAMESIZE)
		return false;
	*ifindex = if_nametoindex(text);
	return *ifindex != 0;
}

static const struct {
	const char *name;
	uint8_t bit;
} class_names[] = {
    {"well-known", 1u << PV_CLASS_WELL_KNOWN},
    {"registered", 1u << PV_CLASS_REGISTERED},
    {"dynamic", 1u << PV_CLASS_DYNAMIC},
    {"ephemeral", PV_CLASS_EPHEMERAL_BIT},
};

bool pv_parse_class_list(const char *list, uint8_t *mask, struct pv_why *why)
{
	struct pv_split it = pv_split_start(list, ',');
	const char *p;
	size_t n;
	while (pv_split_next(&it, &p, &n)) {
		bool found = false;
		for (size_t i = 0; i < ARRAY_SIZE(class_names); i++) {
			if (strlen(class_names[i].name) == n &&
			    strncasecmp(class_names[i].name, p, n) == 0) {
				*mask |= class_names[i].bit;
				found = true;
			}
		}
		if (!found) {
			*why = (struct pv_why){
			    .why = n ? N_("unknown class") : N_("empty class name"),
			    .item = p,
			    .len = n,
			    .valid = "well-known, registered, dynamic, ephemeral",
			    .suggest = pv_nearest(p, n, class_names, ARRAY_SIZE(class_names),
						  sizeof(class_names[0]))};
			return false;
		}
	}
	return true;
}

/* One address, "10.0.0.0/8", "[2001:db8::1]", "::1/128": into *p. */
static const char *parse_prefix(const char *item, size_t n, struct pv_prefix *p)
{
	static const char *const not_addr = N_("not an IPv4 or IPv6 address or CIDR prefix");
	char text[64];
	const char *slash = memchr(item, '/', n);
	const char *addr = item;
	size_t alen = slash ? (size_t)(slash - item) : n;
	if (alen >= 2 && addr[0] == '[' && addr[alen - 1] == ']') {
		addr++;
		alen -= 2;
	}
	if (alen == 0 || alen >= sizeof(text))
		return not_addr;
	memcpy(text, addr, alen);
	text[alen] = '\0';
	memset(p, 0, sizeof(*p));
	if (inet_pton(AF_INET, text, p->addr) == 1)
		p->family = AF_INET;
	else if (inet_pton(AF_INET6, text, p->addr) == 1)
		p->family = AF_INET6;
	else
		return not_addr;
	unsigned max = p->family == AF_INET ? 32 : 128;
	p->len = (uint8_t)max;
	if (slash) {
		uint64_t v;
		int err = pv_parse_uint(slash + 1, (size_t)(item + n - slash - 1), max, &v);
		if (err == -ERANGE)
			return max == 32 ? N_("prefix length out of range (0-32)")
					 : N_("prefix length out of range (0-128)");
		if (err)
			return max == 32 ? N_("not a prefix length (0-32)")
					 : N_("not a prefix length (0-128)");
		p->len = (uint8_t)v;
	}
	/* host bits past the prefix: cleared, as ss does */
	for (unsigned bit = p->len; bit < max; bit++)
		p->addr[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
	return NULL;
}

bool pv_parse_addr_list(const char *list, struct pv_addr_clause *c, struct pv_why *why)
{
	struct pv_split it = pv_split_start(list, ',');
	const char *item;
	size_t n;
	while (pv_split_next(&it, &item, &n)) {
		struct pv_prefix p;
		const char *bad =
		    !n ? (list[0] ? N_("empty item in the list") : N_("empty address"))
		    : c->n == PV_MAX_PREFIXES ? N_("too many addresses (at most 32)")
					      : parse_prefix(item, n, &p);
		if (bad) {
			*why = (struct pv_why){.why = bad, .item = item, .len = n};
			return false;
		}
		c->v[c->n++] = p;
	}
	return true;
}

bool pv_parse_command(const char *text, struct pv_query *q, regex_t *re, struct pv_why *why)
{
	size_t n = strlen(text);
	const char *bad = NULL;
	if (q->nprograms == ARRAY_SIZE(q->programs))
		bad = N_("too many --command options (at most 8)");
	else if (!n)
		bad = N_("empty program name");
	if (!bad && n >= 2 && text[0] == '/' && text[n - 1] == '/') {
		char pattern[256];
		if (n - 2 >= sizeof(pattern)) {
			bad = N_("regular expression too long (at most 255 bytes)");
		} else {
			memcpy(pattern, text + 1, n - 2);
			pattern[n - 2] = '\0';
			if (regcomp(re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
				bad = N_("not a regular expression");
		}
		if (!bad) {
			q->programs[q->nprograms][0] = '\0';
			q->program_re[q->nprograms++] = re;
			return true;
		}
	} else if (!bad && n >= sizeof(q->programs[0])) {
		bad = N_("longer than a command name can be (15 bytes)");
	}
	if (bad) {
		*why = (struct pv_why){.why = bad};
		return false;
	}
	memcpy(q->programs[q->nprograms], text, n + 1);
	q->program_re[q->nprograms++] = NULL;
	return true;
}

bool pv_parse_pid_list(const char *list, struct pv_query *q, struct pv_why *why)
{
	struct pv_split it = pv_split_start(list, ',');
	const char *item;
	size_t n;
	while (pv_split_next(&it, &item, &n)) {
		uint64_t v;
		const char *bad = NULL;
		if (!n)
			bad = list[0] ? N_("empty item in the list") : N_("empty process ID");
		else if (q->npids == ARRAY_SIZE(q->pids))
			bad = N_("too many process IDs (at most 64)");
		else if (pv_parse_uint(item, n, INT32_MAX, &v) < 0 || v == 0)
			bad = N_("not a process ID");
		if (bad) {
			*why = (struct pv_why){.why = bad, .item = item, .len = n};
			return false;
		}
		q->pids[q->npids++] = (int32_t)v;
	}
	return true;
}

bool pv_query_class_clause(const struct pv_query *q, const struct pv_ephemeral *eph,
			   struct pv_port_clause *c)
{
	memset(c, 0, sizeof(*c));
	c->sides = PV_SIDE_SRC;
	if (!q->classes)
		return false;
	if (q->classes & (1u << PV_CLASS_WELL_KNOWN))
		add_range(c, 0, 1023);
	if (q->classes & (1u << PV_CLASS_REGISTERED))
		add_range(c, 1024, 49151);
	if (q->classes & (1u << PV_CLASS_DYNAMIC))
		add_range(c, 49152, 65535);
	/* Reserved ports inside the range are left for user space. */
	if ((q->classes & PV_CLASS_EPHEMERAL_BIT) && eph->known)
		add_range(c, eph->lo, eph->hi);
	/* No range (an unknown ephemeral range): user space rejects all. */
	return c->nranges > 0;
}
