/*
 * The per-process view (what nethogs shows, without packet capture): one
 * row per program, or per process, or per systemd unit / container, from
 * a view's rows: its sockets counted by protocol and state, the ports it
 * listens on, and how fast its TCP connections move data (the sum of the
 * rates the interval mode works out from tcp_info, view.h's struct
 * pv_rate).  UDP traffic is not counted: the kernel keeps no byte counts
 * per UDP socket; a row says how many UDP sockets it has (udp) so that a
 * screen can say so.  Pure data: nothing here prints.
 */
#ifndef PORTVIEW_PROCVIEW_H
#define PORTVIEW_PROCVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portview/owners.h"
#include "portview/units.h"
#include "portview/view.h"

/* What a row stands for. */
enum pv_procview_by {
	PV_PROCVIEW_PROGRAM, /* a program name (comm): nginx's master and workers are one row */
	PV_PROCVIEW_PID,     /* one process */
	PV_PROCVIEW_UNIT,    /* the unit or container of the first owner (pv_view_want_units) */
};

/* Room for the kernel TCP states, 1 .. PV_TCP_BOUND_INACTIVE (state.h). */
#define PV_PROCVIEW_STATES 16

/* A port listened on: TCP LISTEN, or an unconnected (bound) UDP socket. */
struct pv_procport {
	uint16_t port;
	uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
};

struct pv_procrow {
	/*
	 * What the row is: the program name (raw comm bytes, untrusted: escape
	 * them, not NUL-terminated past name_len), or the unit's label
	 * (pv_unit_label: "nginx.service", "docker:0123456789ab"); empty with
	 * no_owner.
	 */
	char name[PV_UNIT_NAME_MAX];
	size_t name_len;
	enum pv_unit_kind unit_kind; /* PV_PROCVIEW_UNIT: the kind; else PV_UNIT_NONE */
	/* The row of sockets no process was seen to hold (TIME_WAIT, orphans). */
	bool no_owner;
	/* The processes holding its sockets, sorted, each once (none with no_owner). */
	int32_t *pids;
	size_t npids;
	uint32_t uid; /* of the first process found (sockets' uid with no_owner) */
	/* Its sockets: each counted once per row, however many of its processes hold it. */
	size_t sockets, tcp, udp;
	size_t tcp_states[PV_PROCVIEW_STATES]; /* TCP sockets by kernel state (index: PV_TCP_*) */
	size_t udp_connected;		       /* UDP sockets with a foreign address */
	/* The ports it listens on, sorted by port then protocol, each once. */
	struct pv_procport *listen;
	size_t nlisten;
	/*
	 * Bytes per second over the last interval, summed over its TCP
	 * connections whose rate is known (rated of them; the view has rates
	 * only in the interval mode with -i): sent (acknowledged by the peer)
	 * and received.
	 */
	uint64_t send_rate, recv_rate;
	size_t rated;
};

struct pv_procview {
	struct pv_procrow *rows;
	size_t n;
	enum pv_procview_by by;
};

/*
 * The rows of view v grouped by `by`: every row of v counted in the group
 * of each of its owners (once per group), a row without owners in the
 * one no_owner row (present only when such sockets exist).  PV_PROCVIEW_UNIT
 * needs v's units (pv_view_want_units; else every row's unit is none and
 * owned sockets group under an empty name).  The rows come ordered the
 * busiest first: send_rate + recv_rate, then sockets, then name, then the
 * first pid; no_owner last.  Free with pv_procview_free.  (Out of
 * memory ends the program, as xmalloc does everywhere.)
 */
void pv_procview_build(struct pv_procview *pv, const struct pv_view *v, enum pv_procview_by by);
void pv_procview_free(struct pv_procview *pv);

#endif
