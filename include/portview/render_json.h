/*
 * The JSON renderer of a view (render_json.c): the document of a listing
 * and one row's members, which the NDJSON outputs share.
 */
#ifndef PORTVIEW_RENDER_JSON_H
#define PORTVIEW_RENDER_JSON_H

#include "portview/buf.h"
#include "portview/view.h"

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

#endif
