#include "portview/filter.h"
#include "portview/ports.h"
#include "portview/state.h"
#include "portview/util.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

void pv_options_init(struct pv_options *o)
{
	*o = (struct pv_options){
	    .proc_root = "/proc",
	    .sysctl_dir = "/proc/sys/net/ipv4",
	    .services_path = "/etc/services",
	};
}

uint32_t pv_filter_states(const struct pv_options *o)
{
	if (o->states_given)
		return o->states;
	/* -a is a superset of -l, so it wins when both are given. */
	if (o->all)
		return PV_STATES_ALL;
	if (o->listening)
		return PV_SF(PV_TCP_LISTEN) | PV_SF(PV_TCP_CLOSE);
	/* Like netstat and ss: connections only, which for UDP means connected. */
	return PV_STATES_CONNECTED;
}

uint32_t pv_filter_proto_states(const struct pv_options *o, uint32_t states, uint8_t proto)
{
	/*
	 * -l means listening TCP and unconnected UDP.  A TCP socket in CLOSE is
	 * in no table the kernel dumps, but asking for the state makes it walk
	 * the whole established table: at 100,000 sockets -tl took 22 ms
	 * instead of 5.
	 */
	if (proto == IPPROTO_TCP && o->listening && !o->all && !o->states_given)
		return states & ~PV_SF(PV_TCP_CLOSE);
	return states;
}

bool pv_filter_want_proto(const struct pv_options *o, uint8_t proto)
{
	if (!o->tcp && !o->udp)
		return true;
	return proto == IPPROTO_TCP ? o->tcp : o->udp;
}

bool pv_filter_want_family(const struct pv_options *o, uint8_t family)
{
	if (!o->ipv4 && !o->ipv6)
		return true;
	if (family == AF_INET)
		return o->ipv4;
	return true; /* AF_INET6: wanted by -6, and by -4 for v4-mapped sockets */
}

bool pv_filter_needs_pass(const struct pv_options *o)
{
	return (o->ipv4 && !o->ipv6) || o->nclauses || o->classes;
}

static bool class_matches(const struct pv_sock *s, uint8_t classes)
{
	if (classes & (1u << s->local_class))
		return true;
	return (classes & PV_CLASS_EPHEMERAL_BIT) && s->local_ephemeral;
}

bool pv_filter_keep(const struct pv_sock *s, const void *options)
{
	const struct pv_options *o = options;
	if (s->family == AF_INET6 && o->ipv4 && !o->ipv6 && !pv_addr_is_v4mapped(s->local.addr) &&
	    !pv_addr_is_v4mapped(s->remote.addr))
		return false;
	if (o->nclauses &&
	    !pv_port_clauses_match(o->clauses, o->nclauses, s->local.port, s->remote.port))
		return false;
	if (o->classes && !class_matches(s, o->classes))
		return false;
	return true;
}

static int add_range(struct pv_port_clause *c, uint16_t lo, uint16_t hi)
{
	for (size_t i = 0; i < c->nranges; i++)
		if (c->ranges[i].lo == lo && c->ranges[i].hi == hi)
			return 0;
	if (c->nranges == PV_MAX_RANGES)
		return -E2BIG;
	c->ranges[c->nranges++] = (struct pv_port_range){lo, hi};
	return 0;
}

/* A decimal port number spanning exactly n bytes. */
static int parse_number(const char *s, size_t n, uint16_t *out)
{
	uint64_t v;
	int err = pv_parse_uint(s, n, 65535, &v);
	if (!err)
		*out = (uint16_t)v;
	return err;
}

static int parse_item(const char *item, size_t n, const struct pv_services *svc,
		      struct pv_port_clause *c)
{
	if (n == 0)
		return -EINVAL;
	if (item[0] >= '0' && item[0] <= '9') {
		const char *dash = memchr(item, '-', n);
		uint16_t lo, hi;
		int err = parse_number(item, dash ? (size_t)(dash - item) : n, &lo);
		if (err)
			return err;
		hi = lo;
		if (dash && (err = parse_number(dash + 1, n - (size_t)(dash + 1 - item), &hi)))
			return err;
		if (lo > hi)
			return -EDOM;
		return add_range(c, lo, hi);
	}

	/* A service name (they begin with a letter): its TCP and UDP ports. */
	if (!((item[0] >= 'a' && item[0] <= 'z') || (item[0] >= 'A' && item[0] <= 'Z')))
		return -EINVAL;
	char name[128];
	if (n >= sizeof(name))
		return -ENOENT;
	memcpy(name, item, n);
	name[n] = '\0';
	const struct pv_service *found[64];
	size_t total = pv_services_all_by_name(svc, name, found, 64);
	if (total > 64)
		total = 64;
	bool any = false;
	for (size_t i = 0; i < total; i++) {
		if (found[i]->proto != IPPROTO_TCP && found[i]->proto != IPPROTO_UDP)
			continue;
		int err = add_range(c, found[i]->port, found[i]->port);
		if (err)
			return err;
		any = true;
	}
	return any ? 0 : -ENOENT;
}

int pv_parse_port_spec(const char *spec, const struct pv_services *svc, struct pv_port_clause *c,
		       const char **bad, size_t *badlen)
{
	struct pv_split it = pv_split_start(spec, ',');
	const char *item;
	size_t n;
	while (pv_split_next(&it, &item, &n)) {
		int err = parse_item(item, n, svc, c);
		if (err) {
			*bad = item;
			*badlen = n;
			return err;
		}
	}
	return 0;
}

int pv_filter_compile_ports(struct pv_options *o, const struct pv_services *svc, size_t *bad_arg,
			    const char **bad, size_t *badlen)
{
	static const uint8_t kinds[] = {PV_SIDE_ANY, PV_SIDE_SRC, PV_SIDE_DST};
	o->nclauses = 0;
	for (size_t k = 0; k < sizeof(kinds); k++) {
		struct pv_port_clause *c = &o->clauses[o->nclauses];
		memset(c, 0, sizeof(*c));
		c->sides = kinds[k];
		for (size_t i = 0; i < o->nport_args; i++) {
			if (o->port_args[i].sides != kinds[k])
				continue;
			int err = pv_parse_port_spec(o->port_args[i].spec, svc, c, bad, badlen);
			if (err) {
				*bad_arg = i;
				return err;
			}
		}
		if (c->nranges)
			o->nclauses++;
	}
	return 0;
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

const char *pv_class_valid_names(void)
{
	return "well-known, registered, dynamic, ephemeral";
}

int pv_parse_class_list(const char *list, uint8_t *mask, const char **bad, size_t *badlen)
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
			*bad = p;
			*badlen = n;
			return -EINVAL;
		}
	}
	return 0;
}

bool pv_filter_class_clause(const struct pv_options *o, const struct pv_ephemeral *eph,
			    struct pv_port_clause *c)
{
	memset(c, 0, sizeof(*c));
	c->sides = PV_SIDE_SRC;
	if (!o->classes)
		return false;
	if (o->classes & (1u << PV_CLASS_WELL_KNOWN))
		add_range(c, 0, 1023);
	if (o->classes & (1u << PV_CLASS_REGISTERED))
		add_range(c, 1024, 49151);
	if (o->classes & (1u << PV_CLASS_DYNAMIC))
		add_range(c, 49152, 65535);
	if (o->classes & PV_CLASS_EPHEMERAL_BIT) {
		/* Reserved ports inside the range are left for user space. */
		if (eph->known)
			add_range(c, eph->lo, eph->hi);
	}
	/* No range (an unknown ephemeral range): user space rejects all. */
	return c->nranges > 0;
}
