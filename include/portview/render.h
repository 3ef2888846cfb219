/* Renderers: records in, text out.  They never print or fail. */
#ifndef PORTVIEW_RENDER_H
#define PORTVIEW_RENDER_H

#include "portview/annotate.h"
#include "portview/buf.h"
#include "portview/options.h"
#include "portview/owners.h"
#include "portview/sock.h"

/*
 * The Windows `netstat -no` table: a blank line, "Active Connections", a
 * blank line, the header, one row per socket in list order.  Columns widen
 * to their longest value; nothing is truncated.  The view's owners may be
 * NULL when no owner column is asked for.
 */
struct pv_users;
void pv_render_table(struct pv_buf *out, const struct pv_view *v, struct pv_users *users,
		     const struct pv_options *o);

#include "portview/ports.h"
#include "portview/services.h"

/* --ranges: this host's ephemeral ranges next to IANA's dynamic range. */
void pv_render_ranges(struct pv_buf *out, const struct pv_range_use *rows, size_t n);

/* What --lookup found about one port. */
struct pv_lookup_port {
	uint16_t port;
	uint8_t proto; /* 0: every protocol */
	bool by_name;  /* found through a service name: list only its entries */
	const struct pv_service *entries[32];
	size_t nentries;
};

/*
 * --lookup: for each port, its registered services (or "unassigned"), its
 * class and whether it is ephemeral here.  The sockets using the ports are
 * rendered separately with pv_render_table.
 */
void pv_render_lookup(struct pv_buf *out, const struct pv_lookup_port *ports, size_t n,
		      const struct pv_ephemeral *eph);

/*
 * One JSON document: an array with one object per socket, in list order.
 * The schema is documented in portview(8); missing values are null.
 * The view's owners may be NULL (then every "owners" is null).
 */
struct pv_users;
void pv_render_json(struct pv_buf *out, const struct pv_view *v, struct pv_users *users);

/* --ranges --json: an array with one object per row. */
void pv_render_ranges_json(struct pv_buf *out, const struct pv_range_use *rows, size_t n);

#endif
