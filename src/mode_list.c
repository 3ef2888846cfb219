/*
 * The listing: a snapshot of every place, its view ordered by --sort and
 * rendered as the table or JSON; an empty one on a terminal says what the
 * states it left out would have shown.
 */
#include <netinet/in.h>
#include <unistd.h>

#include "i18n.h"
#include "modes.h"
#include "program.h"
#include "portview/render_json.h"
#include "portview/render_table.h"
#include "portview/sort.h"
#include "portview/state.h"

/*
 * An empty listing on a terminal: one line on stderr saying so, and what
 * the same filters find in the states the selection left out.
 */
static void say_empty(const struct pv_request *req, const struct pv_services *svc,
		      const struct pv_places *P)
{
	const struct pv_query *q = &req->query;
	bool listening_only = q->states == (PV_SF(PV_TCP_LISTEN) | PV_SF(PV_TCP_CLOSE));
	bool connections_only = q->states == PV_STATES_CONNECTED;
	const char *none = listening_only     ? _("no listening sockets")
			   : connections_only ? _("no connections")
					      : _("no sockets in the states asked for");
	size_t listeners = 0, others = 0;
	struct pv_socklist l;
	struct pv_view view;
	pv_socklist_init(&l);
	if (q->states != PV_STATES_ALL &&
	    pv_take(req, &req->wider, svc, P, true, &l, &view) == EXIT_OK) {
		for (size_t i = 0; i < l.n; i++) {
			const struct pv_rec *r = &l.v[i];
			bool listener = r->state == PV_TCP_LISTEN ||
					(r->proto == IPPROTO_UDP && r->state == PV_TCP_CLOSE);
			listeners += listener;
			others += !listener;
		}
	}
	if (q->states != PV_STATES_ALL)
		pv_view_free(&view);
	pv_socklist_free(&l);
	if (connections_only && listeners)
		pv_warn(P_("%s; %zu listening socket matches: add -a",
			   "%s; %zu listening sockets match: add -a", listeners),
			none, listeners);
	else if (listening_only && others)
		pv_warn(P_("%s; %zu connection matches: add -a",
			   "%s; %zu connections match: add -a", others),
			none, others);
	else if (!connections_only && !listening_only && listeners + others)
		pv_warn(P_("%s; %zu in other states matches: add --state all",
			   "%s; %zu in other states match: add --state all", listeners + others),
			none, listeners + others);
	else
		pv_warn("%s", q->states == PV_STATES_ALL ? _("no sockets match") : none);
}

int pv_list_into(const struct pv_request *req, const struct pv_services *svc,
		 const struct pv_places *P, const struct pv_table_opts *o, struct pv_buf *out)
{
	struct pv_socklist l;
	struct pv_view view;
	pv_socklist_init(&l);
	int status = pv_take(req, &req->query, svc, P, false, &l, &view);
	if (status == EXIT_OK) {
		if (!o->numeric && !req->json)
			pv_view_resolve_names(&view, PV_RESOLVE_TIMEOUT_MS);
		if (req->order.n)
			pv_socklist_sort_by(&l, &req->order, view.has_owners ? &view.owners : NULL,
					    NULL);
		if (req->json)
			pv_render_json(out, &view);
		else
			pv_render_table(out, &view, o);
	}
	pv_view_free(&view);
	bool empty = status == EXIT_OK && l.n == 0;
	pv_socklist_free(&l);
	if (empty && req->mode == PV_MODE_LIST && !req->json && isatty(STDOUT_FILENO)) {
		/* the header first, then the line that says why it has no rows */
		if (out->fd >= 0)
			pv_buf_flush(out);
		say_empty(req, svc, P);
	}
	return status;
}

int pv_mode_list(const struct pv_request *req, const struct pv_services *svc, struct pv_places *P)
{
	struct pv_buf out;
	pv_buf_init_sink(&out, STDOUT_FILENO);
	int status = pv_list_into(req, svc, P, &req->table, &out);
	if (status == EXIT_OK)
		status = pv_write_out(&out, NULL);
	pv_buf_free(&out);
	return status;
}
