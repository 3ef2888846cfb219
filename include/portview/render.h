/*
 * Renderers: a view in, text out.  They never print or fail, and each
 * takes only its own options.
 */
#ifndef PORTVIEW_RENDER_H
#define PORTVIEW_RENDER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "portview/buf.h"
#include "portview/lookup.h"
#include "portview/ports.h"
#include "portview/services.h"
#include "portview/summary.h"
#include "portview/view.h"
#include "portview/watch.h"

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
	bool info;	/* -i: the TCP internals' columns (from the records' tcp_info) */
	bool rates;	/* the Send/s and Recv/s columns (the view's rates) */
	bool no_title;	/* the column header without the "Active Connections" lines */
	/*
	 * Show what changed (a frame's marks): with color, new rows green,
	 * changed ones yellow, closed ones red; without, a leading column of
	 * '+', '~' and '-'.
	 */
	bool changes;
};

/*
 * The Windows `netstat -no` table: a blank line, "Active Connections", a
 * blank line, the header, one row per record in list order.  Columns widen
 * to their longest value; no cell is cut.  A socket several processes hold
 * shows the lowest PID and how many more ("5323 (+5)") unless o->wide or
 * o->extended.  With o->width the table is fitted to that many columns:
 * the annotation columns go first, then owner lists are condensed, then
 * the padding, then the TCP internals' columns but the rates; never a
 * netstat column.
 */
void pv_render_table(struct pv_buf *out, const struct pv_view *v, const struct pv_table_opts *o);

/*
 * What an interval display shows: the rows of a comparison (watch.h),
 * each from the latest snapshot's view, or from the one before for a
 * closed row.
 */
struct pv_frame {
	const struct pv_view *cur;
	const struct pv_view *prev; /* may be NULL when no row is closed */
	const struct pv_watch_row *rows;
	size_t n;
};

/* The table of a frame's rows, as pv_render_table lays out a view's. */
void pv_render_frame(struct pv_buf *out, const struct pv_frame *f, const struct pv_table_opts *o);

/*
 * One JSON document: an array with one object per record, in list order.
 * The schema is documented in portview(8); missing values are null, and
 * "owners" is null throughout when the view has no owners.  A view whose
 * list keeps tcp_info gives each object an "info" member; a view with
 * rates, a "rate" member.
 */
void pv_render_json(struct pv_buf *out, const struct pv_view *v);
/*
 * The members of one row's object (a row of v, as pv_view_row read it),
 * without the braces: for the NDJSON of the interval and event outputs.
 */
void pv_render_json_row(struct pv_buf *out, const struct pv_view *v, const struct pv_row *r);

/* ---- interval and event output (render_watch.c) ---- */

/* The line above each refresh of an interval display. */
struct pv_watch_header {
	struct timespec when; /* the snapshot's time, CLOCK_REALTIME */
	uint32_t interval_ms;
	struct pv_watch_counts counts;
	bool first;	   /* the first snapshot: nothing to compare with */
	bool clock;	   /* the time of day only (a terminal), not the whole date */
	bool rates;	   /* -i: the totals below */
	uint64_t sent;	   /* bytes per second, every known rate added up */
	uint64_t received; /* likewise */
};

/*
 * "2026-11-25T10:00:01+01:00  12 sockets, 1 new, 0 changed, 1 closed
 * send 1.21 MB/s, recv 340 B/s" and a newline; clock: "10:00:01  ...".
 * The first snapshot has only the count, and without rates the rates
 * are left out.
 */
void pv_render_watch_header(struct pv_buf *out, const struct pv_watch_header *h);
/*
 * One line of NDJSON for a frame: {"time": ..., "interval": ...,
 * "total": ..., "new": ..., "changed": ..., "closed": ...[, "sent": ...,
 * "received": ...], "sockets": [...]}, each socket object with a
 * "change" member ("new", "changed", "closed" or null).
 */
void pv_render_frame_json(struct pv_buf *out, const struct pv_watch_header *h,
			  const struct pv_frame *f);

enum pv_event_kind { PV_EVENT_OPENED, PV_EVENT_CHANGED, PV_EVENT_CLOSED, PV_EVENT_LOST };

/* One change of --events. */
struct pv_event {
	enum pv_event_kind kind;
	struct timespec when; /* when portview learned of it, CLOCK_REALTIME */
	/* The socket: row index of view v (none for LOST) */
	const struct pv_view *v;
	size_t index;
	uint8_t old_state; /* CHANGED: the state before */
	/* CLOSED: the last tcp_info, from the kernel's message; NULL: the row's */
	const struct pv_tcp_info *info;
};

/* What an event line shows. */
struct pv_event_opts {
	bool plain; /* no port annotations */
	bool info;  /* the TCP internals, as ss -i writes them */
};

/* The header line of --events' text (its column titles). */
void pv_render_event_header(struct pv_buf *out, const struct pv_event_opts *o);
/* One event as a line of text. */
void pv_render_event(struct pv_buf *out, const struct pv_event *e, const struct pv_event_opts *o);
/* One event as a line of NDJSON: {"time": ..., "event": ..., the socket's members}. */
void pv_render_event_json(struct pv_buf *out, const struct pv_event *e);

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
