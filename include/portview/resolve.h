/* Host names for addresses: reverse lookups in parallel, bounded in time. */
#ifndef PORTVIEW_RESOLVE_H
#define PORTVIEW_RESOLVE_H

#include "portview/sock.h"

struct pv_names {
	struct pv_name_entry {
		uint8_t family;
		uint8_t addr[16];
		char *name; /* NULL: did not resolve (in time) */
	} * v;
	size_t cap; /* open-addressed, power of two */
	size_t n;
};

/*
 * Resolve every distinct address of the list (wildcards excepted) through
 * c-ares: /etc/hosts answers at once, DNS for the rest, all queries in
 * flight together, and the whole run cut off after timeout_ms; then
 * pv_names_host() gives each address's name, or NULL (show the number).
 * Never fails: what did not resolve stays numeric.
 */
void pv_names_resolve(struct pv_names *names, const struct pv_socklist *l, unsigned timeout_ms);
/* The name found for an address, or NULL (none, a wildcard, or not asked). */
const char *pv_names_host(const struct pv_names *names, uint8_t family, const uint8_t addr[16]);
void pv_names_free(struct pv_names *names);

#endif
