/*
 * The summary (-s): what one snapshot's view adds up to.  Counts by
 * protocol, family and state, by class of the local port, the programs and
 * the listening ports with the most sockets, and the pressure on the
 * ephemeral ports: for each destination, how many of the local ports the
 * kernel may pick are in use.  Pure computation into a struct; the
 * renderers (render.h) turn it into text, JSON or metrics.  One summary
 * belongs to one snapshot, and so to one network namespace.
 */
#ifndef PORTVIEW_SUMMARY_H
#define PORTVIEW_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portview/owners.h"
#include "portview/ports.h"
#include "portview/services.h"
#include "portview/util.h"
#include "portview/view.h"

/* How many programs, listening ports and pressure groups are shown. */
#define PV_SUMMARY_TOP 10

/* Pressure levels, as a percentage of the available ports (at or above). */
#define PV_PRESSURE_WARNING_PCT	 50u
#define PV_PRESSURE_CRITICAL_PCT 80u

enum pv_pressure_level {
	PV_PRESSURE_OK,
	PV_PRESSURE_WARNING,
	PV_PRESSURE_CRITICAL,
};

/*
 * Connections from ephemeral local ports that share a protocol, a local
 * address and a remote address and port: the local ports the kernel can
 * still pick for one more of them are those of the range that none of
 * them holds.  IPv4-mapped IPv6 sockets are counted as IPv4, as the kernel
 * does when it picks their port.
 */
struct pv_pressure_group {
	uint8_t proto;
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t laddr[16], raddr[16];
	uint16_t rport;
	uint32_t in_use;    /* distinct local ports */
	uint32_t time_wait; /* of them, held by TIME_WAIT sockets */
	uint32_t available; /* the range's ports that are not reserved */
};

/* A program (command name) and the sockets its processes hold. */
struct pv_summary_program {
	char comm[PV_COMM_MAX]; /* raw bytes, untrusted, not NUL-terminated */
	uint32_t comm_len;
	uint32_t sockets; /* a socket shared by its processes counts once */
	int32_t *pids;	  /* ascending */
	size_t npids;
};

/* A local port that something listens on (or a bound UDP socket waits on). */
struct pv_summary_port {
	uint8_t proto;
	uint16_t port;
	uint32_t connections;		  /* connected sockets on the port */
	const struct pv_service *service; /* NULL: none known */
	int32_t pid;			  /* a listener's owner; 0: none known */
	char comm[PV_COMM_MAX];
	uint32_t comm_len;
};

#define PV_SUMMARY_STATES 16

struct pv_summary {
	size_t total;
	/* [TCP, UDP][IPv4, IPv6][kernel state]; NEW_SYN_RECV counts as SYN_RECV */
	uint32_t sockets[2][2][PV_SUMMARY_STATES];
	/* By local port: [enum pv_port_class], and those in the ephemeral range */
	uint32_t classes[PV_CLASS_DYNAMIC + 1];
	uint32_t ephemeral;

	/* The namespace's ephemeral range (net.ipv4.ip_local_port_range). */
	bool range_known;
	uint16_t lo, hi;
	uint32_t reserved;  /* reserved ports inside it */
	uint32_t available; /* its ports that are not reserved */

	/* Every group, the most pressed first. */
	struct pv_pressure_group *groups;
	size_t ngroups;

	/* Owners: known when the view has them. */
	bool owners_known;
	bool owners_partial; /* some processes could not be read */
	size_t unowned;	     /* sockets no process was found to hold */
	struct pv_summary_program programs[PV_SUMMARY_TOP]; /* most sockets first */
	size_t nprograms;
	size_t programs_total;

	struct pv_summary_port ports[PV_SUMMARY_TOP]; /* most connections first */
	size_t nports;
	size_t ports_total; /* listening ports with at least one connection */
};

/* Add up the view's rows (its owners, if it has them, and its range). */
void pv_summary_build(struct pv_summary *s, const struct pv_view *v);
void pv_summary_free(struct pv_summary *s);

enum pv_pressure_level pv_pressure_level(const struct pv_pressure_group *g);
const char *pv_pressure_level_name(enum pv_pressure_level l);
/* in_use / available, 0 when nothing is available. */
double pv_pressure_ratio(const struct pv_pressure_group *g);
/* Whether the group uses more than pct percent of its available ports. */
bool pv_pressure_over(const struct pv_pressure_group *g, unsigned pct);
/* The most pressed group above pct percent, or NULL. */
const struct pv_pressure_group *pv_summary_over(const struct pv_summary *s, unsigned pct);

/*
 * The summary's name of a state: the table's (ESTABLISHED, LISTENING...),
 * and UNCONN for an unconnected UDP socket, whose State cell is empty.
 */
const char *pv_summary_state_name(uint8_t proto, uint8_t state);

/*
 * Parse --fail-on-pressure's PCT: a whole number from 0 to 100, with an
 * optional '%'.  Returns false with why filled.
 */
bool pv_parse_percent(const char *s, unsigned *pct, struct pv_why *why);

#endif
