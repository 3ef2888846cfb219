#include "i18n.h"
#include "portview/lookup.h"

#include <netinet/in.h>
#include <string.h>

/* A port, with or without a protocol: "6379", "53/udp". */
static bool by_port(const char *arg, const struct pv_services *svc, struct pv_lookup *lk,
		    struct pv_why *why)
{
	size_t digits = pv_digits(arg, strlen(arg));
	const char *end = arg + digits;
	uint64_t v;
	uint8_t proto = 0;
	if (pv_parse_uint(arg, digits, 65535, &v) < 0) {
		*why = (struct pv_why){.why = N_("port out of range (0-65535)")};
		return false;
	}
	if (*end == '/') {
		if (pv_proto_parse(end + 1, strlen(end + 1), true, &proto) < 0) {
			*why =
			    (struct pv_why){.why = N_("unknown protocol"), .valid = PV_PROTO_NAMES};
			return false;
		}
	} else if (*end) {
		*why = (struct pv_why){.why = N_("not a port, PORT/PROTO or service name")};
		return false;
	}
	struct pv_lookup_port *p = &lk->ports[lk->nports++];
	*p = (struct pv_lookup_port){.port = (uint16_t)v, .proto = proto};
	size_t total =
	    pv_services_all_by_port(svc, p->port, proto, p->entries, ARRAY_SIZE(p->entries));
	p->nentries = total < ARRAY_SIZE(p->entries) ? total : ARRAY_SIZE(p->entries);
	return true;
}

/*
 * A service name, with or without a protocol ("http", "domain/udp"): one
 * block per distinct port, in the order found.
 */
static bool by_name(const char *arg, const struct pv_services *svc, struct pv_lookup *lk,
		    struct pv_why *why)
{
	const char *slash = strchr(arg, '/');
	size_t n = slash ? (size_t)(slash - arg) : strlen(arg);
	uint8_t proto = 0;
	if (slash && pv_proto_parse(slash + 1, strlen(slash + 1), true, &proto) < 0) {
		*why = (struct pv_why){.why = N_("unknown protocol"), .valid = PV_PROTO_NAMES};
		return false;
	}
	char name[64];
	if (n == 0 || n >= sizeof(name)) {
		*why = (struct pv_why){.why = n ? N_("unknown service name")
						: N_("empty service name")};
		return false;
	}
	memcpy(name, arg, n);
	name[n] = '\0';
	const struct pv_service *found[64];
	size_t total = pv_services_all_by_name(svc, name, found, ARRAY_SIZE(found));
	if (total > ARRAY_SIZE(found))
		total = ARRAY_SIZE(found);
	size_t kept = 0;
	for (size_t i = 0; i < total; i++)
		if (!proto || found[i]->proto == proto)
			found[kept++] = found[i];
	if (kept == 0) {
		*why = (struct pv_why){.why = total ? N_("no such service on that protocol")
						    : N_("unknown service name"),
				       .suggest = total ? NULL : pv_services_nearest(svc, name, n)};
		return false;
	}
	for (size_t i = 0; i < kept; i++) {
		struct pv_lookup_port *p = NULL;
		for (size_t j = 0; j < lk->nports; j++)
			if (lk->ports[j].port == found[i]->port)
				p = &lk->ports[j];
		if (!p) {
			if (lk->nports == ARRAY_SIZE(lk->ports))
				continue;
			p = &lk->ports[lk->nports++];
			*p = (struct pv_lookup_port){
			    .port = found[i]->port, .proto = proto, .by_name = true};
		}
		if (p->nentries < ARRAY_SIZE(p->entries))
			p->entries[p->nentries++] = found[i];
	}
	return true;
}

bool pv_lookup_parse(const char *arg, const struct pv_services *svc, struct pv_lookup *lk,
		     struct pv_why *why)
{
	memset(lk, 0, sizeof(*lk));
	if (arg[0] == '\0') {
		*why = (struct pv_why){.why = N_("empty port or service name")};
		return false;
	}
	if (arg[0] >= '0' && arg[0] <= '9')
		return by_port(arg, svc, lk, why);
	return by_name(arg, svc, lk, why);
}

void pv_lookup_clause(const struct pv_lookup *lk, struct pv_port_clause *c, bool *tcp, bool *udp)
{
	memset(c, 0, sizeof(*c));
	c->sides = PV_SIDE_ANY;
	*tcp = *udp = false;
	for (size_t i = 0; i < lk->nports; i++) {
		const struct pv_lookup_port *p = &lk->ports[i];
		/* Every listener has foreign port 0; port 0 means the local side. */
		if (p->port == 0)
			c->sides = PV_SIDE_SRC;
		c->ranges[c->nranges++] = (struct pv_port_range){p->port, p->port};
		*tcp |= p->proto == 0 || p->proto == IPPROTO_TCP;
		*udp |= p->proto == 0 || p->proto == IPPROTO_UDP;
	}
}
