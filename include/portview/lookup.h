/*
 * --lookup PORT[/PROTO] or NAME: the ports a user asks about, with what
 * the registry has for each, and the port filter that finds the sockets
 * using them.
 */
#ifndef PORTVIEW_LOOKUP_H
#define PORTVIEW_LOOKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portview/bytecode.h"
#include "portview/services.h"
#include "portview/util.h"

/* What --lookup found about one port. */
struct pv_lookup_port {
	uint16_t port;
	uint8_t proto; /* 0: every protocol */
	bool by_name;  /* found through a service name: list only its entries */
	const struct pv_service *entries[32];
	size_t nentries;
};

struct pv_lookup {
	struct pv_lookup_port ports[16];
	size_t nports;
};

/* Parse the --lookup argument against the registry.  False with why filled. */
bool pv_lookup_parse(const char *arg, const struct pv_services *svc, struct pv_lookup *lk,
		     struct pv_why *why);

/*
 * The sockets that use the ports, on either side (on the local side when
 * one port is 0, which every listener has as its foreign port), and which
 * protocols the ports are asked for.
 */
void pv_lookup_clause(const struct pv_lookup *lk, struct pv_port_clause *c, bool *tcp, bool *udp);

#endif
