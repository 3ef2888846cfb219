/* What a port number means: its IANA range class and whether it lies in
 * this network namespace's ephemeral range. */
#ifndef PORTVIEW_PORTS_H
#define PORTVIEW_PORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pv_port_class {
	PV_CLASS_NONE = 0,   /* no port (a listener's foreign side) */
	PV_CLASS_WELL_KNOWN, /* 0-1023, assigned by IANA */
	PV_CLASS_REGISTERED, /* 1024-49151 */
	PV_CLASS_DYNAMIC,    /* 49152-65535, dynamic/private */
};

#define PV_IANA_DYNAMIC_LO 49152u
#define PV_IANA_DYNAMIC_HI 65535u

enum pv_port_class pv_port_class(uint16_t port);
const char *pv_port_class_name(enum pv_port_class c);

/* This network namespace's ephemeral range (net.ipv4.ip_local_port_range). */
struct pv_ephemeral {
	bool known;		     /* the range could be read */
	uint16_t lo, hi;	     /* inclusive */
	struct pv_portset *reserved; /* ip_local_reserved_ports; NULL when none */
	size_t nreserved;	     /* reserved ports inside lo..hi */
};

/*
 * Read ip_local_port_range and ip_local_reserved_ports from sysctl_dir
 * (normally /proc/sys/net/ipv4).  A range that cannot be read leaves known
 * false, and nothing is marked ephemeral; reserved ports that cannot be read
 * count as none.  Never fails.
 */
void pv_ephemeral_load(struct pv_ephemeral *e, const char *sysctl_dir);
void pv_ephemeral_free(struct pv_ephemeral *e);
bool pv_port_is_reserved(const struct pv_ephemeral *e, uint16_t port);
/* In the range and not reserved: a port the kernel may pick by itself. */
bool pv_port_is_ephemeral(const struct pv_ephemeral *e, uint16_t port);

/*
 * Add the ports of the kernel's port list format ("8080,9000-9010",
 * possibly empty) to set.  Returns 0 or -EINVAL.
 */
struct pv_portset;
int pv_parse_port_list(const char *text, struct pv_portset *set);
/* Parse "lo<ws>hi" as in ip_local_port_range.  Returns 0 or -EINVAL. */
int pv_parse_port_range_sysctl(const char *text, uint16_t *lo, uint16_t *hi);

#include "portview/sock.h"

/*
 * Count the distinct local ports of proto in lo..hi held by sockets of l
 * (any state, both families), leaving out ports reserved in eph when given.
 */
uint32_t pv_ports_in_use(const struct pv_socklist *l, uint8_t proto, uint16_t lo, uint16_t hi,
			 const struct pv_ephemeral *skip_reserved);

#endif
