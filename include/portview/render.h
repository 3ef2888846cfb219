/* Renderers: records in, text out.  They never print or fail. */
#ifndef PORTVIEW_RENDER_H
#define PORTVIEW_RENDER_H

#include "portview/buf.h"
#include "portview/options.h"
#include "portview/owners.h"
#include "portview/sock.h"

/*
 * The Windows `netstat -no` table: a blank line, "Active Connections", a
 * blank line, the header, one row per socket in list order.  Columns widen
 * to their longest value; nothing is truncated.  owners may be NULL when
 * no owner column is asked for.
 */
void pv_render_table(struct pv_buf *out, const struct pv_socklist *l,
		     const struct pv_owner_table *owners, const struct pv_options *o);

#endif
