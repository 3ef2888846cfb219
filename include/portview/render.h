/*
 * Renderers: a view in, text out.  They never print or fail, and each
 * takes only its own options.  This header gathers them for the program;
 * the library's files include the one they need.
 */
#ifndef PORTVIEW_RENDER_H
#define PORTVIEW_RENDER_H

#include "portview/render_info.h"
#include "portview/render_json.h"
#include "portview/render_summary.h"
#include "portview/render_table.h"
#include "portview/render_watch.h"
#include "portview/table_opts.h"

#endif
