/*
 * The summary (-s) as text (render_summary.c), JSON (render_json.c) and
 * OpenMetrics (render_metrics.c), each from a struct pv_summary.
 */
#ifndef PORTVIEW_RENDER_SUMMARY_H
#define PORTVIEW_RENDER_SUMMARY_H

#include <stdbool.h>

#include "portview/buf.h"
#include "portview/summary.h"

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

/*
 * One namespace's summary in a scrape of several (--metrics --all-netns),
 * with the labels its series carry: netns (NULL: none, a scrape of one)
 * and unit (the unit, container or pod of its lowest process; NULL or ""
 * when none is known).
 */
struct pv_metrics_source {
	const struct pv_summary *s;
	const char *netns;
	const char *unit;
};
/*
 * The summaries of n namespaces as one scrape: each family once, with a
 * series per namespace, then the time the whole run took and "# EOF".
 */
void pv_render_metrics(struct pv_buf *out, const struct pv_metrics_source *src, size_t n,
		       double seconds);

#endif
