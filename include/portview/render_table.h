/*
 * The table renderer (render_table.c): a view, or a frame's rows from two
 * views, as the Windows `netstat -no` table.  It never prints or fails.
 */
#ifndef PORTVIEW_RENDER_TABLE_H
#define PORTVIEW_RENDER_TABLE_H

#include <stddef.h>

#include "portview/buf.h"
#include "portview/table_opts.h"
#include "portview/view.h"
#include "portview/watch.h"

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

/*
 * What an interval display in a pipe keeps of the table it printed last:
 * each row's text, its cells' widths and what they were made of, so that
 * the next refresh copies the text of a row that did not change (same
 * cookie, same facts, owners and annotations) when the column widths are
 * the same, rather than formatting it again.  About the table's size in
 * memory (13 MB at 100,000 rows), twice while a table is rendered.
 */
struct pv_table_memo;
struct pv_table_memo *pv_table_memo_new(void);
void pv_table_memo_free(struct pv_table_memo *m);
/* How many rows the last table rendered with m copied rather than formatted. */
size_t pv_table_memo_reused(const struct pv_table_memo *m);

/*
 * pv_render_table's table, byte for byte, from m's rows where it can:
 * match[i] is row i's index in the list m last kept plus one, 0 for a new
 * row (pv_watch_match); match NULL, or options whose rows change by
 * themselves (a terminal's width, colours, -i, -e, names, --unit,
 * --all-netns): formatted in full.  m then keeps this table.
 */
void pv_render_table_again(struct pv_buf *out, const struct pv_view *v,
			   const struct pv_table_opts *o, struct pv_table_memo *m,
			   const uint32_t *match);

/* The table of a frame's rows, as pv_render_table lays out a view's. */
void pv_render_frame(struct pv_buf *out, const struct pv_frame *f, const struct pv_table_opts *o);

#endif
