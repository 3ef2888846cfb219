/*
 * Renderers: a view in, text out.  They never print or fail, and each
 * takes only its own options.
 */
#ifndef PORTVIEW_RENDER_H
#define PORTVIEW_RENDER_H

#include <stdbool.h>

#include "portview/buf.h"
#include "portview/lookup.h"
#include "portview/ports.h"
#include "portview/services.h"
#include "portview/summary.h"
#include "portview/view.h"

/* What the table shows. */
struct pv_table_opts {
	bool owner;	/* -o: the PID column */
	bool program;	/* -p: the PID/Program name column */
	bool extended;	/* -e: user, inode, queues, timer */
	bool plain;	/* --plain: no port annotation columns */
	bool no_header; /* -H */
	bool numeric;	/* -n: addresses and ports as numbers */
	bool color;	/* SGR colours (decided from --color, NO_COLOR, the terminal) */
	bool wide;	/* -W: every owner of a shared socket, nothing left out */
	bool netns;	/* --all-netns: the Netns column, first */
	bool unit;	/* --unit, --all-netns: the Unit column, after the owners */
	unsigned width; /* the terminal's columns to fit the table into; 0: no limit */
};

/*
 * The Windows `netstat -no` table: a blank line, "Active Connections", a
 * blank line, the header, one row per record in list order.  Columns widen
 * to their longest value; no cell is cut.  A socket several processes hold
 * shows the lowest PID and how many more ("5323 (+5)") unless o->wide or
 * o->extended.  With o->width the table is fitted to that many columns:
 * the annotation columns go first, then owner lists are condensed, then
 * the padding; never a netstat column.
 */
void pv_render_table(struct pv_buf *out, const struct pv_view *v, const struct pv_table_opts *o);

/*
 * One JSON document: an array with one object per record, in list order.
 * The schema is documented in portview(8); missing values are null, and
 * "owners" is null throughout when the view has no owners.
 */
void pv_render_json(struct pv_buf *out, const struct pv_view *v);

/* One row of --ranges. */
struct pv_range_use {
	uint8_t proto;
	bool iana;  /* IANA's dynamic range, else the namespace's ephemeral one */
	bool known; /* false: the namespace's range could not be read */
	uint16_t start;
	uint32_t count;	  /* ports in the range */
	int32_t reserved; /* reserved ports in it; -1 where that does not apply */
	uint32_t in_use;  /* distinct local ports in use, reserved ones excluded */
};

/* --ranges: the ephemeral ranges next to IANA's dynamic range. */
void pv_render_ranges(struct pv_buf *out, const struct pv_range_use *rows, size_t n);
/* --ranges --json: an array with one object per row. */
void pv_render_ranges_json(struct pv_buf *out, const struct pv_range_use *rows, size_t n);

/*
 * --lookup: for each port, its registered services (or "unassigned"), its
 * class and whether it is ephemeral here.  The sockets using the ports are
 * rendered separately, as a table.
 */
void pv_render_lookup(struct pv_buf *out, const struct pv_lookup_port *ports, size_t n,
		      const struct pv_ephemeral *eph);

/* What the summary's text shows. */
struct pv_summary_opts {
	bool color; /* SGR colours for the pressure levels */
};

/*
 * -s: the summary's tables (sockets by protocol, state and port class;
 * ephemeral port pressure; top programs; busiest listening ports).
 */
void pv_render_summary(struct pv_buf *out, const struct pv_summary *s,
		       const struct pv_summary_opts *o);
/* -s --json: the summary as one JSON object (schema in portview(8)). */
void pv_render_summary_json(struct pv_buf *out, const struct pv_summary *s);
/*
 * --metrics: the summary in the OpenMetrics text format (which the
 * Prometheus text format 0.0.4 parsers read too), ending with "# EOF".
 * seconds: how long the run took to take and add up the snapshot.
 */
void pv_render_summary_metrics(struct pv_buf *out, const struct pv_summary *s, double seconds);

#endif
