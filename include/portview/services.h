/* Service names for ports: the compiled-in IANA registry, overlaid by
 * /etc/services (the administrator's names win). */
#ifndef PORTVIEW_SERVICES_H
#define PORTVIEW_SERVICES_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portview/util.h"

enum pv_service_source {
	PV_SRC_IANA = 0, /* compiled in from data/iana-services.tsv */
	PV_SRC_ETC = 1,	 /* read from /etc/services (or $PORTVIEW_SERVICES) */
};

struct pv_service {
	const char *name;
	const char *aliases;	 /* space-separated, "" when none */
	const char *description; /* "" when none (always for /etc/services) */
	uint16_t port;
	uint8_t proto; /* IPPROTO_TCP, IPPROTO_UDP, PV_IPPROTO_SCTP, PV_IPPROTO_DCCP */
	uint8_t source;
};

/*
 * The compiled-in table, generated at build time (tools/gen-services.py):
 * rows sorted by (port, proto), their strings offsets into pv_iana_text.
 * Offsets, not pointers: a table of 11,500 rows of three pointers was
 * relocated (0.4 MiB written) at every start, 1.3 ms of a small listing.
 * A loaded pv_services makes entries of the rows its lookups reach.
 */
struct pv_iana_row {
	uint32_t name, aliases, description; /* offsets into pv_iana_text */
	uint16_t port;
	uint8_t proto;
};
extern const struct pv_iana_row pv_iana_rows[];
extern const size_t pv_iana_count;
extern const char pv_iana_text[];
/* A bit for each port that has a row: port / 64's word, bit port % 64. */
extern const uint64_t pv_iana_ports[65536 / 64];

/* Rows made entries together, on first use (a page of entries). */
#define PV_IANA_GROUP 128

struct pv_services {
	struct pv_service *etc; /* /etc/services entries sorted by (port, proto) */
	size_t netc;
	char *etc_text; /* storage the etc entries point into */
	/* indexes sorted by name (case-insensitive), for lookups by name */
	const struct pv_service **iana_by_name;
	const struct pv_service **etc_by_name;
	/* the ports that have any entry, built at load */
	struct pv_portset *any_entry;
	/*
	 * Recent by-port answers, direct-mapped, each one word read and written
	 * whole (threads format a large table's rows side by side): the key,
	 * (port << 8 | proto) + 1, above; below, 0 for no entry, 1 + i for
	 * etc[i], 1 + netc + i for IANA row i.  0: empty.
	 */
	uint64_t *port_cache;
	/*
	 * The IANA rows as entries: a group of PV_IANA_GROUP made when a
	 * lookup first reaches one of them (iana_ready[group], atomic; made
	 * under iana_mu), all of them by pv_services_iana.
	 */
	struct pv_service *iana;
	uint8_t *iana_ready;
	pthread_mutex_t iana_mu;
};
#define PV_PORT_CACHE 4096

/*
 * Load the registry.  etc_path is read once; a missing, unreadable, empty or
 * malformed file (binary junk, very long lines) contributes only its valid
 * lines, or nothing, and is never an error.  NULL means no overlay.
 */
void pv_services_load(struct pv_services *s, const char *etc_path);
void pv_services_free(struct pv_services *s);

/* Every IANA entry of a loaded registry, in (port, proto) order; *n of them. */
const struct pv_service *pv_services_iana(const struct pv_services *s, size_t *n);

/* The name to show for a port: /etc/services first, then IANA; NULL if none. */
const struct pv_service *pv_services_by_port(const struct pv_services *s, uint16_t port,
					     uint8_t proto);

/*
 * The name /etc/services (or $PORTVIEW_SERVICES) gives a port, or NULL:
 * what the address columns show, as netstat does; the IANA registry's
 * thousands of names stay in the annotations.
 */
const struct pv_service *pv_services_etc_by_port(const struct pv_services *s, uint16_t port,
						 uint8_t proto);

/*
 * The service name a mistyped one of n bytes most likely meant (util.h's
 * pv_nearest over both sources' names), or NULL.
 */
const char *pv_services_nearest(const struct pv_services *s, const char *name, size_t n);

/*
 * Every entry, from both sources, for the port (any protocol when proto is
 * 0), /etc/services ones first.  Returns how many there are; stores at most
 * max of them.
 */
size_t pv_services_all_by_port(const struct pv_services *s, uint16_t port, uint8_t proto,
			       const struct pv_service **out, size_t max);

/*
 * Every entry whose name or one of whose aliases equals name
 * (case-insensitive), /etc/services ones first, then by (port, proto).
 * Returns how many there are; stores at most max of them.
 */
size_t pv_services_all_by_name(const struct pv_services *s, const char *name,
			       const struct pv_service **out, size_t max);

#endif
