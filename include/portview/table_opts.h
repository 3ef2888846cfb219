/*
 * What the table shows: the options of the table and frame renderers,
 * on their own so that the command line's request can hold them without
 * pulling in the renderers' inputs (views, comparisons, summaries).
 */
#ifndef PORTVIEW_TABLE_OPTS_H
#define PORTVIEW_TABLE_OPTS_H

#include <stdbool.h>

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
	/*
	 * Threads a large table's rows are formatted on (PORTVIEW_TABLE_THREADS),
	 * at most PV_TABLE_THREADS_MAX; 0: one per CPU free at the time, from
	 * PV_TABLE_PARALLEL_ROWS rows on.  The text is the same either way.
	 */
	unsigned threads;
};
#define PV_TABLE_THREADS_MAX   4
#define PV_TABLE_PARALLEL_ROWS 20000

#endif
