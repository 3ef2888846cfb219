#include "portview/filter.h"
#include "portview/state.h"

#include <netinet/in.h>
#include <sys/socket.h>

void pv_options_init(struct pv_options *o)
{
	*o = (struct pv_options){.proc_root = "/proc"};
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
	return o->ipv4 && !o->ipv6;
}

bool pv_filter_keep(const struct pv_sock *s, const void *options)
{
	const struct pv_options *o = options;
	if (s->family == AF_INET6 && o->ipv4 && !o->ipv6)
		return pv_addr_is_v4mapped(s->local.addr) || pv_addr_is_v4mapped(s->remote.addr);
	return true;
}
